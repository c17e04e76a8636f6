//! A classic-BPF interpreter for seccomp programs.
//!
//! It runs a program on one `seccomp_data` the way the kernel's `sk_run_filter` would, and
//! counts the instructions executed. `explain`, the decision tests and the benchmarks use
//! it; it never needs the kernel. Programs are checked first with the rules of the kernel's
//! `bpf_check_classic` and `seccomp_check_filter` that matter for seccomp: only absolute
//! 32-bit loads of `seccomp_data`, forward jumps inside the program, a `ret` at the end.

use crate::arch::Abi;
use crate::bpf::{self, data, sock_filter};

/// The input the kernel gives a filter (`struct seccomp_data`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    /// The data for a syscall `nr` of `abi`. For x32, `nr` is the number without bit 30
    /// or with it; the bit is set either way. On 32-bit ABIs the kernel zero-extends each
    /// argument register, so only the low 32 bits of `args` are kept.
    pub fn new(abi: Abi, nr: u32, args: [u64; 6]) -> SeccompData {
        let nr = if abi == Abi::X32 {
            nr | crate::arch::X32_SYSCALL_BIT
        } else {
            nr
        };
        let args = if abi.is_64bit() || abi == Abi::X32 {
            args
        } else {
            args.map(|a| a & 0xffff_ffff)
        };
        SeccompData {
            nr,
            arch: abi.audit_arch(),
            instruction_pointer: 0,
            args,
        }
    }

    fn word(&self, offset: u32) -> u32 {
        let arg = |i: usize| self.args[i];
        match offset {
            data::NR => self.nr,
            data::ARCH => self.arch,
            8 => self.instruction_pointer as u32,
            12 => (self.instruction_pointer >> 32) as u32,
            16..=63 => {
                let v = arg(((offset - 16) / 8) as usize);
                if (offset - 16) % 8 == 0 {
                    v as u32
                } else {
                    (v >> 32) as u32
                }
            }
            _ => 0,
        }
    }
}

/// `PR_GET_SECCOMP`, `include/uapi/linux/prctl.h`.
const PR_GET_SECCOMP: u64 = 21;

/// Whether `program` lets `prctl(PR_GET_SECCOMP)` run on `abi`, returning ALLOW or LOG,
/// so that the shim may ask the kernel that way whether a filter is in force.
pub fn allows_seccomp_query(program: &[sock_filter], abi: Abi) -> bool {
    let Some(nr) = crate::syscalls::number(abi, "prctl") else {
        return false;
    };
    let data = SeccompData::new(abi, nr, [PR_GET_SECCOMP, 0, 0, 0, 0, 0]);
    let action = run(program, &data).map(|out| crate::action::Action::from_ret(out.ret));
    matches!(
        action,
        Ok(crate::action::Action::Allow | crate::action::Action::Log)
    )
}

/// What a program returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The filter's return value (`SECCOMP_RET_*` with data).
    pub ret: u32,
    /// Instructions executed, the `ret` included.
    pub executed: usize,
}

/// Why a program cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InterpError {
    #[error("program is empty")]
    Empty,
    #[error("program has {0} instructions, more than the kernel's 4096")]
    TooLong(usize),
    #[error("instruction {pc}: code {code:#06x} is not allowed in a seccomp filter")]
    BadCode { pc: usize, code: u16 },
    #[error("instruction {pc}: load of offset {offset} outside seccomp_data")]
    BadLoad { pc: usize, offset: u32 },
    #[error("instruction {pc}: jump past the end of the program")]
    BadJump { pc: usize },
    #[error("instruction {pc}: scratch memory slot {slot} out of range")]
    BadSlot { pc: usize, slot: u32 },
    #[error("program does not end with a return")]
    NoReturn,
}

