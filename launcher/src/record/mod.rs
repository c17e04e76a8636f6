//! `seclaunch record`: run a program with every call allowed, write down each call it
//! makes, and write a profile that allows exactly those.
//!
//! The program runs as report mode runs it (`crate::report`): the launcher forks, the
//! child installs a filter right before `execve` and waits until the supervisor holds
//! the listener, then becomes the program. Record mode's filter ([`filter`]) notifies
//! every call of the native family's ABIs, and its handler ([`recorder`]) writes each
//! one down and lets it run. The child's calls before `execve` succeeds are the
//! launcher's and are never recorded.
//!
//! The profile ([`profile`]) allows what was recorded ([`rules`]), plus what a launch
//! under it needs after installing the filter ([`LAUNCH_CALLS`]); or, with `--base`,
//! it is the base profile with what the base denies of those added ([`base`]).
//! `--merge` adds what earlier recordings allowed ([`merge`]).

mod base;
mod filter;
mod merge;
mod profile;
mod recorder;
mod rules;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;
use profiles::arch::Abi;
use profiles::caps::CapSet;
use profiles::install;
use profiles::{Options, ResolveOptions};

use self::base::Base;
use self::recorder::{Recorder, Recording};
use self::rules::{Rule, Rules};
use crate::error::Error;
use crate::profile_source::ProfileSource;
use crate::report::{self, Ledger, Sink};
use crate::run::CONSUMED_VARS;

/// The calls a launch under the recorded profile makes after installing the filter and
/// before the program runs: `execve` itself (exec mode installs the filter before it,
/// as runc does), and the `rt_sigaction` with which the standard library's
/// `Command::exec` puts SIGPIPE back to its default just before `execve`. They are
/// the launcher's, so a recording never sees them; they are added to every profile.
pub const LAUNCH_CALLS: [&str; 2] = ["execve", "rt_sigaction"];

/// The comment of the entries record mode writes.
const RECORDED: &str = "recorded by seclaunch record";
const LAUNCH: &str = "what seclaunch needs to start the program under this profile";

/// `seclaunch record`.
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Where to write the profile (replaced if it exists)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Write this profile (a file, or `default`) with the recorded calls it denies
    /// added, instead of a minimal profile
    #[arg(long, value_name = "PROFILE")]
    pub base: Option<ProfileSource>,
    /// Allow also what a profile written by an earlier `seclaunch record` without
    /// --base allows (repeatable)
    #[arg(long, value_name = "FILE")]
    pub merge: Vec<PathBuf>,
    /// Add a capability to Docker's default set: the program runs with the set, as a
    /// launch limits it, and --base is resolved against it
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a capability from Docker's default set
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// The program and its arguments
    #[arg(
        value_name = "PROGRAM",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

