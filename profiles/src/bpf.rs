//! Classic BPF as seccomp uses it: instruction encoding, the `seccomp_data` layout, and a
//! readable listing.

/// One instruction, laid out as the kernel's `struct sock_filter`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct sock_filter {
    /// Operation.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}

/// A filter program.
pub type Program = Vec<sock_filter>;

/// `program` as the kernel reads a `struct sock_filter` array: `code` (u16), `jt`, `jf`
/// (u8 each) and `k` (u32), native byte order, no padding, 8 bytes each. This is the
/// form `bwrap --seccomp FD` reads and the form the shim's handoff carries.
pub fn to_bytes(program: &[sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(program.len() * 8);
    for insn in program {
        out.extend_from_slice(&insn.code.to_ne_bytes());
        out.extend_from_slice(&[insn.jt, insn.jf]);
        out.extend_from_slice(&insn.k.to_ne_bytes());
    }
    out
}

/// The inverse of [`to_bytes`]; a trailing partial instruction is ignored.
pub fn from_bytes(bytes: &[u8]) -> Vec<sock_filter> {
    bytes
        .chunks_exact(8)
        .map(|c| sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// The kernel rejects programs longer than this (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

// Instruction classes and fields, `include/uapi/linux/bpf_common.h`.
pub const LD: u16 = 0x00;
pub const LDX: u16 = 0x01;
pub const ST: u16 = 0x02;
pub const STX: u16 = 0x03;
pub const ALU: u16 = 0x04;
pub const JMP: u16 = 0x05;
pub const RET: u16 = 0x06;
pub const MISC: u16 = 0x07;
pub const W: u16 = 0x00;
pub const ABS: u16 = 0x20;
pub const IMM: u16 = 0x00;
pub const MEM: u16 = 0x60;
pub const LEN: u16 = 0x80;
pub const K: u16 = 0x00;
pub const X: u16 = 0x08;
pub const A: u16 = 0x10;
pub const JA: u16 = 0x00;
pub const JEQ: u16 = 0x10;
pub const JGT: u16 = 0x20;
pub const JGE: u16 = 0x30;
pub const JSET: u16 = 0x40;
pub const AND: u16 = 0x50;
pub const TAX: u16 = 0x00;
pub const TXA: u16 = 0x80;

/// Offsets into `struct seccomp_data`.
pub mod data {
    pub const NR: u32 = 0;
    pub const ARCH: u32 = 4;
    pub const IP_LO: u32 = 8;
    /// Low 32 bits of argument `i` on a little-endian machine.
    pub const fn arg_lo(i: u8) -> u32 {
        16 + 8 * i as u32
    }
    /// High 32 bits of argument `i` on a little-endian machine.
    pub const fn arg_hi(i: u8) -> u32 {
        20 + 8 * i as u32
    }
    /// `sizeof(struct seccomp_data)`.
    pub const SIZE: u32 = 64;
}

/// A statement: an instruction that does not branch.
pub const fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A conditional jump.
pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Loads a 32-bit word of `seccomp_data` into A.
pub const fn load(offset: u32) -> sock_filter {
    stmt(LD | W | ABS, offset)
}

/// Returns `value`.
pub const fn ret(value: u32) -> sock_filter {
    stmt(RET | K, value)
}

/// One instruction in a readable form, for `compile --disasm` and test failures.
pub fn disasm_one(pc: usize, insn: &sock_filter) -> String {
    let target = |off: u8| pc + 1 + usize::from(off);
    let code = insn.code;
    let k = insn.k;
    match code {
        c if c == LD | W | ABS => format!("ld [{k}]{}", field_name(k)),
        c if c == LD | W | IMM => format!("ld #{k:#x}"),
        c if c == LD | W | MEM => format!("ld M[{k}]"),
        c if c == LDX | W | MEM => format!("ldx M[{k}]"),
        c if c == ST => format!("st M[{k}]"),
        c if c == STX => format!("stx M[{k}]"),
        c if c == ALU | AND | K => format!("and #{k:#x}"),
        c if c == JMP | JA => format!("ja {}", pc + 1 + k as usize),
        c if c & 0x07 == JMP => {
            let op = match c & 0xf0 {
                JEQ => "jeq",
                JGT => "jgt",
                JGE => "jge",
                JSET => "jset",
                _ => "j?",
            };
            format!("{op} #{k:#x}, {}, {}", target(insn.jt), target(insn.jf))
        }
        c if c == RET | K => format!("ret #{k:#010x}"),
        c if c == RET | A => "ret a".to_string(),
        c if c == MISC | TAX => "tax".to_string(),
        c if c == MISC | TXA => "txa".to_string(),
        _ => format!("unknown code={code:#06x} k={k:#x}"),
    }
}

fn field_name(offset: u32) -> String {
    match offset {
        data::NR => "  ; nr".to_string(),
        data::ARCH => "  ; arch".to_string(),
        16..=63 => {
            let i = (offset - 16) / 8;
            let half = if (offset - 16) % 8 == 0 { "lo" } else { "hi" };
            format!("  ; args[{i}].{half}")
        }
        _ => String::new(),
    }
}

/// A whole program, one numbered instruction per line.
pub fn disasm(program: &[sock_filter]) -> String {
    let mut out = String::new();
    for (pc, insn) in program.iter().enumerate() {
        out.push_str(&format!("{pc:04}: {}\n", disasm_one(pc, insn)));
    }
    out
}
