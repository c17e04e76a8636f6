//! The fast start of `seclaunch`: the most common launch, the embedded default profile
//! under Docker's default capabilities, made without a C library.
//!
//! Starting a C library costs more than anything a launch does: glibc probes the CPU
//! with dozens of `cpuid` instructions before `main`, and in a virtual machine each one
//! is a trap to the hypervisor (4.4 µs apiece on the machine of BENCHMARKS.md, about
//! 0.3 ms in all). The full launcher (`seclaunch-full`, the `launcher` crate) is a Rust
//! program on glibc; this one is not. It takes the launches it can make exactly as the
//! full launcher would make them: the command line has no option but `--mode` and
//! `--profile default`, no `SECLAUNCH_*` variable is set, and the kernel is one the
//! precompiled default frame is valid on. Its steps follow the full launcher's
//! (`launcher/src/run.rs`): find the program, choose the mode, check the shim, hand the
//! frame over in a sealed memfd or install it, set no_new_privs, limit a root launch
//! to Docker's capabilities, reset `SIGPIPE`, and `execve`.
//!
//! Everything else, and every launch that meets anything unexpected before the
//! program runs (a missing file, a script, a failed call), is handed to the full
//! launcher unchanged: same arguments, same environment. The full launcher then
//! decides and reports as it always does, so an error is never worded here. When an
//! `execve` fails after the fast start installed the filter (exec mode), the full
//! launcher runs under that filter, installs its own on top, and reports the failure.

#![cfg_attr(not(test), no_std)]

pub mod args;
pub mod caps;
mod env;
mod files;
pub mod program;
pub mod sys;
mod text;

use crate::args::{Mode, Request};
use crate::program::Linkage;
use crate::text::{Path, Text};

/// The exit status of seclaunch's own failures, as `docker run` uses it.
pub const EXIT_SECLAUNCH: i32 = 125;

/// The fewest free file descriptors the dynamic loader is left to open the shim with,
/// as in the full launcher.
const LOADER_FDS: u64 = 8;

/// The process's arguments and environment, as the kernel laid them out on the stack.
pub struct Start {
    argc: usize,
    argv: *const *const u8,
    envp: *const *const u8,
    /// The path the process was started by (`AT_EXECFN`), if the kernel gave it.
    execfn: Option<&'static [u8]>,
}

impl Start {
    /// # Safety
    /// `sp` must be the stack pointer the kernel starts the process with: `argc`, then
    /// `argc` argument pointers and a null, then environment pointers and a null.
    pub unsafe fn from_stack(sp: *const usize) -> Start {
        const AT_NULL: usize = 0;
        const AT_EXECFN: usize = 31;
        // SAFETY: the layout the caller vouches for; the auxiliary vector, (type,
        // value) pairs ended by AT_NULL, follows the environment's null, and
        // AT_EXECFN's value is a NUL-terminated string on the same stack.
        unsafe {
            let argc = *sp;
            let argv = sp.add(1).cast::<*const u8>();
            let envp = argv.add(argc + 1);
            let mut end = envp;
            while !(*end).is_null() {
                end = end.add(1);
            }
            let mut aux = end.add(1).cast::<usize>();
            let mut execfn = None;
            while *aux != AT_NULL {
                if *aux == AT_EXECFN && *aux.add(1) != 0 {
                    execfn = Some(c_bytes(*aux.add(1) as *const u8));
                }
                aux = aux.add(2);
            }
            Start {
                argc,
                argv,
                envp,
                execfn,
            }
        }
    }

    /// Argument `index`.
    fn arg(&self, index: usize) -> Option<&'static [u8]> {
        if index >= self.argc {
            return None;
        }
        // SAFETY: `index` is below argc, so the pointer is one of the kernel's argument
        // strings, NUL-terminated and alive for the whole process.
        Some(unsafe { c_bytes(*self.argv.add(index)) })
    }

    /// The environment's pointers, in order.
    fn env_pointers(&self) -> impl Iterator<Item = *const u8> + '_ {
        (0..)
            // SAFETY: the environment array ends with a null pointer, and the walk
            // stops at it.
            .map(|i| unsafe { *self.envp.add(i) })
            .take_while(|p| !p.is_null())
    }

    /// The environment's entries (`KEY=value`), in order.
    fn env(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        // SAFETY: each non-null entry is one of the kernel's NUL-terminated strings,
        // alive for the whole process.
        self.env_pointers().map(|p| unsafe { c_bytes(p) })
    }

    /// The value of the first `key=` entry, as `getenv` finds it.
    fn var(&self, key: &[u8]) -> Option<&'static [u8]> {
        self.env().find_map(|entry| value_of(entry, key))
    }
}

/// The bytes of a NUL-terminated string, without the NUL.
///
/// # Safety
/// `p` must point at a NUL-terminated string that lives for the whole process.
unsafe fn c_bytes(p: *const u8) -> &'static [u8] {
    let mut len = 0;
    // SAFETY: the string is NUL-terminated, so every byte up to the NUL is readable.
    unsafe {
        while *p.add(len) != 0 {
            len += 1;
        }
        core::slice::from_raw_parts(p, len)
    }
}

