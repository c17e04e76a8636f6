//! Code generation: one BPF program for every ABI of a resolved profile.
//!
//! The program decides as runc's filter does: runc's `-ENOSYS` stub
//! (`libcontainer/seccomp/patchbpf/enosys_linux.go`) in front of libseccomp's filter.
//! Instead of chaining the two, the generator works from the decision each makes for
//! every syscall number: [`Layout`] splits the 32-bit number space of each audit arch
//! into intervals on which the combined decision is constant (a return value, the
//! bad-arch kill, or one syscall's argument tree), and the code is a binary search over
//! those intervals. The path a syscall executes grows with the logarithm of the number
//! of intervals, not with the number of syscalls.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::action::Action;
use crate::arch::{Abi, X32_SYSCALL_BIT};
use crate::asm::{Asm, AsmError, Label, To};
use crate::bpf::{self, data, sock_filter, JEQ, JGE, JGT, JMP, K};
use crate::db::{Database, Decision, Half, Node, WordOp};

/// The action for a syscall of an ABI the filter does not cover: libseccomp's default,
/// which runc never changes.
pub const BAD_ARCH: Action = Action::KillThread;

/// What code generation needs beside the rule database.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The action for calls no rule matches.
    pub default_action: Action,
    /// The ABIs of the filter, native first.
    pub abis: Vec<Abi>,
    /// runc's stub threshold per ABI: calls above it get `ENOSYS`. Empty when the
    /// default action lets calls run (runc adds no stub then).
    pub stub_max: BTreeMap<Abi, u32>,
}

/// Why code generation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodegenError {
    #[error("the filter needs {0} instructions, more than the kernel's limit of 4096")]
    TooLong(usize),
    #[error("assembling the filter: {0}")]
    Asm(#[from] AsmError),
}

/// The decision on one interval of syscall numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target<'a> {
    /// Return this value.
    Ret(u32),
    /// Evaluate this syscall's argument tree.
    Tree(&'a Node),
}

/// One audit arch's number space as intervals `[start, next start)`.
struct Layout<'a> {
    audit_arch: u32,
    intervals: Vec<(u32, Target<'a>)>,
}

/// Generates the program.
pub fn generate(db: &Database, plan: &Plan) -> Result<Vec<sock_filter>, CodegenError> {
    let layouts = layouts(db, plan);
    let costs: Vec<Costs> = layouts.iter().map(|l| Costs::of(&l.intervals)).collect();
    // Room for what the search and the trees are estimated to take, and the labels and
    // jumps around them, so that the item list does not regrow.
    let sized = layouts.iter().zip(&costs);
    let estimate: usize = sized
        .map(|(layout, costs)| 3 * layout.intervals.len() + costs.0.last().copied().unwrap_or(0))
        .sum();
    let mut asm = Asm::with_capacity(estimate + 16);
    asm.insn(bpf::load(data::ARCH));
    let sections: Vec<_> = layouts.iter().map(|_| asm.label()).collect();
    for (layout, section) in layouts.iter().zip(&sections) {
        let next = asm.label();
        asm.cond(
            JMP | JEQ | K,
            layout.audit_arch,
            To::Label(*section),
            To::Label(next),
        );
        asm.mark(next);
    }
    asm.insn(bpf::ret(BAD_ARCH.ret()));
    for ((layout, section), costs) in layouts.iter().zip(sections).zip(&costs) {
        asm.mark(section);
        asm.insn(bpf::load(data::NR));
        search(
            &mut asm,
            &layout.intervals,
            &costs.0,
            plan.default_action.ret(),
            None,
        );
    }
    let program = asm.finish()?;
    if program.len() > bpf::MAX_INSNS {
        return Err(CodegenError::TooLong(program.len()));
    }
    Ok(program)
}

/// One layout per audit arch, in the order of `plan.abis` (x86_64 and x32 share one).
fn layouts<'a>(db: &'a Database, plan: &Plan) -> Vec<Layout<'a>> {
    let mut out: Vec<Layout<'a>> = Vec::new();
    for abi in &plan.abis {
        let audit_arch = abi.audit_arch();
        if out.iter().any(|l| l.audit_arch == audit_arch) {
            continue;
        }
        let group: Vec<Abi> = plan
            .abis
            .iter()
            .copied()
            .filter(|a| a.audit_arch() == audit_arch)
            .collect();
        out.push(Layout {
            audit_arch,
            intervals: intervals(db, plan, &group),
        });
    }
    out
}

