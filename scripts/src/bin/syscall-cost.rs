//! The kernel's cost per syscall under Docker's default as seclaunch builds it, beside
//! libseccomp's builds (-O1 linear, -O2 binary tree, both with runc's ENOSYS stub), a
//! one-instruction allow-all filter (the floor for any filter) and no filter at all, in
//! ns per call: medians over rounds, each round a fresh process per filter, in a
//! rotating order.
//!
//! The calls: `getpid` (allowed, no argument check), `personality(0xffffffff)` (a query,
//! argument-checked), `clone` with `CLONE_SIGHAND` but not `CLONE_VM` (argument-checked,
//! then refused by the kernel with EINVAL before it creates anything) and
//! `kexec_file_load` with bad fds (denied by the filter).
//!
//! Usage: `syscall-cost [--quick]`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use profiles::action::Action;
use profiles::bpf::{from_bytes, ret, to_bytes};
use profiles::install;
use seclaunch_scripts::default_resolved;
use seclaunch_scripts::timing::own_output;
use seclaunch_tests::reference;

/// The calls, as (label, number, arguments).
const CALLS: [(&str, libc::c_long, [libc::c_long; 5]); 4] = [
    ("getpid", libc::SYS_getpid, [0; 5]),
    (
        "personality(0xffffffff)",
        libc::SYS_personality,
        [0xffff_ffff, 0, 0, 0, 0],
    ),
    (
        "clone(CLONE_SIGHAND), EINVAL",
        libc::SYS_clone,
        [0x800, 0, 0, 0, 0],
    ),
    (
        "kexec_file_load, denied",
        libc::SYS_kexec_file_load,
        [-1, -1, 0, 0, 0],
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, filter, iterations] = args.as_slice() {
        if flag == "--child" {
            child(filter, iterations.parse().expect("a count"));
            return;
        }
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (rounds, iterations) = if quick { (5, 20_000) } else { (21, 200_000) };
    let work = std::env::temp_dir().join(format!("seclaunch-syscall-cost-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let filters = filters(&work);
    let mut samples = vec![vec![Vec::new(); CALLS.len()]; filters.len()];
    for round in 0..rounds {
        for k in 0..filters.len() {
            let i = (round + k) % filters.len();
            let count = iterations.to_string();
            let text = own_output([
                OsStr::new("--child"),
                filters[i].1.as_os_str(),
                count.as_ref(),
            ]);
            for (call, value) in text.split_whitespace().enumerate() {
                samples[i][call].push(value.parse::<f64>().unwrap());
            }
        }
    }
    print_table(&filters, &mut samples, rounds, iterations);
    let _ = std::fs::remove_dir_all(&work);
}

/// The filters, by name, as files of raw BPF; "none" installs nothing.
fn filters(work: &Path) -> Vec<(String, PathBuf)> {
    let resolved = default_resolved();
    let ours = profiles::compile::compile(&resolved, false)
        .expect("compiles")
        .program;
    let mut programs = vec![
        (
            "allow-all (1 insn)".to_string(),
            vec![ret(Action::Allow.ret())],
        ),
        ("seclaunch".to_string(), ours),
    ];
    for level in [1, 2] {
        let program = reference::runc_program_at(&resolved, level).expect("libseccomp builds");
        programs.push((format!("libseccomp -O{level}"), program));
    }
    let mut out = vec![("no filter".to_string(), PathBuf::from("none"))];
    for (i, (name, program)) in programs.into_iter().enumerate() {
        let path = work.join(format!("filter-{i}.bpf"));
        std::fs::write(&path, to_bytes(&program)).unwrap();
        out.push((name, path));
    }
    out
}

/// In a fresh process: installs the filter, then times each call.
fn child(filter: &str, iterations: u32) {
    if filter != "none" {
        let program = from_bytes(&std::fs::read(filter).expect("reads the filter"));
        install::set_no_new_privs().expect("sets no_new_privs");
        install::install(&program, install::FLAG_SPEC_ALLOW).expect("installs");
    }
    let mut line = Vec::new();
    for (_, nr, a) in CALLS {
        let start = Instant::now();
        for _ in 0..iterations {
            // SAFETY: each call is harmless by construction (see the module docs): no
            // memory is passed, clone fails before creating a task, kexec gets bad fds.
            let rc = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4]) };
            std::hint::black_box(rc);
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
        line.push(format!("{ns:.1}"));
    }
    println!("{}", line.join(" "));
}

fn print_table(
    filters: &[(String, PathBuf)],
    samples: &mut [Vec<Vec<f64>>],
    rounds: usize,
    iterations: u32,
) {
    println!(
        "### Kernel cost per syscall, ns/call ({rounds} rounds of {iterations} calls; \
         in parentheses: added over no filter)\n"
    );
    let names: Vec<&str> = filters.iter().map(|(n, _)| n.as_str()).collect();
    println!("| call | {} |", names.join(" | "));
    println!("|---|{}", "---:|".repeat(names.len()));
    let medians: Vec<Vec<f64>> = samples
        .iter_mut()
        .map(|per_call| {
            per_call
                .iter_mut()
                .map(|s| {
                    s.sort_by(f64::total_cmp);
                    median_f64(s)
                })
                .collect()
        })
        .collect();
    for (c, (label, _, _)) in CALLS.iter().enumerate() {
        let none = medians[0][c];
        let cells: Vec<String> = medians
            .iter()
            .enumerate()
            .map(|(f, m)| match f {
                0 => format!("{:.0}", m[c]),
                _ => format!("{:.0} (+{:.0})", m[c], m[c] - none),
            })
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    println!();
}

fn median_f64(sorted: &[f64]) -> f64 {
    sorted[sorted.len() / 2]
}
