//! `seclaunch --report`: run the program as a child under the profile and name every
//! call the profile denies, without changing what the program sees.
//!
//! The launcher forks; the child installs the filter right before `execve` (exec
//! mode, always) and becomes the program; the launcher stays as its supervisor. The
//! filter is the compiled profile with its ERRNO and TRACE returns turned into
//! USER_NOTIF ([`rewrite`]): allowed calls never reach the supervisor, and each denied
//! one is answered with the profile's own errno ([`server`]) and reported once per
//! (syscall, ABI, decision) ([`ledger`]). KILL and TRAP stay the kernel's, and are
//! named from its audit records ([`audit`]). The supervisor passes on the exit status
//! and the signals it receives ([`supervise`]).
//!
//! If the supervisor dies, the kernel answers every call the filter would have
//! notified with ENOSYS: a closed listener never leaves a caller blocked
//! (`kernel/seccomp.c seccomp_notify_detach`, and `seccomp_do_user_notification` for
//! the calls after).

mod audit;
mod child;
mod decode;
mod kernel;
mod ledger;
mod rewrite;
mod server;
mod supervise;

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::fcntl::OFlag;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use profiles::action::Action;
use profiles::arch::Abi;
use profiles::bpf::{from_bytes, sock_filter};
use profiles::caps::CapSet;
use profiles::interp::{self, SeccompData};

use self::kernel::Forked;
use self::server::Reporter;
use crate::error::{Error, EXIT_SECLAUNCH};

pub use self::rewrite::RewriteError;
// What record mode shares: the child, the supervisor, and the listener's protocol.
pub(crate) use self::child::Plan;
pub(crate) use self::decode::abi_of;
pub(crate) use self::kernel::{check_notification_sizes, Answer, Notification};
pub(crate) use self::ledger::{Ledger, Sink};
pub(crate) use self::server::Handler;

/// The signals the supervisor passes on to the program. The others keep their
/// default effect on the supervisor (SIGTSTP and SIGCONT stop and continue it with
/// the program's process group); SIGKILL and SIGSTOP cannot be caught.
const FORWARDED: [Signal; 8] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGALRM,
];

/// Where the report goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Stderr,
    File(PathBuf),
}

/// A launch in report mode.
pub struct Request<'a> {
    pub program: &'a Path,
    /// `argv`, from `argv[0]`.
    pub args: &'a [OsString],
    /// The program's whole environment.
    pub env: Vec<(OsString, OsString)>,
    pub caps: &'a CapSet,
    /// The compiled filter as the frame carries it, and its kernel flags.
    pub program_bytes: &'a [u8],
    pub flags: libc::c_ulong,
    pub target: Target,
    pub verbose: bool,
}

/// Why report mode could not run the program.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The compiled program has a return the rewrite cannot reach.
    #[error("--report: rewriting the filter: {0}")]
    Rewrite(#[from] RewriteError),
    /// `--report=FILE` cannot be written.
    #[error("{}: opening the report: {source}", .path.display())]
    OpenReport {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A call the supervisor needs failed.
    #[error("--report: {op}: {source}")]
    Kernel {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The kernel has no usable seccomp user notification.
    #[error("--report: the seccomp listener is unusable: {0} ({LISTENER_HINT})")]
    Listener(#[source] io::Error),
    /// The supervisor may not copy the listener out of its child.
    #[error("--report: pidfd_getfd of the listener: {source}{}", getfd_hint(.source))]
    GetFd {
        #[source]
        source: io::Error,
    },
    /// The announced descriptor holds something else.
    #[error("--report: descriptor {fd} of the child is not a seccomp listener")]
    NotAListener { fd: i32 },
    /// The profile would end the child between installing the filter and `execve`.
    #[error(
        "--report: the profile decides {decision} for {syscall} on {abi}, which the \
         launcher calls between installing the filter and execve"
    )]
    PreExec {
        syscall: &'static str,
        abi: Abi,
        decision: Action,
    },
    /// The child failed before the program ran, and said why.
    #[error("{text}")]
    Child { status: u8, text: String },
    /// The child ended without a word before the filter was in.
    #[error("--report: the launcher's child ended before the filter was installed")]
    ChildGone,
}

/// What an unusable listener usually means.
const LISTENER_HINT: &str = "hint: report mode needs Linux 5.6 or newer";

impl ReportError {
    /// The exit status: the child's own for its failures, else seclaunch's.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReportError::Child { status, .. } => *status,
            _ => EXIT_SECLAUNCH,
        }
    }
}

