//! `seclaunch [OPTIONS] PROGRAM [ARGS...]`: build the filter once, then become the
//! program under it.
//!
//! In preload mode the launcher hands the compiled filter to `libsecshim.so` through a
//! sealed memfd and `SECLAUNCH_HANDOFF`; the shim installs it after the dynamic loader,
//! before `main`. In exec mode the launcher installs the filter itself right before
//! `execve`, where runc does; that is the only way for a static program, which no
//! loader preloads anything into. Either way the launcher is replaced by the program:
//! same PID, signals, terminal and exit status.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use clap::{Args, ValueEnum};
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use profiles::bpf::from_bytes;
use profiles::caps::CapSet;
use profiles::install;
use profiles::{Options, ResolveOptions};

use crate::agent::{self, AgentError};
use crate::error::Error;
use crate::privileges::limit_capabilities;
use crate::profile_source::ProfileSource;
use crate::program::{self, Linkage};
use crate::report;
use crate::shim_path::{self, NATIVE_MACHINE};

/// Variables of seclaunch's that the program must not inherit: the launcher consumes
/// them, and the shim only needs what the launcher sets anew.
pub const CONSUMED_VARS: [&str; 5] = [
    "SECLAUNCH_PROFILE",
    "SECLAUNCH_HANDOFF",
    "SECLAUNCH_SHIM",
    "SECLAUNCH_CAP_ADD",
    "SECLAUNCH_CAP_DROP",
];

/// The options of a launch.
#[derive(Args, Clone, Debug, Default)]
pub struct RunArgs {
    /// The profile: a file, `default` (the embedded Docker default) or `unconfined`
    /// [default: default]
    #[arg(short = 'p', long, value_name = "PROFILE")]
    pub profile: Option<ProfileSource>,
    /// Docker's spelling of the options: `seccomp=PROFILE`, or `no-new-privileges`
    /// (always in force)
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Add a capability to Docker's default set (with or without `CAP_`; `ALL`). The
    /// profile's capability conditions are evaluated against the set, and a launch as
    /// root is limited to it
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a capability from Docker's default set (`ALL` drops every one before the
    /// additions)
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Reject unknown keys and unknown syscall names instead of ignoring them
    #[arg(long)]
    pub strict: bool,
    /// Where the filter is installed: `preload` (by libsecshim.so, after the dynamic
    /// loader and before main), `exec` (by seclaunch, right before execve), or `auto`
    /// (exec for static programs and scripts whose interpreter is static, else preload)
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,
    /// Print what would be done, and exit 0 without running anything
    #[arg(long)]
    pub dry_run: bool,
    /// Say which profile, mode and shim were chosen, and why
    #[arg(short, long)]
    pub verbose: bool,
    /// Stay as the program's supervisor and report each call the profile denies, on
    /// stderr or in FILE, with a summary at exit (always exec mode)
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "-"
    )]
    pub report: Option<PathBuf>,
    /// The program and its arguments
    #[arg(
        value_name = "PROGRAM",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

/// `--mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    #[default]
    Auto,
    Preload,
    Exec,
}

/// Where the filter will be installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Install {
    /// By the shim at this path.
    Preload(PathBuf),
    /// By the launcher before `execve`.
    Exec,
    /// Nowhere: the profile is unconfined.
    Nothing,
}

/// What a launch ends with when it returns at all.
pub enum Done {
    /// The dry run's text, for standard output.
    Print(String),
    /// The program ran under `--report` and ended with this status.
    Exit(u8),
}

/// Everything decided before the launch.
struct Plan {
    profile: String,
    filter: Option<Filter>,
    install: Install,
    why: String,
    program: PathBuf,
    args: Vec<OsString>,
    /// The capability set the profile was resolved against, and a root launch keeps.
    caps: CapSet,
    /// Where `--report` goes, if it was given.
    report: Option<report::Target>,
}

/// A compiled filter, as the handoff frame both installers take.
struct Filter {
    frame: Cow<'static, [u8]>,
    /// How it was made, for `--dry-run`.
    origin: String,
    /// The seccomp agent its notified calls go to (`listenerPath`), if any.
    agent: Option<agent::Agent>,
}

