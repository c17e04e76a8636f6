//! What the parser says about input it cannot take, and that no input makes it panic.

use profiles::json::{JsonError, MAX_DEPTH};
use profiles::parse::{parse_profile, ParseError, ParseOptions, Warning};

const OPTIONS: ParseOptions = ParseOptions { strict: false };
const STRICT: ParseOptions = ParseOptions { strict: true };

fn message(input: &[u8], options: &ParseOptions) -> String {
    match parse_profile(input, options) {
        Ok(parsed) => panic!("{}: parsed as {parsed:?}", String::from_utf8_lossy(input)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_inputs_give_these_exact_messages() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"",
            "malformed JSON at line 1 column 0: EOF while parsing a value",
        ),
        (
            b"   ",
            "malformed JSON at line 1 column 3: EOF while parsing a value",
        ),
        (
            b"{",
            "malformed JSON at line 1 column 1: EOF while parsing an object",
        ),
        (
            b"[[[[",
            "malformed JSON at line 1 column 4: EOF while parsing a list",
        ),
        (
            br#"{"a": "open"#,
            "malformed JSON at line 1 column 11: EOF while parsing a string",
        ),
        (
            br#"{"a": "b",}"#,
            "malformed JSON at line 1 column 11: trailing comma",
        ),
        (
            br#"{"a": [1,]}"#,
            "malformed JSON at line 1 column 10: trailing comma",
        ),
        (
            b"{} x",
            "malformed JSON at line 1 column 4: trailing characters",
        ),
        (
            b"{}{}",
            "malformed JSON at line 1 column 3: trailing characters",
        ),
        (
            b"{'a': 1}",
            "malformed JSON at line 1 column 2: key must be a string",
        ),
        (
            br#"{"a" 1}"#,
            "malformed JSON at line 1 column 6: expected `:`",
        ),
        (
            b"{\n  \"a\": tru\n}",
            "malformed JSON at line 3 column 0: expected ident",
        ),
        (
            br#"{"a": NaN}"#,
            "malformed JSON at line 1 column 7: expected value",
        ),
        (
            br#"{"a": 01}"#,
            "malformed JSON at line 1 column 8: invalid number",
        ),
        (
            br#"{"a": 1.}"#,
            "malformed JSON at line 1 column 9: invalid number",
        ),
        (
            br#"{"a": -}"#,
            "malformed JSON at line 1 column 8: invalid number",
        ),
        (
            br#"{"a": "\x"}"#,
            "malformed JSON at line 1 column 9: invalid escape",
        ),
        (
            b"\xEF\xBB\xBF{}",
            "malformed JSON at line 1 column 1: expected value",
        ),
        (
            b"{\"a\": \"\x01\"}",
            "malformed JSON at line 1 column 8: control character (\\u0000-\\u001F) found \
             while parsing a string",
        ),
        (
            b"{\"a\": \"tab\there\"}",
            "malformed JSON at line 1 column 11: control character (\\u0000-\\u001F) found \
             while parsing a string",
        ),
        (
            b"{\xff: 1}",
            "malformed JSON at line 1 column 2: key must be a string",
        ),
        (br#"[]"#, "expected an object, found an array"),
        (br#"5"#, "expected an object, found 5"),
        (
            br#"{"syscalls": [{"names": ["x"], "args": [{"index": -1}]}]}"#,
            "syscalls[0].args[0].index: expected an unsigned integer, found -1",
        ),
        (
            br#"{"syscalls": [{"errnoRet": 1.5}]}"#,
            "syscalls[0].errnoRet: expected an unsigned integer without fraction or exponent, \
             found 1.5",
        ),
        (
            br#"{"defaultErrnoRet": "1"}"#,
            "defaultErrnoRet: expected an unsigned integer, found a string",
        ),
        (
            br#"{"syscalls": [{"args": [{"valueTwo": 99999999999999999999}]}]}"#,
            "syscalls[0].args[0].valueTwo: number out of range, expected at most \
             18446744073709551615, found 1e20",
        ),
        (
            br#"{"syscalls": [{"excludes": {"minKernel": "3.12.1"}}]}"#,
            r#"syscalls[0].excludes.minKernel: invalid kernel version "3.12.1", expected a string "<kernel>.<major>" of two numbers from 0 to 255, not "0.0""#,
        ),
        (
            br#"{"linux": {}}"#,
            "the OCI config has no linux.seccomp object",
        ),
    ];
    for (input, expected) in cases {
        let shown = String::from_utf8_lossy(input);
        assert_eq!(message(input, &OPTIONS), *expected, "{shown}");
    }
}

#[test]
fn strict_mode_adds_these_messages() {
    let cases: &[(&[u8], &str)] = &[
        (br#"{"arch": []}"#, r#"unknown key "arch""#),
        (
            br#"{"syscalls": [{"errno_ret": 1}]}"#,
            r#"syscalls[0]: unknown key "errno_ret""#,
        ),
        (
            br#"{"syscalls": [{"includes": {"kernel": "4.8"}}]}"#,
            r#"syscalls[0].includes: unknown key "kernel""#,
        ),
        (
            b"{\"defaultAction\": \"\xff\"}",
            "invalid UTF-8 at line 1 column 20",
        ),
        (
            b"\n\n  {\"a\": \"ok\xc3\x28\"}",
            "invalid UTF-8 at line 3 column 12",
        ),
    ];
    for (input, expected) in cases {
        let shown = String::from_utf8_lossy(input);
        assert_eq!(message(input, &STRICT), *expected, "{shown}");
    }
}

#[test]
fn errors_carry_their_context_in_fields() {
    let err = parse_profile(br#"{"syscalls": [{"args": [{"op": 7}]}]}"#, &OPTIONS);
    let expected = ParseError::WrongType {
        path: "syscalls[0].args[0].op".into(),
        expected: "a string",
        found: "7".into(),
    };
    assert_eq!(err, Err(expected));
    let err = parse_profile(b"{\n\"a\": x}", &OPTIONS);
    assert!(matches!(
        err,
        Err(ParseError::Json(JsonError::Malformed { line: 2, .. }))
    ));
}

#[test]
fn long_keys_and_strings_are_cut_short_in_messages() {
    let key = "k".repeat(10_000);
    let input = format!(r#"{{"{key}": 1}}"#);
    let shown = message(input.as_bytes(), &STRICT);
    assert_eq!(shown, format!("unknown key {:?}...", "k".repeat(60)));
}

#[test]
fn invalid_utf8_inside_a_string_reads_as_the_replacement_character_as_in_go() {
    let parsed = parse_profile(b"{\"defaultAction\": \"SCMP_\xffACT\"}", &OPTIONS)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.profile.default_action, "SCMP_\u{FFFD}ACT");
    assert_eq!(
        parsed.warnings,
        [Warning::InvalidUtf8 {
            line: 1,
            column: 25
        }]
    );
    assert_eq!(
        parsed.warnings[0].to_string(),
        "invalid UTF-8 at line 1 column 25, read as U+FFFD"
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_a_clean_error() {
    let deep = "[".repeat(1_000_000);
    let expected = format!("JSON nested deeper than {MAX_DEPTH} levels at line 1 column 101");
    assert_eq!(message(deep.as_bytes(), &OPTIONS), expected);
    let ignored = format!(r#"{{"x": {}1{}}}"#, "[".repeat(200), "]".repeat(200));
    let err = parse_profile(ignored.as_bytes(), &OPTIONS);
    assert!(
        matches!(err, Err(ParseError::Json(JsonError::TooDeep { .. }))),
        "{err:?}"
    );
}

#[test]
fn nesting_up_to_the_limit_is_read() {
    let depth = MAX_DEPTH - 1;
    let input = format!(r#"{{"x": {}1{}}}"#, "[".repeat(depth), "]".repeat(depth));
    assert!(parse_profile(input.as_bytes(), &OPTIONS).is_ok());
}

#[test]
fn numbers_beyond_f64_are_refused_even_under_unknown_keys() {
    // Go skips the value of an unknown key without converting it; serde_json converts
    // every number. Refusing is the safe side of this difference.
    for input in [r#"{"x": 1e999}"#, r#"{"syscalls": [{"errnoRet": 1e999}]}"#] {
        let err = message(input.as_bytes(), &OPTIONS);
        assert!(err.ends_with(": number out of range"), "{err}");
    }
}

#[test]
fn a_huge_array_is_read_in_linear_time() {
    let names = vec![r#""read""#; 1_000_000].join(",");
    let input = format!(r#"{{"syscalls": [{{"names": [{names}]}}]}}"#);
    let parsed = parse_profile(input.as_bytes(), &OPTIONS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.profile.syscalls[0].names.len(), 1_000_000);
}

#[test]
fn many_unknown_keys_give_one_warning_each() {
    let members: Vec<String> = (0..100_000).map(|i| format!(r#""k{i}": [{{}}]"#)).collect();
    let input = format!("{{{}}}", members.join(","));
    let parsed = parse_profile(input.as_bytes(), &OPTIONS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.warnings.len(), 100_000);
}

/// A profile with every key, to mutate.
const SEED: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
  "flags": [], "listenerPath": "", "listenerMetadata": "",
  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1,
    "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_EQ"}],
    "comment": "c", "includes": {"caps": ["CAP_BPF"], "arches": ["amd64"]},
    "excludes": {"minKernel": "4.8"}}, {"name": "write"}]}"#;

/// A small xorshift generator: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    const PIECES: &[&[u8]] = &[
        b"{", b"}", b"[", b"]", b"\"", b",", b":", b"null", b"-1", b"1e999", b"\xff", b"\\",
    ];
    let at = rng.below(input.len() + 1);
    match rng.below(4) {
        0 if at < input.len() => input[at] = rng.next() as u8,
        1 => {
            let piece = PIECES[rng.below(PIECES.len())];
            input.splice(at..at, piece.iter().copied());
        }
        2 => input.truncate(at),
        _ if at < input.len() => {
            input.remove(at);
        }
        _ => {}
    }
}

#[test]
fn mutated_profiles_give_results_not_panics_and_strict_only_refuses_more() {
    let mut rng = Rng(0x5EC1_A0C4);
    for _ in 0..3_000 {
        let mut input = SEED.as_bytes().to_vec();
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut input);
        }
        // Either outcome is fine, but strict mode may only refuse more.
        let lenient = parse_profile(&input, &OPTIONS);
        if let Ok(strict) = parse_profile(&input, &STRICT) {
            let lenient = lenient.unwrap_or_else(|e| panic!("strict accepted, default: {e}"));
            assert_eq!(strict.profile, lenient.profile);
        }
    }
}
