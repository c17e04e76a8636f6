//! The listener's thread: it receives every call the filter notifies and answers it
//! with what a [`Handler`] decides. Report mode's handler ([`Reporter`]) answers with
//! the decision the profile's own filter makes, then reports it; record mode has its
//! own (`crate::record`).
//!
//! The report's answer comes from running the original program in [`profiles::interp`]
//! on the notification's `seccomp_data`: the same input the kernel gave the rewritten
//! filter, which differs from the original only in its returns. Only registers are read,
//! so no answer depends on the program's memory, and `SECCOMP_IOCTL_NOTIF_ID_VALID`
//! (which guards reads of that memory against the caller going away) has nothing to
//! guard.
//!
//! The thread blocks in `SECCOMP_IOCTL_NOTIF_RECV`, which no timeout or poll can
//! interrupt once the caller it was woken for has gone; so it runs apart from the main
//! loop, which must notice the program's exit. If the thread fails, it drops the
//! listener: the kernel then answers every call the filter notifies with ENOSYS, where
//! keeping it would leave them blocked forever.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::Pid;
use profiles::action::Action;
use profiles::bpf::sock_filter;
use profiles::interp;

use super::decode::{call_text, syscall_name};
use super::kernel::{self, Answer, Notification};
use super::ledger::{Denial, Ledger};

/// The largest errno the kernel returns for SECCOMP_RET_ERRNO (`MAX_ERRNO`): it caps
/// the filter's 16 bits of data there (`kernel/seccomp.c __seccomp_filter`).
const MAX_ERRNO: u16 = 4095;

/// What the listener's thread does with each notified call.
pub trait Handler: Send {
    /// Checks what must hold before the first call is answered.
    fn start(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The answer to one call. `own_call` says the launcher's child made it before
    /// `execve` succeeded: the launcher's call, not the program's. Whatever the handler
    /// keeps of the call must be kept before it returns: once answered, the caller goes
    /// on, and the program may end before the next call is received.
    fn answer(&mut self, notification: &Notification, own_call: bool) -> Answer;

    /// Told once, when the listener fails and the thread ends.
    fn failed(&mut self, err: &io::Error);
}

/// Report mode's handler: the profile's decision, reported in the ledger.
pub struct Reporter {
    /// The profile's program as compiled, before the rewrite.
    pub program: Vec<sock_filter>,
    pub ledger: Arc<Mutex<Ledger>>,
}

impl Handler for Reporter {
    // Checked once here, so each call runs the program without checking it again.
    fn start(&mut self) -> io::Result<()> {
        interp::validate(&self.program)
            .map_err(|err| io::Error::other(format!("the compiled filter does not run: {err}")))
    }

    fn answer(&mut self, notification: &Notification, own_call: bool) -> Answer {
        let (answer, denial) = decide(&self.program, notification, own_call);
        // Counted before the answer: the caller cannot go on, and the program cannot
        // end, before its call is in the summary.
        if let Some(denial) = denial {
            if let Ok(mut ledger) = self.ledger.lock() {
                ledger.record(&denial);
            }
        }
        answer
    }

    fn failed(&mut self, err: &io::Error) {
        if let Ok(mut ledger) = self.ledger.lock() {
            ledger.note(&format!(
                "the listener failed: {err}; the filter's notified calls now fail with ENOSYS"
            ));
        }
    }
}

/// The listener's thread and what it needs.
pub struct Server {
    pub listener: OwnedFd,
    /// The launcher's child, which becomes the program at `execve`.
    pub child: Pid,
    /// The read end of the pipe the child holds close-on-exec: it hangs up once
    /// `execve` has succeeded (or the child is gone).
    pub exec_pipe: OwnedFd,
    pub handler: Box<dyn Handler>,
}

impl Server {
    /// Serves until the listener fails, then tells the handler why.
    pub fn run(mut self) {
        let err = self.serve();
        self.handler.failed(&err);
    }

    fn serve(&mut self) -> io::Error {
        // Only speed is at stake: a kernel without the flag answers as fast as it can.
        let _ = kernel::set_sync_wake_up(self.listener.as_fd());
        if let Err(err) = self.handler.start() {
            return err;
        }
        let mut started = false;
        loop {
            let notification = match kernel::receive(self.listener.as_fd()) {
                Ok(notification) => notification,
                // The caller was killed before the call was received.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EINTR)) => continue,
                Err(e) => return e,
            };
            started = started || self.program_started();
            let own_call = !started && notification.tid == self.child.as_raw() as u32;
            let answer = self.handler.answer(&notification, own_call);
            // ENOENT: the caller was killed while we decided; nothing waits for this.
            let _ = kernel::answer(self.listener.as_fd(), notification.id, answer);
        }
    }

    /// Whether `execve` has succeeded: the kernel closes the child's end of the pipe
    /// before the program runs, so a call notified after that is the program's.
    fn program_started(&self) -> bool {
        let mut fds = [PollFd::new(self.exec_pipe.as_fd(), PollFlags::empty())];
        let ready = poll(&mut fds, PollTimeout::ZERO).unwrap_or(0);
        let hung_up = fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLHUP));
        ready > 0 && hung_up
    }
}

