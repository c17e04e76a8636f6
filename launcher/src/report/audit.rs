//! The kernel's seccomp audit records (`AUDIT_SECCOMP`, type 1326): how report mode
//! learns of the calls the kernel itself decides, KILL and TRAP, which never reach the
//! listener.
//!
//! `kernel/seccomp.c seccomp_log` writes a record for every KILL (unless
//! `/proc/sys/kernel/seccomp/actions_logged` leaves it out) and, for a filter installed
//! with `SECCOMP_FILTER_FLAG_LOG`, for every TRAP. The record names the process (its
//! thread group id), the audit arch, the syscall number and the filter's return value;
//! not the arguments. `kauditd` sends it on, after the call, to two places this module
//! reads:
//!
//! - the audit netlink multicast group, for a reader with `CAP_AUDIT_READ`: every
//!   record, whether or not `auditd` runs;
//! - the kernel log (`/dev/kmsg`), when no `auditd` takes the records, limited by
//!   `printk_ratelimit` (10 records per 5 seconds by default), and readable only with
//!   `CAP_SYSLOG` where `kernel.dmesg_restrict` is 1.
//!
//! Ptrace would also see TRAP's SIGSYS, with its arguments, but a tracer changes what
//! the program sees (`TracerPid`, and it could no longer be traced itself), which the
//! audit records do not.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use super::kernel;

/// `AUDIT_SECCOMP`, `include/uapi/linux/audit.h`.
const AUDIT_SECCOMP: u16 = 1326;

/// What a seccomp audit record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// The process (thread group id).
    pub pid: u32,
    /// `AUDIT_ARCH_*`.
    pub arch: u32,
    /// The syscall number.
    pub nr: u32,
    /// The filter's return value.
    pub code: u32,
}

/// Reads the fields of a record's text: `... pid=12 comm="x" ... arch=c000003e
/// syscall=110 compat=0 ip=0x... code=0x30000`. `comm` and `exe` cannot fake a field:
/// the kernel writes a value with a space or quote in hex (`audit_log_untrustedstring`),
/// and a quoted one starts its word with its own key.
pub fn parse(text: &str) -> Option<Record> {
    let field = |key: &str| {
        text.split_ascii_whitespace()
            .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
    };
    let hex = |value: &str| u32::from_str_radix(value.trim_start_matches("0x"), 16).ok();
    Some(Record {
        pid: field("pid")?.parse().ok()?,
        arch: hex(field("arch")?)?,
        nr: field("syscall")?.parse().ok()?,
        code: hex(field("code")?)?,
    })
}

/// Where the records are read from.
pub enum Source {
    Netlink(OwnedFd),
    Kmsg(File),
}

impl Source {
    /// The netlink group if this process may join it, else the kernel log from its end,
    /// else nothing.
    pub fn open() -> Option<Source> {
        if let Ok(fd) = kernel::audit_socket() {
            return Some(Source::Netlink(fd));
        }
        let mut kmsg = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .ok()?;
        kmsg.seek(SeekFrom::End(0)).ok()?;
        Some(Source::Kmsg(kmsg))
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Source::Netlink(fd) => fd.as_fd(),
            Source::Kmsg(file) => file.as_fd(),
        }
    }

    /// Which channel this is, for `--verbose`.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Netlink(_) => "the audit netlink group",
            Source::Kmsg(_) => "/dev/kmsg",
        }
    }

    /// Every seccomp record waiting now.
    pub fn drain(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match self.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                // Lost records (a full socket buffer, an overwritten log) are lost;
                // the rest are still worth reading.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOBUFS | libc::EPIPE)) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let record = match self {
                Source::Netlink(_) => netlink_text(&buf[..n]),
                Source::Kmsg(_) => kmsg_text(&buf[..n]),
            };
            out.extend(record.and_then(parse));
        }
        out
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Netlink(fd) => nix::unistd::read(fd, buf).map_err(io::Error::from),
            Source::Kmsg(file) => file.read(buf),
        }
    }
}

/// The text of a netlink message if it is a seccomp record: a 16-byte `nlmsghdr`
/// (length, type, flags, sequence, port), then the text.
fn netlink_text(message: &[u8]) -> Option<&str> {
    let header = message.get(..16)?;
    let len = u32::from_ne_bytes(header[..4].try_into().ok()?) as usize;
    let kind = u16::from_ne_bytes(header[4..6].try_into().ok()?);
    if kind != AUDIT_SECCOMP {
        return None;
    }
    let body = message.get(16..len.min(message.len()))?;
    std::str::from_utf8(body).ok()
}

/// The text of a kernel log record if it is a seccomp record:
/// `5,373,7031237292,-;audit: type=1326 audit(...): ...`.
fn kmsg_text(record: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(record).ok()?;
    let (_, message) = text.split_once(';')?;
    let body = message.strip_prefix("audit: type=1326 ")?;
    body.lines().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAP: &str = "audit(1796358131.806:24): auid=4294967295 uid=0 gid=0 \
        ses=4294967295 pid=5537 comm=\"k\" exe=\"/tmp/k\" sig=0 arch=c000003e \
        syscall=110 compat=0 ip=0x7f43e2421829 code=0x30000";

    #[test]
    fn a_record_gives_pid_arch_syscall_and_code() {
        let want = Record {
            pid: 5537,
            arch: 0xc000_003e,
            nr: 110,
            code: 0x30000,
        };
        assert_eq!(parse(TRAP), Some(want));
        assert_eq!(parse("audit(1.2:3): pid=1 arch=40000003"), None);
    }

    #[test]
    fn comm_and_exe_cannot_fake_a_field() {
        let text = TRAP.replace("comm=\"k\"", "comm=\"pid=1\"");
        assert_eq!(parse(&text).map(|r| r.pid), Some(5537));
    }

    #[test]
    fn kernel_log_and_netlink_framing_are_taken_apart() {
        let line = format!("5,373,7031237292,-;audit: type=1326 {TRAP}\n");
        assert_eq!(kmsg_text(line.as_bytes()), Some(TRAP));
        assert_eq!(kmsg_text(b"6,1,2,-;audit: type=1300 x"), None);
        let mut message = Vec::new();
        message.extend_from_slice(&((16 + TRAP.len()) as u32).to_ne_bytes());
        message.extend_from_slice(&AUDIT_SECCOMP.to_ne_bytes());
        message.extend_from_slice(&[0; 10]);
        message.extend_from_slice(TRAP.as_bytes());
        assert_eq!(netlink_text(&message), Some(TRAP));
        message[4..6].copy_from_slice(&1300u16.to_ne_bytes());
        assert_eq!(netlink_text(&message), None);
    }
}
