//! Every call into libc and the kernel the shim makes. Each wrapper is safe to call and
//! checks nothing beyond its own contract; the decisions live in `lib.rs`.

use core::ffi::{c_char, c_int, c_void, CStr};
use core::sync::atomic::{AtomicPtr, Ordering};

/// The kernel's environment array on the process's initial stack, when the
/// constructor was called with it; else null, and nothing is edited in place.
static INITIAL_ENV: AtomicPtr<*const c_char> = AtomicPtr::new(core::ptr::null_mut());

/// Records the environment array the constructor was called with, if it is the
/// kernel's: the loader passes that one to the constructors of a program's preloaded
/// libraries, right after the argument vector (`dlopen` passes `environ`, which may be
/// anything).
pub fn note_initial_env(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) {
    let Ok(argc) = usize::try_from(argc) else {
        return;
    };
    if !argv.is_null() && envp == argv.wrapping_add(argc + 1) {
        INITIAL_ENV.store(envp.cast_mut(), Ordering::Relaxed);
    }
}

/// The end of the kernel's strings (`AT_EXECFN`, the file name it places above
/// them), if strings may be edited in place: only in a process that has never started
/// a thread, since another thread could read a string while it is rewritten. Asked
/// once, when first needed, so that a shim with nothing to edit pays nothing.
fn strings_end() -> Option<usize> {
    const UNKNOWN: usize = 0;
    const NO: usize = 1;
    static END: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(UNKNOWN);
    let end = match END.load(Ordering::Relaxed) {
        UNKNOWN => {
            // SAFETY: getauxval reads the auxiliary vector and has no preconditions.
            let execfn = unsafe { libc::getauxval(libc::AT_EXECFN) } as usize;
            let end = if single_threaded() && execfn > NO {
                execfn
            } else {
                NO
            };
            END.store(end, Ordering::Relaxed);
            end
        }
        known => known,
    };
    (end != NO).then_some(end)
}

/// Whether glibc says the process has never created a thread
/// (`__libc_single_threaded`, glibc 2.32). Looked up at run time: a missing symbol in
/// a preloaded library would make the loader skip the shim. An older glibc counts as
/// threaded.
fn single_threaded() -> bool {
    // SAFETY: dlsym with RTLD_DEFAULT looks the name up in the loaded objects; the
    // name is NUL-terminated.
    let flag = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__libc_single_threaded".as_ptr()) };
    // SAFETY: glibc's `__libc_single_threaded` is a char that only glibc writes.
    !flag.is_null() && unsafe { *flag.cast::<c_char>() } != 0
}

/// The current environment's first `name=` entry, if it is one of the strings the
/// kernel put on the initial stack: its address and length. Only those are edited in
/// place; they are writable, and they are what `/proc/self/environ` shows. A string
/// set by a constructor before the shim's (on the heap, or one of its own) is not.
fn stack_entry(name: &[u8]) -> Option<(*mut u8, usize)> {
    let initial = INITIAL_ENV.load(Ordering::Relaxed);
    if initial.is_null() {
        return None;
    }
    let end = strings_end()?;
    // SAFETY: `environ` is glibc's current environment array (null after clearenv),
    // null-terminated, and the initial one is the kernel's, null-terminated too; their
    // strings are NUL-terminated. No other thread exists (strings_end).
    unsafe {
        let mut entry = libc::environ.cast_const();
        if entry.is_null() {
            return None;
        }
        let found = loop {
            let p = *entry;
            if p.is_null() {
                return None;
            }
            let text = CStr::from_ptr(p).to_bytes();
            if text.len() > name.len() && text.starts_with(name) && text[name.len()] == b'=' {
                break p;
            }
            entry = entry.add(1);
        };
        // The kernel's strings lie above the pointer arrays on the stack and below the
        // file name at its top; the heap and every library's data lie elsewhere.
        let address = found as usize;
        if address <= initial as usize || address >= end {
            return None;
        }
        let mut at = initial.cast_const();
        while !(*at).is_null() {
            if *at == found.cast_const() {
                return Some((found.cast::<u8>(), CStr::from_ptr(found).to_bytes().len()));
            }
            at = at.add(1);
        }
        None
    }
}

/// Writes `text` (`KEY=value`) over the kernel's string of the entry `name=`, if it is
/// at least as long, and zeroes the rest of it; the entry then reads as `text`. False
/// if nothing was written.
pub fn rewrite_env(name: &[u8], text: &[u8]) -> bool {
    let Some((p, len)) = stack_entry(name) else {
        return false;
    };
    if text.len() > len || text.contains(&0) {
        return false;
    }
    // SAFETY: `p` is a writable string of `len` bytes and its NUL (stack_entry); no
    // reference to it is used after this (the values read from it were copied).
    unsafe {
        core::ptr::copy_nonoverlapping(text.as_ptr(), p, text.len());
        core::ptr::write_bytes(p.add(text.len()), 0, len - text.len());
    }
    true
}

