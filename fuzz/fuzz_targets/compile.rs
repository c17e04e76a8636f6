//! Arbitrary bytes through parse, resolve, compile and the interpreter
//! (`seclaunch_tests::fuzz_checks::compile`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| seclaunch_tests::fuzz_checks::compile(data));
