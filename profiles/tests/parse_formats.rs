//! moby's profile format, the OCI `linux.seccomp` object, and a whole OCI `config.json`.

use profiles::model::{Format, KernelVersion};
use profiles::parse::{parse_profile, parse_profile_as, ParseError, ParseOptions, Parsed};

const OPTIONS: ParseOptions = ParseOptions { strict: false };
const STRICT: ParseOptions = ParseOptions { strict: true };

fn ok(result: Result<Parsed, ParseError>) -> Parsed {
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn warnings(parsed: &Parsed) -> Vec<String> {
    parsed.warnings.iter().map(|w| w.to_string()).collect()
}

/// A runc `config.json` as `runc spec` writes it, cut down, with a profile.
const CONFIG: &str = r#"{
    "ociVersion": "1.2.0",
    "process": {"terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["sh"]},
    "root": {"path": "rootfs", "readonly": true},
    "hostname": "runc",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {
        "namespaces": [{"type": "pid"}, {"type": "mount"}],
        "maskedPaths": ["/proc/kcore"],
        "seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "listenerPath": "/run/agent.sock",
            "listenerMetadata": "meta",
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
            ]
        }
    }
}"#;

#[test]
fn a_bare_profile_reads_in_moby_format() {
    let parsed = ok(parse_profile(
        br#"{"defaultAction": "SCMP_ACT_ALLOW"}"#,
        &OPTIONS,
    ));
    assert_eq!(parsed.format, Format::Moby);
    assert_eq!(parsed.profile.default_action, "SCMP_ACT_ALLOW");
}

#[test]
fn a_whole_oci_config_reads_its_linux_seccomp_in_oci_format() {
    let parsed = ok(parse_profile(CONFIG.as_bytes(), &OPTIONS));
    assert_eq!(parsed.format, Format::Oci);
    let profile = &parsed.profile;
    assert_eq!(profile.default_action, "SCMP_ACT_ERRNO");
    assert_eq!(profile.default_errno_ret, Some(38));
    assert_eq!(profile.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
    assert_eq!(
        profile.flags,
        Some(vec!["SECCOMP_FILTER_FLAG_LOG".to_owned()])
    );
    assert_eq!(profile.listener_path, "/run/agent.sock");
    assert_eq!(profile.listener_metadata, "meta");
    assert_eq!(profile.syscalls.len(), 2);
    assert_eq!(profile.syscalls[0].names, ["read", "write"]);
    assert_eq!(profile.syscalls[1].args[0].value, 8);
    assert!(
        parsed.warnings.is_empty(),
        "the rest of the config is not reported"
    );
}

#[test]
fn the_same_config_reads_the_same_when_oci_format_is_asked_for() {
    let detected = ok(parse_profile(CONFIG.as_bytes(), &OPTIONS));
    let asked = ok(parse_profile_as(CONFIG.as_bytes(), &OPTIONS, Format::Oci));
    assert_eq!(detected, asked);
}

#[test]
fn a_config_is_recognised_by_ociversion_alone() {
    let err = parse_profile(br#"{"ociVersion": "1.0.2", "process": {}}"#, &OPTIONS);
    assert_eq!(err, Err(ParseError::MissingSeccomp));
}

#[test]
fn a_config_without_linux_seccomp_is_an_error() {
    let configs = [
        r#"{"ociVersion": "1.2.0"}"#,
        r#"{"linux": {}}"#,
        r#"{"linux": null}"#,
        r#"{"linux": {"seccomp": null}}"#,
        r#"{"linux": {"seccomp": {}}, "linux": null}"#,
        r#"{"linux": {"seccomp": {}, "seccomp": null}}"#,
    ];
    for config in configs {
        let err = parse_profile(config.as_bytes(), &OPTIONS).map(|p| p.profile);
        let message = err.map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err("the OCI config has no linux.seccomp object".into()),
            "{config}"
        );
    }
}

#[test]
fn config_keys_match_ignoring_case_like_the_profile_keys() {
    let config = br#"{"Linux": {"SECCOMP": {"defaultAction": "SCMP_ACT_LOG"}}}"#;
    let parsed = ok(parse_profile(config, &OPTIONS));
    assert_eq!(parsed.profile.default_action, "SCMP_ACT_LOG");
}

#[test]
fn repeated_linux_objects_are_decoded_over_each_other() {
    let config = br#"{"linux": {"seccomp": {"defaultAction": "SCMP_ACT_LOG"}},
                      "linux": {"namespaces": []},
                      "linux": {"seccomp": {"defaultErrnoRet": 5}}}"#;
    let parsed = ok(parse_profile(config, &OPTIONS));
    assert_eq!(parsed.profile.default_action, "SCMP_ACT_LOG");
    assert_eq!(parsed.profile.default_errno_ret, Some(5));
}

