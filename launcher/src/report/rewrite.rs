//! The filters report mode installs, rewritten from the compiled program.
//!
//! The program answers the kernel with constant returns (`ret K`); report mode changes
//! only those constants, so every jump, every comparison and every decision path stays
//! the compiler's. Three kinds of return are changed:
//!
//! - ERRNO (runc's ENOSYS stub included) and TRACE become USER_NOTIF: the kernel hands
//!   the call to the supervisor, which answers with the errno the original program
//!   would have returned. TRACE without a tracer is `-ENOSYS`
//!   (`kernel/seccomp.c __seccomp_filter`), which the supervisor answers too.
//! - TRAP stays a kernel action, because only the kernel can deliver the SIGSYS the
//!   program expects (`si_code SYS_SECCOMP`, the syscall and its address: no process
//!   may forge a positive `si_code` for another). The kernel logs TRAP only for a filter
//!   installed with `SECCOMP_FILTER_FLAG_LOG`, and that flag would also log every
//!   notification. So TRAP moves to a second filter, [`trap_filter`], installed with
//!   the flag, that returns TRAP where the original does and ALLOW everywhere else; the
//!   listener's filter returns ALLOW there instead. The kernel applies the strongest
//!   result of the two (`seccomp_run_filters`), which is the original decision.
//! - ALLOW, LOG and KILL stay as they are: KILL is always logged.
//!
//! A USER_NOTIF the original program returns itself (an `SCMP_ACT_NOTIFY` rule) stays
//! one. Such a profile hands its calls to a seccomp agent and is refused before report
//! mode starts (`run::agent_mode`); were one to get here, the supervisor would answer
//! `-ENOSYS`, as the kernel does for a filter whose listener is closed.

use profiles::action::{ret, Action};
use profiles::bpf::{self, sock_filter};

/// Why a program cannot be rewritten.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// A `ret A` returns a value computed at run time, which no rewrite of constants
    /// can reach. seclaunch's compiler never emits one; failing is the safe answer.
    #[error("instruction {pc} returns a computed value, which report mode cannot rewrite")]
    ComputedReturn { pc: usize },
}

/// The filter installed with the listener: every ERRNO and TRACE return notifies;
/// TRAP returns ALLOW when `traps_apart` (the [`trap_filter`] decides them).
pub fn listener_filter(
    program: &[sock_filter],
    traps_apart: bool,
) -> Result<Vec<sock_filter>, RewriteError> {
    rewrite_returns(program, |action| match action {
        Action::Errno(_) | Action::Trace(_) | Action::Notify => ret::USER_NOTIF,
        Action::Trap if traps_apart => ret::ALLOW,
        other => other.ret(),
    })
}

/// The filter that decides TRAP apart, with `SECCOMP_FILTER_FLAG_LOG`: TRAP where the
/// program returns it, ALLOW everywhere else. `None` when the program never traps.
pub fn trap_filter(program: &[sock_filter]) -> Result<Option<Vec<sock_filter>>, RewriteError> {
    if !returns(program).any(|action| matches!(action, Action::Trap)) {
        return Ok(None);
    }
    let rewritten = rewrite_returns(program, |action| match action {
        Action::Trap => action.ret(),
        _ => ret::ALLOW,
    })?;
    Ok(Some(rewritten))
}

/// The decisions of every constant return in `program`.
fn returns(program: &[sock_filter]) -> impl Iterator<Item = Action> + '_ {
    program
        .iter()
        .filter(|insn| insn.code == bpf::RET | bpf::K)
        .map(|insn| Action::from_ret(insn.k))
}

