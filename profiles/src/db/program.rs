//! libseccomp 2.5.4's program, emulated block by block (`src/gen_bpf.c`), and the decision
//! tree of each syscall read off it.
//!
//! Why emulate the code generator rather than read decisions off the rule trees: the
//! program does not always decide as its trees say. `gen_bpf.c` gives every block the
//! accumulator state it expects (which word is loaded, which mask applied) and omits the
//! load when the block before it in its level leaves that state. A block can also be
//! reached by falling through from the level below its predecessor, with another word
//! loaded. The layout pass adds a reload only when the block that first pulls the target
//! into the program leaves a different state (`_gen_bpf_build_bpf`); later jumpers are
//! not checked, and the test then runs on a stale word. Which block pulls which depends
//! on the whole program: identical blocks are shared across syscalls and architectures,
//! and the pull order runs from the end of the program backwards. So this module builds
//! the same blocks, shares them the same way, lays them out in the same order, and then
//! walks the result symbolically.
//!
//! Long-jump trampolines and duplicated returns, which `gen_bpf.c` adds when a jump is
//! longer than 255 instructions, change neither the accumulator nor any decision, so they
//! are not emulated.

use std::collections::VecDeque;

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::action::Action;
use crate::arch::{Abi, X32_SYSCALL_BIT};

use super::filter::{Entry, Filter, SysKey};
use super::node::{Decision, Half, Node, WordOp};
use super::tree::{Branch, NodeId, WordCmp};

/// `seccomp_data` offsets of the syscall number and the arch token.
const NR: u32 = 0;
const ARCH: u32 = 4;
/// The first and last argument words.
const ARGS: std::ops::Range<u32> = 16..64;
const FULL: u32 = u32::MAX;
/// `SYSCALLS_PER_NODE`: syscalls per leaf of the binary-tree layout.
const PER_NODE: usize = 4;
/// libseccomp's bad-arch action, which runc never changes.
const BAD_ARCH: Action = Action::KillThread;

/// Why the program could not be emulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// A level of a tree loops: not a tree libseccomp could build.
    Corrupt,
    /// A jump has no target after it, so libseccomp's export fails (`-EFAULT`).
    BackwardJump,
    /// A path runs off the end of the program or tests a word that is not an argument.
    Malformed,
}

/// The accumulator state `gen_bpf.c` assumes at a block boundary (`struct acc_state`):
/// the word loaded (`-1`: unknown) and the mask applied since.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Acc {
    offset: i64,
    mask: u32,
}

const UNKNOWN: Acc = Acc {
    offset: -1,
    mask: FULL,
};

