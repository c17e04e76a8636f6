//! The message a seccomp agent receives with the listener: the runtime-spec's
//! container process state (`specs-go/state.go`, `ContainerProcessState`), as runc
//! sends it (`libcontainer/process_linux.go`, `sendContainerProcessState`).
//!
//! There is no container, so seclaunch fills the container's state in as follows:
//! `id` is `seclaunch-<pid>`, `status` is `creating` (runc's, sent before the program
//! starts), `pid` is the program's (the launcher's, which `execve` keeps), `bundle` is
//! the current directory, where the program starts; `annotations` and an empty
//! `metadata` are left out, as Go's `omitempty` leaves them out of runc's message.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::Agent;

/// The runtime-spec version whose process state seclaunch sends: 1.0.2 is the first
/// release with `listenerPath` and this message, and later ones changed neither.
pub const OCI_VERSION: &str = "1.0.2";

/// The name of the listener in `fds`: `SeccompFdName` of the runtime-spec.
pub const SECCOMP_FD: &str = "seccompFd";

/// The JSON of the process state for the program `pid`, started in `bundle`.
pub fn message(agent: &Agent, pid: u32, bundle: &Path) -> Vec<u8> {
    let state = json!({
        "ociVersion": OCI_VERSION,
        "id": format!("seclaunch-{pid}"),
        "status": "creating",
        "pid": pid,
        "bundle": bundle.to_string_lossy(),
    });
    let mut process = Map::new();
    process.insert("ociVersion".into(), OCI_VERSION.into());
    process.insert("fds".into(), json!([SECCOMP_FD]));
    process.insert("pid".into(), pid.into());
    if !agent.metadata.is_empty() {
        process.insert("metadata".into(), agent.metadata.clone().into());
    }
    process.insert("state".into(), state);
    Value::Object(process).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(metadata: &str) -> Agent {
        Agent {
            path: "/run/a.sock".to_string(),
            metadata: metadata.to_string(),
            wait_killable_recv: false,
        }
    }

    #[test]
    fn the_message_carries_the_pid_the_metadata_and_the_state() {
        let text = message(&agent("pod=\"x\""), 42, Path::new("/srv"));
        let value: Value = serde_json::from_slice(&text).unwrap();
        let want = json!({
            "ociVersion": "1.0.2",
            "fds": ["seccompFd"],
            "pid": 42,
            "metadata": "pod=\"x\"",
            "state": {
                "ociVersion": "1.0.2",
                "id": "seclaunch-42",
                "status": "creating",
                "pid": 42,
                "bundle": "/srv",
            },
        });
        assert_eq!(value, want);
    }

    #[test]
    fn empty_metadata_is_left_out_as_runc_leaves_it_out() {
        let text = message(&agent(""), 7, Path::new("/"));
        let value: Value = serde_json::from_slice(&text).unwrap();
        assert!(value.get("metadata").is_none());
        assert!(value["state"].get("annotations").is_none());
    }
}
