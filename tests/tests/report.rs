//! `seclaunch --report`: the release launcher supervising `report_probe.c`. Each test
//! runs the probe with and without the report and checks that the program saw the same
//! thing, then checks the report line by line.
#![cfg(target_arch = "x86_64")]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use seclaunch_tests::artifacts::{launcher, report_probe};
use seclaunch_tests::run::{clean_command, scratch, sentinel_profile, stderr, stdout};

/// Long enough for a loaded two-core machine; a hang fails well before CI gives up.
const DEADLINE: Duration = Duration::from_secs(30);

/// A profile that allows everything but a trap, a kill and an errno.
const TRAP_PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["getppid"], "action": "SCMP_ACT_TRAP"},
    {"names": ["getpgrp"], "action": "SCMP_ACT_KILL_PROCESS"},
    {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 199}]}"#;

/// `seclaunch ARGS... -p PROFILE report_probe MODE...`.
fn seclaunch(args: &[&str], profile: &Path, mode: &[&str]) -> Command {
    let mut command = clean_command(&launcher());
    command
        .args(args)
        .arg("-p")
        .arg(profile)
        .arg(report_probe())
        .args(mode);
    command
}

/// Runs to the end, or fails the test after [`DEADLINE`].
fn finish(command: &mut Command) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("seclaunch starts");
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("seclaunch runs"),
        Err(_) => {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            panic!("seclaunch did not finish within {DEADLINE:?}");
        }
    }
}

/// The probe's output under `--mode exec` and under `--report`, which must be the
/// same, and the report.
fn with_and_without(profile: &Path, mode: &[&str]) -> (Output, Output) {
    let plain = finish(&mut seclaunch(&["--mode", "exec"], profile, mode));
    let reported = finish(&mut seclaunch(&["--report"], profile, mode));
    assert_eq!(
        stdout(&plain),
        stdout(&reported),
        "the program saw another thing"
    );
    (plain, reported)
}

/// The report with every pid in it replaced by `PID` and runs of spaces by one.
fn normalized(report: &str) -> String {
    let mut out = String::new();
    for line in report.lines() {
        let words: Vec<&str> = line.split(' ').filter(|w| !w.is_empty()).collect();
        let mut shown = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let after_pid = i > 0 && words[i - 1] == "pid";
            let last_of_row = i + 1 == words.len() && line.starts_with("seclaunch:   ");
            let is_number = word.chars().all(|c| c.is_ascii_digit());
            let is_pid = is_number && (after_pid || (last_of_row && i > 2));
            shown.push(if is_pid { "PID" } else { word });
        }
        out += &shown.join(" ");
        out.push('\n');
    }
    out
}

/// The pid a `denied:` line names for `call`.
fn pid_of(report: &str, call: &str) -> u32 {
    let prefix = format!("seclaunch: denied: {call} ");
    let line = report
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no report of {call} in:\n{report}"));
    let (_, after) = line.split_once(" pid ").expect("a pid");
    after.split(' ').next().unwrap().parse().expect("a number")
}

/// The summary row of `syscall` on `abi`: (decision, count, first pid).
fn summary_row(report: &str, syscall: &str, abi: &str) -> (String, u64, u32) {
    let row = report
        .lines()
        .filter_map(|line| line.strip_prefix("seclaunch:   "))
        .map(|row| {
            row.split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect()
        })
        .find(|cols: &Vec<&str>| cols.len() == 5 && cols[0] == syscall && cols[1] == abi)
        .unwrap_or_else(|| panic!("no summary row for {syscall} {abi} in:\n{report}"));
    (
        row[2].to_string(),
        row[3].parse().unwrap(),
        row[4].parse().unwrap(),
    )
}

