//! Syscall names stored inline in the tables.
//!
//! A table of `&str` holds a pointer per entry, and in a position-independent binary
//! every pointer is a relocation: the loader writes each page of such tables at every
//! start of the static-pie launcher and every load of the shim's engine, some 7,000
//! entries over 40 pages. Names stored in place leave the tables in read-only data,
//! untouched until a lookup reads them.

/// The most bytes a name can have; the longest in the headers has 28.
const CAP: usize = 31;

/// A syscall name of at most [`CAP`] ASCII bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Name {
    len: u8,
    bytes: [u8; CAP],
}

/// The name `text`, at compile time: a name that is too long or not ASCII stops the
/// build.
pub(super) const fn n(text: &str) -> Name {
    let source = text.as_bytes();
    assert!(source.len() <= CAP && text.is_ascii());
    let mut bytes = [0; CAP];
    let mut i = 0;
    while i < source.len() {
        bytes[i] = source[i];
        i += 1;
    }
    Name {
        len: source.len() as u8,
        bytes,
    }
}

impl Name {
    /// The name's bytes, in a const context.
    pub(super) const fn const_bytes(&self) -> &[u8] {
        self.bytes.split_at(self.len as usize).0
    }

    pub(super) fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The name as text; every name is ASCII (checked by [`n`]), so the conversion
    /// cannot fail.
    pub(super) fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}
