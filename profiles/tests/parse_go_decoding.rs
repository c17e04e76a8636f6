//! The profile parser decodes as Go's `encoding/json` does into moby's types: one test
//! per rule, each with the JSON that shows it.

use profiles::model::{Arg, Format, KernelVersion, SyscallEntry};
use profiles::parse::{parse_profile, parse_profile_as, ParseOptions, Parsed, Warning};

fn parse(json: &str) -> Parsed {
    parse_profile(json.as_bytes(), &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn error(json: &str) -> String {
    match parse_profile(json.as_bytes(), &ParseOptions::default()) {
        Ok(parsed) => panic!("{json}: parsed as {parsed:?}"),
        Err(e) => e.to_string(),
    }
}

fn only_entry(parsed: &Parsed) -> &SyscallEntry {
    assert_eq!(parsed.profile.syscalls.len(), 1, "{parsed:?}");
    &parsed.profile.syscalls[0]
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn keys_match_their_fields_ignoring_case() {
    let parsed = parse(
        r#"{"DEFAULTACTION": "SCMP_ACT_ERRNO", "Syscalls": [{"NAMES": ["read"],
            "Action": "SCMP_ACT_ALLOW", "ARGS": [{"INDEX": 1, "VALUETWO": 2, "oP": "X"}]}]}"#,
    );
    assert_eq!(parsed.profile.default_action, "SCMP_ACT_ERRNO");
    let entry = only_entry(&parsed);
    assert_eq!(entry.names, ["read"]);
    assert_eq!(entry.action, "SCMP_ACT_ALLOW");
    let arg = Arg {
        index: 1,
        value: 0,
        value_two: 2,
        op: "X".into(),
    };
    assert_eq!(entry.args, [arg]);
    let first = &parsed.warnings[0];
    let case = Warning::KeyCase {
        path: "defaultAction".into(),
        key: "DEFAULTACTION".into(),
    };
    assert_eq!(*first, case);
    assert_eq!(
        first.to_string(),
        r#"defaultAction: key "DEFAULTACTION" matched ignoring case"#
    );
}

#[test]
fn long_s_matches_s_and_kelvin_sign_matches_k_as_in_unicode_simple_folding() {
    let parsed = parse(
        "{\"\u{17F}yscall\u{17F}\": [{\"names\": [\"read\"],
          \"includes\": {\"min\u{212A}ernel\": \"4.8\"}}]}",
    );
    let entry = only_entry(&parsed);
    assert_eq!(entry.names, ["read"]);
    assert_eq!(
        entry.includes.min_kernel,
        Some(KernelVersion {
            kernel: 4,
            major: 8
        })
    );
}

#[test]
fn dotless_i_does_not_match_i_because_it_has_no_simple_folding() {
    let parsed = parse("{\"syscalls\": [{\"args\": [{\"\u{131}ndex\": 3}]}]}");
    assert_eq!(only_entry(&parsed).args, [Arg::default()]);
    let unknown = Warning::UnknownKey {
        path: "syscalls[0].args[0]".into(),
        key: "\u{131}ndex".into(),
    };
    assert_eq!(parsed.warnings, [unknown]);
}

#[test]
fn unknown_keys_are_ignored_unless_strict() {
    let json = r#"{"defaultAction": "SCMP_ACT_ALLOW", "arch": ["x86"],
        "syscalls": [{"names": ["read"], "errno_ret": 5, "args": [{"idx": 1}]}]}"#;
    let parsed = parse(json);
    assert_eq!(only_entry(&parsed).errno_ret, None);
    let messages: Vec<String> = parsed.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        messages,
        [
            r#"unknown key "arch" is ignored"#,
            r#"syscalls[0]: unknown key "errno_ret" is ignored"#,
            r#"syscalls[0].args[0]: unknown key "idx" is ignored"#,
        ]
    );
    let strict = parse_profile(json.as_bytes(), &ParseOptions { strict: true });
    assert_eq!(
        strict.map_err(|e| e.to_string()),
        Err(r#"unknown key "arch""#.into())
    );
}