/// Checks a program as the kernel would before attaching it.
pub fn validate(program: &[sock_filter]) -> Result<(), InterpError> {
    if program.is_empty() {
        return Err(InterpError::Empty);
    }
    if program.len() > bpf::MAX_INSNS {
        return Err(InterpError::TooLong(program.len()));
    }
    let len = program.len();
    for (pc, insn) in program.iter().enumerate() {
        let code = insn.code;
        let fits = |off: usize| pc + 1 + off < len;
        match code {
            c if c == bpf::LD | bpf::W | bpf::ABS => {
                if insn.k % 4 != 0 || insn.k >= data::SIZE {
                    return Err(InterpError::BadLoad { pc, offset: insn.k });
                }
            }
            c if c == bpf::JMP | bpf::JA => {
                if !fits(insn.k as usize) {
                    return Err(InterpError::BadJump { pc });
                }
            }
            c if is_cond_jump(c) => {
                if !fits(usize::from(insn.jt)) || !fits(usize::from(insn.jf)) {
                    return Err(InterpError::BadJump { pc });
                }
            }
            c if c == bpf::LD | bpf::W | bpf::MEM
                || c == bpf::LDX | bpf::W | bpf::MEM
                || c == bpf::ST
                || c == bpf::STX =>
            {
                if insn.k >= 16 {
                    return Err(InterpError::BadSlot { pc, slot: insn.k });
                }
            }
            c if c == bpf::LD | bpf::W | bpf::IMM
                || c == bpf::ALU | bpf::AND | bpf::K
                || c == bpf::RET | bpf::K
                || c == bpf::RET | bpf::A
                || c == bpf::MISC | bpf::TAX
                || c == bpf::MISC | bpf::TXA => {}
            _ => return Err(InterpError::BadCode { pc, code }),
        }
    }
    let last = program[len - 1].code;
    if last != bpf::RET | bpf::K && last != bpf::RET | bpf::A {
        return Err(InterpError::NoReturn);
    }
    Ok(())
}

fn is_cond_jump(code: u16) -> bool {
    matches!(code & !bpf::X, c if c == bpf::JMP | bpf::JEQ
        || c == bpf::JMP | bpf::JGT
        || c == bpf::JMP | bpf::JGE
        || c == bpf::JMP | bpf::JSET)
}

/// Runs a program that [`validate`] accepted. Every jump is forward, so it terminates.
pub fn run(program: &[sock_filter], input: &SeccompData) -> Result<Outcome, InterpError> {
    validate(program)?;
    Ok(run_unchecked(program, input))
}

/// Runs a program without validating it first; only for programs known to be valid (the
/// benchmarks run the same program millions of times). An invalid program may end early
/// with a kill, never with undefined behaviour.
pub fn run_unchecked(program: &[sock_filter], input: &SeccompData) -> Outcome {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    let mut executed = 0usize;
    while let Some(insn) = program.get(pc) {
        executed += 1;
        pc += 1;
        let k = insn.k;
        match insn.code {
            c if c == bpf::LD | bpf::W | bpf::ABS => a = input.word(k),
            c if c == bpf::LD | bpf::W | bpf::IMM => a = k,
            c if c == bpf::LD | bpf::W | bpf::MEM => a = mem[(k & 15) as usize],
            c if c == bpf::LDX | bpf::W | bpf::MEM => x = mem[(k & 15) as usize],
            c if c == bpf::ST => mem[(k & 15) as usize] = a,
            c if c == bpf::STX => mem[(k & 15) as usize] = x,
            c if c == bpf::ALU | bpf::AND | bpf::K => a &= k,
            c if c == bpf::MISC | bpf::TAX => x = a,
            c if c == bpf::MISC | bpf::TXA => a = x,
            c if c == bpf::JMP | bpf::JA => pc += k as usize,
            c if c == bpf::RET | bpf::K => return Outcome { ret: k, executed },
            c if c == bpf::RET | bpf::A => return Outcome { ret: a, executed },
            c if is_cond_jump(c) => {
                let operand = if c & bpf::X != 0 { x } else { k };
                let taken = match c & 0xf0 {
                    bpf::JEQ => a == operand,
                    bpf::JGT => a > operand,
                    bpf::JGE => a >= operand,
                    _ => a & operand != 0,
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            _ => break,
        }
    }
    Outcome {
        ret: crate::action::ret::KILL_PROCESS,
        executed,
    }
}