impl Filter {
    /// The frame, checked: the program, the flags, the checksum.
    fn decoded(&self) -> Result<handoff::Frame<'_>, Error> {
        handoff::decode(&self.frame, None).map_err(Error::Handoff)
    }
}

/// Plans the launch and carries it out. Returns only on failure, with the dry run's
/// text, or with the status of a program run under `--report`.
pub fn run(args: &RunArgs) -> Result<Done, Error> {
    let plan = plan(args)?;
    if args.dry_run {
        return Ok(Done::Print(describe(&plan)));
    }
    if args.verbose {
        for line in describe(&plan).lines() {
            eprintln!("seclaunch: {line}");
        }
    }
    match (&plan.report, &plan.filter) {
        (Some(target), Some(filter)) => {
            return supervise(&plan, filter, target.clone(), args.verbose).map(Done::Exit)
        }
        (Some(target), None) => report::note_unconfined(target)?,
        (None, _) => {}
    }
    Err(launch(plan))
}

fn plan(args: &RunArgs) -> Result<Plan, Error> {
    let source = profile_source(args)?;
    let Some((name, rest)) = args.command.split_first() else {
        return Err(Error::Usage(
            "a program to run, or a command (check, compile, explain, completions), is \
             required (see seclaunch --help)"
                .to_string(),
        ));
    };
    // clap hands an unknown option over as the first word of the command; a program
    // whose name starts with `-` is still reachable by its path (`./-x`).
    if name.to_string_lossy().starts_with('-') {
        return Err(Error::Usage(format!(
            "unexpected argument '{}' (see seclaunch --help)",
            name.to_string_lossy()
        )));
    }
    let caps = CapSet::docker_default().tweak(&args.cap_add, &args.cap_drop)?;
    let options = Options {
        resolve: ResolveOptions {
            caps: caps.clone(),
            ..ResolveOptions::for_this_host()
        },
        strict: args.strict,
    };
    let filter = filter(&source, &options)?;
    let program = program::find(name)?;
    let report = report_target(args)?;
    let (install, why) = match &filter {
        None => (Install::Nothing, "the profile is unconfined".to_string()),
        Some(Filter { agent: Some(_), .. }) => agent_mode(args.mode, &report, &source)?,
        Some(_) if report.is_some() => (Install::Exec, "--report".to_string()),
        Some(_) => choose(args.mode, &program::linkage(&program), &program)?,
    };
    let mut argv = vec![name.clone()];
    argv.extend(rest.iter().cloned());
    Ok(Plan {
        profile: source.name(),
        filter,
        install,
        why,
        program,
        args: argv,
        caps,
        report,
    })
}

/// `--report` and `--report=FILE`; report mode installs the filter itself, so it
/// cannot be combined with `--mode preload`.
fn report_target(args: &RunArgs) -> Result<Option<report::Target>, Error> {
    let Some(path) = &args.report else {
        return Ok(None);
    };
    if args.mode == Mode::Preload {
        return Err(Error::Usage(
            "--report installs the filter before execve and cannot be used with \
             --mode preload (see seclaunch --help)"
                .to_string(),
        ));
    }
    Ok(Some(match path.as_os_str().as_bytes() {
        b"-" => report::Target::Stderr,
        _ => report::Target::File(path.clone()),
    }))
}

/// The filter `source` asks for under `options`; `None` for an unconfined profile.
///
/// The embedded default under Docker's capabilities on a kernel its `minKernel`
/// conditions all hold on is the most common launch, and its frame is precompiled
/// (`handoff::precompiled`, proven current by `tests/tests/default_frames.rs`).
fn filter(source: &ProfileSource, options: &Options) -> Result<Option<Filter>, Error> {
    let min = handoff::precompiled::MIN_KERNEL;
    let kernel = options.resolve.kernel;
    let precompiled = *source == ProfileSource::Default
        && !options.strict
        && options.resolve.caps == CapSet::docker_default()
        && (u32::from(kernel.kernel), u32::from(kernel.major)) >= min;
    if let (true, Some(frame)) = (precompiled, handoff::precompiled_default()) {
        let rules = handoff::precompiled_default_rules().unwrap_or_default();
        return Ok(Some(Filter {
            frame: Cow::Borrowed(frame),
            origin: format!("{rules} rules, precompiled"),
            agent: None,
        }));
    }
    let Some((resolved, compiled)) = source.build(options)?.filter else {
        return Ok(None);
    };
    let frame = profiles::frame::of(&resolved, &compiled).map_err(Error::Handoff)?;
    let origin = format!("{} rules", resolved.rules.len());
    let agent = agent::for_filter(&source.name(), &resolved, &compiled)?;
    Ok(Some(Filter {
        frame: Cow::Owned(frame),
        origin,
        agent,
    }))
}

