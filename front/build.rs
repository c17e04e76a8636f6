//! The executable starts at its own `_start`, with neither the C runtime's start files
//! nor any library: a static position-independent executable with nothing for a loader
//! to do (tests/tests/front.rs checks that it carries no relocation).
fn main() {
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static-pie",
        "-Wl,-z,noexecstack",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
