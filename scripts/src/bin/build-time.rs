//! Building Docker's default filter in process, three ways, each beside libseccomp
//! from the same resolved rules to exported BPF at -O1 and -O2, driven as runc drives it
//! (runc's JSON decoding is not counted on libseccomp's side):
//! - one build per job in each round, jobs interleaved: each build starts with the
//!   caches holding whatever the job before it left, often a libseccomp build;
//! - blocks of consecutive builds of one job, blocks interleaved, the first build of a
//!   block left out: caches warm, as in criterion's `scripts/benches/compile.rs`;
//! - seclaunch's build as the first and only one of a fresh process (this program run
//!   again with `--once`), which is what a launch or the shim's JSON path pays.
//!
//! Then `scripts/c/libseccomp-build.c`, which splits libseccomp's time into adding the
//! rules and exporting; its export must equal the crate's.
//!
//! Usage: `build-time [--quick]`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use profiles::bpf::to_bytes;

use profiles::DEFAULT_PROFILE;
use seclaunch_scripts::timing::{median, micros, own_output, ratio};
use seclaunch_scripts::{default_resolved, fixed_options, runc_rule_list};
use seclaunch_tests::reference;

type Job = Box<dyn Fn()>;

fn main() {
    if std::env::args().any(|a| a == "--once") {
        once();
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 20 } else { 200 };
    let options = fixed_options();
    let resolved = default_resolved();
    let jobs: Vec<(&str, Job)> = vec![
        ("seclaunch, JSON to BPF", {
            let options = options.clone();
            Box::new(move || {
                let built = profiles::build(DEFAULT_PROFILE.as_bytes(), "default", &options);
                std::hint::black_box(built.expect("builds"));
            })
        }),
        ("seclaunch, resolved rules to BPF", {
            let resolved = resolved.clone();
            Box::new(move || {
                let compiled = profiles::compile::compile(&resolved, false);
                std::hint::black_box(compiled.expect("compiles"));
            })
        }),
        ("libseccomp -O1, resolved rules to BPF", {
            let resolved = resolved.clone();
            Box::new(move || {
                let program = reference::libseccomp_program_at(&resolved, 1);
                std::hint::black_box(program.expect("builds"));
            })
        }),
        ("libseccomp -O2, resolved rules to BPF", {
            let resolved = resolved.clone();
            Box::new(move || {
                let program = reference::libseccomp_program_at(&resolved, 2);
                std::hint::black_box(program.expect("builds"));
            })
        }),
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); jobs.len()];
    for round in 0..rounds {
        for k in 0..jobs.len() {
            let i = (round + k) % jobs.len();
            let start = Instant::now();
            (jobs[i].1)();
            samples[i].push(start.elapsed());
        }
    }
    let medians: Vec<Duration> = samples.iter_mut().map(|s| median(s)).collect();
    println!(
        "### Building Docker's default in process ({rounds} interleaved rounds, one build each)\n"
    );
    print_medians(jobs.iter().map(|(name, _)| *name), &medians);
    warm(&jobs, if quick { 4 } else { 40 });
    fresh_process(if quick { 10 } else { 100 });
    c_program(rounds, &resolved);
}

/// Blocks of consecutive builds of each job, the blocks interleaved; the first build of
/// each block is left out.
fn warm(jobs: &[(&str, Job)], blocks: usize) {
    const BLOCK: usize = 11;
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); jobs.len()];
    for block in 0..blocks {
        for k in 0..jobs.len() {
            let i = (block + k) % jobs.len();
            for n in 0..BLOCK {
                let start = Instant::now();
                (jobs[i].1)();
                if n > 0 {
                    samples[i].push(start.elapsed());
                }
            }
        }
    }
    let medians: Vec<Duration> = samples.iter_mut().map(|s| median(s)).collect();
    println!(
        "### The same, caches warm ({blocks} interleaved blocks of {} consecutive builds)\n",
        BLOCK - 1
    );
    print_medians(jobs.iter().map(|(name, _)| *name), &medians);
}

/// A table of each job's median and its ratio to the first job's.
fn print_medians<'a>(names: impl Iterator<Item = &'a str>, medians: &[Duration]) {
    println!("| build | median µs | ÷ seclaunch JSON to BPF |");
    println!("|---|---:|---:|");
    for (name, m) in names.zip(medians) {
        println!(
            "| {name} | {:.0} | {:.2}× |",
            micros(*m),
            ratio(*m, medians[0])
        );
    }
    println!();
}

/// seclaunch's build of the default as the only one of a fresh process, `runs` times.
fn fresh_process(runs: usize) {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let nanos: u64 = own_output(["--once"]).trim().parse().expect("a time in ns");
            Duration::from_nanos(nanos)
        })
        .collect();
    let m = median(&mut samples);
    println!("### The first build in a fresh process ({runs} processes)\n");
    println!("| build | median µs |");
    println!("|---|---:|");
    println!("| seclaunch, JSON to BPF | {:.0} |", micros(m));
    println!();
}

/// One build, timed, its nanoseconds on stdout.
fn once() {
    let options = fixed_options();
    let start = Instant::now();
    let built = profiles::build(DEFAULT_PROFILE.as_bytes(), "default", &options);
    let elapsed = start.elapsed();
    std::hint::black_box(built.expect("builds"));
    println!("{}", elapsed.as_nanos());
}

/// Builds and runs `scripts/c/libseccomp-build.c` at both optimize levels.
fn c_program(rounds: usize, resolved: &profiles::Resolved) {
    let work = std::env::temp_dir().join(format!("seclaunch-build-time-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/libseccomp-build.c");
    let binary = work.join("libseccomp-build");
    let status = Command::new("cc")
        .args(["-O2", "-Wall", "-Werror", "-o"])
        .arg(&binary)
        .arg(&source)
        .arg("-lseccomp")
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc failed for {}", source.display());
    let rules = work.join("rules.txt");
    std::fs::write(&rules, runc_rule_list(resolved)).unwrap();
    println!("libseccomp through a C program ({rounds} rounds each):\n");
    println!("| build | adding the rules µs | export µs | total µs | export equals the crate's |");
    println!("|---|---:|---:|---:|---|");
    for level in [1, 2] {
        let bpf = work.join(format!("O{level}.bpf"));
        let out = Command::new(&binary)
            .arg(&rules)
            .arg(level.to_string())
            .arg(rounds.to_string())
            .arg(&bpf)
            .output()
            .expect("runs the C program");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let times: Vec<&str> = text.split_whitespace().collect();
        let crate_build = reference::libseccomp_program_at(resolved, level).expect("builds");
        let same = std::fs::read(&bpf).ok() == Some(to_bytes(&crate_build));
        println!(
            "| libseccomp -O{level} | {} | {} | {} | {} |",
            times[0],
            times[1],
            times[2],
            if same { "yes" } else { "NO" }
        );
    }
    println!();
    let _ = std::fs::remove_dir_all(&work);
}