impl Acc {
    fn at(offset: u32) -> Acc {
        Acc {
            offset: i64::from(offset),
            mask: FULL,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Load(u32),
    And(u32),
    Jeq(u32),
    Jgt(u32),
    Jge(u32),
    Ret(u32),
}

type BlockId = usize;

/// A jump target (`enum bpf_jump_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum To {
    /// The next instruction (`TGT_NONE`, offset 0).
    Fall,
    /// The next node of the level, or what follows the level (`TGT_NXT`).
    Sibling,
    /// The level holding this tree node (`TGT_PTR_DB`).
    Level(NodeId),
    /// A finished block (`TGT_PTR_HSH`), always the original of its hash.
    Block(BlockId),
    /// The first block after arch section `n` (`TGT_NXT` at the top level).
    AfterSection(usize),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Insn {
    op: Op,
    jt: To,
    jf: To,
}

impl Insn {
    fn stmt(op: Op) -> Insn {
        Insn {
            op,
            jt: To::Fall,
            jf: To::Fall,
        }
    }
}

/// A block (`struct bpf_blk`). `original` is the block whose hash it shares: itself, or
/// the block it duplicates when it was kept anyway (`flag_dup`).
#[derive(Clone, Debug)]
struct Block {
    insns: Vec<Insn>,
    start: Acc,
    end: Acc,
    original: BlockId,
}

/// The block hash table and everything built so far (`struct bpf_state`).
struct Gen {
    blocks: Vec<Block>,
    table: HashMap<(Vec<Insn>, Acc, Acc), BlockId>,
    /// Per original block: already placed in the program (`bpf_hash_bkt.found`).
    found: Vec<bool>,
    default: BlockId,
    bad_arch: BlockId,
}

/// A block of a level whose jumps are not resolved yet.
struct Pending {
    insns: Vec<Insn>,
    start: Acc,
    end: Acc,
}

impl Gen {
    /// Adds a block to the hash table (`_hsh_add`). An identical block (same
    /// instructions, same accumulator states) already there is returned instead, unless
    /// `placed` (blocks already in the program list): then the duplicate is kept as its
    /// own block, sharing the original's hash.
    fn hash(&mut self, insns: Vec<Insn>, start: Acc, end: Acc, placed: bool) -> BlockId {
        let id = self.blocks.len();
        let key = (insns, start, end);
        let original = match self.table.get(&key) {
            Some(&original) if !placed => return original,
            Some(&original) => original,
            None => {
                self.table.insert(key.clone(), id);
                id
            }
        };
        let (insns, start, end) = key;
        self.blocks.push(Block {
            insns,
            start,
            end,
            original,
        });
        self.found.push(placed);
        id
    }

    fn original(&self, id: BlockId) -> BlockId {
        self.blocks[id].original
    }

    /// A return block in the hash table (`_gen_bpf_action_hsh`).
    fn action(&mut self, action: Action) -> BlockId {
        self.hash(
            vec![Insn::stmt(Op::Ret(action.ret()))],
            UNKNOWN,
            UNKNOWN,
            false,
        )
    }

    /// The blocks of the level holding `first`, followed by `after`; returns the first
    /// (`_gen_bpf_chain`). `acc` is the state the level starts with.
    fn level(
        &mut self,
        entry: &Entry,
        first: Option<NodeId>,
        after: BlockId,
        acc: Acc,
    ) -> Result<BlockId, Failure> {
        let Some(first) = first else {
            return Ok(self.action(entry.action));
        };
        let tree = entry.tree();
        let mut members = Vec::with_capacity(8);
        let mut cursor = Some(tree.level_head(first).ok_or(Failure::Corrupt)?);
        while let Some(node) = cursor {
            if members.len() > tree.len() {
                return Err(Failure::Corrupt);
            }
            members.push(node);
            cursor = tree.sibling(node);
        }
        // Each node expects the state the previous one leaves.
        let mut acc = acc;
        let pending: Vec<Pending> = members
            .iter()
            .map(|&node| self.node_block(entry, node, &mut acc))
            .collect();
        // Resolve from the last node back, so that each block's successor is known.
        let mut done: Vec<BlockId> = Vec::with_capacity(pending.len());
        let mut next = after;
        for block in pending.into_iter().rev() {
            next = self.resolve(entry, block, next)?;
            done.push(next);
        }
        done.last().copied().ok_or(Failure::Corrupt)
    }

    /// The block testing one node (`_gen_bpf_node`): a load when the expected state has
    /// another word or a mask the node's does not fit in, an `and` when the mask
    /// differs, and the jump.
    fn node_block(&mut self, entry: &Entry, id: NodeId, acc: &mut Acc) -> Pending {
        let node = entry.tree().node(id);
        let mut start = *acc;
        let action_of = |gen: &mut Gen, b: &Branch| b.has_action.then(|| gen.action(b.action));
        let act_t = action_of(self, &node.t);
        let act_f = action_of(self, &node.f);
        let offset = 16 + 8 * u32::from(node.arg) + if node.hi { 4 } else { 0 };
        let mut insns = Vec::with_capacity(4);
        if i64::from(offset) != acc.offset || node.mask & acc.mask != node.mask {
            *acc = Acc::at(offset);
            insns.push(Insn::stmt(Op::Load(offset)));
            start = UNKNOWN;
        }
        if node.mask != acc.mask {
            acc.mask = node.mask;
            insns.push(Insn::stmt(Op::And(node.mask)));
        }
        let op = match node.op {
            WordCmp::Eq | WordCmp::MaskedEq => Op::Jeq(node.datum),
            WordCmp::Gt => Op::Jgt(node.datum),
            WordCmp::Ge => Op::Jge(node.datum),
        };
        let target = |b: &Branch, act: Option<BlockId>| match (b.next, act) {
            (Some(level), _) => To::Level(level),
            (None, Some(block)) => To::Block(block),
            (None, None) => To::Sibling,
        };
        insns.push(Insn {
            op,
            jt: target(&node.t, act_t),
            jf: target(&node.f, act_f),
        });
        Pending {
            insns,
            start,
            end: *acc,
        }
    }

    /// Resolves a level block's jumps, generating the levels below it, and hashes it
    /// (`_gen_bpf_chain_lvl_res`). `next` is what follows the block on its level.
    fn resolve(
        &mut self,
        entry: &Entry,
        block: Pending,
        next: BlockId,
    ) -> Result<BlockId, Failure> {
        let mut insns = block.insns;
        for insn in &mut insns {
            for to in [&mut insn.jt, &mut insn.jf] {
                *to = match *to {
                    To::Sibling => To::Block(next),
                    To::Level(node) => To::Block(self.level(entry, Some(node), next, block.end)?),
                    other => other,
                };
            }
        }
        Ok(self.hash(insns, block.start, block.end, false))
    }

    /// The block that matches syscall `nr` and enters its tree (`_gen_bpf_syscall`).
    /// `load` makes it load the syscall number itself.
    fn syscall(
        &mut self,
        entry: &Entry,
        nr: u32,
        next: BlockId,
        load: bool,
    ) -> Result<BlockId, Failure> {
        let (mut insns, start, acc) = if load {
            (vec![Insn::stmt(Op::Load(NR))], UNKNOWN, Acc::at(NR))
        } else {
            (Vec::new(), Acc::at(NR), UNKNOWN)
        };
        let tree = self.level(entry, entry.tree().root, self.default, acc)?;
        insns.push(Insn {
            op: Op::Jeq(nr),
            jt: To::Block(tree),
            jf: To::Block(next),
        });
        Ok(self.hash(insns, start, Acc::at(NR), true))
    }

    /// The blocks of one arch section, first block first (`_gen_bpf_arch` and
    /// `_gen_bpf_syscalls`). `secondary` is x32 or x86_64 sharing the section.
    fn section(
        &mut self,
        index: usize,
        primary: &Filter,
        secondary: Option<&Filter>,
        binary_tree: bool,
    ) -> Result<Vec<BlockId>, Failure> {
        let order = ordered(primary, secondary, binary_tree);
        let real = order
            .iter()
            .filter(|(key, _)| matches!(key, SysKey::Nr(_)))
            .count();
        let levels = if binary_tree { tree_levels(real) } else { 0 };
        let empty = if levels > 0 {
            ((PER_NODE * 2) << (levels - 1)) - real
        } else {
            0
        };
        let alone = matches!(primary.abi, Abi::X86_64 | Abi::X32) && secondary.is_none();
        // The number is loaded by the ABI check when x86_64 or x32 is alone, by the
        // binary tree when there is one, else by the first syscall's block: the first
        // in the sorted list, even when that one is skipped.
        let load_first = !alone && levels == 0;
        let mut list: VecDeque<BlockId> = VecDeque::with_capacity(order.len());
        let mut bintree = BinaryTree::new(levels);
        let mut count = 0;
        for (position, (key, entry)) in order.iter().enumerate().rev() {
            // Pseudo syscalls are never emitted (`_skip_syscall`).
            let SysKey::Nr(nr) = key else { continue };
            let next = if levels > 0 && (count + empty) % PER_NODE == 0 {
                self.default
            } else {
                list.front().copied().unwrap_or(self.default)
            };
            let block = self.syscall(entry, *nr, next, position == 0 && load_first)?;
            list.push_front(block);
            count += 1;
            if levels > 0 {
                bintree.add(self, &mut list, count + empty, *nr, block);
            }
        }
        if levels > 0 {
            let load = self.hash(vec![Insn::stmt(Op::Load(NR))], UNKNOWN, Acc::at(NR), true);
            list.push_front(load);
        }
        let head = |list: &VecDeque<BlockId>, gen: &Gen| {
            gen.original(list.front().copied().unwrap_or(gen.default))
        };
        if alone {
            let first = To::Block(head(&list, self));
            let bad = To::Block(self.bad_arch);
            let x32_bit = Op::Jge(X32_SYSCALL_BIT);
            let mut insns = vec![Insn::stmt(Op::Load(NR))];
            if primary.abi == Abi::X86_64 {
                // x32 numbers are bad arch, except -1, which tracers use to skip a call.
                insns.push(Insn {
                    op: x32_bit,
                    jt: To::Fall,
                    jf: first,
                });
                insns.push(Insn {
                    op: Op::Jeq(u32::MAX),
                    jt: first,
                    jf: bad,
                });
            } else {
                insns.push(Insn {
                    op: x32_bit,
                    jt: first,
                    jf: bad,
                });
            }
            let check = self.hash(insns, UNKNOWN, Acc::at(NR), true);
            list.push_front(check);
        }
        let first = To::Block(head(&list, self));
        let token = primary.abi.audit_arch();
        let check = Insn {
            op: Op::Jeq(token),
            jt: first,
            jf: To::AfterSection(index),
        };
        let check = self.hash(vec![check], UNKNOWN, UNKNOWN, true);
        list.push_front(check);
        Ok(list.into())
    }
}

/// The syscalls of a section in code-generation order (`_sys_sort`): by priority, highest
/// first, or for the binary tree by number, highest first; ties keep the list order
/// (numbers ascending, pseudo numbers last), the primary filter's syscalls before the
/// secondary's.
fn ordered<'a>(
    primary: &'a Filter,
    secondary: Option<&'a Filter>,
    binary_tree: bool,
) -> Vec<(&'a SysKey, &'a Entry)> {
    let mut order = primary.sorted();
    order.extend(secondary.into_iter().flat_map(Filter::sorted));
    if binary_tree {
        // Pseudo numbers are negative: as unsigned numbers they sort above every real one.
        order.sort_by_key(|(key, _)| {
            std::cmp::Reverse(match key {
                SysKey::Nr(nr) => u64::from(*nr),
                SysKey::Pseudo(_) => u64::MAX,
            })
        });
    } else {
        order.sort_by_key(|(_, entry)| std::cmp::Reverse(entry.priority));
    }
    order
}

/// The depth of the binary tree for `count` syscalls (`_get_bintree_levels`).
fn tree_levels(count: usize) -> usize {
    if count == 0 {
        return 0;
    }
    let (mut levels, mut capacity) = (2, PER_NODE * 2);
    while capacity < count {
        capacity <<= 1;
        levels += 1;
    }
    levels
}

/// The "if greater than" blocks of the binary-tree layout (`_gen_bpf_bintree`).
struct BinaryTree {
    numbers: Vec<Option<u32>>,
    targets: Vec<Option<BlockId>>,
}

impl BinaryTree {
    fn new(levels: usize) -> BinaryTree {
        BinaryTree {
            numbers: vec![None; levels],
            targets: vec![None; levels],
        }
    }

