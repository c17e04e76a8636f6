//! `seclaunch record`: record real programs, then run them again under the recorded
//! profile, in preload and in exec mode, and compare what they print and how they end
//! with a run without any filter.

use std::path::{Path, PathBuf};
use std::process::Output;

use profiles::json::{read, InvalidUtf8, Value};
use profiles::{build, Options, DEFAULT_PROFILE};
use seclaunch_tests::artifacts::{launcher, record_probes};
use seclaunch_tests::run::{clean_command, output, scratch, stderr, stdout, Scratch};

/// `seclaunch record -o OUT EXTRA... -- PROGRAM ARGS...`, which must succeed with the
/// program's own status.
fn record(out: &Path, extra: &[&str], program: &[&str]) -> Output {
    let mut command = clean_command(&launcher());
    command
        .arg("record")
        .arg("-o")
        .arg(out)
        .args(extra)
        .arg("--");
    command.args(program);
    let recorded = output(&mut command);
    assert!(out.exists(), "no profile written: {}", stderr(&recorded));
    recorded
}

/// The program run without seclaunch.
fn unfiltered(program: &[&str]) -> Output {
    output(clean_command(Path::new(program[0])).args(&program[1..]))
}

/// The program run under `profile` in `mode`.
fn replay(profile: &Path, mode: &str, program: &[&str]) -> Output {
    let mut command = clean_command(&launcher());
    command.args(["--mode", mode, "-p"]).arg(profile).arg("--");
    output(command.args(program))
}

/// Records `program`, then checks that it prints the same and ends the same under the
/// profile, in both modes where it can be preloaded, as without any filter. Returns the
/// profile and the scratch directory that holds it, which goes when the guard drops.
fn records_and_replays(name: &str, program: &[&str], modes: &[&str]) -> (Scratch, PathBuf) {
    let dir = scratch(name);
    let profile = dir.join("recorded.json");
    let expected = unfiltered(program);
    let recorded = record(&profile, &[], program);
    assert_eq!(
        recorded.status.code(),
        expected.status.code(),
        "{}",
        stderr(&recorded)
    );
    assert_eq!(stdout(&recorded), stdout(&expected));
    builds_and_checks(&profile);
    for mode in modes {
        replays_as_unfiltered(&profile, mode, program, &expected);
    }
    (dir, profile)
}

/// The program prints the same and ends the same under `profile` in `mode` as it did
/// without any filter (`expected`).
fn replays_as_unfiltered(profile: &Path, mode: &str, program: &[&str], expected: &Output) {
    let again = replay(profile, mode, program);
    assert_eq!(
        (stdout(&again), again.status.code()),
        (stdout(expected), expected.status.code()),
        "{mode} mode: {}",
        stderr(&again)
    );
}

/// The profile builds in the library, and `seclaunch check` accepts it.
fn builds_and_checks(profile: &Path) {
    let text = std::fs::read(profile).expect("reads the profile");
    let built = build(&text, "recorded", &Options::for_this_host()).expect("builds");
    assert!(built.filter.is_some(), "the profile is a filter");
    let check = output(clean_command(&launcher()).arg("check").arg(profile));
    assert!(check.status.success(), "{}", stderr(&check));
}

/// The document's `syscalls` entries.
fn entries(profile: &Path) -> Vec<Value<'static>> {
    let text = std::fs::read(profile).expect("reads the profile");
    let document = read(&text, InvalidUtf8::Reject)
        .expect("JSON")
        .value
        .into_owned();
    match member(&document, "syscalls") {
        Some(Value::Array(entries)) => entries.clone(),
        other => panic!("no syscalls array: {other:?}"),
    }
}

fn member<'v>(value: &'v Value<'static>, key: &str) -> Option<&'v Value<'static>> {
    match value {
        Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|m| &m.1),
        _ => None,
    }
}

