//! The `seclaunch` binary as a user runs it: its output, its one-line errors and its exit
//! statuses. Every resolution option that depends on the host is given explicitly, so
//! the results are the same on any machine.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use profiles::arch::Abi;
use profiles::bpf::{disasm, sock_filter};
use profiles::caps::CapSet;
use profiles::kernel::parse_min_kernel;
use profiles::{build, Options, ResolveOptions, DEFAULT_PROFILE};

/// The options every test resolves for: an x86_64 host with a 6.8 kernel.
const HOST: [&str; 4] = ["--arch", "x86_64", "--kernel", "6.8"];

struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

fn seclaunch(args: &[&str]) -> Run {
    let output = seclaunch_raw(args);
    Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn seclaunch_raw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seclaunch"))
        .args(args)
        .output()
        .expect("the seclaunch binary runs")
}

/// `seclaunch COMMAND PROFILE ARGS... --arch x86_64 --kernel 6.8`.
fn on_host(command: &str, profile: &str, args: &[&str]) -> Run {
    let mut all = vec![command, profile];
    all.extend_from_slice(args);
    all.extend_from_slice(&HOST);
    seclaunch(&all)
}

/// A file in the test's scratch directory with `contents`.
fn scratch_file(name: &str, contents: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).expect("the scratch file is written");
    path
}

/// The explanation's `decision:` line, without the label.
fn decision(run: &Run) -> &str {
    assert_eq!(run.status, Some(0), "explain failed: {}", run.stderr);
    let line = run.stdout.lines().find(|l| l.starts_with("decision: "));
    line.and_then(|l| l.strip_prefix("decision: "))
        .expect("a decision line")
}

/// Asserts a failure of seclaunch itself: status 125, one line on stderr with the prefix.
fn assert_one_line_failure(run: &Run) -> &str {
    assert_eq!(
        run.status,
        Some(125),
        "stdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "stderr: {:?}", run.stderr);
    assert!(
        run.stderr.starts_with("seclaunch: "),
        "stderr: {:?}",
        run.stderr
    );
    run.stderr.trim_end()
}

fn default_program() -> Vec<sock_filter> {
    let resolve = ResolveOptions {
        caps: CapSet::docker_default(),
        native: Abi::X86_64,
        kernel: parse_min_kernel("6.8").expect("a kernel version"),
    };
    let options = Options {
        resolve,
        strict: false,
    };
    let built = build(DEFAULT_PROFILE.as_bytes(), "default", &options).expect("default builds");
    built.filter.expect("the default is a filter").1.program
}

fn program_from_bytes(bytes: &[u8]) -> Vec<sock_filter> {
    let insn = |b: &[u8]| sock_filter {
        code: u16::from_ne_bytes([b[0], b[1]]),
        jt: b[2],
        jf: b[3],
        k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
    };
    bytes.chunks_exact(8).map(insn).collect()
}

const BAD_OPERATOR: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQQ"}]}
    ]
}"#;

const UNKNOWN_KEY: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "colour": "blue"}]
}"#;

const UNKNOWN_NAME: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [{"names": ["read", "frobnicate"], "action": "SCMP_ACT_ALLOW"}]
}"#;

#[test]
fn check_summarises_the_default_profile() {
    let run = on_host("check", "default", &[]);
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
    assert!(run.stderr.is_empty(), "stderr: {}", run.stderr);
    for expected in [
        "ABIs in the filter: x86_64, i386, x32",
        "default action: ERRNO(1) EPERM",
        "ERRNO(38) ENOSYS",
        "syscall names ignored as unknown: none",
        "needs CAP_SYS_ADMIN",
        "includes.minKernel 4.8",
        "parser warnings (ignored keys): none",
        "runc's ENOSYS stub",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} missing in:\n{}",
            run.stdout
        );
    }
    let length = format!("program: {} instructions", default_program().len());
    assert!(
        run.stdout.contains(&length),
        "{length:?} missing in:\n{}",
        run.stdout
    );
}