    /// After the syscall block `block` for `nr`, the `total`-th slot: at the end of a
    /// node, the tests that skip over it.
    fn add(
        &mut self,
        gen: &mut Gen,
        list: &mut VecDeque<BlockId>,
        total: usize,
        nr: u32,
        block: BlockId,
    ) {
        let Some(level) = (0..self.numbers.len())
            .rev()
            .find(|i| total % (PER_NODE << i) == 0)
        else {
            return;
        };
        self.numbers[level] = Some(nr);
        self.targets[level] = Some(block);
        let mut made: Option<BlockId> = None;
        for lower in 0..level {
            let (Some(number), Some(target)) = (self.numbers[lower], self.targets[lower]) else {
                continue;
            };
            let above = gen.original(made.unwrap_or(block));
            let insn = Insn {
                op: Op::Jgt(number),
                jt: To::Block(above),
                jf: To::Block(gen.original(target)),
            };
            let test = gen.hash(vec![insn], UNKNOWN, UNKNOWN, true);
            list.push_front(test);
            made = Some(test);
        }
        if let Some(test) = made {
            self.targets[level] = Some(test);
        }
    }
}

/// The emulated program: its blocks in program order.
pub(super) struct Program {
    blocks: Vec<Block>,
    list: Vec<BlockId>,
    /// (original block, position) of every block of the list, sorted: the positions of
    /// the blocks sharing one hash are a run, ascending.
    positions: Vec<(BlockId, usize)>,
    default: Action,
    /// Per position, the comparison chain it belongs to, if any.
    chain_of: Vec<Option<usize>>,
    chains: Vec<Chain>,
}

/// A run of consecutive blocks that each hold one `jeq` whose false branch lands on the
/// next block: the layout's list of syscall checks. With a known value in the
/// accumulator, the walk through a chain stops at the first block comparing with that
/// value, or leaves by the last block's false branch; looking that up instead of
/// stepping block by block is what keeps reading the trees of every syscall off the
/// program linear in the program's size rather than quadratic.
struct Chain {
    /// Per compared value, the positions comparing with it, ascending.
    matches: HashMap<u32, Vec<usize>>,
    /// Where the last block's false branch lands.
    exit: (usize, usize),
}

/// Builds the program libseccomp exports for these filters (`gen_bpf_generate`).
pub(super) fn generate(
    filters: &[Filter],
    default: Action,
    binary_tree: bool,
) -> Result<Program, Failure> {
    let mut gen = Gen {
        blocks: Vec::new(),
        table: HashMap::default(),
        found: Vec::new(),
        default: 0,
        bad_arch: 0,
    };
    gen.bad_arch = gen.hash(
        vec![Insn::stmt(Op::Ret(BAD_ARCH.ret()))],
        UNKNOWN,
        UNKNOWN,
        true,
    );
    let default_block = gen.hash(
        vec![Insn::stmt(Op::Ret(default.ret()))],
        UNKNOWN,
        UNKNOWN,
        false,
    );
    gen.default = gen.original(default_block);
    let head = gen.hash(
        vec![Insn::stmt(Op::Load(ARCH))],
        UNKNOWN,
        Acc::at(ARCH),
        true,
    );
    let mut sections = Vec::new();
    for (primary, secondary) in section_filters(filters) {
        let index = sections.len();
        sections.push(gen.section(index, primary, secondary, binary_tree)?);
    }
    let mut list = vec![head];
    for (index, section) in sections.iter().enumerate() {
        let after = sections.get(index + 1).and_then(|s| s.first()).copied();
        let after = gen.original(after.unwrap_or(gen.bad_arch));
        for &block in section {
            for insn in &mut gen.blocks[block].insns {
                for to in [&mut insn.jt, &mut insn.jf] {
                    if *to == To::AfterSection(index) {
                        *to = To::Block(after);
                    }
                }
            }
        }
        list.extend(section);
    }
    list.push(gen.bad_arch);
    pull_blocks(&mut gen, &mut list);
    let placed = list.iter().enumerate();
    let mut positions: Vec<(BlockId, usize)> = placed
        .map(|(position, &block)| (gen.original(block), position))
        .collect();
    positions.sort_unstable();
    let mut program = Program {
        blocks: gen.blocks,
        list,
        positions,
        default,
        chain_of: Vec::new(),
        chains: Vec::new(),
    };
    program.find_chains()?;
    Ok(program)
}

/// The filters in section order (`_gen_bpf_build_bpf`): one section per filter, except
/// that x86_64 and x32 share one, at the place of the one added first, which is the
/// primary.
fn section_filters(filters: &[Filter]) -> Vec<(&Filter, Option<&Filter>)> {
    let find = |abi| filters.iter().position(|f| f.abi == abi);
    let (wide, x32) = (find(Abi::X86_64), find(Abi::X32));
    let mut out = Vec::new();
    for (index, filter) in filters.iter().enumerate() {
        let partner = match filter.abi {
            Abi::X86_64 => x32,
            Abi::X32 => wide,
            _ => None,
        };
        match partner {
            Some(other) if other < index => continue,
            Some(other) => out.push((filter, filters.get(other))),
            None => out.push((filter, None)),
        }
    }
    out
}

/// Places every block reached by a jump into the program (`_gen_bpf_build_bpf`). From
/// the end of the program backwards, the first block with a jump to a block not placed
/// yet gets that block right after it, the last instruction's targets first, true before
/// false; then the search restarts from the end. The placed block gets a reload of the
/// word (and mask) it expects if the block that placed it leaves another one.
fn pull_blocks(gen: &mut Gen, list: &mut Vec<BlockId>) {
    let mut at = list.len() - 1;
    loop {
        let puller = list[at];
        let pulled = gen.blocks[puller].insns.iter().rev().find_map(|insn| {
            [insn.jt, insn.jf].into_iter().find_map(|to| match to {
                To::Block(target) => {
                    let target = gen.blocks[target].original;
                    (!gen.found[target]).then_some(target)
                }
                _ => None,
            })
        });
        match pulled {
            Some(target) => {
                gen.found[target] = true;
                let (leaves, expects) = (gen.blocks[puller].end, gen.blocks[target].start);
                if expects.offset != -1 && leaves != expects {
                    let block = &mut gen.blocks[target];
                    let mut reload = vec![Insn::stmt(Op::Load(expects.offset as u32))];
                    if expects.mask != FULL {
                        reload.push(Insn::stmt(Op::And(expects.mask)));
                    }
                    block.insns.splice(0..0, reload);
                    block.start = UNKNOWN;
                }
                list.insert(at + 1, target);
                at = list.len() - 1;
            }
            None if at == 0 => return,
            None => at -= 1,
        }
    }
}

/// What the accumulator holds during the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Value {
    /// A known value (the syscall number, the arch token, or the initial 0).
    Known(u32),
    /// An argument word, ANDed with `mask`.
    Word { offset: u32, mask: u32 },
}