/// `--profile` and `--security-opt`, which name the same thing two ways.
fn profile_source(args: &RunArgs) -> Result<ProfileSource, Error> {
    let mut from_opt = None;
    for opt in &args.security_opt {
        let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
        match (key, value) {
            ("seccomp", "") => return Err(security_opt(opt, "seccomp= needs a profile")),
            ("seccomp", value) => from_opt = Some(ProfileSource::from(OsString::from(value))),
            ("no-new-privileges", "" | "true") => {}
            ("no-new-privileges", _) => {
                return Err(security_opt(opt, "seclaunch always sets no_new_privs"))
            }
            _ => {
                return Err(security_opt(
                    opt,
                    "seclaunch supports seccomp=PROFILE and no-new-privileges",
                ))
            }
        }
    }
    match (&args.profile, from_opt) {
        (Some(_), Some(_)) => Err(Error::Usage(
            "--profile and --security-opt seccomp= both name a profile".to_string(),
        )),
        (Some(profile), None) => Ok(profile.clone()),
        (None, Some(profile)) => Ok(profile),
        (None, None) => Ok(ProfileSource::Default),
    }
}

fn security_opt(opt: &str, reason: &str) -> Error {
    Error::Usage(format!("--security-opt {opt}: {reason}"))
}

/// A profile that hands calls to a seccomp agent is installed by the launcher, which
/// alone can connect to the agent before the filter is in; `--report` would need a
/// second listener, which the kernel refuses.
fn agent_mode(
    mode: Mode,
    report: &Option<report::Target>,
    source: &ProfileSource,
) -> Result<(Install, String), Error> {
    let profile = source.name();
    match (mode, report) {
        (_, Some(_)) => Err(AgentError::Report { profile }.into()),
        (Mode::Preload, None) => Err(AgentError::Preload { profile }.into()),
        (Mode::Auto | Mode::Exec, None) => Ok((
            Install::Exec,
            "the profile hands calls to a seccomp agent (listenerPath)".to_string(),
        )),
    }
}

/// The install mode for a program of `linkage`, and why.
pub fn choose(
    mode: Mode,
    linkage: &Linkage,
    path: &std::path::Path,
) -> Result<(Install, String), Error> {
    let preloadable = match linkage.binary() {
        Linkage::Dynamic {
            class64: true,
            machine,
        } if *machine == NATIVE_MACHINE => Ok(()),
        Linkage::Dynamic { .. } => Err("it is built for another ABI than the shim".to_string()),
        Linkage::Static => Err("it is statically linked".to_string()),
        Linkage::Unknown(why) => Err(format!("its linkage is unknown ({why})")),
        // `binary()` follows scripts to their interpreter, so this arm is not reached.
        Linkage::Script { .. } => Err("it is a script".to_string()),
    }
    .and_then(|()| loader_can_load_the_shim());
    let subject = match linkage {
        Linkage::Script { interpreter, .. } => {
            format!("{}'s interpreter {}", path.display(), interpreter.display())
        }
        _ => path.display().to_string(),
    };
    match (mode, preloadable) {
        (Mode::Exec, _) => Ok((Install::Exec, "--mode exec".to_string())),
        (Mode::Auto | Mode::Preload, Ok(())) => {
            let why = format!("{subject} is dynamically linked");
            Ok((Install::Preload(shim_path::find()?), why))
        }
        (Mode::Auto, Err(why)) => Ok((Install::Exec, format!("{subject}: {why}"))),
        (Mode::Preload, Err(why)) => Err(Error::NotPreloadable {
            path: path.to_path_buf(),
            reason: format!("{why}, so no loader would install the filter; use --mode exec"),
        }),
    }
}

