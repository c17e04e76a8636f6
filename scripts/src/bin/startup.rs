//! Start-up costs of running `/bin/true` under seclaunch, beside the floors they are held
//! to, as Markdown tables of medians and ratios measured in one run.
//!
//! Every variant runs once per round, in a rotating order, so a noisy stretch of the
//! machine hits all of them alike. Three groups:
//! - unfiltered parent: plain, `env`, an empty preload, the shim's three first-install
//!   paths (handoff, JSON file, embedded default), the launcher in both modes, and
//!   `bwrap --seccomp` given libseccomp's build of Docker's default;
//! - filtered parent (this program re-run under `seclaunch --mode exec`): plain, an
//!   empty preload, and the shim finding its filter already in force;
//! - attaching alone: `seccomp(SECCOMP_SET_MODE_FILTER)` timed in a fresh process for
//!   seclaunch's filter and libseccomp's linear (-O1) and binary-tree (-O2) builds.
//!
//! Usage: `startup [--rounds N]` (default 300). `--quick` is `--rounds 30`.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use profiles::bpf::{from_bytes, to_bytes};
use profiles::install;
use seclaunch_scripts::default_resolved;
use seclaunch_scripts::timing::{measure, median, micros, own_output, ratio, table, variant};
use seclaunch_tests::artifacts::{full_launcher, launcher, release_dir, shim};
use seclaunch_tests::reference;
use seclaunch_tests::run::{clean_command, handoff_for, Handoff};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, program] = args.as_slice() {
        if flag == "--attach" {
            attach_once(Path::new(program));
            return;
        }
    }
    let rounds = rounds(&args);
    if args.iter().any(|a| a == "--filtered-group") {
        filtered_group(rounds);
        return;
    }
    let work = std::env::temp_dir().join(format!("seclaunch-startup-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("creates the work directory");
    unfiltered_group(rounds, &work);
    run_filtered_group(rounds);
    attach_group(rounds, &work);
    let _ = std::fs::remove_dir_all(&work);
}

fn rounds(args: &[String]) -> usize {
    if args.iter().any(|a| a == "--quick") {
        return 30;
    }
    let at = args.iter().position(|a| a == "--rounds");
    at.and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(300)
}

/// A preload library in C that does nothing but install the raw program in the file
/// `FLOOR_FILTER` names, as the shim does (NO_NEW_PRIVS, then TSYNC and SPEC_ALLOW):
/// the kernel's own cost of a first install, which the shim's handoff is held to.
const FLOOR_INSTALLER: &str = r#"
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
__attribute__((constructor)) static void install(void)
{
    static struct sock_filter insns[4096];
    int fd = open(getenv("FLOOR_FILTER"), O_RDONLY);
    ssize_t n = read(fd, insns, sizeof insns);
    struct sock_fprog prog = { (unsigned short)(n / 8), insns };
    close(fd);
    if (n <= 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog))
        _exit(125);
}
"#;

