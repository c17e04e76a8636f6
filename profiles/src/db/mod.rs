//! The rule database: libseccomp 2.5.4's merging of rules, per ABI and syscall, into the
//! decision trees its code generator compiles.
//!
//! runc hands libseccomp one rule at a time (`seccomp_rule_add`); libseccomp files each
//! under every ABI of the filter and merges it with the rules already there. The merge
//! is not a plain "first match wins" list: an unconditional rule already present wins
//! over later ones, a later unconditional rule replaces conditional ones, comparisons are
//! ordered by argument and operator rather than by rule order, and a rule repeating a
//! comparison with another action fails. [`Database`] reproduces that merge node for
//! node, so the [`Node`] tree of each syscall is the one libseccomp's program evaluates:
//! the same tests of the same words in the same order, with the same outcomes.
//!
//! # Terms
//! - A *condition* ([`Cond`]) compares one syscall argument; a *rule* is a syscall name,
//!   an action and conditions that must all hold.
//! - On a 64-bit ABI each condition becomes two or three tests of 32-bit words; on a
//!   32-bit ABI (x32 included) one test of the low word, with the datum truncated.
//! - A syscall's [`Node`] tree ends in a [`Decision`]: an action, or the filter's default
//!   action when no rule matched.
//!
//! # Example
//! ```
//! use profiles::action::Action;
//! use profiles::arch::Abi;
//! use profiles::db::{CmpOp, Cond, Database};
//!
//! fn numbers(abi: Abi, name: &str) -> Option<u32> {
//!     match (abi, name) {
//!         (Abi::X86_64, "personality") => Some(135),
//!         _ => None,
//!     }
//! }
//!
//! let mut db = Database::new(Action::Errno(1), &[Abi::X86_64], numbers);
//! let gt = Cond { arg: 0, op: CmpOp::Gt, datum_a: 10, datum_b: 0 };
//! let eq = Cond { arg: 0, op: CmpOp::Eq, datum_a: 20, datum_b: 0 };
//! db.add_rule("personality", Action::Errno(38), &[gt])?;
//! db.add_rule("personality", Action::Allow, &[eq])?;
//! // Equality tests come before range tests, whatever the rule order.
//! assert_eq!(db.decide(Abi::X86_64, 135, &[20, 0, 0, 0, 0, 0]), Some(Action::Allow));
//! assert_eq!(db.decide(Abi::X86_64, 135, &[30, 0, 0, 0, 0, 0]), Some(Action::Errno(38)));
//! assert_eq!(db.decide(Abi::X86_64, 135, &[5, 0, 0, 0, 0, 0]), Some(Action::Errno(1)));
//! assert_eq!(db.decide(Abi::X86_64, 0, &[0; 6]), None);
//! # Ok::<(), profiles::db::DbError>(())
//! ```

mod chain;
mod filter;
mod node;
mod program;
mod tree;

#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

use rustc_hash::FxHashMap as HashMap;

use crate::action::Action;
use crate::arch::{Abi, X32_SYSCALL_BIT};
use crate::syscalls::Syscall;

use chain::{ArgCmp, RuleArgs};
use filter::{AddFailure, Filter, Fresh, Journal, SysKey};

pub use node::{Decision, Half, Node, WordOp};

/// A comparison operator (`SCMP_CMP_*`); all comparisons are unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `A != datum_a`.
    Ne,
    /// `A < datum_a`.
    Lt,
    /// `A <= datum_a`.
    Le,
    /// `A == datum_a`.
    Eq,
    /// `A >= datum_a`.
    Ge,
    /// `A > datum_a`.
    Gt,
    /// `A & datum_a == datum_b & datum_a`.
    MaskedEq,
}

/// One argument comparison as libseccomp receives it (`struct scmp_arg_cmp`): `datum_a`
/// is the profile's `value` (the mask for [`CmpOp::MaskedEq`]), `datum_b` its `valueTwo`,
/// used only by `MaskedEq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cond {
    pub arg: u8,
    pub op: CmpOp,
    pub datum_a: u64,
    pub datum_b: u64,
}

