//! Hand-written cases: the merge rules of docs/docker-seccomp-semantics.md §11 and each
//! libseccomp quirk the database reproduces. `tests/db_libseccomp.rs` checks the same
//! machinery against libseccomp itself on generated rule sets.

use super::*;

/// Syscall numbers for the names these tests use (kernel tables, as libseccomp has them).
fn numbers(abi: Abi, name: &str) -> Option<u32> {
    let table: &[(&str, [Option<u32>; 5])] = &[
        // name: x86_64, i386, x32 (without bit 30), aarch64, arm
        (
            "personality",
            [Some(135), Some(136), Some(135), Some(92), Some(136)],
        ),
        ("read", [Some(0), Some(3), Some(0), Some(63), Some(3)]),
        (
            "socket",
            [Some(41), Some(359), Some(41), Some(198), Some(281)],
        ),
        ("accept", [Some(43), None, Some(43), Some(202), Some(285)]),
        (
            "shmget",
            [Some(29), Some(395), Some(29), Some(194), Some(307)],
        ),
        ("socketcall", [None, Some(102), None, None, None]),
        ("chown32", [None, Some(212), None, None, Some(212)]),
        ("mmap2", [None, Some(192), None, None, Some(192)]),
        // i386 has fstatat64 instead; not a multiplexed call.
        ("newfstatat", [Some(262), None, Some(262), Some(79), None]),
    ];
    let column = match abi {
        Abi::X86_64 => 0,
        Abi::X86 => 1,
        Abi::X32 => 2,
        Abi::Aarch64 => 3,
        Abi::Arm => 4,
    };
    let nr = table.iter().find(|(n, _)| *n == name)?.1[column]?;
    Some(if abi == Abi::X32 {
        nr | X32_SYSCALL_BIT
    } else {
        nr
    })
}

const DEFAULT: Action = Action::Errno(1);
const PERSONALITY: u32 = 135;

fn db(abis: &[Abi]) -> Database {
    Database::new(DEFAULT, abis, numbers)
}

fn cond(arg: u8, op: CmpOp, datum_a: u64) -> Cond {
    Cond {
        arg,
        op,
        datum_a,
        datum_b: 0,
    }
}

fn masked(arg: u8, mask: u64, value: u64) -> Cond {
    Cond {
        arg,
        op: CmpOp::MaskedEq,
        datum_a: mask,
        datum_b: value,
    }
}

fn a0(value: u64) -> [u64; 6] {
    [value, 0, 0, 0, 0, 0]
}

/// The decision for personality on x86_64, the default applied.
fn personality(db: &Database, args: [u64; 6]) -> Action {
    db.decide(Abi::X86_64, PERSONALITY, &args)
        .unwrap_or(db.default_action())
}

/// Adds the rules in both orders and returns the two databases.
fn both_orders(first: (Action, Cond), second: (Action, Cond)) -> [Database; 2] {
    [[first, second], [second, first]].map(|rules| {
        let mut db = db(&[Abi::X86_64]);
        for (action, c) in rules {
            db.add_rule("personality", action, &[c])
                .expect("rule added");
        }
        db
    })
}

#[test]
fn equality_is_tested_before_a_range_in_either_order() {
    let gt = (Action::Errno(38), cond(0, CmpOp::Gt, 10));
    let eq = (Action::Allow, cond(0, CmpOp::Eq, 20));
    for db in both_orders(gt, eq) {
        assert_eq!(personality(&db, a0(20)), Action::Allow);
        assert_eq!(personality(&db, a0(21)), Action::Errno(38));
        assert_eq!(personality(&db, a0(10)), DEFAULT);
    }
}

#[test]
fn less_than_is_tested_before_greater_than_in_either_order() {
    let lt = (Action::Allow, cond(0, CmpOp::Lt, 100));
    let gt = (Action::Errno(38), cond(0, CmpOp::Gt, 10));
    for db in both_orders(lt, gt) {
        assert_eq!(personality(&db, a0(50)), Action::Allow);
        assert_eq!(personality(&db, a0(100)), Action::Errno(38));
    }
}

