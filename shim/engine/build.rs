//! Links the unwinder the standard library refers to (`_Unwind_*`, for backtraces; the
//! workspace never unwinds) from the compiler's static `libgcc_eh.a` into the engine,
//! so that the shim's `dlopen` does not also load `libgcc_s.so.1`: about 0.15 ms on
//! every first install from JSON here. Its symbols stay local to the engine, which
//! exports only `secshim_engine_frame_v2`. Where the C compiler cannot name the archive,
//! the engine links `libgcc_s` as the standard library asks, and works the same.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    match static_unwinder() {
        Some(archive) => {
            let dir = archive.parent().expect("an absolute path has a parent");
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-lib=static:+whole-archive=gcc_eh");
        }
        None => println!("cargo:warning=libgcc_eh.a not found: the engine links libgcc_s"),
    }
}

/// `libgcc_eh.a` as the C compiler finds it; gcc prints the bare name when it has none.
fn static_unwinder() -> Option<PathBuf> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    (out.status.success() && path.is_absolute() && path.is_file()).then_some(path)
}
