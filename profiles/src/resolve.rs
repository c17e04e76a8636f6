//! Resolution: from a profile as written to the ordered list of rules runc hands to
//! libseccomp, for one capability set, native architecture and kernel version.
//!
//! This reproduces two programs in sequence. moby's `setupSeccomp`
//! (`moby/profiles seccomp/seccomp_linux.go`) expands `archMap` and evaluates each
//! entry's `includes`/`excludes`; runc's `SetupSeccomp`
//! (`libcontainer/specconv/spec_linux.go`) validates the strings that survive and
//! flattens every entry into one rule per name. The order of rules is kept: libseccomp's
//! merging depends on it.

use std::borrow::Cow;

use crate::action::Action;
use crate::arch::{Abi, Arch};
use crate::caps::CapSet;
use crate::db::{CmpOp, Cond};
use crate::model::{Filter, Format, KernelVersion, Profile, SyscallEntry, SyscallName};
use crate::syscalls::Syscall;

/// The inputs that decide which entries of a profile apply.
#[derive(Clone, Debug)]
pub struct ResolveOptions {
    /// The bounding set that `includes.caps`/`excludes.caps` are checked against.
    pub caps: CapSet,
    /// The host's ABI: `archMap` and the arch conditions are evaluated for it.
    pub native: Abi,
    /// The kernel `minKernel` conditions are compared with.
    pub kernel: KernelVersion,
}

impl ResolveOptions {
    /// Docker's defaults on this machine: the 14 default capabilities, the native ABI and
    /// the running kernel (or, when it cannot be read, a kernel new enough for every rule).
    pub fn for_this_host() -> ResolveOptions {
        ResolveOptions {
            caps: CapSet::docker_default(),
            native: Abi::native(),
            kernel: crate::kernel::running().unwrap_or(KernelVersion {
                kernel: 255,
                major: 255,
            }),
        }
    }
}

/// What a profile resolves to.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    /// No filter at all: an empty profile (`{}`), as moby and runc treat it.
    Unconfined,
    /// A filter to build.
    Filter(Resolved),
}

/// Seccomp filter flags, after runc's defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// `SECCOMP_FILTER_FLAG_LOG`.
    pub log: bool,
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`.
    pub spec_allow: bool,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`.
    pub wait_killable_recv: bool,
}

/// One rule: a syscall name with its action and conditions, as runc passes it on.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The syscall name as written: the tables' copy when they know it.
    pub name: Cow<'static, str>,
    /// The syscall `name` is, if the tables know it; private, so that it cannot
    /// disagree with `name` (see [`Rule::syscall`]).
    syscall: Option<Syscall>,
    /// The action, with its errno or trace data.
    pub action: Action,
    /// The argument comparisons, in the order written.
    pub conds: Vec<Cond>,
    /// Where the rule comes from: `syscalls[3].names[1]`.
    pub location: RuleLocation,
    /// The first argument whose index is above 5, as (position in `args`, index). runc
    /// rejects it only when the rule reaches libseccomp, after skipping rules whose
    /// action equals the default, so the check waits until then.
    pub bad_index: Option<(usize, u64)>,
}

impl Rule {
    /// The syscall the rule's name is, if the tables know it: its number on every ABI.
    pub fn syscall(&self) -> Option<Syscall> {
        self.syscall
    }
}

/// Where a rule comes from: one name of a `syscalls` entry. Kept as indices and
/// written out only when shown, since every profile has hundreds of rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleLocation {
    /// The entry's index in `syscalls`.
    pub entry: usize,
    /// The name's index in `names`, or `None` for the legacy `name`.
    pub name: Option<usize>,
}

impl RuleLocation {
    /// The entry's own location: `syscalls[3]`.
    pub fn entry_path(&self) -> String {
        format!("syscalls[{}]", self.entry)
    }
}

impl std::fmt::Display for RuleLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name {
            Some(j) => write!(f, "syscalls[{}].names[{j}]", self.entry),
            None => write!(f, "syscalls[{}].name", self.entry),
        }
    }
}

/// What happened to one `syscalls` entry, for `check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryFate {
    /// The entry applies.
    Kept,
    /// The entry was dropped; the text says which condition did it.
    Dropped(String),
}

