//! Building Docker's default filter in process, median of interleaved rounds: seclaunch
//! from JSON to BPF (and from parsed rules to BPF), beside libseccomp from the same
//! resolved rules to exported BPF at -O1 and -O2, driven as runc drives it (runc's JSON
//! decoding is not counted on libseccomp's side), through the libseccomp crate and
//! through `scripts/c/libseccomp-build.c`, which also splits libseccomp's time into
//! adding the rules and exporting. The C program's export must equal the crate's.
//!
//! Usage: `build-time [--quick]`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use profiles::bpf::to_bytes;

use profiles::DEFAULT_PROFILE;
use seclaunch_scripts::timing::{median, micros, ratio};
use seclaunch_scripts::{default_resolved, fixed_options, runc_rule_list};
use seclaunch_tests::reference;

type Job = Box<dyn Fn()>;

fn main() {
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
    println!("### Building Docker's default in process ({rounds} interleaved rounds)\n");
    println!("| build | median µs | ÷ seclaunch JSON to BPF |");
    println!("|---|---:|---:|");
    for ((name, _), m) in jobs.iter().zip(&medians) {
        println!(
            "| {name} | {:.0} | {:.2}× |",
            micros(*m),
            ratio(*m, medians[0])
        );
    }
    println!();
    c_program(rounds, &resolved);
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
