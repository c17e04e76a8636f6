//! `seclaunch check`: validates a profile and summarises what Docker would make of it
//! under the given options.

use std::collections::BTreeMap;
use std::fmt;

use clap::Args;
use profiles::action::Action;
use profiles::arch::{Abi, Arch};
use profiles::model::{Filter, Format, SyscallEntry};
use profiles::resolve::EntryFate;
use profiles::{Built, Compiled, Options, Resolved};

use crate::errno::action_text;
use crate::error::Error;
use crate::options::CommonOptions;
use crate::profile_source::ProfileSource;
use crate::syscall_text::number_text;

/// Names shown per gated entry before the rest are counted.
const NAMES_SHOWN: usize = 4;

/// `seclaunch check PROFILE`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The profile: a file, `default` (the embedded default) or `unconfined`
    #[arg(value_name = "PROFILE")]
    pub profile: ProfileSource,
    #[command(flatten)]
    pub common: CommonOptions,
}

/// What `check` prints.
#[derive(Debug)]
pub struct Summary {
    profile: String,
    /// `None` for `unconfined`, which is no document.
    format: Option<Format>,
    resolved_for: String,
    warnings: Vec<String>,
    /// `None` for a profile that asks for no filter.
    filter: Option<FilterSummary>,
}

#[derive(Debug)]
struct FilterSummary {
    abis: Vec<Abi>,
    foreign: Vec<Arch>,
    default_action: Action,
    rules_per_action: BTreeMap<Action, usize>,
    unknown_names: Vec<(String, String)>,
    gates: Vec<GateSection>,
    program_len: usize,
    /// Per ABI of the filter, runc's stub threshold if it has one.
    stubs: Vec<(Abi, Option<u32>)>,
}

/// The entries gated by one kind of condition.
#[derive(Debug)]
struct GateSection {
    title: &'static str,
    entries: Vec<GatedEntry>,
}

#[derive(Debug)]
struct GatedEntry {
    index: usize,
    condition: String,
    fate: EntryFate,
    names: Vec<String>,
}

/// The kinds of `includes`/`excludes` condition, in the order `check` reports them.
#[derive(Clone, Copy)]
enum Gate {
    Caps,
    Arches,
    MinKernel,
}

/// Builds the profile and summarises it; an invalid profile is an error.
pub fn run(args: &CheckArgs) -> Result<Summary, Error> {
    let options = args.common.build_options()?;
    let built = args.profile.build(&options)?;
    let mut summary = summary(&args.profile.name(), &options, &built);
    if args.profile == ProfileSource::Unconfined {
        summary.format = None;
    }
    Ok(summary)
}

fn summary(profile: &str, options: &Options, built: &Built) -> Summary {
    let filter = built
        .filter
        .as_ref()
        .map(|(resolved, compiled)| filter_summary(&built.profile.syscalls, resolved, compiled));
    Summary {
        profile: profile.to_string(),
        format: Some(built.format),
        resolved_for: resolved_for(options),
        warnings: built.ignored_keys.iter().map(ToString::to_string).collect(),
        filter,
    }
}

fn resolved_for(options: &Options) -> String {
    let resolve = &options.resolve;
    format!(
        "{} (native), kernel {}, capabilities {}",
        resolve.native, resolve.kernel, resolve.caps
    )
}

fn filter_summary(
    entries: &[SyscallEntry],
    resolved: &Resolved,
    compiled: &Compiled,
) -> FilterSummary {
    let mut rules_per_action = BTreeMap::new();
    for rule in &resolved.rules {
        *rules_per_action.entry(rule.action).or_insert(0) += 1;
    }
    let gates = [Gate::Caps, Gate::Arches, Gate::MinKernel];
    let plan = &compiled.plan;
    FilterSummary {
        abis: resolved.abis.clone(),
        foreign: resolved.foreign_arches.clone(),
        default_action: resolved.default_action,
        rules_per_action,
        unknown_names: compiled.unknown_names.clone(),
        gates: gates
            .iter()
            .map(|gate| gate_section(*gate, entries, &resolved.entries))
            .collect(),
        program_len: compiled.program.len(),
        stubs: plan
            .abis
            .iter()
            .map(|abi| (*abi, plan.stub_max.get(abi).copied()))
            .collect(),
    }
}

fn gate_section(gate: Gate, entries: &[SyscallEntry], fates: &[EntryFate]) -> GateSection {
    let gated = entries
        .iter()
        .zip(fates)
        .enumerate()
        .filter_map(|(index, (entry, fate))| {
            let condition = condition_text(gate, entry)?;
            let names = if entry.names.is_empty() && !entry.name.is_empty() {
                vec![entry.name.clone()]
            } else {
                entry.names.iter().map(|name| name.to_string()).collect()
            };
            Some(GatedEntry {
                index,
                condition,
                fate: fate.clone(),
                names,
            })
        });
    let title = match gate {
        Gate::Caps => "capability-gated entries",
        Gate::Arches => "arch-gated entries",
        Gate::MinKernel => "minKernel-gated entries",
    };
    GateSection {
        title,
        entries: gated.collect(),
    }
}