/// The fewest free file descriptors the dynamic loader is left to open the shim with.
const LOADER_FDS: u64 = 8;

/// Whether the dynamic loader is sure to be able to load the shim. It runs the program
/// unfiltered when it cannot (it only prints a warning), so a limit under which its
/// `open` or `mmap` might fail makes preloading unsafe: an address-space or data limit
/// (`ulimit -v`, `ulimit -d`), or a descriptor table nearly full (`ulimit -n`).
fn loader_can_load_the_shim() -> Result<(), String> {
    use nix::sys::resource::{getrlimit, Resource, RLIM_INFINITY};
    // A program started with real and effective ids that differ runs in secure mode
    // (AT_SECURE): its loader ignores every LD_PRELOAD path with a slash in it, so the
    // shim would never load (the kernel's `cap_bprm_creds_from_file`).
    let uids = nix::unistd::getresuid().map_err(|e| e.to_string())?;
    let gids = nix::unistd::getresgid().map_err(|e| e.to_string())?;
    if uids.real != uids.effective || gids.real != gids.effective {
        return Err(
            "its real and effective user or group ids differ, so its loader would \
             ignore LD_PRELOAD"
                .to_string(),
        );
    }
    for (resource, name) in [
        (Resource::RLIMIT_AS, "address space (ulimit -v)"),
        (Resource::RLIMIT_DATA, "data size (ulimit -d)"),
    ] {
        if getrlimit(resource).is_ok_and(|(soft, _)| soft != RLIM_INFINITY) {
            return Err(format!(
                "its {name} is limited, which can make the loader fail"
            ));
        }
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| e.to_string())?;
    // Every fd open here counts, close-on-exec or not: an overestimate, which is safe.
    let open = std::fs::read_dir("/proc/self/fd").map_or(soft, |dir| dir.count() as u64);
    // One more for the handoff's memfd.
    if soft.saturating_sub(open + 1) < LOADER_FDS {
        return Err("too few file descriptors are free for the loader (ulimit -n)".to_string());
    }
    Ok(())
}

/// The dry run's report, also printed by `--verbose`.
fn describe(plan: &Plan) -> String {
    let mut out = format!("profile: {}\n", plan.profile);
    if let Some(filter) = &plan.filter {
        let instructions = filter.decoded().map_or(0, |frame| frame.len());
        out += &format!("filter: {}, {instructions} instructions\n", filter.origin);
    }
    let mode = match &plan.install {
        Install::Preload(_) => "preload",
        Install::Exec => "exec",
        Install::Nothing => "none",
    };
    out += &format!("mode: {mode} ({})\n", plan.why);
    if let Install::Preload(shim) = &plan.install {
        out += &format!("shim: {}\n", shim.display());
    }
    if let Some(agent) = plan.filter.as_ref().and_then(|f| f.agent.as_ref()) {
        out += &format!("agent: {}\n", agent.path);
    }
    match &plan.report {
        Some(report::Target::Stderr) => out += "report: stderr\n",
        Some(report::Target::File(path)) => out += &format!("report: {}\n", path.display()),
        None => {}
    }
    out += &format!("program: {}\n", plan.program.display());
    out
}

/// Becomes the program. Returns only the error that stopped it.
fn launch(plan: Plan) -> Error {
    let mut command = Command::new(&plan.program);
    command.arg0(&plan.args[0]).args(&plan.args[1..]);
    for var in CONSUMED_VARS {
        command.env_remove(var);
    }
    // Kept open until exec: the program inherits it, and the shim closes it.
    let mut _handoff_fd = None;
    // The agent's socket and the listener, which exec closes.
    let mut _handed = None;
    let result = (|| {
        if let (Install::Preload(shim), Some(filter)) = (&plan.install, &plan.filter) {
            let (fd, announce) = handoff(filter)?;
            command.env("SECLAUNCH_HANDOFF", announce);
            command.env("LD_PRELOAD", preload_value(shim));
            _handoff_fd = Some(fd);
        }
        nix::sys::prctl::set_no_new_privs().map_err(|e| Error::NoNewPrivs(e.into()))?;
        limit_capabilities(&plan.caps)?;
        if let (Install::Exec, Some(filter)) = (&plan.install, &plan.filter) {
            _handed = install_here(filter, &mut command)?;
        }
        Ok(())
    })();
    if let Err(err) = result {
        return err;
    }
    let err = command.exec();
    match err.raw_os_error() {
        Some(libc::ENOENT) => Error::ProgramNotFound {
            name: plan.program.display().to_string(),
        },
        _ => Error::ProgramNotExecutable {
            path: plan.program,
            reason: err.to_string(),
        },
    }
}