/// The decision on every syscall number of one audit arch, as merged intervals.
fn intervals<'a>(db: &'a Database, plan: &Plan, group: &[Abi]) -> Vec<(u32, Target<'a>)> {
    let trees = group_trees(db, group);
    let rules = GroupRules::new(plan, group);
    // The decision is constant between consecutive points of this set: the edges of
    // each syscall with rules (in number order already), of the stub thresholds and of
    // the x32 and arch ranges.
    let mut edges = vec![0, X32_SYSCALL_BIT, 0x8000_0000, 0xc000_0000, u32::MAX];
    for abi in group {
        if let Some(max) = plan.stub_max.get(abi) {
            edges.push(max.saturating_add(1));
        }
    }
    edges.sort_unstable();
    let mut points = Vec::with_capacity(2 * trees.len() + edges.len());
    let mut edges = edges.into_iter().peekable();
    for (nr, _) in &trees {
        for point in [*nr, nr.saturating_add(1)] {
            while let Some(edge) = edges.next_if(|edge| *edge < point) {
                points.push(edge);
            }
            points.push(point);
        }
    }
    points.extend(edges);
    points.dedup();
    let mut out: Vec<(u32, Target<'a>)> = Vec::with_capacity(points.len());
    let mut next_tree = trees.iter().peekable();
    for start in points {
        while next_tree.next_if(|(nr, _)| *nr < start).is_some() {}
        let tree = next_tree
            .peek()
            .filter(|(nr, _)| *nr == start)
            .map(|(_, t)| *t);
        let target = rules.target(plan, start, tree);
        let same = out.last().is_some_and(|(_, last)| match (last, &target) {
            (Target::Ret(a), Target::Ret(b)) => a == b,
            _ => false,
        });
        if !same {
            out.push((start, target));
        }
    }
    out.shrink_to_fit();
    out
}

/// The syscalls with rules of the ABIs of one audit arch, in number order (x32's numbers
/// carry bit 30, so no two ABIs share one).
fn group_trees<'a>(db: &'a Database, group: &[Abi]) -> Vec<(u32, &'a Node)> {
    let mut trees: Vec<(u32, &Node)> = group.iter().flat_map(|abi| db.syscalls(*abi)).collect();
    // One sorted run per ABI.
    trees.sort_by_key(|(nr, _)| *nr);
    trees
}

/// What decides a call of one audit arch before libseccomp's rules do: runc's stub
/// thresholds and which of x86_64 and x32 the filter covers.
struct GroupRules {
    /// The ABI whose threshold applies to calls without bit 30, and the threshold.
    low: Option<u32>,
    /// The threshold for calls with bit 30: x32's on `AUDIT_ARCH_X86_64`, else the same
    /// as `low`.
    high: Option<u32>,
    has_x86_64: bool,
    has_x32: bool,
}

impl GroupRules {
    /// The rules of an audit arch whose ABIs in the filter are `group`.
    fn new(plan: &Plan, group: &[Abi]) -> GroupRules {
        let max = |abi: Abi| {
            if group.contains(&abi) {
                plan.stub_max.get(&abi).copied()
            } else {
                None
            }
        };
        // On `AUDIT_ARCH_X86_64` bit 30 chooses between the x86_64 and the x32 threshold;
        // a mode without a threshold skips the stub.
        let (low, high) = match group.first() {
            Some(Abi::X86_64 | Abi::X32) => (max(Abi::X86_64), max(Abi::X32)),
            Some(abi) => (max(*abi), max(*abi)),
            None => (None, None),
        };
        GroupRules {
            low,
            high,
            has_x86_64: group.contains(&Abi::X86_64),
            has_x32: group.contains(&Abi::X32),
        }
    }

    /// runc's stub: whether call `nr` is above its ABI's threshold.
    fn stub_rejects(&self, nr: u32) -> bool {
        let max = if nr & X32_SYSCALL_BIT != 0 {
            self.high
        } else {
            self.low
        };
        max.is_some_and(|m| nr > m)
    }

    /// libseccomp's `_gen_bpf_arch`: with one of x86_64 and x32 alone in the filter,
    /// calls of the other are a bad architecture; -1 counts as x86_64.
    fn bad_arch(&self, nr: u32) -> bool {
        let x32_call = nr >= X32_SYSCALL_BIT;
        (self.has_x86_64 && !self.has_x32 && x32_call && nr != u32::MAX)
            || (self.has_x32 && !self.has_x86_64 && !x32_call)
    }