#[test]
fn errors_inside_a_config_are_located_from_its_top() {
    let config = br#"{"linux": {"seccomp": {"syscalls": [{"args": [{"index": -1}]}]}}}"#;
    let message = parse_profile(config, &OPTIONS).map_err(|e| e.to_string());
    let expected =
        "linux.seccomp.syscalls[0].args[0].index: expected an unsigned integer, found -1";
    assert_eq!(message, Err(expected.into()));
    let wrong = parse_profile(br#"{"linux": {"seccomp": []}}"#, &OPTIONS);
    let expected = "linux.seccomp: expected an object, found an array";
    assert_eq!(wrong.map_err(|e| e.to_string()), Err(expected.into()));
    let wrong = parse_profile(br#"{"linux": "x"}"#, &OPTIONS);
    let expected = "linux: expected an object, found a string";
    assert_eq!(wrong.map_err(|e| e.to_string()), Err(expected.into()));
}

#[test]
fn moby_only_keys_are_unknown_in_oci_format() {
    let json = br#"{"defaultAction": "SCMP_ACT_ERRNO",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
        "syscalls": [{"names": ["bpf"], "name": "x", "comment": "c", "action": "SCMP_ACT_ALLOW",
                      "includes": {"caps": ["CAP_BPF"]},
                      "excludes": {"minKernel": "4.8"}}]}"#;
    let oci = ok(parse_profile_as(json, &OPTIONS, Format::Oci));
    assert_eq!(oci.format, Format::Oci);
    assert!(oci.profile.arch_map.is_empty());
    let entry = &oci.profile.syscalls[0];
    assert_eq!((entry.name.as_str(), entry.comment.as_str()), ("", ""));
    assert_eq!(entry.includes, Default::default());
    assert_eq!(entry.excludes, Default::default());
    assert_eq!(
        warnings(&oci),
        [
            r#"unknown key "archMap" is ignored"#,
            r#"syscalls[0]: unknown key "name" is ignored"#,
            r#"syscalls[0]: unknown key "comment" is ignored"#,
            r#"syscalls[0]: unknown key "includes" is ignored"#,
            r#"syscalls[0]: unknown key "excludes" is ignored"#,
        ]
    );
    let strict = parse_profile_as(json, &STRICT, Format::Oci).map_err(|e| e.to_string());
    assert_eq!(strict, Err(r#"unknown key "archMap""#.into()));

    let moby = ok(parse_profile(json, &OPTIONS));
    assert_eq!(moby.format, Format::Moby);
    assert_eq!(
        moby.profile.arch_map[0].sub_architectures,
        ["SCMP_ARCH_X86"]
    );
    let entry = &moby.profile.syscalls[0];
    assert_eq!(entry.includes.caps, ["CAP_BPF"]);
    assert_eq!(
        entry.excludes.min_kernel,
        Some(KernelVersion {
            kernel: 4,
            major: 8
        })
    );
    assert!(moby.warnings.is_empty());
}

#[test]
fn moby_format_can_be_forced_on_a_document_that_looks_like_a_config() {
    let json = br#"{"defaultAction": "SCMP_ACT_LOG", "linux": {}}"#;
    let parsed = ok(parse_profile_as(json, &OPTIONS, Format::Moby));
    assert_eq!(parsed.format, Format::Moby);
    assert_eq!(parsed.profile.default_action, "SCMP_ACT_LOG");
    assert_eq!(warnings(&parsed), [r#"unknown key "linux" is ignored"#]);
}

#[test]
fn unknown_keys_inside_a_config_profile_are_located_from_the_config_top() {
    let config = br#"{"linux": {"seccomp": {"defaultAction": "SCMP_ACT_LOG", "arch": []}}}"#;
    let parsed = ok(parse_profile(config, &OPTIONS));
    assert_eq!(
        warnings(&parsed),
        [r#"linux.seccomp: unknown key "arch" is ignored"#]
    );
    let strict = parse_profile(config, &STRICT).map_err(|e| e.to_string());
    assert_eq!(strict, Err(r#"linux.seccomp: unknown key "arch""#.into()));
}
