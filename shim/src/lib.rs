//! `libsecshim.so`: installs a seccomp filter from the dynamic loader's `LD_PRELOAD`,
//! before the program's `main`.
//!
//! The constructor decides, in this order:
//! 1. `SECLAUNCH_HANDOFF` names a frame the launcher compiled: read it from the
//!    inherited fd, check its length and checksum, install it.
//! 2. `SECLAUNCH_PROFILE` names a profile (a path or `default`): compile it with the
//!    engine library beside the shim, install it. `unconfined` installs nothing.
//! 3. Neither, but `SECLAUNCH_ACTIVE` says a filter of ours is in force and the kernel
//!    confirms the process is filtered: this is a child of a filtered process, and the
//!    inherited filter already applies. Do nothing.
//! 4. Otherwise: install the embedded Docker default, from its precompiled frame where
//!    that decides alike (Docker's capabilities, a kernel new enough for its
//!    `minKernel`), else compiled by the engine.
//!
//! After installing it removes the request variables and itself from `LD_PRELOAD`, and
//! sets `SECLAUNCH_ACTIVE` to the frame's checksum: children inherit the filter without
//! loading the shim again, and one that loads it anyway skips step 4, so the kernel's
//! limit on the total length of stacked filters is never approached by a deep exec
//! chain.
//!
//! Any failure prints one line `secshim: <what failed>: <why>` and ends the process with
//! status 125 before `main`. The shim links no standard library (loading one into every
//! process would cost more than the rest of the shim together) and exports no symbol.

#![no_std]

mod sys;

use core::ffi::{c_char, c_int, CStr};

use handoff::{
    Announce, Frame, Marker, ACTIVE_VAR, ENV_VAR as HANDOFF_VAR, MAX_FRAME_LEN, PROFILE_VAR,
};

/// The exit status of a process the shim refused to run, as `docker run` uses 125 for
/// its own errors.
const EXIT_FAILED: i32 = 125;
/// The shim's own file name, as the launcher and `scripts/install.sh` install it.
const SHIM_FILE: &[u8] = b"libsecshim.so";
const PRELOAD_VAR: &CStr = c"LD_PRELOAD";
/// The engine library, looked for beside the shim.
const ENGINE_FILE: &[u8] = b"libsecshim_engine.so";
/// The engine's entry point. Its name changes whenever its prototype does, so that a
/// shim and an engine from different builds fail at `dlsym`, with the shim's message,
/// instead of calling through the wrong prototype.
const ENGINE_SYMBOL: &CStr = c"secshim_engine_frame_v2";
/// Change the capability set the engine resolves profiles for.
const CAP_ADD_VAR: &CStr = c"SECLAUNCH_CAP_ADD";
const CAP_DROP_VAR: &CStr = c"SECLAUNCH_CAP_DROP";
/// Set to `1` to have the shim say what it did.
const VERBOSE_VAR: &CStr = c"SECLAUNCH_VERBOSE";
/// `SECCOMP_FILTER_FLAG_TSYNC`: every thread of the process gets the filter, including
/// threads started by other libraries' constructors.
const FLAG_TSYNC: u32 = 1;

/// Run by the dynamic loader from `.init_array`, after the libraries the shim depends
/// on (libc) are initialised and before the program's own constructors and `main`.
#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn(c_int, *const *const c_char, *const *const c_char) = secshim_init;

extern "C" fn secshim_init(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) {
    nostd::link();
    sys::note_initial_env(argc, argv, envp);
    let verbose = sys::getenv(VERBOSE_VAR) == Some(b"1");
    let mut message = [0u8; MESSAGE_LEN];
    match run(&mut message) {
        Ok(done) if verbose => say(&[b"secshim: ", done.as_bytes()]),
        Ok(_) => {}
        Err(failure) => {
            failure.print();
            sys::exit_now(EXIT_FAILED);
        }
    }
}

/// What the constructor did, for `SECLAUNCH_VERBOSE=1`.
enum Done {
    Installed,
    AlreadyInForce,
    Unconfined,
}

impl Done {
    fn as_bytes(&self) -> &'static [u8] {
        match self {
            Done::Installed => b"filter installed",
            Done::AlreadyInForce => b"filter already in force, inherited from the parent",
            Done::Unconfined => b"unconfined: no filter installed",
        }
    }
}

/// Why the constructor refused to let the program run: what failed, and why, as two
/// phrases.
struct Failure<'m> {
    what: &'static [u8],
    why: Why<'m>,
}

