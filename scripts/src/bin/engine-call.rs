//! Where the shim's `SECLAUNCH_PROFILE` path spends its time beyond the handoff path:
//! opening `libsecshim_engine.so` and its one call, which reads, builds and encodes the
//! profile (Docker's default, from a file, as the start-up benchmark gives it).
//!
//! Each sample is a fresh process (this program run again with `--child`), since the
//! shim pays both once per process, before anything warms the caches or the heap:
//! - `dlopen` of the engine, as the shim opens it;
//! - the engine's call, the first in the process;
//! - the same call with the process's heap already faulted in (grown and given back to
//!   malloc first), which shows what the kernel's providing fresh heap pages costs;
//! - the fifth call in the same process, with caches and heap warm from the others.
//!
//! A second table splits a build of the same file into its steps, also in fresh
//! processes: `profiles` as this program links it (the engine's code, in another
//! binary), each step's input freed once the step is done. `build_filter` frees the
//! rules earlier, between filing and code generation, which the public steps cannot.
//!
//! A third table follows both first-install paths inside `/bin/true`, the process the
//! shim really runs in, whose C library and heap nothing has warmed: a C preload
//! (`scripts/c/json-path-steps.c`) does the shim's steps, the engine's or the
//! handoff's, and times each, and this program times the fork and the wait around it
//! on the same clock, so the table also shows what the program's exit costs.
//!
//! Usage: `engine-call [--quick]`.

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use seclaunch_scripts::timing::{median, micros, own_output, ratio};
use seclaunch_tests::artifacts::{cc, release_dir};
use seclaunch_tests::run::clean_command;

/// The engine's entry point, as the shim finds and calls it.
const ENGINE_SYMBOL: &CStr = c"secshim_engine_frame_v2";
type EngineFn = unsafe extern "C" fn(*const c_char, *mut *const u8, *mut u8, usize) -> isize;

