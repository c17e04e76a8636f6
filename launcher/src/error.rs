//! The launcher's errors and the exit status each one ends with.

use std::io;
use std::path::PathBuf;

use profiles::arch::Abi;
use profiles::caps::UnknownCapability;

/// The status for every failure of seclaunch itself (bad options, a profile that does
/// not build, a file it cannot read or write), the one `docker run` uses for its own
/// failures.
pub const EXIT_SECLAUNCH: u8 = 125;

/// The exit codes, as `--help` shows them.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0    success: the profile is valid, the filter was written, the call was explained
  125  seclaunch itself failed: bad options, a profile that does not build (or, with
       --strict, has unknown keys or syscall names), a file that cannot be read or
       written";

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
        EXIT_SECLAUNCH
    }
}
