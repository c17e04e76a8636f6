//! Syscall names and numbers of the five ABIs seclaunch compiles filters for.
//!
//! The tables come from the Linux 6.17 UAPI headers ([`TABLES_KERNEL`]) as the
//! `linux-raw-sys` 0.12.1 crate carries them (`src/<arch>/general.rs`).
//! `scripts/gen-syscall-tables.py` turns them into `generated.rs`; after changing the
//! script or the pinned crate version, regenerate with
//! `python3 scripts/gen-syscall-tables.py`. CI runs
//! `python3 scripts/gen-syscall-tables.py --check`, which fails when the checked-in file
//! differs from what the script produces.
//!
//! Names are the ones libseccomp resolves, because runc looks profile names up through
//! libseccomp: the kernel's names, except that ARM's private syscalls (`__ARM_NR_*` in
//! the kernel header) go without the prefix (`breakpoint`, `cacheflush`, `set_tls`, ...).
//! x32 numbers include bit 30 ([`X32_SYSCALL_BIT`]), as the kernel reports them in
//! `seccomp_data.nr`.
//!
//! A name that a newer kernel added is missing here until the pinned crate moves on;
//! [`number`] then returns `None`, as for a name the ABI never had.
//!
//! [`X32_SYSCALL_BIT`]: crate::arch::X32_SYSCALL_BIT
//!
//! ```
//! use profiles::arch::Abi;
//! use profiles::syscalls;
//!
//! assert_eq!(syscalls::number(Abi::X86_64, "openat"), Some(257));
//! assert_eq!(syscalls::number(Abi::X32, "openat"), Some(0x4000_0000 | 257));
//! assert_eq!(syscalls::name(Abi::Aarch64, 56), Some("openat"));
//! // `open` exists on x86_64 but not on aarch64, which only has `openat`.
//! assert_eq!(syscalls::number(Abi::Aarch64, "open"), None);
//! assert!(syscalls::is_known("open"));
//! ```

// Generated rows stay one per line, as the generator writes them.
#[rustfmt::skip]
mod generated;
mod index;
mod name;
#[cfg(test)]
mod tests;

use self::index::NameIndex;
use self::name::Name;
use crate::arch::Abi;

/// Linux version (`major.minor`) of the headers the tables were generated from.
pub const TABLES_KERNEL: &str = generated::KERNEL;

/// The number a syscall has on an ABI that lacks it, in the generated table.
const NONE: u32 = u32::MAX;

/// The hash index over [`generated::SYSCALLS`], computed at compile time: one key per
/// name, and twice as many slots as names, rounded up to a power of two.
static INDEX: NameIndex = {
    const KEYS: [u128; generated::SYSCALLS.len()] = index::keys_of(generated::SYSCALLS);
    const SLOTS: [u16; (2 * KEYS.len()).next_power_of_two()] = index::slots_of(&KEYS);
    NameIndex::new(&KEYS, &SLOTS)
};

/// A syscall name the tables know: one lookup of the name, then its number on any ABI
/// without looking it up again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Syscall {
    /// The position in [`generated::SYSCALLS`].
    position: u16,
}

impl Syscall {
    /// The syscall called `name` on some architecture of the headers, or `None` for a
    /// name no table knows.
    pub fn lookup(name: &str) -> Option<Syscall> {
        let position = INDEX.position(generated::SYSCALLS, name)?;
        let position = u16::try_from(position).ok()?;
        Some(Syscall { position })
    }

    /// The place of the syscall in the tables, unique per name and below 2^16.
    pub(crate) fn position(self) -> u16 {
        self.position
    }

    fn entry(self) -> &'static (Name, [u32; Abi::ALL.len()]) {
        // Only `lookup` makes a `Syscall`, from a position of the table.
        &generated::SYSCALLS[usize::from(self.position)]
    }

    /// The name, as the tables spell it.
    pub fn name(self) -> &'static str {
        self.entry().0.as_str()
    }

    /// The number on `abi`, or `None` if that ABI has no such syscall. x32 numbers
    /// include bit 30; on i386 the socket and IPC calls have their direct numbers.
    pub fn number(self, abi: Abi) -> Option<u32> {
        let nr = self.entry().1[abi_index(abi)];
        (nr != NONE).then_some(nr)
    }
}

fn abi_index(abi: Abi) -> usize {
    match abi {
        Abi::X86_64 => 0,
        Abi::X86 => 1,
        Abi::X32 => 2,
        Abi::Aarch64 => 3,
        Abi::Arm => 4,
    }
}

/// One ABI's (number, position in the name table) pairs, sorted by number.
fn by_number(abi: Abi) -> &'static [(u32, u16)] {
    match abi {
        Abi::X86_64 => generated::X86_64_BY_NUMBER,
        Abi::X86 => generated::X86_BY_NUMBER,
        Abi::X32 => generated::X32_BY_NUMBER,
        Abi::Aarch64 => generated::AARCH64_BY_NUMBER,
        Abi::Arm => generated::ARM_BY_NUMBER,
    }
}

/// The syscalls of `abi` as (name, number), sorted by name.
///
/// A number can appear under two names: on arm, `sync_file_range2` is the header's
/// alias of `arm_sync_file_range` (341).
pub fn table(abi: Abi) -> impl Iterator<Item = (&'static str, u32)> + Clone {
    let k = abi_index(abi);
    generated::SYSCALLS
        .iter()
        .filter(move |(_, numbers)| numbers[k] != NONE)
        .map(move |(name, numbers)| (name.as_str(), numbers[k]))
}

/// The kernel's number for `name` on `abi`, or `None` if that ABI has no such syscall.
///
/// x32 numbers include bit 30. On i386 the socket and IPC calls get their direct
/// numbers (`socket` = 359), not the `socketcall`/`ipc` multiplexer.
pub fn number(abi: Abi, name: &str) -> Option<u32> {
    Syscall::lookup(name)?.number(abi)
}

/// The name of syscall `nr` on `abi`.
///
/// On x32 `nr` must carry bit 30: without it the kernel runs the x86_64 syscall of that
/// number, so the result is `None`. For arm's 341 the answer is `arm_sync_file_range`,
/// the name of the kernel's syscall table.
pub fn name(abi: Abi, nr: u32) -> Option<&'static str> {
    let entries = by_number(abi);
    let index = entries.binary_search_by_key(&nr, |&(n, _)| n).ok()?;
    let (_, position) = entries.get(index)?;
    generated::SYSCALLS
        .get(usize::from(*position))
        .map(|(name, _)| name.as_str())
}

/// Whether `name` is a syscall on any architecture of the headers, not only on the five
/// ABIs. linux-raw-sys covers twenty; libseccomp knows no name they lack (a test checks
/// every name it resolves on any of its architectures).
pub fn is_known(name: &str) -> bool {
    Syscall::lookup(name).is_some()
}

/// Every syscall name of every architecture of the headers, sorted.
pub fn known_names() -> impl ExactSizeIterator<Item = &'static str> + Clone {
    generated::SYSCALLS.iter().map(|(name, _)| name.as_str())
}

/// The highest syscall number of `abi`.
///
/// On arm that is a private syscall (`get_tls`, 0xf0006), far above the numbered range;
/// on x32 it is the top of the x32-specific range (`pwritev2`, bit 30 | 547).
pub fn max_number(abi: Abi) -> u32 {
    // The tables are never empty (the generator refuses an empty header), so the
    // fallback is never taken.
    by_number(abi).last().map_or(0, |&(nr, _)| nr)
}
