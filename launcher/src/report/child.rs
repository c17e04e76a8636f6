//! The launcher's child in report mode: it takes the program's privileges, installs
//! the filters, waits until the supervisor holds the listener, and becomes the program.
//!
//! The listener must reach the supervisor without a call the profile might deny
//! (`sendmsg`, or `write` on a socket), so the child passes nothing once the filter is
//! in: before installing, it tells the supervisor which descriptor the listener will
//! get (the lowest free one, where the kernel puts it), and the supervisor takes a copy
//! with `pidfd_getfd` as soon as it exists. Meanwhile the child blocks in `read` on a
//! pipe. Until `execve` succeeds every call of the child is the launcher's own: the
//! supervisor lets it run (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`) if the filter notifies
//! it, and decides `execve` itself as the profile does. The listener is close-on-exec,
//! so the program never holds it.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use profiles::bpf::sock_filter;
use profiles::caps::CapSet;
use profiles::install;

use super::kernel;
use crate::error::{Error, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SECLAUNCH};
use crate::privileges::limit_capabilities;

/// What `execve` gets, made before the fork.
pub struct Exec {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

/// Everything the child does, made before the fork.
pub struct Plan {
    pub exec: Exec,
    /// The filter installed with the listener.
    pub listener: Vec<sock_filter>,
    /// The filter that decides TRAP, if the profile traps.
    pub trap: Option<Vec<sock_filter>>,
    /// The flags the profile asks for (`LOG`, `SPEC_ALLOW`).
    pub flags: libc::c_ulong,
    /// The capability set a root launch keeps.
    pub caps: CapSet,
}

/// What the child tells the supervisor through the pipe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// The listener is about to be installed, and will be this descriptor.
    Installing(RawFd),
    /// Setting up failed before the program ran: the error's line and exit status.
    Failed { status: u8, text: String },
    /// `execve` failed with this errno.
    ExecFailed(i32),
}

impl Message {
    /// A tag byte, then a little-endian integer or a status and text.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Message::Installing(fd) => [&[b'F'][..], &fd.to_le_bytes()].concat(),
            Message::ExecFailed(errno) => [&[b'X'][..], &errno.to_le_bytes()].concat(),
            Message::Failed { status, text } => [&[b'E', *status][..], text.as_bytes()].concat(),
        }
    }

    /// The message at the start of `bytes`, if it is whole, and its length. `Failed`
    /// runs to the end of the stream, so it is only whole once `eof` is seen.
    pub fn decode(bytes: &[u8], eof: bool) -> Option<(Message, usize)> {
        let int = |b: &[u8]| Some(i32::from_le_bytes(b.get(1..5)?.try_into().ok()?));
        match bytes.first()? {
            b'F' => Some((Message::Installing(int(bytes)?), 5)),
            b'X' => Some((Message::ExecFailed(int(bytes)?), 5)),
            b'E' if eof => {
                let status = *bytes.get(1)?;
                let text = String::from_utf8_lossy(&bytes[2..]).into_owned();
                Some((Message::Failed { status, text }, bytes.len()))
            }
            b'E' => None,
            _ => {
                let text = "the launcher's child sent a malformed message".to_string();
                let status = EXIT_SECLAUNCH;
                Some((Message::Failed { status, text }, bytes.len()))
            }
        }
    }
}

/// The child's whole life: it becomes the program, or tells the supervisor why not and
/// exits.
pub fn run(plan: &Plan, to_parent: OwnedFd, release: OwnedFd) -> ! {
    let status = match become_program(plan, &to_parent, &release) {
        Err(Failure::Setup(err)) => {
            let status = err.exit_code();
            let text = err.to_string();
            send(&to_parent, &Message::Failed { status, text });
            status
        }
        Err(Failure::Exec(errno)) => {
            send(&to_parent, &Message::ExecFailed(errno));
            match errno {
                libc::ENOENT => EXIT_NOT_FOUND,
                _ => EXIT_NOT_EXECUTABLE,
            }
        }
        // The supervisor went away before releasing the child: nothing may run
        // without it.
        Err(Failure::NoRelease) => EXIT_SECLAUNCH,
        Ok(never) => match never {},
    };
    kernel::exit_now(status)
}

