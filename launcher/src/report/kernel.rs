//! Report mode's calls into the kernel that need `unsafe`: fork, the pidfd calls, the
//! seccomp listener's ioctls and the audit netlink socket. Everything else in report
//! mode goes through `nix` and `std`.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::signal::{signal, SigHandler, SigSet, SigmaskHow, Signal};
use nix::unistd::Pid;
use profiles::interp::SeccompData;

/// Which side of a fork the caller is on.
pub enum Forked {
    Parent(Pid),
    Child,
}

/// Forks the launcher, which must have one thread: the child then owns the only copy of
/// every lock, so it may allocate and use the standard library freely before `execve`.
pub fn fork() -> io::Result<Forked> {
    let threads = std::fs::read_dir("/proc/self/task").map_or(1, |dir| dir.count());
    if threads != 1 {
        return Err(io::Error::other(format!("{threads} threads are running")));
    }
    // SAFETY: the process has one thread (checked above; the launcher starts none
    // before this point), so no lock can be held by a thread the child would lack.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child)),
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
    }
}

/// Ends the forked child at once, without the exit handlers and buffers the parent's
/// copy owns.
pub fn exit_now(status: u8) -> ! {
    // SAFETY: _exit takes an integer and does not return.
    unsafe { libc::_exit(i32::from(status)) }
}

/// Puts the signal state back to what a fresh program expects, as `Command::exec`
/// does for exec mode: no signal blocked, and `SIGPIPE` at its default (the Rust
/// runtime ignores it, and an ignored signal stays ignored across `execve`).
pub fn reset_signals() -> io::Result<()> {
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
    // SAFETY: installing SIG_DFL runs no handler code of ours.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }?;
    Ok(())
}

/// `pidfd_open(pid, 0)`: a descriptor for the child that cannot come to name another
/// process once the pid is reused.
pub fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    owned(fd)
}

/// `pidfd_getfd(pidfd, fd, 0)`: a duplicate of descriptor `fd` of the process, which
/// needs the right to ptrace it (`PTRACE_MODE_ATTACH_REALCREDS`).
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_getfd takes three integers and returns a new descriptor or -1.
    let new = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    owned(new)
}

/// `pidfd_send_signal(pidfd, signal, NULL, 0)`: `kill` without the pid reuse race.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> io::Result<()> {
    let null = std::ptr::null::<libc::siginfo_t>();
    // SAFETY: a NULL siginfo makes the kernel fill in one as kill(2) would.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            null,
            0,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Checks that the kernel's notification structures have the sizes of `libc`'s, which
/// the ioctls below read and write: a kernel with larger ones would write past them.
pub fn check_notification_sizes() -> io::Result<()> {
    let mut sizes = libc::seccomp_notif_sizes {
        seccomp_notif: 0,
        seccomp_notif_resp: 0,
        seccomp_data: 0,
    };
    let sizes_ptr = &mut sizes as *mut libc::seccomp_notif_sizes;
    // SAFETY: SECCOMP_GET_NOTIF_SIZES writes one seccomp_notif_sizes, which `sizes` is.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_NOTIF_SIZES,
            0,
            sizes_ptr,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let ours = (
        size_of::<libc::seccomp_notif>(),
        size_of::<libc::seccomp_notif_resp>(),
    );
    let kernel = (
        usize::from(sizes.seccomp_notif),
        usize::from(sizes.seccomp_notif_resp),
    );
    if kernel != ours {
        return Err(io::Error::other(format!(
            "the kernel's notification sizes {kernel:?} differ from seclaunch's {ours:?}"
        )));
    }
    Ok(())
}

/// One call the kernel handed to the listener.
#[derive(Clone, Copy, Debug)]
pub struct Notification {
    /// The cookie the answer must carry.
    pub id: u64,
    /// The calling thread, in the supervisor's pid namespace.
    pub tid: u32,
    /// What the filter saw.
    pub data: SeccompData,
}

/// `SECCOMP_IOCTL_NOTIF_RECV`: waits for the next call. The kernel wants the structure
/// zeroed. Fails with `ENOENT` when the caller went away before it was received.
pub fn receive(listener: BorrowedFd<'_>) -> io::Result<Notification> {
    // SAFETY: seccomp_notif is plain integers, for which all zeroes is valid.
    let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    let notif_ptr = &mut notif as *mut libc::seccomp_notif;
    // SAFETY: the ioctl writes one seccomp_notif, whose size check_notification_sizes
    // compared with the kernel's.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            notif_ptr,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let data = notif.data;
    Ok(Notification {
        id: notif.id,
        tid: notif.pid,
        data: SeccompData {
            nr: data.nr as u32,
            arch: data.arch,
            instruction_pointer: data.instruction_pointer,
            args: data.args,
        },
    })
}

/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, `include/uapi/linux/seccomp.h` (Linux 6.6).
const NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS` with `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`: the
/// caller and the supervisor take turns, so the kernel wakes each on the CPU the other
/// leaves, which makes a round trip several times faster. Older kernels refuse it.
pub fn set_sync_wake_up(listener: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: SECCOMP_IOCTL_NOTIF_SET_FLAGS takes the flags as an integer argument.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            NOTIF_FD_SYNC_WAKE_UP,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// How the supervisor answers a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Fail the call with this errno (positive).
    Error(i32),
    /// Return this value without running the call.
    Value(i64),
    /// Run the call (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`): only for the launcher's own
    /// calls before `execve`, never for the program's.
    Continue,
}

/// `SECCOMP_IOCTL_NOTIF_SEND`. Fails with `ENOENT` when the caller went away (a signal
/// killed it) before the answer arrived.
pub fn answer(listener: BorrowedFd<'_>, id: u64, answer: Answer) -> io::Result<()> {
    let (val, error, flags) = match answer {
        Answer::Error(errno) => (0, -errno, 0),
        Answer::Value(value) => (value, 0, 0),
        Answer::Continue => (0, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32),
    };
    let mut resp = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    let resp_ptr = &mut resp as *mut libc::seccomp_notif_resp;
    // SAFETY: the ioctl reads one seccomp_notif_resp, whose size
    // check_notification_sizes compared with the kernel's.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            resp_ptr,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `AUDIT_NLGRP_READLOG`, `include/uapi/linux/audit.h`: the multicast group that
/// receives a copy of every audit record.
const AUDIT_NLGRP_READLOG: u32 = 1;

/// A non-blocking netlink socket subscribed to the kernel's audit records. Joining the
/// group needs `CAP_AUDIT_READ`.
pub fn audit_socket() -> io::Result<OwnedFd> {
    let kind = libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
    // SAFETY: socket(2) takes three integers and returns a new descriptor or -1.
    let fd = owned(unsafe { libc::socket(libc::AF_NETLINK, kind, libc::NETLINK_AUDIT) }.into())?;
    // SAFETY: sockaddr_nl is plain integers, for which all zeroes is valid.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_groups = AUDIT_NLGRP_READLOG;
    let addr_ptr = &addr as *const libc::sockaddr_nl as *const libc::sockaddr;
    let len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: `addr_ptr` points at a sockaddr_nl of `len` bytes that outlives the call.
    let rc = unsafe { libc::bind(fd.as_fd().as_raw_fd(), addr_ptr, len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}
