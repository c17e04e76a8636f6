//! Feeds arbitrary bytes to the profile parser in every mode. Beyond "no panic", it
//! checks that strict mode only refuses more: whatever it accepts, the default mode
//! accepts too, with the same result and no warning about unknown keys or UTF-8.

#![no_main]

use libfuzzer_sys::fuzz_target;
use profiles::model::Format;
use profiles::parse::{parse_profile, parse_profile_as, ParseOptions, Parsed, Warning};

fn parse_all(data: &[u8], options: &ParseOptions) -> [Result<Parsed, String>; 3] {
    [
        parse_profile(data, options),
        parse_profile_as(data, options, Format::Moby),
        parse_profile_as(data, options, Format::Oci),
    ]
    .map(|result| result.map_err(|e| e.to_string()))
}

/// A warning for something strict mode refuses.
fn refused_when_strict(warning: &Warning) -> bool {
    use Warning::{InvalidUtf8, UnknownKey};
    matches!(warning, UnknownKey { .. } | InvalidUtf8 { .. })
}

fuzz_target!(|data: &[u8]| {
    let lenient = parse_all(data, &ParseOptions { strict: false });
    let strict = parse_all(data, &ParseOptions { strict: true });
    for (lenient, strict) in lenient.iter().zip(&strict) {
        if let Ok(strict) = strict {
            let Ok(lenient) = lenient else {
                panic!("strict mode accepted what the default mode refused");
            };
            assert_eq!(strict.profile, lenient.profile);
            assert_eq!(strict.format, lenient.format);
            assert!(!lenient.warnings.iter().any(refused_when_strict));
        }
        if let Ok(parsed) = lenient {
            for warning in &parsed.warnings {
                let _ = warning.to_string();
            }
        }
    }
});
