//! Timing commands the way every benchmark here does: each variant once per round, in a
//! rotating order, so a noisy stretch of the machine hits all of them alike; medians, and
//! ratios to baselines measured in the same run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A variant: its name, and how to make its command afresh for each run.
pub struct Variant {
    pub name: String,
    pub make: Box<dyn Fn() -> Command>,
}

pub fn variant(name: &str, make: impl Fn() -> Command + 'static) -> Variant {
    Variant {
        name: name.to_string(),
        make: Box::new(make),
    }
}

/// Runs every variant once per round, rotating the order, and returns the medians.
pub fn measure(variants: &[Variant], rounds: usize) -> Vec<Duration> {
    let mut samples = vec![Vec::with_capacity(rounds); variants.len()];
    for round in 0..rounds {
        for k in 0..variants.len() {
            let i = (round + k) % variants.len();
            let mut command = (variants[i].make)();
            command.stdout(Stdio::null()).stderr(Stdio::piped());
            let start = Instant::now();
            let out = command.output().expect("starts");
            samples[i].push(start.elapsed());
            assert!(
                out.status.success(),
                "{}: {}",
                variants[i].name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    samples.iter_mut().map(|s| median(s)).collect()
}

pub fn table(variants: &[Variant], medians: &[Duration], baselines: &[(usize, &str)]) {
    let heads: Vec<String> = baselines
        .iter()
        .map(|(_, name)| format!("÷ {name}"))
        .collect();
    println!("| command | median µs | {} |", heads.join(" | "));
    println!("|---|---:|{}", "---:|".repeat(baselines.len()));
    for (variant, m) in variants.iter().zip(medians) {
        let ratios: Vec<String> = baselines
            .iter()
            .map(|(i, _)| format!("{:.2}×", ratio(*m, medians[*i])))
            .collect();
        println!(
            "| {} | {:.0} | {} |",
            variant.name,
            micros(*m),
            ratios.join(" | ")
        );
    }
    println!();
}

/// Runs this program again with `args` (a measuring child), checks that it succeeded,
/// and returns what it printed.
pub fn own_output<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let me = std::env::current_exe().expect("the path of this program");
    let out = Command::new(me).args(args).output().expect("runs itself");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