/// Removes `name` from the environment, and zeroes the kernel's string of it, so that
/// `/proc/self/environ` no longer shows it either.
pub fn erase_env(name: &CStr) {
    let stack = stack_entry(name.to_bytes());
    unsetenv(name);
    if let Some((p, len)) = stack {
        // SAFETY: as in rewrite_env; unsetenv took the pointer out of the environment
        // array, so nothing reads the string any more.
        unsafe { core::ptr::write_bytes(p, 0, len) };
    }
}

/// The value of environment variable `name` (NUL-terminated), if set. The shim
/// rewrites some environment strings in place once it has read them
/// (`rewrite_env`, `erase_env`): a value must not be kept, or passed down to code
/// that installs, past that point.
pub fn getenv(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: `name` is NUL-terminated. glibc returns a pointer into the environment or
    // null; the constructor runs before `main` and before any thread of ours exists.
    // Callers drop the slice before the string can be rewritten (see above).
    let value = unsafe { libc::getenv(name.as_ptr()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: a non-null result of getenv is a NUL-terminated string.
    Some(unsafe { CStr::from_ptr(value) }.to_bytes())
}

/// Removes `name` from the environment.
pub fn unsetenv(name: &CStr) {
    // SAFETY: `name` is NUL-terminated; unsetenv only edits the environment array.
    unsafe { libc::unsetenv(name.as_ptr()) };
}

/// Sets `name` to `value` (both NUL-terminated); false if glibc is out of memory.
pub fn setenv(name: &CStr, value: &CStr) -> bool {
    // SAFETY: both strings are NUL-terminated; setenv copies them.
    unsafe { libc::setenv(name.as_ptr(), value.as_ptr(), 1) == 0 }
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    // SAFETY: __errno_location returns the calling thread's errno slot, always valid.
    unsafe { *libc::__errno_location() }
}

/// Reads up to `buf.len()` bytes at `offset` of `fd` into `buf`, which need not be
/// initialised (nothing writes it first), retrying on EINTR and short reads; the
/// bytes read.
pub fn pread_full(
    fd: i32,
    buf: &mut [core::mem::MaybeUninit<u8>],
    offset: usize,
) -> Result<&[u8], i32> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is writable for `rest.len()` bytes; pread writes no more.
        let n = unsafe {
            libc::pread(
                fd,
                rest.as_mut_ptr().cast::<c_void>(),
                rest.len(),
                (offset + done) as libc::off_t,
            )
        };
        match n {
            0 => break,
            n if n > 0 => done += n as usize,
            _ if errno() == libc::EINTR => continue,
            _ => return Err(errno()),
        }
    }
    // SAFETY: pread initialised the first `done` bytes.
    Ok(unsafe { core::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), done) })
}

/// Opens `path` read-only and close-on-exec.
pub fn open_read(path: &CStr) -> Result<i32, i32> {
    // SAFETY: `path` is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    Ok(fd)
}

/// Closes `fd`, ignoring errors: there is nothing to do about them before `main`.
pub fn close(fd: i32) {
    // SAFETY: closing an fd has no memory effects.
    unsafe { libc::close(fd) };
}

/// Writes all of `bytes` to standard error, as far as it will go.
pub fn write_stderr(bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `rest` is readable for `rest.len()` bytes.
        let n = unsafe { libc::write(2, rest.as_ptr().cast::<c_void>(), rest.len()) };
        match n {
            n if n > 0 => rest = &rest[n as usize..],
            _ if errno() == libc::EINTR => continue,
            _ => return,
        }
    }
}

/// Ends the process at once, without running `atexit` handlers or destructors.
pub fn exit_now(status: i32) -> ! {
    // SAFETY: _exit never returns and touches no memory of ours.
    unsafe { libc::_exit(status) }
}

/// The text of an errno value.
pub fn strerror(err: i32) -> &'static [u8] {
    // SAFETY: strerror returns a pointer to a static or thread-local NUL-terminated
    // string; the shim reads it at once and runs before any thread of its own.
    let text = unsafe { libc::strerror(err) };
    if text.is_null() {
        return b"unknown error";
    }
    // SAFETY: non-null, NUL-terminated, as above.
    unsafe { CStr::from_ptr(text) }.to_bytes()
}