/// An entry's names.
fn names(entry: &Value<'static>) -> Vec<String> {
    match member(entry, "names") {
        Some(Value::Array(names)) => names
            .iter()
            .map(|name| match name {
                Value::String(s) => s.to_string(),
                other => panic!("a name that is not a string: {other:?}"),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn probe() -> &'static str {
    record_probes().0.to_str().expect("a UTF-8 path")
}

#[test]
fn a_python_program_runs_again_under_its_recording() {
    let python = "/usr/bin/python3";
    if !Path::new(python).exists() {
        eprintln!("skipping: {python} is missing");
        return;
    }
    let script = "import json, sqlite3\n\
                  db = sqlite3.connect(':memory:')\n\
                  db.execute('create table t (k text, v integer)')\n\
                  db.executemany('insert into t values (?, ?)', [('a', 1), ('b', 2)])\n\
                  print(json.dumps(db.execute('select k, v * 10 from t').fetchall()))";
    records_and_replays("python", &[python, "-c", script], &["preload", "exec"]);
}

#[test]
fn a_shell_pipeline_runs_again_under_its_recording() {
    let pipeline = "echo recorded | tr a-z A-Z | wc -c; exit 4";
    records_and_replays(
        "pipeline",
        &["/bin/sh", "-c", pipeline],
        &["preload", "exec"],
    );
}

#[test]
fn a_threaded_program_runs_again_and_its_constrained_arguments_are_kept() {
    let (_dir, profile) = records_and_replays("threads", &[probe(), "plain"], &["preload", "exec"]);
    let text = std::fs::read_to_string(&profile).expect("reads the profile");
    // personality(0xffffffff) and socket(AF_UNIX) as exact values; clone3 by name.
    let personality = r#""names": ["personality"]"#;
    assert!(text.contains(personality), "{text}");
    assert!(text.contains(r#""value": 4294967295"#), "{text}");
    assert!(text.contains(r#""names": ["socket"]"#), "{text}");
    let outright: Vec<String> = entries(&profile).iter().flat_map(names).collect();
    assert!(outright.iter().any(|n| n == "clone3"), "{outright:?}");
    // An entry with one EQ on argument 0 for socket, whose value is AF_UNIX (1).
    let socket = entries(&profile)
        .into_iter()
        .find(|entry| names(entry) == ["socket"])
        .expect("a socket entry");
    let args = format!("{:?}", member(&socket, "args"));
    assert!(
        args.contains("Unsigned(1)") && args.contains("SCMP_CMP_EQ"),
        "{args}"
    );
}

#[test]
fn a_call_that_was_not_recorded_gets_the_profiles_errno() {
    let dir = scratch("unrecorded");
    let profile = dir.join("plain.json");
    record(&profile, &[], &[probe(), "plain"]);
    let free = unfiltered(&[probe(), "extra"]);
    assert!(stdout(&free).contains("mount=14"), "{}", stdout(&free));
    for mode in ["preload", "exec"] {
        let denied = replay(&profile, mode, &[probe(), "extra"]);
        assert!(
            stdout(&denied).ends_with(" mount=1\n"),
            "{mode}: {} {}",
            stdout(&denied),
            stderr(&denied)
        );
    }
}

#[test]
fn a_default_base_gets_exactly_the_calls_it_denies() {
    let dir = scratch("base");
    let profile = dir.join("based.json");
    let program = [probe(), "extra"];
    let recorded = record(&profile, &["--base", "default"], &program);
    let summary = stderr(&recorded);
    assert!(
        summary.contains("seclaunch: record: 1 call added to default: mount\n"),
        "{summary}"
    );
    // glibc's pthread_create tries clone3 first and falls back to clone on ENOSYS.
    assert!(
        summary.contains("clone3 left to default's ENOSYS"),
        "{summary}"
    );
    let base_entries = {
        let document = read(DEFAULT_PROFILE.as_bytes(), InvalidUtf8::Reject).unwrap();
        match member(&document.value.into_owned(), "syscalls") {
            Some(Value::Array(entries)) => entries.clone(),
            _ => panic!("the default has entries"),
        }
    };
    let written = entries(&profile);
    assert_eq!(written.len(), base_entries.len() + 1);
    assert_eq!(written[..base_entries.len()], base_entries[..]);
    assert_eq!(names(&written[base_entries.len()]), ["mount"]);
    builds_and_checks(&profile);
    let expected = unfiltered(&program);
    for mode in ["preload", "exec"] {
        replays_as_unfiltered(&profile, mode, &program, &expected);
    }
}

#[test]
fn merged_recordings_allow_what_each_allowed() {
    let dir = scratch("merge");
    let (plain, ppid, merged) = (dir.join("a.json"), dir.join("b.json"), dir.join("c.json"));
    record(&plain, &[], &[probe(), "plain"]);
    record(&ppid, &[], &[probe(), "ppid"]);
    let denied = replay(&plain, "exec", &[probe(), "ppid"]);
    assert_eq!(stdout(&denied), "ppid=denied\n");
    let bare = record_probes().1.to_str().unwrap();
    let extra = [
        "--merge",
        plain.to_str().unwrap(),
        "--merge",
        ppid.to_str().unwrap(),
    ];
    record(&merged, &extra, &[bare]);
    builds_and_checks(&merged);
    for mode in ["plain", "ppid"] {
        let program = [probe(), mode];
        let expected = unfiltered(&program);
        replays_as_unfiltered(&merged, "preload", &program, &expected);
    }
}

#[test]
fn a_merge_of_a_profile_record_does_not_write_is_refused() {
    let dir = scratch("merge-refused");
    let docker = dir.join("docker.json");
    std::fs::write(&docker, DEFAULT_PROFILE).unwrap();
    let out = dir.join("out.json");
    let bare = record_probes().1.to_str().unwrap();
    let mut command = clean_command(&launcher());
    command
        .arg("record")
        .arg("-o")
        .arg(&out)
        .arg("--merge")
        .arg(&docker);
    let refused = output(command.arg(bare));
    assert_eq!(refused.status.code(), Some(125));
    let text = stderr(&refused);
    assert!(text.starts_with("seclaunch: "), "{text}");
    assert!(text.contains("docker.json: syscalls["), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!out.exists(), "nothing ran, nothing was written");
}

#[test]
fn the_launchers_own_calls_are_not_recorded() {
    let dir = scratch("bare");
    let profile = dir.join("bare.json");
    let bare = record_probes().1.to_str().unwrap();
    let recorded = record(&profile, &[], &[bare]);
    assert_eq!(recorded.status.code(), Some(7));
    // The program made two calls; the launcher's child made many before execve (dup,
    // write, seccomp, read ...), none of which is the program's.
    let all: Vec<Vec<String>> = entries(&profile).iter().map(names).collect();
    assert_eq!(
        all,
        [vec!["exit_group", "getpid"], vec!["execve", "rt_sigaction"]]
    );
    let again = replay(&profile, "exec", &[bare]);
    assert_eq!(again.status.code(), Some(7), "{}", stderr(&again));
}

#[test]
fn a_program_that_cannot_run_writes_no_profile() {
    let dir = scratch("missing");
    let out = dir.join("out.json");
    let mut command = clean_command(&launcher());
    command
        .arg("record")
        .arg("-o")
        .arg(&out)
        .arg("/nonexistent/program");
    let failed = output(&mut command);
    assert_eq!(failed.status.code(), Some(127), "{}", stderr(&failed));
    assert!(!out.exists());
}