#[test]
fn denied_calls_are_reported_once_each_with_their_arguments_and_decision() {
    let dir = scratch("report-calls");
    let profile = sentinel_profile(&dir);
    let (plain, reported) = with_and_without(&profile, &["calls"]);
    assert!(plain.status.success() && reported.status.success());
    assert_eq!(
        stdout(&reported),
        "unshare=199 unshare_again=199 mount=199 clone3=38 nr_1000=38 getpid=0 \
         i386_unshare=199\n"
    );
    let report = stderr(&reported);
    let want = "\
seclaunch: denied: unshare(CLONE_NEWNS|CLONE_NEWUSER) x86_64 pid PID -> ERRNO(199)
seclaunch: denied: mount(0, 0, 0, 0, 0, 0) x86_64 pid PID -> ERRNO(199)
seclaunch: denied: clone3(0, 0) x86_64 pid PID -> ERRNO(38) ENOSYS
seclaunch: denied: syscall 1000(0, 0, 0, 0, 0, 0) x86_64 pid PID -> ERRNO(38) ENOSYS
seclaunch: denied: unshare(CLONE_NEWUSER) i386 pid PID -> ERRNO(199)
seclaunch: exit: status 0
seclaunch: summary: 5 syscalls denied, 6 calls
seclaunch: syscall abi decision count first pid
seclaunch: unshare x86_64 ERRNO(199) 2 PID
seclaunch: mount x86_64 ERRNO(199) 1 PID
seclaunch: clone3 x86_64 ERRNO(38) ENOSYS 1 PID
seclaunch: syscall 1000 x86_64 ERRNO(38) ENOSYS 1 PID
seclaunch: unshare i386 ERRNO(199) 1 PID
";
    assert_eq!(normalized(&report), want, "{report}");
    // Every call came from the program's one process, and that is not seclaunch.
    let pid = pid_of(&report, "mount(0, 0, 0, 0, 0, 0)");
    assert_eq!(summary_row(&report, "unshare", "i386").2, pid);
    assert_ne!(pid, std::process::id());
}

#[test]
fn a_report_file_takes_the_report_and_stderr_stays_the_programs() {
    let dir = scratch("report-file");
    let profile = sentinel_profile(&dir);
    let file = dir.join("report.txt");
    let flag = format!("--report={}", file.display());
    let out = finish(&mut seclaunch(&[&flag], &profile, &["calls"]));
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
    let report = std::fs::read_to_string(&file).expect("the report file exists");
    assert!(report.starts_with("seclaunch: denied: unshare(CLONE_NEWNS|CLONE_NEWUSER) x86_64"));
    assert!(
        report.contains("seclaunch: summary: 5 syscalls denied, 6 calls\n"),
        "{report}"
    );
}

