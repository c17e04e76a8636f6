//! Decision-by-decision comparison of seclaunch's filter with the reference.

use profiles::arch::{Abi, X32_SYSCALL_BIT};
use profiles::bpf::sock_filter;
use profiles::db::{CmpOp, Cond};
use profiles::interp::{self, SeccompData};
use profiles::resolve::Resolved;
use profiles::syscalls;

use crate::reference::{self, libseccomp_knows_on};
use crate::Rng;

/// The result of comparing one resolved profile.
#[derive(Default)]
pub struct Tally {
    pub decisions: u64,
    pub mismatches: Vec<String>,
    /// Both sides refused the profile.
    pub agreed_errors: u64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.decisions += other.decisions;
        self.agreed_errors += other.agreed_errors;
        self.mismatches.extend(other.mismatches);
    }

    pub fn assert_clean(&self, what: &str) {
        println!(
            "{what}: compared {} decisions ({} profiles refused by both), {} mismatches",
            self.decisions,
            self.agreed_errors,
            self.mismatches.len()
        );
        // One line per (profile, ABI, syscall): the argument vectors repeat themselves.
        let mut seen = std::collections::BTreeSet::new();
        let shown: Vec<_> = self
            .mismatches
            .iter()
            .filter(|m| seen.insert(m.split(" args ").next().unwrap_or(m).to_string()))
            .take(40)
            .collect();
        assert!(
            self.mismatches.is_empty(),
            "{what}: mismatches:\n{shown:#?}"
        );
    }
}

/// Drops the rules whose names our tables know on one of the filter's ABIs but the
/// reference libseccomp does not know there: it would leave them out on that ABI, so
/// including them would compare table versions, not filters. (Debian's libseccomp 2.5.4
/// knows `map_shadow_stack` on x86_64 and i386 but not on x32, where newer tables have
/// it.) Names neither side knows stay: both must ignore them.
pub fn common_names_only(resolved: &Resolved) -> Resolved {
    let mut out = resolved.clone();
    out.rules.retain(|r| {
        resolved.abis.iter().all(|abi| {
            syscalls::number(*abi, &r.name).is_none() || libseccomp_knows_on(*abi, &r.name)
        })
    });
    out
}

/// Compares every decision of both filters for `resolved`, which should already have
/// gone through [`common_names_only`].
pub fn compare(resolved: &Resolved, label: &str, rng: &mut Rng) -> Tally {
    let ours = profiles::compile::compile(resolved, false);
    let theirs = reference::runc_program(resolved);
    let mut tally = Tally::default();
    match (ours, theirs) {
        (Err(_), Err(_)) => tally.agreed_errors += 1,
        (Ok(_), Err(e)) => tally
            .mismatches
            .push(format!("{label}: reference refused: {e}")),
        (Err(e), Ok(_)) => tally.mismatches.push(format!("{label}: we refused: {e}")),
        (Ok(ours), Ok(theirs)) => {
            if !ours.db.partial_emulation_agrees() {
                tally.mismatches.push(format!(
                    "{label}: emulating the syscalls with arguments alone changes their trees"
                ));
            }
            tally.add(compare_programs(
                &ours.program,
                &theirs,
                resolved,
                label,
                rng,
            ));
        }
    }
    tally
}

/// Compares two programs on every ABI of `resolved`'s family, with argument vectors taken
/// from `resolved`'s rules.
pub fn compare_programs(
    ours: &[sock_filter],
    theirs: &[sock_filter],
    resolved: &Resolved,
    label: &str,
    rng: &mut Rng,
) -> Tally {
    let mut tally = Tally::default();
    for abi in resolved.abis[0].family() {
        compare_abi(ours, theirs, resolved, *abi, label, rng, &mut tally);
    }
    compare_odd_numbers(ours, theirs, resolved, label, &mut tally);
    tally
}

fn compare_abi(
    ours: &[sock_filter],
    theirs: &[sock_filter],
    resolved: &Resolved,
    abi: Abi,
    label: &str,
    rng: &mut Rng,
    tally: &mut Tally,
) {
    // arm's private calls sit at 0xf0000 and up: their range is tried on its own.
    let regular = syscalls::table(abi).map(|(_, nr)| nr & !X32_SYSCALL_BIT);
    let top = regular.filter(|nr| *nr < ARM_PRIVATE).max().unwrap_or(0);
    let private = if abi == Abi::Arm {
        ARM_PRIVATE..ARM_PRIVATE + 16
    } else {
        0..0
    };
    for nr in (0..=top + 64).chain(private) {
        for args in arg_vectors(resolved, abi, nr, rng) {
            let data = SeccompData::new(abi, nr, args);
            check(
                ours,
                theirs,
                &data,
                &format!("{label} {abi} nr {nr} args {args:x?}"),
                tally,
            );
        }
    }
}