/// Compiles `source` into the shared library `name` in `work`.
fn c_library(work: &Path, name: &str, source: &str) -> PathBuf {
    let path = work.join(format!("{name}.c"));
    std::fs::write(&path, source).unwrap();
    let library = work.join(format!("lib{name}.so"));
    let status = Command::new("cc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&path)
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc failed for {name}");
    library
}

/// An empty shared library: the floor for any preload.
fn empty_library(work: &Path) -> PathBuf {
    c_library(
        work,
        "empty",
        "/* nothing: the cost of loading a library */\n",
    )
}

fn true_with(env: &[(&str, &std::ffi::OsStr)]) -> Command {
    let mut command = clean_command(Path::new("/bin/true"));
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn unfiltered_group(rounds: usize, work: &Path) {
    release_dir();
    let empty = empty_library(work);
    let json = work.join("docker-default.json");
    std::fs::write(&json, profiles::DEFAULT_PROFILE).unwrap();
    // One frame for every run: the shim reads it with pread at offset 0 and closes only
    // its own inherited copy of the fd.
    let handoff: &'static Handoff = Box::leak(Box::new(handoff_for(profiles::DEFAULT_PROFILE)));
    let bwrap_filter = work.join("libseccomp-default.bpf");
    let resolved = default_resolved();
    let reference = reference::runc_program_at(&resolved, 2).expect("libseccomp builds");
    std::fs::write(&bwrap_filter, to_bytes(&reference)).unwrap();

    let floor = c_library(work, "floor", FLOOR_INSTALLER);
    let ours = work.join("seclaunch-default.bpf");
    let frame = handoff::decode(&handoff.frame, None).expect("decodes");
    std::fs::write(&ours, frame.program).unwrap();
    let (shim, launcher, full) = (shim(), launcher(), full_launcher());
    let mut variants = vec![
        variant("/bin/true", || true_with(&[])),
        variant("env /bin/true", || {
            let mut c = clean_command(Path::new("/usr/bin/env"));
            c.arg("/bin/true");
            c
        }),
        variant("LD_PRELOAD=empty.so /bin/true", {
            let empty = empty.clone();
            move || true_with(&[("LD_PRELOAD", empty.as_os_str())])
        }),
        variant(
            "C preload installing the same program (kernel floor)",
            move || {
                true_with(&[
                    ("LD_PRELOAD", floor.as_os_str()),
                    ("FLOOR_FILTER", ours.as_os_str()),
                ])
            },
        ),
        variant("shim, first install from the handoff", {
            let shim = shim.clone();
            move || {
                let announce = handoff.announce();
                let mut c = true_with(&[("LD_PRELOAD", shim.as_os_str())]);
                c.env("SECLAUNCH_HANDOFF", announce);
                c
            }
        }),
        variant("shim, first install from SECLAUNCH_PROFILE=p.json", {
            let (shim, json) = (shim.clone(), json.clone());
            move || {
                true_with(&[
                    ("LD_PRELOAD", shim.as_os_str()),
                    ("SECLAUNCH_PROFILE", json.as_os_str()),
                ])
            }
        }),
        variant("shim, first install of the embedded default", {
            let shim = shim.clone();
            move || true_with(&[("LD_PRELOAD", shim.as_os_str())])
        }),
        variant("seclaunch /bin/true (preload)", {
            let launcher = launcher.clone();
            move || {
                let mut c = clean_command(&launcher);
                c.arg("/bin/true");
                c
            }
        }),
        variant("seclaunch --mode exec /bin/true", {
            let launcher = launcher.clone();
            move || {
                let mut c = clean_command(&launcher);
                c.args(["--mode", "exec", "/bin/true"]);
                c
            }
        }),
        variant("seclaunch-full /bin/true (the full launcher alone)", {
            let full = full.clone();
            move || {
                let mut c = clean_command(&full);
                c.arg("/bin/true");
                c
            }
        }),
        variant(
            "seclaunch -p default.json /bin/true (compiled by the full launcher)",
            {
                let (launcher, json) = (launcher.clone(), json.clone());
                move || {
                    let mut c = clean_command(&launcher);
                    c.arg("-p").arg(&json).arg("/bin/true");
                    c
                }
            },
        ),
        variant("seclaunch-full -p default.json /bin/true", {
            let json = json.clone();
            move || {
                let mut c = clean_command(&full);
                c.arg("-p").arg(&json).arg("/bin/true");
                c
            }
        }),
    ];
    if Command::new("bwrap").arg("--version").output().is_ok() {
        variants.push(variant(
            "bwrap --seccomp (libseccomp -O2 filter)",
            move || {
                let mut c = clean_command(Path::new("bwrap"));
                c.args(["--ro-bind", "/", "/", "--seccomp", "0", "/bin/true"]);
                c.stdin(File::open(&bwrap_filter).expect("opens the filter"));
                c
            },
        ));
    } else {
        println!("(bwrap is not installed: `apt-get install bubblewrap` adds its row)\n");
    }
    let medians = measure(&variants, rounds);
    println!("### Start-up, unfiltered parent ({rounds} interleaved rounds)\n");
    table(
        &variants,
        &medians,
        &[(0, "/bin/true"), (1, "env"), (2, "empty preload")],
    );
    let at = |name: &str| {
        variants
            .iter()
            .position(|v| v.name.starts_with(name))
            .unwrap()
    };
    let (empty, floor_i, handoff_i, json_i) = (
        medians[at("LD_PRELOAD=empty")],
        medians[at("C preload installing")],
        medians[at("shim, first install from the handoff")],
        medians[at("shim, first install from SECLAUNCH")],
    );
    let added = |m: Duration| micros(m.saturating_sub(empty));
    println!(
        "first install, added over the empty preload: kernel floor {:.0} µs, shim handoff \
         {:.0} µs, shim JSON {:.0} µs; JSON/handoff total {:.2}×\n",
        added(floor_i),
        added(handoff_i),
        added(json_i),
        ratio(json_i, handoff_i)
    );
    let exec_i = at("seclaunch /bin/true");
    let env_i = at("env /bin/true");
    print!(
        "seclaunch (preload) / env: {:.2}×",
        ratio(medians[exec_i], medians[env_i])
    );
    if let Some(bwrap) = variants.iter().position(|v| v.name.starts_with("bwrap")) {
        print!(
            "; seclaunch (preload) / bwrap: {:.2}×",
            ratio(medians[exec_i], medians[bwrap])
        );
    }
    println!("\n");
}

/// Re-runs this program under `seclaunch --mode exec`, so its children start below a
/// filter of seclaunch's with the marker set.
fn run_filtered_group(rounds: usize) {
    let me = std::env::current_exe().expect("knows its own path");
    let status = clean_command(&launcher())
        .args(["--mode", "exec"])
        .arg(me)
        .args(["--filtered-group", "--rounds", &rounds.to_string()])
        .status()
        .expect("runs itself under seclaunch");
    assert!(status.success(), "the filtered group failed");
}

fn filtered_group(rounds: usize) {
    let work = std::env::temp_dir().join(format!("seclaunch-startup-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let empty = empty_library(&work);
    let shim = shim();
    let variants = vec![
        variant("/bin/true", || true_with(&[])),
        variant("LD_PRELOAD=empty.so /bin/true", move || {
            true_with(&[("LD_PRELOAD", empty.as_os_str())])
        }),
        variant(
            "LD_PRELOAD=libsecshim.so SECLAUNCH_PROFILE=unconfined /bin/true",
            {
                let shim = shim.clone();
                move || {
                    let mut c = true_with(&[("LD_PRELOAD", shim.as_os_str())]);
                    c.env("SECLAUNCH_PROFILE", "unconfined");
                    c
                }
            },
        ),
        variant(
            "LD_PRELOAD=libsecshim.so /bin/true (filter in force)",
            move || {
                let marker = std::env::var_os("SECLAUNCH_ACTIVE").expect("runs under seclaunch");
                let mut c = true_with(&[("LD_PRELOAD", shim.as_os_str())]);
                c.env("SECLAUNCH_ACTIVE", marker);
                c
            },
        ),
    ];
    let medians = measure(&variants, rounds);
    println!("### Start-up below a filter already in force ({rounds} interleaved rounds)\n");
    table(
        &variants,
        &medians,
        &[(0, "/bin/true"), (1, "empty preload")],
    );
    let _ = std::fs::remove_dir_all(&work);
}

fn attach_group(rounds: usize, work: &Path) {
    let resolved = default_resolved();
    let ours = profiles::compile::compile(&resolved, false)
        .expect("compiles")
        .program;
    let mut programs = vec![("seclaunch".to_string(), ours)];
    for (level, what) in [(1, "linear"), (2, "binary tree")] {
        let program = reference::runc_program_at(&resolved, level).expect("libseccomp builds");
        programs.push((
            format!("libseccomp -O{level} ({what}) + runc stub"),
            program,
        ));
    }
    let files: Vec<PathBuf> = programs
        .iter()
        .enumerate()
        .map(|(i, (_, program))| {
            let path = work.join(format!("attach-{i}.bpf"));
            std::fs::write(&path, to_bytes(program)).unwrap();
            path
        })
        .collect();
    let mut samples = vec![Vec::new(); programs.len()];
    for round in 0..rounds {
        for k in 0..programs.len() {
            let i = (round + k) % programs.len();
            let text = own_output([OsStr::new("--attach"), files[i].as_os_str()]);
            let nanos: u64 = text.trim().parse().expect("a time in ns");
            samples[i].push(Duration::from_nanos(nanos));
        }
    }
    println!("### Attaching Docker's default: seccomp(SET_MODE_FILTER) alone ({rounds} rounds)\n");
    println!("| filter | instructions | median µs | ratio to seclaunch |");
    println!("|---|---:|---:|---:|");
    let medians: Vec<Duration> = samples.iter_mut().map(|s| median(s)).collect();
    for ((name, program), m) in programs.iter().zip(&medians) {
        let r = ratio(*m, medians[0]);
        println!(
            "| {name} | {} | {:.1} | {r:.2}× |",
            program.len(),
            micros(*m)
        );
    }
    println!();
}

/// In a fresh process: NO_NEW_PRIVS, then one timed install of the program in `path`.
fn attach_once(path: &Path) {
    let bytes = std::fs::read(path).expect("reads the program");
    let program = from_bytes(&bytes);
    install::set_no_new_privs().expect("sets no_new_privs");
    let start = Instant::now();
    install::install(&program, install::FLAG_SPEC_ALLOW).expect("installs");
    let took = start.elapsed();
    println!("{}", took.as_nanos());
}
