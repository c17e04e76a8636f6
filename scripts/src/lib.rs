//! Helpers shared by seclaunch's benchmarks and measuring programs.

pub mod timing;

use profiles::arch::Abi;
use profiles::caps::CapSet;
use profiles::model::KernelVersion;
use profiles::resolve::{Resolution, ResolveOptions, Resolved};
use profiles::{Options, DEFAULT_PROFILE};

/// Options that do not depend on the machine: Docker's capabilities, x86_64, Linux 6.18.
pub fn fixed_options() -> Options {
    let resolve = ResolveOptions {
        caps: CapSet::docker_default(),
        native: Abi::X86_64,
        kernel: KernelVersion {
            kernel: 6,
            major: 18,
        },
    };
    Options {
        resolve,
        strict: false,
    }
}

/// The embedded default profile, resolved with [`fixed_options`].
pub fn default_resolved() -> Resolved {
    let parsed = profiles::parse::parse_profile(DEFAULT_PROFILE.as_bytes(), &Default::default())
        .expect("the embedded default parses");
    let options = fixed_options();
    match profiles::resolve::resolve(&parsed.profile, parsed.format, &options.resolve) {
        Ok(Resolution::Filter(resolved)) => resolved,
        other => panic!("the embedded default resolves to a filter, got {other:?}"),
    }
}
