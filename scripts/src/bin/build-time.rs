//! Building Docker's default filter in process, median of interleaved rounds: seclaunch
//! from JSON to BPF (and from parsed rules to BPF), beside libseccomp from the same
//! resolved rules to exported BPF at -O1 and -O2, driven as runc drives it (runc's JSON
//! decoding is not counted on libseccomp's side).
//!
//! Usage: `build-time [--quick]`.

use std::time::{Duration, Instant};

use profiles::DEFAULT_PROFILE;
use seclaunch_scripts::timing::{median, micros, ratio};
use seclaunch_scripts::{default_resolved, fixed_options};
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
}