/// Resolves a syscall name to its number on an ABI (x32 numbers carry bit 30), `None`
/// if the ABI lacks it.
pub type Resolver = fn(Abi, &str) -> Option<u32>;

/// The first pseudo number of names the syscall tables do not know, above every place
/// in the tables.
const OTHER_PSEUDO: u32 = 1 << 16;

/// The largest errno libseccomp accepts in `SCMP_ACT_ERRNO`, plus one (`MAX_ERRNO` in
/// `src/system.c sys_chk_seccomp_action`).
const MAX_ERRNO: u16 = 4095;

/// libseccomp's limit on conditions per rule (`ARG_COUNT_MAX`), one per argument.
const MAX_CONDITIONS: usize = 6;

/// Why libseccomp refuses a rule. Each variant is one `seccomp_rule_add` error, see
/// [`DbError::errno`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    #[error("adding rule for {name:?}: {count} conditions, more than libseccomp's 6")]
    TooManyConditions { name: String, count: usize },
    #[error("adding rule for {name:?}: action {action} is invalid (errno must be below 4095)")]
    InvalidAction { name: String, action: Action },
    #[error("adding rule for {name:?}: action {action} is the filter's default action")]
    DefaultAction { name: String, action: Action },
    #[error("adding rule for {name:?}: argument index {arg} is out of range (0 to 5)")]
    ArgOutOfRange { name: String, arg: u8 },
    #[error("adding rule for {name:?}: two conditions on argument {arg}")]
    RepeatedArg { name: String, arg: u8 },
    #[error(
        "adding rule for {name:?} on {abi}: {target} already has a rule with the same \
         comparison and another action"
    )]
    Conflict {
        name: String,
        abi: Abi,
        target: String,
    },
    #[error(
        "adding rule for {name:?} on {abi}: libseccomp 2.5.4 never returns while merging it \
         into {target} (the merge leaves a level whose links form a cycle)"
    )]
    NeverReturns {
        name: String,
        abi: Abi,
        target: String,
    },
    #[error("generating the program as libseccomp would: {reason}")]
    Program { reason: &'static str },
    #[error("creating filter: default action {action} is invalid (errno must be below 4095)")]
    InvalidDefault { action: Action },
}

impl DbError {
    /// The errno `seccomp_rule_add` (or `seccomp_init`) fails with for this error.
    /// `NeverReturns` has none (libseccomp hangs, or overflows its stack); it reports
    /// `ELOOP`. `Program` reports `EFAULT`, as libseccomp's export does where it cannot lay
    /// the program out.
    pub fn errno(&self) -> i32 {
        match self {
            DbError::TooManyConditions { .. }
            | DbError::InvalidAction { .. }
            | DbError::ArgOutOfRange { .. }
            | DbError::RepeatedArg { .. }
            | DbError::InvalidDefault { .. } => libc::EINVAL,
            DbError::DefaultAction { .. } => libc::EACCES,
            DbError::Conflict { .. } => libc::EEXIST,
            DbError::NeverReturns { .. } => libc::ELOOP,
            DbError::Program { .. } => libc::EFAULT,
        }
    }
}

/// Whether libseccomp resolves `name` on `abi` to a multiplexed pseudo number: the
/// i386 socket and IPC calls, which it files under `socketcall`/`ipc` as well as under
/// their own number.
pub fn is_multiplexed(abi: Abi, name: &str) -> bool {
    filter::multiplexer(abi, name).is_some()
}

/// Whether libseccomp accepts `action` in a filter (`sys_chk_seccomp_action`). The
/// actions that depend on the kernel (`KILL_PROCESS`, `LOG`, `NOTIFY`) are taken as
/// available: every kernel seclaunch supports has them.
pub fn action_is_valid(action: Action) -> bool {
    match action {
        Action::Errno(errno) => errno < MAX_ERRNO,
        _ => true,
    }
}