#[test]
fn higher_arguments_are_tested_first() {
    let on_a0 = (Action::Errno(5), cond(0, CmpOp::Eq, 1));
    let on_a2 = (Action::Allow, cond(2, CmpOp::Eq, 7));
    for db in both_orders(on_a0, on_a2) {
        assert_eq!(personality(&db, [1, 0, 7, 0, 0, 0]), Action::Allow);
    }
    let on_a2 = (Action::Errno(5), cond(2, CmpOp::Eq, 7));
    let on_a0 = (Action::Allow, cond(0, CmpOp::Eq, 1));
    for db in both_orders(on_a2, on_a0) {
        assert_eq!(personality(&db, [1, 0, 7, 0, 0, 0]), Action::Errno(5));
    }
}

#[test]
fn an_unconditional_rule_already_present_wins() {
    let mut db = db(&[Abi::X86_64]);
    db.add_rule("personality", Action::Allow, &[]).unwrap();
    db.add_rule("personality", Action::Errno(5), &[]).unwrap();
    db.add_rule("personality", Action::Errno(6), &[cond(0, CmpOp::Eq, 7)])
        .unwrap();
    assert_eq!(personality(&db, a0(7)), Action::Allow);
    assert_eq!(
        db.tree(Abi::X86_64, PERSONALITY),
        Some(&Node::Leaf(Decision::Act(Action::Allow)))
    );
}

#[test]
fn a_later_unconditional_rule_replaces_conditions() {
    let mut db = db(&[Abi::X86_64]);
    db.add_rule("personality", Action::Allow, &[cond(0, CmpOp::Eq, 7)])
        .unwrap();
    db.add_rule("personality", Action::Errno(5), &[]).unwrap();
    assert_eq!(personality(&db, a0(7)), Action::Errno(5));
    assert_eq!(personality(&db, a0(8)), Action::Errno(5));
}

