//! Compiled filters as handoff frames (`seclaunch-handoff`): the form the launcher hands
//! to the shim, the shim's engine returns, and the precompiled default is stored in.

use crate::arch::Abi;
use crate::bpf::to_bytes;
use crate::caps::CapSet;
use crate::compile::Compiled;
use crate::install::kernel_flags;
use crate::interp::allows_seccomp_query;
use crate::model::KernelVersion;
use crate::resolve::{ResolveOptions, Resolved};
use crate::{build, Options, DEFAULT_PROFILE};

/// The frame of a compiled filter: its program, the kernel flags the profile asks for,
/// and [`handoff::HINT_QUERY_ALLOWED`] when the program lets `prctl(PR_GET_SECCOMP)` run
/// on the native ABI.
///
/// Fails only for a program the kernel could not take either (empty or over 4096
/// instructions), which the compiler never returns.
pub fn of(resolved: &Resolved, compiled: &Compiled) -> Result<Vec<u8>, handoff::Error> {
    let program = to_bytes(&compiled.program);
    // Cannot truncate: the kernel's flags are the low bits of an unsigned long.
    let mut flags = kernel_flags(resolved.flags, false) as u32;
    let native = resolved.abis.first().copied();
    if native.is_some_and(|abi| allows_seccomp_query(&compiled.program, abi)) {
        flags |= handoff::HINT_QUERY_ALLOWED;
    }
    let mut frame = vec![0u8; handoff::HEADER_LEN + program.len()];
    let (len, _) = handoff::encode(&program, flags, &mut frame)?;
    frame.truncate(len);
    Ok(frame)
}

/// The newest `minKernel` the embedded default names (0.0 when none): on this kernel and
/// every newer one the default resolves alike.
pub fn default_min_kernel() -> KernelVersion {
    let floor = KernelVersion {
        kernel: 0,
        major: 0,
    };
    let Ok(parsed) = crate::parse::parse_profile(DEFAULT_PROFILE.as_bytes(), &Default::default())
    else {
        return floor;
    };
    parsed
        .profile
        .syscalls
        .iter()
        .flat_map(|entry| [entry.includes.min_kernel, entry.excludes.min_kernel])
        .flatten()
        .fold(floor, KernelVersion::max)
}

/// The embedded default's frame for a `native` host under Docker's default capabilities
/// and `kernel`, and how many rules it resolved to: what `handoff::precompiled` holds,
/// for [`default_min_kernel`]. Empty, with no rules, if the default failed to build.
pub fn default_frame(native: Abi, kernel: KernelVersion) -> (Vec<u8>, usize) {
    let options = Options {
        resolve: ResolveOptions {
            caps: CapSet::docker_default(),
            native,
            kernel,
        },
        strict: false,
    };
    let built = build(DEFAULT_PROFILE.as_bytes(), "default", &options);
    let filter = built.ok().and_then(|built| built.filter);
    filter
        .and_then(|(resolved, compiled)| {
            let frame = of(&resolved, &compiled).ok()?;
            Some((frame, resolved.rules.len()))
        })
        .unwrap_or_default()
}