    /// The decision for syscall `nr`, whose argument tree (if it has rules) is `tree`:
    /// runc's stub first, then libseccomp's filter.
    fn target<'a>(&self, plan: &Plan, nr: u32, tree: Option<&'a Node>) -> Target<'a> {
        if self.stub_rejects(nr) {
            return Target::Ret(Action::Errno(libc::ENOSYS as u16).ret());
        }
        if self.bad_arch(nr) {
            return Target::Ret(BAD_ARCH.ret());
        }
        match tree {
            // A tree that is only a return is that return, so that runs of syscalls with
            // the same unconditional decision merge into one interval.
            Some(Node::Leaf(Decision::Act(action))) => Target::Ret(action.ret()),
            Some(Node::Leaf(Decision::Default)) | None => Target::Ret(plan.default_action.ret()),
            Some(tree) => Target::Tree(tree),
        }
    }
}

/// How far ahead a part of the search may end and still have its jumps reach the
/// returns placed after it: the reach of a conditional jump, less room for the
/// returns themselves. A wrong estimate costs a trampoline, never a wrong jump.
const POOL_REACH: usize = 255 - 16;

/// The return instructions of one part of the search, placed once after it: most
/// leaves of the search (and of argument trees) return one of a few values, and a
/// jump to a shared `ret` executes exactly as a jump to a private one does. The
/// kernel's cost of attaching a filter (converting and JIT-compiling it) grows with
/// its length, so shared returns make every install cheaper.
#[derive(Default)]
struct Returns {
    labels: Vec<(u32, Label)>,
}

impl Returns {
    /// The label of the shared `ret value`.
    fn of(&mut self, asm: &mut Asm, value: u32) -> Label {
        if let Some((_, label)) = self.labels.iter().find(|(v, _)| *v == value) {
            return *label;
        }
        let label = asm.label();
        self.labels.push((value, label));
        label
    }

    /// Places the shared returns here.
    fn place(self, asm: &mut Asm) {
        for (value, label) in self.labels {
            asm.mark(label);
            asm.insn(bpf::ret(value));
        }
    }
}

/// An estimate of the instructions each interval's leaf takes beyond the search's
/// jumps, as prefix sums: nothing for a return (it is shared), and for an argument
/// tree a load, an AND and a jump for each of its nodes.
struct Costs(Vec<usize>);

impl Costs {
    fn of(intervals: &[(u32, Target)]) -> Costs {
        let mut sums = Vec::with_capacity(intervals.len() + 1);
        let mut total = 0;
        sums.push(0);
        for (_, target) in intervals {
            if let Target::Tree(node) = target {
                total += 3 * topological(node).len();
            }
            sums.push(total);
        }
        Costs(sums)
    }
}

/// A binary search over intervals, with the syscall number in A. `sums` are the
/// [`Costs`] of exactly these intervals (one more entry than intervals); `default` is
/// the default action's return value, for the trees; `pool` holds the shared returns
/// of the enclosing part, if one is open.
fn search(
    asm: &mut Asm,
    intervals: &[(u32, Target)],
    sums: &[usize],
    default: u32,
    pool: Option<&mut Returns>,
) {
    match intervals {
        [] => asm.insn(bpf::ret(BAD_ARCH.ret())),
        [(_, target)] => leaf(asm, target, default, pool),
        _ => {
            let cost = sums[intervals.len()] - sums[0] + intervals.len() - 1;
            let mut own = None;
            let pool = match pool {
                Some(pool) => Some(pool),
                None if cost <= POOL_REACH => Some(own.insert(Returns::default())),
                None => None,
            };
            split(asm, intervals, sums, default, pool);
            if let Some(own) = own {
                own.place(asm);
            }
        }
    }
}

