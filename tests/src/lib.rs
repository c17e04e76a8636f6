//! Shared pieces of the end-to-end tests: the reference filter built with libseccomp the
//! way runc builds it, the decision-by-decision comparison, a seeded generator, and access
//! to the shared reference profiles.

pub mod artifacts;
pub mod compare;
pub mod fuzz_checks;
pub mod reference;
pub mod run;

use std::path::PathBuf;

/// A file of `../shared/reference-profiles`, or `None` (with a message) when the folder
/// is missing outside CI. Under CI a missing folder fails the test.
pub fn shared_profile(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference-profiles")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} is missing; CI must have ../shared", path.display());
    }
    eprintln!(
        "skipping: {} is missing (clone ../shared beside the project)",
        path.display()
    );
    None
}

/// A small deterministic generator (xorshift64*), so that failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