fn getfd_hint(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EPERM) => {
            " (hint: the supervisor must be allowed to ptrace its child: \
             kernel.yama.ptrace_scope is 2 or more, or an LSM refuses)"
        }
        Some(libc::ENOSYS) => " (hint: pidfd_getfd needs Linux 5.6 or newer)",
        _ => "",
    }
}

/// Runs the program under the report; returns its exit status.
pub fn run(request: Request<'_>) -> Result<u8, Error> {
    let original = from_bytes(request.program_bytes);
    let trap = rewrite::trap_filter(&original).map_err(ReportError::from)?;
    let listener =
        rewrite::listener_filter(&original, trap.is_some()).map_err(ReportError::from)?;
    check_pre_exec_calls(&original, trap.is_some())?;
    kernel::check_notification_sizes().map_err(ReportError::Listener)?;
    let sink = open_sink(&request.target)?;
    let audit = audit::Source::open();
    let mut ledger = Ledger::new(sink);
    match &audit {
        None => ledger.note(
            "report: the kernel's audit records cannot be read (CAP_AUDIT_READ, or a \
             readable /dev/kmsg): calls the profile kills or traps will not be named",
        ),
        Some(source) if request.verbose => {
            eprintln!("seclaunch: report: audit records from {}", source.name())
        }
        Some(_) => {}
    }
    let plan = child::Plan {
        exec: exec_args(request.program, request.args, &request.env)?,
        listener,
        trap,
        flags: request.flags,
        caps: request.caps.clone(),
    };
    let ledger = Arc::new(Mutex::new(ledger));
    let reporter = Reporter {
        program: original,
        ledger: Arc::clone(&ledger),
    };
    let parts = Parts {
        handler: Box::new(reporter),
        program: request.program.to_path_buf(),
        audit,
        ledger,
    };
    fork_and_supervise(&plan, parts)
}

/// Says, where the report goes, that an unconfined profile denies nothing: there is no
/// filter to supervise, and the launcher runs the program as it would without the
/// report.
pub fn note_unconfined(target: &Target) -> Result<(), Error> {
    let mut ledger = Ledger::new(open_sink(target)?);
    ledger.note("report: the profile is unconfined: no call can be denied");
    Ok(())
}

/// What the supervisor keeps after the fork.
pub(crate) struct Parts {
    /// What answers the calls the filter notifies.
    pub handler: Box<dyn Handler>,
    /// The program's path, for an `execve` that fails.
    pub program: PathBuf,
    /// The kernel's audit records, to name the calls the filter kills or traps.
    pub audit: Option<audit::Source>,
    /// Where the supervisor says how the program ended.
    pub ledger: Arc<Mutex<Ledger>>,
}