enum Why<'m> {
    Text(&'m [u8]),
    Errno(i32),
}

/// The longest message the engine may return.
const MESSAGE_LEN: usize = 512;

impl Failure<'_> {
    fn print(&self) {
        let why = match self.why {
            Why::Text(text) => text,
            Why::Errno(err) => sys::strerror(err),
        };
        say(&[b"secshim: ", self.what, b": ", why]);
    }
}

fn fail<'m, T>(what: &'static [u8], why: Why<'m>) -> Result<T, Failure<'m>> {
    Err(Failure { what, why })
}

/// The request the environment makes. It holds no slice of the environment's
/// strings: the shim rewrites some of them in place before installing (see
/// `mark_installed`), so nothing borrowed from them may live across that.
enum Request {
    /// `SECLAUNCH_HANDOFF`, read.
    Handoff(Result<Announce, handoff::Error>),
    /// `SECLAUNCH_PROFILE=default`.
    NamedDefault,
    /// Another `SECLAUNCH_PROFILE`, read again (and copied) where it is compiled.
    Profile,
    /// Neither variable: the embedded default.
    Default,
}

/// Does what the environment asks; `message` holds the engine's message on failure.
/// The common case, a child below a filter of ours, is decided here without touching
/// the stack the other paths' buffers take.
fn run(message: &mut [u8]) -> Result<Done, Failure<'_>> {
    let request = match (sys::getenv(HANDOFF_VAR), sys::getenv(PROFILE_VAR)) {
        (Some(value), _) => Request::Handoff(handoff::parse_announce(value)),
        (None, Some(b"unconfined")) => return Ok(Done::Unconfined),
        (None, Some(b"default")) => Request::NamedDefault,
        (None, Some(_)) => Request::Profile,
        (None, None) => Request::Default,
    };
    // A marker only counts once the kernel confirms a filter is in force: forged in an
    // unfiltered process, it changes nothing.
    let active = sys::getenv(ACTIVE_VAR)
        .and_then(handoff::parse_marker)
        .filter(|marker| in_filter_mode(marker.query_allowed));
    if matches!(request, Request::Default) && active.is_some() {
        return Ok(Done::AlreadyInForce);
    }
    fulfil(request, active, message)
}

/// Reads or builds the requested frame and installs it, unless it is the filter in
/// force already.
fn fulfil<'m>(
    request: Request,
    active: Option<Marker>,
    message: &'m mut [u8],
) -> Result<Done, Failure<'m>> {
    match request {
        Request::Handoff(announce) => {
            let announce = announce.or_else(handoff_failure)?;
            install_handoff(&announce, active)
        }
        Request::Default | Request::NamedDefault if precompiled_applies() => {
            match handoff::precompiled_default().map(|frame| handoff::decode(frame, None)) {
                Some(Ok(frame)) => finish(&frame, active),
                _ => fail(b"reading the precompiled default", Why::Text(b"corrupt")),
            }
        }
        Request::Profile => compile_profile(active, message),
        Request::Default | Request::NamedDefault => compile_and_finish(c"default", active, message),
    }
}

/// Room for the longest `SECLAUNCH_PROFILE` path with its NUL (the kernel's
/// `PATH_MAX`, which counts the NUL).
const MAX_PROFILE_PATH: usize = 4096;

/// Compiles the profile `SECLAUNCH_PROFILE` names, from a copy of the variable: the
/// string itself may be rewritten before this returns.
#[inline(never)]
fn compile_profile<'m>(active: Option<Marker>, message: &'m mut [u8]) -> Result<Done, Failure<'m>> {
    let mut path = [0u8; MAX_PROFILE_PATH];
    let source = sys::getenv(PROFILE_VAR).and_then(|source| c_string(&mut path, &[source]));
    let Some(source) = source else {
        return fail(
            b"reading SECLAUNCH_PROFILE",
            Why::Text(b"the path is too long"),
        );
    };
    compile_and_finish(source, active, message)
}

/// Compiles `source` with the engine and installs the frame it returns. Kept out of
/// line so that `build`'s 4 KiB path buffer, which may be inlined into it, stays off the
/// stack of the other paths.
#[inline(never)]
fn compile_and_finish<'m>(
    source: &CStr,
    active: Option<Marker>,
    message: &'m mut [u8],
) -> Result<Done, Failure<'m>> {
    match build(source, message)? {
        Some(frame) => Ok(finish(&frame, active)?),
        None => Ok(Done::Unconfined),
    }
}

