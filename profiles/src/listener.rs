//! The seccomp agent a filter hands its `SCMP_ACT_NOTIFY` calls to: runc's
//! `listenerPath` protocol, as far as the profile decides it.
//!
//! libseccomp asks the kernel for a listener (`SECCOMP_FILTER_FLAG_NEW_LISTENER`) only
//! when a rule it was given notifies, and runc connects to `listenerPath` only when it
//! got one back; a profile whose NOTIFY rules were all dropped (by `includes`, or for
//! names no syscall table knows) runs without an agent. The compiled program is the
//! ground truth for that: it notifies exactly when one of its returns is USER_NOTIF.

use crate::action::Action;
use crate::bpf::{self, sock_filter};
use crate::compile::Compiled;
use crate::resolve::{Resolved, Rule};

/// Where a filter's notified calls go, and what the agent is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    /// `listenerPath`: the agent's unix stream socket.
    pub path: String,
    /// `listenerMetadata`, passed on to the agent as written.
    pub metadata: String,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, which the kernel accepts only with
    /// `NEW_LISTENER` (`seccomp_set_mode_filter` returns EINVAL otherwise), so it is
    /// kept here rather than among the filter's other flags.
    pub wait_killable_recv: bool,
}

/// The agent `resolved` names, if its compiled program can notify at all.
///
/// ```
/// let options = profiles::Options::for_this_host();
/// let json = br#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
///     "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}"#;
/// let built = profiles::build(json, "p.json", &options).unwrap();
/// let (resolved, compiled) = built.filter.unwrap();
/// let agent = profiles::listener::agent(&resolved, &compiled).unwrap();
/// assert_eq!(agent.path, "/run/agent.sock");
/// ```
pub fn agent(resolved: &Resolved, compiled: &Compiled) -> Option<Agent> {
    if !notifies(&compiled.program) {
        return None;
    }
    Some(Agent {
        path: resolved.listener_path.clone(),
        metadata: resolved.listener_metadata.clone(),
        wait_killable_recv: resolved.flags.wait_killable_recv,
    })
}

/// Whether any constant return of `program` is USER_NOTIF.
pub fn notifies(program: &[sock_filter]) -> bool {
    program
        .iter()
        .filter(|insn| insn.code == bpf::RET | bpf::K)
        .any(|insn| Action::from_ret(insn.k) == Action::Notify)
}

/// The first rule that sends `syscall` to the agent, whatever its conditions.
pub fn notify_rule<'r>(resolved: &'r Resolved, syscall: &str) -> Option<&'r Rule> {
    resolved
        .rules
        .iter()
        .find(|rule| rule.action == Action::Notify && rule.name == syscall)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build, Options};

    fn built(json: &str) -> (Resolved, Compiled) {
        let built = build(json.as_bytes(), "p.json", &Options::for_this_host()).unwrap();
        built.filter.unwrap()
    }

    #[test]
    fn a_notify_rule_names_the_agent_with_its_metadata_and_flag() {
        let (resolved, compiled) = built(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a.sock",
                "listenerMetadata": "m", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                "syscalls": [{"names": ["uname", "getppid"], "action": "SCMP_ACT_NOTIFY"}]}"#,
        );
        let agent = agent(&resolved, &compiled).unwrap();
        assert_eq!(
            agent,
            Agent {
                path: "/a.sock".to_string(),
                metadata: "m".to_string(),
                wait_killable_recv: true,
            }
        );
        let rule = notify_rule(&resolved, "getppid").unwrap();
        assert_eq!(rule.location.to_string(), "syscalls[0].names[1]");
        assert!(notify_rule(&resolved, "sendmsg").is_none());
    }

    #[test]
    fn a_listener_path_without_a_reachable_notify_rule_needs_no_agent() {
        let (resolved, compiled) = built(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a.sock",
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY",
                              "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                             {"names": ["uname"], "action": "SCMP_ACT_ERRNO"}]}"#,
        );
        assert_eq!(agent(&resolved, &compiled), None);
    }
}
