//! The comparison tree of one syscall and the way libseccomp 2.5.4 merges a new rule's
//! chain into it (`src/db.c`: `_db_tree_prune`, `_db_tree_add` and the reference-counting
//! functions they rely on).
//!
//! The tree is kept as libseccomp keeps it, node for node: each node compares one 32-bit
//! word, has a true and a false branch (a deeper *level*, an action, or neither), and sits
//! in a *level*, a doubly linked list of siblings. Nodes are shared between parents and
//! reference counted; a level can hang under several parents. The merge functions walk
//! and relink this structure in ways whose outcome depends on sharing, on the pointer a
//! walk starts from and on reference counts (a node is freed, and a level cleaned, only
//! when counts reach zero). Reproducing the decisions exactly therefore means reproducing
//! the structure exactly, so the arena below mirrors libseccomp's pointers and counts
//! instead of using an idiomatic tree. Freed nodes stay in the arena, marked dead and
//! unreachable.

use crate::action::Action;

use super::CmpOp;

/// Index of a node in its tree's arena.
pub(super) type NodeId = usize;

/// The value libseccomp reads from an action field that was never set: its nodes come
/// from zeroed memory, and 0 is `SCMP_ACT_KILL_THREAD`.
pub(super) const UNSET_ACTION: Action = Action::KillThread;

/// Recursion deeper than this means the links form a cycle, on which libseccomp would
/// recurse until its stack overflows: stop instead. Real trees recurse a few dozen
/// levels at most (a chain is at most 18 nodes deep: 6 arguments, 3 nodes each).
const MAX_DEPTH: usize = 1000;

/// One outcome of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    True,
    False,
}

impl Side {
    pub(super) const BOTH: [Side; 2] = [Side::True, Side::False];
}

/// The jump a node's word comparison compiles to. `NE`, `LT` and `LE` never appear: chain
/// generation rewrites them into these with the outcomes swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WordCmp {
    Eq,
    MaskedEq,
    Gt,
    Ge,
}

/// What one outcome of a node leads to: `next` (a level), else the action when
/// `has_action`, else the next sibling (`gen_bpf.c _gen_bpf_node`). libseccomp keeps the
/// action value even without the flag and compares it in `_db_tree_prune`, so both are
/// stored.
#[derive(Clone, Copy, Debug)]
pub(super) struct Branch {
    pub next: Option<NodeId>,
    pub has_action: bool,
    pub action: Action,
}

impl Branch {
    const EMPTY: Branch = Branch {
        next: None,
        has_action: false,
        action: UNSET_ACTION,
    };

    /// libseccomp's "has an action or a level below" test.
    fn leads_somewhere(&self) -> bool {
        self.has_action || self.next.is_some()
    }
}

/// A node (`struct db_arg_chain_tree`).
#[derive(Clone, Debug)]
pub(super) struct ChainNode {
    pub arg: u8,
    /// Compares the high word of a 64-bit argument.
    pub hi: bool,
    pub op: WordCmp,
    /// The rule's operator, which orders siblings.
    pub orig: CmpOp,
    pub mask: u32,
    pub datum: u32,
    /// The rule's whole 64-bit datum, unmasked.
    pub datum_full: u64,
    pub t: Branch,
    pub f: Branch,
    prev: Option<NodeId>,
    next: Option<NodeId>,
    refs: u32,
    live: bool,
}

impl ChainNode {
    /// A node with no links, as chain generation allocates it.
    pub(super) fn new(arg: u8, hi: bool, op: WordCmp, orig: CmpOp, mask: u32) -> ChainNode {
        ChainNode {
            arg,
            hi,
            op,
            orig,
            mask,
            datum: 0,
            datum_full: 0,
            t: Branch::EMPTY,
            f: Branch::EMPTY,
            prev: None,
            next: None,
            refs: 0,
            live: true,
        }
    }

    fn branch(&self, side: Side) -> &Branch {
        match side {
            Side::True => &self.t,
            Side::False => &self.f,
        }
    }

    fn branch_mut(&mut self, side: Side) -> &mut Branch {
        match side {
            Side::True => &mut self.t,
            Side::False => &mut self.f,
        }
    }

    /// Sibling order key, first part (`__db_chain_arg_priority`): higher arguments, and
    /// high words, sort first.
    fn arg_rank(&self) -> u32 {
        (u32::from(self.arg) << 1) | u32::from(self.hi)
    }
}

