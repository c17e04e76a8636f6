//! A hash index over the names of the syscall table, built at compile time.
//!
//! Compiling a profile looks up each of its few hundred names. A binary search over
//! some 520 names costs ten string comparisons; with this index a lookup is one
//! multiplication, a probe or two comparing 16-byte keys and, for names longer than 16
//! bytes, one string comparison to confirm the match.
//!
//! The index is an open-addressing table with linear probing: at least twice as many
//! slots as names, each slot empty or holding a position in the syscall table.

use super::name::Name;

/// A slot that holds no position.
const EMPTY: u16 = u16::MAX;

/// The hash index of a table of (name, numbers) pairs.
pub(super) struct NameIndex {
    /// The `prefix_key` of each name, in table order.
    keys: &'static [u128],
    /// Positions in the table, or `EMPTY`; a power of two long.
    slots: &'static [u16],
}

impl NameIndex {
    /// An index over names whose keys are `keys`, in `slots`.
    pub(super) const fn new(keys: &'static [u128], slots: &'static [u16]) -> NameIndex {
        NameIndex { keys, slots }
    }

    /// The position of `name` in `table`, the table this index was built from.
    pub(super) fn position<T>(&self, table: &[(Name, T)], name: &str) -> Option<usize> {
        let name = name.as_bytes();
        let mut head = [0_u8; 16];
        let n = name.len().min(head.len());
        head[..n].copy_from_slice(&name[..n]);
        // The same key `prefix_key` derives, without its byte-at-a-time loop.
        let key = u128::from_be_bytes(head);
        let mask = self.slots.len().wrapping_sub(1);
        let start = slot_hash(key);
        // Bounded by the slot count so that even a corrupt index cannot loop forever;
        // a well-formed one always reaches an empty slot first.
        for probe in 0..self.slots.len() {
            let slot = *self.slots.get(start.wrapping_add(probe) & mask)?;
            if slot == EMPTY {
                return None;
            }
            let position = usize::from(slot);
            // Equal keys and lengths mean equal names of up to 16 bytes (the key
            // holds all of them); longer names may share a key.
            if self.keys.get(position) == Some(&key)
                && table.get(position).is_some_and(|(n, _)| {
                    n.len() == name.len() && (name.len() <= head.len() || n.as_bytes() == name)
                })
            {
                return Some(position);
            }
        }
        None
    }

    /// How many slots a lookup of the name at `position` reads (1 when it sits in its
    /// home slot), or `None` if the index does not lead to it.
    #[cfg(test)]
    pub(super) fn probes<T>(&self, table: &[(Name, T)], position: usize) -> Option<usize> {
        let (name, _) = table.get(position)?;
        let mask = self.slots.len() - 1;
        let start = slot_hash(prefix_key(name.as_str()));
        (0..self.slots.len())
            .map(|probe| self.slots[(start + probe) & mask])
            .take_while(|&slot| slot != EMPTY)
            .position(|slot| usize::from(slot) == position)
            .map(|probe| probe + 1)
    }
}

/// The first 16 bytes of `name`, zero-padded, read as a big-endian integer.
///
/// Syscall names hold no NUL byte, so two names of at most 16 bytes are equal exactly
/// when their keys are; every name of the five ABIs but a few dozen is that short.
#[cfg(test)]
pub(super) const fn prefix_key(name: &str) -> u128 {
    prefix_key_of(name.as_bytes())
}

const fn prefix_key_of(bytes: &[u8]) -> u128 {
    let mut key = [0_u8; 16];
    let mut i = 0;
    while i < bytes.len() && i < key.len() {
        key[i] = bytes[i];
        i += 1;
    }
    u128::from_be_bytes(key)
}

/// The home slot of `key`, before masking to the slot count.
///
/// Fibonacci hashing: the multiplier is 2^64 divided by the golden ratio, whose product
/// spreads every input bit over the upper half, where the slot bits are taken from. The
/// two halves of the key (bytes 0..8 and 8..16) are folded first, one rotated so that
/// names differing only in their second half do not cancel out.
const fn slot_hash(key: u128) -> usize {
    let head = (key >> 64) as u64;
    let tail = key as u64;
    let folded = head ^ tail.rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize
}

/// The `prefix_key` of each name of `table`.
pub(super) const fn keys_of<T, const N: usize>(table: &[(Name, T)]) -> [u128; N] {
    assert!(table.len() == N);
    let mut keys = [0; N];
    let mut i = 0;
    while i < N {
        keys[i] = prefix_key_of(table[i].0.const_bytes());
        i += 1;
    }
    keys
}

/// The slots of the index over names with `keys`: position `i` goes to the first empty
/// slot from the home slot of `keys[i]` on.
pub(super) const fn slots_of<const M: usize>(keys: &[u128]) -> [u16; M] {
    // Both hold for every table at compile time, where a failed assert stops the
    // build: at least half the slots stay empty, so probe runs stay short and every
    // lookup ends at an empty slot; positions fit below `EMPTY`.
    assert!(M.is_power_of_two() && keys.len() * 2 <= M);
    assert!(keys.len() < EMPTY as usize);
    let mut slots = [EMPTY; M];
    let mut i = 0;
    while i < keys.len() {
        let mut slot = slot_hash(keys[i]) & (M - 1);
        while slots[slot] != EMPTY {
            slot = (slot + 1) & (M - 1);
        }
        slots[slot] = i as u16;
        i += 1;
    }
    slots
}