#[test]
fn strict_mode_names_the_location_of_an_unknown_key() {
    let json = r#"{"syscalls": [{"names": ["read"]}, {"names": ["write"], "errno_ret": 5}]}"#;
    let strict = parse_profile(json.as_bytes(), &ParseOptions { strict: true });
    let message = strict.map_err(|e| e.to_string());
    assert_eq!(
        message,
        Err(r#"syscalls[1]: unknown key "errno_ret""#.into())
    );
}

#[test]
fn a_repeated_string_key_takes_the_last_value() {
    let parsed = parse(r#"{"defaultAction": "SCMP_ACT_KILL", "defaultAction": "SCMP_ACT_LOG"}"#);
    assert_eq!(parsed.profile.default_action, "SCMP_ACT_LOG");
    assert_eq!(
        parsed.warnings,
        [Warning::DuplicateKey {
            path: "defaultAction".into()
        }]
    );
}

#[test]
fn a_key_repeated_many_times_warns_once() {
    let members = vec![r#""defaultAction": "SCMP_ACT_LOG""#; 10_000].join(",");
    let parsed = parse(&format!("{{{members}}}"));
    assert_eq!(parsed.warnings.len(), 1);
}

#[test]
fn null_after_a_string_leaves_the_string_as_go_does() {
    let parsed = parse(r#"{"defaultAction": "SCMP_ACT_LOG", "defaultAction": null}"#);
    assert_eq!(parsed.profile.default_action, "SCMP_ACT_LOG");
}

#[test]
fn null_after_an_errno_clears_it() {
    let parsed = parse(r#"{"defaultErrnoRet": 5, "defaultErrnoRet": null}"#);
    assert_eq!(parsed.profile.default_errno_ret, None);
}

#[test]
fn errno_fields_are_absent_unless_given() {
    let parsed = parse(r#"{"syscalls": [{"names": ["a"]}]}"#);
    assert_eq!(parsed.profile.default_errno_ret, None);
    assert_eq!(only_entry(&parsed).errno_ret, None);
    let parsed = parse(r#"{"defaultErrnoRet": 0, "syscalls": [{"errnoRet": 38}]}"#);
    assert_eq!(parsed.profile.default_errno_ret, Some(0));
    assert_eq!(only_entry(&parsed).errno_ret, Some(38));
}

#[test]
fn a_repeated_syscalls_array_is_decoded_over_the_earlier_entries() {
    // Go decodes element 0 of the second array into element 0 of the first: the
    // condition of the first entry stays and now restricts `read`.
    let parsed = parse(
        r#"{"syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}],
            "syscalls": [{"names": ["read"]}]}"#,
    );
    let entry = only_entry(&parsed);
    assert_eq!(entry.names, ["read"]);
    assert_eq!(entry.action, "SCMP_ACT_ALLOW");
    assert_eq!(
        entry.args,
        [Arg {
            index: 0,
            value: 8,
            value_two: 0,
            op: "SCMP_CMP_EQ".into()
        }]
    );
}

#[test]
fn a_shorter_repeated_array_leaves_elements_that_a_longer_one_reaches_again() {
    let parsed = parse(
        r#"{"syscalls": [{"names": ["a"]}, {"names": ["b"], "action": "SCMP_ACT_LOG"}],
            "syscalls": [{"names": ["c"]}],
            "syscalls": [{"names": ["d"]}, {"errnoRet": 3}]}"#,
    );
    let entries = &parsed.profile.syscalls;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].names, ["d"]);
    assert_eq!(entries[1].names, ["b"]);
    assert_eq!(entries[1].action, "SCMP_ACT_LOG");
    assert_eq!(entries[1].errno_ret, Some(3));
}

#[test]
fn a_null_string_element_over_a_left_element_keeps_it() {
    let parsed = parse(
        r#"{"architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "architectures": ["SCMP_ARCH_ARM"],
            "architectures": [null, null]}"#,
    );
    assert_eq!(
        parsed.profile.architectures,
        ["SCMP_ARCH_ARM", "SCMP_ARCH_X32"]
    );
}

#[test]
fn an_empty_array_or_null_starts_the_slice_afresh() {
    for reset in ["[]", "null"] {
        let parsed = parse(&format!(
            r#"{{"syscalls": [{{"names": ["a"]}}, {{"names": ["b"]}}],
                "syscalls": {reset},
                "syscalls": [{{}}, {{}}]}}"#
        ));
        assert_eq!(
            parsed.profile.syscalls,
            [SyscallEntry::default(), SyscallEntry::default()]
        );
    }
}

