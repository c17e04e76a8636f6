//! Finding `libsecshim.so` and checking it before a program is started with it: the
//! dynamic loader runs the program anyway when it cannot load a preload library, so a
//! shim that would not load must stop the launch here.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The shim's file name.
pub const SHIM_FILE: &str = "libsecshim.so";
/// The shim is a few dozen KiB; anything far larger is not it.
const MAX_SHIM_LEN: u64 = 8 << 20;
/// Names the shim explicitly, overriding the search.
pub const SHIM_VAR: &str = "SECLAUNCH_SHIM";

/// This build's ELF class and machine, which the shim must share with the program.
#[cfg(target_arch = "x86_64")]
pub const NATIVE_MACHINE: u16 = 62; // EM_X86_64
#[cfg(target_arch = "aarch64")]
pub const NATIVE_MACHINE: u16 = 183; // EM_AARCH64

/// Where the shim is looked for, in order: `SECLAUNCH_SHIM`, beside the executable,
/// then `../lib/seclaunch/` from the executable's directory (an install prefix).
pub fn candidates(explicit: Option<OsString>) -> Vec<PathBuf> {
    if let Some(path) = explicit {
        return vec![PathBuf::from(path)];
    }
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    let Some(dir) = exe.parent() else {
        return Vec::new();
    };
    vec![
        dir.join(SHIM_FILE),
        dir.join("../lib/seclaunch").join(SHIM_FILE),
    ]
}

/// The first candidate that exists, checked, as an absolute path the loader can use
/// from any directory.
pub fn find() -> Result<PathBuf, Error> {
    let candidates = candidates(std::env::var_os(SHIM_VAR));
    let Some(found) = candidates.iter().find(|path| path.exists()) else {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::Shim {
            path: candidates.first().cloned().unwrap_or_default(),
            reason: format!(
                "not found (looked in {}; set {SHIM_VAR} to its path)",
                looked.join(", ")
            ),
        });
    };
    let path = std::fs::canonicalize(found).map_err(|e| shim_error(found, &e.to_string()))?;
    check(&path)?;
    Ok(path)
}

/// Checks that the loader will load `path` into a program of this machine: a readable
/// ELF shared object of the native class and machine, named by a path `LD_PRELOAD` can
/// hold (it splits on spaces and colons).
pub fn check(path: &Path) -> Result<(), Error> {
    if path
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b' ' | b':' | b'\t' | b'\n'))
    {
        return Err(shim_error(
            path,
            "the path holds a space or colon, which LD_PRELOAD cannot",
        ));
    }
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(|e| shim_error(path, &e.to_string()))?;
    file.take(MAX_SHIM_LEN)
        .read_to_end(&mut bytes)
        .map_err(|e| shim_error(path, &e.to_string()))?;
    let Some(head) = bytes.get(..20) else {
        return Err(shim_error(path, "too short to be a shared library"));
    };
    const ET_DYN: u16 = 3;
    let e_type = u16::from_le_bytes([head[16], head[17]]);
    let machine = u16::from_le_bytes([head[18], head[19]]);
    if &head[..4] != b"\x7fELF" || e_type != ET_DYN {
        return Err(shim_error(path, "not an ELF shared library"));
    }
    if head[4] != 2 || machine != NATIVE_MACHINE {
        return Err(shim_error(path, "built for another architecture"));
    }
    // Any library would load; only the shim reads the handoff. Its format tag is in
    // the shim's read-only data.
    if !bytes
        .windows(handoff::MAGIC.len())
        .any(|w| w == handoff::MAGIC)
    {
        let reason = "not libsecshim.so (it does not read this launcher's handoff format)";
        return Err(shim_error(path, reason));
    }
    Ok(())
}

fn shim_error(path: &Path, reason: &str) -> Error {
    Error::Shim {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}