/// The jump at the middle of `intervals` (two or more) and the two halves after it.
fn split(
    asm: &mut Asm,
    intervals: &[(u32, Target)],
    sums: &[usize],
    default: u32,
    mut pool: Option<&mut Returns>,
) {
    let mid = intervals.len() / 2;
    let (lower, upper) = intervals.split_at(mid);
    let (lower_sums, upper_sums) = (&sums[..=mid], &sums[mid..]);
    // A half that is one return, with a pool open, is a jump to the shared return.
    let mut shared = |asm: &mut Asm, half: &[(u32, Target)]| match (half, pool.as_deref_mut()) {
        ([(_, Target::Ret(value))], Some(pool)) => Some(pool.of(asm, *value)),
        _ => None,
    };
    let lower_ret = shared(asm, lower);
    let upper_ret = shared(asm, upper);
    let upper_label = match (upper_ret, lower_ret) {
        (None, None) => Some(asm.label()),
        _ => None,
    };
    let jt = match (upper_ret, upper_label) {
        (Some(label), _) | (None, Some(label)) => To::Label(label),
        // The lower half is a shared return, so the upper half follows the jump.
        (None, None) => To::Next,
    };
    let jf = lower_ret.map_or(To::Next, To::Label);
    asm.cond(JMP | JGE | K, upper[0].0, jt, jf);
    if lower_ret.is_none() {
        search(asm, lower, lower_sums, default, pool.as_deref_mut());
    }
    if upper_ret.is_none() {
        if let Some(label) = upper_label {
            asm.mark(label);
        }
        search(asm, upper, upper_sums, default, pool);
    }
}

fn leaf(asm: &mut Asm, target: &Target, default: u32, pool: Option<&mut Returns>) {
    match target {
        Target::Ret(value) => asm.insn(bpf::ret(*value)),
        Target::Tree(node) => tree(asm, node, default, pool),
    }
}

/// The code for one syscall's argument tree, entered with the syscall number in A.
///
/// Subtrees can be shared (a level of libseccomp's tree falls through to whatever follows
/// the node above it), so the tree is a DAG: each node becomes one block, emitted once,
/// in an order where every block comes after all blocks that jump to it, as classic BPF
/// only jumps forward. A block loads its word unless its only predecessor is an unmasked
/// test of the same word, which leaves that word in A.
fn tree(asm: &mut Asm, root: &Node, default: u32, mut pool: Option<&mut Returns>) {
    let order = topological(root);
    let index: HashMap<*const Node, usize> = order
        .iter()
        .enumerate()
        .map(|(i, n)| (*n as *const Node, i))
        .collect();
    // Per node, its predecessor if it has exactly one: all a block needs to know.
    let mut only_pred: Vec<Preds> = vec![Preds::None; order.len()];
    for (i, node) in order.iter().enumerate() {
        if let Node::Test {
            then, otherwise, ..
        } = node
        {
            for child in [then, otherwise] {
                let preds = &mut only_pred[index[&Arc::as_ptr(child)]];
                *preds = match preds {
                    Preds::None => Preds::One(i),
                    Preds::One(_) | Preds::Many => Preds::Many,
                };
            }
        }
    }
    let ret = |node: &Node| match node {
        Node::Leaf(Decision::Act(action)) => Some(action.ret()),
        Node::Leaf(Decision::Default) => Some(default),
        Node::Test { .. } => None,
    };
    // With a pool open, the tree's returns are the pool's; the root is never a leaf
    // here (a tree that only returns is an interval's return).
    let labels: Vec<_> = order
        .iter()
        .map(|node| match (ret(node), pool.as_deref_mut()) {
            (Some(value), Some(pool)) => pool.of(asm, value),
            _ => asm.label(),
        })
        .collect();
    for (i, node) in order.iter().enumerate() {
        if let (Some(value), None) = (ret(node), &pool) {
            asm.mark(labels[i]);
            asm.insn(bpf::ret(value));
            continue;
        }
        if ret(node).is_some() {
            continue;
        }
        asm.mark(labels[i]);
        match node {
            Node::Leaf(_) => {}
            Node::Test {
                arg,
                half,
                op,
                then,
                otherwise,
            } => {
                let offset = word_offset(*arg, *half);
                let inherited = match only_pred[i] {
                    Preds::One(only) => unmasked_word(order[only]),
                    Preds::None | Preds::Many => None,
                };
                if inherited != Some(offset) {
                    asm.insn(bpf::load(offset));
                }
                let (code, k) = test_code(asm, *op);
                let to = |child: &Arc<Node>| To::Label(labels[index[&Arc::as_ptr(child)]]);
                asm.cond(code, k, to(then), to(otherwise));
            }
        }
    }
}

/// How many blocks jump to a block of an argument tree.
#[derive(Clone, Copy)]
enum Preds {
    None,
    One(usize),
    Many,
}

