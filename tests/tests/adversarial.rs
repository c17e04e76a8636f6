//! Attacks on seclaunch and faults around it, against real processes: ways out of the
//! filter tried from inside, seccomp made unavailable, /proc missing, oversized
//! profiles, and load. Every case must end filtered, or refused with one line and 125
//! before the program's `main`.
#![cfg(target_arch = "x86_64")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use seclaunch_tests::artifacts::{launcher, probes, shim};
use seclaunch_tests::run::{
    clean_command, output, parse_status, scratch, sentinel_profile, setuid_nobody_copy, stderr,
    stdout, SENTINEL,
};

const ENOSYS: i32 = libc::ENOSYS;

/// `seclaunch ARGS...` with a clean environment.
fn seclaunch(args: &[&str]) -> Command {
    let mut command = clean_command(&launcher());
    command.args(args);
    command
}

/// The probe's `name=errno` pairs.
fn pairs(line: &str) -> Vec<(String, i32)> {
    line.split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, errno)| (name.to_string(), errno.parse().unwrap()))
        .collect()
}

#[test]
fn every_way_out_fails_in_every_mode_for_static_and_dynamic_programs() {
    let dir = scratch("escapes");
    let profile = sentinel_profile(&dir);
    let probes = probes();
    for (mode, program) in [
        ("preload", &probes.probe),
        ("exec", &probes.probe),
        ("exec", &probes.probe_static),
    ] {
        let mut command = seclaunch(&["--mode", mode, "-p"]);
        let out = output(command.arg(&profile).arg(program).arg("escapes"));
        assert!(out.status.success(), "{}", stderr(&out));
        let results = pairs(&stdout(&out));
        assert_eq!(results.len(), 16, "{results:?}");
        for (name, errno) in results {
            // Docker's default answers clone3 with ENOSYS so that libcs fall back to
            // clone, and runc's stub answers numbers above the table with ENOSYS; every
            // other call here is denied with the profile's errno.
            // -1 has bit 30 set, so the stub compares it with the x32 table's top.
            let expected = match name.as_str() {
                "clone3" | "nr_1000" | "nr_0x3fffffff" | "nr_minus_1" => ENOSYS,
                _ => SENTINEL,
            };
            assert_eq!(errno, expected, "{mode} {}: {name}", program.display());
        }
    }
}

#[test]
fn a_new_filter_from_inside_cannot_loosen_the_one_in_force() {
    let dir = scratch("loosen");
    let mut command = seclaunch(&["-p"]);
    command
        .arg(sentinel_profile(&dir))
        .arg(&probes().probe)
        .arg("loosen");
    let out = output(&mut command);
    let text = stdout(&out);
    // Both installs of an allow-all filter succeed: filters only ever add up.
    assert!(text.starts_with("seccomp=0 prctl=0 "), "{text}");
    let status = text.trim_start_matches("seccomp=0 prctl=0 ");
    assert_eq!(parse_status(status), (2, 3, 1, SENTINEL));
}

