//! libsecshim.so in real processes: the release shim preloaded into the C probe, bash,
//! python3 and a threaded program, under the embedded default with a sentinel errno.
#![cfg(target_arch = "x86_64")]

use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;

use seclaunch_tests::artifacts::{cc, environment_changers, probes, shim};
use seclaunch_tests::run::{
    clean_command, handoff_for, memfd_with, output, parse_status, scratch, sentinel_profile,
    sentinel_text, stderr, stdout, SENTINEL,
};

/// The probe (or `program`) with the shim preloaded and `SECLAUNCH_PROFILE` set.
fn under_profile(program: &Path, profile: &Path) -> Command {
    let mut command = clean_command(program);
    command
        .env("LD_PRELOAD", shim())
        .env("SECLAUNCH_PROFILE", profile);
    command
}

fn status_of(command: &mut Command) -> (i64, i64, i64, i32) {
    let out = output(command);
    assert!(out.status.success(), "failed: {}", stderr(&out));
    parse_status(stdout(&out).lines().next().expect("a status line"))
}

#[test]
fn main_runs_filtered_and_denied_calls_get_the_profiles_errno() {
    let dir = scratch("main-filtered");
    let profile = sentinel_profile(&dir);
    let (mode, filters, nnp, denied) =
        status_of(under_profile(&probes().probe, &profile).arg("status"));
    assert_eq!((mode, filters, nnp, denied), (2, 1, 1, SENTINEL));
}

#[test]
fn unfiltered_probe_does_not_see_the_sentinel() {
    // The other tests' sentinel proves the filter only if the call cannot return it
    // on its own.
    let (mode, _, _, denied) = status_of(clean_command(&probes().probe).arg("status"));
    assert_eq!(mode, 0);
    assert_ne!(denied, SENTINEL);
}

#[test]
fn no_profile_named_installs_the_embedded_default() {
    let mut command = clean_command(&probes().probe);
    command.env("LD_PRELOAD", shim()).arg("status");
    let (mode, filters, _, denied) = status_of(&mut command);
    assert_eq!((mode, filters, denied), (2, 1, libc::EPERM));
}

#[test]
fn unconfined_installs_nothing_and_says_so_only_when_asked() {
    let mut quiet = clean_command(&probes().probe);
    quiet
        .env("LD_PRELOAD", shim())
        .env("SECLAUNCH_PROFILE", "unconfined");
    let out = output(quiet.arg("status"));
    assert_eq!(parse_status(&stdout(&out)).0, 0);
    assert_eq!(stderr(&out), "");
    let out = output(quiet.env("SECLAUNCH_VERBOSE", "1"));
    assert_eq!(stderr(&out), "secshim: unconfined: no filter installed\n");
}

