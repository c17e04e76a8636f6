//! The streaming fast path decodes exactly as the tree decoder does, wherever it decodes
//! at all, and it does decode the profiles people have.
//!
//! Every document here goes through both decoders in every mode (lenient and strict;
//! the format detected, moby's asked for, OCI's asked for), and the fast path's profile,
//! format and warnings must equal the tree decoder's whenever it returns one.

use std::path::Path;

use profiles::model::Format;
use profiles::parse::{fast_path_agrees, takes_fast_path, ParseOptions};

const MODES: [Option<Format>; 3] = [None, Some(Format::Moby), Some(Format::Oci)];

fn options(strict: bool) -> ParseOptions {
    ParseOptions { strict }
}

/// Both decoders agree on `doc` in every mode; returns in how many modes the fast path
/// decoded it.
fn agrees(doc: &[u8]) -> usize {
    let mut fast = 0;
    for strict in [false, true] {
        for asked in MODES {
            assert!(
                fast_path_agrees(doc, &options(strict), asked),
                "strict {strict}, asked {asked:?}: {}",
                String::from_utf8_lossy(doc)
            );
            fast += usize::from(takes_fast_path(doc, &options(strict), asked));
        }
    }
    fast
}

#[test]
fn shipped_and_reference_profiles_take_the_fast_path() {
    let default = profiles::DEFAULT_PROFILE.as_bytes();
    // Every mode but strict OCI, which refuses moby's keys (archMap, comment, includes).
    assert_eq!(agrees(default), 5, "the embedded default");
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference-profiles");
    let Ok(listing) = std::fs::read_dir(&folder) else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "reference profiles missing at {}",
            folder.display()
        );
        eprintln!(
            "skipped: reference profiles missing at {}",
            folder.display()
        );
        return;
    };
    let mut seen = 0;
    for file in listing {
        let path = file.expect("a directory entry").path();
        let bytes = std::fs::read(&path).expect("a readable profile");
        let lenient = takes_fast_path(&bytes, &options(false), None);
        assert!(lenient, "{} takes the tree decoder", path.display());
        agrees(&bytes);
        seen += 1;
    }
    assert!(seen >= 2, "only {seen} reference profiles");
}