/// The value of `entry` if it is `key=value`.
fn value_of<'a>(entry: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    entry.strip_prefix(key)?.strip_prefix(b"=")
}

/// Launches the program, or hands the command line to the full launcher. Never
/// returns.
pub fn main(start: &Start) -> ! {
    let exe_dir = files::exe_dir();
    // The fast start keeps its buffers on the stack, some 100 KiB at the deepest; under
    // a smaller stack limit the full launcher, which needs less, makes the launch.
    const RLIMIT_STACK: u32 = 3;
    let roomy = sys::soft_limit(RLIMIT_STACK).is_ok_and(|soft| soft >= 1 << 20);
    let request = args::parse(|i| start.arg(i)).filter(|_| roomy);
    if let (Some(dir), Some(request)) = (&exe_dir, request) {
        // Returns only when the launch is not one for the fast start, or failed
        // before the program ran.
        fast(start, request, dir);
    }
    let dir = exe_dir.or_else(|| start.execfn.and_then(files::exec_dir));
    files::run_full(dir.as_ref(), start.argv, start.envp)
}

/// Writes one line to standard error.
pub fn say(parts: &[&[u8]]) {
    let mut line = Text::<1024>::new();
    for part in parts {
        let room = 1022usize.saturating_sub(line.as_bytes().len());
        let _ = line.push(&part[..part.len().min(room)]);
    }
    let _ = line.push(b"\n");
    sys::write_stderr(line.as_bytes());
}

/// Where the filter goes. One exists per launch, on the stack: there is no allocator
/// to box the path in.
#[allow(clippy::large_enum_variant)]
enum Install {
    /// Into the program, by the shim at this path.
    Preload(Path),
    /// Here, before `execve`.
    Exec,
}

/// The launch, when it is one for the fast start; returns when it is not, or when a
/// step failed before the program ran. Kept out of `main`, whose frame must stay small
/// for the way to the full launcher.
#[inline(never)]
fn fast(start: &Start, request: Request, exe_dir: &Path) {
    if start.env().any(|entry| entry.starts_with(b"SECLAUNCH_")) {
        return;
    }
    // Rust's runtime opens /dev/null on a closed standard descriptor before the full
    // launcher's main; the program then inherits that.
    if !(0..3).all(sys::is_open) {
        return;
    }
    let mut release = [0u8; 65];
    let Ok(len) = sys::kernel_release(&mut release) else {
        return;
    };
    let Some(frame) = handoff::precompiled_default() else {
        return;
    };
    if !handoff::kernel_allows_precompiled(&release[..len]) {
        return;
    }
    let Some(name) = start.arg(request.program) else {
        return;
    };
    let Some(path) = program::find(name, start.var(b"PATH")) else {
        return;
    };
    let install = match request.mode {
        // The full launcher reads the linkage only to choose the mode. A file the
        // kernel cannot start by itself (neither ELF nor `#!`) is one its exec hands
        // to /bin/sh, as execvp does.
        Mode::Exec if program::kernel_starts(&path) => Install::Exec,
        Mode::Exec => return,
        Mode::Auto | Mode::Preload => {
            let Some(linkage) = program::linkage(&path) else {
                return;
            };
            let preloadable = matches!(
                linkage,
                Linkage::Dynamic { class64: true, machine } if machine == files::NATIVE_MACHINE
            ) && loader_can_load_the_shim();
            match (request.mode, preloadable) {
                (_, true) => {
                    match files::full_launcher_dir(exe_dir).and_then(|d| files::shim(&d)) {
                        Some(shim) => Install::Preload(shim),
                        None => return,
                    }
                }
                (Mode::Preload, false) => return,
                _ => Install::Exec,
            }
        }
    };
    launch(start, request.program, &path, frame, install);
}

/// Whether the dynamic loader is sure to be able to load the shim, by the full
/// launcher's rule: no address-space or data limit, and enough free descriptors.
fn loader_can_load_the_shim() -> bool {
    const RLIMIT_DATA: u32 = 2;
    const RLIMIT_NOFILE: u32 = 7;
    const RLIMIT_AS: u32 = 9;
    // Real and effective ids that differ start the program in secure mode
    // (AT_SECURE), where the loader ignores LD_PRELOAD paths with a slash.
    if sys::ids_agree() != Ok(true) {
        return false;
    }
    // As the full launcher reads them: a limit it cannot read is no limit.
    let limited = |resource| sys::soft_limit(resource).is_ok_and(|soft| soft != u64::MAX);
    if limited(RLIMIT_AS) || limited(RLIMIT_DATA) {
        return false;
    }
    let Ok(soft) = sys::soft_limit(RLIMIT_NOFILE) else {
        return false;
    };
    // One more for the handoff's memfd.
    let open = open_fds().unwrap_or(soft);
    soft.saturating_sub(open + 1) >= LOADER_FDS
}