#[test]
fn a_repeated_includes_object_is_decoded_over_the_earlier_one() {
    let entry = |json: &str| only_entry(&parse(json)).clone();
    let merged = entry(
        r#"{"syscalls": [{"includes": {"caps": ["CAP_BPF"]}, "includes": {"arches": ["amd64"]}}]}"#,
    );
    assert_eq!(merged.includes.caps, ["CAP_BPF"]);
    assert_eq!(merged.includes.arches, ["amd64"]);
    let reset = entry(
        r#"{"syscalls": [{"excludes": {"caps": ["CAP_BPF"]}, "excludes": null,
                          "excludes": {"arches": ["amd64"]}}]}"#,
    );
    assert_eq!(reset.excludes.caps, Vec::<String>::new());
    assert_eq!(reset.excludes.arches, ["amd64"]);
}

#[test]
fn null_in_a_string_array_is_an_empty_string() {
    let parsed = parse(r#"{"syscalls": [{"names": ["read", null]}]}"#);
    assert_eq!(only_entry(&parsed).names, ["read", ""]);
}

#[test]
fn null_syscall_entry_is_refused_in_moby_format_because_moby_dereferences_it() {
    let message = error(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{}, null]}"#);
    assert_eq!(message, "syscalls[1]: expected an object, found null");
}

#[test]
fn null_syscall_entry_is_an_empty_entry_in_oci_format() {
    let json = br#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [null]}"#;
    let parsed = parse_profile_as(json, &ParseOptions::default(), Format::Oci)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.profile.syscalls, [SyscallEntry::default()]);
}

#[test]
fn null_argument_and_arch_map_elements_are_zero_values() {
    let parsed = parse(r#"{"archMap": [null], "syscalls": [{"args": [null]}]}"#);
    assert_eq!(parsed.profile.arch_map, [Default::default()]);
    assert_eq!(only_entry(&parsed).args, [Arg::default()]);
}

#[test]
fn null_means_absent_for_arrays_objects_and_optional_numbers() {
    let parsed = parse(
        r#"{"defaultAction": null, "defaultErrnoRet": null, "architectures": null,
            "archMap": null, "flags": null, "listenerPath": null, "listenerMetadata": null,
            "syscalls": [{"names": null, "name": null, "action": null, "errnoRet": null,
                          "args": null, "comment": null, "includes": null,
                          "excludes": {"caps": null, "arches": null, "minKernel": null}}]}"#,
    );
    assert_eq!(parsed.profile.syscalls, [SyscallEntry::default()]);
    let empty = profiles::model::Profile {
        syscalls: vec![SyscallEntry::default()],
        ..Default::default()
    };
    assert_eq!(parsed.profile, empty);
}

