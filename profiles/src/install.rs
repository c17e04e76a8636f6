//! Installation: the only code that calls `prctl` and `seccomp`.
//!
//! runc's defaults need `SECCOMP_FILTER_FLAG_SPEC_ALLOW` and profiles may ask for `LOG`,
//! so the `seccomp(2)` call passes every flag the resolved profile asks for.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use crate::bpf::sock_filter;
use crate::resolve::Flags;

/// `SECCOMP_SET_MODE_FILTER`.
const SET_MODE_FILTER: libc::c_uint = 1;
/// `SECCOMP_FILTER_FLAG_TSYNC`.
pub const FLAG_TSYNC: libc::c_ulong = 1 << 0;
/// `SECCOMP_FILTER_FLAG_LOG`.
pub const FLAG_LOG: libc::c_ulong = 1 << 1;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`.
pub const FLAG_SPEC_ALLOW: libc::c_ulong = 1 << 2;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
pub const FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (Linux 5.19): once the listener has received
/// a call, only a fatal signal interrupts the caller's wait for the answer.
pub const FLAG_WAIT_KILLABLE_RECV: libc::c_ulong = 1 << 5;

/// Why installing failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("setting no_new_privs: {0}")]
    NoNewPrivs(#[source] io::Error),
    #[error("the filter is empty or longer than 65535 instructions")]
    BadLength,
    #[error("loading the seccomp filter: {source}{}", hint(.source))]
    Load {
        #[source]
        source: io::Error,
    },
}

fn hint(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EINVAL) => " (hint: the kernel needs CONFIG_SECCOMP_FILTER, or rejects a flag)",
        Some(libc::EACCES) => " (hint: no_new_privs is not set and CAP_SYS_ADMIN is missing)",
        Some(libc::ENOSYS) => " (hint: this kernel has no seccomp)",
        Some(libc::ENOMEM) => " (hint: the process already carries too many filters)",
        // `has_duplicate_listener` in kernel/seccomp.c: one listener per filter chain.
        Some(libc::EBUSY) => " (hint: a filter in force already has a seccomp listener)",
        _ => "",
    }
}

/// The kernel flags for a resolved profile's flags; `tsync` adds
/// `SECCOMP_FILTER_FLAG_TSYNC` so threads that already exist get the filter too.
pub fn kernel_flags(flags: Flags, tsync: bool) -> libc::c_ulong {
    let mut out = 0;
    if flags.log {
        out |= FLAG_LOG;
    }
    if flags.spec_allow {
        out |= FLAG_SPEC_ALLOW;
    }
    if tsync {
        out |= FLAG_TSYNC;
    }
    out
}

/// Sets `PR_SET_NO_NEW_PRIVS`, which an unprivileged process needs before it may
/// install a filter, and which keeps setuid programs from gaining privileges.
pub fn set_no_new_privs() -> Result<(), InstallError> {
    // SAFETY: prctl with PR_SET_NO_NEW_PRIVS reads only its integer arguments.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if rc != 0 {
        return Err(InstallError::NoNewPrivs(io::Error::last_os_error()));
    }
    Ok(())
}

/// Installs `program` with `seccomp(SECCOMP_SET_MODE_FILTER, flags, ...)`.
pub fn install(program: &[sock_filter], flags: libc::c_ulong) -> Result<(), InstallError> {
    set_mode_filter(program, flags).map(|_| ())
}

/// Installs `program` as [`install`] does, with `SECCOMP_FILTER_FLAG_NEW_LISTENER`
/// added to `flags`, and returns the listener: the fd on which the kernel hands over
/// each call the program answers with `SECCOMP_RET_USER_NOTIF`. The kernel opens it
/// close-on-exec, at the lowest free descriptor (`get_unused_fd_flags` in
/// `kernel/seccomp.c`).
pub fn install_with_listener(
    program: &[sock_filter],
    flags: libc::c_ulong,
) -> Result<OwnedFd, InstallError> {
    let fd = set_mode_filter(program, flags | FLAG_NEW_LISTENER)?;
    let fd = RawFd::try_from(fd).map_err(|_| InstallError::Load {
        source: io::Error::from_raw_os_error(libc::EBADF),
    })?;
    // SAFETY: with NEW_LISTENER, a successful seccomp(2) returns a new descriptor that
    // nothing else in this process owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, program)`, returning what the kernel
/// returned: 0, or the listener's fd.
fn set_mode_filter(
    program: &[sock_filter],
    flags: libc::c_ulong,
) -> Result<libc::c_long, InstallError> {
    let len = u16::try_from(program.len()).map_err(|_| InstallError::BadLength)?;
    if len == 0 {
        return Err(InstallError::BadLength);
    }
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `program`, which outlives the call; our `sock_filter` is
    // `repr(C)` with the kernel's layout (u16, u8, u8, u32), as is libc's. The kernel
    // copies the program before returning and keeps no pointer to it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc < 0 {
        return Err(InstallError::Load {
            source: io::Error::last_os_error(),
        });
    }
    Ok(rc)
}
