//! Arbitrary bytes through the engine, every decision compared with libseccomp's
//! (`seclaunch_tests::fuzz_checks::decide`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| seclaunch_tests::fuzz_checks::decide(data));
