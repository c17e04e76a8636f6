//! The one call of the agent handover that needs `unsafe`: `sendmsg` with the listener
//! as `SCM_RIGHTS`, from buffers made before the filter goes in.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

/// One control message carrying one descriptor, laid out as `CMSG_SPACE(sizeof(int))`
/// bytes: the header, then the descriptor at `CMSG_DATA`, then the padding to the
/// header's alignment (`include/linux/socket.h`).
#[repr(C)]
struct Rights {
    header: libc::cmsghdr,
    fd: libc::c_int,
}

// SAFETY: CMSG_SPACE and CMSG_LEN only compute with their argument.
const SPACE: usize = unsafe { libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) } as usize;
// SAFETY: as above.
const LEN: usize = unsafe { libc::CMSG_LEN(size_of::<libc::c_int>() as u32) } as usize;

// The struct is the kernel's layout only if the descriptor sits where CMSG_DATA puts
// it and the whole is CMSG_SPACE long; checked at compile time for the target.
const _: () = assert!(size_of::<Rights>() == SPACE);
const _: () = assert!(std::mem::offset_of!(Rights, fd) + size_of::<libc::c_int>() == LEN);

/// Sends `data` on the connected stream socket `socket` with `fd` attached, in one
/// `sendmsg`, and makes no other call: it runs right after the filter is installed,
/// where any other call could be one the profile hands to an agent that has no
/// listener yet. `MSG_NOSIGNAL`: an agent gone away is EPIPE, not a SIGPIPE.
pub fn send_with_fd(socket: BorrowedFd<'_>, data: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: an all-zero cmsghdr is a valid value of the plain C struct.
    let mut header: libc::cmsghdr = unsafe { std::mem::zeroed() };
    header.cmsg_len = LEN as _;
    header.cmsg_level = libc::SOL_SOCKET;
    header.cmsg_type = libc::SCM_RIGHTS;
    let mut rights = Rights {
        header,
        fd: fd.as_raw_fd(),
    };
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: an all-zero msghdr is valid (null name, no iovecs, no control data),
    // and zeroing also fills the private padding some C libraries give it.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = (&mut rights as *mut Rights).cast();
    msg.msg_controllen = SPACE as _;
    loop {
        // SAFETY: `msg` points at `iov` and `rights`, which live until the call
        // returns; `iov` describes `data`, which the kernel only reads. The kernel
        // copies everything before returning and keeps no pointer.
        let sent = unsafe { libc::sendmsg(socket.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        match usize::try_from(sent) {
            Ok(n) if n == data.len() => return Ok(()),
            Ok(n) => {
                return Err(io::Error::other(format!(
                    "the agent took {n} of {} bytes",
                    data.len()
                )))
            }
            Err(_) => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
}
