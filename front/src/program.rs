//! The program: found as `execvp` finds it, and read as far as its linkage, with the
//! full launcher's rules (`launcher/src/program.rs`). Whatever those rules would
//! report as an error, or cannot settle from an ELF header (a `#!` script, an unreadable
//! file), is left to the full launcher.

use crate::sys;
use crate::text::{join, Path};

/// The search path `execvp` falls back to when `PATH` is unset.
const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin";

/// How the program is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// With a dynamic loader (`PT_INTERP`).
    Dynamic { class64: bool, machine: u16 },
    /// Without one.
    Static,
}

/// The file `name` names: itself if it holds a slash, else the first executable regular
/// file of that name in the directories of `path_var`.
pub fn find(name: &[u8], path_var: Option<&[u8]>) -> Option<Path> {
    if name.contains(&b'/') {
        let path = Path::of(&[name])?;
        return match sys::stat(path.as_cstr(), false) {
            Ok(stat) if !stat.is_dir() => Some(path),
            _ => None,
        };
    }
    for dir in path_var.unwrap_or(DEFAULT_PATH).split(|b| *b == b':') {
        let candidate = join(if dir.is_empty() { b"." } else { dir }, name)?;
        let Ok(stat) = sys::stat(candidate.as_cstr(), false) else {
            continue;
        };
        if stat.is_file() && stat.mode & 0o111 != 0 {
            return Some(candidate);
        }
        // An existing file that cannot run: the full launcher goes on looking, and
        // fails if nothing else is found; the fast start lets it decide.
        return None;
    }
    None
}

/// Whether the file at `path` is one the kernel starts itself: an ELF file or a `#!`
/// script, by its first bytes (`false` if it cannot be read).
pub fn kernel_starts(path: &Path) -> bool {
    let Ok(file) = sys::open(path.as_cstr(), false) else {
        return false;
    };
    let mut head = [0u8; 4];
    match sys::read_full(&file, &mut head) {
        Ok(4) => head == *b"\x7fELF" || head.starts_with(b"#!"),
        Ok(n) => n >= 2 && head.starts_with(b"#!"),
        Err(_) => false,
    }
}

/// How the file at `path` is linked; `None` for a script or what is not a readable ELF.
pub fn linkage(path: &Path) -> Option<Linkage> {
    let file = sys::open(path.as_cstr(), false).ok()?;
    let mut head = [0u8; 256];
    let len = sys::read_full(&file, &mut head).ok()?;
    let header = elf_header(&head[..len])?;
    let size = usize::from(header.phentsize) * usize::from(header.phnum);
    // Programs have a dozen program headers; one with more than 73 is left to the full
    // launcher.
    let mut table = [0u8; 4096];
    let table = table.get_mut(..size)?;
    if sys::pread_full(&file, table, header.phoff).ok()? != size {
        return None;
    }
    Some(header.linkage(table))
}

/// What the ELF header says of the program headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElfHeader {
    pub class64: bool,
    pub machine: u16,
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
}

/// Reads an ELF header from the first bytes of a file (`include/uapi/linux/elf.h`).
pub fn elf_header(head: &[u8]) -> Option<ElfHeader> {
    if head.len() < 52 || head[..4] != *b"\x7fELF" || head[5] != 1 {
        return None;
    }
    let class64 = match head[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let u16_at = |at: usize| u16::from_le_bytes([head[at], head[at + 1]]);
    let u32_at =
        |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let header = if class64 {
        if head.len() < 64 {
            return None;
        }
        let mut phoff = [0u8; 8];
        phoff.copy_from_slice(&head[32..40]);
        ElfHeader {
            class64,
            machine: u16_at(18),
            phoff: u64::from_le_bytes(phoff),
            phentsize: u16_at(54),
            phnum: u16_at(56),
        }
    } else {
        ElfHeader {
            class64,
            machine: u16_at(18),
            phoff: u64::from(u32_at(28)),
            phentsize: u16_at(42),
            phnum: u16_at(44),
        }
    };
    if header.phentsize < 4 || header.phnum == 0 {
        return None;
    }
    Some(header)
}

impl ElfHeader {
    /// The linkage the program header `table` shows.
    pub fn linkage(&self, table: &[u8]) -> Linkage {
        const PT_INTERP: u32 = 3;
        let has_interp = table
            .chunks_exact(usize::from(self.phentsize))
            .any(|entry| u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]) == PT_INTERP);
        if has_interp {
            Linkage::Dynamic {
                class64: self.class64,
                machine: self.machine,
            }
        } else {
            Linkage::Static
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header64(machine: u16, phnum: u16) -> [u8; 64] {
        let mut head = [0u8; 64];
        head[..4].copy_from_slice(b"\x7fELF");
        head[4] = 2;
        head[5] = 1;
        head[18..20].copy_from_slice(&machine.to_le_bytes());
        head[32..40].copy_from_slice(&64u64.to_le_bytes());
        head[54..56].copy_from_slice(&56u16.to_le_bytes());
        head[56..58].copy_from_slice(&phnum.to_le_bytes());
        head
    }

    #[test]
    fn elf_headers_and_the_loader_entry() {
        let header = elf_header(&header64(62, 2)).unwrap();
        assert_eq!((header.phoff, header.phentsize, header.phnum), (64, 56, 2));
        let mut table = [0u8; 112];
        table[0] = 1; // PT_LOAD
        assert_eq!(header.linkage(&table), Linkage::Static);
        table[56] = 3; // PT_INTERP
        assert_eq!(
            header.linkage(&table),
            Linkage::Dynamic {
                class64: true,
                machine: 62
            }
        );
    }

    #[test]
    fn scripts_and_other_files_are_not_read() {
        assert_eq!(elf_header(b"#!/bin/sh\necho hi\n"), None);
        assert_eq!(elf_header(&header64(62, 0)), None);
        let mut big_endian = header64(62, 1);
        big_endian[5] = 2;
        assert_eq!(elf_header(&big_endian), None);
        assert_eq!(elf_header(&header64(62, 1)[..40]), None);
    }
}