/// A profile under which `seccomp(2)` fails with ENOSYS and `prctl(PR_SET_SECCOMP)` with
/// EINVAL, as on a kernel without seccomp; everything else is allowed.
fn no_seccomp_profile(dir: &Path) -> PathBuf {
    let path = dir.join("no-seccomp.json");
    std::fs::write(
        &path,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["seccomp"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["prctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
             "args": [{"index": 0, "value": 22, "op": "SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    path
}

#[test]
fn without_seccomp_every_path_refuses_to_run_the_program() {
    let dir = scratch("no-seccomp");
    let outer = no_seccomp_profile(&dir);
    let mark = dir.join("main-ran");
    let (launcher, shim, probe) = (launcher(), shim(), &probes().probe);
    let inner: Vec<Vec<String>> = vec![
        vec![
            launcher.display().to_string(),
            "--mode".into(),
            "exec".into(),
        ],
        vec![
            launcher.display().to_string(),
            "--mode".into(),
            "preload".into(),
        ],
        vec![
            "/usr/bin/env".into(),
            format!("LD_PRELOAD={}", shim.display()),
            "SECLAUNCH_PROFILE=default".into(),
        ],
    ];
    for words in inner {
        let mut command = seclaunch(&["--mode", "exec", "-p"]);
        command
            .arg(&outer)
            .arg("--")
            .args(&words)
            .arg(probe)
            .arg("status");
        let out = output(command.env("PROBE_MARK", &mark));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{words:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("Function not implemented"), "{words:?}: {err}");
        assert!(!mark.exists(), "main ran under {words:?}");
    }
}

#[test]
fn a_profile_over_the_kernels_limit_is_refused_with_its_length() {
    let dir = scratch("too-long");
    let entries: Vec<String> = (0..2500)
        .map(|i| {
            format!(
                r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                    "args": [{{"index": 0, "value": {i}, "op": "SCMP_CMP_EQ"}}]}}"#
            )
        })
        .collect();
    let text = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}]}}"#,
        entries.join(",")
    );
    let profile = dir.join("long.json");
    std::fs::write(&profile, text).unwrap();
    let mark = dir.join("main-ran");
    let mut launch = seclaunch(&["-p"]);
    launch.arg(&profile).arg(&probes().probe);
    let mut standalone = clean_command(&probes().probe);
    standalone
        .env("LD_PRELOAD", shim())
        .env("SECLAUNCH_PROFILE", &profile);
    for command in [&mut launch, &mut standalone] {
        let out = output(command.env("PROBE_MARK", &mark));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{err}");
        assert!(
            err.contains("more than the kernel's limit of 4096"),
            "{err}"
        );
        assert!(!mark.exists());
    }
}

