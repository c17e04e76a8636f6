//! Differential tests of the rule database against libseccomp itself.
//!
//! Each generated rule set goes to libseccomp (`seccomp_rule_add` one rule at a time, as
//! runc adds them) and to [`Database::add_rule`]. Both must accept and refuse the same
//! rules with the same errno. Then libseccomp's exported program runs in the BPF
//! interpreter for every syscall of the set and argument vectors at the edges of every
//! constant, and must decide as [`Database::decide`] does, testing the same argument
//! words in the same order as the [`Node`] tree says.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use profiles::action::Action;
use profiles::arch::{Abi, X32_SYSCALL_BIT};
use profiles::bpf::{self, data, sock_filter};
use profiles::db::{CmpOp, Cond, Database, Decision, Half, Node, WordOp};
use profiles::interp::{self, SeccompData};

/// splitmix64: a small deterministic generator, enough to vary rule sets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn scmp_arch(abi: Abi) -> ScmpArch {
    match abi {
        Abi::X86_64 => ScmpArch::X8664,
        Abi::X86 => ScmpArch::X86,
        Abi::X32 => ScmpArch::X32,
        Abi::Aarch64 => ScmpArch::Aarch64,
        Abi::Arm => ScmpArch::Arm,
    }
}

fn scmp_action(action: Action) -> ScmpAction {
    match action {
        Action::KillThread => ScmpAction::KillThread,
        Action::KillProcess => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Errno(e) => ScmpAction::Errno(i32::from(e)),
        Action::Trace(d) => ScmpAction::Trace(d),
        Action::Allow => ScmpAction::Allow,
        Action::Log => ScmpAction::Log,
        Action::Notify => ScmpAction::Notify,
    }
}

fn scmp_cond(cond: &Cond) -> ScmpArgCompare {
    let arg = u32::from(cond.arg);
    match cond.op {
        CmpOp::MaskedEq => {
            ScmpArgCompare::new(arg, ScmpCompareOp::MaskedEqual(cond.datum_a), cond.datum_b)
        }
        op => {
            let op = match op {
                CmpOp::Ne => ScmpCompareOp::NotEqual,
                CmpOp::Lt => ScmpCompareOp::Less,
                CmpOp::Le => ScmpCompareOp::LessOrEqual,
                CmpOp::Eq => ScmpCompareOp::Equal,
                CmpOp::Ge => ScmpCompareOp::GreaterEqual,
                _ => ScmpCompareOp::Greater,
            };
            ScmpArgCompare::new(arg, op, cond.datum_a)
        }
    }
}

/// i386 numbers by name, read back from libseccomp's own table: resolving a name on
/// i386 gives pseudo numbers for the socket and IPC calls, and the database wants the
/// direct numbers.
fn i386_numbers() -> &'static HashMap<String, u32> {
    static TABLE: OnceLock<HashMap<String, u32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..1024u32)
            .filter_map(|nr| {
                let sys = ScmpSyscall::from(nr as i32);
                sys.get_name_by_arch(ScmpArch::X86)
                    .ok()
                    .map(|name| (name, nr))
            })
            .collect()
    })
}

/// The resolver backed by libseccomp: pseudo numbers mean the ABI lacks the name.
fn libseccomp_number(abi: Abi, name: &str) -> Option<u32> {
    if abi == Abi::X86 {
        return i386_numbers().get(name).copied();
    }
    let nr = i32::from(ScmpSyscall::from_name_by_arch(name, scmp_arch(abi)).ok()?);
    u32::try_from(nr).ok()
}

/// One `seccomp_rule_add` call.
#[derive(Clone, Debug)]
struct Rule {
    name: &'static str,
    action: Action,
    conds: Vec<Cond>,
}

/// A filter configuration: default action, ABIs in libseccomp's filter order, the names
/// rules may use.
#[derive(Clone, Debug)]
struct Set {
    default: Action,
    abis: Vec<Abi>,
    /// libseccomp's binary-tree layout, as runc asks for with more than 32 rules.
    binary_tree: bool,
    rules: Vec<Rule>,
}