/// Why recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A `--merge` file holds an entry record mode does not write.
    #[error(
        "{}: {location}: {reason} (--merge takes profiles written by seclaunch record \
         without --base)",
        .path.display()
    )]
    Merge {
        path: PathBuf,
        location: String,
        reason: String,
    },
    /// The base profile cannot take entries.
    #[error("{name}: --base: {reason}")]
    BaseDocument { name: String, reason: String },
    /// The base's compiled filter failed the interpreter's checks: a compiler bug.
    #[error("record: --base: the compiled filter does not run: {0}")]
    BaseFilter(#[source] profiles::interp::InterpError),
    /// The listener stopped before the program ended: calls went unrecorded.
    #[error("record: the listener failed: {0}; the recording is incomplete, no profile written")]
    Listener(String),
    /// The written profile does not build: a bug, reported rather than written.
    #[error("record: the recorded profile does not build: {0}")]
    Output(#[source] Box<profiles::Error>),
    /// The profile could not be written.
    #[error("{}: writing the profile: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Records the program, writes the profile; returns the program's exit status.
pub fn run(args: &RecordArgs) -> Result<u8, Error> {
    let caps = CapSet::docker_default().tweak(&args.cap_add, &args.cap_drop)?;
    let options = Options {
        resolve: ResolveOptions {
            caps: caps.clone(),
            ..ResolveOptions::for_this_host()
        },
        strict: false,
    };
    let native = options.resolve.native;
    let mut merged = Rules::default();
    for path in &args.merge {
        merged.extend(merge::read(path)?);
    }
    let base = match &args.base {
        Some(source) => Some(Base::load(source, &options)?),
        None => None,
    };
    let (status, recording) = record(args, &caps, native)?;
    if let Some(reason) = recording.failure {
        return Err(RecordError::Listener(reason).into());
    }
    for (abi, nr) in &recording.unnamed {
        eprintln!("seclaunch: record: syscall {nr} on {abi} has no name: no profile can allow it");
    }
    let launch: Rules = LAUNCH_CALLS.iter().map(|name| Rule::named(name)).collect();
    let (document, summary) = match &base {
        None => {
            let mut rules = recording.rules();
            rules.extend(merged);
            minimal_profile(native, rules, launch)
        }
        Some(base) => {
            merged.extend(launch);
            based_profile(base, native, &recording, &merged)
        }
    };
    let text = profile::to_text(&document);
    let output_name = args.output.display().to_string();
    profiles::build(text.as_bytes(), &output_name, &options)
        .map_err(|e| RecordError::Output(Box::new(e)))?;
    std::fs::write(&args.output, text).map_err(|source| RecordError::Write {
        path: args.output.clone(),
        source,
    })?;
    for line in summary {
        eprintln!("seclaunch: record: {line}");
    }
    Ok(status)
}

/// Runs the program under the recording filter until it ends.
fn record(args: &RecordArgs, caps: &CapSet, native: Abi) -> Result<(u8, Recording), Error> {
    let (name, _) = args.command.split_first().ok_or_else(|| {
        Error::Usage("record: a program to run is required (see seclaunch record --help)".into())
    })?;
    let program = crate::program::find(name)?;
    report::check_notification_sizes().map_err(report::ReportError::Listener)?;
    // The program gets the environment a launch gives it, without a marker: no filter
    // of a profile is in force.
    let env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(key, _)| key != "SECLAUNCH_ACTIVE" && !CONSUMED_VARS.iter().any(|v| key == v))
        .collect();
    let plan = report::Plan {
        exec: report::exec_args(&program, &args.command, &env)?,
        listener: filter::recording_filter(native),
        trap: None,
        // runc's default, and what a launch under the recorded profile will ask for.
        flags: install::FLAG_SPEC_ALLOW,
        caps: caps.clone(),
    };
    let recording = Arc::new(Mutex::new(Recording::default()));
    let parts = report::Parts {
        handler: Box::new(Recorder {
            recording: Arc::clone(&recording),
        }),
        program,
        audit: None,
        ledger: Arc::new(Mutex::new(Ledger::new(Sink::Discard))),
    };
    let status = report::fork_and_supervise(&plan, parts)?;
    // Descendants the program left running may still be answered; what they do from
    // now on is not in the profile.
    let recording = std::mem::take(&mut *recording.lock().unwrap_or_else(|e| e.into_inner()));
    Ok((status, recording))
}

/// The minimal profile, and its summary line.
fn minimal_profile(
    native: Abi,
    rules: Rules,
    launch: Rules,
) -> (profiles::json::Value<'static>, Vec<String>) {
    let launch: Rules = launch
        .iter()
        .filter(|rule| {
            !rules
                .iter()
                .any(|r| r.name == rule.name && r.condition.is_none())
        })
        .cloned()
        .collect();
    let names: std::collections::BTreeSet<&str> =
        rules.iter().map(|rule| rule.name.as_str()).collect();
    let unreachable: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !rules::resolves_in_family(native, name))
        .collect();
    let mut entries = profile::entries(&rules, RECORDED);
    entries.extend(profile::entries(&launch, LAUNCH));
    let mut summary = vec![format!(
        "{} syscalls allowed, {} rules",
        names.len(),
        rules.len()
    )];
    if !unreachable.is_empty() {
        summary.push(format!(
            "merged names this architecture does not have: {}",
            unreachable.join(", ")
        ));
    }
    (profile::minimal(native, entries), summary)
}

/// The base with what it lacks added, and the summary lines.
fn based_profile(
    base: &Base,
    native: Abi,
    recording: &Recording,
    rules: &Rules,
) -> (profiles::json::Value<'static>, Vec<String>) {
    let missing = base.missing(native, recording.calls(), rules);
    let added: Vec<Rule> = missing.added.iter().cloned().collect();
    let comment = format!(
        "{RECORDED}: calls the program made that {} denies",
        base.name
    );
    let entries = profile::entries(&missing.added, &comment);
    // `with_added` fails only for a document that is not an object holding an array
    // of entries, which the build of the base would have refused.
    let document = profile::with_added(base.document.clone(), entries)
        .unwrap_or_else(|| base.document.clone());
    let plural = if added.len() == 1 { "call" } else { "calls" };
    let mut summary = vec![match added.is_empty() {
        true => format!("0 calls added to {}", base.name),
        false => format!(
            "{} {plural} added to {}: {}",
            added.len(),
            base.name,
            profile::rule_list(&added)
        ),
    }];
    if !missing.left_to_enosys.is_empty() {
        summary.push(format!(
            "{} left to {}'s ENOSYS: the C library falls back to clone, which the \
             profile checks",
            profile::rule_list(&missing.left_to_enosys),
            base.name
        ));
    }
    (document, summary)
}
