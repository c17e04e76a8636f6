//! Handing a notifying filter's listener to a seccomp agent: runc's `listenerPath`
//! protocol, for profiles with `SCMP_ACT_NOTIFY` rules.
//!
//! runc installs the filter with `SECCOMP_FILTER_FLAG_NEW_LISTENER` in the container's
//! init, connects to `listenerPath` (a unix stream socket) and sends one message: the
//! container process state as JSON ([`state`]) with the listener as its one
//! `SCM_RIGHTS` descriptor. A failure to connect or send fails the container's start.
//!
//! seclaunch does the same in exec mode, in the launcher, right before `execve`:
//! connect (before the filter, so the socket calls are not the profile's to decide),
//! install with the listener, send, and leave both descriptors to `execve`, which
//! closes them (both are close-on-exec). The program keeps the launcher's PID, the one
//! the message names. Between installing and the agent holding the listener, a call
//! the profile notifies would wait for an answer nobody can give, so the profile may
//! not notify the calls made there ([`PRE_HANDOVER`]). Once the agent has it, the
//! launcher's few remaining calls (`rt_sigaction`, `rt_sigprocmask`, `execve`) reach
//! the agent if the profile notifies them, as runc's init's calls after its install do.

mod kernel;
mod state;

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use profiles::bpf::sock_filter;
use profiles::install;
pub use profiles::listener::Agent;
use profiles::{Compiled, Resolved};

use crate::error::Error;

/// The calls the launcher may make after installing the filter and before the agent
/// holds the listener, and why: the `sendmsg` that hands it over, and on the path
/// where that fails, `exit_group` (the failure's one line goes out with `write`, which
/// resolution already keeps from NOTIFY, as runc does).
pub const PRE_HANDOVER: [(&str, &str); 2] = [
    (
        "sendmsg",
        "seclaunch sends the listener to the agent with it",
    ),
    (
        "exit_group",
        "seclaunch exits with it when the agent cannot take the listener",
    ),
];

/// Why a launch cannot hand its listener to the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The profile notifies a call the launcher makes before the agent can answer.
    #[error(
        "{profile}: {location}: SCMP_ACT_NOTIFY cannot be used for {syscall} under \
         seclaunch ({why}, before the agent holds the listener)"
    )]
    NotifiedBeforeHandover {
        profile: String,
        location: String,
        syscall: &'static str,
        why: &'static str,
    },
    /// `--mode preload`: the shim runs inside the program and cannot connect.
    #[error(
        "{profile}: listenerPath: a profile that hands calls to a seccomp agent is \
         installed by seclaunch before execve; use --mode exec or auto, not preload"
    )]
    Preload { profile: String },
    /// `--report` holds the filter chain's only listener itself.
    #[error(
        "{profile}: listenerPath: --report cannot be used with a profile that hands \
         calls to a seccomp agent: the kernel allows one listener per filter chain"
    )]
    Report { profile: String },
    /// The agent's socket cannot be reached.
    #[error("{path}: connecting to the seccomp agent (listenerPath): {source}{}", hint(.source))]
    Connect {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The agent went away before it took the listener.
    #[error("{path}: sending the listener to the seccomp agent: {source}")]
    Send {
        path: String,
        #[source]
        source: io::Error,
    },
}

fn hint(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::ENOENT | libc::ECONNREFUSED) => " (hint: no agent is listening there)",
        _ => "",
    }
}

/// The agent the filter hands its calls to, if it notifies any; refused if the
/// profile notifies a call of [`PRE_HANDOVER`].
pub fn for_filter(
    profile: &str,
    resolved: &Resolved,
    compiled: &Compiled,
) -> Result<Option<Agent>, AgentError> {
    let Some(agent) = profiles::listener::agent(resolved, compiled) else {
        return Ok(None);
    };
    for (syscall, why) in PRE_HANDOVER {
        if let Some(rule) = profiles::listener::notify_rule(resolved, syscall) {
            return Err(AgentError::NotifiedBeforeHandover {
                profile: profile.to_string(),
                location: rule.location.to_string(),
                syscall,
                why,
            });
        }
    }
    Ok(Some(agent))
}

/// The descriptors of a handover, kept open until `execve` closes them: closing them
/// sooner would be calls of the launcher's that the agent might be asked about.
pub struct Handed {
    _socket: UnixStream,
    _listener: OwnedFd,
}

/// Connects to the agent, installs `program` with a listener and `flags`, and sends
/// the agent the process state and the listener.
pub fn install_and_hand_over(
    agent: &Agent,
    program: &[sock_filter],
    flags: libc::c_ulong,
) -> Result<Handed, Error> {
    let socket = UnixStream::connect(&agent.path).map_err(|source| AgentError::Connect {
        path: agent.path.clone(),
        source,
    })?;
    let bundle = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let message = state::message(agent, std::process::id(), &bundle);
    let mut flags = flags;
    if agent.wait_killable_recv {
        flags |= install::FLAG_WAIT_KILLABLE_RECV;
    }
    let listener = install::install_with_listener(program, flags)?;
    if let Err(source) = kernel::send_with_fd(socket.as_fd(), &message, listener.as_fd()) {
        // Closing the listener is a call the profile may notify, with nobody left to
        // answer (and freeing a large message may unmap it); the process ends in a moment,
        // and the kernel closes both then. A gap remains: printing the error may
        // allocate, and a profile that notifies `brk` or `mmap` would then wait for
        // good (until a signal) if the agent vanished between connect and send. Only
        // that race reaches this path; refusing every allocation call in such
        // profiles would refuse real ones for it.
        std::mem::forget((socket, listener, message));
        return Err(AgentError::Send {
            path: agent.path.clone(),
            source,
        }
        .into());
    }
    Ok(Handed {
        _socket: socket,
        _listener: listener,
    })
}