/// A point of the walk: instruction `insn` of the block at `position`, with the
/// accumulator holding a value.
type At = (usize, usize, Value);

/// Where the walk from a point leads: a return, or the first test of an argument word.
#[derive(Clone)]
enum Step {
    Leaf(Decision),
    Test {
        arg: u8,
        half: Half,
        op: WordOp,
        then: At,
        otherwise: At,
    },
}

impl Program {
    /// The single `jeq` of the block at `position` and where its false branch lands, if
    /// it is a chain link: that landing is the next block.
    fn link(&self, position: usize) -> Result<Option<u32>, Failure> {
        let block = &self.blocks[self.list[position]];
        let [Insn {
            op: Op::Jeq(k), jf, ..
        }] = block.insns.as_slice()
        else {
            return Ok(None);
        };
        let lands = self.jump(position, 0, *jf)?;
        Ok((lands == (position + 1, 0)).then_some(*k))
    }

    /// Fills [`Program::chains`].
    fn find_chains(&mut self) -> Result<(), Failure> {
        let mut chain_of = vec![None; self.list.len()];
        let mut chains = Vec::new();
        let mut position = 0;
        while position < self.list.len() {
            let start = position;
            let mut matches: HashMap<u32, Vec<usize>> = HashMap::default();
            while position < self.list.len() {
                let Some(k) = self.link(position)? else { break };
                matches.entry(k).or_default().push(position);
                chain_of[position] = Some(chains.len());
                position += 1;
            }
            if position > start {
                // The last link's false branch lands on `position`, the block after it.
                chains.push(Chain {
                    matches,
                    exit: (position, 0),
                });
            } else {
                position += 1;
            }
        }
        self.chain_of = chain_of;
        self.chains = chains;
        Ok(())
    }