/// Per filter, the decision tree of each real syscall number with rules, in number
/// order.
type Trees = Vec<Vec<(u32, Arc<Node>)>>;

/// The rules of a filter, merged per ABI and syscall as libseccomp merges them.
#[derive(Clone, Debug)]
pub struct Database {
    default: Action,
    resolver: Resolver,
    filters: Vec<Filter>,
    /// libseccomp lays the program out as a binary tree (`SCMP_FLTATR_CTL_OPTIMIZE` 2).
    binary_tree: bool,
    /// The decision trees, read off the emulated program when first asked for; cleared
    /// by every change.
    trees: OnceLock<Result<Trees, DbError>>,
    /// What the rule being added changed, to undo it if an ABI refuses the rule; empty
    /// between rules.
    journal: Journal,
    /// The pseudo number given to each name the tables do not know, once a rule for it
    /// needed one (a rule that then failed keeps its number; their order decides
    /// nothing).
    pseudo: HashMap<Box<str>, u32>,
}

impl Database {
    /// An empty filter. `abis[0]` is the native ABI; the others as added with
    /// `seccomp_arch_add`, in order (an ABI listed twice counts once). The default action
    /// is not checked; see [`Database::try_new`].
    pub fn new(default: Action, abis: &[Abi], resolver: Resolver) -> Database {
        let mut filters: Vec<Filter> = Vec::new();
        for abi in abis {
            if !filters.iter().any(|f| f.abi == *abi) {
                filters.push(Filter::new(*abi));
            }
        }
        Database {
            default,
            resolver,
            filters,
            binary_tree: false,
            trees: OnceLock::new(),
            journal: Journal::default(),
            pseudo: HashMap::default(),
        }
    }

    /// [`Database::new`], failing as `seccomp_init` does on an invalid default action.
    pub fn try_new(default: Action, abis: &[Abi], resolver: Resolver) -> Result<Database, DbError> {
        if !action_is_valid(default) {
            return Err(DbError::InvalidDefault { action: default });
        }
        Ok(Database::new(default, abis, resolver))
    }

    /// The filter's default action.
    pub fn default_action(&self) -> Action {
        self.default
    }

    /// Selects libseccomp's binary-tree layout (`SCMP_FLTATR_CTL_OPTIMIZE` 2) instead of its
    /// default priority order. runc asks for it when its flattened rule list, skipped
    /// rules included, has more than 32 entries (`libcontainer/seccomp/seccomp_linux.go`).
    /// The layout matters to decisions only through [`Database::loses_syscall_number`].
    pub fn set_binary_tree(&mut self, enabled: bool) {
        self.binary_tree = enabled;
        self.trees = OnceLock::new();
    }

    /// Whether libseccomp's program never loads the syscall number for `abi`, so that
    /// every call of that ABI gets the default action whatever the rules say.
    ///
    /// This is a libseccomp 2.5.4 code-generation defect we reproduce: in the default
    /// layout the syscall number is loaded only in the code of the syscall checked first,
    /// the one with the highest priority (fewest tree nodes; ties in number order). When
    /// that one is a pseudo syscall (a name the ABI lacks, filed but never emitted), no
    /// load is emitted at all, and the syscall checks compare the arch token instead
    /// (`gen_bpf.c _gen_bpf_syscalls`: the load goes with `s_head`, which
    /// `_skip_syscall` drops). x86_64 and x32 are safe on their own, where an ABI check
    /// loads the number; together they form one section, which is not. The binary-tree
    /// layout always loads it.
    pub fn loses_syscall_number(&self, abi: Abi) -> bool {
        if self.binary_tree {
            return false;
        }
        let Some(index) = self.filter_index(abi) else {
            return false;
        };
        let partner = match abi {
            Abi::X86_64 => self.filter_index(Abi::X32),
            Abi::X32 => self.filter_index(Abi::X86_64),
            _ => None,
        };
        let section: Vec<&Filter> = match partner {
            None if matches!(abi, Abi::X86_64 | Abi::X32) => return false,
            None => vec![&self.filters[index]],
            // The filter added first is the primary one; its syscalls come first in ties.
            Some(other) => {
                vec![
                    &self.filters[index.min(other)],
                    &self.filters[index.max(other)],
                ]
            }
        };
        let entries = || section.iter().flat_map(|f| f.entries.iter());
        let Some(top) = entries().map(|(_, e)| e.priority).max() else {
            return false;
        };
        // The first in libseccomp's list order: the primary filter's first, and in a
        // filter real numbers ascending, then the pseudo numbers, which are negative and
        // compare as huge unsigned values (as [`SysKey`] orders them).
        let first = section.iter().find_map(|f| {
            let keys = f.entries.iter().filter(|(_, e)| e.priority == top);
            keys.map(|(key, _)| key).min()
        });
        matches!(first, Some(SysKey::Pseudo(_)))
    }

