//! Arbitrary bytes to the profile parser in every mode
//! (`seclaunch_tests::fuzz_checks::parse`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| seclaunch_tests::fuzz_checks::parse(data));
