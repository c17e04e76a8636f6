//! One ABI's part of the filter: its syscalls and their trees, and how a rule reaches
//! them (`src/db.c db_rule_add`, `src/arch.c arch_filter_rule_add`, `src/syscalls.c
//! abi_rule_add`).

use std::collections::hash_map;

use rustc_hash::FxHashMap as HashMap;

use crate::action::Action;
use crate::arch::Abi;

use super::chain::{self, ArgCmp, RuleArgs};
use super::tree::{Exists, Scan, Slot, Tree, UNSET_ACTION};
use super::CmpOp;

/// i386 `socketcall`, the multiplexer of the socket calls (`arch-x86.c`).
pub(super) const I386_SOCKETCALL: u32 = 102;
/// i386 `ipc`, the multiplexer of the System V IPC calls (`arch-x86.c`).
pub(super) const I386_IPC: u32 = 117;

/// The socket calls libseccomp routes through `socketcall` on i386, with the call number
/// `socketcall` takes in its first argument (`SYS_SOCKET` ...; libseccomp's `__PNR_*`
/// values are -100 minus it).
const SOCKET_CALLS: [(&str, u64); 20] = [
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];

/// The IPC calls libseccomp routes through `ipc` on i386, with the `ipc` call number
/// (`SEMOP` ...; the `__PNR_*` values are -200 minus it).
const IPC_CALLS: [(&str, u64); 12] = [
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// The multiplexer syscall and call number a rule for `name` also goes to on `abi`, if
/// libseccomp multiplexes it there. Of the supported ABIs only i386 has `abi_rule_add`.
pub(super) fn multiplexer(abi: Abi, name: &str) -> Option<(u32, u64)> {
    if abi != Abi::X86 {
        return None;
    }
    let find = |table: &[(&str, u64)]| table.iter().find(|(n, _)| *n == name).map(|e| e.1);
    find(&SOCKET_CALLS)
        .map(|call| (I386_SOCKETCALL, call))
        .or_else(|| find(&IPC_CALLS).map(|call| (I386_IPC, call)))
}

/// Where libseccomp files a rule: a syscall number, or the pseudo number a name has on an
/// ABI that lacks it. Pseudo numbers (`__PNR_*`) are unique per name; the database gives
/// each name it files under one a number of its own ([`super::Database`]). Entries under
/// pseudo numbers never reach the program, and their order among themselves decides
/// nothing, but they are merged like the others and can make a later rule fail with
/// `EEXIST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum SysKey {
    Nr(u32),
    Pseudo(u32),
}

/// The tree of every syscall without one.
static EMPTY_TREE: Tree = Tree::new();

/// The chain part of a syscall's priority (`_DB_PRI_MASK_CHAIN`): code generation
/// checks syscalls with fewer nodes first.
const PRIORITY_CHAIN: u32 = 0xffff;

/// One syscall (`struct db_sys_list`): a tree, or an unconditional action when the tree
/// is empty.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    /// The tree, boxed and only once a rule with conditions came: most syscalls never
    /// have one, and a profile's tables hold a few hundred entries per ABI.
    tree: Option<Box<Tree>>,
    pub action: Action,
    /// libseccomp's running count of the tree's nodes. It follows libseccomp's
    /// arithmetic (unsigned, wrapping) rather than the real count: only the priority
    /// derived from it matters.
    node_cnt: u32,
    /// The order of code generation: highest first, ties in syscall number order.
    pub priority: u32,
}

impl Entry {
    /// The entry a syscall's first rule creates.
    fn first(wide: bool, action: Action, args: &RuleArgs) -> Entry {
        let mut tree = Tree::new();
        let chain = chain::build(&mut tree, wide, action, args);
        tree.root = chain.first;
        let mut entry = Entry::unconditional(action);
        if chain.first.is_some() {
            entry.action = UNSET_ACTION;
        }
        if tree.len() > 0 {
            entry.tree = Some(Box::new(tree));
        }
        entry.node_cnt = chain.nodes;
        entry.priority = PRIORITY_CHAIN.wrapping_sub(chain.nodes);
        entry
    }

    /// The entry a syscall's first rule creates when it has no conditions: what
    /// [`Entry::first`] makes of an empty chain.
    fn unconditional(action: Action) -> Entry {
        Entry {
            tree: None,
            action,
            node_cnt: 0,
            priority: PRIORITY_CHAIN,
        }
    }

