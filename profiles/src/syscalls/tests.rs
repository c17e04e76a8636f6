use super::*;
use crate::arch::X32_SYSCALL_BIT;

fn by_number_tables() -> [(Abi, Vec<(u32, &'static str)>); 5] {
    Abi::ALL.map(|abi| {
        let entries = by_number(abi).iter();
        let name_at = |position: u16| generated::SYSCALLS[usize::from(position)].0.as_str();
        (
            abi,
            entries
                .map(|(nr, position)| (*nr, name_at(*position)))
                .collect(),
        )
    })
}

fn sorted_strictly<T: PartialOrd>(items: impl Iterator<Item = T>) -> bool {
    let items: Vec<T> = items.collect();
    items.windows(2).all(|w| w[0] < w[1])
}

#[test]
fn tables_are_strictly_sorted() {
    for abi in Abi::ALL {
        assert!(
            sorted_strictly(table(abi).map(|(name, _)| name)),
            "{abi} by name"
        );
        assert!(
            by_number(abi).windows(2).all(|w| w[0].0 < w[1].0),
            "{abi} by number"
        );
    }
    assert!(sorted_strictly(known_names()));
}

#[test]
fn index_finds_every_name_within_a_few_probes() {
    let table = generated::SYSCALLS;
    let probes: Vec<usize> = (0..table.len())
        .map(|position| INDEX.probes(table, position).unwrap_or(0))
        .collect();
    assert!(
        probes.iter().all(|&p| p >= 1),
        "a name is missing from the index"
    );
    let longest = probes.iter().max().copied().unwrap_or(0);
    let mean = probes.iter().sum::<usize>() as f64 / probes.len() as f64;
    println!(
        "{} names, probes: longest {longest}, mean {mean:.2}",
        probes.len()
    );
    // Linear probing at a load of at most 1/2 expects 1.5 probes per name found
    // (Knuth, TAOCP vol. 3, 6.4); far longer runs would mean the hash clusters.
    assert!(
        longest <= 16 && mean < 2.0,
        "longest {longest}, mean {mean:.2}"
    );
}

#[test]
fn a_looked_up_syscall_carries_its_name_and_every_number() {
    for (position, (name, _)) in generated::SYSCALLS.iter().enumerate() {
        let syscall = Syscall::lookup(name.as_str());
        assert_eq!(syscall.map(|s| usize::from(s.position)), Some(position));
    }
    let openat = Syscall::lookup("openat").expect("openat is known");
    assert_eq!(openat.name(), "openat");
    let numbers = Abi::ALL.map(|abi| openat.number(abi));
    let expected = [
        Some(257),
        Some(295),
        Some(X32_SYSCALL_BIT | 257),
        Some(56),
        Some(322),
    ];
    assert_eq!(numbers, expected);
    // A name of another architecture only: known, with no number on the five ABIs.
    let spu_run = Syscall::lookup("spu_run").expect("powerpc's spu_run is known");
    assert_eq!(Abi::ALL.map(|abi| spu_run.number(abi)), [None; 5]);
    assert_eq!(Syscall::lookup("no_such_call"), None);
}

#[test]
fn long_names_sharing_a_key_are_told_apart() {
    let key = index::prefix_key;
    assert_eq!(key("sched_get_priority_max"), key("sched_get_priority_min"));
    assert_eq!(number(Abi::X86_64, "sched_get_priority_max"), Some(146));
    assert_eq!(number(Abi::X86_64, "sched_get_priority_min"), Some(147));
    assert_eq!(number(Abi::X86_64, "sched_get_priority_mid"), None);
    assert_eq!(number(Abi::X86_64, "sched_get_priori"), None);
    // A NUL makes a different name, whose key may equal a real one's.
    assert_eq!(number(Abi::X86_64, "read\0"), None);
    assert_eq!(number(Abi::X86, "clock_nanosleep_time64"), Some(407));
    assert_eq!(number(Abi::X86, "clock_nanosleep"), Some(267));
}

#[test]
fn both_directions_hold_the_same_syscalls() {
    for (abi, numbered) in by_number_tables() {
        for &(nr, name) in &numbered {
            assert_eq!(number(abi, name), Some(nr), "{abi} {name}");
        }
        for (name, nr) in table(abi) {
            assert!(
                numbered.binary_search_by_key(&nr, |&(n, _)| n).is_ok(),
                "{abi} {name}"
            );
            assert!(is_known(name), "{abi} {name}");
        }
    }
}

#[test]
fn name_to_number_to_name_round_trips() {
    for abi in Abi::ALL {
        for (syscall, nr) in table(abi) {
            assert_eq!(number(abi, syscall), Some(nr), "{abi} {syscall}");
            // arm's 341 has two names; the reverse table keeps the syscall-table one.
            let expected = match (abi, syscall) {
                (Abi::Arm, "sync_file_range2") => "arm_sync_file_range",
                _ => syscall,
            };
            assert_eq!(name(abi, nr), Some(expected), "{abi} {syscall} {nr}");
        }
    }
}

#[test]
fn headers_are_linux_6_17() {
    assert_eq!(TABLES_KERNEL, "6.17");
    // file_setattr (469) came with 6.17, listns (470) with 6.18.
    assert_eq!(number(Abi::X86_64, "file_setattr"), Some(469));
    assert!(!is_known("listns"));
}

#[test]
fn x32_numbers_carry_bit_30() {
    assert!(table(Abi::X32).all(|(_, nr)| nr & X32_SYSCALL_BIT != 0));
    assert_eq!(number(Abi::X86_64, "read"), Some(0));
    assert_eq!(number(Abi::X32, "read"), Some(X32_SYSCALL_BIT));
    assert_eq!(name(Abi::X32, X32_SYSCALL_BIT), Some("read"));
    // Without the bit the kernel runs the x86_64 syscall, not an x32 one.
    assert_eq!(name(Abi::X32, 0), None);
    // x32 has its own numbers where the x86_64 calls take 64-bit structures.
    assert_eq!(number(Abi::X86_64, "readv"), Some(19));
    assert_eq!(number(Abi::X32, "readv"), Some(X32_SYSCALL_BIT | 515));
    assert_eq!(name(Abi::X32, X32_SYSCALL_BIT | 19), None);
    assert_eq!(max_number(Abi::X32), X32_SYSCALL_BIT | 547);
}

#[test]
fn arm_private_syscalls_use_libseccomp_names() {
    let private = [
        ("breakpoint", 0x0f_0001),
        ("cacheflush", 0x0f_0002),
        ("usr26", 0x0f_0003),
        ("usr32", 0x0f_0004),
        ("set_tls", 0x0f_0005),
        ("get_tls", 0x0f_0006),
    ];
    for (syscall, nr) in private {
        assert_eq!(number(Abi::Arm, syscall), Some(nr), "{syscall}");
        assert_eq!(name(Abi::Arm, nr), Some(syscall), "{syscall}");
        assert_eq!(number(Abi::Aarch64, syscall), None, "{syscall}");
    }
    assert_eq!(max_number(Abi::Arm), 0x0f_0006);
}

#[test]
fn arm_sync_file_range2_is_an_alias_of_arm_sync_file_range() {
    assert_eq!(number(Abi::Arm, "arm_sync_file_range"), Some(341));
    assert_eq!(number(Abi::Arm, "sync_file_range2"), Some(341));
    assert_eq!(name(Abi::Arm, 341), Some("arm_sync_file_range"));
    assert_eq!(number(Abi::Arm, "arm_fadvise64_64"), Some(270));
}

#[test]
fn i386_socket_calls_have_their_direct_numbers() {
    assert_eq!(number(Abi::X86, "socketcall"), Some(102));
    assert_eq!(number(Abi::X86, "socket"), Some(359));
    assert_eq!(number(Abi::X86, "ipc"), Some(117));
    assert_eq!(number(Abi::X86, "shmget"), Some(395));
    // i386 never had a direct accept, only accept4.
    assert_eq!(number(Abi::X86, "accept"), None);
    assert_eq!(number(Abi::X86, "accept4"), Some(364));
}

#[test]
fn names_of_other_architectures_are_known_but_absent() {
    for syscall in ["open", "riscv_flush_icache", "spu_run", "s390_sthyi"] {
        assert!(is_known(syscall), "{syscall}");
        assert_eq!(number(Abi::Aarch64, syscall), None, "{syscall}");
    }
    for syscall in [
        "",
        "opne",
        "SCMP_ACT_ALLOW",
        "Linux",
        "SYSCALL_BASE",
        "BASE",
    ] {
        assert!(!is_known(syscall), "{syscall:?}");
    }
}

#[test]
fn max_number_is_the_highest_number_of_the_table() {
    for abi in Abi::ALL {
        let highest = table(abi).map(|(_, nr)| nr).max();
        assert_eq!(Some(max_number(abi)), highest, "{abi}");
    }
    assert_eq!(max_number(Abi::X86_64), 469);
    assert_eq!(max_number(Abi::Aarch64), 469);
}

/// The native ABI's numbers agree with the constants linux-raw-sys compiles for this
/// target, which also makes `cargo fetch` bring the crate the generator reads.
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "arm"
))]
#[test]
fn native_numbers_match_linux_raw_sys() {
    use linux_raw_sys::general as raw;

    let abi = if cfg!(all(target_arch = "x86_64", target_pointer_width = "32")) {
        Abi::X32
    } else {
        Abi::native()
    };
    let expected = [
        ("read", raw::__NR_read),
        ("write", raw::__NR_write),
        ("openat", raw::__NR_openat),
        ("execve", raw::__NR_execve),
        ("clone3", raw::__NR_clone3),
        ("seccomp", raw::__NR_seccomp),
        ("file_setattr", raw::__NR_file_setattr),
    ];
    for (syscall, nr) in expected {
        assert_eq!(number(abi, syscall), Some(nr), "{abi} {syscall}");
    }
}