/// `__ARM_NR_BASE`: where arm's private syscalls start.
const ARM_PRIVATE: u32 = 0x0f_0000;

/// Numbers no table has: -1, the x32 bit on its own and with the top bits, and so on,
/// under every audit arch of the family.
fn compare_odd_numbers(
    ours: &[sock_filter],
    theirs: &[sock_filter],
    resolved: &Resolved,
    label: &str,
    tally: &mut Tally,
) {
    let odd = [
        u32::MAX,
        u32::MAX - 1,
        X32_SYSCALL_BIT - 1,
        X32_SYSCALL_BIT,
        X32_SYSCALL_BIT + 1,
        0x7fff_ffff,
        0x8000_0000,
        0x8000_0001,
        0xbfff_ffff,
        0xc000_0000,
        0xc000_0001,
        1000,
        0x1_0000,
    ];
    for abi in resolved.abis[0].family() {
        for nr in odd {
            let data = SeccompData {
                nr,
                arch: abi.audit_arch(),
                ..SeccompData::default()
            };
            check(
                ours,
                theirs,
                &data,
                &format!("{label} {abi} raw nr {nr:#x}"),
                tally,
            );
        }
    }
    let data = SeccompData {
        nr: 0,
        arch: 0x1234,
        ..SeccompData::default()
    };
    check(ours, theirs, &data, &format!("{label} unknown arch"), tally);
}

fn check(
    ours: &[sock_filter],
    theirs: &[sock_filter],
    data: &SeccompData,
    what: &str,
    t: &mut Tally,
) {
    tally_one(t);
    let a = interp::run(ours, data);
    let b = interp::run(theirs, data);
    match (a, b) {
        (Ok(a), Ok(b)) if a.ret == b.ret => {}
        (a, b) => t
            .mismatches
            .push(format!("{what}: ours {a:x?}, reference {b:x?}")),
    }
}

fn tally_one(t: &mut Tally) {
    t.decisions += 1;
}

/// Argument vectors for syscall `nr`: all zeros when no rule names it; otherwise the
/// edges of every constant its rules compare with, one argument at a time, all at once,
/// and mixed at random.
fn arg_vectors(resolved: &Resolved, abi: Abi, nr: u32, rng: &mut Rng) -> Vec<[u64; 6]> {
    let conds = conds_for(resolved, abi, nr);
    if conds.is_empty() {
        return vec![[0; 6], [rng.next_u64(); 6]];
    }
    let mut per_arg: [Vec<u64>; 6] = Default::default();
    for cond in &conds {
        if let Some(values) = per_arg.get_mut(usize::from(cond.arg)) {
            values.extend(edges(cond));
        }
    }
    let mut out = vec![[0; 6], [u64::MAX; 6]];
    for (i, values) in per_arg.iter().enumerate() {
        for v in values {
            let mut args = [0; 6];
            args[i] = *v;
            out.push(args);
            out.push([*v; 6]);
        }
    }
    for _ in 0..96 {
        let mut args = [0u64; 6];
        for (i, values) in per_arg.iter().enumerate() {
            if !values.is_empty() && rng.chance(80) {
                args[i] = *rng.pick(values);
            }
        }
        out.push(args);
    }
    out
}

/// Conditions of the rules that can reach `nr` on `abi` (on i386 every rule may reach the
/// socketcall and ipc multiplexers).
fn conds_for(resolved: &Resolved, abi: Abi, nr: u32) -> Vec<Cond> {
    let multiplexer = abi == Abi::X86 && (nr == 102 || nr == 117);
    let name = syscalls::name(abi, nr);
    let reaches = |rule_name: &str| multiplexer || Some(rule_name) == name;
    let rules = resolved.rules.iter().filter(|r| reaches(&r.name));
    let mut conds: Vec<Cond> = rules.flat_map(|r| r.conds.iter().cloned()).collect();
    if multiplexer {
        // The multiplexers compare argument 0 with the call numbers 1 to 24.
        conds.extend((0..26).map(|n| Cond {
            arg: 0,
            op: CmpOp::Eq,
            datum_a: n,
            datum_b: 0,
        }));
    }
    conds
}

fn edges(cond: &Cond) -> Vec<u64> {
    let (a, b) = (cond.datum_a, cond.datum_b);
    let mut v = vec![
        a,
        a.wrapping_sub(1),
        a.wrapping_add(1),
        a ^ (1 << 32),
        a & 0xffff_ffff,
        a | 0xffff_ffff_0000_0000,
        b,
        b & a,
        (b & a) ^ (1 << 32),
        (b & a) | !a,
        b.wrapping_add(1),
        0,
        u64::MAX,
    ];
    v.sort_unstable();
    v.dedup();
    v
}
