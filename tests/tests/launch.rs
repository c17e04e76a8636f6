//! `seclaunch PROGRAM`: the release launcher running the C probes, static and dynamic, in
//! each mode, with its exit codes, environment and privileges checked from inside.
#![cfg(target_arch = "x86_64")]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use profiles::caps::{CapSet, ALL};
use seclaunch_tests::artifacts::{launcher, probes};
use seclaunch_tests::run::{
    clean_command, output, parse_status, scratch, sentinel_profile, setuid_nobody_copy, stderr,
    stdout, SENTINEL,
};

/// `seclaunch ARGS...` with a clean environment.
fn seclaunch<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = clean_command(&launcher());
    command.args(args);
    command
}

fn status_line(command: &mut Command) -> (i64, i64, i64, i32) {
    let out = output(command);
    assert!(out.status.success(), "failed: {}", stderr(&out));
    parse_status(stdout(&out).lines().next().expect("a status line"))
}

#[test]
fn each_mode_filters_a_dynamic_and_a_static_program() {
    let dir = scratch("modes");
    let profile = sentinel_profile(&dir);
    let probes = probes();
    let cases = [
        ("auto", &probes.probe),
        ("preload", &probes.probe),
        ("exec", &probes.probe),
        ("auto", &probes.probe_static),
        ("exec", &probes.probe_static),
    ];
    for (mode, program) in cases {
        let mut command = seclaunch(["--mode", mode, "-p"]);
        command.arg(&profile).arg(program).arg("status");
        let status = status_line(&mut command);
        assert_eq!(status, (2, 1, 1, SENTINEL), "{mode} {}", program.display());
    }
}

#[test]
fn auto_mode_says_why_it_chose() {
    let probes = probes();
    for (program, expected) in [
        (&probes.probe, "mode: preload ("),
        (&probes.probe_static, "mode: exec ("),
    ] {
        let out = output(seclaunch(["--dry-run"]).arg(program));
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains(expected), "{text}");
        assert!(text.contains("profile: default\n"), "{text}");
    }
}

#[test]
fn a_script_whose_interpreter_is_static_runs_in_exec_mode() {
    let dir = scratch("static-script");
    let script = dir.join("script");
    let body = format!("#!{} status\n", probes().probe_static.display());
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = output(seclaunch(["--dry-run"]).arg(&script));
    assert!(stdout(&out).contains("mode: exec ("), "{}", stdout(&out));
    let mut command = seclaunch(["-p"]);
    command.arg(sentinel_profile(&dir)).arg(&script);
    assert_eq!(status_line(&mut command), (2, 1, 1, SENTINEL));
}

#[test]
fn preload_mode_refuses_a_static_program() {
    let out = output(seclaunch(["--mode", "preload"]).arg(&probes().probe_static));
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("cannot preload the shim: it is statically linked"));
}

#[test]
fn exit_codes_follow_docker_run() {
    let dir = scratch("exit-codes");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap();
    let probe = &probes().probe;
    let cases: Vec<(Command, i32)> = vec![
        (
            {
                let mut c = seclaunch(["--no-such-option"]);
                c.arg(probe);
                c
            },
            125,
        ),
        (
            {
                let mut c = seclaunch(["-p"]);
                c.arg(&bad).arg(probe);
                c
            },
            125,
        ),
        (
            {
                let mut c = seclaunch(["--cap-add", "CAP_NOPE"]);
                c.arg(probe);
                c
            },
            125,
        ),
        (seclaunch(["/etc/passwd"]), 126),
        (seclaunch(["/"]), 126),
        (seclaunch(["no-such-program-anywhere"]), 127),
        (seclaunch(["./no-such-program"]), 127),
        (
            {
                let mut c = seclaunch([probe]);
                c.args(["exit", "7"]);
                c
            },
            7,
        ),
        (
            {
                let mut c = seclaunch([probe]);
                c.args(["exit", "0"]);
                c
            },
            0,
        ),
    ];
    for (mut command, code) in cases {
        let out = output(&mut command);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{command:?}: {}",
            stderr(&out)
        );
        if code >= 125 {
            let err = stderr(&out);
            assert!(
                err.starts_with("seclaunch: ") && err.lines().count() == 1,
                "{err}"
            );
        }
    }
}

