//! Feeds arbitrary bytes through the whole profile engine: parse, resolve for a few
//! capability sets and native ABIs, compile, and run the program on a handful of
//! syscalls. Beyond "no panic", every program that compiles must pass the kernel's
//! checks (as the interpreter applies them) and stay within 4096 instructions.

#![no_main]

use libfuzzer_sys::fuzz_target;
use profiles::arch::Abi;
use profiles::caps::CapSet;
use profiles::interp::{self, SeccompData};
use profiles::model::KernelVersion;
use profiles::resolve::{resolve, Resolution, ResolveOptions};
use profiles::parse::{parse_profile, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = parse_profile(data, &ParseOptions { strict: false }) else {
        return;
    };
    for (native, caps) in [
        (Abi::X86_64, CapSet::docker_default()),
        (Abi::X86_64, CapSet::all()),
        (Abi::Aarch64, CapSet::empty()),
    ] {
        let kernel = KernelVersion { kernel: 6, major: 18 };
        let options = ResolveOptions { caps, native, kernel };
        let Ok(Resolution::Filter(resolved)) = resolve(&parsed.profile, parsed.format, &options)
        else {
            continue;
        };
        let Ok(compiled) = profiles::compile::compile(&resolved, false) else {
            continue;
        };
        assert!(compiled.program.len() <= 4096);
        interp::validate(&compiled.program).expect("a compiled program is valid");
        for abi in native.family() {
            for nr in [0, 1, 59, 102, 117, 435, 1000, u32::MAX] {
                let input = SeccompData::new(*abi, nr, [u64::MAX, 0, 1, 2, 3, 4]);
                interp::run(&compiled.program, &input).expect("runs");
            }
        }
    }
});
