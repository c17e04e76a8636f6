//! Prints the shape of Docker's default filter as seclaunch builds it and as runc builds
//! it with libseccomp (optimize levels 1 and 2, with runc's ENOSYS stub): program length,
//! and the mean and worst number of instructions executed per syscall, from the
//! interpreter, over every syscall number of the ABI's table with zero arguments.

use profiles::arch::Abi;
use profiles::bpf::sock_filter;
use profiles::interp::{self, SeccompData};
use profiles::syscalls;
use seclaunch_scripts::default_resolved;
use seclaunch_tests::reference;

fn shape(program: &[sock_filter], abi: Abi) -> (f64, usize) {
    let numbers: Vec<u32> = syscalls::table(abi).map(|(_, nr)| nr).collect();
    let mut total = 0usize;
    let mut worst = 0usize;
    for nr in &numbers {
        let data = SeccompData::new(abi, *nr, [0; 6]);
        let executed = interp::run(program, &data).expect("valid program").executed;
        total += executed;
        worst = worst.max(executed);
    }
    (total as f64 / numbers.len() as f64, worst)
}

/// The calls `syscall-cost` times, with the arguments it passes.
const CALLS: [(&str, &str, [u64; 6]); 4] = [
    ("getpid", "getpid", [0; 6]),
    ("personality", "personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
    ("clone", "clone", [0x800, 0, 0, 0, 0, 0]),
    (
        "kexec_file_load",
        "kexec_file_load",
        [u64::MAX, u64::MAX, 0, 0, 0, 0],
    ),
];

/// Instructions executed for each of [`CALLS`] on x86_64.
fn per_call(program: &[sock_filter]) -> Vec<usize> {
    CALLS
        .iter()
        .map(|(_, name, args)| {
            let nr = syscalls::number(Abi::X86_64, name).expect("an x86_64 syscall");
            let data = SeccompData::new(Abi::X86_64, nr, *args);
            interp::run(program, &data).expect("valid program").executed
        })
        .collect()
}

fn main() {
    let resolved = default_resolved();
    let ours = profiles::compile::compile(&resolved, false)
        .expect("compiles")
        .program;
    let mut rows = vec![("seclaunch".to_string(), ours)];
    for level in [1, 2] {
        let program = reference::runc_program_at(&resolved, level).expect("libseccomp builds");
        rows.push((format!("libseccomp -O{level} + runc stub"), program));
    }
    println!("| filter | length | x86_64 mean | x86_64 worst | i386 mean | i386 worst |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, program) in &rows {
        let (m64, w64) = shape(program, Abi::X86_64);
        let (m32, w32) = shape(program, Abi::X86);
        println!(
            "| {name} | {} | {m64:.1} | {w64} | {m32:.1} | {w32} |",
            program.len()
        );
    }
    let heads: Vec<&str> = CALLS.iter().map(|(label, _, _)| *label).collect();
    println!("\nInstructions executed for the calls syscall-cost times (x86_64):\n");
    println!("| filter | {} |", heads.join(" | "));
    println!("|---|{}", "---:|".repeat(heads.len()));
    for (name, program) in &rows {
        let counts: Vec<String> = per_call(program).iter().map(usize::to_string).collect();
        println!("| {name} | {} |", counts.join(" | "));
    }
}