/// Installs `frame` and marks it, unless it is the filter in force already: a request
/// repeated below a filter of ours (a script that sets SECLAUNCH_PROFILE again for its
/// children) would stack a second copy of the same program.
fn finish(frame: &Frame<'_>, active: Option<Marker>) -> Result<Done, Failure<'static>> {
    if active.is_some_and(|marker| marker.checksum == frame.checksum) {
        clear_request();
        return Ok(Done::AlreadyInForce);
    }
    // Stacked on another filter, the query is safe only if both filters allow it.
    let query_allowed = frame.flags & handoff::HINT_QUERY_ALLOWED != 0
        && active.is_none_or(|marker| marker.query_allowed);
    // The environment is edited before the filter goes in, since editing it may
    // allocate, and the profile may deny the calls that takes; if installing fails
    // the process ends, so the edits never show.
    mark_installed(Marker {
        checksum: frame.checksum,
        query_allowed,
    })?;
    install(frame)?;
    Ok(Done::Installed)
}

/// Whether the precompiled default decides as compiling the embedded default would:
/// Docker's capabilities (no `SECLAUNCH_CAP_*`) on a kernel new enough for every
/// `minKernel` of the profile.
fn precompiled_applies() -> bool {
    handoff::precompiled_default().is_some()
        && sys::getenv(CAP_ADD_VAR).is_none()
        && sys::getenv(CAP_DROP_VAR).is_none()
        && sys::kernel_release_is(handoff::kernel_allows_precompiled)
}

const HANDOFF_WHAT: &[u8] = b"reading the launcher's filter (SECLAUNCH_HANDOFF)";

/// Reads the frame `SECLAUNCH_HANDOFF` announces onto the stack, closes its fd, so that
/// the program never sees it, and installs the frame. A frame of Docker's default size
/// gets a buffer under a page: the compiler probes every page of a larger stack frame,
/// and pages below the stack are new.
fn install_handoff(announce: &Announce, active: Option<Marker>) -> Result<Done, Failure<'static>> {
    const SMALL: usize = 3584;
    if announce.len < SMALL {
        read_and_install::<SMALL>(announce, active)
    } else {
        read_and_install::<{ MAX_FRAME_LEN + 1 }>(announce, active)
    }
}

#[inline(never)]
fn read_and_install<const N: usize>(
    announce: &Announce,
    active: Option<Marker>,
) -> Result<Done, Failure<'static>> {
    // One byte more than announced shows a file that is too long.
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); N];
    let want = (announce.len + 1).min(buf.len());
    let read = sys::pread_full(announce.fd, &mut buf[..want], 0);
    sys::close(announce.fd);
    let bytes = read.or_else(|err| fail(HANDOFF_WHAT, Why::Errno(err)))?;
    let frame = handoff::decode(bytes, Some(announce)).or_else(handoff_failure)?;
    finish(&frame, active)
}

/// A refused announcement or frame.
fn handoff_failure<T>(e: handoff::Error) -> Result<T, Failure<'static>> {
    fail(HANDOFF_WHAT, Why::Text(e.as_str().as_bytes()))
}

/// Compiles `source` with the engine library. `None` when the profile asks for no
/// filter. The frame is the engine's, kept for the life of the process.
fn build<'m>(source: &CStr, message: &'m mut [u8]) -> Result<Option<Frame<'static>>, Failure<'m>> {
    const WHAT: &[u8] = b"loading the profile compiler";
    let mut path_buf = [0u8; 4096];
    let Some(engine_path) = engine_path(&mut path_buf) else {
        return fail(
            WHAT,
            Why::Text(b"cannot tell where libsecshim.so was loaded from"),
        );
    };
    let entry = match sys::load_engine(engine_path, ENGINE_SYMBOL) {
        Ok(entry) => entry,
        Err(text) => return fail(WHAT, Why::Text(text)),
    };
    let bytes = match sys::call_engine(entry, source, message) {
        sys::Engine::Frame(bytes) => bytes,
        sys::Engine::Broken(text) => return fail(b"building the profile", Why::Text(text)),
        sys::Engine::Failed => {
            let end = message
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(message.len());
            return fail(b"building the profile", Why::Text(&message[..end]));
        }
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    match handoff::decode(bytes, None) {
        Ok(frame) => Ok(Some(frame)),
        Err(e) => fail(
            b"checking the compiled filter",
            Why::Text(e.as_str().as_bytes()),
        ),
    }
}

/// `<directory of libsecshim.so>/libsecshim_engine.so`, NUL-terminated, in `buf`.
fn engine_path(buf: &mut [u8]) -> Option<&CStr> {
    let own = sys::own_path()?;
    let dir = match own.iter().rposition(|b| *b == b'/') {
        Some(slash) => &own[..=slash],
        // Loaded by a bare name, found through the loader's search path: the engine is
        // looked up the same way.
        None => &b""[..],
    };
    c_string(buf, &[dir, ENGINE_FILE])
}

/// Joins `parts` into `buf` with a terminating NUL; `None` if they do not fit or hold a
/// NUL of their own.
fn c_string<'b>(buf: &'b mut [u8], parts: &[&[u8]]) -> Option<&'b CStr> {
    let mut at = 0;
    for part in parts {
        buf.get_mut(at..at + part.len())?.copy_from_slice(part);
        at += part.len();
    }
    *buf.get_mut(at)? = 0;
    CStr::from_bytes_with_nul(&buf[..=at]).ok()
}