/// The program's `LD_PRELOAD`: what it had, then the shim. The loader runs the
/// constructors of preloaded libraries from the last to the first, so the shim's runs
/// before those of the libraries the user preloads, and their threads start filtered.
fn preload_value(shim: &std::path::Path) -> OsString {
    let mut value = std::env::var_os("LD_PRELOAD").unwrap_or_default();
    if !value.is_empty() {
        value.push(":");
    }
    value.push(shim);
    value
}

/// Installs the filter in the launcher itself, and marks it for the program's
/// children; with a seccomp agent, hands it the listener, and returns what `execve`
/// must close.
fn install_here(filter: &Filter, command: &mut Command) -> Result<Option<agent::Handed>, Error> {
    let frame = filter.decoded()?;
    command.env("SECLAUNCH_ACTIVE", active_marker(&frame));
    let flags = libc::c_ulong::from(frame.flags & handoff::KERNEL_FLAGS);
    let program = from_bytes(frame.program);
    match &filter.agent {
        Some(agent) => agent::install_and_hand_over(agent, &program, flags).map(Some),
        None => install::install(&program, flags)
            .map_err(Error::Install)
            .map(|()| None),
    }
}

/// `SECLAUNCH_ACTIVE` for a filter installed before `execve`. The marker carries the
/// frame's checksum, as after a handoff, so that a shim preloaded further down
/// recognises this filter.
fn active_marker(frame: &handoff::Frame<'_>) -> OsString {
    let marker = handoff::Marker {
        checksum: frame.checksum,
        query_allowed: frame.flags & handoff::HINT_QUERY_ALLOWED != 0,
    };
    let mut text = [0u8; handoff::MARKER_LEN];
    let len = handoff::format_marker(&marker, &mut text);
    OsStr::from_bytes(&text[..len]).to_os_string()
}

/// Runs the program as the supervisor's child under `--report`: its environment is the
/// one exec mode gives it.
fn supervise(
    plan: &Plan,
    filter: &Filter,
    target: report::Target,
    verbose: bool,
) -> Result<u8, Error> {
    let frame = filter.decoded()?;
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(key, _)| key != "SECLAUNCH_ACTIVE" && !CONSUMED_VARS.iter().any(|v| key == v))
        .collect();
    env.push(("SECLAUNCH_ACTIVE".into(), active_marker(&frame)));
    report::run(report::Request {
        program: &plan.program,
        args: &plan.args,
        env,
        caps: &plan.caps,
        program_bytes: frame.program,
        flags: libc::c_ulong::from(frame.flags & handoff::KERNEL_FLAGS),
        target,
        verbose,
    })
}

/// The frame in a sealed memfd the program inherits, and the `SECLAUNCH_HANDOFF` value
/// that names it.
fn handoff(filter: &Filter) -> Result<(OwnedFd, String), Error> {
    let checksum = filter.decoded()?.checksum;
    let frame = &filter.frame;
    let memfd_error = |e: std::io::Error| Error::HandoffFd(e);
    let fd = memfd_create(c"seclaunch-filter", MFdFlags::MFD_ALLOW_SEALING)
        .map_err(|e| memfd_error(e.into()))?;
    let mut file = File::from(fd);
    file.write_all(frame).map_err(memfd_error)?;
    let seals = SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE
        | SealFlag::F_SEAL_SEAL;
    fcntl(&file, FcntlArg::F_ADD_SEALS(seals)).map_err(|e| memfd_error(e.into()))?;
    let fd = OwnedFd::from(file);
    let announce = format!("{}:{}:{checksum:x}", fd.as_raw_fd(), frame.len());
    Ok((fd, announce))
}