#[test]
fn a_missing_or_wrong_shim_is_an_error_never_a_run_without_a_filter() {
    let dir = scratch("bad-shim");
    let text_file = dir.join("libsecshim.so");
    std::fs::write(&text_file, "not a library").unwrap();
    let mark = dir.join("main-ran");
    for shim in [dir.join("missing.so"), text_file, probes().probe.clone()] {
        let mut command = seclaunch(["--mode", "preload"]);
        command
            .env("SECLAUNCH_SHIM", &shim)
            .env("PROBE_MARK", &mark)
            .arg(&probes().probe);
        let out = output(&mut command);
        assert_eq!(out.status.code(), Some(125), "{}", shim.display());
        assert!(stderr(&out).contains("unusable shim"), "{}", stderr(&out));
        assert!(!mark.exists(), "main ran with {}", shim.display());
    }
}

#[test]
fn a_program_killed_by_a_signal_dies_of_it_with_the_same_pid() {
    let out = output(&mut seclaunch(["/bin/sh", "-c", "kill -TERM $$"]));
    assert_eq!(out.status.signal(), Some(libc::SIGTERM));
    let child = seclaunch([&probes().probe])
        .arg("pid")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pid.to_string());
}

#[test]
fn an_existing_preload_is_kept_and_our_variables_are_not_inherited() {
    let probes = probes();
    let mut command = seclaunch([&probes.probe]);
    command
        .env("LD_PRELOAD", &probes.early_thread)
        .env("SECLAUNCH_PROFILE", "/nonexistent.json")
        .env("SECLAUNCH_CAP_ADD", "ALL")
        .arg("env");
    let out = output(&mut command);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // The program sees its own LD_PRELOAD: the shim took itself out once installed.
    let preload = text.lines().find(|l| l.starts_with("env LD_PRELOAD="));
    let expected = format!("env LD_PRELOAD={}", probes.early_thread.display());
    assert_eq!(preload, Some(expected.as_str()), "{text}");
    let ours: Vec<_> = text
        .lines()
        .filter(|l| l.starts_with("env SECLAUNCH_"))
        .collect();
    assert_eq!(ours.len(), 1, "{text}");
    assert!(ours[0].starts_with("env SECLAUNCH_ACTIVE="), "{text}");
    let mut command = seclaunch([&probes.probe]);
    command
        .env("LD_PRELOAD", &probes.early_thread)
        .arg("early-thread");
    let out = output(&mut command);
    // The shim comes last in LD_PRELOAD, so its constructor runs first, and the thread
    // the other library starts is filtered from its first instruction.
    assert_eq!(stdout(&out), "start=2 now=2 denied=1\n", "{}", stderr(&out));
}

#[test]
fn no_fd_of_the_launcher_reaches_the_program() {
    let probe = &probes().probe;
    let plain = stdout(&output(clean_command(probe).arg("env")));
    for mode in ["preload", "exec"] {
        let text = stdout(&output(seclaunch(["--mode", mode]).arg(probe).arg("env")));
        let fds = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| l.starts_with("fd "))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(fds(&text), fds(&plain), "{mode}");
    }
}

#[test]
fn profile_errors_are_one_line_with_the_json_location() {
    let dir = scratch("profile-errors");
    let cases = [
        ("{\"defaultAction\": ", "line 1 column"),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "op": "SCMP_CMP_EQQ", "value": 1}]}]}"#,
            "syscalls[0].args[0].op",
        ),
        (r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#, "defaultAction"),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_NOPE"]}"#,
            "architectures[0]",
        ),
    ];
    for (i, (text, location)) in cases.iter().enumerate() {
        let path = dir.join(format!("p{i}.json"));
        std::fs::write(&path, text).unwrap();
        let out = output(seclaunch(["-p"]).arg(&path).arg("/bin/true"));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        let prefix = format!("seclaunch: {}: ", path.display());
        assert!(err.starts_with(&prefix) && err.contains(location), "{err}");
    }
}

#[test]
fn security_opt_is_the_docker_spelling_of_profile() {
    let dir = scratch("security-opt");
    let profile = sentinel_profile(&dir);
    let mut command = seclaunch(["--security-opt"]);
    command
        .arg(format!("seccomp={}", profile.display()))
        .args(["--security-opt", "no-new-privileges"])
        .arg(&probes().probe);
    assert_eq!(status_line(&mut command), (2, 1, 1, SENTINEL));
    let out = output(&mut seclaunch([
        "--security-opt",
        "apparmor=x",
        "/bin/true",
    ]));
    assert_eq!(out.status.code(), Some(125));
    let mut command = seclaunch(["--security-opt", "seccomp=unconfined"]);
    let (mode, _, nnp, _) = status_line(command.arg(&probes().probe));
    assert_eq!((mode, nnp), (0, 1));
}

