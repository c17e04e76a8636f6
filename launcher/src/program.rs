//! The program to run: where it is, and how it is linked, which decides whether the shim
//! can be preloaded into it.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The search path `execvp` falls back to when `PATH` is unset.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// How many `#!` interpreters deep the kernel follows (`BINPRM_MAX_RECURSION` is 4).
const MAX_SCRIPT_DEPTH: usize = 4;

/// How an executable is started, as far as preloading is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// An ELF with a dynamic loader (`PT_INTERP`); `class64` for ELFCLASS64.
    Dynamic { class64: bool, machine: u16 },
    /// An ELF without a loader: nothing reads `LD_PRELOAD`.
    Static,
    /// A `#!` script; the interpreter's linkage is what counts.
    Script {
        interpreter: PathBuf,
        linkage: Box<Linkage>,
    },
    /// Not something seclaunch can read (no read permission, not ELF, too deep): the
    /// kernel may still run it.
    Unknown(String),
}

impl Linkage {
    /// The linkage of the binary that finally runs: the innermost interpreter's.
    pub fn binary(&self) -> &Linkage {
        match self {
            Linkage::Script { linkage, .. } => linkage.binary(),
            other => other,
        }
    }
}

/// Finds `name` as `execvp` would: a name with a slash is a path, anything else is
/// looked up in `PATH`.
pub fn find(name: &OsStr) -> Result<PathBuf, Error> {
    let display = || Path::new(name).display().to_string();
    if name.is_empty() {
        return Err(Error::ProgramNotFound { name: display() });
    }
    if name.as_bytes().contains(&b'/') {
        let path = PathBuf::from(name);
        return match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => Err(not_executable(&path, "is a directory")),
            Ok(_) => Ok(path),
            Err(_) => Err(Error::ProgramNotFound { name: display() }),
        };
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| OsString::from(DEFAULT_PATH));
    let mut found_unexecutable = None;
    for dir in std::env::split_paths(&search) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(name);
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
            return Ok(candidate);
        }
        found_unexecutable.get_or_insert(candidate);
    }
    match found_unexecutable {
        Some(path) => Err(not_executable(&path, "permission denied")),
        None => Err(Error::ProgramNotFound { name: display() }),
    }
}

fn not_executable(path: &Path, reason: &str) -> Error {
    Error::ProgramNotExecutable {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// How the file at `path` is linked.
pub fn linkage(path: &Path) -> Linkage {
    linkage_at_depth(path, 0)
}

fn linkage_at_depth(path: &Path, depth: usize) -> Linkage {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) => return Linkage::Unknown(format!("cannot read {}: {e}", path.display())),
    };
    let mut head = [0u8; 256];
    let len = read_up_to(&mut file, &mut head);
    let head = &head[..len];
    if head.starts_with(b"#!") {
        return script_linkage(head, path, depth);
    }
    elf_linkage(&mut file, head)
        .unwrap_or_else(|why| Linkage::Unknown(format!("{}: {why}", path.display())))
}

fn script_linkage(head: &[u8], path: &Path, depth: usize) -> Linkage {
    if depth >= MAX_SCRIPT_DEPTH {
        return Linkage::Unknown(format!("{}: interpreters nest too deep", path.display()));
    }
    let line = head[2..].split(|b| *b == b'\n').next().unwrap_or_default();
    let interpreter = line
        .split(|b| *b == b' ' || *b == b'\t')
        .find(|word| !word.is_empty());
    let Some(interpreter) = interpreter else {
        return Linkage::Unknown(format!("{}: #! names no interpreter", path.display()));
    };
    let interpreter = PathBuf::from(OsStr::from_bytes(interpreter));
    let linkage = Box::new(linkage_at_depth(&interpreter, depth + 1));
    Linkage::Script {
        interpreter,
        linkage,
    }
}

/// Reads the ELF header and program headers, looking for `PT_INTERP`
/// (`include/uapi/linux/elf.h`).
fn elf_linkage(file: &mut File, head: &[u8]) -> Result<Linkage, &'static str> {
    const PT_INTERP: u32 = 3;
    if head.len() < 52 || &head[..4] != b"\x7fELF" {
        return Err("not an ELF file or a #! script");
    }
    let class64 = match head[4] {
        1 => false,
        2 => true,
        _ => return Err("unknown ELF class"),
    };
    if class64 && head.len() < 64 {
        return Err("truncated ELF header");
    }
    if head[5] != 1 {
        return Err("big-endian ELF");
    }
    let u16_at = |at: usize| u16::from_le_bytes([head[at], head[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().unwrap_or_default());
    let u64_at = |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().unwrap_or_default());
    let machine = u16_at(18);
    let (phoff, phentsize, phnum) = if class64 {
        (u64_at(32), u16_at(54), u16_at(56))
    } else {
        (u64::from(u32_at(28)), u16_at(42), u16_at(44))
    };
    if phentsize < 4 || phnum == 0 {
        return Err("no program headers");
    }
    let mut table = vec![0u8; usize::from(phentsize) * usize::from(phnum)];
    file.seek(SeekFrom::Start(phoff))
        .map_err(|_| "truncated program headers")?;
    file.read_exact(&mut table)
        .map_err(|_| "truncated program headers")?;
    let has_interp = table
        .chunks_exact(usize::from(phentsize))
        .any(|entry| u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]) == PT_INTERP);
    Ok(if has_interp {
        Linkage::Dynamic { class64, machine }
    } else {
        Linkage::Static
    })
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> usize {
    let mut done = 0;
    while done < buf.len() {
        match file.read(&mut buf[done..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => done += n,
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_sh_is_dynamic_and_64_bit_here() {
        let found = find(OsStr::new("sh")).expect("sh is on PATH");
        assert!(matches!(
            linkage(&found),
            Linkage::Dynamic { class64: true, .. }
        ));
    }

    #[test]
    fn a_missing_program_is_not_found_and_a_directory_is_not_executable() {
        let missing = find(OsStr::new("/nonexistent/program")).unwrap_err();
        assert_eq!(missing.exit_code(), 127);
        let dir = find(OsStr::new("/tmp/")).unwrap_err();
        assert_eq!(dir.exit_code(), 126);
        assert_eq!(find(OsStr::new("")).unwrap_err().exit_code(), 127);
    }

    #[test]
    fn scripts_report_their_interpreter() {
        let dir = std::env::temp_dir().join(format!("seclaunch-linkage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("script");
        std::fs::write(&script, "#!/bin/sh -e\necho hi\n").unwrap();
        let Linkage::Script {
            interpreter,
            linkage,
        } = linkage(&script)
        else {
            panic!("not read as a script");
        };
        assert_eq!(interpreter, Path::new("/bin/sh"));
        assert!(matches!(*linkage, Linkage::Dynamic { .. }));
        std::fs::write(&script, "#!\n").unwrap();
        assert!(matches!(super::linkage(&script), Linkage::Unknown(_)));
        std::fs::write(&script, "plain text").unwrap();
        assert!(matches!(super::linkage(&script), Linkage::Unknown(_)));
        // A 64-bit header cut short after 52 bytes, where a 32-bit one would end.
        let mut short = b"\x7fELF\x02\x01".to_vec();
        short.resize(56, 0);
        std::fs::write(&script, &short).unwrap();
        assert!(matches!(super::linkage(&script), Linkage::Unknown(_)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