const X86_NAMES: &[&str] = &[
    "personality",
    "read",
    "socket",
    "bind",
    "accept",
    "recv",
    "semop",
    "shmget",
    "socketcall",
    "ipc",
    "chown32",
    "mmap2",
    "arch_prctl",
    "getsockopt",
    // Lacking on i386, which drops its pseudo number, and not a multiplexed call.
    "newfstatat",
];

const ARM_NAMES: &[&str] = &[
    "personality",
    "read",
    "socket",
    "recv",
    "chown32",
    "mmap2",
    "cacheflush",
    "semop",
];

const ACTIONS: &[Action] = &[
    Action::Allow,
    Action::Log,
    Action::KillThread,
    Action::KillProcess,
    Action::Trap,
    Action::Errno(0),
    Action::Errno(1),
    Action::Errno(5),
    Action::Errno(38),
    Action::Trace(1),
    Action::Trace(7),
    Action::Notify,
];

const DEFAULTS: &[Action] = &[
    Action::KillThread,
    Action::Errno(1),
    Action::Allow,
    Action::Trap,
    Action::Log,
    Action::KillProcess,
    Action::Errno(38),
];

const DATUMS: &[u64] = &[
    0,
    1,
    5,
    10,
    20,
    100,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0005,
    0x2_0000_0005,
    0x1_0000_000a,
    0x2_0000_0014,
    0xffff_ffff_0000_0000,
    0xffff_ffff_ffff_fffe,
    u64::MAX,
];

const MASKS: &[u64] = &[
    0,
    1,
    0xff,
    0xf0,
    0xffff_ffff,
    0xffff_ffff_0000_0000,
    0x0000_00f0_0000_0000,
    0x0000_0001_0000_0001,
    0x8000_0000_0000_00ff,
    u64::MAX,
];

const OPS: &[CmpOp] = &[
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Eq,
    CmpOp::Ge,
    CmpOp::Gt,
    CmpOp::MaskedEq,
];

fn random_cond(rng: &mut Rng, arg: u8) -> Cond {
    let op = rng.pick(OPS);
    match op {
        CmpOp::MaskedEq => Cond {
            arg,
            op,
            datum_a: rng.pick(MASKS),
            datum_b: rng.pick(DATUMS),
        },
        _ => Cond {
            arg,
            op,
            datum_a: rng.pick(DATUMS),
            datum_b: 0,
        },
    }
}

fn random_conds(rng: &mut Rng) -> Vec<Cond> {
    let count = rng.pick(&[0usize, 1, 1, 1, 2, 2, 3]);
    let mut args: Vec<u8> = Vec::new();
    while args.len() < count {
        let arg = rng.pick(&[0u8, 0, 1, 1, 2, 3]);
        // Rarely a repeated or out-of-range index: both sides must refuse it.
        if !args.contains(&arg) || rng.chance(3) {
            args.push(arg);
        }
    }
    if rng.chance(2) {
        args.push(6);
    }
    args.into_iter().map(|arg| random_cond(rng, arg)).collect()
}

/// A variation of an earlier rule: same conditions (identical comparisons), or one
/// condition dropped, added or changed.
fn variant(rng: &mut Rng, earlier: &Rule) -> Vec<Cond> {
    let mut conds = earlier.conds.clone();
    match rng.below(4) {
        0 => {}
        1 if !conds.is_empty() => {
            let i = rng.below(conds.len());
            conds.remove(i);
        }
        2 => {
            let used: Vec<u8> = conds.iter().map(|c| c.arg).collect();
            if let Some(arg) = (0u8..4).find(|a| !used.contains(a)) {
                conds.push(random_cond(rng, arg));
            }
        }
        _ if !conds.is_empty() => {
            let i = rng.below(conds.len());
            let c = &mut conds[i];
            if rng.chance(50) {
                c.datum_a = rng.pick(DATUMS);
            } else {
                c.op = rng.pick(OPS);
            }
        }
        _ => {}
    }
    conds
}

fn random_action(rng: &mut Rng, default: Action) -> Action {
    if rng.chance(2) {
        return default;
    }
    if rng.chance(1) {
        return Action::Errno(rng.pick(&[4095, 5000]));
    }
    loop {
        let action = rng.pick(ACTIONS);
        if action != default {
            return action;
        }
    }
}