/// How many descriptors are open, counting the one that reads `/proc/self/fd`.
fn open_fds() -> Option<u64> {
    let dir = sys::open(c"/proc/self/fd", true).ok()?;
    let mut buf = [0u8; 4096];
    let mut count = 0;
    loop {
        let len = sys::getdents64(&dir, &mut buf).ok()?;
        if len == 0 {
            return Some(count);
        }
        // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name.
        let mut at = 0;
        while at + 19 <= len {
            let reclen = usize::from(u16::from_le_bytes([buf[at + 16], buf[at + 17]]));
            if reclen < 19 {
                return None;
            }
            let name = &buf[at + 19..(at + reclen).min(len)];
            let name = &name[..name.iter().position(|b| *b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." {
                count += 1;
            }
            at += reclen;
        }
    }
}

/// Becomes the program; returns only if a step failed.
fn launch(start: &Start, at: usize, path: &Path, frame_bytes: &[u8], install: Install) {
    let Ok(frame) = handoff::decode(frame_bytes, None) else {
        return;
    };
    // Kept open until exec: the program inherits it, and the shim closes it.
    let mut handoff_fd = None;
    // The variables the launch sets: the shim added to LD_PRELOAD and the handoff, or
    // the marker of the filter installed here.
    let (preload, request): (Text<4352>, Text<64>) = match &install {
        Install::Preload(shim) => {
            let Some(fd) = handoff_memfd(frame_bytes) else {
                return;
            };
            let announce = handoff::Announce {
                fd: fd.0,
                len: frame_bytes.len(),
                checksum: frame.checksum,
            };
            let mut value = [0u8; 40];
            let len = handoff::format_announce(&announce, &mut value);
            handoff_fd = Some(fd);
            let old = start.var(b"LD_PRELOAD").unwrap_or_default();
            let separator: &[u8] = if old.is_empty() { b"" } else { b":" };
            let (Some(list), Some(announce)) = (
                Text::of(&[b"LD_PRELOAD=", old, separator, shim.as_bytes()]),
                Text::of(&[handoff::ENV_VAR.to_bytes(), b"=", &value[..len]]),
            ) else {
                return;
            };
            (list, announce)
        }
        Install::Exec => {
            let marker = handoff::Marker {
                checksum: frame.checksum,
                query_allowed: frame.flags & handoff::HINT_QUERY_ALLOWED != 0,
            };
            let mut value = [0u8; handoff::MARKER_LEN];
            let len = handoff::format_marker(&marker, &mut value);
            let Some(active) = Text::of(&[handoff::ACTIVE_VAR.to_bytes(), b"=", &value[..len]])
            else {
                return;
            };
            (Text::new(), active)
        }
    };
    let Some(mut env) = env::Env::new(start.env()) else {
        return;
    };
    for text in [preload.as_bytes(), request.as_bytes()] {
        if !text.is_empty() && env.set(text).is_none() {
            return;
        }
    }
    let mut envp = [core::ptr::null::<u8>(); env::MAX_ENV + 1];
    if env.finish(&mut envp).is_none() {
        return;
    }
    const PR_SET_NO_NEW_PRIVS: i32 = 38;
    if sys::prctl(PR_SET_NO_NEW_PRIVS, 1, 0).is_err()
        || caps::limit().is_err()
        || sys::reset_sigpipe().is_err()
    {
        return;
    }
    if let Install::Exec = install {
        if sys::install_filter(frame.program, frame.flags & handoff::KERNEL_FLAGS).is_err() {
            return;
        }
    }
    // SAFETY: the argument vector from `at` on is the kernel's, null-terminated; the
    // environment array is null-terminated (Env::finish), and every string in it (the
    // kernel's, or `preload` and `request`) is NUL-terminated and lives until the call
    // returns.
    let _ = unsafe { sys::execve(path.as_cstr(), start.argv.add(at), envp.as_ptr()) };
    drop(handoff_fd);
}

/// The frame in a sealed memfd, for the program to inherit.
fn handoff_memfd(frame: &[u8]) -> Option<sys::Fd> {
    let fd = sys::memfd_create(c"seclaunch-filter").ok()?;
    sys::write_all(&fd, frame).ok()?;
    sys::seal_all(&fd).ok()?;
    Some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_caps_are_the_engines() {
        use profiles::caps::{CapSet, ALL};
        // ALL lists the capabilities in number order.
        let bits = CapSet::docker_default().iter().fold(0u64, |bits, name| {
            let number = ALL.iter().position(|n| *n == name).expect("a known name");
            bits | 1 << number
        });
        assert_eq!(bits, caps::DOCKER_DEFAULT);
    }

    #[test]
    fn environment_values() {
        assert_eq!(value_of(b"PATH=/bin", b"PATH"), Some(&b"/bin"[..]));
        assert_eq!(value_of(b"PATHX=/bin", b"PATH"), None);
        assert_eq!(value_of(b"LD_PRELOAD=", b"LD_PRELOAD"), Some(&b""[..]));
    }
}