/// Sets NO_NEW_PRIVS, then installs the frame's program with TSYNC and its flags.
fn install(frame: &Frame<'_>) -> Result<(), Failure<'static>> {
    if let Err(err) = sys::set_no_new_privs() {
        return fail(b"setting no_new_privs", Why::Errno(err));
    }
    let flags = frame.flags & handoff::KERNEL_FLAGS | FLAG_TSYNC;
    match sys::install_filter(frame.program, flags) {
        Ok(()) => Ok(()),
        Err(libc::EBUSY) => fail(
            b"installing the seccomp filter",
            Why::Text(b"a thread of the process runs under another filter (TSYNC failed)"),
        ),
        Err(err) => fail(b"installing the seccomp filter", Why::Errno(err)),
    }
}

/// Removes the request and leaves the marker for the process's children. Where it can,
/// it writes the marker over the request's own string, or over `LD_PRELOAD`'s when that
/// named only the shim, and so allocates nothing: the embedded default's install, which
/// has no request string, would otherwise make the process's first `malloc` (about
/// 13 µs here).
fn mark_installed(marker: Marker) -> Result<(), Failure<'static>> {
    let preload_spare = leave_preload() == Preload::Spare;
    // An older marker: this process was under another filter already.
    sys::erase_env(ACTIVE_VAR);
    let mut text = [0u8; handoff::MARKER_LEN];
    let n = handoff::format_marker(&marker, &mut text);
    let mut entry = [0u8; 17 + handoff::MARKER_LEN];
    let name = ACTIVE_VAR.to_bytes();
    entry[..name.len()].copy_from_slice(name);
    entry[name.len()] = b'=';
    entry[name.len() + 1..name.len() + 1 + n].copy_from_slice(&text[..n]);
    let entry = &entry[..name.len() + 1 + n];
    let spares = [HANDOFF_VAR, PROFILE_VAR, PRELOAD_VAR];
    let spares = &spares[..if preload_spare { 3 } else { 2 }];
    let placed = spares
        .iter()
        .any(|var| sys::rewrite_env(var.to_bytes(), entry));
    clear_request();
    if preload_spare {
        // Gone already if the marker took its string.
        sys::erase_env(PRELOAD_VAR);
    }
    if placed {
        return Ok(());
    }
    let mut value = [0u8; handoff::MARKER_LEN + 1];
    let marker = c_string(&mut value, &[&text[..n]]);
    match marker {
        Some(marker) if sys::setenv(ACTIVE_VAR, marker) => Ok(()),
        _ => fail(b"setting SECLAUNCH_ACTIVE", Why::Errno(libc::ENOMEM)),
    }
}

/// What [`leave_preload`] did with `LD_PRELOAD`.
#[derive(PartialEq, Eq)]
enum Preload {
    /// It named the shim alone, and is left in place for the caller to reuse or erase.
    Spare,
    /// Nothing is left to do: it is absent, holds the other libraries alone, or stays
    /// as it was (a list too long to rewrite, or no memory to set it).
    Done,
}

