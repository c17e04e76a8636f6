//! The programs the end-to-end tests run: seclaunch's own release artifacts (the shim, its
//! engine and the launcher), built once per test binary with the cargo that runs the
//! tests, and the C probes under `tests/c`, built with the system compiler.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace's `target` directory.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}

/// `target/dist`, after `scripts/build.sh` has built there what seclaunch ships: the
/// shim, its engine and the static launcher. The tests run the artifacts users run.
pub fn release_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build.sh");
        let status = Command::new("bash")
            .arg(script)
            .arg("--quiet")
            .env("CARGO_TARGET_DIR", target_dir())
            .status()
            .expect("bash runs");
        assert!(status.success(), "building the release artifacts failed");
        target_dir().join("dist")
    })
}

/// `libsecshim.so`.
pub fn shim() -> PathBuf {
    release_dir().join("libsecshim.so")
}

/// The `seclaunch` binary: the fast start, which hands what it does not launch itself
/// to [`full_launcher`].
pub fn launcher() -> PathBuf {
    release_dir().join("seclaunch")
}

/// `seclaunch-full`, the full launcher.
pub fn full_launcher() -> PathBuf {
    release_dir().join("seclaunch-full")
}

/// The C programs of `tests/c`, built into `target/e2e-c`.
pub struct Probes {
    /// `probe.c`, dynamically linked.
    pub probe: PathBuf,
    /// `probe.c`, statically linked: no loader, so no preload.
    pub probe_static: PathBuf,
    /// `early_thread.c`: a preload library that starts a thread in its constructor.
    pub early_thread: PathBuf,
}

/// Builds the probes once per test binary. Several test binaries may build at once, so
/// each output is written under a unique name and renamed into place.
pub fn probes() -> &'static Probes {
    static PROBES: OnceLock<Probes> = OnceLock::new();
    PROBES.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c");
        let out = target_dir().join("e2e-c");
        std::fs::create_dir_all(&out).expect("creates target/e2e-c");
        let probe = src.join("probe.c");
        let early = src.join("early_thread.c");
        Probes {
            probe: cc(&out.join("probe"), &[&probe], &["-lpthread", "-ldl"]),
            probe_static: cc(
                &out.join("probe-static"),
                &[&probe],
                &["-static", "-lpthread"],
            ),
            early_thread: cc(
                &out.join("early_thread.so"),
                &[&early],
                &["-shared", "-fPIC", "-lpthread"],
            ),
        }
    })
}

/// `report_probe.c`, built once per test binary like [`probes`].
pub fn report_probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/report_probe.c");
        let out = target_dir().join("e2e-c");
        std::fs::create_dir_all(&out).expect("creates target/e2e-c");
        cc(&out.join("report_probe"), &[&src], &["-lpthread"])
    })
}

/// `launch_state.c`, dynamically linked and statically linked, built once per test
/// binary like [`probes`].
pub fn launch_state_probes() -> &'static (PathBuf, PathBuf) {
    static PROBES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PROBES.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/launch_state.c");
        let out = target_dir().join("e2e-c");
        std::fs::create_dir_all(&out).expect("creates target/e2e-c");
        (
            cc(&out.join("launch_state"), &[&src], &[]),
            cc(&out.join("launch_state-static"), &[&src], &["-static"]),
        )
    })
}

/// `environment_changers.c`: the library that empties the environment in its
/// constructor, and the program that dlopens a library after a `putenv`.
pub fn environment_changers() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/environment_changers.c");
        let out = target_dir().join("e2e-c");
        std::fs::create_dir_all(&out).expect("creates target/e2e-c");
        (
            cc(
                &out.join("clearenv.so"),
                &[&src],
                &["-shared", "-fPIC", "-DCLEARENV_LIBRARY"],
            ),
            cc(&out.join("dlopen_after_putenv"), &[&src], &["-ldl"]),
        )
    })
}

/// `agent_probe.c`, built once per test binary like [`probes`].
pub fn agent_probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/agent_probe.c");
        let out = target_dir().join("e2e-c");
        std::fs::create_dir_all(&out).expect("creates target/e2e-c");
        cc(&out.join("agent_probe"), &[&src], &[])
    })
}

/// Compiles `sources` with the system C compiler (`-O2 -Wall -Werror`, then `flags`)
/// into `output`, written under a temporary name and renamed into place.
pub fn cc(output: &Path, sources: &[&Path], flags: &[&str]) -> PathBuf {
    let partial = output.with_extension(format!("tmp{}", std::process::id()));
    let status = Command::new("cc")
        .args(["-O2", "-Wall", "-Werror", "-o"])
        .arg(&partial)
        .args(sources)
        .args(flags)
        .status()
        .expect("the system C compiler runs");
    assert!(status.success(), "cc failed for {}", output.display());
    std::fs::rename(&partial, output).expect("renames the compiled probe");
    output.to_path_buf()
}

/// `record_probe.c` and `record_bare.c` (static, without a C library), built once per
/// test binary like [`probes`].
pub fn record_probes() -> &'static (PathBuf, PathBuf) {
    static PROBES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PROBES.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c");
        let out = target_dir().join("e2e-c");
        std::fs::create_dir_all(&out).expect("creates target/e2e-c");
        let probe = cc(
            &out.join("record_probe"),
            &[&src.join("record_probe.c")],
            &["-lpthread"],
        );
        let bare = cc(
            &out.join("record_bare"),
            &[&src.join("record_bare.c")],
            &["-static", "-nostdlib", "-fno-stack-protector"],
        );
        (probe, bare)
    })
}