/// `program` with each constant return's value replaced by `map` of its decision.
/// The original value is kept whenever `map` gives back the same action, so a return's
/// data (an errno, TRAP's data) only changes when its action does.
fn rewrite_returns(
    program: &[sock_filter],
    map: impl Fn(Action) -> u32,
) -> Result<Vec<sock_filter>, RewriteError> {
    let mut out = program.to_vec();
    for (pc, insn) in out.iter_mut().enumerate() {
        if insn.code == bpf::RET | bpf::A {
            return Err(RewriteError::ComputedReturn { pc });
        }
        if insn.code == bpf::RET | bpf::K {
            let action = Action::from_ret(insn.k);
            let value = map(action);
            if Action::from_ret(value) != Action::from_ret(insn.k) {
                insn.k = value;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use profiles::arch::Abi;
    use profiles::interp::{run, SeccompData};
    use profiles::{build, Options, DEFAULT_PROFILE};

    use super::*;

    fn default_program() -> Vec<sock_filter> {
        let built = build(
            DEFAULT_PROFILE.as_bytes(),
            "default",
            &Options::for_this_host(),
        )
        .expect("the default builds");
        built.filter.expect("a filter").1.program
    }

    /// The decision the kernel takes when both filters run: the strongest, as
    /// `seccomp_run_filters` orders actions.
    fn combined(listener: Action, trap: Option<Action>) -> Action {
        let rank = |action: Action| match action {
            Action::KillProcess => 0,
            Action::KillThread => 1,
            Action::Trap => 2,
            Action::Errno(_) => 3,
            Action::Notify => 4,
            Action::Trace(_) => 5,
            Action::Log => 6,
            Action::Allow => 7,
        };
        match trap {
            Some(other) if rank(other) < rank(listener) => other,
            _ => listener,
        }
    }

    fn expected(original: Action) -> Action {
        match original {
            Action::Errno(_) | Action::Trace(_) | Action::Notify => Action::Notify,
            other => other,
        }
    }

    #[test]
    fn errno_and_trace_returns_notify_and_the_rest_stay() {
        let program = vec![
            bpf::load(0),
            bpf::jump(bpf::JMP | bpf::JEQ, 1, 0, 1),
            bpf::ret(ret::ERRNO | 38),
            bpf::jump(bpf::JMP | bpf::JEQ, 2, 0, 1),
            bpf::ret(ret::TRACE | 7),
            bpf::jump(bpf::JMP | bpf::JEQ, 3, 0, 1),
            bpf::ret(ret::KILL_PROCESS),
            bpf::jump(bpf::JMP | bpf::JEQ, 4, 0, 1),
            bpf::ret(ret::LOG),
            bpf::ret(ret::ALLOW),
        ];
        let out = listener_filter(&program, false).unwrap();
        let mut want = program.clone();
        want[2] = bpf::ret(ret::USER_NOTIF);
        want[4] = bpf::ret(ret::USER_NOTIF);
        assert_eq!(out, want);
        assert_eq!(trap_filter(&program).unwrap(), None);
    }

    #[test]
    fn traps_move_to_their_own_filter() {
        let program = vec![
            bpf::load(0),
            bpf::jump(bpf::JMP | bpf::JEQ, 1, 0, 1),
            bpf::ret(ret::TRAP | 5),
            bpf::jump(bpf::JMP | bpf::JEQ, 2, 0, 1),
            bpf::ret(ret::ERRNO | 1),
            bpf::ret(ret::KILL_THREAD),
        ];
        let listener = listener_filter(&program, true).unwrap();
        assert_eq!(listener[2], bpf::ret(ret::ALLOW));
        assert_eq!(listener[4], bpf::ret(ret::USER_NOTIF));
        assert_eq!(listener[5], bpf::ret(ret::KILL_THREAD));
        let trap = trap_filter(&program).unwrap().expect("a trap filter");
        assert_eq!(trap[2], bpf::ret(ret::TRAP | 5));
        assert_eq!(trap[4], bpf::ret(ret::ALLOW));
        assert_eq!(trap[5], bpf::ret(ret::ALLOW));
        // Only returns change.
        for (pc, insn) in program.iter().enumerate() {
            if insn.code != bpf::RET | bpf::K {
                assert_eq!((listener[pc], trap[pc]), (*insn, *insn));
            }
        }
    }

    #[test]
    fn a_computed_return_is_refused() {
        let program = vec![bpf::load(0), bpf::stmt(bpf::RET | bpf::A, 0)];
        let err = listener_filter(&program, false).unwrap_err();
        assert!(
            matches!(err, RewriteError::ComputedReturn { pc: 1 }),
            "{err}"
        );
    }

    /// Every syscall number of every ABI, and a few argument patterns, through the
    /// default profile: the pair of rewritten filters decides as the original, with
    /// notify in place of every errno.
    #[test]
    fn the_rewritten_default_decides_as_the_original() {
        let program = default_program();
        let listener = listener_filter(&program, false).unwrap();
        assert!(trap_filter(&program).unwrap().is_none());
        let arg_sets = [[0u64; 6], [u64::MAX; 6], [0x1000_0000, 0, 0, 0, 0, 0]];
        for abi in [Abi::X86_64, Abi::X86, Abi::X32] {
            for nr in 0..1100u32 {
                for args in arg_sets {
                    let data = SeccompData::new(abi, nr, args);
                    let original = Action::from_ret(run(&program, &data).unwrap().ret);
                    let got = Action::from_ret(run(&listener, &data).unwrap().ret);
                    assert_eq!(got, expected(original), "{abi} {nr} {args:x?}");
                }
            }
        }
    }

    /// The same for a profile with every action, through both filters.
    #[test]
    fn a_profile_with_traps_decides_as_the_original_through_two_filters() {
        let profile = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 199,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
              {"names": ["getppid"], "action": "SCMP_ACT_TRAP"},
              {"names": ["getpid"], "action": "SCMP_ACT_KILL_PROCESS"},
              {"names": ["gettid"], "action": "SCMP_ACT_KILL_THREAD"},
              {"names": ["getuid"], "action": "SCMP_ACT_TRACE", "errnoRet": 3},
              {"names": ["getgid"], "action": "SCMP_ACT_LOG"},
              {"names": ["personality"], "action": "SCMP_ACT_TRAP",
               "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
              {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}"#;
        let built = build(profile.as_bytes(), "p", &Options::for_this_host()).unwrap();
        let program = built.filter.unwrap().1.program;
        let listener = listener_filter(&program, true).unwrap();
        let trap = trap_filter(&program).unwrap().expect("the profile traps");
        for abi in [Abi::X86_64, Abi::X86, Abi::X32] {
            for nr in 0..500u32 {
                for args in [[0u64; 6], [8, 0, 0, 0, 0, 0]] {
                    let data = SeccompData::new(abi, nr, args);
                    let original = Action::from_ret(run(&program, &data).unwrap().ret);
                    let first = Action::from_ret(run(&listener, &data).unwrap().ret);
                    let second = Action::from_ret(run(&trap, &data).unwrap().ret);
                    let got = combined(first, Some(second));
                    assert_eq!(got, expected(original), "{abi} {nr} {args:?}");
                }
            }
        }
    }
}