    fn filter_index(&self, abi: Abi) -> Option<usize> {
        self.filters.iter().position(|f| f.abi == abi)
    }

    /// The filter's ABIs, native first.
    pub fn abis(&self) -> impl Iterator<Item = Abi> + '_ {
        self.filters.iter().map(|f| f.abi)
    }

    /// Adds a rule exactly as `seccomp_rule_add(ctx, action, nr, conds)` does, `nr` being
    /// `name` resolved on the native ABI: the rule goes to every ABI of the filter that
    /// knows the name, and if any ABI refuses it, none keeps it.
    ///
    /// runc calls this once per rule, after skipping rules whose action is the default
    /// and names libseccomp does not know; a rule with the default action fails here, as
    /// in libseccomp.
    pub fn add_rule(&mut self, name: &str, action: Action, conds: &[Cond]) -> Result<(), DbError> {
        let resolver = self.resolver;
        let syscall = Syscall::lookup(name);
        self.add_resolved(name, syscall, |abi| resolver(abi, name), action, conds)
    }

    /// [`Database::add_rule`] for a syscall of the tables, whose numbers are the tables'
    /// ([`crate::syscalls::number`]): a caller that has the syscall already spares a
    /// lookup of its name per ABI. Only for a database whose resolver is that function,
    /// as [`crate::compile`]'s is, so that the two ways of adding a rule agree; hence not
    /// public.
    pub(crate) fn add_syscall_rule(
        &mut self,
        syscall: Syscall,
        action: Action,
        conds: &[Cond],
    ) -> Result<(), DbError> {
        let number = |abi| syscall.number(abi);
        self.add_resolved(syscall.name(), Some(syscall), number, action, conds)
    }

    fn add_resolved(
        &mut self,
        name: &str,
        syscall: Option<Syscall>,
        number: impl Fn(Abi) -> Option<u32>,
        action: Action,
        conds: &[Cond],
    ) -> Result<(), DbError> {
        let args = self.rule_args(name, action, conds)?;
        let mut numbers = [None; Abi::ALL.len()];
        for (slot, filter) in numbers.iter_mut().zip(&self.filters) {
            *slot = number(filter.abi);
        }
        // Whether a filter lacks the name, i386 counted or not. The fast path numbers a
        // name only when a filter other than i386's lacks it (i386 files no pseudo number
        // there), the general path whenever one does: as before the fast path took such
        // names, so unknown names are numbered in the same order.
        let lacking = |filters: &[Filter], with_x86: bool| {
            let gap = |(number, filter): (&Option<u32>, &Filter)| {
                number.is_none() && (with_x86 || filter.abi != Abi::X86)
            };
            numbers.iter().zip(filters).any(gap)
        };
        let keys = |pseudo: u32| numbers.map(|n| n.map_or(SysKey::Pseudo(pseudo), SysKey::Nr));
        if args.iter().all(Option::is_none) {
            // i386 files no pseudo number on this path (see `Filter::file_fresh`).
            let pseudo = if lacking(&self.filters, false) {
                self.pseudo_number(name, syscall)
            } else {
                0
            };
            if self.add_fresh(name, &keys(pseudo), action) {
                self.trees = OnceLock::new();
                return Ok(());
            }
        }
        let pseudo = if lacking(&self.filters, true) {
            self.pseudo_number(name, syscall)
        } else {
            0
        };
        let keys = keys(pseudo);
        let journal = &mut self.journal;
        for (index, filter) in self.filters.iter_mut().enumerate() {
            let added = filter.add_rule(index, name, keys[index], action, &args, journal);
            if let Err(failure) = added {
                let abi = filter.abi;
                journal.roll_back(&mut self.filters);
                return Err(rule_error(name, abi, failure));
            }
        }
        journal.clear();
        self.trees = OnceLock::new();
        Ok(())
    }

    /// The pseudo number of `name`, which is `syscall` if the tables know it: the same
    /// for every rule naming it. A known name's is its place in the tables; the others
    /// are numbered from [`OTHER_PSEUDO`] on, in the order first seen.
    fn pseudo_number(&mut self, name: &str, syscall: Option<Syscall>) -> u32 {
        if let Some(syscall) = syscall {
            return u32::from(syscall.position());
        }
        if let Some(number) = self.pseudo.get(name) {
            return *number;
        }
        let count = u32::try_from(self.pseudo.len()).unwrap_or(u32::MAX);
        let number = OTHER_PSEUDO.saturating_add(count);
        self.pseudo.insert(name.into(), number);
        number
    }

    /// Files an unconditional rule for a syscall that no ABI has an entry for yet, which
    /// cannot fail and needs no journal: most of a profile's rules, including the names
    /// an ABI lacks, which it files under their pseudo number. `keys` are the name's,
    /// filter by filter. `false`, having changed nothing, when the rule needs the general
    /// path.
    fn add_fresh(&mut self, name: &str, keys: &[SysKey], action: Action) -> bool {
        let mut filed = [None; Abi::ALL.len()];
        for (index, key) in keys.iter().enumerate().take(self.filters.len()) {
            match self.filters[index].file_fresh(name, *key, action) {
                Fresh::Filed(key) => filed[index] = Some(key),
                Fresh::Skipped => {}
                Fresh::Taken => {
                    // Undo what the earlier ABIs filed: the rule takes the general path.
                    for (filter, key) in self.filters.iter_mut().zip(&filed).take(index) {
                        if let Some(key) = key {
                            filter.entries.remove(key);
                        }
                    }
                    return false;
                }
            }
        }
        true
    }

    /// Makes room for `rules` more syscalls on every ABI, so that filing them does not
    /// grow the tables step by step.
    pub fn reserve(&mut self, rules: usize) {
        for filter in &mut self.filters {
            filter.entries.reserve(rules);
        }
    }

    /// The conditions of a rule indexed by argument, checked in `seccomp_rule_add`'s
    /// order (`seccomp_rule_add_array`, then `db_col_rule_add`).
    fn rule_args(&self, name: &str, action: Action, conds: &[Cond]) -> Result<RuleArgs, DbError> {
        let name = || name.to_string();
        if conds.len() > MAX_CONDITIONS {
            return Err(DbError::TooManyConditions {
                name: name(),
                count: conds.len(),
            });
        }
        if !action_is_valid(action) {
            return Err(DbError::InvalidAction {
                name: name(),
                action,
            });
        }
        if action == self.default {
            return Err(DbError::DefaultAction {
                name: name(),
                action,
            });
        }
        let mut args: RuleArgs = [None; MAX_CONDITIONS];
        for cond in conds {
            let Some(slot) = args.get_mut(usize::from(cond.arg)) else {
                return Err(DbError::ArgOutOfRange {
                    name: name(),
                    arg: cond.arg,
                });
            };
            if slot.is_some() {
                return Err(DbError::RepeatedArg {
                    name: name(),
                    arg: cond.arg,
                });
            }
            *slot = Some(match cond.op {
                CmpOp::MaskedEq => ArgCmp {
                    op: cond.op,
                    mask: cond.datum_a,
                    datum: cond.datum_b,
                },
                op => ArgCmp {
                    op,
                    mask: u64::MAX,
                    datum: cond.datum_a,
                },
            });
        }
        Ok(args)
    }

    /// The decision trees, from the emulated program.
    fn trees(&self) -> &Result<Trees, DbError> {
        self.trees.get_or_init(|| self.read_program())
    }

    fn read_program(&self) -> Result<Trees, DbError> {
        if self.abis().any(|abi| self.loses_syscall_number(abi)) {
            return self.emulate(&self.filters);
        }
        // Only the syscalls with argument trees are emulated: the program is emulated for
        // the accumulator states its argument code runs on, and the others change none.
        // Their blocks compare the syscall number, which no argument code reads, and jump
        // to returns or to other blocks of the dispatch, which are in the program from
        // the start: the blocks the layout pulls in, the reloads it adds, and the order
        // of both are the same without them. A return's place changes no decision.
        let argued: Vec<Filter> = self.filters.iter().map(Filter::argued_only).collect();
        let emulated = self.emulate(&argued)?;
        // The shared leaf of each unconditional return value: a handful per filter.
        let mut leaves: Vec<(u32, Arc<Node>)> = Vec::new();
        let mut out = Vec::with_capacity(self.filters.len());
        for (filter, emulated) in self.filters.iter().zip(&emulated) {
            let mut trees = Vec::with_capacity(filter.entries.len());
            for (key, entry) in &filter.entries {
                let SysKey::Nr(nr) = key else { continue };
                let tree = match entry.tree().root {
                    Some(_) => {
                        let at = emulated.binary_search_by_key(nr, |(n, _)| *n);
                        let at = at.map_err(|_| DbError::Program {
                            reason: "a syscall has no code",
                        })?;
                        emulated[at].1.clone()
                    }
                    None => {
                        let ret = entry.action.ret();
                        match leaves.iter().find(|(r, _)| *r == ret) {
                            Some((_, leaf)) => leaf.clone(),
                            None => {
                                let leaf = Arc::new(Node::Leaf(self.decision(entry.action)));
                                leaves.push((ret, leaf.clone()));
                                leaf
                            }
                        }
                    }
                };
                trees.push((*nr, tree));
            }
            out.push(sorted_by_number(trees));
        }
        Ok(out)
    }

    /// What the program's `ret` of `action` reads back as.
    fn decision(&self, action: Action) -> Decision {
        if action.ret() == self.default.ret() {
            Decision::Default
        } else {
            Decision::Act(Action::from_ret(action.ret()))
        }
    }

    /// Whether emulating only the syscalls with argument trees gives the decision trees
    /// the whole program has. For tests and fuzzing.
    #[doc(hidden)]
    pub fn partial_emulation_agrees(&self) -> bool {
        self.read_program() == self.emulate(&self.filters)
    }

    /// The decision trees of the program libseccomp generates for `filters`, emulated
    /// block by block.
    fn emulate(&self, filters: &[Filter]) -> Result<Trees, DbError> {
        let failed = |failure| DbError::Program {
            reason: match failure {
                program::Failure::Corrupt => "a rule tree is malformed",
                program::Failure::BackwardJump => "a jump has no target after it",
                program::Failure::Malformed => "a path leaves the program",
            },
        };
        let program = program::generate(filters, self.default, self.binary_tree).map_err(failed)?;
        let mut out = Vec::with_capacity(filters.len());
        for filter in filters {
            let mut trees = Vec::with_capacity(filter.entries.len());
            for (key, _) in filter.sorted() {
                if let SysKey::Nr(nr) = key {
                    let tree = program.tree(filter.abi.audit_arch(), *nr).map_err(failed)?;
                    trees.push((*nr, tree));
                }
            }
            out.push(trees);
        }
        Ok(out)
    }

    /// Checks that libseccomp could export the program, which the decision trees come
    /// from. When it could not, [`Database::syscalls`] and [`Database::decide`] report no
    /// rules at all.
    pub fn check_program(&self) -> Result<(), DbError> {
        self.trees().as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// Per ABI, the syscalls that have rules, in ascending number order (x32 numbers with
    /// bit 30), each with its decision tree: what libseccomp's program does once it has
    /// dispatched on the arch and the number. Empty for an ABI not in the filter.
    pub fn syscalls(&self, abi: Abi) -> impl Iterator<Item = (u32, &Node)> {
        let index = self.filter_index(abi);
        let trees = self.trees().as_ref().ok();
        index
            .and_then(|i| trees?.get(i))
            .into_iter()
            .flat_map(|trees| trees.iter().map(|(nr, node)| (*nr, node.as_ref())))
    }

    /// The decision tree of syscall `nr` on `abi`, if it has rules there (see
    /// [`Database::syscalls`]). An x32 number may be given with or without bit 30.
    pub fn tree(&self, abi: Abi, nr: u32) -> Option<&Node> {
        let nr = if abi == Abi::X32 {
            nr | X32_SYSCALL_BIT
        } else {
            nr
        };
        let index = self.filter_index(abi)?;
        let trees = self.trees().as_ref().ok()?.get(index)?;
        let at = trees.binary_search_by_key(&nr, |(n, _)| *n).ok()?;
        trees.get(at).map(|(_, node)| node.as_ref())
    }

    /// The decision libseccomp's filter makes for syscall `nr` of `abi` with these
    /// arguments; `None` when the syscall has no rules on that ABI (the caller applies
    /// the default action). On 32-bit ABIs only the low halves of `args` count.
    pub fn decide(&self, abi: Abi, nr: u32, args: &[u64; 6]) -> Option<Action> {
        Some(match self.tree(abi, nr)?.decide(args) {
            Decision::Act(action) => action,
            Decision::Default => self.default,
        })
    }
}

