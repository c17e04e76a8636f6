//! The real profiles Docker and Podman ship load, with the values they hold.
//!
//! They are read from the shared reference folder beside the repository, never copied
//! into it. Without the folder the tests are skipped, except under CI (`CI=true`), where
//! a missing folder is a failure.

use std::path::{Path, PathBuf};

use profiles::model::{Format, KernelVersion, Profile};
use profiles::parse::{parse_profile, ParseOptions, Parsed, Warning};

const FOLDER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference-profiles"
);

/// The folder, or `None` (with a note on stderr) when it is missing outside CI.
fn folder() -> Option<PathBuf> {
    let path = Path::new(FOLDER).to_path_buf();
    if path.is_dir() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("reference profiles missing at {FOLDER}");
    }
    eprintln!("skipped: reference profiles missing at {FOLDER}");
    None
}

fn load(name: &str) -> Option<Parsed> {
    let path = folder()?.join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = parse_profile(&bytes, &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(parsed)
}

fn entry_index(profile: &Profile, first_name: &str, nth: usize) -> usize {
    let found = profile
        .syscalls
        .iter()
        .enumerate()
        .filter(|(_, e)| e.names[0] == first_name);
    found
        .map(|(i, _)| i)
        .nth(nth)
        .unwrap_or_else(|| panic!("no entry {nth} for {first_name}"))
}

#[test]
fn every_reference_profile_loads_in_moby_format() {
    let Some(folder) = folder() else { return };
    let mut count = 0;
    for file in std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{FOLDER}: {e}")) {
        let path = file.unwrap_or_else(|e| panic!("{FOLDER}: {e}")).path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let parsed = parse_profile(&bytes, &ParseOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(parsed.format, Format::Moby, "{}", path.display());
        assert!(!parsed.profile.syscalls.is_empty(), "{}", path.display());
        assert!(!parsed.profile.arch_map.is_empty(), "{}", path.display());
        count += 1;
    }
    assert!(
        count >= 2,
        "expected the Docker and Podman profiles in {FOLDER}"
    );
}

#[test]
fn docker_default_profile_holds_its_known_values() {
    let Some(parsed) = load("docker-default.json") else {
        return;
    };
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let profile = &parsed.profile;
    assert_eq!(profile.default_action, "SCMP_ACT_ERRNO");
    assert_eq!(profile.default_errno_ret, Some(1));
    assert_eq!(profile.flags, None);
    assert!(profile.architectures.is_empty());

    assert_eq!(profile.arch_map.len(), 9);
    assert_eq!(profile.arch_map[0].architecture, "SCMP_ARCH_X86_64");
    assert_eq!(
        profile.arch_map[0].sub_architectures,
        ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    );
    let last = &profile.arch_map[8];
    assert_eq!(last.architecture, "SCMP_ARCH_LOONGARCH64");
    assert!(
        last.sub_architectures.is_empty(),
        "subArchitectures is null there"
    );

    assert_eq!(profile.syscalls.len(), 33);
    let allowed = &profile.syscalls[0];
    assert_eq!(allowed.names.len(), 361);
    assert_eq!(allowed.names[..3], ["accept", "accept4", "access"]);
    assert_eq!(allowed.action, "SCMP_ACT_ALLOW");

    let ptrace = &profile.syscalls[1];
    assert_eq!(
        ptrace.names,
        ["process_vm_readv", "process_vm_writev", "ptrace"]
    );
    assert_eq!(
        ptrace.includes.min_kernel,
        Some(KernelVersion {
            kernel: 4,
            major: 8
        })
    );

    let clone = &profile.syscalls[entry_index(profile, "clone", 0)];
    assert_eq!(clone.args[0].value, 2_114_060_288);
    assert_eq!(clone.args[0].op, "SCMP_CMP_MASKED_EQ");
    assert_eq!(clone.excludes.caps, ["CAP_SYS_ADMIN"]);
    assert_eq!(clone.excludes.arches, ["s390", "s390x"]);
    let s390_clone = &profile.syscalls[entry_index(profile, "clone", 1)];
    assert_eq!(s390_clone.args[0].index, 1);
    assert_eq!(s390_clone.includes.arches, ["s390", "s390x"]);
    assert_eq!(
        s390_clone.comment,
        "s390 parameter ordering for clone is different"
    );

    let clone3 = &profile.syscalls[entry_index(profile, "clone3", 0)];
    assert_eq!(
        (clone3.action.as_str(), clone3.errno_ret),
        ("SCMP_ACT_ERRNO", Some(38))
    );

    let socket = &profile.syscalls[entry_index(profile, "socket", 0)];
    assert_eq!(
        (socket.args[0].value, socket.args[0].op.as_str()),
        (38, "SCMP_CMP_LT")
    );
}

#[test]
fn podman_default_profile_loads_with_its_podman_only_keys_ignored() {
    let Some(parsed) = load("podman-default.json") else {
        return;
    };
    // Podman's `defaultErrno` and per-entry `errno` take errno names; Docker ignores them.
    let unknown: Vec<(&str, &str)> = parsed
        .warnings
        .iter()
        .map(|w| match w {
            Warning::UnknownKey { path, key } => (path.as_str(), key.as_str()),
            other => panic!("unexpected warning: {other}"),
        })
        .collect();
    assert_eq!(
        unknown[..2],
        [("", "defaultErrno"), ("syscalls[0]", "errno")]
    );
    assert_eq!(unknown.len(), 15);
    assert!(unknown[1..].iter().all(|&(_, key)| key == "errno"));
    let profile = &parsed.profile;
    assert_eq!(profile.default_action, "SCMP_ACT_ERRNO");
    assert_eq!(profile.default_errno_ret, Some(38));
    assert_eq!(profile.arch_map.len(), 7);
    assert_eq!(profile.arch_map[6].sub_architectures, ["SCMP_ARCH_S390"]);
    assert_eq!(profile.syscalls.len(), 40);
    assert_eq!(profile.syscalls[1].names.len(), 374);

    let denied = &profile.syscalls[0];
    assert_eq!(denied.names[0], "bdflush");
    assert_eq!(
        (denied.action.as_str(), denied.errno_ret),
        ("SCMP_ACT_ERRNO", Some(1))
    );

    let bpf_denied = &profile.syscalls[36];
    assert_eq!(bpf_denied.names, ["bpf"]);
    assert_eq!(bpf_denied.excludes.caps, ["CAP_SYS_ADMIN", "CAP_BPF"]);
    assert!(
        bpf_denied.includes.caps.is_empty(),
        "includes is {{}} there"
    );
    let audit_socket = &profile.syscalls[32];
    assert_eq!(audit_socket.errno_ret, Some(22));
    assert_eq!(audit_socket.excludes.caps, ["CAP_AUDIT_WRITE"]);
}

#[test]
fn older_docker_default_profile_has_no_default_errno() {
    let Some(parsed) = load("docker-20.10.24-default.json") else {
        return;
    };
    assert_eq!(parsed.profile.default_errno_ret, None);
    assert_eq!(parsed.profile.syscalls.len(), 27);
    assert_eq!(parsed.profile.syscalls[1].names, ["ptrace"]);
}

#[test]
fn errno199_variant_differs_from_docker_default_only_in_its_default_errno() {
    let (Some(default), Some(variant)) = (
        load("docker-default.json"),
        load("docker-default-errno199.json"),
    ) else {
        return;
    };
    assert_eq!(variant.profile.default_errno_ret, Some(199));
    let restored = Profile {
        default_errno_ret: Some(1),
        ..variant.profile
    };
    assert_eq!(restored, default.profile);
}