#[test]
fn the_shim_is_silent_when_it_succeeds() {
    let dir = scratch("silent");
    let out = output(under_profile(&probes().probe, &sentinel_profile(&dir)).arg("status"));
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_thread_from_an_earlier_preload_constructor_is_filtered() {
    let dir = scratch("early-thread");
    let profile = sentinel_profile(&dir);
    let probes = probes();
    // The loader runs the constructors of LD_PRELOAD's libraries from the last to the
    // first, so the thread starts before the shim installs anything.
    let preload = format!("{} {}", shim().display(), probes.early_thread.display());
    let mut command = under_profile(&probes.probe, &profile);
    let out = output(command.env("LD_PRELOAD", preload).arg("early-thread"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("start=0 now=2 denied={SENTINEL}\n"));
}

#[test]
fn an_environment_emptied_by_an_earlier_constructor_still_gets_the_default() {
    // A library after the shim in LD_PRELOAD runs its constructor first; clearenv
    // leaves `environ` null, so the shim finds no request and installs the default.
    let (clearenv, _) = environment_changers();
    let preload = format!("{}:{}", shim().display(), clearenv.display());
    let status = status_of(
        clean_command(&probes().probe)
            .env("LD_PRELOAD", preload)
            .arg("status"),
    );
    assert_eq!((status.0, status.1), (2, 1), "{status:?}");
}

#[test]
fn a_dlopened_shim_installs_without_editing_strings_it_cannot_trust() {
    // dlopen hands the constructor `environ`, not the kernel's array; the profile's
    // string is read-only, and writing over it would crash.
    let (_, program) = environment_changers();
    let out = output(clean_command(program).arg(shim()));
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    assert_eq!(stdout(&out), "Seccomp:\t2\n");
}

#[test]
fn a_hundred_deep_exec_chain_keeps_one_filter() {
    let dir = scratch("chain");
    let profile = sentinel_profile(&dir);
    let status = status_of(under_profile(&probes().probe, &profile).args(["chain", "100"]));
    assert_eq!(status, (2, 1, 1, SENTINEL));
}

#[test]
fn a_child_that_sheds_the_preload_and_execs_a_static_binary_stays_filtered() {
    let dir = scratch("static");
    let probes = probes();
    let mut command = under_profile(&probes.probe, &sentinel_profile(&dir));
    command
        .arg("exec-clean")
        .arg(&probes.probe_static)
        .arg("status");
    let (mode, filters, _, denied) = status_of(&mut command);
    assert_eq!((mode, filters, denied), (2, 1, SENTINEL));
}

#[test]
fn a_forged_marker_in_an_unfiltered_process_does_not_skip_the_filter() {
    let mut command = clean_command(&probes().probe);
    command
        .env("LD_PRELOAD", shim())
        .env("SECLAUNCH_ACTIVE", "0123456789abcdef")
        .arg("status");
    let (mode, filters, _, _) = status_of(&mut command);
    assert_eq!((mode, filters), (2, 1));
}

#[test]
fn a_profile_asked_for_again_below_its_own_filter_is_not_stacked() {
    let dir = scratch("again");
    let profile = sentinel_profile(&dir);
    // The shim leaves LD_PRELOAD once installed; the script puts it back with the
    // request.
    let script = format!(
        "LD_PRELOAD={} SECLAUNCH_PROFILE={} exec {} status",
        shim().display(),
        profile.display(),
        probes().probe.display()
    );
    let mut command = under_profile(Path::new("/bin/sh"), &profile);
    let status = status_of(command.args(["-c", &script]));
    assert_eq!(status, (2, 1, 1, SENTINEL));
}

#[test]
fn another_profile_asked_for_below_a_filter_is_added_to_it() {
    let dir = scratch("another");
    let profile = sentinel_profile(&dir);
    let script = format!(
        "LD_PRELOAD={} SECLAUNCH_PROFILE=default exec {} status",
        shim().display(),
        probes().probe.display()
    );
    let mut command = under_profile(Path::new("/bin/sh"), &profile);
    let (mode, filters, _, denied) = status_of(command.args(["-c", &script]));
    // The kernel runs every filter and the strictest decision wins; both deny with
    // ERRNO, and the most recently installed filter's errno is the one returned.
    assert_eq!((mode, filters, denied), (2, 2, libc::EPERM));
}

#[test]
fn bash_pipelines_run_filtered_with_one_filter_per_process() {
    let dir = scratch("bash");
    let probe = probes().probe.display().to_string();
    let script = format!("{probe} status | cat; bash -c '{probe} status' | cat");
    let mut command = under_profile(Path::new("/bin/bash"), &sentinel_profile(&dir));
    let out = output(command.args(["-c", &script]));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<_> = stdout(&out).lines().map(parse_status).collect();
    assert_eq!(lines, vec![(2, 1, 1, SENTINEL); 2]);
}

#[test]
fn python3_runs_filtered() {
    let dir = scratch("python");
    let code = "import ctypes, os\n\
                libc = ctypes.CDLL(None, use_errno=True)\n\
                libc.syscall(320, -1, -1, 0, None, 0)\n\
                status = open('/proc/self/status').read()\n\
                mode = [l for l in status.splitlines() if l.startswith('Seccomp:')][0]\n\
                print(mode.split()[1], ctypes.get_errno())";
    let mut command = under_profile(Path::new("python3"), &sentinel_profile(&dir));
    let out = output(command.args(["-c", code]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("2 {SENTINEL}\n"));
}

#[test]
fn every_thread_of_a_threaded_program_is_filtered() {
    let dir = scratch("threads");
    let mut command = under_profile(&probes().probe, &sentinel_profile(&dir));
    let out = output(command.args(["threads", "8"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<_> = stdout(&out).lines().map(parse_status).collect();
    assert_eq!(lines, vec![(2, 1, 1, SENTINEL); 8]);
}

/// Runs the probe with `PROBE_MARK` set; returns its exit status, its stderr, and
/// whether `main` ran (the mark exists).
fn refused(dir: &Path, command: &mut Command) -> (Option<i32>, String, bool) {
    let mark = dir.join("main-ran");
    let out = output(command.env("PROBE_MARK", &mark).arg("status"));
    (out.status.code(), stderr(&out), mark.exists())
}

#[test]
fn a_bad_profile_exits_125_before_main() {
    let dir = scratch("bad-profile");
    let profile = dir.join("bad.json");
    std::fs::write(&profile, r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "op": "SCMP_CMP_EQ", "value": 1}]}]}"#).unwrap();
    let (code, err, ran) = refused(&dir, &mut under_profile(&probes().probe, &profile));
    assert_eq!(code, Some(125));
    assert!(!ran, "main ran");
    let expected = format!(
        "secshim: building the profile: {}: syscalls[0].args[0].index:",
        profile.display()
    );
    assert!(err.starts_with(&expected), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn an_unreadable_profile_exits_125_before_main() {
    let dir = scratch("unreadable");
    let missing = dir.join("missing.json");
    let (code, err, ran) = refused(&dir, &mut under_profile(&probes().probe, &missing));
    assert_eq!((code, ran), (Some(125), false));
    assert_eq!(
        err,
        format!(
            "secshim: building the profile: {}: reading the profile: No such file or \
             directory (os error 2)\n",
            missing.display()
        )
    );
    // A directory is unreadable as a file too.
    let (code, err, ran) = refused(&dir, &mut under_profile(&probes().probe, &dir));
    assert_eq!((code, ran), (Some(125), false), "{err}");
}

#[test]
fn a_profile_path_longer_than_path_max_exits_125_before_main() {
    let dir = scratch("long-path");
    // PATH_MAX (4096) counts the NUL: 4095 bytes reach the engine, 4096 do not.
    for (len, expected) in [
        (4095, "secshim: building the profile: /"),
        (
            4096,
            "secshim: reading SECLAUNCH_PROFILE: the path is too long\n",
        ),
    ] {
        let path = format!("/{}", "a".repeat(len - 1));
        let (code, err, ran) = refused(&dir, &mut under_profile(&probes().probe, path.as_ref()));
        assert_eq!((code, ran), (Some(125), false), "{len}: {err}");
        assert!(err.starts_with(expected), "{len}: {err}");
        assert_eq!(err.lines().count(), 1, "{len}: {err}");
    }
}

#[test]
fn a_missing_engine_or_one_from_another_build_exits_125_before_main() {
    let dir = scratch("engine-mismatch");
    let profile = sentinel_profile(&dir);
    // The shim looks for the engine beside itself: a copy of the shim alone.
    let alone = dir.join("libsecshim.so");
    std::fs::copy(shim(), &alone).expect("copies the shim");
    let run = |what: &str| {
        let mut command = clean_command(&probes().probe);
        command
            .env("LD_PRELOAD", &alone)
            .env("SECLAUNCH_PROFILE", &profile);
        let (code, err, ran) = refused(&dir, &mut command);
        assert_eq!((code, ran), (Some(125), false), "{what}: {err}");
        assert!(
            err.starts_with("secshim: loading the profile compiler: "),
            "{what}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        err
    };
    let err = run("no engine");
    assert!(err.contains("libsecshim_engine.so"), "{err}");
    // An engine of the earlier prototype, (source, out, out_cap, err, err_cap), under
    // the earlier name: called through the current prototype it would write through a
    // length as a pointer.
    let source = dir.join("old_engine.c");
    std::fs::write(
        &source,
        "long secshim_engine_frame(const char *s, unsigned char *out, unsigned long cap,\n\
         \x20                         unsigned char *err, unsigned long err_cap) {\n\
         \x20   for (unsigned long i = 0; i < cap; i++) out[i] = 0;\n\
         \x20   return (long)cap;\n\
         }\n",
    )
    .expect("writes the old engine's source");
    cc(
        &dir.join("libsecshim_engine.so"),
        &[&source],
        &["-shared", "-fPIC"],
    );
    let err = run("an engine of another build");
    assert!(err.contains("secshim_engine_frame_v2"), "{err}");
}

#[test]
fn a_handoff_installs_and_leaves_no_fd_or_variable_behind() {
    let handoff = handoff_for(&sentinel_text());
    let command = || {
        let mut command = clean_command(&probes().probe);
        command
            .env("LD_PRELOAD", shim())
            .env("SECLAUNCH_HANDOFF", handoff.announce());
        command
    };
    let out = output(command().arg("env"));
    assert!(out.status.success(), "{}", stderr(&out));
    let fd_line = format!("fd {}", handoff.fd.as_raw_fd());
    let text = stdout(&out);
    assert!(!text.contains(&fd_line), "the handoff fd leaked: {text}");
    // Neither in the environment nor in what /proc/self/environ shows of the one the
    // process started with (`initial-env` lines): the shim writes the marker over the
    // handoff's own string and blanks its LD_PRELOAD entry.
    assert!(!text.contains("SECLAUNCH_HANDOFF"), "{text}");
    // Children inherit the filter; they need not load the shim again.
    assert!(!text.contains("env LD_PRELOAD="), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("env SECLAUNCH_ACTIVE=")),
        "{text}"
    );
    assert!(text.contains("initial-env SECLAUNCH_ACTIVE="), "{text}");
    let status = status_of(command().arg("status"));
    assert_eq!(status, (2, 1, 1, SENTINEL));
}

#[test]
fn a_truncated_or_corrupted_handoff_exits_125_before_main() {
    let dir = scratch("bad-handoff");
    let good = handoff_for(&sentinel_text());
    let mut truncated = good.frame.clone();
    truncated.truncate(good.frame.len() - 8);
    let mut flipped = good.frame.clone();
    flipped[100] ^= 0x10;
    for (name, bytes, why) in [
        (
            "truncated",
            truncated,
            "length differs from the one announced",
        ),
        ("flipped", flipped, "checksum mismatch"),
    ] {
        let fd = memfd_with(&bytes);
        let announce = good.announce_in(&fd);
        let mut command = clean_command(&probes().probe);
        command
            .env("LD_PRELOAD", shim())
            .env("SECLAUNCH_HANDOFF", announce);
        let (code, err, ran) = refused(&dir, &mut command);
        assert_eq!((code, ran), (Some(125), false), "{name}: {err}");
        assert_eq!(
            err,
            format!("secshim: reading the launcher's filter (SECLAUNCH_HANDOFF): {why}\n"),
            "{name}"
        );
    }
}

#[test]
fn below_a_filter_that_kills_prctl_children_start_without_asking_prctl() {
    // The shim asks the kernel whether a filter is in force with prctl(PR_GET_SECCOMP)
    // only when the filter lets that call run; under this one it would die of it.
    let dir = scratch("kill-prctl");
    let profile = dir.join("kill-prctl.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["prctl"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["kexec_file_load"], "action": "SCMP_ACT_ERRNO", "errnoRet": 199}]}"#,
    )
    .unwrap();
    let mut command = under_profile(&probes().probe, &profile);
    let out = output(command.args(["env"]));
    let marker = stdout(&out);
    assert!(
        marker.contains("env SECLAUNCH_ACTIVE=") && !marker.contains("+q"),
        "{marker}"
    );
    let status = status_of(under_profile(&probes().probe, &profile).args(["chain", "5"]));
    assert_eq!(status, (2, 1, 1, SENTINEL));
}

/// The probe, preloading the shim as `preload`, the loader searching `library_path` too
/// when given.
fn preloading(preload: &OsStr, library_path: Option<&Path>) -> Command {
    let mut command = clean_command(&probes().probe);
    command.env("LD_PRELOAD", preload);
    if let Some(dir) = library_path {
        command.env("LD_LIBRARY_PATH", dir);
    }
    command
}

/// Runs the probe's `env` under `command` and checks that `LD_PRELOAD` is gone. Returns
/// the marker the environment holds, and the one the kernel's copy of it shows, if any.
fn markers(command: &mut Command) -> (String, Option<String>) {
    let out = output(command.arg("env"));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("LD_PRELOAD="), "{text}");
    let value = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_string)
    };
    let marker = value("env SECLAUNCH_ACTIVE=").unwrap_or_else(|| panic!("no marker: {text}"));
    (marker, value("initial-env SECLAUNCH_ACTIVE="))
}

#[test]
fn the_embedded_default_writes_its_marker_over_the_preload_entry() {
    // With no request string to reuse, the marker takes the place of `LD_PRELOAD` when
    // that named the shim alone, by a path long enough for the marker's entry (24
    // characters always are): the kernel's copy of the environment shows it there.
    let dir = scratch("marker-over-preload");
    let copy = dir.join("libsecshim.so");
    std::fs::copy(shim(), &copy).expect("copies the shim");
    assert!(copy.as_os_str().len() >= 24, "{}", copy.display());
    let (marker, initial) = markers(&mut preloading(copy.as_os_str(), None));
    assert_eq!(initial.as_deref(), Some(marker.as_str()));
}

#[test]
fn a_preload_entry_too_short_for_the_marker_is_blanked_and_the_marker_set() {
    // `LD_PRELOAD=libsecshim.so`, found through the loader's search path, has no room
    // for the marker: the entry is blanked and the marker set in the environment.
    let shim = shim();
    let dist = shim.parent();
    let bare = OsStr::new("libsecshim.so");
    let (_, initial) = markers(&mut preloading(bare, dist));
    assert_eq!(initial, None);
    let status = status_of(preloading(bare, dist).arg("status"));
    assert_eq!((status.0, status.1), (2, 1), "{status:?}");
}

#[test]
fn the_other_preloads_stay_in_their_order_without_the_shim() {
    // Libraries before and after the shim, separated by a colon and a space as the
    // loader takes them: the program sees the others in their order, joined by colons,
    // and so does anyone reading the kernel's copy of its environment.
    let dir = scratch("other-preloads");
    let source = dir.join("empty.c");
    std::fs::write(&source, "int seclaunch_test_empty;\n").expect("writes the source");
    let flags = ["-shared", "-fPIC"];
    let first = cc(&dir.join("libfirst.so"), &[&source], &flags);
    let last = cc(&dir.join("liblast.so"), &[&source], &flags);
    let list = format!(
        "{}:{} {}",
        first.display(),
        shim().display(),
        last.display()
    );
    let out = output(preloading(OsStr::new(&list), None).arg("env"));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let kept = format!("LD_PRELOAD={}:{}", first.display(), last.display());
    for view in ["env", "initial-env"] {
        let line = format!("{view} {kept}");
        assert!(text.lines().any(|l| l == line), "no {line:?} in {text}");
    }
}

#[test]
fn below_the_default_profile_the_marker_allows_the_cheap_query() {
    let out = output(
        clean_command(&probes().probe)
            .env("LD_PRELOAD", shim())
            .arg("env"),
    );
    assert!(stdout(&out).contains("+q\n"), "{}", stdout(&out));
}

/// The marker a probe started with `env` reports.
fn marker_of(command: &mut Command) -> String {
    let out = output(command.arg("env"));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("env SECLAUNCH_ACTIVE="));
    line.unwrap_or_else(|| panic!("no marker in {text}"))
        .to_string()
}