/// Runs the program as a child that installs `plan`'s filter right before `execve`,
/// and supervises it until it ends; returns its exit status.
///
/// Forks with the forwarded signals blocked, so that none is lost or acts on the
/// supervisor before its signalfd exists; the child unblocks them before `execve`.
pub(crate) fn fork_and_supervise(plan: &child::Plan, parts: Parts) -> Result<u8, Error> {
    let set: SigSet = FORWARDED.iter().copied().collect();
    let mut old = SigSet::empty();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))
        .map_err(|e| kernel_error("blocking signals", e.into()))?;
    let (from_child, to_parent) = pipe()?;
    let (release_read, release) = pipe()?;
    let forked = kernel::fork().map_err(|e| kernel_error("fork", e));
    match forked {
        Ok(Forked::Child) => {
            drop((from_child, release));
            child::run(plan, to_parent, release_read)
        }
        Ok(Forked::Parent(child)) => {
            drop((to_parent, release_read));
            let pidfd = kernel::pidfd_open(child).map_err(|e| kernel_error("pidfd_open", e))?;
            let signals =
                SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
                    .map_err(|e| kernel_error("signalfd", e.into()))?;
            detach_stdio();
            let supervisor = supervise::Supervisor {
                child,
                pidfd,
                from_child,
                release,
                signals,
                audit: parts.audit,
                ledger: parts.ledger,
                handler: Some(parts.handler),
                program: parts.program,
                child_named: false,
            };
            supervisor.run()
        }
        Err(err) => {
            let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
            Err(err)
        }
    }
}

/// The supervisor lets go of standard input and output, which are the program's: a
/// reader of the program's output sees its end when the program closes it.
fn detach_stdio() {
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| kernel_error("pipe", e.into()))
}

fn kernel_error(op: &'static str, source: io::Error) -> Error {
    ReportError::Kernel { op, source }.into()
}

fn open_sink(target: &Target) -> Result<Sink, Error> {
    match target {
        Target::Stderr => Ok(Sink::Stderr),
        Target::File(path) => File::create(path).map(Sink::File).map_err(|source| {
            ReportError::OpenReport {
                path: path.clone(),
                source,
            }
            .into()
        }),
    }
}

/// Between installing the filter and `execve` the child calls `read` (waiting to be
/// released) and, when the profile traps, `seccomp` for the second filter. Only the
/// listener's filter sees that `seccomp`, and it traps nothing; a KILL, or a TRAP of
/// `read`, would end the child before the program ran, so such a profile is refused.
fn check_pre_exec_calls(program: &[sock_filter], traps_apart: bool) -> Result<(), Error> {
    let abi = Abi::native();
    let mut calls = vec![("read", [0u64, 0, 1, 0, 0, 0], true)];
    if traps_apart {
        calls.push(("seccomp", [1, 0, 0, 0, 0, 0], false));
    }
    for (syscall, args, trap_matters) in calls {
        let Some(nr) = profiles::syscalls::number(abi, syscall) else {
            continue;
        };
        let data = SeccompData::new(abi, nr, args);
        let ret = interp::run(program, &data).map_or(Action::KillProcess.ret(), |o| o.ret);
        let decision = Action::from_ret(ret);
        let fatal = match decision {
            Action::KillThread | Action::KillProcess => true,
            Action::Trap => trap_matters,
            _ => false,
        };
        if fatal {
            return Err(ReportError::PreExec {
                syscall,
                abi,
                decision,
            }
            .into());
        }
    }
    Ok(())
}

/// The program's path, `argv` (from `argv[0]`) and environment as `execve` takes
/// them.
pub(crate) fn exec_args(
    program: &Path,
    args: &[OsString],
    env: &[(OsString, OsString)],
) -> Result<child::Exec, Error> {
    let c_string = |bytes: &[u8]| {
        CString::new(bytes).map_err(|_| Error::ProgramNotExecutable {
            path: program.to_path_buf(),
            reason: "an argument or variable holds a NUL byte".to_string(),
        })
    };
    let path = c_string(program.as_os_str().as_bytes())?;
    let argv = args
        .iter()
        .map(|arg| c_string(arg.as_bytes()))
        .collect::<Result<_, _>>()?;
    let envp = env
        .iter()
        .map(|(key, value)| c_string(&[key.as_bytes(), b"=", value.as_bytes()].concat()))
        .collect::<Result<_, _>>()?;
    Ok(child::Exec { path, argv, envp })
}