#[test]
fn without_proc_the_launcher_and_the_shim_still_filter() {
    // A mount namespace of the test's own, with an empty /proc: the launcher cannot read
    // /proc/self/exe or the kernel version, the shim cannot read /proc/self/status.
    let dir = scratch("no-proc");
    let profile = sentinel_profile(&dir);
    // The child preloads the shim again, which must find the filter in force without
    // /proc: stacking the embedded default instead would make the denied call EPERM.
    let script = format!(
        "mount -t tmpfs none /proc && SECLAUNCH_SHIM={shim} exec {launcher} -p {profile} \
         /bin/sh -c 'LD_PRELOAD={shim} exec {probe} status'",
        shim = shim().display(),
        launcher = launcher().display(),
        profile = profile.display(),
        probe = probes().probe.display(),
    );
    let mut command = clean_command(Path::new("unshare"));
    command.args([
        "--mount",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        &script,
    ]);
    let out = output(&mut command);
    if stderr(&out).contains("unshare failed") {
        eprintln!("skipping: no mount namespaces here ({})", stderr(&out));
        return;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    // Without /proc the probe cannot read its status: only the denied call's errno
    // shows the filter.
    let (mode, filters, _, denied) = parse_status(&stdout(&out));
    assert_eq!((mode, filters, denied), (-1, -1, SENTINEL));
}

#[test]
fn two_hundred_concurrent_launches_all_run_filtered() {
    let dir = scratch("concurrent");
    let profile = sentinel_profile(&dir);
    let children: Vec<_> = (0..200)
        .map(|_| {
            seclaunch(&["-p"])
                .arg(&profile)
                .arg(&probes().probe)
                .arg("status")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(parse_status(&stdout(&out)), (2, 1, 1, SENTINEL));
    }
}

#[test]
fn a_parallel_make_tree_carries_one_filter_per_process() {
    let dir = scratch("make-tree");
    let probe = probes().probe.display().to_string();
    let targets: Vec<String> = (0..24).map(|i| format!("t{i}")).collect();
    let mut makefile = format!("all: {}\n", targets.join(" "));
    for target in &targets {
        makefile += &format!("{target}:\n\t@sh -c '{probe} status'\n");
    }
    std::fs::write(dir.join("Makefile"), makefile).unwrap();
    let mut command = seclaunch(&["-p"]);
    command
        .arg(sentinel_profile(&dir))
        .args(["make", "-s", "-j8", "-C"])
        .arg(&dir);
    let out = output(&mut command);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<_> = stdout(&out).lines().map(parse_status).collect();
    assert_eq!(lines, vec![(2, 1, 1, SENTINEL); targets.len()]);
}

#[test]
fn a_tracer_that_rewrites_a_call_into_a_denied_one_gets_the_denial() {
    // Since Linux 4.8 the kernel runs the filter again after a tracer changes the call;
    // Docker's default allows ptrace on such kernels for that reason.
    let dir = scratch("ptrace");
    for mode in ["preload", "exec"] {
        let mut command = seclaunch(&["--mode", mode, "-p"]);
        command
            .arg(sentinel_profile(&dir))
            .arg(&probes().probe)
            .arg("ptrace-rewrite");
        let out = output(&mut command);
        assert_eq!(
            stdout(&out),
            format!("rewritten={SENTINEL}\n"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn strict_mode_cannot_replace_the_filter() {
    let dir = scratch("strict");
    let mut command = seclaunch(&["-p"]);
    command
        .arg(sentinel_profile(&dir))
        .arg(&probes().probe)
        .arg("strict");
    let out = output(&mut command);
    let text = stdout(&out);
    let (first, status) = text.split_once('\n').expect("two lines");
    assert_eq!(first, format!("strict=-{}", libc::EINVAL));
    assert_eq!(parse_status(status), (2, 1, 1, SENTINEL));
}

#[test]
fn a_setuid_program_under_the_filter_gains_nothing_and_stays_filtered() {
    let dir = scratch("setuid-filtered");
    let Some(copy) = setuid_nobody_copy(&dir, &probes().probe) else {
        return;
    };
    let profile = sentinel_profile(&dir);
    let ids = stdout(&output(
        seclaunch(&["-p"]).arg(&profile).arg(&copy).arg("ids"),
    ));
    assert_eq!(ids, "uid=0 euid=0\n");
    let status = stdout(&output(
        seclaunch(&["-p"]).arg(&profile).arg(&copy).arg("status"),
    ));
    assert_eq!(parse_status(&status), (2, 1, 1, SENTINEL));
}

#[test]
fn a_shim_of_another_elf_class_is_refused_before_anything_runs() {
    // The loader would skip a 32-bit library with a warning and run the program
    // unfiltered; the launcher reads the header first.
    let dir = scratch("elf32-shim");
    let fake = dir.join("libsecshim.so");
    let mut header = vec![0u8; 64];
    header[..4].copy_from_slice(b"\x7fELF");
    header[4] = 1; // ELFCLASS32
    header[5] = 1; // little-endian
    header[16] = 3; // ET_DYN
    header[18] = 3; // EM_386
    header.extend_from_slice(&handoff::MAGIC);
    std::fs::write(&fake, header).unwrap();
    let mut command = seclaunch(&["--mode", "preload"]);
    let out = output(command.env("SECLAUNCH_SHIM", &fake).arg(&probes().probe));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("built for another architecture"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_shim_the_user_cannot_read_is_refused() {
    // Root reads any file, so the launch runs as nobody, with a shim only root may read.
    if !nix::unistd::geteuid().is_root() || Command::new("setpriv").arg("--help").output().is_err()
    {
        eprintln!("skipping: needs root and setpriv");
        return;
    }
    let as_nobody = |args: &[&str]| {
        let mut command = clean_command(Path::new("setpriv"));
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(launcher())
            .args(args);
        command
    };
    if !output(&mut as_nobody(&["--version"])).status.success() {
        eprintln!("skipping: nobody cannot run the launcher where it was built");
        return;
    }
    let dir = scratch("unreadable-shim");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let locked = dir.join("libsecshim.so");
    std::fs::copy(shim(), &locked).unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let mut command = as_nobody(&["--mode", "preload", "/bin/true"]);
    let out = output(command.env("SECLAUNCH_SHIM", &locked));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    let expected = format!(
        "seclaunch: {}: unusable shim: Permission denied (os error 13)\n",
        locked.display()
    );
    assert_eq!(err, expected);
}

#[test]
fn the_profile_is_read_once_so_replacing_it_during_the_launch_changes_nothing() {
    // The profile is a FIFO: the launcher reads it to the end, then the test puts a
    // permissive profile at the same path before the program looks at its filter.
    let dir = scratch("replaced");
    let fifo = dir.join("profile.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let child = seclaunch(&["-p"])
        .arg(&fifo)
        .arg(&probes().probe)
        .arg("status")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(&fifo, seclaunch_tests::run::sentinel_text()).unwrap();
    let permissive = dir.join("permissive.json");
    std::fs::write(&permissive, r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#).unwrap();
    std::fs::rename(&permissive, &fifo).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        parse_status(&String::from_utf8_lossy(&out.stdout)),
        (2, 1, 1, SENTINEL)
    );
}
