//! The fast start (`seclaunch`, built from `front/`) beside the full launcher
//! (`seclaunch-full`): a program it launches itself must start exactly as the full
//! launcher starts it, and every other command line must reach the full launcher
//! unchanged.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use seclaunch_tests::artifacts::{
    full_launcher, launch_state_probes, launcher, probes, release_dir, shim,
};
use seclaunch_tests::run::{clean_command, output, scratch, stderr, stdout};

/// A launch the fast start makes itself.
struct Case {
    what: &'static str,
    /// A command that execs its arguments (the launcher and its words) after changing
    /// what the program inherits.
    wrapper: &'static [&'static str],
    /// The words after the launcher's name.
    words: Vec<String>,
    /// Variables set beside the clean environment.
    env: Vec<(&'static str, String)>,
}

fn probe_dir() -> PathBuf {
    launch_state_probes()
        .0
        .parent()
        .expect("a directory")
        .to_path_buf()
}

fn cases() -> Vec<Case> {
    let (dynamic, fixed) = launch_state_probes();
    let (dynamic, fixed) = (dynamic.display().to_string(), fixed.display().to_string());
    let by_name = dynamic_name();
    let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let plain: &[&str] = &[];
    vec![
        Case {
            what: "a dynamic program found on PATH, preloaded",
            wrapper: plain,
            words: words(&[&by_name, "one", "two words", "-x", "--mode"]),
            env: vec![],
        },
        Case {
            what: "--mode exec",
            wrapper: plain,
            words: words(&["--mode", "exec", &dynamic]),
            env: vec![],
        },
        Case {
            what: "--mode=preload, --profile=default and --",
            wrapper: plain,
            words: words(&["--mode=preload", "--profile=default", "--", &dynamic]),
            env: vec![],
        },
        Case {
            what: "-p default and a static program (auto chooses exec)",
            wrapper: plain,
            words: words(&["-p", "default", &fixed]),
            env: vec![],
        },
        Case {
            what: "an LD_PRELOAD of the user's, kept",
            wrapper: plain,
            words: words(&[&dynamic]),
            env: vec![("LD_PRELOAD", probes().early_thread.display().to_string())],
        },
        Case {
            what: "SIGPIPE ignored and SIGUSR1 blocked by the parent",
            wrapper: &[
                "python3",
                "-c",
                "import os, signal, sys\n\
                 signal.signal(signal.SIGPIPE, signal.SIG_IGN)\n\
                 signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})\n\
                 os.execv(sys.argv[1], sys.argv[1:])",
            ],
            words: words(&[&dynamic]),
            env: vec![],
        },
        Case {
            what: "an address-space limit (auto chooses exec)",
            wrapper: &["/bin/sh", "-c", "ulimit -v 8000000; exec \"$@\"", "sh"],
            words: words(&[&dynamic]),
            env: vec![],
        },
    ]
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
fn the_fast_start_launches_as_the_full_launcher_does() {
    for case in cases() {
        let fast = output(&mut command(&launcher(), &case));
        let full = output(&mut command(&full_launcher(), &case));
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
        assert_same(case.what, &fast, &full);
    }
}

/// The fast start and the shim, without the full launcher beside them.
fn alone(name: &str) -> PathBuf {
    let dir = scratch(name);
    std::fs::copy(launcher(), dir.join("seclaunch")).expect("copies the fast start");
    std::fs::copy(shim(), dir.join("libsecshim.so")).expect("copies the shim");
    dir
}

#[test]
fn those_launches_need_no_full_launcher() {
    let dir = alone("front-alone-launches");
    for case in cases() {
        let fast = output(&mut command(&dir.join("seclaunch"), &case));
        assert_eq!(
            fast.status.code(),
            Some(0),
            "{}: {}",
            case.what,
            stderr(&fast)
        );
        assert!(
            stdout(&fast).contains("status Seccomp_filters:\t1\n"),
            "{}: {}",
            case.what,
            stdout(&fast)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A command line, and variables set beside the clean environment.
type Launch = (&'static str, Vec<String>, Vec<(&'static str, &'static str)>);

/// Command lines and environments the fast start leaves to the full launcher.
fn deferred() -> Vec<Launch> {
    let (dynamic, fixed) = launch_state_probes();
    let (dynamic, fixed) = (dynamic.display().to_string(), fixed.display().to_string());
    let script = scratch("front-script").join("script");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let script = script.display().to_string();
    let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    vec![
        ("--verbose", words(&["-v", &dynamic]), vec![]),
        ("--dry-run", words(&["--dry-run", &dynamic]), vec![]),
        (
            "a profile file",
            words(&["-p", "/dev/null", &dynamic]),
            vec![],
        ),
        ("unconfined", words(&["-p", "unconfined", &dynamic]), vec![]),
        (
            "--cap-add",
            words(&["--cap-add", "SYS_ADMIN", &dynamic]),
            vec![],
        ),
        (
            "a repeated --mode",
            words(&["--mode", "exec", "--mode", "exec", &dynamic]),
            vec![],
        ),
        ("a command", words(&["check", "default"]), vec![]),
        ("--version", words(&["--version"]), vec![]),
        ("a script", words(&[&script]), vec![]),
        (
            "a static program to preload",
            words(&["--mode", "preload", &fixed]),
            vec![],
        ),
        (
            "a missing program",
            words(&["/nonexistent/program"]),
            vec![],
        ),
        ("a directory", words(&["/tmp"]), vec![]),
        (
            "a variable of seclaunch's",
            words(&[&dynamic]),
            vec![("SECLAUNCH_PROFILE", "default")],
        ),
    ]
}

#[test]
fn other_command_lines_reach_the_full_launcher_unchanged() {
    let dir = alone("front-alone-deferred");
    let missing = format!(
        "seclaunch: {}: cannot run the full launcher: not found\n",
        dir.join("seclaunch-full").display()
    );
    for (what, words, env) in deferred() {
        let mut fast = clean_command(&dir.join("seclaunch"));
        fast.args(&words).envs(env.iter().copied());
        let fast = output(&mut fast);
        assert_eq!(fast.status.code(), Some(125), "{what}: {}", stderr(&fast));
        assert_eq!(stderr(&fast), missing, "{what}");

        let mut through = clean_command(&launcher());
        through.args(&words).envs(env.iter().copied());
        let mut direct = clean_command(&full_launcher());
        direct.args(&words).envs(env.iter().copied());
        assert_same(what, &output(&mut through), &output(&mut direct));
    }
    std::fs::remove_dir_all(&dir).unwrap();
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