    /// The syscall's tree (empty for an unconditional action).
    pub(super) fn tree(&self) -> &Tree {
        self.tree.as_deref().unwrap_or(&EMPTY_TREE)
    }

    fn tree_mut(&mut self) -> &mut Tree {
        self.tree.get_or_insert_with(Box::default)
    }

    /// Merges a later rule (`db_rule_add` on an existing syscall).
    fn merge(&mut self, wide: bool, action: Action, args: &RuleArgs) -> Result<(), Exists> {
        if self.tree.is_none() && args.iter().all(Option::is_none) {
            // What the general case does here: the unconditional rule already there
            // wins, and an empty chain has nothing to release.
            self.update_priority();
            return Ok(());
        }
        let chain = chain::build(self.tree_mut(), wide, action, args);
        let new = chain.first;
        let mut pruned = false;
        loop {
            match (self.tree_mut().root, new) {
                (None, _) if pruned => {
                    // The pruning emptied the tree: the new chain replaces it.
                    self.tree_mut().root = new;
                    self.action = if new.is_some() { UNSET_ACTION } else { action };
                    self.node_cnt = chain.nodes;
                    self.priority = PRIORITY_CHAIN.wrapping_sub(chain.nodes);
                }
                (None, _) => {
                    // An unconditional rule is already there and wins.
                    self.tree_mut().release_tree(new);
                }
                (Some(root), None) => {
                    // A later unconditional rule replaces every condition.
                    self.tree_mut().release_tree(Some(root));
                    self.tree_mut().root = None;
                    self.node_cnt = 0;
                    self.action = action;
                }
                (Some(root), Some(first)) => {
                    let mut scan = Scan::new(action);
                    let freed = self.tree_mut().prune(Some(root), first, &mut scan);
                    if freed > 0 {
                        pruned = true;
                        self.forget(freed);
                        if self.tree_mut().root.is_none() {
                            continue;
                        }
                    } else if scan.redundant() {
                        // The tree already decides the new chain's calls.
                        self.tree_mut().release_tree(new);
                        self.update_priority();
                        return Ok(());
                    }
                    let freed = self.tree_mut().add(Slot::Root, first)?;
                    self.forget(freed);
                    self.node_cnt = self.node_cnt.wrapping_add(chain.nodes);
                    let freed = self.tree_mut().release_tree(new);
                    self.forget(freed);
                }
            }
            self.update_priority();
            return Ok(());
        }
    }

    fn forget(&mut self, freed: usize) {
        self.node_cnt = self.node_cnt.wrapping_sub(freed as u32);
    }

    /// The priority from the node count, as `db_rule_add` recomputes it after a merge.
    fn update_priority(&mut self) {
        self.priority =
            (self.priority & !PRIORITY_CHAIN) | PRIORITY_CHAIN.wrapping_sub(self.node_cnt);
    }
}

/// Where an unconditional rule went on the fast path.
pub(super) enum Fresh {
    /// Under this key, which had no entry yet.
    Filed(SysKey),
    /// Nowhere on this ABI.
    Skipped,
    /// Not without the general path.
    Taken,
}

/// Why a rule could not be added to one ABI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum AddFailure {
    /// `EEXIST` on this syscall.
    Exists(SysKey),
    /// libseccomp never returns while merging into this syscall.
    Loops(SysKey),
}

/// The previous state of every entry a rule touched, so that a rule that fails on one
/// ABI leaves no trace on any (libseccomp's transaction in `db_col_rule_add`).
#[derive(Clone, Debug, Default)]
pub(super) struct Journal {
    saved: Vec<(usize, SysKey, Option<Entry>)>,
}

impl Journal {
    fn save(&mut self, filter: usize, key: &SysKey, entry: Option<&Entry>) {
        if !self.saved.iter().any(|(f, k, _)| *f == filter && k == key) {
            self.saved.push((filter, *key, entry.cloned()));
        }
    }

    /// Forgets what was saved: the rule stays.
    pub(super) fn clear(&mut self) {
        self.saved.clear();
    }

    /// Puts every touched entry back as it was, and forgets it.
    pub(super) fn roll_back(&mut self, filters: &mut [Filter]) {
        for (index, key, entry) in self.saved.drain(..).rev() {
            let Some(filter) = filters.get_mut(index) else {
                continue;
            };
            match entry {
                Some(entry) => filter.entries.insert(key, entry),
                None => filter.entries.remove(&key),
            };
        }
    }
}