/// Takes the shim out of `LD_PRELOAD`, keeping the other libraries in their order; when
/// the shim was alone in it, leaves the removal to the caller ([`Preload::Spare`]).
/// Children inherit the filter whether or not they load the shim, and loading it costs
/// each of them as much as any preload does (about 7% of starting `/bin/true`); below
/// the filter it would only find the filter in force. A list too long for the buffer
/// is left as it is, which costs only that.
fn leave_preload() -> Preload {
    let Some(list) = sys::getenv(PRELOAD_VAR) else {
        return Preload::Done;
    };
    let own = sys::own_path().unwrap_or_default();
    let is_shim = |entry: &[u8]| {
        let name = entry.rsplit(|b| *b == b'/').next().unwrap_or(entry);
        entry == own || name == SHIM_FILE
    };
    let entries = || {
        list.split(|b| *b == b' ' || *b == b':')
            .filter(|e| !e.is_empty())
    };
    if !entries().any(is_shim) {
        return Preload::Done;
    }
    if entries().all(is_shim) {
        return Preload::Spare;
    }
    rewrite_preload(entries().filter(|e| !is_shim(e)));
    Preload::Done
}

/// Sets `LD_PRELOAD` to the `kept` libraries, `:`-separated. Kept out of line, as the
/// rare case it is: its page-sized buffer would otherwise be in the frame of every
/// install, and in a fresh process each page of stack below what the loader used is a
/// page fault (about 2 µs here).
#[inline(never)]
fn rewrite_preload<'a>(kept: impl Iterator<Item = &'a [u8]>) {
    const PREFIX: &[u8] = b"LD_PRELOAD=";
    // The entry, then a NUL, so that its value can also be handed to `setenv`.
    let mut entry = [0u8; PREFIX.len() + 4096 + 1];
    entry[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut at = PREFIX.len();
    for library in kept {
        let separator: &[u8] = if at > PREFIX.len() { b":" } else { b"" };
        let end = at + separator.len() + library.len();
        // One byte stays free for the NUL.
        if end >= entry.len() {
            return;
        }
        entry[at..at + separator.len()].copy_from_slice(separator);
        entry[at + separator.len()..end].copy_from_slice(library);
        at = end;
    }
    if sys::rewrite_env(PRELOAD_VAR.to_bytes(), &entry[..at]) {
        return;
    }
    if let Ok(value) = CStr::from_bytes_with_nul(&entry[PREFIX.len()..=at]) {
        // Out of memory leaves the list as it was: a cost, not a hole.
        let _ = sys::setenv(PRELOAD_VAR, value);
    }
}

fn clear_request() {
    sys::erase_env(HANDOFF_VAR);
    sys::erase_env(PROFILE_VAR);
}

/// Whether the kernel has this process in seccomp filter mode. `PR_GET_SECCOMP` answers
/// when the filter in force is known to let it run (`query_allowed`); otherwise, since
/// the profile may kill `prctl`, `/proc/self/status` does, and `PR_GET_SECCOMP` only
/// when `/proc` is not there. When nothing can tell, the answer is no, and a filter is
/// installed: one filter too many is safe, one too few is not.
fn in_filter_mode(query_allowed: bool) -> bool {
    if query_allowed {
        if let Ok(mode) = sys::seccomp_mode() {
            return mode == 2;
        }
    }
    match status_seccomp_mode() {
        Some(mode) => mode == b'2',
        None => sys::seccomp_mode() == Ok(2),
    }
}

/// The digit after `Seccomp:` in `/proc/self/status`. Kept out of line, so that its
/// page-sized buffer is on the stack only when it is read.
#[inline(never)]
fn status_seccomp_mode() -> Option<u8> {
    let fd = sys::open_read(c"/proc/self/status").ok()?;
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 4096];
    let read = sys::pread_full(fd, &mut buf, 0);
    sys::close(fd);
    let text = read.ok()?;
    let key = b"\nSeccomp:\t";
    let at = text.windows(key.len()).position(|w| w == key)? + key.len();
    text.get(at).copied()
}

/// Writes one line to standard error in a single `write`, so lines from several
/// processes do not interleave.
fn say(parts: &[&[u8]]) {
    let mut line = [0u8; 1024];
    let mut at = 0;
    for part in parts {
        let n = part.len().min(line.len() - 1 - at);
        line[at..at + n].copy_from_slice(&part[..n]);
        at += n;
    }
    line[at] = b'\n';
    sys::write_stderr(&line[..=at]);
}

/// A panic cannot unwind out of a constructor: it ends the process as any other failure
/// does, before `main`.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    say(&[b"secshim: internal error: the shim panicked"]);
    sys::exit_now(EXIT_FAILED)
}