/// Documents at the corners of Go's decoding rules, each read by both decoders.
const CORNERS: &[&str] = &[
    "null",
    "{}",
    "[]",
    "1",
    r#""text""#,
    r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#,
    r#"{"defaultAction": null, "defaultErrnoRet": null}"#,
    r#"{"defaultAction": "A", "defaultAction": "B", "defaultAction": "C"}"#,
    r#"{"DEFAULTACTION": "SCMP_ACT_ALLOW", "defaultaction": "SCMP_ACT_LOG"}"#,
    r#"{"ſyscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    r#"{"syscalls": [{"names": ["a", "b", "c"]}], "syscalls": [{"names": ["d"]}]}"#,
    r#"{"syscalls": [{"names": ["a", "b"]}, {"action": "X"}], "syscalls": [{"names": null}, {}]}"#,
    r#"{"syscalls": [{"names": ["a"]}], "syscalls": [], "syscalls": [{}]}"#,
    r#"{"syscalls": [null, {"names": ["read"]}]}"#,
    r#"{"syscalls": [{"names": ["read"]}], "syscalls": [null]}"#,
    r#"{"syscalls": null}"#,
    r#"{"syscalls": [{"names": ["read", null, "write"]}]}"#,
    r#"{"syscalls": [{"names": ["read"], "names": ["x", null]}]}"#,
    r#"{"syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_NOPE"}]}"#,
    r#"{"syscalls": [{"names": ["frobnicate", "read"], "comment": "a", "comment": null}]}"#,
    r#"{"syscalls": [{"args": [{"index": 1, "value": 2, "valueTwo": 3, "op": "SCMP_CMP_EQ"}]}]}"#,
    r#"{"syscalls": [{"args": [{"index": 1}], "args": [{"value": 5}, {"op": "x"}]}]}"#,
    r#"{"syscalls": [{"args": [{"index": 18446744073709551615}]}]}"#,
    r#"{"syscalls": [{"args": [{"index": 18446744073709551616}]}]}"#,
    r#"{"syscalls": [{"args": [{"index": -1}]}]}"#,
    r#"{"syscalls": [{"args": [{"index": 1.0}]}]}"#,
    r#"{"syscalls": [{"args": [{"index": "1"}]}]}"#,
    r#"{"syscalls": [{"args": [null, {"index": null}]}]}"#,
    r#"{"syscalls": [{"errnoRet": 38}, {"errnoRet": null}, {"errnoRet": 1e3}]}"#,
    r#"{"syscalls": [{"includes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["amd64"]}}]}"#,
    r#"{"syscalls": [{"includes": {"minKernel": "4.8"}, "excludes": {"minKernel": ""}}]}"#,
    r#"{"syscalls": [{"excludes": {"minKernel": "4.8"}, "excludes": {"minKernel": ""}}]}"#,
    r#"{"syscalls": [{"excludes": {"minKernel": ""}, "excludes": {"minKernel": "5.1"}}]}"#,
    r#"{"syscalls": [{"includes": {"minKernel": "0.0"}}]}"#,
    r#"{"syscalls": [{"includes": {"minKernel": "4.x"}}]}"#,
    r#"{"syscalls": [{"includes": {"minKernel": 4}}]}"#,
    r#"{"syscalls": [{"includes": null, "excludes": {"caps": null}}]}"#,
    r#"{"syscalls": [{"includes": {"caps": ["A"]}, "includes": {"arches": ["B"]}}]}"#,
    r#"{"syscalls": [{"includes": []}]}"#,
    r#"{"archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}]}"#,
    r#"{"archMap": [{"subArchitectures": ["A", "B"]}], "archMap": [{"architecture": "C"}]}"#,
    r#"{"architectures": ["SCMP_ARCH_X86_64"], "archMap": null, "flags": []}"#,
    r#"{"flags": null}"#,
    r#"{"flags": ["SECCOMP_FILTER_FLAG_LOG"], "flags": []}"#,
    r#"{"listenerPath": "/run/agent.sock", "listenerMetadata": "meta"}"#,
    r#"{"unknown": {"deep": [[[[{"x": [1, 2.5, -3, true, null, "s"]}]]]]}, "defaultAction": "A"}"#,
    r#"{"errno_ret": 1, "defaultAction": "SCMP_ACT_ERRNO"}"#,
    r#"{"defaultAction": "A\u0041\n\"", "syscalls": [{"names": ["re\u0061d"]}]}"#,
    r#"{"d\u0065faultAction": "SCMP_ACT_ERRNO"}"#,
    r#"{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}}"#,
    r#"{"defaultAction": "SCMP_ACT_ALLOW", "LINUX": {"seccomp": null}}"#,
    r#"{"linux": {"seccomp": {"syscalls": [{"names": ["read"], "includes": {}}]}}}"#,
    r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]} "#,
    r#"{"defaultAction": "SCMP_ACT_ERRNO"} x"#,
    r#"{"defaultAction": "SCMP_ACT_ERRNO",}"#,
    r#"{"defaultAction": "SCMP_ACT_ERRNO""#,
    r#"{"syscalls": [{"names": ["read"]}], "defaultAction": 5}"#,
    r#"{"defaultAction": 5, "syscalls": [{"names": ["read"]]}"#,
    r#"{"syscalls": {"names": ["read"]}}"#,
    r#"{"syscalls": ["read"]}"#,
    r#"{"syscalls": [{"names": "read"}]}"#,
    r#"{"syscalls": [{"names": [["read"]]}]}"#,
    r#"{"syscalls": [{"action": true}]}"#,
];

#[test]
fn corner_documents_decode_alike() {
    let mut fast = 0;
    for doc in CORNERS {
        fast += agrees(doc.as_bytes());
    }
    // Most corners are well-formed profiles the fast path decodes itself.
    assert!(
        fast > CORNERS.len() * 2,
        "the fast path decoded {fast} times"
    );
}

#[test]
fn deep_nesting_under_an_unknown_key_decodes_alike() {
    let max = profiles::json::MAX_DEPTH;
    for depth in [max - 2, max - 1, max, max + 1, 127, 129] {
        let doc = format!(
            r#"{{"x": {}{}, "defaultAction": "A"}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        agrees(doc.as_bytes());
    }
}

/// A small deterministic generator (xorshift), so that a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Bytes that make or break JSON and Go's decoding when dropped into a profile.
const PIECES: &[&str] = &[
    "null",
    "[]",
    "{}",
    "\"\"",
    "0",
    "-1",
    "1.5",
    "18446744073709551616",
    ",",
    ":",
    "\"",
    "[",
    "]",
    "{",
    "}",
    "\"names\"",
    "\"NAMES\"",
    "\"minKernel\"",
    "\"4.8\"",
    "\"x\"",
    "\\u0041",
    " ",
];

#[test]
fn mutated_profiles_decode_alike() {
    let base = profiles::DEFAULT_PROFILE.as_bytes();
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let mut fast = 0;
    let rounds = 600;
    for _ in 0..rounds {
        let mut doc = base.to_vec();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(doc.len());
            match rng.below(3) {
                0 => {
                    let end = (at + 1 + rng.below(24)).min(doc.len());
                    doc.drain(at..end);
                }
                1 => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    doc.splice(at..at, piece.bytes());
                }
                _ => {
                    let end = (at + 1 + rng.below(8)).min(doc.len());
                    let piece = PIECES[rng.below(PIECES.len())];
                    doc.splice(at..end, piece.bytes());
                }
            }
        }
        fast += usize::from(agrees(&doc) > 0);
    }
    // Mutations inside strings and comments keep the profile decodable.
    assert!(
        fast > rounds / 10,
        "the fast path decoded {fast} of {rounds}"
    );
}