    /// Where the walk through the chain holding `position` goes with `value` in the
    /// accumulator: the first link from `position` on comparing with it (whose true
    /// branch is then taken), or the chain's exit.
    fn through_chain(&self, chain: usize, position: usize, value: u32) -> (usize, usize) {
        let chain = &self.chains[chain];
        let first = chain.matches.get(&value).and_then(|at| {
            let index = at.partition_point(|&p| p < position);
            at.get(index).copied()
        });
        match first {
            Some(at) => (at, 0),
            None => chain.exit,
        }
    }

    /// What the program does for syscall `nr` of the ABI whose audit token is `arch`,
    /// as a tree of tests on the arguments. Tests of the known words (number, arch) are
    /// followed; each test of an argument word becomes a [`Node::Test`]. Every jump goes
    /// forward, so the walk ends; it keeps its own stack, since a path may test as many
    /// words as a level has nodes.
    pub(super) fn tree(&self, arch: u32, nr: u32) -> Result<Arc<Node>, Failure> {
        let start: At = (0, 0, Value::Known(0));
        // Most syscalls reach a return without testing an argument: no walk to keep.
        let first = self.step(start, arch, nr)?;
        if let Step::Leaf(decision) = first {
            return Ok(Arc::new(Node::Leaf(decision)));
        }
        // Sized for the trees of common profiles, so that they rarely grow.
        let mut steps: HashMap<At, Step> =
            HashMap::with_capacity_and_hasher(32, Default::default());
        steps.insert(start, first);
        let mut nodes: HashMap<At, Arc<Node>> =
            HashMap::with_capacity_and_hasher(32, Default::default());
        let mut stack = vec![start];
        while let Some(&at) = stack.last() {
            if nodes.contains_key(&at) {
                stack.pop();
                continue;
            }
            let step = match steps.get(&at) {
                Some(step) => step.clone(),
                None => {
                    let step = self.step(at, arch, nr)?;
                    steps.insert(at, step.clone());
                    step
                }
            };
            let node = match step {
                Step::Leaf(decision) => Arc::new(Node::Leaf(decision)),
                Step::Test {
                    arg,
                    half,
                    op,
                    then,
                    otherwise,
                } => match (nodes.get(&then), nodes.get(&otherwise)) {
                    (Some(then), Some(otherwise)) => {
                        let (then, otherwise) = (then.clone(), otherwise.clone());
                        Arc::new(Node::Test {
                            arg,
                            half,
                            op,
                            then,
                            otherwise,
                        })
                    }
                    (then_done, _) => {
                        stack.push(if then_done.is_some() { otherwise } else { then });
                        continue;
                    }
                },
            };
            nodes.insert(at, node);
            stack.pop();
        }
        nodes.get(&start).cloned().ok_or(Failure::Malformed)
    }

