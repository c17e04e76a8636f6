//! The fast start (`seclaunch`, built from `front/`) beside the full launcher
//! (`seclaunch-full`): a program it launches itself must start exactly as the full
//! launcher starts it, and every other command line must reach the full launcher
//! unchanged.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use seclaunch_tests::artifacts::{
    full_launcher, launch_state_probes, launcher, probes, release_dir, shim,
};
use seclaunch_tests::run::{clean_command, output, scratch, stderr, stdout, Scratch};

/// A launch, and whether the fast start makes it itself.
struct Case {
    what: &'static str,
    /// A command that execs its arguments (the launcher and its words) after changing
    /// what the program inherits; empty for none.
    wrapper: Vec<String>,
    /// The words after the launcher's name.
    words: Vec<String>,
    /// Variables set beside the clean environment.
    env: Vec<(&'static str, String)>,
    /// Whether the fast start makes the launch (else it hands it over).
    fast: bool,
}

fn probe_dir() -> PathBuf {
    launch_state_probes()
        .0
        .parent()
        .expect("a directory")
        .to_path_buf()
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

fn case(what: &'static str, wrapper: &[&str], launch: &[&str], fast: bool) -> Case {
    Case {
        what,
        wrapper: words(wrapper),
        words: words(launch),
        env: vec![],
        fast,
    }
}

/// Starts the launcher with real and effective group ids that differ (as root), which
/// makes the kernel start the program in secure mode (AT_SECURE).
const SETRESGID: &[&str] = &[
    "python3",
    "-c",
    "import os, sys\nos.setresgid(65534, 0, 0)\nos.execv(sys.argv[1], sys.argv[1:])",
];

/// The launches tried, with their files in the scratch directory `scratch_name`, which
/// goes when the returned guard drops.
fn cases(scratch_name: &str) -> (Scratch, Vec<Case>) {
    let (dynamic, fixed) = launch_state_probes();
    let (dynamic, fixed) = (dynamic.display().to_string(), fixed.display().to_string());
    let (d, f) = (dynamic.as_str(), fixed.as_str());
    let by_name = dynamic_name();
    let dir = scratch(scratch_name);
    let script = dir.join("script");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let bare = dir.join("bare-script");
    std::fs::write(&bare, format!("exec {dynamic}\n")).unwrap();
    std::fs::set_permissions(&bare, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (script, bare) = (script.display().to_string(), bare.display().to_string());
    let path = format!("PATH={}:/usr/bin:/bin", probe_dir().display());
    let raw_env = [
        d,
        "--exec-env",
        "B=1",
        "A=1",
        "NOEQUALS",
        "A=2",
        &path,
        "--",
    ];
    let mut with_preload = case("an LD_PRELOAD of the user's, kept", &[], &[d], true);
    with_preload.env = vec![("LD_PRELOAD", probes().early_thread.display().to_string())];
    let mut with_variable = case("a variable of seclaunch's", &[], &[d], false);
    with_variable.env = vec![("SECLAUNCH_PROFILE", "default".to_string())];
    let cases = vec![
        case(
            "a dynamic program found on PATH, preloaded",
            &[],
            &[&by_name, "one", "two words", "-x", "--mode"],
            true,
        ),
        case("--mode exec", &[], &["--mode", "exec", d], true),
        case(
            "--mode=preload, --profile=default and --",
            &[],
            &["--mode=preload", "--profile=default", "--", d],
            true,
        ),
        case(
            "-p default and a static program (auto: exec)",
            &[],
            &["-p", "default", f],
            true,
        ),
        with_preload,
        case(
            "SIGPIPE ignored and SIGUSR1 blocked by the parent",
            &[
                "python3",
                "-c",
                "import os, signal, sys\n\
                 signal.signal(signal.SIGPIPE, signal.SIG_IGN)\n\
                 signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})\n\
                 os.execv(sys.argv[1], sys.argv[1:])",
            ],
            &[d],
            true,
        ),
        case(
            "an address-space limit (auto: exec)",
            &["/bin/sh", "-c", "ulimit -v 8000000; exec \"$@\"", "sh"],
            &[d],
            true,
        ),
        case(
            "real and effective group ids that differ (auto: exec)",
            SETRESGID,
            &[d],
            true,
        ),
        case("repeated keys and an entry without =", &raw_env, &[d], true),
        case("--verbose", &[], &["-v", d], false),
        case("--dry-run", &[], &["--dry-run", d], false),
        case("a profile file", &[], &["-p", "/dev/null", d], false),
        case("unconfined", &[], &["-p", "unconfined", d], false),
        case("--cap-add", &[], &["--cap-add", "SYS_ADMIN", d], false),
        case(
            "a repeated --mode",
            &[],
            &["--mode", "exec", "--mode", "exec", d],
            false,
        ),
        case("a command", &[], &["check", "default"], false),
        case("--version", &[], &["--version"], false),
        case("a script", &[], &[&script], false),
        case(
            "a static program to preload",
            &[],
            &["--mode", "preload", f],
            false,
        ),
        case(
            "--mode preload where the ids differ",
            SETRESGID,
            &["--mode", "preload", d],
            false,
        ),
        case(
            "--mode exec, a file neither ELF nor #!",
            &[],
            &["--mode", "exec", &bare],
            false,
        ),
        case(
            "a closed standard input",
            &["/bin/sh", "-c", "exec \"$@\" <&-", "sh"],
            &[d],
            false,
        ),
        case("a missing program", &[], &["/nonexistent/program"], false),
        case("a directory", &[], &["/tmp"], false),
        with_variable,
    ];
    (dir, cases)
}

/// The dynamic probe's file name, which `PATH` finds in [`probe_dir`].
fn dynamic_name() -> String {
    let (dynamic, _) = launch_state_probes();
    dynamic
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

fn command(launcher: &Path, case: &Case) -> Command {
    let mut command = match case.wrapper.split_first() {
        Some((program, rest)) => {
            let mut command = clean_command(Path::new(program));
            command.args(rest).arg(launcher);
            command
        }
        None => clean_command(launcher),
    };
    command
        .args(&case.words)
        .env("PATH", format!("{}:/usr/bin:/bin", probe_dir().display()));
    for (key, value) in &case.env {
        command.env(key, value);
    }
    command
}

/// Checks that two runs ended alike. Their standard streams are pipes made for each
/// run, so the probe's list of descriptors names them without their inode numbers.
fn assert_same(what: &str, fast: &Output, full: &Output) {
    let streams = |output: &Output| {
        let text = stdout(output);
        let mut out = String::new();
        for line in text.lines() {
            match line.find("pipe:[") {
                Some(at) => out += &line[..at + 5],
                None => out += line,
            }
            out.push('\n');
        }
        (output.status.code(), stderr(output), out)
    };
    assert_eq!(streams(fast), streams(full), "{what}");
}

#[test]
fn every_launch_through_the_fast_start_ends_as_under_the_full_launcher() {
    let (_dir, cases) = cases("front-cases");
    for case in cases {
        let fast = output(&mut command(&launcher(), &case));
        let full = output(&mut command(&full_launcher(), &case));
        if case.fast {
            assert_eq!(
                fast.status.code(),
                Some(0),
                "{}: {}",
                case.what,
                stderr(&fast)
            );
            let text = stdout(&fast);
            assert!(
                text.contains("status Seccomp:\t2\n") && text.contains("status NoNewPrivs:\t1\n"),
                "{}: {text}",
                case.what
            );
        }
        assert_same(case.what, &fast, &full);
    }
}

/// The fast start and the shim, without the full launcher beside them.
fn alone(name: &str) -> Scratch {
    let dir = scratch(name);
    std::fs::copy(launcher(), dir.join("seclaunch")).expect("copies the fast start");
    std::fs::copy(shim(), dir.join("libsecshim.so")).expect("copies the shim");
    dir
}

#[test]
fn without_the_full_launcher_only_the_fast_starts_launches_run() {
    let dir = alone("front-alone");
    let missing = format!(
        "seclaunch: {}: cannot run the full launcher: not found\n",
        dir.join("seclaunch-full").display()
    );
    let (_dir, cases) = cases("front-alone-cases");
    for case in cases {
        let out = output(&mut command(&dir.join("seclaunch"), &case));
        if case.fast {
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                case.what,
                stderr(&out)
            );
            assert!(
                stdout(&out).contains("status Seccomp_filters:\t1\n"),
                "{}: {}",
                case.what,
                stdout(&out)
            );
        } else {
            assert_eq!(
                out.status.code(),
                Some(125),
                "{}: {}",
                case.what,
                stderr(&out)
            );
            assert_eq!(stderr(&out), missing, "{}", case.what);
        }
    }
}

#[test]
fn the_fast_start_needs_no_loader() {
    let bytes = std::fs::read(release_dir().join("seclaunch")).expect("reads the fast start");
    let header = front::program::elf_header(&bytes).expect("an ELF executable");
    let start = header.phoff as usize;
    let table = &bytes[start..start + usize::from(header.phentsize) * usize::from(header.phnum)];
    assert_eq!(
        header.linkage(table),
        front::program::Linkage::Static,
        "the fast start names a dynamic loader"
    );
}