/// Sibling order key, second part (`__db_chain_op_priority`): equality tests before
/// `LT`/`LE` before `GT`/`GE`, by the rule's operator.
fn op_rank(op: CmpOp) -> u32 {
    match op {
        CmpOp::MaskedEq | CmpOp::Eq | CmpOp::Ne => 3,
        CmpOp::Le | CmpOp::Lt => 2,
        CmpOp::Ge | CmpOp::Gt => 1,
    }
}

/// A pointer to a level that the merge functions may redirect: the syscall's root or a
/// branch of a node.
#[derive(Clone, Copy, Debug)]
pub(super) enum Slot {
    Root,
    Branch(NodeId, Side),
}

/// `_db_tree_add` found a node with the same comparison and another action:
/// `seccomp_rule_add` fails with `EEXIST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Exists;

// `struct db_iter_state` flags.
const MATCH: u32 = 0x1;
const MATCH_ONCE: u32 = 0x2;
const X_FINISHED: u32 = 0x10;
const N_FINISHED: u32 = 0x20;
const X_PREFIX: u32 = 0x100;
const N_PREFIX: u32 = 0x200;
const MATCH_SET: u32 = MATCH | MATCH_ONCE;
const REDUNDANT: u32 = MATCH | X_FINISHED | N_PREFIX;

/// What `_db_tree_prune` learns while comparing the new chain with the tree.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scan {
    flags: u32,
    action: Action,
}

impl Scan {
    pub(super) fn new(action: Action) -> Scan {
        Scan { flags: 0, action }
    }

    /// The tree already covers the new chain with a shorter one: drop the new chain.
    pub(super) fn redundant(&self) -> bool {
        self.flags & REDUNDANT == REDUNDANT
    }

    fn has(&self, flags: u32) -> bool {
        self.flags & flags == flags
    }
}

/// How a step of the prune walk continues (`prune_next_node` / `prune_return`).
enum Flow {
    NextSibling,
    Return,
}

/// The tree of one syscall: its arena and its root pointer (`db_sys_list.chains`).
#[derive(Clone, Debug, Default)]
pub(super) struct Tree {
    nodes: Vec<ChainNode>,
    pub root: Option<NodeId>,
    /// A level's links form a cycle, or links recurse beyond [`MAX_DEPTH`]: libseccomp
    /// would loop forever (or overflow its stack) on this tree.
    pub corrupt: bool,
}

impl Tree {
    /// An empty tree.
    pub(super) const fn new() -> Tree {
        Tree {
            nodes: Vec::new(),
            root: None,
            corrupt: false,
        }
    }

    pub(super) fn node(&self, id: NodeId) -> &ChainNode {
        &self.nodes[id]
    }

    /// The number of nodes ever allocated, freed ones included.
    pub(super) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Adds an unlinked, unreferenced node.
    pub(super) fn alloc(&mut self, node: ChainNode) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    pub(super) fn branch(&self, id: NodeId, side: Side) -> Branch {
        *self.nodes[id].branch(side)
    }

    pub(super) fn branch_mut(&mut self, id: NodeId, side: Side) -> &mut Branch {
        self.nodes[id].branch_mut(side)
    }

    /// The node after `id` on its level.
    pub(super) fn sibling(&self, id: NodeId) -> Option<NodeId> {
        self.nodes[id].next
    }

    fn slot(&self, slot: Slot) -> Option<NodeId> {
        match slot {
            Slot::Root => self.root,
            Slot::Branch(id, side) => self.branch(id, side).next,
        }
    }

    fn set_slot(&mut self, slot: Slot, value: Option<NodeId>) {
        match slot {
            Slot::Root => self.root = value,
            Slot::Branch(id, side) => self.branch_mut(id, side).next = value,
        }
    }

    /// Takes a reference (`_db_node_get`).
    pub(super) fn hold(&mut self, id: Option<NodeId>) -> Option<NodeId> {
        if let Some(id) = id {
            let node = &mut self.nodes[id];
            node.refs = node.refs.wrapping_add(1);
        }
        id
    }

    /// No level below either branch (`_db_chain_leaf`).
    fn is_leaf(&self, id: NodeId) -> bool {
        let node = &self.nodes[id];
        node.t.next.is_none() && node.f.next.is_none()
    }

    /// A leaf with no action at all (`_db_chain_zombie`).
    fn is_zombie(&self, id: NodeId) -> bool {
        let node = &self.nodes[id];
        self.is_leaf(id) && !node.t.has_action && !node.f.has_action
    }