/// How much heap the pre-faulted variant touches before the call: more than a build
/// of Docker's default uses.
const PREFAULT: usize = 1 << 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, engine, profile, prefault] = args.as_slice() {
        if flag == "--child" {
            child(Path::new(engine), profile, prefault == "prefault");
            return;
        }
    }
    if let [_, flag, profile] = args.as_slice() {
        if flag == "--steps" {
            steps_child(Path::new(profile));
            return;
        }
    }
    let runs = if args.iter().any(|a| a == "--quick") {
        10
    } else {
        100
    };
    let engine = release_dir().join("libsecshim_engine.so");
    let work = std::env::temp_dir().join(format!("seclaunch-engine-call-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("creates the work directory");
    let profile = work.join("docker-default.json");
    std::fs::write(&profile, profiles::DEFAULT_PROFILE).expect("writes the profile");
    // Plain and pre-faulted children alternate, so a noisy stretch hits both alike.
    let mut plain = Vec::new();
    let mut prefaulted = Vec::new();
    let mut steps = Vec::new();
    for _ in 0..runs {
        let out = own_output(["--steps".as_ref(), profile.as_os_str()]);
        steps.push(parse_numbers(&out));
        for (mode, into) in [("plain", &mut plain), ("prefault", &mut prefaulted)] {
            let out = own_output([
                "--child".as_ref(),
                engine.as_os_str(),
                profile.as_os_str(),
                mode.as_ref(),
            ]);
            into.push(Sample::parse(&out));
        }
    }
    println!("### The shim's engine, in a fresh process ({runs} processes each)\n");
    println!("| step | median µs | new pages |");
    println!("|---|---:|---:|");
    let row = |name: &str, samples: &[Sample], pick: fn(&Sample) -> (Duration, u64)| {
        let mut times: Vec<Duration> = samples.iter().map(|s| pick(s).0).collect();
        let mut faults: Vec<u64> = samples.iter().map(|s| pick(s).1).collect();
        faults.sort_unstable();
        let faults = faults[faults.len() / 2];
        println!("| {name} | {:.0} | {faults} |", micros(median(&mut times)));
    };
    row("`dlopen` of the engine", &plain, |s| s.open);
    row("its call: read, build, encode", &plain, |s| s.call);
    row("the same, the heap faulted in before", &prefaulted, |s| {
        s.call
    });
    row("its fifth call in the process", &plain, |s| s.again);
    println!();
    println!("### A build of the same file, step by step, in a fresh process ({runs} processes)\n");
    println!("| step | median µs | new pages |");
    println!("|---|---:|---:|");
    for (i, name) in STEPS.iter().enumerate() {
        let mut times: Vec<Duration> = steps
            .iter()
            .map(|s| Duration::from_nanos(s[2 * i]))
            .collect();
        let mut faults: Vec<u64> = steps.iter().map(|s| s[2 * i + 1]).collect();
        faults.sort_unstable();
        let faults = faults[faults.len() / 2];
        println!("| {name} | {:.0} | {faults} |", micros(median(&mut times)));
    }
    println!();
    let mut warm: Vec<Duration> = plain.iter().map(|s| s.again.0).collect();
    in_process_steps(runs, &engine, &profile, &work, median(&mut warm));
    let _ = std::fs::remove_dir_all(&work);
}

/// The steps [`steps_child`] times, as the table names them.
const STEPS: [&str; 6] = [
    "read the file",
    "the host's options (kernel release, capabilities)",
    "parse",
    "resolve",
    "compile: file the rules, emulate libseccomp's program, generate",
    "encode the frame",
];

/// The steps [`in_process_steps`] times, as its table names them.
const PATH_STEPS: [&str; 6] = [
    "fork and exec, up to the preload's constructor",
    "`dlopen` of the engine",
    "the engine's call (JSON), or reading the program (handoff)",
    "installing: NO_NEW_PRIVS, then seccomp with TSYNC",
    "the constructor's end to the parent's `wait`: `main` and the exit",
    "in all",
];

/// One `/bin/true` under `scripts/c/json-path-steps.c`: the times of [`PATH_STEPS`],
/// and the new pages of the three steps inside the constructor.
struct PathSample {
    times: [Duration; 6],
    pages: [u64; 3],
}

/// Prints the third table: both first-install paths, step by step, inside `/bin/true`,
/// the two paths' processes alternating. `warm` is the engine's call with warm caches
/// and heap, from the first table, for the estimate printed below the table.
fn in_process_steps(runs: usize, engine: &Path, profile: &Path, work: &Path, warm: Duration) {
    let preload = steps_preload(work);
    let program = work.join("docker-default.bpf");
    let options = profiles::Options::for_this_host();
    let built = profiles::build(profiles::DEFAULT_PROFILE.as_bytes(), "default", &options);
    let (_, compiled) = built.expect("builds").filter.expect("a filter");
    std::fs::write(&program, profiles::bpf::to_bytes(&compiled.program)).expect("writes");
    let (mut json, mut handoff) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let env = [("STEPS_ENGINE", engine), ("STEPS_PROFILE", profile)];
        json.push(path_sample(&preload, &env));
        handoff.push(path_sample(&preload, &[("STEPS_PROGRAM", &program)]));
    }
    println!(
        "### Both first-install paths inside `/bin/true`, step by step ({runs} processes each)\n"
    );
    println!("| step | JSON path µs | new pages | handoff path µs | new pages |");
    println!("|---|---:|---:|---:|---:|");
    let json_times = step_medians(&json);
    let handoff_times = step_medians(&handoff);
    for (i, name) in PATH_STEPS.iter().enumerate() {
        let pages = |samples: &[PathSample]| match i {
            1..=3 => median_pages(samples, i - 1).to_string(),
            _ => "–".to_string(),
        };
        let handoff_time = match i {
            1 => "–".to_string(),
            _ => format!("{:.0}", micros(handoff_times[i])),
        };
        let handoff_pages = if i == 1 {
            "–".to_string()
        } else {
            pages(&handoff)
        };
        println!(
            "| {name} | {:.0} | {} | {handoff_time} | {handoff_pages} |",
            micros(json_times[i]),
            pages(&json)
        );
    }
    let (json_total, handoff_total) = (json_times[5], handoff_times[5]);
    let with_warm_call = json_total.saturating_sub(json_times[2]) + warm;
    println!(
        "\nJSON/handoff in this table: {:.2}×; with the engine's call at its warm time \
         (the first table's fifth call, {:.0} µs) the JSON path would take {:.2}× the \
         handoff path\n",
        ratio(json_total, handoff_total),
        micros(warm),
        ratio(with_warm_call, handoff_total)
    );
}