#[test]
fn null_argument_fields_keep_zero() {
    let parsed =
        parse(r#"{"syscalls": [{"args": [{"index": null, "value": null, "valueTwo": null}]}]}"#);
    assert_eq!(only_entry(&parsed).args, [Arg::default()]);
}

#[test]
fn flags_absent_null_and_empty_stay_apart() {
    let flags = |json: &str| parse(json).profile.flags;
    assert_eq!(flags("{}"), None);
    assert_eq!(flags(r#"{"flags": null}"#), None);
    assert_eq!(flags(r#"{"flags": []}"#), Some(vec![]));
    let tsync = strings(&["SECCOMP_FILTER_FLAG_TSYNC"]);
    assert_eq!(
        flags(r#"{"flags": ["SECCOMP_FILTER_FLAG_TSYNC"]}"#),
        Some(tsync)
    );
    assert_eq!(
        flags(r#"{"flags": ["SECCOMP_FILTER_FLAG_LOG"], "flags": null}"#),
        None
    );
    assert_eq!(
        flags(r#"{"flags": ["SECCOMP_FILTER_FLAG_LOG"], "flags": []}"#),
        Some(vec![])
    );
}

#[test]
fn unsigned_fields_take_the_whole_64_bit_range() {
    let parsed = parse(
        r#"{"defaultErrnoRet": 18446744073709551615, "syscalls": [{"errnoRet": 0,
            "args": [{"index": 18446744073709551615, "value": 18446744073709551615,
                      "valueTwo": 18446744073709551615}]}]}"#,
    );
    assert_eq!(parsed.profile.default_errno_ret, Some(u64::MAX));
    let arg = &only_entry(&parsed).args[0];
    assert_eq!(
        (arg.index, arg.value, arg.value_two),
        (u64::MAX, u64::MAX, u64::MAX)
    );
}

#[test]
fn numbers_go_refuses_for_unsigned_fields_are_errors() {
    let arg = |number: &str| {
        error(&format!(
            r#"{{"syscalls": [{{"args": [{{"value": {number}}}]}}]}}"#
        ))
    };
    let at = "syscalls[0].args[0].value";
    let cases = [
        ("-1", "expected an unsigned integer, found -1"),
        ("-0", "expected an unsigned integer, found -0.0"),
        (
            "1.0",
            "expected an unsigned integer without fraction or exponent, found 1.0",
        ),
        (
            "1e3",
            "expected an unsigned integer without fraction or exponent, found 1000.0",
        ),
        (
            "0.5",
            "expected an unsigned integer without fraction or exponent, found 0.5",
        ),
        (
            "18446744073709551616",
            "number out of range, expected at most 18446744073709551615, \
             found 1.8446744073709552e19",
        ),
        (
            "1e20",
            "number out of range, expected at most 18446744073709551615, found 1e20",
        ),
        (r#""5""#, "expected an unsigned integer, found a string"),
        ("true", "expected an unsigned integer, found true"),
        ("[1]", "expected an unsigned integer, found an array"),
    ];
    for (number, message) in cases {
        assert_eq!(arg(number), format!("{at}: {message}"), "{number}");
    }
}

#[test]
fn min_kernel_takes_two_numbers_up_to_255_with_leading_zeros() {
    let min_kernel = |text: &str| {
        let json = format!(r#"{{"syscalls": [{{"excludes": {{"minKernel": {text}}}}}]}}"#);
        only_entry(&parse(&json)).excludes.min_kernel
    };
    let version = |kernel, major| Some(KernelVersion { kernel, major });
    assert_eq!(min_kernel(r#""4.8""#), version(4, 8));
    assert_eq!(min_kernel(r#""0.50""#), version(0, 50));
    assert_eq!(min_kernel(r#""004.008""#), version(4, 8));
    assert_eq!(min_kernel(r#""255.255""#), version(255, 255));
    assert_eq!(min_kernel(r#""4\u002e8""#), version(4, 8));
    assert_eq!(min_kernel("null"), None);
}

#[test]
fn empty_min_kernel_is_version_zero_which_every_kernel_meets() {
    // moby's KernelVersion.UnmarshalJSON returns early on "", after Go has allocated
    // the pointer: the condition exists and is 0.0.
    let parsed = parse(r#"{"syscalls": [{"excludes": {"minKernel": ""}}]}"#);
    let zero = KernelVersion {
        kernel: 0,
        major: 0,
    };
    assert_eq!(only_entry(&parsed).excludes.min_kernel, Some(zero));
    let warning = &parsed.warnings[0];
    assert_eq!(
        warning.to_string(),
        "syscalls[0].excludes.minKernel: empty, read as 0.0, which every kernel meets"
    );
}

#[test]
fn empty_min_kernel_after_a_version_keeps_the_version() {
    let parsed = parse(r#"{"syscalls": [{"includes": {"minKernel": "5.4", "minKernel": ""}}]}"#);
    let five_four = KernelVersion {
        kernel: 5,
        major: 4,
    };
    assert_eq!(only_entry(&parsed).includes.min_kernel, Some(five_four));
}

#[test]
fn min_kernel_outside_moby_rules_is_an_error() {
    let expected =
        r#"expected a string "<kernel>.<major>" of two numbers from 0 to 255, not "0.0""#;
    let cases = [
        (r#""3""#, r#""3""#),
        (r#"".3""#, r#"".3""#),
        (r#""3.""#, r#""3.""#),
        (r#""3.12.1""#, r#""3.12.1""#),
        (r#""4.15abc""#, r#""4.15abc""#),
        (r#""0.0""#, r#""0.0""#),
        (r#""256.1""#, r#""256.1""#),
        (r#""+4.8""#, r#""+4.8""#),
        (r#"" 4.8""#, r#"" 4.8""#),
        ("3.12", "3.12"),
        ("4", "4"),
        ("true", "true"),
        (r#"["4.8"]"#, "an array"),
        ("{}", "an object"),
    ];
    for (text, found) in cases {
        let json = format!(r#"{{"syscalls": [{{"includes": {{"minKernel": {text}}}}}]}}"#);
        assert_eq!(
            error(&json),
            format!("syscalls[0].includes.minKernel: invalid kernel version {found}, {expected}"),
            "{text}"
        );
    }
}

#[test]
fn wrong_json_types_name_what_was_expected() {
    let cases = [
        ("[]", "expected an object, found an array"),
        (r#""profile""#, "expected an object, found a string"),
        (
            r#"{"defaultAction": 5}"#,
            "defaultAction: expected a string, found 5",
        ),
        (
            r#"{"architectures": "x"}"#,
            "architectures: expected an array, found a string",
        ),
        (
            r#"{"syscalls": {}}"#,
            "syscalls: expected an array, found an object",
        ),
        (
            r#"{"syscalls": ["read"]}"#,
            "syscalls[0]: expected an object, found a string",
        ),
        (
            r#"{"syscalls": [{"names": "read"}]}"#,
            "syscalls[0].names: expected an array, found a string",
        ),
        (
            r#"{"syscalls": [{"names": [1]}]}"#,
            "syscalls[0].names[0]: expected a string, found 1",
        ),
        (
            r#"{"syscalls": [{"args": [{"op": 1}]}]}"#,
            "syscalls[0].args[0].op: expected a string, found 1",
        ),
        (
            r#"{"syscalls": [{"includes": []}]}"#,
            "syscalls[0].includes: expected an object, found an array",
        ),
        (
            r#"{"syscalls": [{"excludes": {"caps": "CAP_SYS_ADMIN"}}]}"#,
            "syscalls[0].excludes.caps: expected an array, found a string",
        ),
        (
            r#"{"archMap": [{"subArchitectures": {}}]}"#,
            "archMap[0].subArchitectures: expected an array, found an object",
        ),
        (
            r#"{"flags": [false]}"#,
            "flags[0]: expected a string, found false",
        ),
        (
            r#"{"listenerPath": []}"#,
            "listenerPath: expected a string, found an array",
        ),
    ];
    for (json, message) in cases {
        assert_eq!(error(json), message, "{json}");
    }
}

#[test]
fn the_location_uses_the_canonical_spelling_of_keys() {
    let message = error(r#"{"SYSCALLS": [{}, {"ARGS": [{"Index": -1}]}]}"#);
    assert_eq!(
        message,
        "syscalls[1].args[0].index: expected an unsigned integer, found -1"
    );
}

#[test]
fn a_null_document_is_an_empty_profile() {
    let parsed = parse("null");
    assert_eq!(parsed.profile, Default::default());
    assert_eq!(parsed.format, Format::Moby);
}

#[test]
fn semantic_checks_are_left_to_resolution() {
    let parsed = parse(
        r#"{"defaultAction": "SCMP_ACT_NOTIFY", "architectures": ["SCMP_ARCH_X86"],
            "archMap": [{"architecture": "SCMP_ARCH_X86_64"}],
            "flags": ["SECCOMP_FILTER_FLAG_NOPE"],
            "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_NOPE",
                          "args": [{"index": 9, "op": "SCMP_CMP_NOPE"}]}]}"#,
    );
    let entry = only_entry(&parsed);
    assert_eq!(entry.name, "read");
    assert_eq!(entry.names, strings(&["write"]));
    assert_eq!(entry.args[0].index, 9);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}