/// A resolved profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// The action for syscalls no rule matches.
    pub default_action: Action,
    /// The ABIs the filter covers: the native one first, then the others in the order
    /// the profile lists them.
    pub abis: Vec<Abi>,
    /// Architectures the profile lists that a host of the native ABI can never run; the
    /// kernel never reports them, so they are left out of the filter.
    pub foreign_arches: Vec<Arch>,
    /// Every rule, one per name, in profile order. Empty in what [`crate::build_filter`]
    /// returns, which frees them once the compiled database holds them: compiling that
    /// resolution again would give a filter of the default action alone.
    pub rules: Vec<Rule>,
    /// Filter flags.
    pub flags: Flags,
    /// `listenerPath`, for profiles that use `SCMP_ACT_NOTIFY`.
    pub listener_path: String,
    /// `listenerMetadata`.
    pub listener_metadata: String,
    /// The fate of each `syscalls` entry, by index.
    pub entries: Vec<EntryFate>,
}

/// Why a profile cannot be resolved. `location` is a JSON path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct ResolveError {
    /// Where in the profile: `syscalls[3].args[0].op`.
    pub location: String,
    /// What is wrong.
    pub kind: ResolveErrorKind,
}

/// What is wrong with a profile, beyond its JSON.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveErrorKind {
    #[error(
        "unknown action {0:?} (expected one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, \
             SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, \
             SCMP_ACT_TRACE, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)"
    )]
    UnknownAction(String),
    #[error(
        "unknown operator {0:?} (expected one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, \
             SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)"
    )]
    UnknownOperator(String),
    #[error(
        "unknown architecture {0:?} (expected an SCMP_ARCH_* name such as \
             SCMP_ARCH_X86_64)"
    )]
    UnknownArchitecture(String),
    #[error(
        "unknown flag {0:?} (expected SECCOMP_FILTER_FLAG_TSYNC, \
             SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW or \
             SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)"
    )]
    UnknownFlag(String),
    #[error("argument index {0} is out of range (syscalls have arguments 0 to 5)")]
    IndexOutOfRange(u64),
    #[error("both \"name\" and \"names\" are given (use either, not both)")]
    NameAndNames,
    #[error("both \"architectures\" and \"archMap\" are given (use either, not both)")]
    ArchitecturesAndArchMap,
    #[error("SCMP_ACT_NOTIFY cannot be the default action")]
    NotifyAsDefault,
    #[error("SCMP_ACT_NOTIFY cannot be used for write (the listener could never log)")]
    NotifyOnWrite,
    #[error("SCMP_ACT_NOTIFY is used but listenerPath is not set")]
    NotifyWithoutListener,
    #[error("the default action is empty but syscalls has rules")]
    EmptyDefaultAction,
}

fn err(location: impl Into<String>, kind: ResolveErrorKind) -> ResolveError {
    ResolveError {
        location: location.into(),
        kind,
    }
}

/// Resolves `profile` for `options`. `format` decides how `flags: []` reads: Docker
/// drops an empty list on its way to runc (the OCI field is `omitempty`), so it means
/// "absent" for a moby profile and "no flags" for an OCI one.
pub fn resolve(
    profile: &Profile,
    format: Format,
    options: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    if profile.default_action.is_empty() && profile.syscalls.is_empty() {
        return Ok(Resolution::Unconfined);
    }
    let architectures = expand_arch_map(profile, options.native)?;
    let mut kept = Vec::new();
    let mut entries = Vec::with_capacity(profile.syscalls.len());
    for (i, entry) in profile.syscalls.iter().enumerate() {
        if !entry.name.is_empty() && !entry.names.is_empty() {
            return Err(err(
                format!("syscalls[{i}]"),
                ResolveErrorKind::NameAndNames,
            ));
        }
        let fate = entry_fate(entry, options);
        if fate == EntryFate::Kept {
            kept.push(i);
        }
        entries.push(fate);
    }
    let default_action = default_action(profile)?;
    let (abis, foreign_arches) = abis(&architectures, options.native)?;
    let flags = flags(profile, format)?;
    let names = kept.iter().map(|&i| profile.syscalls[i].names.len().max(1));
    let mut rules = Vec::with_capacity(names.sum());
    for i in kept {
        entry_rules(&profile.syscalls[i], i, &mut rules)?;
    }
    check_notify(&rules, profile)?;
    Ok(Resolution::Filter(Resolved {
        default_action,
        abis,
        foreign_arches,
        rules,
        flags,
        listener_path: profile.listener_path.clone(),
        listener_metadata: profile.listener_metadata.clone(),
        entries,
    }))
}