/// One ABI's syscalls (`struct db_filter`).
#[derive(Clone, Debug)]
pub(super) struct Filter {
    pub abi: Abi,
    /// Unordered: see [`Filter::sorted`] for libseccomp's list order.
    pub entries: HashMap<SysKey, Entry>,
}

impl Filter {
    pub(super) fn new(abi: Abi) -> Filter {
        Filter {
            abi,
            entries: HashMap::default(),
        }
    }

    /// The entries in libseccomp's list order: real numbers ascending, then the pseudo
    /// numbers.
    pub(super) fn sorted(&self) -> Vec<(&SysKey, &Entry)> {
        let mut entries: Vec<_> = self.entries.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries
    }

    /// The same ABI with only the real syscalls that have argument trees.
    pub(super) fn argued_only(&self) -> Filter {
        let entries = self
            .entries
            .iter()
            .filter(|(key, entry)| matches!(key, SysKey::Nr(_)) && entry.tree().root.is_some());
        Filter {
            abi: self.abi,
            entries: entries.map(|(k, e)| (*k, e.clone())).collect(),
        }
    }

    /// Files an unconditional rule for `name` the way [`super::Database`]'s fast path
    /// can: what [`Filter::add_rule`] does with a rule without conditions when `direct`
    /// (the name's number on this ABI, or its pseudo number) has no entry yet, which is
    /// to create one, or, for a pseudo number on i386, nothing. Multiplexed calls and
    /// keys with an entry take the general path, and change nothing here.
    pub(super) fn file_fresh(&mut self, name: &str, direct: SysKey, action: Action) -> Fresh {
        if multiplexer(self.abi, name).is_some() {
            return Fresh::Taken;
        }
        if matches!(direct, SysKey::Pseudo(_)) && self.abi == Abi::X86 {
            return Fresh::Skipped;
        }
        match self.entries.entry(direct) {
            // `Entry::first` of a rule without conditions.
            hash_map::Entry::Vacant(vacant) => {
                vacant.insert(Entry::unconditional(action));
                Fresh::Filed(direct)
            }
            hash_map::Entry::Occupied(_) => Fresh::Taken,
        }
    }

    /// Adds a rule for `name` (`arch_filter_rule_add`): the name is translated to this
    /// ABI, and on i386 the socket and IPC calls go to their multiplexer too, the
    /// multiplexer first (`abi_rule_add`). `direct` is where the name files on this ABI:
    /// its number, or its pseudo number where the ABI lacks it.
    pub(super) fn add_rule(
        &mut self,
        index: usize,
        name: &str,
        direct: SysKey,
        action: Action,
        args: &RuleArgs,
        journal: &mut Journal,
    ) -> Result<(), AddFailure> {
        if let Some((mux, call)) = multiplexer(self.abi, name) {
            // The call number replaces the rule's condition on argument 0; the other
            // conditions stay, now applied to the multiplexer's arguments.
            let mut muxed = *args;
            muxed[0] = Some(ArgCmp {
                op: CmpOp::Eq,
                mask: u64::MAX,
                datum: call,
            });
            self.add_to(index, SysKey::Nr(mux), action, &muxed, journal)?;
            return self.add_to(index, direct, action, args, journal);
        }
        if matches!(direct, SysKey::Pseudo(_)) && self.abi == Abi::X86 {
            // i386's `abi_rule_add` drops pseudo numbers other than the multiplexed
            // calls; the other ABIs file them like real numbers (`db_rule_add`).
            return Ok(());
        }
        self.add_to(index, direct, action, args, journal)
    }

    /// `db_rule_add` for one syscall.
    fn add_to(
        &mut self,
        index: usize,
        key: SysKey,
        action: Action,
        args: &RuleArgs,
        journal: &mut Journal,
    ) -> Result<(), AddFailure> {
        let wide = self.abi.is_64bit();
        let occupied = match self.entries.entry(key) {
            hash_map::Entry::Vacant(vacant) => {
                journal.save(index, vacant.key(), None);
                vacant.insert(Entry::first(wide, action, args));
                return Ok(());
            }
            hash_map::Entry::Occupied(occupied) => occupied,
        };
        journal.save(index, occupied.key(), Some(occupied.get()));
        let key = *occupied.key();
        let entry = occupied.into_mut();
        let merged = entry.merge(wide, action, args);
        if entry.tree().corrupt {
            return Err(AddFailure::Loops(key));
        }
        merged.map_err(|Exists| AddFailure::Exists(key))
    }
}