fn random_set(rng: &mut Rng, abis: &[Abi]) -> Set {
    let default = rng.pick(DEFAULTS);
    let pool = if abis.contains(&Abi::Aarch64) {
        ARM_NAMES
    } else {
        X86_NAMES
    };
    let names: Vec<&'static str> = (0..1 + rng.below(3)).map(|_| rng.pick(pool)).collect();
    // Now and then a long set: long levels, deep merges, more than runc's 32 rules.
    let count = if rng.chance(15) {
        15 + rng.below(30)
    } else {
        2 + rng.below(10)
    };
    let mut rules: Vec<Rule> = Vec::new();
    for _ in 0..count {
        let action = random_action(rng, default);
        let rule = if !rules.is_empty() && rng.chance(35) {
            let earlier = rules[rng.below(rules.len())].clone();
            Rule {
                name: earlier.name,
                action,
                conds: variant(rng, &earlier),
            }
        } else {
            let conds = if rng.chance(15) {
                Vec::new()
            } else {
                random_conds(rng)
            };
            Rule {
                name: rng.pick(&names),
                action,
                conds,
            }
        };
        rules.push(rule);
    }
    Set {
        default,
        abis: abis.to_vec(),
        binary_tree: rng.chance(30),
        rules,
    }
}

/// libseccomp's filter for the set's ABIs: created with the native ABI (x86_64 here),
/// which is removed when the set does not list it.
fn reference_filter(set: &Set) -> ScmpFilterContext {
    let mut ctx = ScmpFilterContext::new(scmp_action(set.default)).expect("seccomp_init");
    for abi in &set.abis {
        if *abi != Abi::X86_64 {
            ctx.add_arch(scmp_arch(*abi)).expect("seccomp_arch_add");
        }
    }
    if !set.abis.contains(&Abi::X86_64) {
        ctx.remove_arch(ScmpArch::X8664)
            .expect("seccomp_arch_remove");
    }
    if set.binary_tree {
        ctx.set_ctl_optimize(2).expect("SCMP_FLTATR_CTL_OPTIMIZE");
    }
    ctx
}

fn export(ctx: &ScmpFilterContext) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("db-libseccomp-{}.bpf", std::process::id()));
    let file = fs::File::create(&path).expect("create export file");
    ctx.export_bpf(&file).expect("seccomp_export_bpf");
    drop(file);
    let bytes = fs::read(&path).expect("read export file");
    let _ = fs::remove_file(&path);
    bytes
}

fn parse_program(bytes: &[u8]) -> Vec<sock_filter> {
    profiles::bpf::from_bytes(bytes)
}

const SET_VAR: &str = "DB_LIBSECCOMP_SET";

/// A set as text, for the child process.
fn encode(set: &Set) -> String {
    let abis: Vec<&str> = set.abis.iter().map(|a| a.short_name()).collect();
    let mut out = format!(
        "{}\n{}\n{}\n",
        set.default.ret(),
        abis.join(","),
        u8::from(set.binary_tree)
    );
    for rule in &set.rules {
        out.push_str(&format!("{} {}", rule.name, rule.action.ret()));
        for c in &rule.conds {
            let op = OPS.iter().position(|o| *o == c.op).unwrap_or(0);
            out.push_str(&format!(" {} {op} {} {}", c.arg, c.datum_a, c.datum_b));
        }
        out.push('\n');
    }
    out
}

fn decode(text: &str) -> Set {
    let mut lines = text.lines();
    let mut next = || lines.next().expect("set line");
    let default = Action::from_ret(next().parse().expect("default"));
    let abis = next()
        .split(',')
        .map(|a| Abi::from_short_name(a).expect("abi"))
        .collect();
    let binary_tree = next() == "1";
    let names: Vec<&'static str> = X86_NAMES.iter().chain(ARM_NAMES).copied().collect();
    let rules = lines
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let name = *names.iter().find(|n| **n == words[0]).expect("name");
            let action = Action::from_ret(words[1].parse().expect("action"));
            let conds = words[2..]
                .chunks(4)
                .map(|c| Cond {
                    arg: c[0].parse().expect("arg"),
                    op: OPS[c[1].parse::<usize>().expect("op")],
                    datum_a: c[2].parse().expect("datum_a"),
                    datum_b: c[3].parse().expect("datum_b"),
                })
                .collect();
            Rule {
                name,
                action,
                conds,
            }
        })
        .collect();
    Set {
        default,
        abis,
        binary_tree,
        rules,
    }
}

