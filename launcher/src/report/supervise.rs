//! The supervisor: the launcher's side once the child is forked. It takes the listener,
//! releases the child, then waits for the program to end while forwarding signals and
//! reading the kernel's audit records, and finally reports how the program ended.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use profiles::action::Action;

use super::audit::{self, Record};
use super::child::Message;
use super::decode::{signal_name, syscall_name};
use super::kernel;
use super::ledger::{Denial, Ledger};
use super::server::{Handler, Server};
use super::ReportError;
use crate::error::Error;

/// How long the audit records of the last calls may take to arrive after the program
/// has ended: `kauditd` sends them after the call, from its own thread.
const AUDIT_QUIET: Duration = Duration::from_millis(20);
/// How long to wait for the record that names the call a SIGSYS death came from.
const AUDIT_KILL_WAIT: Duration = Duration::from_millis(1000);

/// The supervisor's side of one launch.
pub struct Supervisor {
    pub child: Pid,
    pub pidfd: OwnedFd,
    /// Messages from the child; hangs up at `execve`.
    pub from_child: OwnedFd,
    /// A byte here lets the child `execve`.
    pub release: OwnedFd,
    pub signals: SignalFd,
    pub audit: Option<audit::Source>,
    pub ledger: Arc<Mutex<Ledger>>,
    /// What answers the notified calls; the listener's thread takes it.
    pub handler: Option<Box<dyn Handler>>,
    /// The program's path, for an `execve` that fails.
    pub program: PathBuf,
    /// Whether an audit record named a KILL or TRAP of the program's own process.
    pub child_named: bool,
}

/// How the program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Exited(i32),
    Signaled(Signal, bool),
}

/// Which descriptors of the main loop are ready.
#[derive(Default)]
struct Ready {
    /// The child ended.
    child: bool,
    signals: bool,
    audit: bool,
    /// The child's pipe has a message or hung up.
    pipe: bool,
}

/// What the main loop has read from the child's pipe.
#[derive(Default)]
struct Inbox {
    bytes: Vec<u8>,
    eof: bool,
}

impl Inbox {
    /// Reads what is there; at end of stream, notes it.
    fn fill(&mut self, fd: &OwnedFd) -> io::Result<()> {
        let mut buf = [0u8; 4096];
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => self.eof = true,
            Ok(n) => self.bytes.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    fn next(&mut self) -> Option<Message> {
        let (message, len) = Message::decode(&self.bytes, self.eof)?;
        self.bytes.drain(..len);
        Some(message)
    }
}

impl Supervisor {
    /// Runs the launch to its end; returns the program's exit status.
    pub fn run(mut self) -> Result<u8, Error> {
        let mut inbox = Inbox::default();
        let listener = self.take_listener(&mut inbox)?;
        self.start_server(listener)?;
        nix::unistd::write(&self.release, b"g")
            .map_err(|e| kernel_error("releasing the child", e.into()))?;
        let end = self.wait_for_end(&mut inbox)?;
        while !inbox.eof && inbox.fill(&self.from_child).is_ok() {}
        while let Some(message) = inbox.next() {
            if let Message::ExecFailed(errno) = message {
                return Err(self.exec_error(errno));
            }
        }
        self.finish_audit(end);
        Ok(self.report_end(end))
    }

    /// Waits for the child to say where the listener will be, then copies it out of
    /// the child as soon as the kernel has made it.
    fn take_listener(&mut self, inbox: &mut Inbox) -> Result<OwnedFd, Error> {
        let mut announced: Option<RawFd> = None;
        loop {
            while let Some(message) = inbox.next() {
                match message {
                    Message::Installing(fd) => announced = Some(fd),
                    Message::Failed { status, text } => {
                        return Err(ReportError::Child { status, text }.into())
                    }
                    Message::ExecFailed(errno) => return Err(self.exec_error(errno)),
                }
            }
            if let Some(fd) = announced {
                if let Some(listener) = self.listener_at(fd)? {
                    return Ok(listener);
                }
            }
            if inbox.eof {
                return Err(ReportError::ChildGone.into());
            }
            // Until the child announces, its pipe says when; after, the filter may
            // block the child before it can say more, so look again every millisecond.
            let timeout = match announced {
                Some(_) => PollTimeout::from(1u8),
                None => PollTimeout::NONE,
            };
            self.read_child_within(inbox, timeout)?;
        }
    }