enum Failure {
    Setup(Error),
    Exec(i32),
    NoRelease,
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        Failure::Setup(err)
    }
}

fn become_program(
    plan: &Plan,
    to_parent: &OwnedFd,
    release: &OwnedFd,
) -> Result<Infallible, Failure> {
    kernel::reset_signals().map_err(|e| Error::ReportChild {
        step: "resetting signals",
        source: e,
    })?;
    nix::sys::prctl::set_no_new_privs().map_err(|e| Error::NoNewPrivs(e.into()))?;
    limit_capabilities(&plan.caps)?;
    // The listener stays open until execve closes it; the supervisor has its copy.
    let _listener = install_filters(plan, to_parent)?;
    wait_for_release(release)?;
    let exec = &plan.exec;
    let err = match nix::unistd::execve(&exec.path, &exec.argv, &exec.envp) {
        Err(err) => err,
        Ok(never) => match never {},
    };
    Err(Failure::Exec(err as i32))
}

/// Installs the listener's filter, after saying where its descriptor will be, then the
/// TRAP filter if there is one.
fn install_filters(plan: &Plan, to_parent: &OwnedFd) -> Result<OwnedFd, Error> {
    let expected = lowest_free_fd(to_parent)?;
    send(to_parent, &Message::Installing(expected));
    let listener = install_listener(&plan.listener, plan.flags)?;
    if listener.as_raw_fd() != expected {
        return Err(Error::ReportChild {
            step: "installing the filter",
            source: std::io::Error::other(format!(
                "the listener is descriptor {}, not the announced {expected}",
                listener.as_raw_fd()
            )),
        });
    }
    if let Some(trap) = &plan.trap {
        // SPEC_ALLOW goes on this filter too: any filter installed without it turns
        // the speculative store bypass mitigation on.
        let flags = install::FLAG_LOG | (plan.flags & install::FLAG_SPEC_ALLOW);
        install::install(trap, flags)?;
    }
    Ok(listener)
}

/// `WAIT_KILLABLE_RECV` keeps a signal that arrives while the supervisor answers from
/// restarting the call (or failing it with EINTR), which the program would not see
/// without report mode; kernels before 5.19 refuse the flag and go without it.
fn install_listener(program: &[sock_filter], flags: libc::c_ulong) -> Result<OwnedFd, Error> {
    let killable = flags | install::FLAG_WAIT_KILLABLE_RECV;
    match install::install_with_listener(program, killable) {
        Err(install::InstallError::Load { source })
            if source.raw_os_error() == Some(libc::EINVAL) =>
        {
            Ok(install::install_with_listener(program, flags)?)
        }
        other => Ok(other?),
    }
}

/// The descriptor the kernel will give the next new file: the lowest free one.
fn lowest_free_fd(any: &OwnedFd) -> Result<RawFd, Error> {
    let probe = nix::unistd::dup(any).map_err(|e| Error::ReportChild {
        step: "finding a free descriptor",
        source: e.into(),
    })?;
    Ok(probe.as_raw_fd())
}

fn wait_for_release(release: &OwnedFd) -> Result<(), Failure> {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(release, &mut byte) {
            Ok(1) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return Err(Failure::NoRelease),
        }
    }
}

/// Writes a message whole; a supervisor that stopped reading learns of the failure
/// from the child's exit instead.
fn send(to_parent: &OwnedFd, message: &Message) {
    let bytes = message.encode();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        match nix::unistd::write(to_parent, rest) {
            Ok(n) => rest = &rest[n..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let failed = Message::Failed {
            status: 125,
            text: "setting no_new_privs: nope".to_string(),
        };
        for message in [Message::Installing(3), Message::ExecFailed(2), failed] {
            let bytes = message.encode();
            assert_eq!(Message::decode(&bytes, true), Some((message, bytes.len())));
        }
    }

    #[test]
    fn partial_messages_wait_for_more() {
        assert_eq!(Message::decode(b"F\x03\x00", false), None);
        assert_eq!(Message::decode(b"E\x7dtext", false), None);
        assert_eq!(Message::decode(b"", true), None);
        let two = [Message::Installing(4).encode(), b"X".to_vec()].concat();
        assert_eq!(
            Message::decode(&two, false),
            Some((Message::Installing(4), 5))
        );
    }
}