/// Runs libseccomp on the set in [`SET_VAR`], when the test binary runs as the child of
/// [`reference`]: one line per rule (`ok` or the errno), then the program in hex.
#[test]
fn libseccomp_child() {
    let Ok(text) = std::env::var(SET_VAR) else {
        return;
    };
    let set = decode(&text);
    let mut ctx = reference_filter(&set);
    for rule in &set.rules {
        let nr = ScmpSyscall::from_name(rule.name).expect("known name");
        let cmps: Vec<ScmpArgCompare> = rule.conds.iter().map(scmp_cond).collect();
        match ctx.add_rule_conditional(scmp_action(rule.action), nr, &cmps) {
            Ok(_) => println!("@@ ok"),
            Err(e) => println!("@@ err {}", e.sysrawrc().map_or(0, |rc| -rc)),
        }
    }
    let hex: String = export(&ctx).iter().map(|b| format!("{b:02x}")).collect();
    println!("@@ bpf {hex}");
}

/// What libseccomp did with a set.
struct Reference {
    /// Per rule that returned, its errno (`None`: added).
    outcomes: Vec<Option<i32>>,
    /// The exported program, if libseccomp got that far.
    program: Option<Vec<sock_filter>>,
}

/// Runs libseccomp on `set` in a child process, which is killed if a rule does not
/// return: libseccomp 2.5.4 loops forever on some merges.
fn reference(set: &Set) -> Reference {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "libseccomp_child",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env(SET_VAR, encode(set))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn libseccomp child");
    let mut stdout = child.stdout.take().expect("child stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().expect("wait for child").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let text = reader.join().expect("child output");
    let mut out = Reference {
        outcomes: Vec::new(),
        program: None,
    };
    for line in text.lines().filter_map(|l| l.strip_prefix("@@ ")) {
        if line == "ok" {
            out.outcomes.push(None);
        } else if let Some(errno) = line.strip_prefix("err ") {
            out.outcomes.push(Some(errno.parse().expect("errno")));
        } else if let Some(hex) = line.strip_prefix("bpf ") {
            let bytes: Vec<u8> = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
                .collect();
            out.program = Some(parse_program(&bytes));
        }
    }
    out
}

/// A test of an argument word: (offset in `seccomp_data`, mask applied, jump code, k).
type WordTest = (u32, u32, u16, u32);

/// Runs `program` and records every conditional jump on an argument word, with the mask
/// the accumulator went through since it was loaded.
fn trace(program: &[sock_filter], input: &SeccompData) -> (u32, Vec<WordTest>) {
    let word = |offset: u32| -> u32 {
        match offset {
            data::NR => input.nr,
            data::ARCH => input.arch,
            16..=63 => {
                let value = input.args[((offset - 16) / 8) as usize];
                if (offset - 16) % 8 == 0 {
                    value as u32
                } else {
                    (value >> 32) as u32
                }
            }
            _ => 0,
        }
    };
    let (mut a, mut loaded, mut mask) = (0u32, 0u32, u32::MAX);
    let mut tests = Vec::new();
    let mut pc = 0usize;
    while let Some(insn) = program.get(pc) {
        pc += 1;
        match insn.code {
            c if c == bpf::LD | bpf::W | bpf::ABS => {
                a = word(insn.k);
                loaded = insn.k;
                mask = u32::MAX;
            }
            c if c == bpf::ALU | bpf::AND | bpf::K => {
                a &= insn.k;
                mask &= insn.k;
            }
            c if c == bpf::JMP | bpf::JA => pc += insn.k as usize,
            c if c == bpf::RET | bpf::K => return (insn.k, tests),
            c => {
                let taken = match c & 0xf0 {
                    bpf::JEQ => a == insn.k,
                    bpf::JGT => a > insn.k,
                    bpf::JGE => a >= insn.k,
                    _ => a & insn.k != 0,
                };
                if loaded >= 16 {
                    tests.push((loaded, mask, c, insn.k));
                }
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
        }
    }
    (u32::MAX, tests)
}

/// The word tests the tree makes for `args`, in the form [`trace`] records.
fn node_tests(node: &Node, args: &[u64; 6]) -> Vec<WordTest> {
    let mut tests = Vec::new();
    let mut node = node;
    while let Node::Test {
        arg,
        half,
        op,
        then,
        otherwise,
    } = node
    {
        let offset = match half {
            Half::Lo => data::arg_lo(*arg),
            Half::Hi => data::arg_hi(*arg),
        };
        tests.push(match *op {
            WordOp::Eq(v) => (offset, u32::MAX, bpf::JMP | bpf::JEQ, v),
            WordOp::Gt(v) => (offset, u32::MAX, bpf::JMP | bpf::JGT, v),
            WordOp::Ge(v) => (offset, u32::MAX, bpf::JMP | bpf::JGE, v),
            WordOp::MaskedEq { mask, value } => (offset, mask, bpf::JMP | bpf::JEQ, value),
            WordOp::MaskedGt { mask, value } => (offset, mask, bpf::JMP | bpf::JGT, value),
            WordOp::MaskedGe { mask, value } => (offset, mask, bpf::JMP | bpf::JGE, value),
        });
        let value = args[usize::from(*arg)];
        node = if op.holds(half.of(value)) {
            then
        } else {
            otherwise
        };
    }
    tests
}

/// Argument values at the edges of every constant of the set.
fn candidates(set: &Set) -> Vec<u64> {
    let mut values: BTreeSet<u64> = [0, 1, u64::MAX, 0xffff_ffff, 0x1_0000_0000, 0x8000_0000]
        .into_iter()
        .collect();
    for rule in &set.rules {
        for cond in &rule.conds {
            let (a, b) = (cond.datum_a, cond.datum_b);
            for v in [a, b, a & b, (a & b) | !a, !a, a ^ (b & !a)] {
                values.extend([v, v.wrapping_add(1), v.wrapping_sub(1), v & 0xffff_ffff]);
                values.extend([v ^ (1 << 32), v | 0xffff_ffff_0000_0000, v >> 32]);
            }
        }
    }
    values.into_iter().collect()
}

fn vectors(rng: &mut Rng, values: &[u64]) -> Vec<[u64; 6]> {
    let mut out = Vec::new();
    let random = |rng: &mut Rng| -> [u64; 6] { std::array::from_fn(|_| rng.pick(values)) };
    for arg in 0..4 {
        for &v in values {
            let mut args = random(rng);
            args[arg] = v;
            out.push(args);
        }
    }
    for _ in 0..200 {
        out.push(random(rng));
    }
    out
}

/// The syscall numbers worth running on `abi`: those with rules and those the set's
/// names resolve to (which may have none), plus i386's multiplexers.
fn numbers(db: &Database, set: &Set, abi: Abi) -> BTreeSet<u32> {
    let mut out: BTreeSet<u32> = db.syscalls(abi).map(|(nr, _)| nr).collect();
    out.extend(
        set.rules
            .iter()
            .filter_map(|r| libseccomp_number(abi, r.name)),
    );
    if abi == Abi::X86 {
        out.extend([102, 117]);
    }
    out
}

#[derive(Default)]
struct Tally {
    sets: usize,
    rules: usize,
    refused: usize,
    hangs: usize,
    decisions: usize,
    mismatches: Vec<String>,
}

fn run_set(set: &Set, rng: &mut Rng, tag: usize, tally: &mut Tally) {
    if std::env::var_os("DB_DIFF_DUMP").is_some() {
        eprintln!("set {tag}: {set:?}");
    }
    let reference = reference(set);
    let mut db = Database::new(set.default, &set.abis, libseccomp_number);
    db.set_binary_tree(set.binary_tree);
    for (index, rule) in set.rules.iter().enumerate() {
        let ours = db.add_rule(rule.name, rule.action, &rule.conds);
        let ours = ours.as_ref().err().map(|e| e.errno());
        tally.rules += 1;
        let Some(&theirs) = reference.outcomes.get(index) else {
            // libseccomp never returned from this rule.
            tally.hangs += 1;
            if ours != Some(libc::ELOOP) {
                tally.mismatches.push(format!(
                    "rule {rule:?}: libseccomp never returns, database errno {ours:?}\n{set:#?}"
                ));
            }
            return;
        };
        if theirs.is_some() {
            tally.refused += 1;
        }
        if theirs != ours {
            tally.mismatches.push(format!(
                "rule {rule:?}: libseccomp errno {theirs:?}, database errno {ours:?}\n{set:#?}"
            ));
            return;
        }
    }
    let Some(program) = reference.program else {
        tally
            .mismatches
            .push(format!("libseccomp exported no program\n{set:#?}"));
        return;
    };
    db.check_program()
        .expect("the database lays out the program");
    interp::validate(&program).expect("libseccomp's program is valid");
    let values = candidates(set);
    for &abi in &set.abis {
        if db.loses_syscall_number(abi) {
            let lost = db
                .syscalls(abi)
                .all(|(_, n)| *n == Node::Leaf(Decision::Default));
            assert!(
                lost,
                "{abi}: lost syscall number but rules reachable\n{set:#?}"
            );
        }
        for nr in numbers(&db, set, abi) {
            for args in vectors(rng, &values) {
                let input = SeccompData::new(abi, nr, args);
                let (theirs, their_tests) = trace(&program, &input);
                assert_eq!(theirs, interp::run_unchecked(&program, &input).ret);
                let ours = db.decide(abi, nr, &input.args).unwrap_or(set.default).ret();
                let our_tests = db.tree(abi, nr).map(|n| node_tests(n, &input.args));
                tally.decisions += 1;
                let same_tests = match &our_tests {
                    Some(tests) => *tests == their_tests,
                    None => true,
                };
                if theirs != ours || !same_tests {
                    let nr = if abi == Abi::X32 {
                        nr | X32_SYSCALL_BIT
                    } else {
                        nr
                    };
                    tally.mismatches.push(format!(
                        "{abi} nr {nr} args {:x?}: libseccomp {theirs:#x}, database {ours:#x}\n\
                         libseccomp tests {their_tests:x?}\ndatabase tests {our_tests:x?}\n\
                         {set:#?}\ntree {:#?}\n{}",
                        input.args,
                        db.tree(abi, nr),
                        bpf::disasm(&program)
                    ));
                    return;
                }
            }
        }
    }
}

fn run_sets(abis: &[Abi], seed: u64, count: usize) -> Tally {
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    for tag in 0..count {
        let set = random_set(&mut rng, abis);
        run_set(&set, &mut rng, tag, &mut tally);
        tally.sets += 1;
    }
    tally
}

/// `DB_DIFF_SETS` sets per configuration (default 120); `DB_DIFF_SEED` varies the seeds
/// for longer campaigns.
fn set_count() -> usize {
    std::env::var("DB_DIFF_SETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
}

fn seed_offset() -> u64 {
    std::env::var("DB_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn check(name: &str, abis: &[Abi], seed: u64) {
    let tally = run_sets(
        abis,
        seed ^ seed_offset().wrapping_mul(0x1_0000_0001),
        set_count(),
    );
    println!(
        "{name}: {} rule sets, {} rules ({} refused by both, {} never returning in both), \
         {} decisions compared, {} mismatches",
        tally.sets,
        tally.rules,
        tally.refused,
        tally.hangs,
        tally.decisions,
        tally.mismatches.len()
    );
    if let Some(first) = tally.mismatches.first() {
        panic!("{} mismatches; first:\n{first}", tally.mismatches.len());
    }
}

fn fixed(default: Action, abis: &[Abi], rules: &[(&'static str, Action, &[Cond])]) -> Set {
    let rules = rules
        .iter()
        .map(|(name, action, conds)| Rule {
            name,
            action: *action,
            conds: conds.to_vec(),
        })
        .collect();
    Set {
        default,
        abis: abis.to_vec(),
        binary_tree: false,
        rules,
    }
}

/// The cases of the unit tests in `src/db/tests.rs` that show libseccomp quirks, checked
/// against libseccomp itself.
#[test]
fn documented_quirks_match_libseccomp() {
    let c = |arg, op, datum_a| Cond {
        arg,
        op,
        datum_a,
        datum_b: 0,
    };
    let masked = Cond {
        arg: 0,
        op: CmpOp::MaskedEq,
        datum_a: 0x1_0000_0001,
        datum_b: 0,
    };
    let sets = [
        // A stale accumulator (arm chown32).
        fixed(
            Action::Log,
            &[Abi::Arm],
            &[
                (
                    "chown32",
                    Action::Errno(0),
                    &[c(0, CmpOp::Ne, 5), c(2, CmpOp::Gt, 5)],
                ),
                (
                    "chown32",
                    Action::Allow,
                    &[c(0, CmpOp::Ne, 5), c(2, CmpOp::Lt, 5)],
                ),
                ("chown32", Action::Allow, &[c(0, CmpOp::Le, 10)]),
            ],
        ),
        // A pseudo syscall checked first: the syscall number is never loaded.
        fixed(
            Action::Errno(1),
            &[Abi::Aarch64],
            &[
                ("personality", Action::Errno(5), &[c(0, CmpOp::Eq, 1)]),
                ("mmap2", Action::KillThread, &[]),
            ],
        ),
        // A merge libseccomp never returns from.
        fixed(
            Action::Errno(1),
            &[Abi::X86_64],
            &[
                ("read", Action::Allow, &[c(2, CmpOp::Gt, u64::MAX)]),
                (
                    "read",
                    Action::Errno(0),
                    &[
                        masked,
                        c(3, CmpOp::Le, 0x1_0000_0000),
                        c(1, CmpOp::Lt, 10),
                        c(2, CmpOp::Lt, 20),
                    ],
                ),
                (
                    "read",
                    Action::Errno(38),
                    &[masked, c(3, CmpOp::Le, 0), c(1, CmpOp::Lt, 10)],
                ),
            ],
        ),
        // i386 multiplexing, socketcall named directly, refusal on one ABI only.
        fixed(
            Action::Errno(1),
            &[Abi::X86_64, Abi::X86, Abi::X32],
            &[
                (
                    "socket",
                    Action::Allow,
                    &[c(0, CmpOp::Eq, 2), c(1, CmpOp::Eq, 1)],
                ),
                ("accept", Action::Allow, &[]),
                ("socketcall", Action::Errno(5), &[]),
                (
                    "personality",
                    Action::Allow,
                    &[c(0, CmpOp::Eq, 0x1_0000_0001)],
                ),
                ("personality", Action::Errno(5), &[c(0, CmpOp::Eq, 1)]),
                ("chown32", Action::Allow, &[c(0, CmpOp::Eq, 1)]),
                ("chown32", Action::Errno(5), &[c(0, CmpOp::Eq, 1)]),
            ],
        ),
    ];
    let mut tally = Tally::default();
    let mut rng = Rng(7);
    for (tag, set) in sets.iter().enumerate() {
        run_set(set, &mut rng, tag, &mut tally);
    }
    println!(
        "documented quirks: {} rules ({} refused, {} never returning), {} decisions, {} mismatches",
        tally.rules,
        tally.refused,
        tally.hangs,
        tally.decisions,
        tally.mismatches.len()
    );
    assert!(tally.mismatches.is_empty(), "{}", tally.mismatches[0]);
    assert_eq!((tally.refused, tally.hangs), (2, 1));
}

#[test]
fn x86_64_alone_decides_as_libseccomp() {
    check("x86_64", &[Abi::X86_64], 0x5eed_0001);
}

#[test]
fn x86_64_i386_x32_decide_as_libseccomp() {
    check(
        "x86_64+i386+x32",
        &[Abi::X86_64, Abi::X86, Abi::X32],
        0x5eed_0002,
    );
}

#[test]
fn i386_alone_decides_as_libseccomp() {
    check("i386", &[Abi::X86], 0x5eed_0003);
}

#[test]
fn x32_with_x86_64_decides_as_libseccomp() {
    check("x86_64+x32", &[Abi::X86_64, Abi::X32], 0x5eed_0004);
}

#[test]
fn aarch64_arm_decide_as_libseccomp() {
    check("aarch64+arm", &[Abi::Aarch64, Abi::Arm], 0x5eed_0005);
}
