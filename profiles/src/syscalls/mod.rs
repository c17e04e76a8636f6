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

/// One ABI's tables.
struct AbiTables {
    by_name: &'static [(Name, u32)],
    index: NameIndex,
    by_number: &'static [(u32, Name)],
}

/// The tables of one ABI, with its name index computed at compile time: one key per
/// name, and twice as many slots as names, rounded up to a power of two.
macro_rules! abi_tables {
    ($by_name:ident, $by_number:ident) => {{
        const KEYS: [u128; generated::$by_name.len()] = index::keys_of(generated::$by_name);
        const SLOTS: [u16; (2 * KEYS.len()).next_power_of_two()] = index::slots_of(&KEYS);
        AbiTables {
            by_name: generated::$by_name,
            index: NameIndex::new(&KEYS, &SLOTS),
            by_number: generated::$by_number,
        }
    }};
}

static X86_64: AbiTables = abi_tables!(X86_64_BY_NAME, X86_64_BY_NUMBER);
static X86: AbiTables = abi_tables!(X86_BY_NAME, X86_BY_NUMBER);
static X32: AbiTables = abi_tables!(X32_BY_NAME, X32_BY_NUMBER);
static AARCH64: AbiTables = abi_tables!(AARCH64_BY_NAME, AARCH64_BY_NUMBER);
static ARM: AbiTables = abi_tables!(ARM_BY_NAME, ARM_BY_NUMBER);

fn tables(abi: Abi) -> &'static AbiTables {
    match abi {
        Abi::X86_64 => &X86_64,
        Abi::X86 => &X86,
        Abi::X32 => &X32,
        Abi::Aarch64 => &AARCH64,
        Abi::Arm => &ARM,
    }
}

/// The syscalls of `abi` as (name, number), sorted by name.
///
/// A number can appear under two names: on arm, `sync_file_range2` is the header's
/// alias of `arm_sync_file_range` (341).
pub fn table(abi: Abi) -> impl ExactSizeIterator<Item = (&'static str, u32)> + Clone {
    tables(abi)
        .by_name
        .iter()
        .map(|(name, nr)| (name.as_str(), *nr))
}

/// The kernel's number for `name` on `abi`, or `None` if that ABI has no such syscall.
///
/// x32 numbers include bit 30. On i386 the socket and IPC calls get their direct
/// numbers (`socket` = 359), not the `socketcall`/`ipc` multiplexer.
pub fn number(abi: Abi, name: &str) -> Option<u32> {
    let tables = tables(abi);
    let position = tables.index.position(tables.by_name, name)?;
    tables.by_name.get(position).map(|&(_, nr)| nr)
}

/// The name of syscall `nr` on `abi`.
///
/// On x32 `nr` must carry bit 30: without it the kernel runs the x86_64 syscall of that
/// number, so the result is `None`. For arm's 341 the answer is `arm_sync_file_range`,
/// the name of the kernel's syscall table.
pub fn name(abi: Abi, nr: u32) -> Option<&'static str> {
    let entries = tables(abi).by_number;
    let index = entries.binary_search_by_key(&nr, |&(n, _)| n).ok()?;
    entries.get(index).map(|(_, name)| name.as_str())
}

/// Whether `name` is a syscall on any architecture of the headers, not only on the five
/// ABIs. linux-raw-sys covers twenty; libseccomp knows no name they lack (a test checks
/// every name it resolves on any of its architectures).
pub fn is_known(name: &str) -> bool {
    // The hashed tables of the five ABIs first: they answer for nearly every name.
    Abi::ALL.iter().any(|abi| number(*abi, name).is_some())
        || generated::ALL_NAMES
            .binary_search_by(|known| known.as_bytes().cmp(name.as_bytes()))
            .is_ok()
}

/// Every syscall name of every architecture of the headers, sorted.
pub fn known_names() -> impl ExactSizeIterator<Item = &'static str> + Clone {
    generated::ALL_NAMES.iter().map(Name::as_str)
}

/// The highest syscall number of `abi`.
///
/// On arm that is a private syscall (`get_tls`, 0xf0006), far above the numbered range;
/// on x32 it is the top of the x32-specific range (`pwritev2`, bit 30 | 547).
pub fn max_number(abi: Abi) -> u32 {
    // The tables are never empty (the generator refuses an empty header), so the
    // fallback is never taken.
    tables(abi).by_number.last().map_or(0, |&(nr, _)| nr)
}
