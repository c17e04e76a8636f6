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

/// Where `name` is looked for from `dir`: beside it (`which` 0), then in
/// `../lib/seclaunch/` (`which` 1). The path goes into `out`; the result is the length
/// of its leading part known to hold no symlink. The second is written without `..`:
/// the executable's directory has no symlink in it, so its parent is the directory
/// `..` reaches. One path at a time, in the caller's buffer: paths are 4 KiB each, and
/// the way to the full launcher must fit a small stack.
fn candidate(dir: &Path, name: &[u8], which: usize, out: &mut Path) -> Option<usize> {
    let dir = dir.as_bytes();
    *out = Path::new();
    match (which, parent(dir)) {
        (0, _) => {
            *out = join(dir, name)?;
            Some(dir.len() - usize::from(dir.ends_with(b"/")))
        }
        (_, Some(up)) => {
            let up = if up == b"/" { &b""[..] } else { up };
            for part in [up, b"/lib/seclaunch/", name] {
                out.push(part)?;
            }
            Some(up.len())
        }
        // A relative directory without a parent in its name (`bin`, `.`), given only
        // by the path the process was started by.
        (_, None) => {
            for part in [dir, b"/../lib/seclaunch/", name] {
                out.push(part)?;
            }
            Some(dir.len())
        }
    }
}

/// The directory the full launcher would look for the shim from, its own: the
/// directory of the first `seclaunch-full` candidate that exists, if its path has no
/// symlink to resolve; the fast start's own directory when there is none. `None` when
/// one exists but its directory cannot be told without resolving symlinks.
pub fn full_launcher_dir(exe_dir: &Path) -> Option<Path> {
    let mut path = Path::new();
    for which in 0..2 {
        let known = candidate(exe_dir, FULL_FILE, which, &mut path)?;
        if sys::stat(path.as_cstr(), false).is_ok() {
            no_symlink_after(&path, known)?;
            let len = parent(path.as_bytes())?.len();
            path.truncate(len);
            return Some(path);
        }
    }
    Path::of(&[exe_dir.as_bytes()])
}

/// The shim, as the full launcher would find it from `dir` (its own directory), if it
/// would take it: the first candidate that exists, by a path with no symlink left to
/// resolve (the full launcher passes the canonical path), checked.
pub fn shim(dir: &Path) -> Option<Path> {
    let mut path = Path::new();
    for which in 0..2 {
        let known = candidate(dir, SHIM_FILE, which, &mut path)?;
        if sys::stat(path.as_cstr(), false).is_ok() {
            no_symlink_after(&path, known)?;
            check_shim(&path)?;
            return Some(path);
        }
    }
    None
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
    // Read a page at a time, up to the 8 MiB the full launcher reads, keeping the
    // last bytes of each page so that a tag across two is found.
    const MAX_SHIM_LEN: usize = 8 << 20;
    const KEEP: usize = handoff::MAGIC.len() - 1;
    let file = sys::open(path.as_cstr(), false).ok()?;
    let mut buf = [0u8; KEEP + 4096];
    let first = sys::read_full(&file, &mut buf[KEEP..]).ok()?;
    let head = &buf[KEEP..KEEP + first];
    if head.len() < 20 {
        return None;
    }
    let e_type = u16::from_le_bytes([head[16], head[17]]);
    let machine = u16::from_le_bytes([head[18], head[19]]);
    let elf = head[..4] == *b"\x7fELF" && e_type == ET_DYN;
    let native = head[4] == 2 && machine == NATIVE_MACHINE;
    let (mut len, mut total) = (first, first);
    let mut reads_handoff = false;
    loop {
        let window = &buf[..KEEP + len];
        if window
            .windows(handoff::MAGIC.len())
            .any(|w| w == handoff::MAGIC)
        {
            reads_handoff = true;
            break;
        }
        if len < buf.len() - KEEP || total >= MAX_SHIM_LEN {
            break;
        }
        let end = buf.len();
        buf.copy_within(end - KEEP.., 0);
        let room = (buf.len() - KEEP).min(MAX_SHIM_LEN - total);
        len = sys::read_full(&file, &mut buf[KEEP..KEEP + room]).ok()?;
        total += len;
        if len == 0 {
            break;
        }
    }
    (elf && native && reads_handoff).then_some(())
}

/// Runs the full launcher on the same command line and environment; if it cannot,
/// says so in one line, naming the path it tried, and exits 125.
pub fn run_full(dir: Option<&Path>, argv: *const *const u8, envp: *const *const u8) -> ! {
    let mut path = Path::new();
    let mut errno = sys::ENOENT;
    if let Some(dir) = dir {
        let mut tried = false;
        for which in 0..2 {
            if candidate(dir, FULL_FILE, which, &mut path).is_some()
                && sys::stat(path.as_cstr(), false).is_ok()
            {
                // SAFETY: `argv` and `envp` are the arrays the kernel gave this process.
                errno = unsafe { sys::execve(path.as_cstr(), argv, envp) };
                tried = true;
                break;
            }
        }
        if !tried {
            // Neither exists: name the first.
            let _ = candidate(dir, FULL_FILE, 0, &mut path);
        }
    }
    let shown = if path.as_bytes().is_empty() {
        FULL_FILE
    } else {
        path.as_bytes()
    };
    let why: &[u8] = match errno {
        sys::ENOENT => b"not found",
        sys::EACCES => b"permission denied",
        _ => b"it would not start",
    };
    crate::say(&[
        b"seclaunch: ",
        shown,
        b": cannot run the full launcher: ",
        why,
    ]);
    sys::exit(crate::EXIT_SECLAUNCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_beside_and_under_the_prefix() {
        let mut path = Path::new();
        let at = |dir: &[u8], name: &[u8], which: usize, path: &mut Path| {
            let known = candidate(&Path::of(&[dir]).unwrap(), name, which, path).unwrap();
            (path.as_bytes().to_vec(), known)
        };
        let (beside, known) = at(b"/opt/seclaunch/bin", SHIM_FILE, 0, &mut path);
        assert_eq!(beside, b"/opt/seclaunch/bin/libsecshim.so");
        assert_eq!((known, beside[known]), (18, b'/'));
        let (prefix, up) = at(b"/opt/seclaunch/bin", SHIM_FILE, 1, &mut path);
        assert_eq!(prefix, b"/opt/seclaunch/lib/seclaunch/libsecshim.so");
        assert_eq!(&prefix[..up], b"/opt/seclaunch");
        let (prefix, up) = at(b"/bin", FULL_FILE, 1, &mut path);
        assert_eq!(
            (&prefix[..], up),
            (&b"/lib/seclaunch/seclaunch-full"[..], 0)
        );
        let (prefix, _) = at(b"bin", FULL_FILE, 1, &mut path);
        assert_eq!(prefix, b"bin/../lib/seclaunch/seclaunch-full");
        let (beside, known) = at(b"/", FULL_FILE, 0, &mut path);
        assert_eq!((&beside[..], known), (&b"/seclaunch-full"[..], 0));
    }
}