/// moby: `architectures` as written, or the first `archMap` entry for the native
/// architecture with its sub-architectures.
fn expand_arch_map(profile: &Profile, native: Abi) -> Result<Vec<(String, String)>, ResolveError> {
    if !profile.architectures.is_empty() && !profile.arch_map.is_empty() {
        return Err(err(
            "architectures",
            ResolveErrorKind::ArchitecturesAndArchMap,
        ));
    }
    if !profile.architectures.is_empty() {
        let listed = profile.architectures.iter().enumerate();
        return Ok(listed
            .map(|(i, a)| (a.clone(), format!("architectures[{i}]")))
            .collect());
    }
    let native_name = native.arch().scmp_name();
    let Some((i, entry)) = profile
        .arch_map
        .iter()
        .enumerate()
        .find(|(_, e)| e.architecture == native_name)
    else {
        return Ok(Vec::new());
    };
    let mut out = vec![(
        entry.architecture.clone(),
        format!("archMap[{i}].architecture"),
    )];
    for (j, sub) in entry.sub_architectures.iter().enumerate() {
        out.push((sub.clone(), format!("archMap[{i}].subArchitectures[{j}]")));
    }
    Ok(out)
}

/// moby's include/exclude evaluation, in its order: the first failing test drops the
/// entry.
fn entry_fate(entry: &SyscallEntry, options: &ResolveOptions) -> EntryFate {
    let arch = options.native.arch().moby_name();
    let newer = |min: Option<KernelVersion>| min.is_some_and(|m| options.kernel >= m);
    let ex: &Filter = &entry.excludes;
    let inc: &Filter = &entry.includes;
    let dropped = |why: String| EntryFate::Dropped(why);
    if ex.arches.iter().any(|a| a == arch) {
        return dropped(format!("excluded on {arch}"));
    }
    if let Some(cap) = ex.caps.iter().find(|c| options.caps.contains(c)) {
        return dropped(format!("excluded with {cap}"));
    }
    if newer(ex.min_kernel) {
        return dropped(format!("excluded on kernel {}", options.kernel));
    }
    if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == arch) {
        return dropped(format!("not included on {arch}"));
    }
    if let Some(cap) = inc.caps.iter().find(|c| !options.caps.contains(c)) {
        return dropped(format!("needs {cap}"));
    }
    if let Some(min) = inc.min_kernel {
        if options.kernel < min {
            return dropped(format!("needs kernel {min}"));
        }
    }
    EntryFate::Kept
}

fn default_action(profile: &Profile) -> Result<Action, ResolveError> {
    if profile.default_action.is_empty() {
        return Err(err("defaultAction", ResolveErrorKind::EmptyDefaultAction));
    }
    let action = Action::from_profile(&profile.default_action, profile.default_errno_ret)
        .ok_or_else(|| {
            let found = profile.default_action.clone();
            err("defaultAction", ResolveErrorKind::UnknownAction(found))
        })?;
    if action == Action::Notify {
        return Err(err("defaultAction", ResolveErrorKind::NotifyAsDefault));
    }
    Ok(action)
}

/// The ABIs of the filter: native first (runc's `seccomp_init` starts with it), then
/// each listed one once.
fn abis(listed: &[(String, String)], native: Abi) -> Result<(Vec<Abi>, Vec<Arch>), ResolveError> {
    let mut abis = vec![native];
    let mut foreign = Vec::new();
    for (name, location) in listed {
        let arch = Arch::from_scmp_name(name).ok_or_else(|| {
            err(
                location.clone(),
                ResolveErrorKind::UnknownArchitecture(name.clone()),
            )
        })?;
        match arch.abi().filter(|abi| native.family().contains(abi)) {
            Some(abi) if !abis.contains(&abi) => abis.push(abi),
            Some(_) => {}
            None if !foreign.contains(&arch) => foreign.push(arch),
            None => {}
        }
    }
    Ok((abis, foreign))
}

