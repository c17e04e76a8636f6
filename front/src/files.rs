//! The files the fast start needs beside it: the shim, checked as the full launcher
//! checks it (`launcher/src/shim_path.rs`), and the full launcher itself. Both are
//! looked for beside the executable, then in `../lib/seclaunch/` (an install prefix).

use crate::sys;
use crate::text::{join, parent, Path};

/// The shim's file name.
const SHIM_FILE: &[u8] = b"libsecshim.so";
/// The full launcher's file name.
pub const FULL_FILE: &[u8] = b"seclaunch-full";

/// This build's machine (`EM_*`), which the shim and the program must share.
#[cfg(target_arch = "x86_64")]
pub const NATIVE_MACHINE: u16 = 62;
#[cfg(target_arch = "aarch64")]
pub const NATIVE_MACHINE: u16 = 183;

/// The directory of this executable, as the kernel names it (every symlink resolved).
/// `None` without `/proc`.
pub fn exe_dir() -> Option<Path> {
    let mut buf = [0u8; 4096];
    let len = sys::readlink(c"/proc/self/exe", &mut buf).ok()?;
    Path::of(&[parent(&buf[..len])?])
}

/// The directory of the path this executable was started by (`AT_EXECFN`), for when
/// there is no `/proc`: it may hold symlinks, so it serves only to find the full
/// launcher.
pub fn exec_dir(execfn: &[u8]) -> Option<Path> {
    match parent(execfn) {
        Some(dir) => Path::of(&[dir]),
        None => Path::of(&[b"."]),
    }
}

/// `name` beside the executable, then in `../lib/seclaunch/`, each with the length of
/// its leading part that is known to hold no symlink. The second is written without
/// `..`: the executable's directory has no symlink in it, so its parent is the
/// directory `..` reaches.
fn candidates(exe_dir: &Path, name: &[u8]) -> Option<[(Path, usize); 2]> {
    let dir = exe_dir.as_bytes();
    let beside = join(dir, name)?;
    let up = parent(dir)?;
    let up = if up == b"/" { &b""[..] } else { up };
    let prefix = Path::of(&[up, b"/lib/seclaunch/", name])?;
    let known = dir.len() - usize::from(dir.ends_with(b"/"));
    Some([(beside, known), (prefix, up.len())])
}

/// The shim, as the full launcher would find it, if it would take it: the first
/// candidate that exists, by a path with no symlink left to resolve (the full launcher
/// passes the canonical path), checked.
pub fn shim(exe_dir: &Path) -> Option<Path> {
    let [first, second] = candidates(exe_dir, SHIM_FILE)?;
    let (found, known) = if sys::stat(first.0.as_cstr(), false).is_ok() {
        first
    } else if sys::stat(second.0.as_cstr(), false).is_ok() {
        second
    } else {
        return None;
    };
    no_symlink_after(&found, known)?;
    check_shim(&found)?;
    Some(found)
}

/// Whether every component of `path` from byte `known` on (a `/` or the end; what comes
/// before it holds no symlink) is a directory, and the last a regular file, none of
/// them a symlink: then the path is canonical.
fn no_symlink_after(path: &Path, known: usize) -> Option<()> {
    let bytes = path.as_bytes();
    let mut end = known;
    while end < bytes.len() {
        end = bytes[end + 1..]
            .iter()
            .position(|b| *b == b'/')
            .map_or(bytes.len(), |at| end + 1 + at);
        let prefix = Path::of(&[&bytes[..end]])?;
        let stat = sys::stat(prefix.as_cstr(), true).ok()?;
        let last = end == bytes.len();
        if !(stat.is_dir() && !last || last && stat.is_file()) {
            return None;
        }
    }
    Some(())
}

/// The full launcher's checks of the shim: a path `LD_PRELOAD` can hold, a readable
/// ELF shared library of this machine, that reads the handoff format.
fn check_shim(path: &Path) -> Option<()> {
    const ET_DYN: u16 = 3;
    if path
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b' ' | b':' | b'\t' | b'\n'))
    {
        return None;
    }
    // The shim is some 30 KiB; a larger file is left to the full launcher's check,
    // which reads up to 8 MiB.
    let mut buf = [0u8; 65536];
    let file = sys::open(path.as_cstr(), false).ok()?;
    let len = sys::read_full(&file, &mut buf).ok()?;
    if len < 20 || len == buf.len() {
        return None;
    }
    let bytes = &buf[..len];
    let e_type = u16::from_le_bytes([bytes[16], bytes[17]]);
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    let elf = bytes[..4] == *b"\x7fELF" && e_type == ET_DYN;
    let native = bytes[4] == 2 && machine == NATIVE_MACHINE;
    let reads_handoff = bytes
        .windows(handoff::MAGIC.len())
        .any(|w| w == handoff::MAGIC);
    (elf && native && reads_handoff).then_some(())
}

/// Runs the full launcher on the same command line and environment; returns only if
/// it could not, with the path looked at first and why.
pub fn run_full(
    exe_dir: Option<&Path>,
    argv: *const *const u8,
    envp: *const *const u8,
) -> (Option<Path>, i32) {
    let Some([(first, _), (second, _)]) = exe_dir.and_then(|dir| candidates(dir, FULL_FILE)) else {
        return (None, sys::ENOENT);
    };
    let mut errno = sys::ENOENT;
    for candidate in [&first, &second] {
        if sys::stat(candidate.as_cstr(), false).is_ok() {
            // SAFETY: `argv` and `envp` are the arrays the kernel gave this process.
            errno = unsafe { sys::execve(candidate.as_cstr(), argv, envp) };
        }
    }
    (Some(first), errno)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_beside_and_under_the_prefix() {
        let dir = Path::of(&[b"/opt/seclaunch/bin"]).unwrap();
        let [(beside, known), (prefix, up)] = candidates(&dir, SHIM_FILE).unwrap();
        assert_eq!(beside.as_bytes(), b"/opt/seclaunch/bin/libsecshim.so");
        assert_eq!((known, beside.as_bytes()[known]), (18, b'/'));
        assert_eq!(
            prefix.as_bytes(),
            b"/opt/seclaunch/lib/seclaunch/libsecshim.so"
        );
        assert_eq!(&prefix.as_bytes()[..up], b"/opt/seclaunch");
        let top = Path::of(&[b"/bin"]).unwrap();
        let [_, (prefix, up)] = candidates(&top, FULL_FILE).unwrap();
        assert_eq!(
            (prefix.as_bytes(), up),
            (&b"/lib/seclaunch/seclaunch-full"[..], 0)
        );
        let root = Path::of(&[b"/"]).unwrap();
        let [(beside, known), _] = candidates(&root, FULL_FILE).unwrap();
        assert_eq!((beside.as_bytes(), known), (&b"/seclaunch-full"[..], 0));
    }
}
