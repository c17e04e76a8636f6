//! A 100 MB profile is read whole. It is the only test in this binary, so its memory
//! (a few times the input) is not taken while other parser tests run.

use profiles::parse::{parse_profile, ParseOptions};

const ENTRY: &str = r#"{"names": ["read", "write", "openat"], "action": "SCMP_ACT_ALLOW",
  "args": [{"index": 0, "value": 1, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
  "comment": "one rule of many", "includes": {"caps": ["CAP_SYS_ADMIN"]}}"#;

#[test]
fn a_hundred_megabyte_profile_is_read() {
    const SIZE: usize = 100 * 1024 * 1024;
    let count = SIZE / (ENTRY.len() + 1) + 1;
    let mut input = String::with_capacity(SIZE + 1024);
    input.push_str(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": ["#);
    for i in 0..count {
        if i > 0 {
            input.push(',');
        }
        input.push_str(ENTRY);
    }
    input.push_str("]}");
    assert!(input.len() >= SIZE);

    let parsed = parse_profile(input.as_bytes(), &ParseOptions { strict: true })
        .unwrap_or_else(|e| panic!("{e}"));
    let syscalls = &parsed.profile.syscalls;
    assert_eq!(syscalls.len(), count);
    assert_eq!(syscalls[count - 1].names, ["read", "write", "openat"]);
    assert_eq!(syscalls[count - 1].includes.caps, ["CAP_SYS_ADMIN"]);
}