#[test]
fn the_precompiled_default_is_the_filter_the_engine_compiles() {
    // The embedded default, installed from its precompiled frame, and the same JSON
    // compiled by the engine at run time, give the same frame and so the same marker.
    let dir = scratch("precompiled");
    let copy = dir.join("default.json");
    std::fs::write(&copy, profiles::DEFAULT_PROFILE).unwrap();
    let mut precompiled = clean_command(&probes().probe);
    precompiled.env("LD_PRELOAD", shim());
    let mut compiled = under_profile(&probes().probe, &copy);
    assert_eq!(marker_of(&mut precompiled), marker_of(&mut compiled));
}

#[test]
fn capability_variables_change_the_set_the_default_is_resolved_for() {
    // With CAP_SYS_ADMIN Docker's default allows a few dozen more calls: another filter,
    // so another marker than the precompiled default's.
    let mut default = clean_command(&probes().probe);
    default.env("LD_PRELOAD", shim());
    let mut admin = clean_command(&probes().probe);
    admin
        .env("LD_PRELOAD", shim())
        .env("SECLAUNCH_CAP_ADD", "sys_admin");
    assert_ne!(marker_of(&mut default), marker_of(&mut admin));
    let mut command = clean_command(&probes().probe);
    command
        .env("LD_PRELOAD", shim())
        .env("SECLAUNCH_CAP_ADD", "CAP_NOPE");
    let out = output(command.arg("status"));
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("CAP_NOPE"), "{}", stderr(&out));
}
