//! A string of bytes of bounded length, kept NUL-terminated for the kernel.

use core::ffi::CStr;

/// Up to `N - 1` bytes and the NUL after them.
pub struct Text<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    pub const fn new() -> Self {
        Text {
            bytes: [0; N],
            len: 0,
        }
    }

    /// The text made of `parts`, if it fits and holds no NUL.
    pub fn of(parts: &[&[u8]]) -> Option<Self> {
        let mut text = Self::new();
        for part in parts {
            text.push(part)?;
        }
        Some(text)
    }

    /// Appends `part`; `None` (and nothing appended) if it would not fit or holds a NUL.
    pub fn push(&mut self, part: &[u8]) -> Option<()> {
        let end = self.len.checked_add(part.len())?;
        if end >= N || part.contains(&0) {
            return None;
        }
        self.bytes[self.len..end].copy_from_slice(part);
        self.bytes[end] = 0;
        self.len = end;
        Some(())
    }

    /// Cuts the text back to its first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
            self.bytes[len] = 0;
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// With the NUL, for the kernel.
    pub fn as_cstr(&self) -> &CStr {
        // `push` keeps a NUL after the bytes and none among them; `new` starts with
        // one.
        CStr::from_bytes_with_nul(&self.bytes[..=self.len]).unwrap_or(c"")
    }
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The longest path the fast start handles (the kernel's `PATH_MAX`).
pub type Path = Text<4096>;

/// `dir` and `name` joined as `PathBuf::join` joins them.
pub fn join(dir: &[u8], name: &[u8]) -> Option<Path> {
    let mut path = Path::of(&[dir])?;
    if !dir.ends_with(b"/") {
        path.push(b"/")?;
    }
    path.push(name)?;
    Some(path)
}

/// The directory part of `path` (as `Path::parent` gives it for an absolute path):
/// everything before the last `/`, `/` itself for a top-level name.
pub fn parent(path: &[u8]) -> Option<&[u8]> {
    let cut = path.iter().rposition(|b| *b == b'/')?;
    Some(if cut == 0 { &path[..1] } else { &path[..cut] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_stay_terminated_and_refuse_what_does_not_fit() {
        let mut text = Text::<9>::of(&[b"/usr", b"/bin"]).unwrap();
        assert_eq!(text.as_cstr(), c"/usr/bin");
        assert!(text.push(b"/x").is_none());
        assert!(Text::<8>::of(&[b"a\0b"]).is_none());
        text.truncate(4);
        assert_eq!(text.as_cstr(), c"/usr");
        assert_eq!(Text::<4>::new().as_cstr(), c"");
    }

    #[test]
    fn parents_of_absolute_paths() {
        assert_eq!(parent(b"/usr/bin/seclaunch"), Some(&b"/usr/bin"[..]));
        assert_eq!(parent(b"/seclaunch"), Some(&b"/"[..]));
        assert_eq!(parent(b"seclaunch"), None);
    }

    #[test]
    fn joins_as_pathbuf_does() {
        assert_eq!(join(b"/bin", b"ls").unwrap().as_bytes(), b"/bin/ls");
        assert_eq!(join(b"/bin/", b"ls").unwrap().as_bytes(), b"/bin/ls");
        assert_eq!(join(b".", b"ls").unwrap().as_bytes(), b"./ls");
    }
}