    /// Runs from `at` to the next return or test of an argument word.
    fn step(&self, at: At, arch: u32, nr: u32) -> Result<Step, Failure> {
        let (mut position, mut insn, mut acc) = at;
        loop {
            if let (0, Value::Known(v), Some(Some(chain))) =
                (insn, acc, self.chain_of.get(position))
            {
                let (to, _) = self.through_chain(*chain, position, v);
                if to != position {
                    (position, insn) = (to, 0);
                    continue;
                }
            }
            let block = &self.blocks[*self.list.get(position).ok_or(Failure::Malformed)?];
            let Some(current) = block.insns.get(insn) else {
                position += 1;
                insn = 0;
                continue;
            };
            let (k, holds): (u32, fn(u32, u32) -> bool) = match current.op {
                Op::Load(offset) => {
                    acc = match offset {
                        NR => Value::Known(nr),
                        ARCH => Value::Known(arch),
                        _ => Value::Word { offset, mask: FULL },
                    };
                    insn += 1;
                    continue;
                }
                Op::And(mask) => {
                    acc = match acc {
                        Value::Known(v) => Value::Known(v & mask),
                        Value::Word { offset, mask: m } => Value::Word {
                            offset,
                            mask: m & mask,
                        },
                    };
                    insn += 1;
                    continue;
                }
                Op::Ret(value) => return Ok(Step::Leaf(self.decision(value))),
                Op::Jeq(k) => (k, |a, k| a == k),
                Op::Jgt(k) => (k, |a, k| a > k),
                Op::Jge(k) => (k, |a, k| a >= k),
            };
            match acc {
                Value::Known(v) => {
                    let to = if holds(v, k) { current.jt } else { current.jf };
                    (position, insn) = self.jump(position, insn, to)?;
                }
                Value::Word { offset, mask } => {
                    let (arg, half, op) = word_test(offset, mask, current.op)?;
                    let (tp, ti) = self.jump(position, insn, current.jt)?;
                    let (fp, fi) = self.jump(position, insn, current.jf)?;
                    let (then, otherwise) = ((tp, ti, acc), (fp, fi, acc));
                    return Ok(Step::Test {
                        arg,
                        half,
                        op,
                        then,
                        otherwise,
                    });
                }
            }
        }
    }