#[test]
fn a_setuid_program_gains_no_privileges() {
    let dir = scratch("setuid");
    let Some(copy) = setuid_nobody_copy(&dir, &probes().probe) else {
        return;
    };
    let plain = stdout(&output(clean_command(&copy).arg("ids")));
    if plain != "uid=0 euid=65534\n" {
        eprintln!("skipping: setuid has no effect here ({plain:?}; nosuid mount?)");
        return;
    }
    let under = output(seclaunch([&copy]).arg("ids"));
    assert_eq!(stdout(&under), "uid=0 euid=0\n", "{}", stderr(&under));
}

/// The hex mask `/proc/self/status` shows for `set`.
fn cap_mask(set: &CapSet) -> String {
    let bits = set
        .iter()
        .map(|name| ALL.iter().position(|c| *c == name).unwrap())
        .fold(0u64, |mask, bit| mask | 1 << bit);
    format!("{bits:016x}")
}

#[test]
fn a_root_launch_is_limited_to_the_profiles_capability_set() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: capability limits apply to root launches");
        return;
    }
    for (args, set) in [
        (vec![], CapSet::docker_default()),
        (vec!["--cap-drop", "ALL"], CapSet::empty()),
        (
            vec!["--cap-add", "sys_admin", "--cap-drop", "CAP_KILL"],
            CapSet::docker_default()
                .tweak(&["SYS_ADMIN"], &["KILL"])
                .unwrap(),
        ),
    ] {
        let mut command = seclaunch(&args);
        let out = output(command.arg(&probes().probe).arg("caps"));
        let text = stdout(&out);
        let mask = cap_mask(&set);
        for field in ["CapEff", "CapPrm", "CapBnd"] {
            assert!(
                text.contains(&format!("{field}:\t{mask}")),
                "{args:?} {field}: {text}"
            );
        }
        for field in ["CapInh", "CapAmb"] {
            assert!(
                text.contains(&format!("{field}:\t{:016x}", 0)),
                "{field}: {text}"
            );
        }
    }
}

#[test]
fn a_program_named_like_a_command_runs_after_a_double_dash() {
    let dir = scratch("named-check");
    let check = dir.join("check");
    std::fs::copy(&probes().probe, &check).unwrap();
    let mut command = seclaunch(["--"]);
    command.current_dir(&dir).arg("./check").arg("status");
    let (mode, ..) = status_line(&mut command);
    assert_eq!(mode, 2);
    let out = output(&mut seclaunch(["check", "default"]));
    assert!(
        out.status.success() && stdout(&out).contains("x86_64"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn limits_that_could_make_the_loader_skip_the_shim_choose_exec_mode() {
    // Under these limits the loader's open or mmap of the shim may fail, and the loader
    // would then run the program unfiltered; auto mode installs before execve instead.
    let probe = probes().probe.display().to_string();
    let seclaunch = launcher().display().to_string();
    for (limit, reason) in [
        ("ulimit -v 8000000", "address space"),
        ("ulimit -d 8000000", "data size"),
        ("ulimit -n 12", "file descriptors"),
    ] {
        let dry = format!("{limit}; exec {seclaunch} --dry-run {probe}");
        let out = output(clean_command(Path::new("/bin/sh")).args(["-c", &dry]));
        let text = stdout(&out);
        assert!(
            text.contains("mode: exec (") && text.contains(reason),
            "{limit}: {text}"
        );
        let run = format!("{limit}; exec {seclaunch} {probe} status");
        let (mode, ..) = status_line(clean_command(Path::new("/bin/sh")).args(["-c", &run]));
        assert_eq!(mode, 2, "{limit}");
        let forced = format!("{limit}; exec {seclaunch} --mode preload {probe} status");
        let out = output(clean_command(Path::new("/bin/sh")).args(["-c", &forced]));
        assert_eq!(out.status.code(), Some(125), "{limit}: {}", stderr(&out));
    }
}
