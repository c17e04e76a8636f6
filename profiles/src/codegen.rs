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
use crate::asm::{Asm, AsmError, To};
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
    let mut asm = Asm::new();
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
    for (layout, section) in layouts.iter().zip(sections) {
        asm.mark(section);
        asm.insn(bpf::load(data::NR));
        search(&mut asm, &layout.intervals, plan.default_action.ret());
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
    // The decision is constant between consecutive points of this set.
    let mut points = vec![0, X32_SYSCALL_BIT, 0x8000_0000, 0xc000_0000, u32::MAX];
    for (nr, _) in &trees {
        points.extend([*nr, nr.saturating_add(1)]);
    }
    for abi in group {
        if let Some(max) = plan.stub_max.get(abi) {
            points.push(max.saturating_add(1));
        }
    }
    // Sorted runs with a few points between them: a merge sort takes them in one pass.
    points.sort();
    points.dedup();
    let mut out: Vec<(u32, Target<'a>)> = Vec::new();
    for start in points {
        let target = decision(plan, group, &trees, start);
        let same = out.last().is_some_and(|(_, last)| match (last, &target) {
            (Target::Ret(a), Target::Ret(b)) => a == b,
            _ => false,
        });
        if !same {
            out.push((start, target));
        }
    }
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

/// The decision for syscall `nr` of an audit arch whose ABIs in the filter are `group`:
/// runc's stub first, then libseccomp's filter.
fn decision<'a>(plan: &Plan, group: &[Abi], trees: &[(u32, &'a Node)], nr: u32) -> Target<'a> {
    let enosys = Target::Ret(Action::Errno(libc::ENOSYS as u16).ret());
    if stub_rejects(plan, group, nr) {
        return enosys;
    }
    let has = |abi| group.contains(&abi);
    let x32_call = nr >= X32_SYSCALL_BIT;
    // libseccomp's `_gen_bpf_arch`: with one of x86_64 and x32 alone in the filter, calls
    // of the other are a bad architecture; -1 counts as x86_64.
    let bad_arch = (has(Abi::X86_64) && !has(Abi::X32) && x32_call && nr != u32::MAX)
        || (has(Abi::X32) && !has(Abi::X86_64) && !x32_call);
    if bad_arch {
        return Target::Ret(BAD_ARCH.ret());
    }
    let tree = trees
        .binary_search_by_key(&nr, |(n, _)| *n)
        .ok()
        .map(|at| trees[at].1);
    match tree {
        // A tree that is only a return is that return, so that runs of syscalls with
        // the same unconditional decision merge into one interval.
        Some(Node::Leaf(Decision::Act(action))) => Target::Ret(action.ret()),
        Some(Node::Leaf(Decision::Default)) | None => Target::Ret(plan.default_action.ret()),
        Some(tree) => Target::Tree(tree),
    }
}

/// runc's stub. On `AUDIT_ARCH_X86_64` bit 30 chooses between the x86_64 and the x32
/// threshold; a mode without a threshold skips the stub.
fn stub_rejects(plan: &Plan, group: &[Abi], nr: u32) -> bool {
    let max = |abi: Abi| {
        if group.contains(&abi) {
            plan.stub_max.get(&abi).copied()
        } else {
            None
        }
    };
    match group.first() {
        Some(Abi::X86_64 | Abi::X32) => {
            let abi = if nr & X32_SYSCALL_BIT != 0 {
                Abi::X32
            } else {
                Abi::X86_64
            };
            max(abi).is_some_and(|m| nr > m)
        }
        Some(abi) => max(*abi).is_some_and(|m| nr > m),
        None => false,
    }
}

/// A binary search over intervals, with the syscall number in A. `default` is the
/// default action's return value, for the trees.
fn search(asm: &mut Asm, intervals: &[(u32, Target)], default: u32) {
    match intervals {
        [] => asm.insn(bpf::ret(BAD_ARCH.ret())),
        [(_, target)] => leaf(asm, target, default),
        _ => {
            let mid = intervals.len() / 2;
            let upper = asm.label();
            asm.cond(JMP | JGE | K, intervals[mid].0, To::Label(upper), To::Next);
            search(asm, &intervals[..mid], default);
            asm.mark(upper);
            search(asm, &intervals[mid..], default);
        }
    }
}

fn leaf(asm: &mut Asm, target: &Target, default: u32) {
    match target {
        Target::Ret(value) => asm.insn(bpf::ret(*value)),
        Target::Tree(node) => tree(asm, node, default),
    }
}

/// The code for one syscall's argument tree, entered with the syscall number in A.
///
/// Subtrees can be shared (a level of libseccomp's tree falls through to whatever follows
/// the node above it), so the tree is a DAG: each node becomes one block, emitted once,
/// in an order where every block comes after all blocks that jump to it, as classic BPF
/// only jumps forward. A block loads its word unless its only predecessor is an unmasked
/// test of the same word, which leaves that word in A.
fn tree(asm: &mut Asm, root: &Node, default: u32) {
    let order = topological(root);
    let index: HashMap<*const Node, usize> = order
        .iter()
        .enumerate()
        .map(|(i, n)| (*n as *const Node, i))
        .collect();
    let mut preds = vec![Vec::new(); order.len()];
    for (i, node) in order.iter().enumerate() {
        if let Node::Test {
            then, otherwise, ..
        } = node
        {
            for child in [then, otherwise] {
                preds[index[&Arc::as_ptr(child)]].push(i);
            }
        }
    }
    let labels: Vec<_> = order.iter().map(|_| asm.label()).collect();
    for (i, node) in order.iter().enumerate() {
        asm.mark(labels[i]);
        match node {
            Node::Leaf(Decision::Act(action)) => asm.insn(bpf::ret(action.ret())),
            Node::Leaf(Decision::Default) => asm.insn(bpf::ret(default)),
            Node::Test {
                arg,
                half,
                op,
                then,
                otherwise,
            } => {
                let offset = word_offset(*arg, *half);
                let inherited = match preds[i].as_slice() {
                    [only] => unmasked_word(order[*only]),
                    _ => None,
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
    let mut seen: HashMap<*const Node, ()> = HashMap::default();
    let mut post: Vec<&Node> = Vec::new();
    let mut stack: Vec<(&Node, bool)> = vec![(root, false)];
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
    /// The syscall has rules; its argument tree decides.
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
    if stub_rejects(plan, &group, nr) {
        let mode = match abi {
            Abi::X86_64 | Abi::X32 if nr & X32_SYSCALL_BIT != 0 => Abi::X32,
            Abi::X86_64 | Abi::X32 => Abi::X86_64,
            other => other,
        };
        let max = plan.stub_max.get(&mode).copied().unwrap_or_default();
        return Origin::Stub { max };
    }
    let trees = group_trees(db, &group);
    match decision(plan, &group, &trees, nr) {
        Target::Tree(_) => Origin::Rules,
        Target::Ret(r) if r == BAD_ARCH.ret() && r != plan.default_action.ret() => Origin::BadArch,
        Target::Ret(_) => Origin::NoRule,
    }
}