/// The entry's conditions of one kind, as written, or `None` when it has none.
fn condition_text(gate: Gate, entry: &SyscallEntry) -> Option<String> {
    let one = |key: &str, filter: &Filter| -> Option<String> {
        match gate {
            Gate::Caps if !filter.caps.is_empty() => {
                Some(format!("{key}.caps [{}]", filter.caps.join(", ")))
            }
            Gate::Arches if !filter.arches.is_empty() => {
                Some(format!("{key}.arches [{}]", filter.arches.join(", ")))
            }
            Gate::MinKernel => filter.min_kernel.map(|v| format!("{key}.minKernel {v}")),
            _ => None,
        }
    };
    let parts: Vec<String> = [
        one("includes", &entry.includes),
        one("excludes", &entry.excludes),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn format_text(format: Format) -> &'static str {
    match format {
        Format::Moby => "moby's seccomp profile format",
        Format::Oci => "OCI runtime-spec linux.seccomp",
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            Some(format) => writeln!(
                f,
                "profile: {} (read as {})",
                self.profile,
                format_text(format)
            )?,
            None => writeln!(f, "profile: {}", self.profile)?,
        }
        writeln!(f, "resolved for: {}", self.resolved_for)?;
        match &self.filter {
            Some(filter) => write!(f, "{filter}")?,
            None => writeln!(
                f,
                "filter: none, the profile is unconfined (every call runs)"
            )?,
        }
        write_list(f, "parser warnings (ignored keys)", &self.warnings)
    }
}

impl fmt::Display for FilterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abis: Vec<String> = self.abis.iter().map(ToString::to_string).collect();
        writeln!(
            f,
            "ABIs in the filter: {} (the first is native)",
            abis.join(", ")
        )?;
        let foreign: Vec<String> = self.foreign.iter().map(ToString::to_string).collect();
        write_inline(f, "foreign architectures left out", &foreign)?;
        writeln!(f, "default action: {}", action_text(self.default_action))?;
        self.write_rules(f)?;
        let unknown: Vec<String> = self
            .unknown_names
            .iter()
            .map(|(name, location)| format!("{location}: {name:?}"))
            .collect();
        write_list(f, "syscall names ignored as unknown", &unknown)?;
        for section in &self.gates {
            write!(f, "{section}")?;
        }
        let bytes = self.program_len * 8;
        writeln!(
            f,
            "program: {} instructions ({bytes} bytes)",
            self.program_len
        )?;
        self.write_stubs(f)
    }
}

impl FilterSummary {
    fn write_rules(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: usize = self.rules_per_action.values().sum();
        writeln!(f, "rules: {total}")?;
        for (action, count) in &self.rules_per_action {
            let note = if *action == self.default_action {
                "  (the default action: skipped, as runc skips them)"
            } else {
                ""
            };
            writeln!(f, "  {:<20} {count}{note}", action_text(*action))?;
        }
        Ok(())
    }

    fn write_stubs(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.stubs.iter().all(|(_, max)| max.is_none()) {
            return writeln!(f, "runc's ENOSYS stub: none");
        }
        writeln!(
            f,
            "runc's ENOSYS stub: calls above the newest syscall of the profile"
        )?;
        for (abi, max) in &self.stubs {
            match max {
                Some(max) => writeln!(
                    f,
                    "  {:<8} above {}",
                    abi.short_name(),
                    number_text(*abi, *max)
                )?,
                None => writeln!(f, "  {:<8} no stub", abi.short_name())?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for GateSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = self
            .entries
            .iter()
            .filter(|e| e.fate == EntryFate::Kept)
            .count();
        let dropped = self.entries.len() - kept;
        if self.entries.is_empty() {
            return writeln!(f, "{}: none", self.title);
        }
        writeln!(f, "{}: {kept} in, {dropped} out", self.title)?;
        for entry in &self.entries {
            writeln!(f, "  {entry}")?;
        }
        Ok(())
    }
}

impl fmt::Display for GatedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = format!("syscalls[{}]", self.index);
        match &self.fate {
            EntryFate::Kept => write!(f, "in   {location:<14} {}", self.condition)?,
            EntryFate::Dropped(why) => write!(f, "out  {location:<14} {}: {why}", self.condition)?,
        }
        if self.names.is_empty() {
            return Ok(());
        }
        let shown = self
            .names
            .iter()
            .take(NAMES_SHOWN)
            .cloned()
            .collect::<Vec<_>>();
        write!(f, " ({}", shown.join(", "))?;
        if self.names.len() > NAMES_SHOWN {
            write!(f, " and {} more", self.names.len() - NAMES_SHOWN)?;
        }
        write!(f, ")")
    }
}

/// A heading with its items on one line, or `none`.
fn write_inline(f: &mut fmt::Formatter<'_>, title: &str, items: &[String]) -> fmt::Result {
    if items.is_empty() {
        writeln!(f, "{title}: none")
    } else {
        writeln!(f, "{title}: {}", items.join(", "))
    }
}

/// A heading with a count, then one item per line.
fn write_list(f: &mut fmt::Formatter<'_>, title: &str, items: &[String]) -> fmt::Result {
    if items.is_empty() {
        return writeln!(f, "{title}: none");
    }
    writeln!(f, "{title}: {}", items.len())?;
    for item in items {
        writeln!(f, "  {item}")?;
    }
    Ok(())
}