/// Compiles `scripts/c/json-path-steps.c` with the frame's header length and the
/// engine's entry point of this build.
fn steps_preload(work: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/json-path-steps.c");
    let header = format!("-DHEADER_LEN={}", handoff::HEADER_LEN);
    let entry = format!("-DENTRY=\"{}\"", ENGINE_SYMBOL.to_str().expect("ASCII"));
    let output = work.join("libjson-path-steps.so");
    cc(&output, &[&source], &["-shared", "-fPIC", &header, &entry])
}

/// Runs `/bin/true` once with the steps preload and `env`, timing the fork and the
/// wait on the clock the preload reads.
fn path_sample(preload: &Path, env: &[(&str, &Path)]) -> PathSample {
    let mut command = clean_command(Path::new("/bin/true"));
    command.env("LD_PRELOAD", preload).envs(env.iter().copied());
    let start = monotonic_ns();
    let out = command.output().expect("/bin/true runs");
    let end = monotonic_ns();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the steps preload failed: {stderr}");
    let n = parse_numbers(&String::from_utf8_lossy(&out.stdout));
    let span = |from: u64, to: u64| Duration::from_nanos(to.saturating_sub(from));
    PathSample {
        times: [
            span(start, n[0]),
            span(n[0], n[1]),
            span(n[1], n[2]),
            span(n[2], n[3]),
            span(n[4], end),
            span(start, end),
        ],
        pages: [n[5], n[6], n[7]],
    }
}

fn step_medians(samples: &[PathSample]) -> [Duration; 6] {
    std::array::from_fn(|i| {
        let mut times: Vec<Duration> = samples.iter().map(|s| s.times[i]).collect();
        median(&mut times)
    })
}

fn median_pages(samples: &[PathSample], i: usize) -> u64 {
    let mut pages: Vec<u64> = samples.iter().map(|s| s.pages[i]).collect();
    pages.sort_unstable();
    pages[pages.len() / 2]
}

/// `CLOCK_MONOTONIC` in nanoseconds, the clock the steps preload reads.
fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the `timespec` it is given, which is valid and
    // writable.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let secs = u64::try_from(now.tv_sec).unwrap_or(0);
    secs * 1_000_000_000 + u64::try_from(now.tv_nsec).unwrap_or(0)
}

/// Builds `profile` step by step and prints the nanoseconds and new page faults of
/// each step in [`STEPS`].
fn steps_child(profile: &Path) {
    let mut out = Vec::new();
    let mut step = |start: Instant, faults: u64| {
        out.push(format!(
            "{} {}",
            start.elapsed().as_nanos(),
            minor_faults() - faults
        ));
        (Instant::now(), minor_faults())
    };
    let (start, faults) = (Instant::now(), minor_faults());
    let bytes = std::fs::read(profile).expect("reads the profile");
    let (start, faults) = step(start, faults);
    let options = profiles::Options::for_this_host();
    let (start, faults) = step(start, faults);
    let parsed = profiles::parse::parse_profile(&bytes, &Default::default()).expect("parses");
    drop(bytes);
    let (start, faults) = step(start, faults);
    let resolution = profiles::resolve::resolve(&parsed.profile, parsed.format, &options.resolve)
        .expect("resolves");
    drop(parsed);
    let (start, faults) = step(start, faults);
    let profiles::resolve::Resolution::Filter(mut resolved) = resolution else {
        panic!("Docker's default is a filter");
    };
    let compiled = profiles::compile::compile(&resolved, false).expect("compiles");
    resolved.rules = Vec::new();
    let (start, faults) = step(start, faults);
    let frame = profiles::frame::of(&resolved, &compiled).expect("encodes");
    step(start, faults);
    std::hint::black_box(frame);
    println!("{}", out.join(" "));
}

