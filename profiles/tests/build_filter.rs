//! `build_filter`, which frees the document, the parsed profile and the rules as soon as
//! it can, builds what `build` builds: the same frame (program and flags) and the same
//! resolution but for the rules it drops, for the reference profiles; nothing for `{}`;
//! and the same message for every failure.

use std::borrow::Cow;
use std::path::Path;

use profiles::{build, build_filter, frame, Compiled, Options, Resolved};

const FOLDER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference-profiles"
);

/// A frame and the resolution (without its rules), nothing for `{}`, or the message.
type Outcome = Result<Option<(Vec<u8>, Resolved)>, String>;

/// The outcome each way builds.
fn both(bytes: &[u8], options: &Options) -> (Outcome, Outcome) {
    let outcome = |(mut resolved, compiled): (Resolved, Compiled)| {
        let frame = frame::of(&resolved, &compiled).expect("encodes");
        resolved.rules.clear();
        (frame, resolved)
    };
    let whole = build(bytes, "p.json", options).map(|built| built.filter.map(outcome));
    let lean = build_filter(Cow::Owned(bytes.to_vec()), "p.json", options);
    (
        whole.map_err(|e| e.to_string()),
        lean.map(|filter| filter.map(outcome))
            .map_err(|e| e.to_string()),
    )
}

#[test]
fn reference_profiles_build_the_same_frame() {
    let folder = Path::new(FOLDER);
    if !folder.is_dir() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "reference profiles missing at {FOLDER}"
        );
        eprintln!("skipped: reference profiles missing at {FOLDER}");
        return;
    }
    let mut built = 0;
    for file in std::fs::read_dir(folder).expect("reads the folder") {
        let path = file.expect("lists the folder").path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("reads the profile");
        for strict in [false, true] {
            let options = Options {
                strict,
                ..Options::for_this_host()
            };
            let (whole, lean) = both(&bytes, &options);
            assert_eq!(whole, lean, "{} (strict: {strict})", path.display());
            built += usize::from(matches!(whole, Ok(Some(_))));
        }
    }
    assert!(built >= 6, "only {built} reference builds made a filter");
}

#[test]
fn documents_that_fail_or_ask_for_nothing_agree() {
    let entry = |names: &str, action: &str, args: &str| {
        format!("{{\"names\": [{names}], \"action\": \"{action}\", \"args\": [{args}]}}")
    };
    let profile = |entries: &[String]| {
        format!(
            "{{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"listenerPath\": \"\", \"syscalls\": [{}]}}",
            entries.join(", ")
        )
    };
    let bad_index = r#"{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}"#;
    let twice = r#"{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}"#;
    let equal = r#"{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}"#;
    let mut documents: Vec<Vec<u8>> = [
        "{}",
        "",
        "[1]",
        "{\"defaultAction\": \"SCMP_ACT_NOPE\"}",
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 99999}",
    ]
    .iter()
    .map(|d| d.as_bytes().to_vec())
    .collect();
    let sets: [Vec<String>; 9] = [
        vec![entry("\"read\"", "SCMP_ACT_ALLOW", "")],
        vec![entry("\"nosuchcall\"", "SCMP_ACT_ALLOW", "")],
        vec![entry("\"read\"", "SCMP_ACT_ALLOW", bad_index)],
        // A compile error in an early entry, a resolution error in a later one: build
        // reports the later one, since it resolves everything first.
        vec![
            entry("\"read\"", "SCMP_ACT_ALLOW", bad_index),
            entry("\"write\"", "SCMP_ACT_NOPE", ""),
        ],
        vec![
            entry("\"nosuchcall\"", "SCMP_ACT_ALLOW", ""),
            entry("\"write\"", "SCMP_ACT_NOTIFY", ""),
        ],
        vec![
            entry("\"read\"", "SCMP_ACT_ALLOW", bad_index),
            entry("\"openat\"", "SCMP_ACT_NOTIFY", ""),
        ],
        // Two conditions on one argument split the rule in two; an unconditional rule
        // for the same syscall then replaces them.
        vec![
            entry("\"read\"", "SCMP_ACT_ALLOW", twice),
            entry("\"read\"", "SCMP_ACT_LOG", ""),
            entry("\"write\"", "SCMP_ACT_ALLOW", ""),
        ],
        // The same comparison with another action: the database refuses it.
        vec![
            entry("\"read\"", "SCMP_ACT_ALLOW", equal),
            entry("\"read\"", "SCMP_ACT_LOG", equal),
        ],
        vec![
            entry("\"read\", \"nosuchcall\", \"write\"", "SCMP_ACT_ALLOW", ""),
            entry("\"close\"", "SCMP_ACT_ERRNO", ""),
        ],
    ];
    documents.extend(sets.iter().map(|set| profile(set).into_bytes()));
    let mut outcomes = Vec::new();
    let mut messages = Vec::new();
    for document in &documents {
        for strict in [false, true] {
            let options = Options {
                strict,
                ..Options::for_this_host()
            };
            let (whole, lean) = both(document, &options);
            assert_eq!(
                whole,
                lean,
                "{:?} (strict: {strict})",
                String::from_utf8_lossy(document)
            );
            if let Err(message) = &whole {
                messages.push(message.clone());
            }
            outcomes.push(match whole {
                Ok(Some(_)) => "filter",
                Ok(None) => "none",
                Err(_) => "error",
            });
        }
    }
    // The list covers each outcome, so agreement is not only agreement on one kind.
    for outcome in ["filter", "none", "error"] {
        assert!(outcomes.contains(&outcome), "no document gave {outcome}");
    }
    // And a failure of every stage: a resolution error in a later entry than a compile
    // error (build, which resolves everything first, reports the resolution error);
    // runc's checks of the rules as a whole; the database's refusal; an out-of-range
    // index, which runc checks only as the rule reaches libseccomp.
    let wanted = [
        "syscalls[1].action",
        "cannot be used for write",
        "listenerPath is not set",
        "the same comparison and another action",
        "syscalls[0].args[0].index",
    ];
    for wanted in wanted {
        assert!(
            messages.iter().any(|m| m.contains(wanted)),
            "no message names {wanted}: {messages:#?}"
        );
    }
}
