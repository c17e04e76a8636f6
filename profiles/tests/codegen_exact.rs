//! The exact program generated for small profiles: the dispatch by binary search over
//! intervals of constant decision, the merging of neighbouring syscalls that decide
//! alike, argument trees, runc's ENOSYS stub and the x32 guard.

use profiles::arch::Abi;
use profiles::bpf::disasm;
use profiles::caps::CapSet;
use profiles::model::KernelVersion;
use profiles::{build, Options, ResolveOptions};

fn listing(profile: &str) -> String {
    let options = Options {
        resolve: ResolveOptions {
            caps: CapSet::docker_default(),
            native: Abi::X86_64,
            kernel: KernelVersion {
                kernel: 6,
                major: 8,
            },
        },
        strict: false,
    };
    let built = build(profile.as_bytes(), "test", &options).expect("builds");
    disasm(&built.filter.expect("a filter").1.program)
}

#[test]
fn neighbouring_allowed_syscalls_share_one_interval_and_arguments_get_a_tree() {
    let profile = r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["read", "write", "close"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}"#;
    let expected = "\
0000: ld [4]  ; arch
0001: jeq #0xc000003e, 3, 2
0002: ret #0x00000000
0003: ld [0]  ; nr
0004: jge #0x88, 13, 5
0005: jge #0x3, 7, 6
0006: jge #0x2, 18, 17
0007: jge #0x4, 8, 17
0008: jge #0x87, 9, 18
0009: ld [20]  ; args[0].hi
0010: jeq #0x0, 11, 18
0011: ld [16]  ; args[0].lo
0012: jeq #0x8, 17, 18
0013: jge #0x80000000, 15, 14
0014: jge #0x40000000, 20, 19
0015: jge #0xc0000000, 16, 19
0016: jge #0xffffffff, 18, 20
0017: ret #0x7fff0000
0018: ret #0x00050001
0019: ret #0x00050026
0020: ret #0x00000000
";
    // read (0) and write (1) are one interval; open (2) is the default; close (3) is
    // allowed; personality (135, 0x87) has its tree; above 135 runc's stub answers
    // ENOSYS; x32 numbers (bit 30) are a bad arch, except -1. Every search leaf and
    // tree leaf jumps to one shared return per value, placed after the search.
    assert_eq!(listing(profile), expected);
}

#[test]
fn a_default_that_allows_needs_no_stub_and_denials_are_single_intervals() {
    let profile = r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["kexec_load", "reboot"], "action": "SCMP_ACT_ERRNO"}]}"#;
    // kexec_load (246, 0xf6) and reboot (169, 0xa9) are each one interval, and both
    // jump to the one shared EPERM return; nothing returns ENOSYS (0x00050026).
    let expected = "\
0000: ld [4]  ; arch
0001: jeq #0xc000003e, 3, 2
0002: ret #0x00000000
0003: ld [0]  ; nr
0004: jge #0xf6, 7, 5
0005: jge #0xa9, 6, 10
0006: jge #0xaa, 10, 11
0007: jge #0x40000000, 9, 8
0008: jge #0xf7, 10, 11
0009: jge #0xffffffff, 10, 12
0010: ret #0x7fff0000
0011: ret #0x00050001
0012: ret #0x00000000
";
    assert_eq!(listing(profile), expected);
}