#[test]
fn check_counts_cap_added_entries_as_in() {
    let run = on_host("check", "default", &["--cap-add", "SYS_ADMIN"]);
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
    assert!(
        !run.stdout.contains("needs CAP_SYS_ADMIN"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("excluded with CAP_SYS_ADMIN"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_of_unconfined_reports_no_filter() {
    let run = on_host("check", "unconfined", &[]);
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
    assert!(run.stdout.contains("filter: none"), "{}", run.stdout);
}

#[test]
fn broken_profile_fails_with_one_line_naming_file_and_location() {
    let path = scratch_file("bad-operator.json", BAD_OPERATOR);
    let path = path.to_str().expect("a UTF-8 path");
    let run = on_host("check", path, &[]);
    let line = assert_one_line_failure(&run);
    let expected = format!("seclaunch: {path}: syscalls[0].args[0].op: unknown operator");
    assert!(line.starts_with(&expected), "{line}");
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
}

#[test]
fn malformed_json_fails_with_one_line() {
    let path = scratch_file("truncated.json", "{\"defaultAction\": ");
    let run = on_host("check", path.to_str().expect("a UTF-8 path"), &[]);
    assert_one_line_failure(&run);
}

#[test]
fn missing_profile_file_fails_with_one_line() {
    let run = on_host("check", "/nonexistent/profile.json", &[]);
    let line = assert_one_line_failure(&run);
    assert!(
        line.contains("/nonexistent/profile.json: reading the profile"),
        "{line}"
    );
}

#[test]
fn unknown_key_is_a_warning_and_an_error_with_strict() {
    let path = scratch_file("unknown-key.json", UNKNOWN_KEY);
    let path = path.to_str().expect("a UTF-8 path");
    let lenient = on_host("check", path, &[]);
    assert_eq!(lenient.status, Some(0), "stderr: {}", lenient.stderr);
    assert!(
        lenient
            .stdout
            .contains(r#"unknown key "colour" is ignored"#),
        "{}",
        lenient.stdout
    );
    let strict = on_host("check", path, &["--strict"]);
    let line = assert_one_line_failure(&strict);
    assert!(
        line.contains(r#"syscalls[0]: unknown key "colour""#),
        "{line}"
    );
}

#[test]
fn unknown_syscall_name_is_listed_and_an_error_with_strict() {
    let path = scratch_file("unknown-name.json", UNKNOWN_NAME);
    let path = path.to_str().expect("a UTF-8 path");
    let lenient = on_host("check", path, &[]);
    assert_eq!(lenient.status, Some(0), "stderr: {}", lenient.stderr);
    assert!(
        lenient
            .stdout
            .contains(r#"syscalls[0].names[1]: "frobnicate""#),
        "{}",
        lenient.stdout
    );
    let strict = on_host("check", path, &["--strict"]);
    let line = assert_one_line_failure(&strict);
    assert!(
        line.contains("syscalls[0].names[1]: unknown syscall \"frobnicate\""),
        "{line}"
    );
}

#[test]
fn unknown_capability_is_an_option_error() {
    let run = on_host("check", "default", &["--cap-add", "SYS_WIZARD"]);
    let line = assert_one_line_failure(&run);
    assert!(line.contains("CAP_SYS_WIZARD"), "{line}");
}

#[test]
fn usage_errors_are_one_line_with_status_125() {
    for args in [
        &[][..],
        &["--frobnicate"][..],
        &["check"][..],
        &["check", "default", "--kernel", "6"][..],
        &["check", "default", "--arch", "mips"][..],
        &[
            "explain", "default", "read", "1", "2", "3", "4", "5", "6", "7",
        ][..],
    ] {
        let run = seclaunch(args);
        assert_one_line_failure(&run);
    }
}

#[test]
fn help_documents_the_exit_statuses() {
    for args in [
        &["--help"][..],
        &["check", "--help"][..],
        &["explain", "--help"][..],
    ] {
        let run = seclaunch(args);
        assert_eq!(run.status, Some(0));
        assert!(run.stdout.contains("Exit status:"), "{}", run.stdout);
        assert!(run.stdout.contains("125"), "{}", run.stdout);
    }
}

#[test]
fn completions_are_generated_for_bash() {
    let run = seclaunch(&["completions", "bash"]);
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
    assert!(run.stdout.contains("seclaunch"), "{}", run.stdout);
    assert!(run.stdout.contains("--cap-add"), "{}", run.stdout);
}

#[test]
fn compile_writes_the_program_as_sock_filter_array() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("default.bpf");
    let out = path.to_str().expect("a UTF-8 path");
    let run = on_host("compile", "default", &["-o", out]);
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    let bytes = std::fs::read(&path).expect("the filter was written");
    let program = default_program();
    assert_eq!(bytes.len(), 8 * program.len());
    assert_eq!(program_from_bytes(&bytes), program);
}

#[test]
fn compile_to_standard_output_writes_the_same_bytes() {
    let mut args = vec!["compile", "default", "-o", "-"];
    args.extend_from_slice(&HOST);
    let output = seclaunch_raw(&args);
    assert!(output.status.success());
    assert_eq!(program_from_bytes(&output.stdout), default_program());
}

#[test]
fn compile_disasm_prints_the_listing() {
    let run = on_host("compile", "default", &["--disasm"]);
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout, disasm(&default_program()));
}

#[test]
fn compile_of_unconfined_fails() {
    let run = on_host("compile", "unconfined", &["--disasm"]);
    let line = assert_one_line_failure(&run);
    assert!(line.contains("unconfined"), "{line}");
}

#[test]
fn clone3_gets_enosys_without_sys_admin() {
    let run = on_host("explain", "default", &["clone3"]);
    assert_eq!(decision(&run), "ERRNO(38) ENOSYS");
    assert!(
        run.stdout.contains("(clone3, ERRNO(38) ENOSYS)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("instructions executed: "),
        "{}",
        run.stdout
    );
}

#[test]
fn clone3_is_allowed_with_cap_add_sys_admin() {
    let run = on_host("explain", "default", &["clone3", "--cap-add", "SYS_ADMIN"]);
    assert_eq!(decision(&run), "ALLOW");
    assert!(run.stdout.contains("(clone3, ALLOW)"), "{}", run.stdout);
}

#[test]
fn personality_addr_no_randomize_gets_eperm() {
    let run = on_host("explain", "default", &["personality", "0x40000"]);
    assert_eq!(decision(&run), "ERRNO(1) EPERM");
    assert!(
        run.stdout.contains("no rule matched these arguments"),
        "{}",
        run.stdout
    );
}

#[test]
fn personality_query_is_allowed() {
    let run = on_host("explain", "default", &["personality", "0xffffffff"]);
    assert_eq!(decision(&run), "ALLOW");
}

#[test]
fn negative_argument_is_the_64_bit_twos_complement() {
    // -1 is 0xffffffffffffffff on x86_64, not the 0xffffffff the rule compares with.
    let run = on_host("explain", "default", &["personality", "-1"]);
    assert_eq!(decision(&run), "ERRNO(1) EPERM");
    assert!(run.stdout.contains("0xffffffffffffffff"), "{}", run.stdout);
}

#[test]
fn syscall_above_the_newest_gets_enosys_from_the_stub() {
    let run = on_host("explain", "default", &["1000"]);
    assert_eq!(decision(&run), "ERRNO(38) ENOSYS");
    assert!(
        run.stdout
            .contains("runc's ENOSYS stub: 1000 > newest syscall"),
        "{}",
        run.stdout
    );
}

#[test]
fn i386_exit_is_allowed() {
    let run = on_host("explain", "default", &["--abi", "i386", "exit"]);
    assert_eq!(decision(&run), "ALLOW");
    assert!(
        run.stdout.contains("call: 1 (exit) on i386"),
        "{}",
        run.stdout
    );
}

#[test]
fn aarch64_call_under_x86_64_resolution_is_killed_as_bad_arch() {
    let run = on_host("explain", "default", &["--abi", "aarch64", "read"]);
    assert_eq!(decision(&run), "KILL_THREAD");
    assert!(
        run.stdout.contains("ABI not in the filter"),
        "{}",
        run.stdout
    );
}

/// The explanation's `why:` line, without the label.
fn why(run: &Run) -> &str {
    let line = run.stdout.lines().find(|l| l.starts_with("why: "));
    line.and_then(|l| l.strip_prefix("why: "))
        .unwrap_or_else(|| panic!("no why line: {}", run.stdout))
}

#[test]
fn an_unconditional_rule_is_the_reason_for_its_syscall() {
    // The code merges syscalls whose tree is a bare return into one interval; the
    // explanation still names the rule.
    let run = on_host("explain", "default", &["read"]);
    assert_eq!(decision(&run), "ALLOW");
    let reason = why(&run);
    assert!(
        reason.starts_with("rule syscalls[0].names["),
        "{}",
        run.stdout
    );
    assert!(reason.ends_with("(read, ALLOW)"), "{}", run.stdout);
    assert!(!run.stdout.contains("skipped"), "{}", run.stdout);
    // A rule whose action is the bad-arch action is still a rule, and an unconditional
    // rule decides whatever a later conditional one for the syscall says.
    let path = scratch_file(
        "kill-read.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_KILL"},
            {"names": ["read"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let path = path.to_str().expect("a UTF-8 path");
    let run = on_host("explain", path, &["read", "1"]);
    assert_eq!(decision(&run), "KILL_THREAD");
    assert_eq!(why(&run), "rule syscalls[0].names[0] (read, KILL_THREAD)");
}

#[test]
fn a_call_of_an_abi_the_filter_lacks_is_bad_arch_even_when_that_is_the_default() {
    let path = scratch_file(
        "x86_64-only-kill.json",
        r#"{"defaultAction": "SCMP_ACT_KILL", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    let path = path.to_str().expect("a UTF-8 path");
    let run = on_host("explain", path, &["--abi", "x32", "read"]);
    assert_eq!(decision(&run), "KILL_THREAD");
    assert!(
        why(&run).starts_with("ABI not in the filter"),
        "{}",
        run.stdout
    );
    let run = on_host("explain", path, &["write"]);
    assert_eq!(decision(&run), "KILL_THREAD");
    assert_eq!(why(&run), "no rule: default action");
}

#[test]
fn explain_arch_sets_the_call_abi_without_abi() {
    let run = seclaunch(&[
        "explain",
        "default",
        "cacheflush",
        "--arch",
        "arm",
        "--kernel",
        "6.8",
    ]);
    assert_eq!(decision(&run), "ALLOW");
    assert!(run.stdout.contains("(cacheflush) on arm"), "{}", run.stdout);
}

#[test]
fn numeric_syscall_decides_as_its_name() {
    let by_number = on_host("explain", "default", &["435"]);
    assert_eq!(decision(&by_number), "ERRNO(38) ENOSYS");
    assert!(
        by_number.stdout.contains("call: 435 (clone3) on x86_64"),
        "{}",
        by_number.stdout
    );
    let by_hex = on_host("explain", "default", &["0x1b3"]);
    assert_eq!(by_hex.stdout, by_number.stdout);
}

#[test]
fn unknown_syscall_name_is_an_error() {
    let run = on_host("explain", "default", &["frobnicate"]);
    let line = assert_one_line_failure(&run);
    assert!(line.contains("\"frobnicate\""), "{line}");
}

#[test]
fn explain_of_unconfined_allows_everything() {
    let run = on_host("explain", "unconfined", &["reboot"]);
    assert_eq!(decision(&run), "ALLOW");
    assert!(run.stdout.contains("unconfined"), "{}", run.stdout);
}
