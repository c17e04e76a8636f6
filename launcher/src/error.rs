//! The launcher's errors and the exit status each one ends with.

use std::io;
use std::path::PathBuf;

use profiles::arch::Abi;
use profiles::caps::UnknownCapability;

/// The status for every failure of seclaunch itself (bad options, a profile that does
/// not build, a file it cannot read or write), the one `docker run` uses for its own
/// failures.
pub const EXIT_SECLAUNCH: u8 = 125;

/// The program was found but cannot be executed, as `docker run` reports it.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// The program was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// The exit codes, as `--help` shows them.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0    success: the profile is valid, the filter was written, the call was explained
  125  seclaunch itself failed: bad options, a profile that does not build (or, with
       --strict, has unknown keys or syscall names), a file that cannot be read or
       written, a missing or unusable shim, a filter the kernel refused, a
       seccomp agent (listenerPath) that cannot be reached
  126  the program was found but cannot be executed
  127  the program was not found
  N    anything else is the program's own exit status (128+N if a signal killed it)";

/// A failure of a command. Each one prints as a single line after `seclaunch: `.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong; the text is clap's first line, without its prefix.
    #[error("{0}")]
    Usage(String),
    /// `--cap-add`/`--cap-drop` named something that is not a capability.
    #[error("--cap-add/--cap-drop: {0}")]
    Capability(#[from] UnknownCapability),
    /// The profile file could not be read.
    #[error("{}: reading the profile: {source}", .path.display())]
    ReadProfile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The profile does not build; its message names the file and the JSON location.
    /// Boxed: the library's error is large, and every command returns this type.
    #[error(transparent)]
    Profile(Box<profiles::Error>),
    /// The command needs a filter, but the profile asks for none.
    #[error("{profile}: the profile is unconfined: there is no filter to {action}")]
    Unconfined {
        profile: String,
        action: &'static str,
    },
    /// The filter could not be written.
    #[error("{}: writing the filter: {source}", .path.display())]
    WriteFilter {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `explain` was given a syscall name the ABI does not have.
    #[error("explain: {abi} has no syscall named {name:?}")]
    UnknownSyscall { abi: Abi, name: String },
    /// The compiled program failed the interpreter's checks; a bug in the compiler,
    /// reported rather than hidden.
    #[error("explain: the compiled filter does not run: {0}")]
    Interp(#[from] profiles::interp::InterpError),
    /// The program is not on `PATH`, or the path names nothing.
    #[error("{name}: program not found")]
    ProgramNotFound { name: String },
    /// The program exists but cannot be executed.
    #[error("{}: cannot execute: {reason}", .path.display())]
    ProgramNotExecutable { path: PathBuf, reason: String },
    /// The shim is missing or would not load.
    #[error("{}: unusable shim: {reason}", .path.display())]
    Shim { path: PathBuf, reason: String },
    /// `--mode preload` for a program the shim cannot be preloaded into.
    #[error("{}: cannot preload the shim: {reason}", .path.display())]
    NotPreloadable { path: PathBuf, reason: String },
    /// PR_SET_NO_NEW_PRIVS failed.
    #[error("setting no_new_privs: {0}")]
    NoNewPrivs(#[source] io::Error),
    /// Limiting a root launch to the capability set failed.
    #[error("limiting capabilities: {step}: {reason}")]
    Capabilities { step: &'static str, reason: String },
    /// The kernel refused the filter (exec mode).
    #[error(transparent)]
    Install(#[from] profiles::install::InstallError),
    /// The filter does not fit a handoff frame.
    #[error("handing the filter to the shim: {0}")]
    Handoff(handoff::Error),
    /// The memfd for the handoff could not be made.
    #[error("handing the filter to the shim: memfd: {0}")]
    HandoffFd(#[source] io::Error),
    /// The profile's seccomp agent cannot be used, or reached.
    #[error(transparent)]
    Agent(#[from] crate::agent::AgentError),
    /// Report mode could not run the program.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// `seclaunch record` could not record or write the profile.
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
    /// A step of report mode's child before the program ran.
    #[error("{step}: {source}")]
    ReportChild {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    /// Standard output could not be written.
    #[error("writing to standard output: {0}")]
    Stdout(#[source] io::Error),
}

impl From<profiles::Error> for Error {
    fn from(err: profiles::Error) -> Error {
        Error::Profile(Box::new(err))
    }
}

impl Error {
    /// The exit status this error ends the process with.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::ProgramNotFound { .. } => EXIT_NOT_FOUND,
            Error::ProgramNotExecutable { .. } => EXIT_NOT_EXECUTABLE,
            Error::Report(err) => err.exit_code(),
            _ => EXIT_SECLAUNCH,
        }
    }
}