fn parse_numbers(out: &str) -> Vec<u64> {
    out.split_whitespace()
        .map(|w| w.parse().expect("a number"))
        .collect()
}

/// One child's times and new page counts.
struct Sample {
    open: (Duration, u64),
    call: (Duration, u64),
    again: (Duration, u64),
}

impl Sample {
    /// Six numbers: nanoseconds and page faults for each step.
    fn parse(out: &str) -> Sample {
        let n = parse_numbers(out);
        let pair = |i: usize| (Duration::from_nanos(n[2 * i]), n[2 * i + 1]);
        Sample {
            open: pair(0),
            call: pair(1),
            again: pair(2),
        }
    }
}

/// How many times a child calls the engine; the last call's time is the warm one.
const CALLS: usize = 5;

/// Opens the engine, calls it [`CALLS`] times on `profile`, and prints the nanoseconds
/// and new page faults of the opening, the first call and the last.
fn child(engine: &Path, profile: &str, prefault: bool) {
    let engine = CString::new(engine.as_os_str().as_encoded_bytes()).expect("no NUL");
    let profile = CString::new(profile).expect("no NUL");
    let faults = minor_faults();
    let start = Instant::now();
    let entry = open(&engine);
    let open = (start.elapsed(), minor_faults() - faults);
    if prefault {
        fault_in_heap();
    }
    let call = timed_call(entry, &profile);
    let mut again = call;
    for _ in 1..CALLS {
        again = timed_call(entry, &profile);
    }
    let steps = [open, call, again].map(|(t, f)| format!("{} {f}", t.as_nanos()));
    println!("{}", steps.join(" "));
}

fn timed_call(entry: EngineFn, profile: &CStr) -> (Duration, u64) {
    let mut frame: *const u8 = std::ptr::null();
    let mut err = [0u8; 512];
    let faults = minor_faults();
    let start = Instant::now();
    // SAFETY: the engine's contract: a NUL-terminated source, a writable pointer and a
    // buffer writable for its length, all live for the call.
    let len = unsafe { entry(profile.as_ptr(), &mut frame, err.as_mut_ptr(), err.len()) };
    let elapsed = start.elapsed();
    let faults = minor_faults() - faults;
    assert!(
        len > 0,
        "the engine failed: {}",
        String::from_utf8_lossy(&err)
    );
    (elapsed, faults)
}

/// The engine's entry point, from `dlopen` as the shim does it.
fn open(engine: &CStr) -> EngineFn {
    // SAFETY: a NUL-terminated path; the engine's constructors are the standard
    // library's.
    let handle = unsafe { libc::dlopen(engine.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!handle.is_null(), "dlopen failed for {engine:?}");
    // SAFETY: a live handle and a NUL-terminated name; the library is never closed.
    let entry = unsafe { libc::dlsym(handle, ENGINE_SYMBOL.as_ptr()) };
    assert!(!entry.is_null(), "the engine exports no {ENGINE_SYMBOL:?}");
    // SAFETY: the engine exports the symbol with exactly this prototype (checked at
    // compile time in shim/engine).
    unsafe { std::mem::transmute::<*mut libc::c_void, EngineFn>(entry) }
}

/// Grows the heap by [`PREFAULT`] bytes, writing every page, and gives it back to malloc
/// without giving it back to the kernel.
fn fault_in_heap() {
    // SAFETY: mallopt only changes malloc's thresholds, before the block is taken.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 4 * PREFAULT as i32);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * PREFAULT as i32);
    }
    let mut block = vec![0u8; PREFAULT];
    for page in block.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&mut block);
}

fn minor_faults() -> u64 {
    // SAFETY: getrusage fills the struct it is given; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `struct rusage`.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    u64::try_from(usage.ru_minflt).unwrap_or(0)
}