/// The answer to a notified call, and the denial to report. The launcher's own calls
/// before `execve` (`own_call`) run as they would without the filter, except
/// `execve` itself, which the profile decides for the program. `program` must have
/// passed [`interp::validate`].
pub fn decide(
    program: &[sock_filter],
    notification: &Notification,
    own_call: bool,
) -> (Answer, Option<Denial>) {
    let data = &notification.data;
    let name = syscall_name(data.arch, data.nr);
    if own_call && !matches!(name.as_str(), "execve" | "execveat") {
        return (Answer::Continue, None);
    }
    let ret = interp::run_unchecked(program, data).ret;
    let (answer, note) = answer_for(Action::from_ret(ret));
    let denial = Denial {
        arch: data.arch,
        nr: data.nr,
        call: call_text(data.arch, data.nr, data.args),
        ret,
        pid: notification.tid,
        note,
    };
    (answer, Some(denial))
}

/// What the kernel would have done with the original filter's decision, and a note
/// for the report when the decision alone does not say it.
fn answer_for(action: Action) -> (Answer, Option<&'static str>) {
    match action {
        // ERRNO(0) makes the call return 0 without running.
        Action::Errno(0) => (Answer::Value(0), None),
        Action::Errno(errno) => (Answer::Error(i32::from(errno.min(MAX_ERRNO))), None),
        // `__seccomp_filter`: no tracer with PTRACE_O_TRACESECCOMP means -ENOSYS.
        Action::Trace(_) => (Answer::Error(libc::ENOSYS), Some("ENOSYS: no tracer")),
        // Not reached: a profile with an agent never runs under report mode. ENOSYS
        // is the kernel's answer for a notifying filter without a listener.
        Action::Notify => (Answer::Error(libc::ENOSYS), Some("ENOSYS: no listener")),
        // The rewrite notifies for nothing else; fail closed if it ever does.
        Action::Allow | Action::Log | Action::Trap | Action::KillThread | Action::KillProcess => {
            let note = "unexpected notification, answered ENOSYS";
            (Answer::Error(libc::ENOSYS), Some(note))
        }
    }
}

#[cfg(test)]
mod tests {
    use profiles::action::ret;
    use profiles::arch::{Abi, AUDIT_ARCH_X86_64};
    use profiles::bpf;
    use profiles::interp::SeccompData;

    use super::*;

    fn notification(nr: u32, args: [u64; 6]) -> Notification {
        Notification {
            id: 1,
            tid: 42,
            data: SeccompData::new(Abi::X86_64, nr, args),
        }
    }

    /// nr 1: ERRNO(a0); nr 2: TRACE; nr 3: NOTIFY; nr 4: ALLOW; else ERRNO(0).
    fn program() -> Vec<sock_filter> {
        vec![
            bpf::load(0),
            bpf::jump(bpf::JMP | bpf::JEQ, 1, 0, 4),
            bpf::load(16),
            bpf::jump(bpf::JMP | bpf::JEQ, 5000, 0, 1),
            bpf::ret(ret::ERRNO | 5000),
            bpf::ret(ret::ERRNO | 13),
            bpf::jump(bpf::JMP | bpf::JEQ, 2, 0, 1),
            bpf::ret(ret::TRACE | 1),
            bpf::jump(bpf::JMP | bpf::JEQ, 3, 0, 1),
            bpf::ret(ret::USER_NOTIF),
            bpf::jump(bpf::JMP | bpf::JEQ, 4, 0, 1),
            bpf::ret(ret::ALLOW),
            bpf::ret(ret::ERRNO),
        ]
    }

    fn answer(nr: u32, args: [u64; 6]) -> (Answer, Option<&'static str>) {
        let (answer, denial) = decide(&program(), &notification(nr, args), false);
        let denial = denial.expect("a denial");
        assert_eq!(
            (denial.arch, denial.nr, denial.pid),
            (AUDIT_ARCH_X86_64, nr, 42)
        );
        (answer, denial.note)
    }

    #[test]
    fn each_decision_gets_the_kernels_answer() {
        assert_eq!(answer(1, [0; 6]), (Answer::Error(13), None));
        assert_eq!(
            answer(1, [5000, 0, 0, 0, 0, 0]),
            (Answer::Error(4095), None)
        );
        assert_eq!(answer(9, [0; 6]), (Answer::Value(0), None));
        assert_eq!(answer(2, [0; 6]).0, Answer::Error(libc::ENOSYS));
        assert_eq!(answer(3, [0; 6]).0, Answer::Error(libc::ENOSYS));
        let (unexpected, note) = answer(4, [0; 6]);
        assert_eq!(unexpected, Answer::Error(libc::ENOSYS));
        assert!(note.unwrap().contains("unexpected"));
    }

    #[test]
    fn the_launchers_own_calls_run_but_execve_is_decided() {
        let (answer, denial) = decide(&program(), &notification(0, [0; 6]), true);
        assert_eq!(answer, Answer::Continue);
        assert!(denial.is_none());
        let execve = notification(59, [0; 6]);
        let (answer, denial) = decide(&program(), &execve, true);
        assert_eq!(answer, Answer::Value(0));
        assert!(denial.is_some());
    }
}