#[test]
fn threads_and_child_processes_are_covered() {
    let dir = scratch("report-family");
    let profile = sentinel_profile(&dir);
    let out = finish(&mut seclaunch(&["--report"], &profile, &["family", "3"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stderr(&out);
    // Three threads called unshare, each once.
    let (decision, count, _) = summary_row(&report, "unshare", "x86_64");
    assert_eq!((decision.as_str(), count), ("ERRNO(199)", 3), "{report}");
    // The forked child's mount is reported under the child's pid.
    let text = stdout(&out);
    let child: u32 = text
        .lines()
        .find_map(|line| line.strip_prefix("child=")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no child line in {text}"));
    assert_eq!(pid_of(&report, "mount(0, 0, 0, 0, 0, 0)"), child);
    assert!(text.contains("threads=3 child_status=0\n"), "{text}");
}

/// Whether this run can read the kernel's audit records, which name KILL and TRAP.
fn audit_readable() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("skipping: reading audit records needs root (CAP_AUDIT_READ)");
    false
}

fn trap_profile(dir: &Path) -> PathBuf {
    let path = dir.join("trap.json");
    std::fs::write(&path, TRAP_PROFILE).unwrap();
    path
}

#[test]
fn a_trapped_call_still_traps_and_is_reported_by_name() {
    if !audit_readable() {
        return;
    }
    let dir = scratch("report-trap");
    let (plain, reported) = with_and_without(&trap_profile(&dir), &["trap"]);
    assert!(plain.status.success() && reported.status.success());
    // The handler saw SIGSYS for getppid (110) either way.
    assert_eq!(stdout(&reported), "getppid=0 trapped=110\n");
    let report = stderr(&reported);
    assert_eq!(
        pid_of(&report, "getppid x86_64"),
        summary_row(&report, "getppid", "x86_64").2
    );
    assert_eq!(summary_row(&report, "getppid", "x86_64").0, "TRAP");
}

#[test]
fn a_killed_program_dies_of_sigsys_and_the_call_is_named() {
    if !audit_readable() {
        return;
    }
    let dir = scratch("report-kill");
    let (plain, reported) = with_and_without(&trap_profile(&dir), &["kill"]);
    assert_eq!(plain.status.signal(), Some(libc::SIGSYS));
    assert_eq!(reported.status.code(), Some(128 + libc::SIGSYS));
    let report = stderr(&reported);
    let pid = pid_of(&report, "getpgrp x86_64");
    assert!(
        report.contains(&format!(
            "seclaunch: denied: getpgrp x86_64 pid {pid} -> KILL_PROCESS\n"
        )),
        "{report}"
    );
    assert!(
        report.contains("seclaunch: exit: killed by SIGSYS"),
        "{report}"
    );
    assert!(!report.contains("no audit record"), "{report}");
}

#[test]
fn exit_statuses_and_deaths_by_signal_pass_through() {
    let dir = scratch("report-exit");
    let profile = sentinel_profile(&dir);
    let (plain, reported) = with_and_without(&profile, &["exit", "7"]);
    assert_eq!(
        (plain.status.code(), reported.status.code()),
        (Some(7), Some(7))
    );
    assert!(stderr(&reported).contains("seclaunch: exit: status 7\n"));
    let (plain, reported) = with_and_without(&profile, &["raise", "15"]);
    assert_eq!(plain.status.signal(), Some(libc::SIGTERM));
    assert_eq!(reported.status.code(), Some(128 + libc::SIGTERM));
    let report = stderr(&reported);
    assert!(
        report.contains("seclaunch: exit: killed by SIGTERM (status 143)\n"),
        "{report}"
    );
    assert!(
        report.contains("seclaunch: summary: no syscall was denied\n"),
        "{report}"
    );
}

/// A supervisor whose program's output arrives line by line.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("seclaunch starts");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(DEADLINE)
            .expect("the program prints its next line in time")
    }

    fn send_line(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("signals the supervisor");
    }

    /// Stops the supervisor, and returns once every one of its threads has stopped: a
    /// stop signal is only pending when `kill` returns.
    fn stop(&self) {
        self.signal(Signal::SIGSTOP);
        let tasks = format!("/proc/{}/task", self.pid());
        let stopped = || {
            let entries = std::fs::read_dir(&tasks).expect("the supervisor's threads");
            entries.flatten().all(|task| {
                let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
                // The state follows the command's closing parenthesis.
                let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
                state == Some(Some('T'))
            })
        };
        let deadline = Instant::now() + DEADLINE;
        while !stopped() {
            assert!(
                Instant::now() < deadline,
                "the supervisor did not stop in time"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits for the supervisor's own end.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "seclaunch did not end in time");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stderr(&mut self) -> String {
        let mut text = String::new();
        let mut err = self.child.stderr.take().unwrap();
        std::io::Read::read_to_string(&mut err, &mut text).unwrap();
        text
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn signals_sent_to_the_supervisor_reach_the_program() {
    let dir = scratch("report-signals");
    let profile = sentinel_profile(&dir);
    let mut run = Running::start(seclaunch(&["--report"], &profile, &["wait-signal"]));
    assert_eq!(run.line(), "ready");
    run.signal(Signal::SIGUSR1);
    assert_eq!(run.line(), format!("got={}", libc::SIGUSR1));
    assert_eq!(run.wait().code(), Some(0));

    let mut run = Running::start(seclaunch(&["--report"], &profile, &["wait-signal"]));
    assert_eq!(run.line(), "ready");
    run.signal(Signal::SIGTERM);
    assert_eq!(run.wait().code(), Some(128 + libc::SIGTERM));
    assert!(run
        .stderr()
        .contains("seclaunch: exit: killed by SIGTERM (status 143)\n"));
}

/// Kills the probe of a test that failed midway: it outlives its supervisor.
struct Orphan(Pid);

impl Drop for Orphan {
    fn drop(&mut self) {
        let _ = kill(self.0, Signal::SIGKILL);
    }
}

fn probe_pid(first_line: &str) -> (Orphan, String) {
    let (pid, rest) = first_line
        .strip_prefix("pid=")
        .and_then(|rest| rest.split_once(' '))
        .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"));
    (
        Orphan(Pid::from_raw(pid.parse().unwrap())),
        rest.to_string(),
    )
}

#[test]
fn after_the_supervisor_is_killed_denied_calls_fail_with_enosys() {
    let dir = scratch("report-killed");
    let profile = sentinel_profile(&dir);
    let mut run = Running::start(seclaunch(&["--report"], &profile, &["two-calls"]));
    let (_orphan, first) = probe_pid(&run.line());
    assert_eq!(first, "first=199");
    run.signal(Signal::SIGKILL);
    assert_eq!(run.wait().signal(), Some(libc::SIGKILL));
    run.send_line();
    assert_eq!(run.line(), "calling");
    assert_eq!(run.line(), format!("second={}", libc::ENOSYS));
}

#[test]
fn a_call_waiting_on_a_supervisor_that_is_killed_fails_with_enosys() {
    let dir = scratch("report-stopped");
    let profile = sentinel_profile(&dir);
    let mut run = Running::start(seclaunch(&["--report"], &profile, &["two-calls"]));
    let (_orphan, first) = probe_pid(&run.line());
    assert_eq!(first, "first=199");
    // A stopped supervisor cannot answer: the second call waits in the kernel.
    run.stop();
    run.send_line();
    assert_eq!(run.line(), "calling");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        run.lines.try_recv().is_err(),
        "the call returned while the supervisor was stopped"
    );
    run.signal(Signal::SIGKILL);
    assert_eq!(run.line(), format!("second={}", libc::ENOSYS));
}

#[test]
fn allowed_calls_never_reach_the_supervisor() {
    let dir = scratch("report-allowed");
    let profile = sentinel_profile(&dir);
    let mut run = Running::start(seclaunch(&["--report"], &profile, &["allowed"]));
    assert_eq!(run.line(), "ready");
    run.stop();
    run.send_line();
    assert_eq!(run.line(), "done failed=0");
    run.signal(Signal::SIGCONT);
    assert_eq!(run.wait().code(), Some(0));
    assert!(run
        .stderr()
        .ends_with("seclaunch: exit: status 0\nseclaunch: summary: no syscall was denied\n"));
}

#[test]
fn trace_and_errno_0_get_what_the_kernel_gives_them_without_a_report() {
    let dir = scratch("report-odd");
    let profile = dir.join("odd.json");
    // NOTIFY is not here: a profile with an agent is refused under --report
    // (tests/tests/agent.rs).
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
              {"names": ["getuid"], "action": "SCMP_ACT_TRACE"},
              {"names": ["getgid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
              {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}"#,
    )
    .unwrap();
    let (_, reported) = with_and_without(&profile, &["odd-actions"]);
    // No tracer: ENOSYS, whatever the trace data. ERRNO(0): 0, without running the call.
    assert_eq!(stdout(&reported), "getuid=-1/38 getgid=-1/38 unshare=0/0\n");
    let report = normalized(&stderr(&reported));
    for line in [
        "getuid(0, 0, 0, 0, 0, 0) x86_64 pid PID -> TRACE(1) (ENOSYS: no tracer)",
        "getgid(0, 0, 0, 0, 0, 0) x86_64 pid PID -> TRACE(7) (ENOSYS: no tracer)",
        "unshare(CLONE_NEWUSER) x86_64 pid PID -> ERRNO(0)",
    ] {
        let line = format!("seclaunch: denied: {line}\n");
        assert!(report.contains(&line), "{line} is missing from:\n{report}");
    }
}

#[test]
fn a_denied_execve_fails_the_launch_as_in_exec_mode_and_is_reported() {
    let dir = scratch("report-execve");
    let profile = dir.join("no-exec.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let (plain, reported) = with_and_without(&profile, &["exit", "0"]);
    assert_eq!(
        (plain.status.code(), reported.status.code()),
        (Some(126), Some(126))
    );
    let report = stderr(&reported);
    assert!(
        report.contains("cannot execute: Operation not permitted"),
        "{report}"
    );
    assert!(report.contains("seclaunch: denied: execve("), "{report}");
    assert!(report.contains("-> ERRNO(1) EPERM\n"), "{report}");
}

#[test]
fn the_launchers_own_calls_before_execve_run_even_when_the_profile_denies_them() {
    let dir = scratch("report-own-calls");
    let profile = dir.join("no-read.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": 199}]}"#,
    )
    .unwrap();
    // The loader cannot read the probe's libraries either way, and ends it with the
    // same status; the child's wait for its release (a read) ran regardless.
    let (plain, reported) = with_and_without(&profile, &["exit", "0"]);
    assert_eq!(plain.status.code(), reported.status.code());
    assert_ne!(reported.status.code(), Some(125), "{}", stderr(&reported));
    assert!(stderr(&reported).contains(" -> ERRNO(199)\n"));
}

#[test]
fn a_profile_that_kills_the_launchers_own_read_is_refused() {
    let dir = scratch("report-kill-read");
    let profile = dir.join("kill-read.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL_PROCESS"}]}"#,
    )
    .unwrap();
    let out = finish(&mut seclaunch(&["--report"], &profile, &["exit", "0"]));
    assert_eq!(out.status.code(), Some(125));
    let text = stderr(&out);
    assert!(
        text.contains("the profile decides KILL_PROCESS for read on x86_64"),
        "{text}"
    );
}

#[test]
fn report_mode_always_installs_before_execve() {
    let dir = scratch("report-modes");
    let profile = sentinel_profile(&dir);
    let out = finish(&mut seclaunch(
        &["--report", "--dry-run"],
        &profile,
        &["exit", "0"],
    ));
    let text = stdout(&out);
    assert!(text.contains("mode: exec (--report)\n"), "{text}");
    assert!(text.contains("report: stderr\n"), "{text}");
    let out = finish(&mut seclaunch(
        &["--report", "--mode", "preload"],
        &profile,
        &[],
    ));
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("cannot be used with --mode preload"));
}