/// `items`, whose numbers are distinct, in number order. A filter's numbers mostly lie
/// in a range not much wider than their count (0 to about 470, or the x32 range above
/// bit 30), where putting each item in a slot of its own is several times cheaper than
/// a comparison sort; numbers spread wider (arm's private calls at 0xf0000) are sorted.
fn sorted_by_number<T>(mut items: Vec<(u32, T)>) -> Vec<(u32, T)> {
    let numbers = || items.iter().map(|(nr, _)| *nr);
    let (Some(low), Some(high)) = (numbers().min(), numbers().max()) else {
        return items;
    };
    let span = usize::try_from(high - low).unwrap_or(usize::MAX);
    if span >= 4 * items.len() + 64 {
        items.sort_unstable_by_key(|(nr, _)| *nr);
        return items;
    }
    let count = items.len();
    let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(span + 1).collect();
    for (nr, item) in items {
        if let Some(slot) = slots.get_mut((nr - low) as usize) {
            *slot = Some(item);
        }
    }
    let mut sorted = Vec::with_capacity(count);
    for (offset, item) in (0..=high - low).zip(slots) {
        if let Some(item) = item {
            sorted.push((low + offset, item));
        }
    }
    sorted
}

fn rule_error(name: &str, abi: Abi, failure: AddFailure) -> DbError {
    // A rule files under its own pseudo number only: the multiplexers are real numbers.
    let target = |key: &SysKey| match key {
        SysKey::Nr(nr) => format!("syscall {nr}"),
        SysKey::Pseudo(_) => format!("pseudo syscall {name:?}"),
    };
    match failure {
        AddFailure::Exists(key) => DbError::Conflict {
            name: name.to_string(),
            abi,
            target: target(&key),
        },
        AddFailure::Loops(key) => DbError::NeverReturns {
            name: name.to_string(),
            abi,
            target: target(&key),
        },
    }
}
