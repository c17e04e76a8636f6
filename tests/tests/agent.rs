//! `SCMP_ACT_NOTIFY` with `listenerPath`: the release launcher hands the listener to a
//! seccomp agent written here, over runc's protocol (one message: the process state as
//! JSON, the listener as `SCM_RIGHTS`), and the agent answers `agent_probe.c`'s calls.
#![cfg(target_arch = "x86_64")]

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::unistd::Pid;
use seclaunch_tests::artifacts::{agent_probe, launcher, shim};
use seclaunch_tests::run::{clean_command, scratch, stderr, stdout};
use serde_json::Value;

/// Long enough for a loaded two-core machine; a hang fails well before CI gives up.
const DEADLINE: Duration = Duration::from_secs(30);

/// What the agent answers `getppid` with.
const PPID_ANSWER: i64 = 4242;
/// The errno the agent answers `uname` with: no syscall returns it on its own.
const UNAME_ERRNO: i32 = 199;
const METADATA: &str = "agent test \"metadata\"";

/// A profile that sends getppid, uname and getuid to the agent at `socket`, with
/// `extra` rules after that one.
fn profile(dir: &Path, socket: &Path, extra: &str) -> PathBuf {
    let path = dir.join("notify.json");
    let text = format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": {socket:?},
  "listenerMetadata": {METADATA:?},
  "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
  "syscalls": [{{"names": ["getppid", "uname", "getuid"], "action": "SCMP_ACT_NOTIFY"}}{extra}]}}"#
    );
    std::fs::write(&path, text).expect("writes the profile");
    path
}

/// What the agent got and saw.
struct Seen {
    state: Value,
    /// The pid of every notification.
    pids: Vec<u32>,
}

/// How the agent behaves once it holds the listener.
#[derive(Clone, Copy)]
enum Behaviour {
    Serve,
    /// Closes the listener at once, as an agent that dies.
    Die,
}

/// Accepts one connection on `socket`, takes the state and the listener, and serves
/// the listener until the program is gone.
fn agent(socket: UnixListener, behaviour: Behaviour) -> JoinHandle<Seen> {
    std::thread::spawn(move || {
        let (stream, _) = socket.accept().expect("the launcher connects");
        let (state, listener) = receive(stream.as_raw_fd());
        let pids = match behaviour {
            Behaviour::Serve => serve(&listener),
            Behaviour::Die => Vec::new(),
        };
        Seen { state, pids }
    })
}

/// The one message: the JSON and exactly one descriptor.
fn receive(stream: RawFd) -> (Value, OwnedFd) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = nix::cmsg_space!(RawFd);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        stream,
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .expect("recvmsg from the launcher");
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs().expect("control messages") {
        if let ControlMessageOwned::ScmRights(rights) = cmsg {
            fds.extend(rights);
        }
    }
    let len = msg.bytes;
    assert_eq!(fds.len(), 1, "one descriptor, the listener");
    // SAFETY: SCM_RIGHTS gave this process a new descriptor that nothing else owns.
    let listener = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    let state = serde_json::from_slice(&buf[..len]).expect("the message is JSON");
    (state, listener)
}

/// Answers each notification until the filter has no users left: getppid with
/// [`PPID_ANSWER`], uname with [`UNAME_ERRNO`], the rest (getuid) with CONTINUE.
fn serve(listener: &OwnedFd) -> Vec<u32> {
    let mut pids = Vec::new();
    loop {
        let mut poll = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, which outlives the call.
        let ready = unsafe { libc::poll(&mut poll, 1, -1) };
        if ready < 0 || poll.revents & libc::POLLIN == 0 {
            return pids;
        }
        // SAFETY: seccomp_notif is plain integers; all zeroes is valid and is what
        // the kernel wants to find.
        let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: the ioctl writes one seccomp_notif into `notif`.
        let rc = unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut notif,
            )
        };
        if rc < 0 {
            continue;
        }
        pids.push(notif.pid);
        let mut resp = libc::seccomp_notif_resp {
            id: notif.id,
            val: 0,
            error: 0,
            flags: 0,
        };
        match i64::from(notif.data.nr) {
            libc::SYS_getppid => resp.val = PPID_ANSWER,
            libc::SYS_uname => resp.error = -UNAME_ERRNO,
            _ => resp.flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        }
        // SAFETY: the ioctl reads one seccomp_notif_resp from `resp`. A caller gone
        // meanwhile makes it fail with ENOENT, which changes nothing here.
        unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                &mut resp,
            )
        };
    }
}

