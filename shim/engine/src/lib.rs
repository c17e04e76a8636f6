//! `libsecshim_engine.so`: the profile compiler that `libsecshim.so` loads only when it
//! has to read a profile itself (`SECLAUNCH_PROFILE`, or no profile named at all).
//!
//! The shim links no standard library so that loading it into every process costs
//! nothing; the profile engine needs one. Keeping the engine in a library of its own,
//! opened with `dlopen` on the standalone path alone, keeps the standard library (and the
//! `libgcc_s.so.1` it pulls in) out of the processes that run under the launcher's
//! handoff or below a filter already in force.
//!
//! The one entry point builds the profile with Docker's resolution defaults for this
//! host and returns a handoff frame, so the shim checks and installs both paths'
//! filters with the same code.

use std::borrow::Cow;
use std::ffi::{c_char, CStr};

use profiles::caps::CapSet;
use profiles::{Options, DEFAULT_PROFILE};

/// Capabilities to add to Docker's default set, comma-separated, as `--cap-add` takes
/// them.
const CAP_ADD_VAR: &str = "SECLAUNCH_CAP_ADD";
/// Capabilities to drop from Docker's default set, comma-separated.
const CAP_DROP_VAR: &str = "SECLAUNCH_CAP_DROP";

/// Builds the profile `source` (a path, or `default`) and stores its handoff frame in
/// memory the engine keeps for the life of the process, pointed to by `*frame`.
///
/// Returns the frame's length, and only then writes `*frame`; 0 when the profile asks
/// for no filter (`{}`); -1 on failure, with a NUL-terminated lowercase message in `err`
/// (truncated to `err_cap`). The frame lives on the process's heap, whose pages the
/// build has already touched, so the caller needs no buffer of its own for it.
///
/// # Safety
/// `source` is a NUL-terminated string; `frame` is writable; `err` is writable for
/// `err_cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn secshim_engine_frame_v2(
    source: *const c_char,
    frame: *mut *const u8,
    err: *mut u8,
    err_cap: usize,
) -> isize {
    // SAFETY: the caller passes a NUL-terminated string and a buffer of the stated size
    // (the contract above); the shim's is a stack array that outlives the call.
    let (source, err) = unsafe {
        (
            CStr::from_ptr(source),
            std::slice::from_raw_parts_mut(err, err_cap),
        )
    };
    match build_frame(&String::from_utf8_lossy(source.to_bytes())) {
        Ok(None) => 0,
        Ok(Some(bytes)) => {
            // The shim installs the frame and never returns to the engine: it is kept,
            // not freed.
            let bytes: &'static [u8] = Vec::leak(bytes);
            // SAFETY: `frame` is writable (the contract above).
            unsafe { *frame = bytes.as_ptr() };
            bytes.len() as isize
        }
        Err(message) => {
            copy_message(&message, err);
            -1
        }
    }
}

/// The frame for `source`, or `None` for no filter.
fn build_frame(source: &str) -> Result<Option<Vec<u8>>, String> {
    let bytes = match source {
        "default" => Cow::Borrowed(DEFAULT_PROFILE.as_bytes()),
        path => Cow::Owned(
            std::fs::read(path).map_err(|e| format!("{path}: reading the profile: {e}"))?,
        ),
    };
    let mut options = Options::for_this_host();
    options.resolve.caps = caps_from_env()?;
    let built = profiles::build_filter(bytes, source, &options).map_err(|e| e.to_string())?;
    let Some((resolved, compiled)) = built else {
        return Ok(None);
    };
    // The listener must reach the agent before the program runs, over a socket the
    // shim would have to open inside the program; the launcher does it before execve.
    if profiles::listener::agent(&resolved, &compiled).is_some() {
        return Err(format!(
            "{source}: listenerPath: a profile that hands calls to a seccomp agent \
             needs seclaunch, which connects to the agent before execve"
        ));
    }
    let frame = profiles::frame::of(&resolved, &compiled)
        .map_err(|e| format!("{source}: encoding the filter: {e}"))?;
    Ok(Some(frame))
}

/// Docker's default capabilities, changed by `SECLAUNCH_CAP_ADD` and `SECLAUNCH_CAP_DROP`.
fn caps_from_env() -> Result<CapSet, String> {
    let list = |var: &str| -> Vec<String> {
        std::env::var(var)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect()
    };
    CapSet::docker_default()
        .tweak(&list(CAP_ADD_VAR), &list(CAP_DROP_VAR))
        .map_err(|e| format!("{CAP_ADD_VAR}/{CAP_DROP_VAR}: {e}"))
}

/// Copies `message` into `err` as a NUL-terminated string, cut to fit.
fn copy_message(message: &str, err: &mut [u8]) {
    let Some(room) = err.len().checked_sub(1) else {
        return;
    };
    let n = message.len().min(room);
    err[..n].copy_from_slice(&message.as_bytes()[..n]);
    err[n] = 0;
}

/// The prototype the shim calls through `dlsym`; a compile-time check that the export
/// keeps it.
const _: unsafe extern "C" fn(*const c_char, *mut *const u8, *mut u8, usize) -> isize =
    secshim_engine_frame_v2;