fn flags(profile: &Profile, format: Format) -> Result<Flags, ResolveError> {
    let listed = match (&profile.flags, format) {
        (None, _) => {
            return Ok(Flags {
                spec_allow: true,
                ..Flags::default()
            })
        }
        (Some(list), Format::Moby) if list.is_empty() => {
            return Ok(Flags {
                spec_allow: true,
                ..Flags::default()
            })
        }
        (Some(list), _) => list,
    };
    let mut flags = Flags::default();
    for (i, flag) in listed.iter().enumerate() {
        match flag.as_str() {
            // runc accepts TSYNC and ignores it: its filter is loaded on the only thread.
            "SECCOMP_FILTER_FLAG_TSYNC" => {}
            "SECCOMP_FILTER_FLAG_LOG" => flags.log = true,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => flags.spec_allow = true,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => flags.wait_killable_recv = true,
            other => {
                let kind = ResolveErrorKind::UnknownFlag(other.to_string());
                return Err(err(format!("flags[{i}]"), kind));
            }
        }
    }
    Ok(flags)
}

/// runc's flattening: the action is checked for every kept entry, operators only when
/// the entry has a name, and one rule comes out per name, appended to `rules`.
fn entry_rules(entry: &SyscallEntry, i: usize, rules: &mut Vec<Rule>) -> Result<(), ResolveError> {
    let action = Action::from_profile(&entry.action, entry.errno_ret).ok_or_else(|| {
        err(
            format!("syscalls[{i}].action"),
            ResolveErrorKind::UnknownAction(entry.action.clone()),
        )
    })?;
    let legacy: [SyscallName; 1];
    let (names, key): (&[SyscallName], &str) = if entry.names.is_empty() && !entry.name.is_empty() {
        legacy = [SyscallName::new(&entry.name)];
        (&legacy, "name")
    } else {
        (&entry.names, "names")
    };
    if names.is_empty() {
        return Ok(());
    }
    let conds = conditions(entry, i)?;
    let bad_index = entry.args.iter().enumerate().find(|(_, a)| a.index > 5);
    let bad_index = bad_index.map(|(k, a)| (k, a.index));
    rules.extend(names.iter().enumerate().map(|(j, name)| {
        let syscall = name.syscall();
        let name = match syscall {
            Some(known) => Cow::Borrowed(known.name()),
            None => Cow::Owned(name.to_string()),
        };
        Rule {
            name,
            syscall,
            action,
            conds: conds.clone(),
            location: RuleLocation {
                entry: i,
                name: (key == "names").then_some(j),
            },
            bad_index,
        }
    }));
    Ok(())
}

fn conditions(entry: &SyscallEntry, i: usize) -> Result<Vec<Cond>, ResolveError> {
    let convert = |(k, arg): (usize, &crate::model::Arg)| {
        let location = format!("syscalls[{i}].args[{k}]");
        let op = op_from_profile(&arg.op).ok_or_else(|| {
            err(
                format!("{location}.op"),
                ResolveErrorKind::UnknownOperator(arg.op.clone()),
            )
        })?;
        // An index above 5 is kept in `Rule::bad_index` and reported later.
        let index = u8::try_from(arg.index).unwrap_or(u8::MAX);
        Ok(Cond {
            arg: index,
            op,
            datum_a: arg.value,
            datum_b: arg.value_two,
        })
    };
    entry.args.iter().enumerate().map(convert).collect()
}

/// The operator a profile string names, exactly as runc spells them.
pub fn op_from_profile(name: &str) -> Option<CmpOp> {
    Some(match name {
        "SCMP_CMP_NE" => CmpOp::Ne,
        "SCMP_CMP_LT" => CmpOp::Lt,
        "SCMP_CMP_LE" => CmpOp::Le,
        "SCMP_CMP_EQ" => CmpOp::Eq,
        "SCMP_CMP_GE" => CmpOp::Ge,
        "SCMP_CMP_GT" => CmpOp::Gt,
        "SCMP_CMP_MASKED_EQ" => CmpOp::MaskedEq,
        _ => return None,
    })
}

/// runc's NOTIFY restrictions (`libcontainer/seccomp/seccomp_linux.go`).
fn check_notify(rules: &[Rule], profile: &Profile) -> Result<(), ResolveError> {
    let mut notify = rules
        .iter()
        .filter(|r| r.action == Action::Notify)
        .peekable();
    if let Some(write) = rules
        .iter()
        .find(|r| r.action == Action::Notify && r.name == "write")
    {
        return Err(err(
            write.location.to_string(),
            ResolveErrorKind::NotifyOnWrite,
        ));
    }
    if notify.peek().is_some() && profile.listener_path.is_empty() {
        return Err(err("listenerPath", ResolveErrorKind::NotifyWithoutListener));
    }
    Ok(())
}