/// `seclaunch ARGS... -p PROFILE agent_probe PROBE_ARGS...`, started in `dir`.
fn seclaunch(dir: &Path, args: &[&str], profile: &Path, probe_args: &[&Path]) -> Command {
    let mut command = clean_command(&launcher());
    command
        .current_dir(dir)
        .args(args)
        .arg("-p")
        .arg(profile)
        .arg(agent_probe())
        .args(probe_args);
    command
}

/// Runs to the end and returns the output and the pid, or fails the test after
/// [`DEADLINE`].
fn finish(command: &mut Command) -> (Output, u32) {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(output) => (output.expect("the command runs"), pid),
        Err(_) => {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            panic!("the command did not finish within {DEADLINE:?}");
        }
    }
}

/// Checks that `output` is one `prefix` line and exit status 125.
fn assert_refused(output: &Output, prefix: &str, wants: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(125), "stderr: {text}");
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(text.starts_with(prefix), "{text}");
    for want in wants {
        assert!(text.contains(want), "{want:?} not in {text}");
    }
    assert!(
        output.stdout.is_empty(),
        "the program printed {:?}",
        stdout(output)
    );
}

#[test]
fn the_agent_gets_the_state_and_the_listener_and_answers_the_program() {
    let dir = scratch("agent-serves");
    let socket = dir.join("agent.sock");
    let served = agent(UnixListener::bind(&socket).unwrap(), Behaviour::Serve);
    let profile = profile(&dir, &socket, "");
    let (output, pid) = finish(&mut seclaunch(&dir, &["-v"], &profile, &[]));
    // Checked first: a launcher that never connected would leave the agent waiting.
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let seen = served.join().expect("the agent thread");

    let uid = nix::unistd::getuid().as_raw();
    let want = format!(
        "pid={pid} getppid={PPID_ANSWER}/0 uname=-1/{UNAME_ERRNO} getuid={uid}/0 \
         geteuid={uid}\n"
    );
    assert_eq!(
        stdout(&output),
        want,
        "exec keeps the pid; the agent answered"
    );
    let verbose = stderr(&output);
    assert!(
        verbose.contains("mode: exec (the profile hands calls to a seccomp agent"),
        "{verbose}"
    );

    let state = &seen.state;
    assert_eq!(state["ociVersion"], "1.0.2");
    assert_eq!(state["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(state["pid"], pid);
    assert_eq!(state["metadata"], METADATA);
    assert_eq!(state["state"]["pid"], pid);
    assert_eq!(state["state"]["id"], format!("seclaunch-{pid}"));
    assert_eq!(state["state"]["status"], "creating");
    let bundle = dir.canonicalize().unwrap();
    assert_eq!(state["state"]["bundle"], bundle.to_str().unwrap());
    assert!(seen.pids.len() >= 3, "the three calls reached the agent");
    assert!(
        seen.pids.iter().all(|p| *p == pid),
        "{:?} from {pid}",
        seen.pids
    );
}

#[test]
fn a_dead_agent_leaves_the_notified_calls_enosys_and_the_program_runs_on() {
    let dir = scratch("agent-dies");
    let socket = dir.join("agent.sock");
    let died = agent(UnixListener::bind(&socket).unwrap(), Behaviour::Die);
    let profile = profile(&dir, &socket, "");
    let (output, pid) = finish(&mut seclaunch(&dir, &[], &profile, &[]));
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    died.join().expect("the agent thread");
    let uid = nix::unistd::getuid().as_raw();
    let enosys = libc::ENOSYS;
    let want = format!(
        "pid={pid} getppid=-1/{enosys} uname=-1/{enosys} getuid=-1/{enosys} geteuid={uid}\n"
    );
    assert_eq!(stdout(&output), want);
}

#[test]
fn no_agent_listening_fails_with_125_before_the_program_runs() {
    let dir = scratch("agent-absent");
    let marker = dir.join("ran");
    // Nothing at the path, then a socket file nobody listens on.
    let missing = dir.join("missing.sock");
    let closed = dir.join("closed.sock");
    drop(UnixListener::bind(&closed).unwrap());
    for (socket, errno) in [(&missing, "os error 2"), (&closed, "os error 111")] {
        let profile = profile(&dir, socket, "");
        let (output, _) = finish(&mut seclaunch(&dir, &[], &profile, &[&marker]));
        let path = socket.to_str().unwrap();
        let wants = [
            path,
            "connecting to the seccomp agent (listenerPath)",
            errno,
        ];
        assert_refused(&output, "seclaunch: ", &wants);
        assert!(!marker.exists(), "the program ran");
    }
}

#[test]
fn a_profile_notifying_a_call_of_the_handover_is_refused_with_its_location() {
    let dir = scratch("agent-handover-calls");
    let socket = dir.join("agent.sock");
    let marker = dir.join("ran");
    for syscall in ["sendmsg", "exit_group"] {
        let extra =
            format!(r#", {{"names": ["getpid", "{syscall}"], "action": "SCMP_ACT_NOTIFY"}}"#);
        let profile = profile(&dir, &socket, &extra);
        let (output, _) = finish(&mut seclaunch(&dir, &[], &profile, &[&marker]));
        let location = format!(
            "notify.json: syscalls[1].names[1]: SCMP_ACT_NOTIFY cannot be used for {syscall}"
        );
        assert_refused(&output, "seclaunch: ", &[&location]);
        assert!(!marker.exists(), "the program ran");
    }
}

#[test]
fn preload_and_report_are_refused_and_auto_picks_exec() {
    let dir = scratch("agent-modes");
    let socket = dir.join("agent.sock");
    let marker = dir.join("ran");
    let profile = profile(&dir, &socket, "");
    let cases: [(&[&str], &str); 2] = [
        (
            &["--mode", "preload"],
            "use --mode exec or auto, not preload",
        ),
        (
            &["--report"],
            "the kernel allows one listener per filter chain",
        ),
    ];
    for (args, want) in cases {
        let (output, _) = finish(&mut seclaunch(&dir, args, &profile, &[&marker]));
        assert_refused(
            &output,
            "seclaunch: ",
            &["notify.json: listenerPath: ", want],
        );
        assert!(!marker.exists(), "the program ran");
    }
    let (output, _) = finish(&mut seclaunch(&dir, &["--dry-run"], &profile, &[]));
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("mode: exec (the profile hands calls to a seccomp agent (listenerPath))"),
        "{text}"
    );
    assert!(
        text.contains(&format!("agent: {}\n", socket.display())),
        "{text}"
    );
}

#[test]
fn the_shim_alone_refuses_a_profile_with_an_agent() {
    let dir = scratch("agent-shim");
    let socket = dir.join("agent.sock");
    let marker = dir.join("ran");
    let profile = profile(&dir, &socket, "");
    let mut command = clean_command(agent_probe());
    command
        .env("LD_PRELOAD", shim())
        .env("SECLAUNCH_PROFILE", &profile)
        .arg(&marker);
    let (output, _) = finish(&mut command);
    let wants = [
        "building the profile: ",
        "listenerPath: ",
        "needs seclaunch",
    ];
    assert_refused(&output, "secshim: ", &wants);
    assert!(!marker.exists(), "the program ran");
}
