//! The filter record mode installs: every call of the native family's ABIs goes to the
//! supervisor, which writes it down and lets it run.
//!
//! Each call costs a round trip through the supervisor (a few microseconds with the
//! synchronous wake-up of Linux 6.6, some tens before), so a recorded program runs
//! slower than it will under its profile. The supervisor answers with
//! `SECCOMP_USER_NOTIF_FLAG_CONTINUE`, which `seccomp_unotify(2)` warns cannot be a
//! security decision: the program may change the memory a pointer argument names
//! between the check and the call. Nothing is decided here, since every call runs, so
//! the warning does not apply; the recording itself only reads registers.

use profiles::action::ret;
use profiles::arch::Abi;
use profiles::bpf::{self, data, sock_filter};

/// Notifies every call whose `seccomp_data.arch` is one of `native`'s family (x32 shares
/// x86_64's value), and kills the process for any other, as a Docker profile's filter
/// does for an architecture it does not list.
pub fn recording_filter(native: Abi) -> Vec<sock_filter> {
    let mut arches: Vec<u32> = native.family().iter().map(|abi| abi.audit_arch()).collect();
    arches.dedup();
    // Jumps count from the next instruction; the last of `n` tests jumps over the kill.
    let n = arches.len();
    let mut program = vec![bpf::load(data::ARCH)];
    for (i, arch) in arches.iter().enumerate() {
        let to_notify = u8::try_from(n - i).expect("a family has at most three arches");
        program.push(bpf::jump(bpf::JMP | bpf::JEQ | bpf::K, *arch, to_notify, 0));
    }
    program.push(bpf::ret(ret::KILL_PROCESS));
    program.push(bpf::ret(ret::USER_NOTIF));
    program
}

#[cfg(test)]
mod tests {
    use profiles::arch::AUDIT_ARCH_AARCH64;
    use profiles::interp::{self, SeccompData};

    use super::*;

    fn decision(program: &[sock_filter], data: SeccompData) -> u32 {
        interp::run(program, &data).expect("the filter runs").ret
    }

    #[test]
    fn every_abi_of_the_family_notifies_and_other_arches_are_killed() {
        let program = recording_filter(Abi::X86_64);
        for abi in [Abi::X86_64, Abi::X86, Abi::X32] {
            let data = SeccompData::new(abi, 39, [0; 6]);
            assert_eq!(decision(&program, data), ret::USER_NOTIF, "{abi}");
        }
        let foreign = SeccompData {
            arch: AUDIT_ARCH_AARCH64,
            ..SeccompData::new(Abi::X86_64, 39, [0; 6])
        };
        assert_eq!(decision(&program, foreign), ret::KILL_PROCESS);
    }

    #[test]
    fn the_arm_family_notifies_both_of_its_abis() {
        let program = recording_filter(Abi::Aarch64);
        for abi in [Abi::Aarch64, Abi::Arm] {
            let data = SeccompData::new(abi, 172, [0; 6]);
            assert_eq!(decision(&program, data), ret::USER_NOTIF, "{abi}");
        }
        let x86 = SeccompData::new(Abi::X86_64, 39, [0; 6]);
        assert_eq!(decision(&program, x86), ret::KILL_PROCESS);
    }
}