fn word_offset(arg: u8, half: Half) -> u32 {
    match half {
        Half::Lo => data::arg_lo(arg),
        Half::Hi => data::arg_hi(arg),
    }
}

/// The word an unmasked test leaves in A, if `node` is one.
fn unmasked_word(node: &Node) -> Option<u32> {
    match node {
        Node::Test {
            arg,
            half,
            op: WordOp::Eq(_) | WordOp::Gt(_) | WordOp::Ge(_),
            ..
        } => Some(word_offset(*arg, *half)),
        _ => None,
    }
}

/// Emits the AND of a masked test, and returns the jump's code and operand.
fn test_code(asm: &mut Asm, op: WordOp) -> (u16, u32) {
    let mut masked = |mask: u32| asm.insn(bpf::stmt(bpf::ALU | bpf::AND | K, mask));
    match op {
        WordOp::Eq(v) => (JMP | JEQ | K, v),
        WordOp::Gt(v) => (JMP | JGT | K, v),
        WordOp::Ge(v) => (JMP | JGE | K, v),
        WordOp::MaskedEq { mask, value } => {
            masked(mask);
            (JMP | JEQ | K, value)
        }
        WordOp::MaskedGt { mask, value } => {
            masked(mask);
            (JMP | JGT | K, value)
        }
        WordOp::MaskedGe { mask, value } => {
            masked(mask);
            (JMP | JGE | K, value)
        }
    }
}

/// The nodes of a DAG, each once, every node after all of its parents: the reverse of a
/// depth-first post-order. Iterative, so a deep tree cannot overflow the stack.
fn topological(root: &Node) -> Vec<&Node> {
    // Sized for the trees of common profiles, a few dozen nodes, so that they rarely grow.
    let mut seen: HashMap<*const Node, ()> =
        HashMap::with_capacity_and_hasher(32, Default::default());
    let mut post: Vec<&Node> = Vec::with_capacity(32);
    let mut stack: Vec<(&Node, bool)> = Vec::with_capacity(32);
    stack.push((root, false));
    while let Some((node, expanded)) = stack.pop() {
        if expanded {
            post.push(node);
            continue;
        }
        if seen.insert(node as *const Node, ()).is_some() {
            continue;
        }
        stack.push((node, true));
        if let Node::Test {
            then, otherwise, ..
        } = node
        {
            // `otherwise` is explored first, so `then` ends up right after its parent.
            stack.push((then, false));
            stack.push((otherwise, false));
        }
    }
    post.reverse();
    post
}

/// Why a syscall gets the decision it gets, before its arguments are looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// runc's stub: the number is above the ABI's threshold.
    Stub {
        /// The threshold.
        max: u32,
    },
    /// The filter does not cover the ABI (or the x86_64/x32 mode) of the call.
    BadArch,
    /// No rule names the syscall: the default action.
    NoRule,
    /// The syscall has rules; its argument tree decides (a bare return when no rule for
    /// it has conditions).
    Rules,
}

/// The origin of the decision for syscall `nr` (x32 numbers with bit 30) of `abi`.
pub fn origin(db: &Database, plan: &Plan, abi: Abi, nr: u32) -> Origin {
    let group: Vec<Abi> = plan
        .abis
        .iter()
        .copied()
        .filter(|a| a.audit_arch() == abi.audit_arch())
        .collect();
    if group.is_empty() {
        return Origin::BadArch;
    }
    let rules = GroupRules::new(plan, &group);
    if rules.stub_rejects(nr) {
        let mode = match abi {
            Abi::X86_64 | Abi::X32 if nr & X32_SYSCALL_BIT != 0 => Abi::X32,
            Abi::X86_64 | Abi::X32 => Abi::X86_64,
            other => other,
        };
        let max = plan.stub_max.get(&mode).copied().unwrap_or_default();
        return Origin::Stub { max };
    }
    if rules.bad_arch(nr) {
        return Origin::BadArch;
    }
    // Whether the syscall has rules, not what the code does: a syscall whose tree is a
    // bare return shares an interval with its neighbours, and its rules decide all the
    // same.
    let trees = group_trees(db, &group);
    match trees.binary_search_by_key(&nr, |(n, _)| *n) {
        Ok(_) => Origin::Rules,
        Err(_) => Origin::NoRule,
    }
}