    /// Same word, same jump, same operand: one node for both chains (`_db_chain_eq`).
    fn same(&self, a: NodeId, b: NodeId) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        a.arg_rank() == b.arg_rank() && a.op == b.op && a.datum == b.datum && a.mask == b.mask
    }

    /// Whether `a` sorts after `b` on a level (`_db_chain_lt`; levels run from the
    /// greatest node to the least). Ties on operator class order by datum, reversed for
    /// `LT`/`LE` so that the tightest bound comes first.
    fn less(&self, a: NodeId, b: NodeId) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        if a.arg_rank() != b.arg_rank() {
            return a.arg_rank() < b.arg_rank();
        }
        let (a_op, b_op) = (op_rank(a.orig), op_rank(b.orig));
        if a_op != b_op {
            return a_op < b_op;
        }
        match a.orig {
            CmpOp::Le | CmpOp::Lt => a.datum > b.datum,
            _ => a.datum < b.datum,
        }
    }

    /// Marks the tree corrupt when a walk goes deeper than any real tree.
    fn too_deep(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            self.corrupt = true;
        }
        self.corrupt
    }

    /// The first node of `id`'s level, where code generation and every merge walk start;
    /// `None` if the level loops.
    pub(super) fn level_head(&self, id: NodeId) -> Option<NodeId> {
        let mut first = id;
        for _ in 0..=self.nodes.len() {
            match self.nodes[first].prev {
                Some(prev) => first = prev,
                None => return Some(first),
            }
        }
        None
    }

    /// [`Tree::level_head`], marking the tree corrupt if the level loops: libseccomp's
    /// walk to the start of a level never ends then.
    fn first_of_level(&mut self, id: NodeId) -> NodeId {
        self.level_head(id).unwrap_or_else(|| {
            self.corrupt = true;
            id
        })
    }

    /// Drops a reference (`_db_node_put`). At zero the node leaves its level, which is
    /// relinked around it, and its branches lose their references. Returns how many nodes
    /// were freed and what the dropped pointer designates afterwards: the node itself if
    /// it survives, else a former neighbour (the previous one first), else nothing.
    pub(super) fn release(&mut self, id: NodeId) -> (usize, Option<NodeId>) {
        self.release_at(id, 0)
    }

    fn release_at(&mut self, id: NodeId, depth: usize) -> (usize, Option<NodeId>) {
        if self.too_deep(depth) {
            return (0, Some(id));
        }
        let node = &mut self.nodes[id];
        node.refs = node.refs.wrapping_sub(1);
        if node.refs != 0 {
            return (0, Some(id));
        }
        let (mut prev, mut next) = (node.prev, node.next);
        let (t, f) = (node.t.next, node.f.next);
        // The neighbours still hold their references on each other through this node;
        // cut the level here, drop those references, then join what survives.
        if let Some(p) = prev {
            self.nodes[p].next = None;
        }
        if let Some(n) = next {
            self.nodes[n].prev = None;
        }
        let mut freed = 0;
        if let Some(p) = prev {
            let (count, still) = self.release_at(p, depth + 1);
            freed += count;
            prev = still;
        }
        if let Some(n) = next {
            let (count, still) = self.release_at(n, depth + 1);
            freed += count;
            next = still;
        }
        if let Some(p) = prev {
            self.nodes[p].next = self.hold(next);
        }
        if let Some(n) = next {
            self.nodes[n].prev = self.hold(prev);
        }
        freed += self.release_tree_at(t, depth + 1);
        freed += self.release_tree_at(f, depth + 1);
        self.nodes[id].live = false;
        (freed + 1, prev.or(next))
    }

    /// Drops the reference a pointer holds on a level and frees the level if nothing
    /// outside it still points into it (`_db_tree_put`).
    pub(super) fn release_tree(&mut self, id: Option<NodeId>) -> usize {
        self.release_tree_at(id, 0)
    }

    fn release_tree_at(&mut self, id: Option<NodeId>, depth: usize) -> usize {
        let Some(id) = id else { return 0 };
        let (mut freed, still) = self.release_at(id, depth);
        if let Some(node) = still {
            freed += self.clean_level(node, depth);
        }
        freed
    }

    /// Frees the whole level of `id` when each node's only references are its two
    /// neighbours' links (`_db_level_clean`).
    fn clean_level(&mut self, id: NodeId, depth: usize) -> usize {
        let first = self.first_of_level(id);
        let mut cursor = Some(first);
        for _ in 0..=self.nodes.len() {
            let Some(at) = cursor else { break };
            let node = &self.nodes[at];
            let links = u32::from(node.prev.is_some()) + u32::from(node.next.is_some());
            if node.refs > links {
                return 0;
            }
            cursor = node.next;
        }
        let mut freed = 0;
        let mut cursor = Some(first);
        while let Some(at) = cursor {
            let (count, still) = self.release_at(at, depth + 1);
            if still == Some(at) {
                // Not freed: the counts are inconsistent; libseccomp would spin here.
                self.corrupt = true;
                break;
            }
            freed += count;
            cursor = still;
        }
        freed
    }

    /// Whether some action on `id`'s level or below differs from `action`
    /// (`_db_tree_act_check` returning `-EEXIST`).
    fn conflicts(&mut self, id: Option<NodeId>, action: Action, depth: usize) -> bool {
        let Some(id) = id else { return false };
        if self.too_deep(depth) {
            return false;
        }
        let mut cursor = Some(self.first_of_level(id));
        while let Some(at) = cursor {
            let node = &self.nodes[at];
            let differs = |b: &Branch| b.has_action && b.action != action;
            if differs(&node.t) || differs(&node.f) {
                return true;
            }
            let (t, f, next) = (node.t.next, node.f.next, node.next);
            if self.conflicts(t, action, depth + 1) || self.conflicts(f, action, depth + 1) {
                return true;
            }
            cursor = next;
        }
        false
    }

    /// Searches the level `slot` points to, and the levels below, for `target`, and
    /// unlinks and releases it (`_db_tree_remove`). On the way it also removes the first
    /// zombie it finds. Stops at the first level where something was removed.
    fn remove(&mut self, slot: Slot, target: NodeId, depth: usize) -> usize {
        let Some(top) = self.slot(slot) else { return 0 };
        if self.too_deep(depth) {
            return 0;
        }
        let mut at = self.first_of_level(top);
        let mut freed = 0;
        loop {
            let doomed = at == target || {
                freed += self.remove(Slot::Branch(at, Side::True), target, depth + 1);
                freed += self.remove(Slot::Branch(at, Side::False), target, depth + 1);
                self.is_zombie(at)
            };
            if doomed {
                return freed + self.unlink(slot, at);
            }
            match self.nodes[at].next {
                Some(next) if freed == 0 => at = next,
                _ => return freed,
            }
        }
    }

    /// Takes `id` out of its level by joining its neighbours directly, which moves the
    /// references they held on it instead of dropping them, then drops one reference.
    fn unlink(&mut self, slot: Slot, id: NodeId) -> usize {
        let (prev, next) = (self.nodes[id].prev, self.nodes[id].next);
        if self.slot(slot) == Some(id) {
            self.set_slot(slot, prev.or(next));
        }
        if let Some(p) = prev {
            self.nodes[p].next = next;
        }
        if let Some(n) = next {
            self.nodes[n].prev = prev;
        }
        self.nodes[id].prev = None;
        self.nodes[id].next = None;
        self.release(id).0
    }

    /// Removes the parts of the tree that the new chain makes unnecessary
    /// (`_db_tree_prune`). `existing` is any node of the level to compare with, `new`
    /// the chain node to compare. Returns the number of nodes freed; `state` says
    /// whether the tree already covers the new chain.
    pub(super) fn prune(
        &mut self,
        existing: Option<NodeId>,
        new: NodeId,
        state: &mut Scan,
    ) -> usize {
        self.prune_at(existing, new, state, 0)
    }

    fn prune_at(
        &mut self,
        existing: Option<NodeId>,
        new: NodeId,
        state: &mut Scan,
        depth: usize,
    ) -> usize {
        let mut result = *state;
        let mut freed = 0;
        let proceed = !self.too_deep(depth) && state.flags & MATCH_SET != MATCH_ONCE;
        if let (Some(x), true) = (existing, proceed) {
            let mut cursor = Some(self.first_of_level(x));
            loop {
                let Some(at) = cursor else {
                    // Walked the whole level without a match.
                    result.flags &= !MATCH;
                    break;
                };
                let next = self.nodes[at].next;
                let flow = if self.same(at, new) {
                    self.prune_matched(at, new, state, &mut result, &mut freed, depth)
                } else if self.less(at, new) {
                    self.prune_existing_prefix(at, new, state, &mut result, &mut freed, depth)
                } else {
                    self.prune_new_prefix(at, new, state, &mut result, &mut freed, depth)
                };
                match flow {
                    Flow::NextSibling => cursor = next,
                    Flow::Return => break,
                }
            }
        }
        if result.flags & MATCH != 0 {
            state.flags |= result.flags;
        } else {
            state.flags &= !MATCH;
        }
        freed
    }

    /// Prune step where the tree node and the chain node compare the same word the same
    /// way.
    fn prune_matched(
        &mut self,
        x: NodeId,
        n: NodeId,
        state: &Scan,
        result: &mut Scan,
        freed: &mut usize,
        depth: usize,
    ) -> Flow {
        result.flags |= MATCH_SET;
        if self.is_leaf(n) {
            result.flags |= N_FINISHED;
        }
        if self.is_leaf(x) {
            result.flags |= X_FINISHED;
        }
        // The tree goes on where the chain stops: nothing to remove here.
        for side in Side::BOTH {
            if self.branch(x, side).leads_somewhere() && !self.branch(n, side).leads_somewhere() {
                return Flow::Return;
            }
        }
        if result.has(N_FINISHED | X_FINISHED) {
            for side in Side::BOTH {
                let (xb, nb) = (self.branch(x, side), self.branch(n, side));
                if xb.has_action != nb.has_action || xb.action != nb.action {
                    return Flow::Return;
                }
            }
        }
        let mut x = x;
        for side in Side::BOTH {
            let Some(n_below) = self.branch(n, side).next else {
                continue;
            };
            // Hold the node: the walk below may drop the tree's last reference to it.
            self.hold(Some(x));
            let mut below = *state;
            below.flags |= MATCH_SET;
            let x_below = self.branch(x, side).next;
            *freed += self.prune_at(x_below, n_below, &mut below, depth + 1);
            let (count, still) = self.release(x);
            *freed += count;
            if below.flags & MATCH != 0 {
                result.flags |= below.flags;
            }
            match still {
                Some(node) => x = node,
                None => return Flow::NextSibling,
            }
        }
        let consistent = !self.conflicts(Some(x), result.action, 0);
        if consistent && result.has(MATCH | N_FINISHED | X_PREFIX) {
            // The new chain is a shorter form of this branch of the tree.
            *freed += self.remove(Slot::Root, x, 0);
            if self.root.is_none() {
                return Flow::Return;
            }
        } else if consistent && result.has(MATCH | X_FINISHED | N_PREFIX) {
            return Flow::Return;
        }
        Flow::NextSibling
    }

    /// Prune step where the tree node sorts after the chain node: look for the chain
    /// node deeper in the tree.
    fn prune_existing_prefix(
        &mut self,
        x: NodeId,
        n: NodeId,
        state: &Scan,
        result: &mut Scan,
        freed: &mut usize,
        depth: usize,
    ) -> Flow {
        if state.flags & N_PREFIX != 0 {
            return Flow::Return;
        }
        let mut x = x;
        for side in Side::BOTH {
            let Some(x_below) = self.branch(x, side).next else {
                continue;
            };
            self.hold(Some(x));
            let mut below = *state;
            below.flags &= !MATCH;
            below.flags |= X_PREFIX;
            *freed += self.prune_at(Some(x_below), n, &mut below, depth + 1);
            let (count, still) = self.release(x);
            *freed += count;
            if below.flags & MATCH != 0 {
                result.flags |= below.flags;
                return Flow::Return;
            }
            match still {
                Some(node) => x = node,
                None => return Flow::NextSibling,
            }
        }
        Flow::NextSibling
    }

    /// Prune step where the chain node sorts after the tree node: look for the tree node
    /// deeper in the chain.
    fn prune_new_prefix(
        &mut self,
        x: NodeId,
        n: NodeId,
        state: &Scan,
        result: &mut Scan,
        freed: &mut usize,
        depth: usize,
    ) -> Flow {
        if state.flags & X_PREFIX != 0 {
            return Flow::Return;
        }
        let mut x = x;
        for side in Side::BOTH {
            let Some(n_below) = self.branch(n, side).next else {
                continue;
            };
            self.hold(Some(x));
            let mut below = *state;
            below.flags &= !MATCH;
            below.flags |= N_PREFIX;
            *freed += self.prune_at(Some(x), n_below, &mut below, depth + 1);
            let (count, still) = self.release(x);
            *freed += count;
            if below.flags & MATCH != 0 {
                result.flags |= below.flags;
                return Flow::Return;
            }
            match still {
                Some(node) => x = node,
                None => return Flow::NextSibling,
            }
        }
        Flow::NextSibling
    }

    /// Merges the chain starting at `new` into the level `slot` points to
    /// (`_db_tree_add`). The walk starts at the node the slot designates, which is not
    /// always the first of its level, and inserts `new` before the first node it sorts
    /// after, or at the end. Returns the number of nodes freed where an action replaced a
    /// level.
    pub(super) fn add(&mut self, slot: Slot, new: NodeId) -> Result<usize, Exists> {
        self.add_at(slot, new, 0)
    }

    fn add_at(&mut self, slot: Slot, new: NodeId, depth: usize) -> Result<usize, Exists> {
        let Some(mut x) = self.slot(slot) else {
            return Ok(0);
        };
        if self.too_deep(depth) {
            return Ok(0);
        }
        for _ in 0..=self.nodes.len() {
            if self.same(x, new) {
                return self.add_matched(x, new, depth);
            }
            if self.less(x, new) {
                self.insert_before(slot, x, new);
                return Ok(0);
            }
            match self.nodes[x].next {
                Some(next) => x = next,
                None => {
                    self.nodes[new].prev = self.hold(Some(x));
                    self.nodes[x].next = self.hold(Some(new));
                    return Ok(0);
                }
            }
        }
        self.corrupt = true;
        Ok(0)
    }

    fn insert_before(&mut self, slot: Slot, x: NodeId, new: NodeId) {
        match self.nodes[x].prev {
            Some(prev) => {
                self.nodes[prev].next = self.hold(Some(new));
                self.nodes[new].prev = Some(prev);
                self.nodes[x].prev = self.hold(Some(new));
                self.nodes[new].next = Some(x);
            }
            None => {
                self.nodes[x].prev = self.hold(Some(new));
                self.nodes[new].next = self.hold(Some(x));
            }
        }
        if self.slot(slot) == Some(x) {
            let held = self.hold(Some(new));
            self.set_slot(slot, held);
            self.release(x);
        }
    }

    /// Merges chain node `n` into tree node `x`, which compares the same way.
    fn add_matched(&mut self, x: NodeId, n: NodeId, depth: usize) -> Result<usize, Exists> {
        let mut freed = 0;
        for side in Side::BOTH {
            freed += self.merge_action(x, n, side)?;
        }
        for side in Side::BOTH {
            let Some(n_below) = self.branch(n, side).next else {
                continue;
            };
            let x_branch = self.branch(x, side);
            if x_branch.next.is_some() {
                freed += self.add_at(Slot::Branch(x, side), n_below, depth + 1)?;
            } else if !x_branch.has_action {
                let held = self.hold(Some(n_below));
                self.branch_mut(x, side).next = held;
            } else {
                // The tree decides here already; libseccomp also skips the other branch.
                break;
            }
        }
        Ok(freed)
    }

    /// The action part of merging `n` into `x` for one branch; returns the number of
    /// nodes freed.
    fn merge_action(&mut self, x: NodeId, n: NodeId, side: Side) -> Result<usize, Exists> {
        let nb = self.branch(n, side);
        if !nb.has_action {
            return Ok(0);
        }
        let mut freed = 0;
        let xb = self.branch(x, side);
        if !xb.has_action {
            // An action replaces a level only if everything below decides the same.
            if self.conflicts(xb.next, nb.action, 0) {
                return Err(Exists);
            }
            if let Some(below) = xb.next {
                // Only the level's first node loses its reference; no level cleanup.
                freed = self.release(below).0;
            }
            *self.branch_mut(x, side) = Branch {
                next: None,
                has_action: true,
                action: nb.action,
            };
        } else if nb.action != xb.action {
            // On a high word, the rule with the larger (true branch) or smaller (false
            // branch) 64-bit datum takes over the node's *true* action in both cases:
            // libseccomp assigns `act_t` in its false-branch code as well.
            let (x_full, n_full) = (self.nodes[x].datum_full, self.nodes[n].datum_full);
            let takes_over = match side {
                Side::True => n_full > x_full,
                Side::False => n_full < x_full,
            };
            if self.nodes[n].hi && takes_over {
                self.nodes[x].t.action = self.nodes[n].t.action;
            }
            if self.is_leaf(x) || self.is_leaf(n) {
                return Err(Exists);
            }
        }
        Ok(freed)
    }

    /// Whether a node is still allocated; only the tests look.
    #[cfg(test)]
    pub(super) fn is_live(&self, id: NodeId) -> bool {
        self.nodes[id].live
    }
}
