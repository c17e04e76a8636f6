//! Compilation: from resolved rules to a BPF program, as runc's `InitSeccomp`
//! (`libcontainer/seccomp/seccomp_linux.go`) and `patchbpf` build theirs.

use std::collections::BTreeMap;

use crate::arch::Abi;
use crate::bpf::sock_filter;
use crate::codegen::{self, CodegenError, Plan};
use crate::db::{Cond, Database, DbError};
use crate::resolve::{Resolved, Rule};
use crate::syscalls::{self, Syscall};

/// A compiled filter and what went into it.
#[derive(Debug)]
pub struct Compiled {
    /// The program to install.
    pub program: Vec<sock_filter>,
    /// The rule database the program was generated from, for `explain`.
    pub db: Database,
    /// The stub thresholds and ABIs.
    pub plan: Plan,
    /// Rule names no syscall table knows, with their location: ignored, as runc ignores
    /// names libseccomp does not know.
    pub unknown_names: Vec<(String, String)>,
    /// Rules skipped because their action equals the default, as runc skips them.
    pub redundant_rules: usize,
}

/// Why a resolved profile could not be compiled. `location` is a JSON path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct CompileError {
    /// Where in the profile.
    pub location: String,
    /// What went wrong.
    pub kind: CompileErrorKind,
}

/// What went wrong while compiling.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileErrorKind {
    #[error("argument index {0} is out of range (syscalls have arguments 0 to 5)")]
    IndexOutOfRange(u64),
    #[error("unknown syscall {0:?} (strict mode rejects names no syscall table knows)")]
    UnknownSyscall(String),
    #[error("{source}")]
    Rule { name: String, source: DbError },
    #[error("invalid default action: {0}")]
    InvalidDefault(DbError),
    #[error("{0}")]
    Codegen(#[from] CodegenError),
}

/// Compiles `resolved`. With `strict`, a rule naming an unknown syscall is an error
/// instead of being ignored.
pub fn compile(resolved: &Resolved, strict: bool) -> Result<Compiled, CompileError> {
    generate(file(resolved, strict)?)
}

/// The rules filed in the database, and what code generation needs besides: the first
/// half of [`compile`], after which the rules themselves are no longer read.
pub(crate) struct Filed {
    db: Database,
    plan: Plan,
    unknown_names: Vec<(String, String)>,
    redundant_rules: usize,
}

/// Files the rules of `resolved` in a database, as runc adds them to libseccomp's.
pub(crate) fn file(resolved: &Resolved, strict: bool) -> Result<Filed, CompileError> {
    let default = resolved.default_action;
    let mut db = Database::try_new(default, &resolved.abis, syscalls::number).map_err(|e| {
        let location = "defaultErrnoRet".to_string();
        CompileError {
            location,
            kind: CompileErrorKind::InvalidDefault(e),
        }
    })?;
    // runc asks libseccomp for its binary-tree layout when its flattened rule list,
    // skipped rules included, is longer than 32 (`seccomp_linux.go`).
    db.set_binary_tree(resolved.rules.len() > 32);
    db.reserve(resolved.rules.len());
    let mut unknown_names = Vec::new();
    let mut redundant_rules = 0;
    for rule in &resolved.rules {
        // runc compares the whole action, errno included, and skips before anything else.
        if rule.action == default {
            redundant_rules += 1;
            continue;
        }
        let Some(syscall) = rule.syscall() else {
            if strict {
                let kind = CompileErrorKind::UnknownSyscall(rule.name.to_string());
                return Err(CompileError {
                    location: rule.location.to_string(),
                    kind,
                });
            }
            unknown_names.push((rule.name.to_string(), rule.location.to_string()));
            continue;
        };
        add_rule(&mut db, rule, syscall)?;
    }
    let plan = Plan {
        default_action: default,
        abis: resolved.abis.clone(),
        stub_max: stub_max(resolved),
    };
    Ok(Filed {
        db,
        plan,
        unknown_names,
        redundant_rules,
    })
}

/// Generates the program for the filed rules: the second half of [`compile`].
pub(crate) fn generate(filed: Filed) -> Result<Compiled, CompileError> {
    let program = codegen::generate(&filed.db, &filed.plan).map_err(|e| CompileError {
        location: "syscalls".to_string(),
        kind: CompileErrorKind::Codegen(e),
    })?;
    Ok(Compiled {
        program,
        db: filed.db,
        plan: filed.plan,
        unknown_names: filed.unknown_names,
        redundant_rules: filed.redundant_rules,
    })
}

/// One rule into the database, split as runc splits it: when an argument index repeats,
/// every condition becomes a rule of its own (an OR), since libseccomp cannot compare the
/// same argument twice in one rule.
fn add_rule(db: &mut Database, rule: &Rule, syscall: Syscall) -> Result<(), CompileError> {
    if let Some((k, index)) = rule.bad_index {
        let location = format!("{}.args[{k}].index", rule.location.entry_path());
        return Err(CompileError {
            location,
            kind: CompileErrorKind::IndexOutOfRange(index),
        });
    }
    let fail = |source| CompileError {
        location: rule.location.to_string(),
        kind: CompileErrorKind::Rule {
            name: rule.name.to_string(),
            source,
        },
    };
    if repeats_an_index(&rule.conds) {
        for cond in &rule.conds {
            let conds = std::slice::from_ref(cond);
            db.add_syscall_rule(syscall, rule.action, conds)
                .map_err(fail)?;
        }
        Ok(())
    } else {
        db.add_syscall_rule(syscall, rule.action, &rule.conds)
            .map_err(fail)
    }
}

fn repeats_an_index(conds: &[Cond]) -> bool {
    let mut seen = [false; 256];
    conds
        .iter()
        .any(|c| std::mem::replace(&mut seen[usize::from(c.arg)], true))
}

/// runc's stub thresholds (`findLastSyscalls`): per ABI, the highest number any rule's
/// name has there, whatever the rule's action, as libseccomp resolves names. An ABI
/// whose highest number is 0 gets no stub, as in runc. No stub at all when the default
/// action lets calls run.
fn stub_max(resolved: &Resolved) -> BTreeMap<Abi, u32> {
    let mut out = BTreeMap::new();
    if resolved.default_action.may_run() {
        return out;
    }
    for abi in &resolved.abis {
        let numbers = resolved.rules.iter().filter_map(|r| stub_number(*abi, r));
        if let Some(max) = numbers.max().filter(|m| *m > 0) {
            out.insert(*abi, max);
        }
    }
    out
}

/// A name's number as runc's `GetSyscallFromNameByArch` sees it: libseccomp resolves the
/// i386 socket and IPC calls to pseudo numbers (they go through `socketcall`/`ipc`), so
/// they never raise the i386 threshold.
fn stub_number(abi: Abi, rule: &Rule) -> Option<u32> {
    let number = rule.syscall()?.number(abi)?;
    if crate::db::is_multiplexed(abi, &rule.name) {
        return None;
    }
    Some(number)
}