#[test]
fn conditional_rules_with_one_action_are_ored() {
    let mut db = db(&[Abi::X86_64]);
    db.add_rule("personality", Action::Allow, &[cond(0, CmpOp::Eq, 1)])
        .unwrap();
    db.add_rule("personality", Action::Allow, &[cond(1, CmpOp::Eq, 2)])
        .unwrap();
    assert_eq!(personality(&db, [1, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(personality(&db, [0, 2, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(personality(&db, [0, 0, 0, 0, 0, 0]), DEFAULT);
}

#[test]
fn conditions_of_one_rule_are_anded() {
    let mut db = db(&[Abi::X86_64]);
    let conds = [cond(1, CmpOp::Eq, 2), cond(0, CmpOp::Eq, 1)];
    db.add_rule("personality", Action::Allow, &conds).unwrap();
    assert_eq!(personality(&db, [1, 2, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(personality(&db, [1, 0, 0, 0, 0, 0]), DEFAULT);
}

#[test]
fn the_same_comparison_with_another_action_conflicts_and_changes_nothing() {
    let mut db = db(&[Abi::X86_64]);
    db.add_rule("personality", Action::Allow, &[cond(0, CmpOp::Eq, 1)])
        .unwrap();
    let before = db.tree(Abi::X86_64, PERSONALITY).cloned();
    let err = db.add_rule("personality", Action::Errno(5), &[cond(0, CmpOp::Eq, 1)]);
    assert!(
        matches!(
            err,
            Err(DbError::Conflict {
                abi: Abi::X86_64,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(err.unwrap_err().errno(), libc::EEXIST);
    assert_eq!(db.tree(Abi::X86_64, PERSONALITY).cloned(), before);
}

#[test]
fn a_rule_refused_on_one_abi_is_added_to_none() {
    // On i386 both datums truncate to 1: the same comparison, another action.
    let mut db = db(&[Abi::X86_64, Abi::X86]);
    db.add_rule(
        "personality",
        Action::Allow,
        &[cond(0, CmpOp::Eq, 0x1_0000_0001)],
    )
    .unwrap();
    let err = db.add_rule("personality", Action::Errno(5), &[cond(0, CmpOp::Eq, 1)]);
    assert!(
        matches!(err, Err(DbError::Conflict { abi: Abi::X86, .. })),
        "{err:?}"
    );
    assert_eq!(
        personality(&db, a0(1)),
        DEFAULT,
        "x86_64 kept no trace of the rule"
    );
}

#[test]
fn refused_rules_report_libseccomps_errno() {
    let mut db = db(&[Abi::X86_64]);
    let add = |db: &mut Database, action, conds: &[Cond]| {
        db.add_rule("personality", action, conds)
            .map_err(|e| e.errno())
    };
    assert_eq!(add(&mut db, DEFAULT, &[]), Err(libc::EACCES));
    assert_eq!(add(&mut db, Action::Errno(4095), &[]), Err(libc::EINVAL));
    let twice = [cond(0, CmpOp::Eq, 1), cond(0, CmpOp::Eq, 2)];
    assert_eq!(add(&mut db, Action::Allow, &twice), Err(libc::EINVAL));
    assert_eq!(
        add(&mut db, Action::Allow, &[cond(6, CmpOp::Eq, 1)]),
        Err(libc::EINVAL)
    );
    let seven: Vec<Cond> = (0..7).map(|i| cond(i % 6, CmpOp::Eq, 1)).collect();
    assert_eq!(add(&mut db, Action::Allow, &seven), Err(libc::EINVAL));
    assert_eq!(add(&mut db, Action::Errno(4094), &[]), Ok(()));
    assert!(Database::try_new(Action::Errno(4095), &[Abi::X86_64], numbers).is_err());
}

#[test]
fn thirty_two_bit_abis_compare_truncated_low_words() {
    let mut db = db(&[Abi::X86, Abi::X32]);
    db.add_rule(
        "personality",
        Action::Allow,
        &[cond(0, CmpOp::Eq, 0x1_0000_0001)],
    )
    .unwrap();
    for abi in [Abi::X86, Abi::X32] {
        let nr = numbers(abi, "personality").unwrap();
        assert_eq!(db.decide(abi, nr, &a0(1)), Some(Action::Allow), "{abi}");
        // x32 passes 64-bit registers, but only the low word is compared.
        assert_eq!(
            db.decide(abi, nr, &a0(0x7_0000_0001)),
            Some(Action::Allow),
            "{abi}"
        );
        let tree = db.tree(abi, nr).unwrap();
        assert!(
            matches!(
                tree,
                Node::Test {
                    half: Half::Lo,
                    op: WordOp::Eq(1),
                    ..
                }
            ),
            "{tree:?}"
        );
    }
}

#[test]
fn sixty_four_bit_abis_compare_high_word_then_low_word() {
    let mut db = db(&[Abi::X86_64]);
    db.add_rule(
        "personality",
        Action::Allow,
        &[cond(0, CmpOp::Eq, 0x1_0000_0001)],
    )
    .unwrap();
    assert_eq!(personality(&db, a0(1)), DEFAULT);
    assert_eq!(personality(&db, a0(0x1_0000_0001)), Action::Allow);
    let Some(Node::Test {
        half: Half::Hi,
        op: WordOp::Eq(1),
        then,
        ..
    }) = db.tree(Abi::X86_64, PERSONALITY)
    else {
        panic!("high word first");
    };
    assert!(matches!(
        **then,
        Node::Test {
            half: Half::Lo,
            op: WordOp::Eq(1),
            ..
        }
    ));
}

#[test]
fn masked_equality_ignores_value_bits_outside_the_mask() {
    let mut db = db(&[Abi::X86_64]);
    db.add_rule("personality", Action::Allow, &[masked(0, 0xff, 0x1234)])
        .unwrap();
    assert_eq!(personality(&db, a0(0x34)), Action::Allow);
    assert_eq!(personality(&db, a0(0x1234)), Action::Allow);
    assert_eq!(personality(&db, a0(0x35)), DEFAULT);
}

#[test]
fn a_zero_mask_makes_the_rule_unconditional() {
    let mut db = db(&[Abi::X86_64, Abi::X86]);
    db.add_rule("personality", Action::Allow, &[masked(0, 0, 5)])
        .unwrap();
    assert_eq!(
        db.tree(Abi::X86_64, PERSONALITY),
        Some(&Node::Leaf(Decision::Act(Action::Allow)))
    );
    assert_eq!(
        db.tree(Abi::X86, 136),
        Some(&Node::Leaf(Decision::Act(Action::Allow)))
    );
}

#[test]
fn a_zero_mask_half_is_still_tested_on_64_bit_abis() {
    let mut db = db(&[Abi::X86_64, Abi::X86]);
    db.add_rule(
        "personality",
        Action::Allow,
        &[masked(0, 0xffff_ffff_0000_0000, 0)],
    )
    .unwrap();
    // x86_64: the low word is tested against a zero mask, which always holds.
    let Some(Node::Test {
        half: Half::Hi,
        then,
        ..
    }) = db.tree(Abi::X86_64, PERSONALITY)
    else {
        panic!("high word tested");
    };
    assert!(matches!(
        **then,
        Node::Test {
            op: WordOp::MaskedEq { mask: 0, value: 0 },
            ..
        }
    ));
    // i386 has only the low word, whose mask is zero: no test at all.
    assert_eq!(
        db.tree(Abi::X86, 136),
        Some(&Node::Leaf(Decision::Act(Action::Allow)))
    );
}

#[test]
fn i386_socket_calls_also_go_through_socketcall() {
    let mut db = db(&[Abi::X86]);
    let conds = [cond(0, CmpOp::Eq, 2), cond(1, CmpOp::Eq, 1)];
    db.add_rule("socket", Action::Allow, &conds).unwrap();
    // Direct call: both conditions.
    assert_eq!(
        db.decide(Abi::X86, 359, &[2, 1, 0, 0, 0, 0]),
        Some(Action::Allow)
    );
    assert_eq!(db.decide(Abi::X86, 359, &[3, 1, 0, 0, 0, 0]), Some(DEFAULT));
    // socketcall(SYS_SOCKET = 1, ...): argument 0 is the call number, the other
    // condition applies to socketcall's own second argument.
    assert_eq!(
        db.decide(Abi::X86, 102, &[1, 1, 0, 0, 0, 0]),
        Some(Action::Allow)
    );
    assert_eq!(db.decide(Abi::X86, 102, &[2, 1, 0, 0, 0, 0]), Some(DEFAULT));
    assert!(is_multiplexed(Abi::X86, "socket") && !is_multiplexed(Abi::X86_64, "socket"));
}

#[test]
fn i386_calls_without_a_direct_number_only_go_through_the_multiplexer() {
    let mut db = db(&[Abi::X86]);
    db.add_rule("accept", Action::Allow, &[]).unwrap();
    db.add_rule("shmget", Action::Allow, &[]).unwrap();
    let numbers: Vec<u32> = db.syscalls(Abi::X86).map(|(nr, _)| nr).collect();
    assert_eq!(numbers, [102, 117, 395]);
    assert_eq!(db.decide(Abi::X86, 102, &a0(5)), Some(Action::Allow));
    assert_eq!(db.decide(Abi::X86, 117, &a0(23)), Some(Action::Allow));
}

#[test]
fn a_rule_naming_socketcall_is_a_plain_i386_rule() {
    // The multiplexed rule from "socket" is conditional (a0 == SYS_SOCKET): a later
    // unconditional socketcall rule replaces it...
    let mut db = db(&[Abi::X86_64, Abi::X86]);
    db.add_rule("socket", Action::Allow, &[]).unwrap();
    db.add_rule("socketcall", Action::Errno(5), &[]).unwrap();
    assert_eq!(db.decide(Abi::X86, 102, &a0(1)), Some(Action::Errno(5)));
    assert_eq!(db.decide(Abi::X86, 359, &a0(1)), Some(Action::Allow));
    assert_eq!(
        db.syscalls(Abi::X86_64).count(),
        1,
        "socketcall is a pseudo syscall on x86_64"
    );
    // ...and an earlier one wins over it.
    let mut db = Database::new(DEFAULT, &[Abi::X86], numbers);
    db.add_rule("socketcall", Action::Errno(5), &[]).unwrap();
    db.add_rule("socket", Action::Allow, &[]).unwrap();
    assert_eq!(db.decide(Abi::X86, 102, &a0(1)), Some(Action::Errno(5)));
}

#[test]
fn names_an_abi_lacks_are_filed_but_never_emitted() {
    let mut db = db(&[Abi::X86_64, Abi::X86]);
    db.add_rule("chown32", Action::Allow, &[cond(0, CmpOp::Eq, 1)])
        .unwrap();
    assert_eq!(db.syscalls(Abi::X86_64).count(), 0);
    assert_eq!(db.decide(Abi::X86, 212, &a0(1)), Some(Action::Allow));
    // The x86_64 pseudo entry still merges: the same comparison with another action
    // conflicts there.
    let err = db.add_rule("chown32", Action::Errno(5), &[cond(0, CmpOp::Eq, 1)]);
    assert!(
        matches!(
            err,
            Err(DbError::Conflict {
                abi: Abi::X86_64,
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn a_pseudo_syscall_checked_first_loses_the_syscall_number() {
    // On aarch64, mmap2 is a pseudo syscall; unconditional, it has the highest priority,
    // so libseccomp puts the load of the number in its code, which it never emits.
    let mut db = Database::new(DEFAULT, &[Abi::Aarch64], numbers);
    db.add_rule("personality", Action::Errno(5), &[cond(0, CmpOp::Eq, 1)])
        .unwrap();
    db.add_rule("mmap2", Action::KillThread, &[]).unwrap();
    assert!(db.loses_syscall_number(Abi::Aarch64));
    assert_eq!(db.decide(Abi::Aarch64, 92, &a0(1)), Some(DEFAULT));
    // The binary-tree layout loads the number in its own code.
    db.set_binary_tree(true);
    assert!(!db.loses_syscall_number(Abi::Aarch64));
    assert_eq!(db.decide(Abi::Aarch64, 92, &a0(1)), Some(Action::Errno(5)));
}

#[test]
fn a_stale_accumulator_is_tested_as_libseccomp_leaves_it() {
    // chown32 on arm: the level under `a0 == 5` (false) ends by falling through to
    // `a0 > 10`, whose code expects argument 0 loaded and finds argument 2 there.
    let mut db = Database::new(Action::Log, &[Abi::Arm], numbers);
    let rules = [
        (
            Action::Errno(0),
            [cond(0, CmpOp::Ne, 5), cond(2, CmpOp::Gt, 5)],
        ),
        (
            Action::Allow,
            [cond(0, CmpOp::Ne, 5), cond(2, CmpOp::Lt, 5)],
        ),
    ];
    for (action, conds) in rules {
        db.add_rule("chown32", action, &conds).unwrap();
    }
    db.add_rule("chown32", Action::Allow, &[cond(0, CmpOp::Le, 10)])
        .unwrap();
    // As the rules read, (11, _, 5) matches none: LOG. libseccomp's program tests
    // argument 2 (5) against 10 instead of argument 0, and allows.
    assert_eq!(
        db.decide(Abi::Arm, 212, &[11, 0, 5, 0, 0, 0]),
        Some(Action::Allow)
    );
    assert_eq!(
        db.decide(Abi::Arm, 212, &[11, 0, 6, 0, 0, 0]),
        Some(Action::Errno(0))
    );
    assert_eq!(
        db.decide(Abi::Arm, 212, &[11, 0, 0, 0, 0, 0]),
        Some(Action::Allow)
    );
}

#[test]
fn a_merge_libseccomp_never_finishes_is_an_error() {
    let mut db = Database::new(DEFAULT, &[Abi::X86_64], numbers);
    let mask = masked(0, 0x1_0000_0001, 0);
    db.add_rule("read", Action::Allow, &[cond(2, CmpOp::Gt, u64::MAX)])
        .unwrap();
    let long = [
        mask,
        cond(3, CmpOp::Le, 0x1_0000_0000),
        cond(1, CmpOp::Lt, 10),
        cond(2, CmpOp::Lt, 20),
    ];
    db.add_rule("read", Action::Errno(0), &long).unwrap();
    let short = [mask, cond(3, CmpOp::Le, 0), cond(1, CmpOp::Lt, 10)];
    let err = db.add_rule("read", Action::Errno(38), &short);
    assert!(matches!(err, Err(DbError::NeverReturns { .. })), "{err:?}");
    assert_eq!(err.unwrap_err().errno(), libc::ELOOP);
    // The rule left no trace.
    db.add_rule("read", Action::Notify, &[]).unwrap();
    assert_eq!(db.decide(Abi::X86_64, 0, &[0; 6]), Some(Action::Notify));
}

#[test]
fn x32_numbers_may_be_given_with_or_without_bit_30() {
    let mut db = db(&[Abi::X86_64, Abi::X32]);
    db.add_rule("read", Action::Allow, &[]).unwrap();
    assert_eq!(db.decide(Abi::X32, 0, &[0; 6]), Some(Action::Allow));
    assert_eq!(
        db.decide(Abi::X32, X32_SYSCALL_BIT, &[0; 6]),
        Some(Action::Allow)
    );
    let numbers: Vec<u32> = db.syscalls(Abi::X32).map(|(nr, _)| nr).collect();
    assert_eq!(numbers, [X32_SYSCALL_BIT]);
}

#[test]
fn level_merging_frees_nodes_as_libseccomp_counts_them() {
    // A shorter chain replaces a longer one with the same action (the prune path).
    let mut db = db(&[Abi::X86_64]);
    db.add_rule(
        "personality",
        Action::Allow,
        &[cond(0, CmpOp::Eq, 1), cond(1, CmpOp::Eq, 2)],
    )
    .unwrap();
    db.add_rule("personality", Action::Allow, &[cond(0, CmpOp::Eq, 1)])
        .unwrap();
    assert_eq!(personality(&db, [1, 9, 0, 0, 0, 0]), Action::Allow);
    let entry = &db.filters[0].entries[&SysKey::Nr(PERSONALITY)];
    let live = (0..entry.tree().len())
        .filter(|&id| entry.tree().is_live(id))
        .count();
    assert_eq!(live, 2, "only the shorter chain's two nodes remain");
}

#[test]
fn numbers_are_sorted_whether_close_together_or_spread() {
    let close = vec![(7, 'c'), (3, 'a'), (5, 'b'), (400, 'd')];
    let sorted_close = [(3, 'a'), (5, 'b'), (7, 'c'), (400, 'd')];
    assert_eq!(sorted_by_number(close), sorted_close);
    let spread = vec![(0xf0002, 'c'), (3, 'a'), (0xf0001, 'b')];
    let sorted_spread = [(3, 'a'), (0xf0001, 'b'), (0xf0002, 'c')];
    assert_eq!(sorted_by_number(spread), sorted_spread);
    assert_eq!(sorted_by_number(Vec::<(u32, char)>::new()), []);
    let extremes = vec![(u32::MAX, 'x'), (0, 'y')];
    assert_eq!(sorted_by_number(extremes), [(0, 'y'), (u32::MAX, 'x')]);
}

#[test]
fn i386_files_no_pseudo_number_for_an_unconditional_rule() {
    // Filed, the pseudo entry would be the first syscall checked (an unconditional
    // entry outranks personality's chain) and i386 would lose the syscall number.
    let allow_1 = cond(0, CmpOp::Eq, 1);
    let mut i386 = db(&[Abi::X86]);
    i386.add_rule("personality", Action::Allow, &[allow_1])
        .unwrap();
    i386.add_rule("newfstatat", Action::Allow, &[]).unwrap();
    assert!(!i386.loses_syscall_number(Abi::X86));
    assert_eq!(i386.decide(Abi::X86, 136, &a0(1)), Some(Action::Allow));
    // x86_64 lacks chown32 and files it under its pseudo number: with x32 beside it,
    // that entry comes first and the number is lost, as libseccomp loses it.
    let mut amd64 = db(&[Abi::X86_64, Abi::X32]);
    amd64
        .add_rule("personality", Action::Allow, &[allow_1])
        .unwrap();
    amd64.add_rule("chown32", Action::Allow, &[]).unwrap();
    assert!(amd64.loses_syscall_number(Abi::X86_64));
}
