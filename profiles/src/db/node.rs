//! The decision tree of one syscall, as libseccomp's program evaluates it.

use std::sync::Arc;

use crate::action::Action;

/// The decision tree of one syscall: what libseccomp's program does once it has matched
/// the syscall number. Every test looks at one 32-bit word of `seccomp_data`.
///
/// Subtrees reachable from several branches (a level falls through to whatever follows
/// the node above it) are shared through [`Arc`], not copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// The program returns.
    Leaf(Decision),
    /// The program tests one word of an argument.
    Test {
        /// The argument, 0 to 5.
        arg: u8,
        /// Which half of the 64-bit argument.
        half: Half,
        /// The test.
        op: WordOp,
        /// Where the program goes when the test holds.
        then: Arc<Node>,
        /// Where it goes when it does not.
        otherwise: Arc<Node>,
    },
}

/// How a decision tree ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// This action.
    Act(Action),
    /// No rule matched: the filter's default action.
    Default,
}

/// One 32-bit half of a syscall argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Half {
    /// Bits 0 to 31; the only half 32-bit ABIs (x32 included) ever test.
    Lo,
    /// Bits 32 to 63.
    Hi,
}

/// A test of one 32-bit word, as BPF jumps on the accumulator.
///
/// The masked forms say that the word was ANDed with `mask` before the jump. libseccomp
/// emits `MaskedEq` for `SCMP_CMP_MASKED_EQ` (the mask may be zero on a 64-bit ABI: the
/// test then always holds, and libseccomp still emits it). `MaskedGt` and `MaskedGe`
/// come only from libseccomp reusing an accumulator that an earlier masked test left
/// behind (see [`super::Database`] on stale accumulators).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WordOp {
    /// `word == value` (`jeq`).
    Eq(u32),
    /// `word > value`, unsigned (`jgt`).
    Gt(u32),
    /// `word >= value`, unsigned (`jge`).
    Ge(u32),
    /// `word & mask == value` (`and`, then `jeq`).
    MaskedEq { mask: u32, value: u32 },
    /// `word & mask > value` (`and`, then `jgt`).
    MaskedGt { mask: u32, value: u32 },
    /// `word & mask >= value` (`and`, then `jge`).
    MaskedGe { mask: u32, value: u32 },
}

impl Half {
    /// This half of `value`.
    pub fn of(self, value: u64) -> u32 {
        match self {
            Half::Lo => value as u32,
            Half::Hi => (value >> 32) as u32,
        }
    }
}

impl WordOp {
    /// Whether the test holds for `word`.
    pub fn holds(self, word: u32) -> bool {
        match self {
            WordOp::Eq(v) => word == v,
            WordOp::Gt(v) => word > v,
            WordOp::Ge(v) => word >= v,
            WordOp::MaskedEq { mask, value } => word & mask == value,
            WordOp::MaskedGt { mask, value } => word & mask > value,
            WordOp::MaskedGe { mask, value } => word & mask >= value,
        }
    }
}

impl Node {
    /// The decision for a call with these arguments.
    pub fn decide(&self, args: &[u64; 6]) -> Decision {
        let mut node = self;
        loop {
            match node {
                Node::Leaf(decision) => return *decision,
                Node::Test {
                    arg,
                    half,
                    op,
                    then,
                    otherwise,
                } => {
                    let value = args.get(usize::from(*arg)).copied().unwrap_or(0);
                    node = if op.holds(half.of(value)) {
                        then
                    } else {
                        otherwise
                    };
                }
            }
        }
    }
}
