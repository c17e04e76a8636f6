//! The syscall tables against the installed libseccomp, the library runc resolves
//! profile names with.
//!
//! The installed libseccomp may be older than the tables (Debian 12's patched 2.5.4
//! stops at Linux 6.7's `futex_requeue`, 456), so a name it does not know is reported,
//! not failed; a number it knows must be ours.

use std::collections::BTreeSet;

use libseccomp::{ScmpArch, ScmpSyscall};
use profiles::arch::{Abi, X32_SYSCALL_BIT};
use profiles::syscalls;

/// Socket and IPC calls that libseccomp resolves on i386 to pseudo numbers (below
/// zero), although the kernel has direct syscalls for them (socket family since 4.3,
/// IPC family since 5.1): a rule for one of them becomes a rule on the multiplexer,
/// `socketcall` (102) or `ipc` (117), plus one on the direct number (libseccomp
/// `src/arch-x86.c`). Our table has the direct numbers; there is nothing to compare.
const I386_MULTIPLEXED: &[&str] = &[
    "accept4",
    "bind",
    "connect",
    "getpeername",
    "getsockname",
    "getsockopt",
    "listen",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "semctl",
    "semget",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "socket",
    "socketpair",
];

fn scmp_arch(abi: Abi) -> ScmpArch {
    match abi {
        Abi::X86_64 => ScmpArch::X8664,
        Abi::X86 => ScmpArch::X86,
        Abi::X32 => ScmpArch::X32,
        Abi::Aarch64 => ScmpArch::Aarch64,
        Abi::Arm => ScmpArch::Arm,
    }
}

/// libseccomp's number for `name` on `abi`, if it knows a real (non-negative) one.
fn libseccomp_number(abi: Abi, name: &str) -> Option<u32> {
    let syscall = ScmpSyscall::from_name_by_arch(name, scmp_arch(abi)).ok()?;
    u32::try_from(syscall.as_raw_syscall()).ok()
}

/// libseccomp's name for `nr` on `abi`.
fn libseccomp_name(abi: Abi, nr: u32) -> Option<String> {
    let raw = i32::try_from(nr).ok()?;
    ScmpSyscall::from(raw).get_name_by_arch(scmp_arch(abi)).ok()
}

/// The numbers libseccomp could name on `abi`: the numbered range (below 1024, with
/// bit 30 on x32) and, on arm, the private syscalls from 0xf0000 on.
fn candidate_numbers(abi: Abi) -> Vec<u32> {
    let base = if abi == Abi::X32 { X32_SYSCALL_BIT } else { 0 };
    let mut numbers: Vec<u32> = (0..1024).map(|nr| base | nr).collect();
    if abi == Abi::Arm {
        numbers.extend(0x0f_0000..0x0f_0100);
    }
    numbers
}

#[test]
fn every_number_libseccomp_knows_is_ours() {
    let mut mismatches = Vec::new();
    for abi in Abi::ALL {
        let mut agreed = 0;
        let mut multiplexed = 0;
        let mut unknown_to_libseccomp = Vec::new();
        for (name, nr) in syscalls::table(abi) {
            match libseccomp_number(abi, name) {
                Some(theirs) if theirs == nr => agreed += 1,
                Some(theirs) => {
                    mismatches.push(format!("{abi} {name}: ours {nr}, libseccomp {theirs}"))
                }
                None if abi == Abi::X86 && I386_MULTIPLEXED.contains(&name) => multiplexed += 1,
                None => unknown_to_libseccomp.push(name),
            }
        }
        let total = syscalls::table(abi).count();
        let unknown = unknown_to_libseccomp.len();
        println!(
            "{abi}: {total} syscalls; {agreed} agree with libseccomp, {multiplexed} go \
             through socketcall/ipc there, {unknown} it does not know: \
             {unknown_to_libseccomp:?}"
        );
    }
    assert!(
        mismatches.is_empty(),
        "numbers differ from libseccomp:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn i386_multiplexed_calls_have_direct_numbers_in_our_table() {
    for name in I386_MULTIPLEXED {
        assert!(syscalls::number(Abi::X86, name).is_some(), "{name}");
    }
}

#[test]
fn libseccomp_knows_no_syscall_the_tables_lack() {
    let mut missing = BTreeSet::new();
    for abi in Abi::ALL {
        for name in syscalls::known_names() {
            if let Some(theirs) = libseccomp_number(abi, name) {
                if syscalls::number(abi, name) != Some(theirs) {
                    missing.insert(format!("{abi} {name} = {theirs}"));
                }
            }
        }
        for nr in candidate_numbers(abi) {
            if let Some(name) = libseccomp_name(abi, nr) {
                if syscalls::number(abi, &name) != Some(nr) {
                    missing.insert(format!("{abi} {name} = {nr}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "libseccomp has syscalls we lack:\n{missing:#?}"
    );
}

/// libseccomp architectures and the first number of their syscall range.
const ALL_LIBSECCOMP_ARCHES: &[(ScmpArch, i32)] = &[
    (ScmpArch::X86, 0),
    (ScmpArch::X8664, 0),
    (ScmpArch::X32, 0x4000_0000),
    (ScmpArch::Arm, 0),
    (ScmpArch::Arm, 0x0f_0000),
    (ScmpArch::Aarch64, 0),
    (ScmpArch::Loongarch64, 0),
    (ScmpArch::M68k, 0),
    (ScmpArch::Mips, 4000),
    (ScmpArch::Mips64, 5000),
    (ScmpArch::Mips64N32, 6000),
    (ScmpArch::Ppc, 0),
    (ScmpArch::Ppc64, 0),
    (ScmpArch::Riscv64, 0),
    (ScmpArch::S390, 0),
    (ScmpArch::S390X, 0),
    (ScmpArch::Parisc, 0),
    (ScmpArch::Parisc64, 0),
    (ScmpArch::Sh, 0),
];

#[test]
fn every_name_libseccomp_resolves_anywhere_is_known() {
    let mut unknown = BTreeSet::new();
    for &(arch, base) in ALL_LIBSECCOMP_ARCHES {
        for nr in base..base + 1024 {
            if let Ok(name) = ScmpSyscall::from(nr).get_name_by_arch(arch) {
                if !syscalls::is_known(&name) {
                    unknown.insert(format!("{arch:?} {name} = {nr}"));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "names libseccomp knows and we do not:\n{unknown:#?}"
    );
}
