//! A rule's conditions as the chain of word comparisons libseccomp builds before merging
//! it into a syscall's tree (`src/db.c`: `_db_rule_gen_64`, `_db_rule_gen_32`).

use crate::action::Action;

use super::tree::{ChainNode, NodeId, Side, Tree, WordCmp};
use super::CmpOp;

/// One argument comparison after `db_col_rule_add` has normalised it: `mask` is all ones
/// except for `MASKED_EQ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ArgCmp {
    pub op: CmpOp,
    pub mask: u64,
    pub datum: u64,
}

/// A rule's comparisons indexed by argument, as libseccomp stores them: conditions are
/// chained in argument order, whatever order the rule gave them in.
pub(super) type RuleArgs = [Option<ArgCmp>; 6];

/// A rule's chain: its first node, holding the reference the rule keeps on it (`None`
/// when no comparison is left: the rule is unconditional), and how many nodes it has
/// (`db_sys_list.node_cnt`, which sets the syscall's priority in code generation).
pub(super) struct Chain {
    pub first: Option<NodeId>,
    pub nodes: u32,
}

/// Builds the chain of `args` deciding `action` in `tree`'s arena. `wide` selects 64-bit
/// comparisons.
pub(super) fn build(tree: &mut Tree, wide: bool, action: Action, args: &RuleArgs) -> Chain {
    let before = tree.len();
    let first = if wide {
        build_wide(tree, action, args)
    } else {
        build_narrow(tree, action, args)
    };
    // A chain has at most 18 nodes.
    let nodes = u32::try_from(tree.len() - before).unwrap_or(u32::MAX);
    Chain { first, nodes }
}

fn hi(value: u64) -> u32 {
    (value >> 32) as u32
}

fn lo(value: u64) -> u32 {
    value as u32
}

/// A node for one word, with its datum masked as `_db_node_mask_fixup` does (bits of the
/// datum outside the mask never count).
fn word_node(arg: u8, high: bool, op: WordCmp, cmp: &ArgCmp) -> ChainNode {
    let word = |v: u64| if high { hi(v) } else { lo(v) };
    let mut node = ChainNode::new(arg, high, op, cmp.op, word(cmp.mask));
    node.datum = word(cmp.datum) & word(cmp.mask);
    node.datum_full = cmp.datum;
    node
}

/// The nodes of one 64-bit comparison and the branches by which it accepts: the next
/// comparison, or the action, hangs on each of those.
struct WideLevel {
    first: NodeId,
    accepts: Vec<(NodeId, Side)>,
}

/// `_db_rule_gen_64`: each comparison becomes two or three word comparisons.
/// - `EQ`, `MASKED_EQ`, `NE`: high word equal, then low word equal; `NE` accepts on
///   either false branch.
/// - `GT`/`GE`: high word greater accepts; else high word equal, then low word `>`/`>=`.
/// - `LT`/`LE`: the same tests with `>=`/`>` on the low word, accepting on the false
///   branches of the last two.
///
/// A `MASKED_EQ` with a zero mask is left out; one with only a zero half still gets both
/// words, the zero half comparing `(A & 0) == 0`, always true.
fn build_wide(tree: &mut Tree, action: Action, args: &RuleArgs) -> Option<NodeId> {
    let mut root = None;
    let mut last: Option<WideLevel> = None;
    for (arg, cmp) in (0u8..).zip(args.iter()) {
        let Some(cmp) = cmp else { continue };
        if cmp.op == CmpOp::MaskedEq && cmp.mask == 0 {
            continue;
        }
        let level = wide_level(tree, arg, cmp);
        match &last {
            Some(prev) => {
                for &(node, side) in &prev.accepts {
                    tree.branch_mut(node, side).next = tree.hold(Some(level.first));
                }
            }
            None => root = tree.hold(Some(level.first)),
        }
        last = Some(level);
    }
    if let Some(level) = last {
        for (node, side) in level.accepts {
            let branch = tree.branch_mut(node, side);
            branch.has_action = true;
            branch.action = action;
        }
    }
    root
}

fn wide_level(tree: &mut Tree, arg: u8, cmp: &ArgCmp) -> WideLevel {
    match cmp.op {
        CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le => {
            let low_op = match cmp.op {
                CmpOp::Gt | CmpOp::Le => WordCmp::Gt,
                _ => WordCmp::Ge,
            };
            let above = tree.alloc(word_node(arg, true, WordCmp::Gt, cmp));
            let equal = tree.alloc(word_node(arg, true, WordCmp::Eq, cmp));
            let low = tree.alloc(word_node(arg, false, low_op, cmp));
            tree.branch_mut(above, Side::False).next = tree.hold(Some(equal));
            tree.branch_mut(equal, Side::True).next = tree.hold(Some(low));
            let accepts = if matches!(cmp.op, CmpOp::Gt | CmpOp::Ge) {
                vec![(above, Side::True), (low, Side::True)]
            } else {
                vec![(equal, Side::False), (low, Side::False)]
            };
            WideLevel {
                first: above,
                accepts,
            }
        }
        CmpOp::Eq | CmpOp::MaskedEq | CmpOp::Ne => {
            let op = if cmp.op == CmpOp::MaskedEq {
                WordCmp::MaskedEq
            } else {
                WordCmp::Eq
            };
            let high = tree.alloc(word_node(arg, true, op, cmp));
            let low = tree.alloc(word_node(arg, false, op, cmp));
            tree.branch_mut(high, Side::True).next = tree.hold(Some(low));
            let accepts = if cmp.op == CmpOp::Ne {
                vec![(high, Side::False), (low, Side::False)]
            } else {
                vec![(low, Side::True)]
            };
            WideLevel {
                first: high,
                accepts,
            }
        }
    }
}

/// `_db_rule_gen_32`: one low-word comparison per condition, the datum and mask truncated
/// to 32 bits (so `EQ 0x100000001` tests for 1). `NE`, `LT` and `LE` become `EQ`, `GE` and
/// `GT` accepting on the false branch. A `MASKED_EQ` whose low mask word is zero is left
/// out.
fn build_narrow(tree: &mut Tree, action: Action, args: &RuleArgs) -> Option<NodeId> {
    let mut root = None;
    let mut last: Option<(NodeId, Side)> = None;
    for (arg, cmp) in (0u8..).zip(args.iter()) {
        let Some(cmp) = cmp else { continue };
        if cmp.op == CmpOp::MaskedEq && lo(cmp.mask) == 0 {
            continue;
        }
        let (op, accept) = match cmp.op {
            CmpOp::Eq => (WordCmp::Eq, Side::True),
            CmpOp::MaskedEq => (WordCmp::MaskedEq, Side::True),
            CmpOp::Gt => (WordCmp::Gt, Side::True),
            CmpOp::Ge => (WordCmp::Ge, Side::True),
            CmpOp::Ne => (WordCmp::Eq, Side::False),
            CmpOp::Lt => (WordCmp::Ge, Side::False),
            CmpOp::Le => (WordCmp::Gt, Side::False),
        };
        let node = tree.alloc(word_node(arg, false, op, cmp));
        match last {
            Some((prev, side)) => tree.branch_mut(prev, side).next = tree.hold(Some(node)),
            None => root = tree.hold(Some(node)),
        }
        last = Some((node, accept));
    }
    if let Some((node, side)) = last {
        let branch = tree.branch_mut(node, side);
        branch.has_action = true;
        branch.action = action;
    }
    root
}