    /// Reads what the child has sent, waiting at most `timeout` for it.
    fn read_child_within(&self, inbox: &mut Inbox, timeout: PollTimeout) -> Result<(), Error> {
        let mut fds = [PollFd::new(self.from_child.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(n) if n > 0 => inbox
                .fill(&self.from_child)
                .map_err(|e| kernel_error("reading from the launcher's child", e)),
            Ok(_) | Err(Errno::EINTR) => Ok(()),
            Err(e) => Err(kernel_error("poll", e.into())),
        }
    }

    /// The listener, if the child's descriptor `fd` exists yet.
    fn listener_at(&self, fd: RawFd) -> Result<Option<OwnedFd>, Error> {
        match kernel::pidfd_getfd(self.pidfd.as_fd(), fd) {
            Ok(copy) if is_listener(&copy) => Ok(Some(copy)),
            Ok(_) => Err(ReportError::NotAListener { fd }.into()),
            // Not made yet; or the child is gone, which its pipe will say, and why.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBADF | libc::ESRCH)) => Ok(None),
            Err(e) => Err(ReportError::GetFd { source: e }.into()),
        }
    }

    fn start_server(&mut self, listener: OwnedFd) -> Result<(), Error> {
        let exec_pipe = self
            .from_child
            .try_clone()
            .map_err(|e| kernel_error("dup", e))?;
        let Some(handler) = self.handler.take() else {
            return Err(kernel_error(
                "starting the listener thread",
                io::Error::other("the listener is served already"),
            ));
        };
        let server = Server {
            listener,
            child: self.child,
            exec_pipe,
            handler,
        };
        std::thread::Builder::new()
            .name("listener".to_string())
            .spawn(move || server.run())
            .map_err(|e| kernel_error("starting the listener thread", e))?;
        Ok(())
    }

    /// Forwards signals, reads audit records and the child's messages until the child
    /// has ended, and reaps it.
    fn wait_for_end(&mut self, inbox: &mut Inbox) -> Result<End, Error> {
        loop {
            let ready = self.poll_once(!inbox.eof)?;
            if ready.pipe {
                inbox
                    .fill(&self.from_child)
                    .map_err(|e| kernel_error("reading from the launcher's child", e))?;
            }
            if ready.signals {
                self.forward_signals();
            }
            if ready.audit {
                self.read_audit();
            }
            if ready.child {
                return self.reap();
            }
        }
    }

    /// Waits until one of the descriptors the main loop watches is ready.
    fn poll_once(&self, pipe_open: bool) -> Result<Ready, Error> {
        let mut fds = vec![
            PollFd::new(self.pidfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
        ];
        if let Some(audit) = &self.audit {
            fds.push(PollFd::new(audit.fd(), PollFlags::POLLIN));
        }
        if pipe_open {
            fds.push(PollFd::new(self.from_child.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => return Ok(Ready::default()),
            Err(e) => return Err(kernel_error("poll", e.into())),
        }
        let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        Ok(Ready {
            child: ready(&fds[0]),
            signals: ready(&fds[1]),
            audit: self.audit.is_some() && ready(&fds[2]),
            pipe: pipe_open && fds.last().is_some_and(ready),
        })
    }

    /// Passes each signal sent to the supervisor on to the program. A signal the kernel
    /// sent itself (`SI_KERNEL`: the terminal's ^C, ^\ and window size, a hang-up) went
    /// to the whole foreground process group, the program included, and is not sent
    /// twice.
    fn forward_signals(&self) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            if info.ssi_code == libc::SI_KERNEL {
                continue;
            }
            let _ = kernel::pidfd_send_signal(self.pidfd.as_fd(), info.ssi_signo as i32);
        }
    }

    fn read_audit(&mut self) {
        let Some(audit) = &mut self.audit else {
            return;
        };
        for record in audit.drain() {
            let named = self.attribute(&record);
            self.child_named |= named;
        }
    }

    /// Reports a KILL or TRAP record if it is about the program or one of its
    /// descendants; true if it named the program's own process.
    fn attribute(&self, record: &Record) -> bool {
        let action = Action::from_ret(record.code);
        if !matches!(
            action,
            Action::Trap | Action::KillThread | Action::KillProcess
        ) {
            return false;
        }
        let child = self.child.as_raw() as u32;
        if record.pid != child && !descends_from(record.pid, child) {
            return false;
        }
        let denial = Denial {
            arch: record.arch,
            nr: record.nr,
            call: syscall_name(record.arch, record.nr),
            ret: record.code,
            pid: record.pid,
            note: None,
        };
        if let Ok(mut ledger) = self.ledger.lock() {
            ledger.record(&denial);
        }
        record.pid == child
    }

    fn reap(&self) -> Result<End, Error> {
        loop {
            match waitid(Id::PIDFd(self.pidfd.as_fd()), WaitPidFlag::WEXITED) {
                Ok(WaitStatus::Exited(_, status)) => return Ok(End::Exited(status)),
                Ok(WaitStatus::Signaled(_, signal, core)) => {
                    return Ok(End::Signaled(signal, core))
                }
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(kernel_error("waitid", e.into())),
            }
        }
    }

    /// Reads the audit records of the program's last calls: until none has come for
    /// [`AUDIT_QUIET`], and after a death by SIGSYS until the one naming its call (for
    /// at most [`AUDIT_KILL_WAIT`]).
    fn finish_audit(&mut self, end: End) {
        if self.audit.is_none() {
            return;
        }
        let mut want_kill = matches!(end, End::Signaled(Signal::SIGSYS, _)) && !self.child_named;
        let deadline = Instant::now() + AUDIT_KILL_WAIT;
        loop {
            let wait = match want_kill {
                true => deadline.saturating_duration_since(Instant::now()),
                false => AUDIT_QUIET,
            };
            if wait.is_zero() || !self.audit_ready(wait) {
                return;
            }
            self.read_audit();
            want_kill = want_kill && !self.child_named;
        }
    }

    fn audit_ready(&self, wait: Duration) -> bool {
        let Some(audit) = &self.audit else {
            return false;
        };
        let millis = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(audit.fd(), PollFlags::POLLIN)];
        matches!(poll(&mut fds, PollTimeout::from(millis)), Ok(n) if n > 0)
    }

    /// `execve` failed in the child: reported as exec mode reports it.
    fn exec_error(&self, errno: i32) -> Error {
        match errno {
            libc::ENOENT => Error::ProgramNotFound {
                name: self.program.display().to_string(),
            },
            _ => Error::ProgramNotExecutable {
                path: self.program.clone(),
                reason: io::Error::from_raw_os_error(errno).to_string(),
            },
        }
    }

    /// Reports how the program ended and the summary; the exit status to pass on,
    /// 128+N for a death by signal N, as a shell reports it.
    fn report_end(&self, end: End) -> u8 {
        let (status, text) = match end {
            End::Exited(status) => (status as u8, format!("exit: status {}", status as u8)),
            End::Signaled(signal, core) => {
                let status = 128u8.wrapping_add(signal as u8);
                let name = signal_name(signal as i32).unwrap_or("a signal");
                let core = if core { ", core dumped" } else { "" };
                let unnamed = signal == Signal::SIGSYS && !self.child_named;
                let why = match unnamed {
                    true => "; no audit record named the call",
                    false => "",
                };
                (
                    status,
                    format!("exit: killed by {name}{core} (status {status}){why}"),
                )
            }
        };
        if let Ok(mut ledger) = self.ledger.lock() {
            ledger.note(&text);
            ledger.close();
        }
        status
    }
}

/// Whether the descriptor is a seccomp listener, as `/proc` names it.
fn is_listener(fd: &OwnedFd) -> bool {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    link.is_ok_and(|target| target.as_os_str() == "anon_inode:seccomp notify")
}

/// Whether `pid` is a descendant of `ancestor`, following parent pids through
/// `/proc`. A process that has already been reaped cannot be followed.
fn descends_from(pid: u32, ancestor: u32) -> bool {
    let mut current = pid;
    // Process trees are shallow; the bound only stops a loop on a racing /proc.
    for _ in 0..64 {
        let Some(parent) = parent_of(current) else {
            return false;
        };
        if parent == ancestor {
            return true;
        }
        if parent <= 1 {
            return false;
        }
        current = parent;
    }
    false
}

/// The parent pid in `/proc/PID/stat`: the field after the command, which is in
/// parentheses and may itself hold any character.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after) = stat.rsplit_once(')')?;
    after.split_whitespace().nth(1)?.parse().ok()
}

fn kernel_error(op: &'static str, source: io::Error) -> Error {
    ReportError::Kernel { op, source }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_descends_from_its_parent_and_not_from_its_child_or_init() {
        let me = std::process::id();
        let parent = nix::unistd::getppid().as_raw() as u32;
        assert_eq!(parent_of(me), Some(parent));
        assert!(descends_from(me, parent));
        assert!(!descends_from(parent, me));
        assert!(!descends_from(me, u32::MAX));
        assert_eq!(parent_of(u32::MAX), None);
    }
}