    /// Where a jump from instruction `insn` of the block at `position` goes.
    fn jump(&self, position: usize, insn: usize, to: To) -> Result<(usize, usize), Failure> {
        match to {
            To::Block(target) => Ok((self.landing(position, target)?, 0)),
            To::Fall => Ok((position, insn + 1)),
            To::Sibling | To::Level(_) | To::AfterSection(_) => Err(Failure::Malformed),
        }
    }

    /// The position of the first block after `from` sharing `target`'s hash: where a
    /// jump to `target` lands.
    fn landing(&self, from: usize, target: BlockId) -> Result<usize, Failure> {
        let original = self.blocks[target].original;
        let positions = &self.positions;
        let index = positions.partition_point(|&entry| entry <= (original, from));
        match positions.get(index) {
            Some(&(block, position)) if block == original => Ok(position),
            _ => Err(Failure::BackwardJump),
        }
    }

    fn decision(&self, value: u32) -> Decision {
        if value == self.default.ret() {
            Decision::Default
        } else {
            Decision::Act(Action::from_ret(value))
        }
    }
}

/// The [`Node::Test`] fields for a jump on an argument word.
fn word_test(offset: u32, mask: u32, op: Op) -> Result<(u8, Half, WordOp), Failure> {
    if !ARGS.contains(&offset) {
        return Err(Failure::Malformed);
    }
    let arg = u8::try_from((offset - ARGS.start) / 8).map_err(|_| Failure::Malformed)?;
    let half = if (offset - ARGS.start) % 8 == 0 {
        Half::Lo
    } else {
        Half::Hi
    };
    let op = match (op, mask) {
        (Op::Jeq(k), FULL) => WordOp::Eq(k),
        (Op::Jgt(k), FULL) => WordOp::Gt(k),
        (Op::Jge(k), FULL) => WordOp::Ge(k),
        (Op::Jeq(value), mask) => WordOp::MaskedEq { mask, value },
        (Op::Jgt(value), mask) => WordOp::MaskedGt { mask, value },
        (Op::Jge(value), mask) => WordOp::MaskedGe { mask, value },
        _ => return Err(Failure::Malformed),
    };
    Ok((arg, half, op))
}
