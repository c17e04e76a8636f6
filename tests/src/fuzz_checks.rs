//! The properties the `cargo fuzz` targets check, as plain functions of the input, so that
//! the same checks replay the committed seed corpus (`fuzz/seeds/`) under `cargo test`
//! on a stable toolchain. Each panics on a violation.

use profiles::arch::Abi;
use profiles::caps::CapSet;
use profiles::interp::{self, SeccompData};
use profiles::model::{Format, KernelVersion};
use profiles::parse::{
    fast_path_agrees, parse_profile, parse_profile_as, ParseOptions, Parsed, Warning,
};
use profiles::resolve::{resolve, Resolution, ResolveOptions};

use crate::compare::{common_names_only, compare};
use crate::Rng;

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

/// The parser, in every mode: no panic, the streaming fast path decodes as the tree
/// decoder does wherever it decodes, and strict mode only refuses more (whatever it
/// accepts, the default mode accepts with the same result and no warning about unknown
/// keys or UTF-8).
pub fn parse(data: &[u8]) {
    for strict in [false, true] {
        for asked in [None, Some(Format::Moby), Some(Format::Oci)] {
            let options = ParseOptions { strict };
            assert!(
                fast_path_agrees(data, &options, asked),
                "the fast path decodes otherwise than the tree decoder (strict {strict}, {asked:?})"
            );
        }
    }
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
}

fn kernel() -> KernelVersion {
    KernelVersion {
        kernel: 6,
        major: 18,
    }
}

/// Parse, resolve for a few capability sets and native ABIs, compile, and run the
/// program on a handful of syscalls: no panic, and every program that compiles passes
/// the kernel's checks (as the interpreter applies them) within 4096 instructions.
pub fn compile(data: &[u8]) {
    let Ok(parsed) = parse_profile(data, &ParseOptions { strict: false }) else {
        return;
    };
    for (native, caps) in [
        (Abi::X86_64, CapSet::docker_default()),
        (Abi::X86_64, CapSet::all()),
        (Abi::Aarch64, CapSet::empty()),
    ] {
        let kernel = kernel();
        let options = ResolveOptions {
            caps,
            native,
            kernel,
        };
        let Ok(Resolution::Filter(resolved)) = resolve(&parsed.profile, parsed.format, &options)
        else {
            continue;
        };
        let Ok(compiled) = profiles::compile::compile(&resolved, false) else {
            continue;
        };
        assert!(compiled.program.len() <= 4096);
        assert!(
            compiled.db.partial_emulation_agrees(),
            "emulating the syscalls with arguments alone changed their trees"
        );
        interp::validate(&compiled.program).expect("a compiled program is valid");
        for abi in native.family() {
            for nr in [0, 1, 59, 102, 117, 435, 1000, u32::MAX] {
                let input = SeccompData::new(*abi, nr, [u64::MAX, 0, 1, 2, 3, 4]);
                interp::run(&compiled.program, &input).expect("runs");
            }
        }
    }
}

/// Parse, resolve, compile, then every decision of the program against libseccomp's for
/// the same resolved rules driven as runc drives it (names the reference does not know
/// left out on both sides). Both refusing is agreement; one refusing is a mismatch.
pub fn decide(data: &[u8]) {
    let Ok(parsed) = parse_profile(data, &ParseOptions { strict: false }) else {
        return;
    };
    let options = ResolveOptions {
        caps: CapSet::docker_default(),
        native: Abi::X86_64,
        kernel: kernel(),
    };
    let Ok(Resolution::Filter(resolved)) = resolve(&parsed.profile, parsed.format, &options) else {
        return;
    };
    let seed = data
        .iter()
        .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(*b));
    let tally = compare(&common_names_only(&resolved), "input", &mut Rng::new(seed));
    assert!(tally.mismatches.is_empty(), "{:#?}", tally.mismatches);
}
