//! A tiny assembler for forward-only classic BPF with labels.
//!
//! Conditional jumps in classic BPF reach at most 255 instructions ahead. Code is
//! written against labels; [`Asm::finish`] places it, and where a conditional target is
//! too far it routes that edge through an unconditional `ja` (32-bit offset) placed right
//! after the jump, repeating until every offset fits.

use crate::bpf::{self, sock_filter};

/// A position in the program, named before it is placed. 32 bits, which keeps an item
/// of code at 24 bytes: a program has at most a few thousand labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(u32);

/// Where a conditional jump goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To {
    /// The next instruction.
    Next,
    /// A label further on.
    Label(Label),
}

#[derive(Clone, Debug)]
enum Item {
    Insn(sock_filter),
    Cond { code: u16, k: u32, jt: To, jf: To },
    Ja(Label),
    Mark(Label),
}

/// Why a program could not be assembled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AsmError {
    #[error("jump to a label that is never placed")]
    Unplaced,
    #[error("backward jump to an earlier label")]
    Backward,
}

/// Code being assembled.
#[derive(Default)]
pub struct Asm {
    items: Vec<Item>,
    labels: usize,
}

impl Asm {
    /// An empty program with room for `items` instructions and labels.
    pub fn with_capacity(items: usize) -> Asm {
        Asm {
            items: Vec::with_capacity(items),
            labels: 0,
        }
    }

    /// A new label, to be placed later with [`Asm::mark`].
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        // Labels are made for instructions, and a program the kernel takes has at most
        // 4096; a generator that made 2^32 of them would be refused for its length long
        // before sharing one could matter.
        Label(u32::try_from(self.labels - 1).unwrap_or(u32::MAX))
    }

    /// Places `label` at the current position.
    pub fn mark(&mut self, label: Label) {
        self.items.push(Item::Mark(label));
    }

    /// Appends an instruction that does not jump.
    pub fn insn(&mut self, insn: sock_filter) {
        self.items.push(Item::Insn(insn));
    }

    /// Appends a conditional jump (`code` is `JMP|JEQ|K` and the like).
    pub fn cond(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.items.push(Item::Cond { code, k, jt, jf });
    }

    /// Lays the program out, adding trampolines for conditional jumps that are too long.
    pub fn finish(mut self) -> Result<Vec<sock_filter>, AsmError> {
        loop {
            let addr = self.addresses()?;
            let Some((at, pc)) = self.first_far_jump(&addr)? else {
                return self.emit(&addr);
            };
            self.add_trampolines(at, pc, &addr);
        }
    }

    /// The address of each label.
    fn addresses(&self) -> Result<Vec<usize>, AsmError> {
        let mut addr = vec![usize::MAX; self.labels];
        let mut pc = 0;
        for item in &self.items {
            match item {
                Item::Mark(l) => addr[l.0 as usize] = pc,
                _ => pc += 1,
            }
        }
        if addr.contains(&usize::MAX) {
            return Err(AsmError::Unplaced);
        }
        Ok(addr)
    }

    fn offset(addr: &[usize], pc: usize, to: To) -> Result<usize, AsmError> {
        match to {
            To::Next => Ok(0),
            To::Label(l) => addr[l.0 as usize]
                .checked_sub(pc + 1)
                .ok_or(AsmError::Backward),
        }
    }

    /// The item index and address of the first conditional jump with a target too far.
    fn first_far_jump(&self, addr: &[usize]) -> Result<Option<(usize, usize)>, AsmError> {
        let mut pc = 0;
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Mark(_) => continue,
                Item::Cond { jt, jf, .. } => {
                    let far = |to| Self::offset(addr, pc, to).map(|o| o > 255);
                    if far(*jt)? || far(*jf)? {
                        return Ok(Some((i, pc)));
                    }
                }
                _ => {}
            }
            pc += 1;
        }
        Ok(None)
    }

    /// Sends each far edge of the conditional jump at item `at` (address `pc`) through a
    /// `ja` placed right after it. The jump then never falls through, so a fall-through
    /// edge becomes a jump over the trampolines.
    fn add_trampolines(&mut self, at: usize, pc: usize, addr: &[usize]) {
        let Item::Cond { code, k, jt, jf } = self.items[at].clone() else {
            return;
        };
        let far = |to| Self::offset(addr, pc, to).map_or(true, |o| o > 255);
        let mut inserted = Vec::new();
        let mut next = None;
        let mut route = |asm: &mut Asm, to: To| -> To {
            match to {
                To::Label(target) if far(to) => {
                    let hop = asm.label();
                    inserted.push(Item::Mark(hop));
                    inserted.push(Item::Ja(target));
                    To::Label(hop)
                }
                To::Next => To::Label(*next.get_or_insert_with(|| asm.label())),
                near => near,
            }
        };
        let jt = route(self, jt);
        let jf = route(self, jf);
        if let Some(next) = next {
            inserted.push(Item::Mark(next));
        }
        self.items[at] = Item::Cond { code, k, jt, jf };
        self.items.splice(at + 1..at + 1, inserted);
    }

    fn emit(&self, addr: &[usize]) -> Result<Vec<sock_filter>, AsmError> {
        let mut out = Vec::with_capacity(self.items.len());
        for item in &self.items {
            let pc = out.len();
            match item {
                Item::Mark(_) => {}
                Item::Insn(insn) => out.push(*insn),
                Item::Ja(l) => {
                    let off = Self::offset(addr, pc, To::Label(*l))?;
                    out.push(bpf::stmt(bpf::JMP | bpf::JA, off as u32));
                }
                Item::Cond { code, k, jt, jf } => {
                    // first_far_jump found none: both offsets fit in a byte.
                    let jt = Self::offset(addr, pc, *jt)? as u8;
                    let jf = Self::offset(addr, pc, *jf)? as u8;
                    out.push(bpf::jump(*code, *k, jt, jf));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::{JEQ, JMP, K};

    #[test]
    fn short_jumps_are_encoded_directly() {
        let mut asm = Asm::default();
        let end = asm.label();
        asm.cond(JMP | JEQ | K, 7, To::Label(end), To::Next);
        asm.insn(bpf::ret(1));
        asm.mark(end);
        asm.insn(bpf::ret(2));
        let prog = asm.finish().unwrap();
        assert_eq!(prog[0], bpf::jump(JMP | JEQ | K, 7, 1, 0));
        assert_eq!(prog.len(), 3);
    }

    #[test]
    fn long_jumps_go_through_a_trampoline() {
        let mut asm = Asm::default();
        let end = asm.label();
        asm.cond(JMP | JEQ | K, 7, To::Label(end), To::Next);
        for _ in 0..300 {
            asm.insn(bpf::ret(1));
        }
        asm.mark(end);
        asm.insn(bpf::ret(2));
        let prog = asm.finish().unwrap();
        // jeq jumps to a ja that reaches the end; the fall-through edge hops over it.
        assert_eq!(prog[0], bpf::jump(JMP | JEQ | K, 7, 0, 1));
        assert_eq!(prog[1], bpf::stmt(JMP | bpf::JA, 300));
        assert_eq!(prog[2], bpf::ret(1));
        assert_eq!(prog[302], bpf::ret(2));
        crate::interp::validate(&prog).unwrap();
    }

    #[test]
    fn unplaced_label_is_an_error() {
        let mut asm = Asm::default();
        let nowhere = asm.label();
        asm.cond(JMP | JEQ | K, 0, To::Label(nowhere), To::Next);
        asm.insn(bpf::ret(0));
        assert_eq!(asm.finish().unwrap_err(), AsmError::Unplaced);
    }
}
