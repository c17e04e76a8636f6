//! Running the probes under the shim and reading what they print.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use profiles::{build, Options, DEFAULT_PROFILE};

/// The errno the sentinel profile returns for a denied call: no syscall returns it on
/// its own, so a 199 can only come from the filter.
pub const SENTINEL: i32 = 199;

/// Keeps every test's scratch directory when set to `1`, for reading what passing
/// tests left.
pub const KEEP_SCRATCH_VAR: &str = "SECLAUNCH_KEEP_SCRATCH";

/// A scratch directory for one test, removed and made anew; see [`Scratch`].
pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("seclaunch-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creates the scratch directory");
    Scratch { dir }
}

/// A test's scratch directory, removed when the test passes. A failing test keeps it,
/// so that what its processes wrote can be read; so does every test when
/// [`KEEP_SCRATCH_VAR`] is `1`.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.dir
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.dir
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.dir.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let keep = std::thread::panicking()
            || std::env::var_os(KEEP_SCRATCH_VAR).is_some_and(|v| v == "1");
        if !keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The embedded default with `defaultErrnoRet` 199.
pub fn sentinel_text() -> String {
    let text = DEFAULT_PROFILE.replacen("\"defaultErrnoRet\": 1,", "\"defaultErrnoRet\": 199,", 1);
    assert_ne!(
        text, DEFAULT_PROFILE,
        "the default profile's errno line moved"
    );
    text
}

/// [`sentinel_text`], written to `dir`.
pub fn sentinel_profile(dir: &Path) -> PathBuf {
    let path = dir.join("sentinel.json");
    std::fs::write(&path, sentinel_text()).expect("writes the sentinel profile");
    path
}

/// A command with no seclaunch or loader variables inherited from the test's own
/// environment.
pub fn clean_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("SECLAUNCH_") || key_text.starts_with("LD_") {
            command.env_remove(&key);
        }
    }
    command
}

/// Runs `command` and returns its output, failing the test if it cannot start.
pub fn output(command: &mut Command) -> Output {
    command.output().expect("the program starts")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A filter frame as the launcher hands it over.
pub struct Handoff {
    /// The memfd holding the frame, inheritable (no close-on-exec).
    pub fd: OwnedFd,
    /// The frame itself.
    pub frame: Vec<u8>,
    /// The frame's checksum.
    pub checksum: u64,
}

impl Handoff {
    /// The value of `SECLAUNCH_HANDOFF` for this frame, said to be in `fd`.
    pub fn announce_in(&self, fd: &OwnedFd) -> String {
        format!(
            "{}:{}:{:x}",
            fd.as_raw_fd(),
            self.frame.len(),
            self.checksum
        )
    }

    /// The value of `SECLAUNCH_HANDOFF` for this frame in its own memfd.
    pub fn announce(&self) -> String {
        self.announce_in(&self.fd)
    }
}

/// The frame of `profile` (JSON text) for this host, in an inheritable memfd.
pub fn handoff_for(profile: &str) -> Handoff {
    let built = build(profile.as_bytes(), "test", &Options::for_this_host()).expect("builds");
    let (resolved, compiled) = built.filter.expect("a filter");
    let frame = profiles::frame::of(&resolved, &compiled).expect("encodes");
    let checksum = handoff::decode(&frame, None).expect("decodes").checksum;
    let fd = memfd_with(&frame);
    Handoff {
        fd,
        frame,
        checksum,
    }
}

/// An inheritable memfd holding `bytes`.
pub fn memfd_with(bytes: &[u8]) -> OwnedFd {
    // SAFETY: the name is NUL-terminated; no flags, so the fd is inherited across exec.
    let raw = unsafe { libc::memfd_create(c"seclaunch-test".as_ptr(), 0) };
    assert!(raw >= 0, "memfd_create failed");
    // SAFETY: `raw` is a new fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let file = std::fs::File::from(fd.try_clone().expect("dups the memfd"));
    std::io::Write::write_all(&mut &file, bytes).expect("writes the memfd");
    fd
}

/// The probe's `status` line read back: `(seccomp mode, filter count, no_new_privs,
/// errno of the denied call)`.
pub fn parse_status(line: &str) -> (i64, i64, i64, i32) {
    let field = |key: &str| -> i64 {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {line:?}"))
    };
    let denied = field("denied") as i32;
    (field("seccomp"), field("filters"), field("nnp"), denied)
}

/// A copy of `program` in `dir`, owned by nobody and setuid, or `None` (saying why) when
/// this test does not run as root, which alone can give a file away.
pub fn setuid_nobody_copy(dir: &Path, program: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: needs root to make a setuid binary");
        return None;
    }
    let copy = dir.join("probe-setuid");
    std::fs::copy(program, &copy).expect("copies the probe");
    std::os::unix::fs::chown(&copy, Some(65534), Some(65534)).expect("gives it to nobody");
    let mode = std::fs::Permissions::from_mode(0o4755);
    std::fs::set_permissions(&copy, mode).expect("makes it setuid");
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_tests_scratch_directory_is_removed() {
        let scratch = scratch("scratch-removed");
        let dir = scratch.path().to_path_buf();
        std::fs::write(dir.join("left"), "x").unwrap();
        drop(scratch);
        assert!(!dir.exists(), "{} is still there", dir.display());
    }

    #[test]
    fn a_failing_tests_scratch_directory_is_kept() {
        let dir =
            std::env::temp_dir().join(format!("seclaunch-e2e-{}-scratch-kept", std::process::id()));
        let failed = std::panic::catch_unwind(|| {
            let _scratch = scratch("scratch-kept");
            panic!("the test fails");
        });
        assert!(failed.is_err());
        assert!(dir.is_dir(), "{} was removed", dir.display());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