/// `prctl(PR_GET_SECCOMP)`: the process's seccomp mode, or the errno.
pub fn seccomp_mode() -> Result<i32, i32> {
    // SAFETY: PR_GET_SECCOMP reads no memory.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    if mode < 0 {
        return Err(errno());
    }
    Ok(mode)
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
pub fn set_no_new_privs() -> Result<(), i32> {
    // SAFETY: PR_SET_NO_NEW_PRIVS reads only its integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(errno());
    }
    Ok(())
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)` for a program of raw
/// `struct sock_filter` bytes. With TSYNC, a positive return names a thread that could
/// not be synchronised (it runs under another filter); that is reported as EBUSY.
pub fn install_filter(program: &[u8], flags: u32) -> Result<(), i32> {
    let Ok(len) = u16::try_from(program.len() / 8) else {
        return Err(libc::E2BIG);
    };
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `len` 8-byte instructions inside `program`, which
    // outlives the call; the kernel copies the program before returning and only reads
    // through the pointer (the cast to `*mut` is the C prototype's, not a write).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(flags),
            &prog as *const libc::sock_fprog,
        )
    };
    match rc {
        0 => Ok(()),
        rc if rc > 0 => Err(libc::EBUSY),
        _ => Err(errno()),
    }
}

/// Whether the running kernel's release (`uname -r`) passes `check`.
pub fn kernel_release_is(check: fn(&[u8]) -> bool) -> bool {
    // SAFETY: an all-zero `utsname` is a valid value of the plain C struct.
    let mut names: libc::utsname = unsafe { core::mem::zeroed() };
    // SAFETY: `names` is a valid, writable `struct utsname`.
    if unsafe { libc::uname(&mut names) } != 0 {
        return false;
    }
    let release = names.release.map(|c| c as u8);
    let end = release
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(release.len());
    check(&release[..end])
}

/// The file the shim was loaded from, as the loader recorded it.
pub fn own_path() -> Option<&'static [u8]> {
    // SAFETY: an all-zero `Dl_info` is a valid value of the plain C struct.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    let here = own_path as *const c_void;
    // SAFETY: `here` is an address inside this library; dladdr fills `info` and keeps
    // ownership of the strings, which live as long as the library stays loaded.
    if unsafe { libc::dladdr(here, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is non-null and NUL-terminated.
    Some(unsafe { CStr::from_ptr(info.dli_fname) }.to_bytes())
}

/// The engine's entry point, as `shim/engine` exports it.
pub type EngineFn = unsafe extern "C" fn(*const c_char, *mut *const u8, *mut u8, usize) -> isize;

/// Opens the library at `path` and finds `symbol` in it.
pub fn load_engine(path: &CStr, symbol: &CStr) -> Result<EngineFn, &'static [u8]> {
    // SAFETY: `path` is NUL-terminated. The engine's constructors are the standard
    // library's, which run nothing of the target's.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(dlerror());
    }
    // SAFETY: `handle` is a live handle and `symbol` NUL-terminated. The library stays
    // loaded for the life of the process, so the pointer stays valid.
    let entry = unsafe { libc::dlsym(handle, symbol.as_ptr()) };
    if entry.is_null() {
        return Err(dlerror());
    }
    // SAFETY: the engine exports this symbol with exactly `EngineFn`'s prototype, checked
    // at compile time in the engine crate.
    Ok(unsafe { core::mem::transmute::<*mut c_void, EngineFn>(entry) })
}

fn dlerror() -> &'static [u8] {
    // SAFETY: dlerror returns null or a NUL-terminated string that stays valid until the
    // next dl* call; it is used at once.
    let text = unsafe { libc::dlerror() };
    if text.is_null() {
        return b"unknown dynamic loader error";
    }
    // SAFETY: non-null and NUL-terminated, as above.
    unsafe { CStr::from_ptr(text) }.to_bytes()
}

/// What a call of the engine gave.
pub enum Engine {
    /// The frame it built, kept for the life of the process; empty when the profile
    /// asks for no filter.
    Frame(&'static [u8]),
    /// It failed, and wrote its message into the buffer it was given.
    Failed,
    /// It broke its contract, as the text says.
    Broken(&'static [u8]),
}

/// Calls the engine for `source`, with `err` for its message.
pub fn call_engine(entry: EngineFn, source: &CStr, err: &mut [u8]) -> Engine {
    let mut frame: *const u8 = core::ptr::null();
    // SAFETY: the contract of `secshim_engine_frame_v2`: a NUL-terminated source, a
    // writable pointer and a buffer writable for its length.
    let len = unsafe { entry(source.as_ptr(), &mut frame, err.as_mut_ptr(), err.len()) };
    match usize::try_from(len) {
        Err(_) => Engine::Failed,
        Ok(0) => Engine::Frame(&[]),
        Ok(_) if frame.is_null() => Engine::Broken(b"the engine returned no frame"),
        // SAFETY: the engine stored a frame of `len` bytes at `frame`, which it never
        // frees, and nothing writes to it again.
        Ok(len) => Engine::Frame(unsafe { core::slice::from_raw_parts(frame, len) }),
    }
}
