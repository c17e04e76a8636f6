//! Syscall names as spans of one text.
//!
//! A table of `&str` holds a pointer per entry, and in a position-independent binary
//! every pointer is a relocation: the loader writes each page of such tables at every
//! start of the launcher and every load of the shim's engine. Names stored in the table
//! rows instead would need a UTF-8 check each time one is read as a `str`. So every name
//! is a span of [`NAME_TEXT`], one ASCII string holding them all: the tables stay in
//! read-only data, untouched until a lookup reads them, and reading a name is slicing a
//! `str` at two places that are always character boundaries.

use super::generated::NAME_TEXT;

// Every byte a character boundary, so that any span slices; checked at compile time.
const _: () = assert!(NAME_TEXT.is_ascii());

/// A syscall name: `len` bytes of [`NAME_TEXT`] from `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Name {
    offset: u16,
    len: u8,
}

/// The name at `offset`, `len` bytes long. A span beyond the text stops the build where
/// the table is used at compile time (the name index reads every entry).
pub(super) const fn n(offset: u16, len: u8) -> Name {
    assert!(offset as usize + len as usize <= NAME_TEXT.len());
    Name { offset, len }
}

impl Name {
    /// The name's bytes, in a const context.
    pub(super) const fn const_bytes(&self) -> &'static [u8] {
        let (_, rest) = NAME_TEXT.as_bytes().split_at(self.offset as usize);
        rest.split_at(self.len as usize).0
    }

    pub(super) fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub(super) fn as_bytes(&self) -> &'static [u8] {
        self.as_str().as_bytes()
    }

    /// The name as text.
    pub(super) fn as_str(&self) -> &'static str {
        let start = usize::from(self.offset);
        NAME_TEXT
            .get(start..start + usize::from(self.len))
            .unwrap_or_default()
    }
}
