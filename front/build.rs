//! The executable starts at its own `_start`, with neither the C runtime's start files
//! nor any library: a static position-independent executable that applies its own
//! relative relocations (src/main.rs) and names no loader (tests/tests/front.rs checks
//! that).
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
