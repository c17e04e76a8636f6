//! Seccomp actions: what the kernel does with a syscall.

use std::fmt;

/// `SECCOMP_RET_*` values from `include/uapi/linux/seccomp.h`.
pub mod ret {
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    pub const KILL_THREAD: u32 = 0x0000_0000;
    pub const TRAP: u32 = 0x0003_0000;
    pub const ERRNO: u32 = 0x0005_0000;
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    pub const TRACE: u32 = 0x7ff0_0000;
    pub const LOG: u32 = 0x7ffc_0000;
    pub const ALLOW: u32 = 0x7fff_0000;
    /// The action part of a return value.
    pub const ACTION_FULL: u32 = 0xffff_0000;
    /// The data part of a return value.
    pub const DATA: u32 = 0x0000_ffff;
}

/// A seccomp action, with its data where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Kill the calling thread (`SCMP_ACT_KILL`, `SCMP_ACT_KILL_THREAD`).
    KillThread,
    /// Kill the whole process.
    KillProcess,
    /// Deliver `SIGSYS`.
    Trap,
    /// Fail the syscall with this errno; the kernel caps it at 4095.
    Errno(u16),
    /// Notify a ptrace tracer with this event message; `ENOSYS` without a tracer.
    Trace(u16),
    /// Run the syscall.
    Allow,
    /// Run the syscall and log it.
    Log,
    /// Ask the user-space listener.
    Notify,
}

/// The errno runc uses for `SCMP_ACT_ERRNO` and the data for `SCMP_ACT_TRACE` when the
/// profile gives none (`libcontainer/seccomp/seccomp_linux.go getAction`).
pub const DEFAULT_ERRNO: u16 = libc::EPERM as u16;

impl Action {
    /// The action a profile string names, with the errno (or trace data) to use for
    /// `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE`; the data is ignored for other actions, as
    /// runc ignores it. `None` for a string runc rejects.
    pub fn from_profile(name: &str, data: Option<u64>) -> Option<Action> {
        // runc converts the errno through int16 before libseccomp masks it to 16 bits:
        // keeping the low 16 bits gives the same value for every input.
        let data = data.map_or(DEFAULT_ERRNO, |d| (d & 0xffff) as u16);
        Some(match name {
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
            "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
            "SCMP_ACT_TRAP" => Action::Trap,
            "SCMP_ACT_ERRNO" => Action::Errno(data),
            "SCMP_ACT_TRACE" => Action::Trace(data),
            "SCMP_ACT_ALLOW" => Action::Allow,
            "SCMP_ACT_LOG" => Action::Log,
            "SCMP_ACT_NOTIFY" => Action::Notify,
            _ => return None,
        })
    }

    /// The value a filter returns for this action.
    pub fn ret(self) -> u32 {
        match self {
            Action::KillThread => ret::KILL_THREAD,
            Action::KillProcess => ret::KILL_PROCESS,
            Action::Trap => ret::TRAP,
            Action::Errno(e) => ret::ERRNO | u32::from(e),
            Action::Trace(d) => ret::TRACE | u32::from(d),
            Action::Allow => ret::ALLOW,
            Action::Log => ret::LOG,
            Action::Notify => ret::USER_NOTIF,
        }
    }

    /// The action a filter return value stands for, as the kernel reads it
    /// (`kernel/seccomp.c __seccomp_filter`): unknown actions kill the process.
    pub fn from_ret(value: u32) -> Action {
        let data = (value & ret::DATA) as u16;
        match value & ret::ACTION_FULL {
            ret::KILL_THREAD => Action::KillThread,
            ret::TRAP => Action::Trap,
            ret::ERRNO => Action::Errno(data),
            ret::USER_NOTIF => Action::Notify,
            ret::TRACE => Action::Trace(data),
            ret::LOG => Action::Log,
            ret::ALLOW => Action::Allow,
            _ => Action::KillProcess,
        }
    }

    /// True for the actions that let the syscall run (runc's `isAllowAction`, which also
    /// counts TRACE: with a tracer attached the call may run).
    pub fn may_run(self) -> bool {
        matches!(self, Action::Allow | Action::Log | Action::Trace(_))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::KillThread => f.write_str("KILL_THREAD"),
            Action::KillProcess => f.write_str("KILL_PROCESS"),
            Action::Trap => f.write_str("TRAP"),
            Action::Errno(e) => write!(f, "ERRNO({e})"),
            Action::Trace(d) => write!(f, "TRACE({d})"),
            Action::Allow => f.write_str("ALLOW"),
            Action::Log => f.write_str("LOG"),
            Action::Notify => f.write_str("NOTIFY"),
        }
    }
}
