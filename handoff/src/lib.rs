//! The handoff: a compiled filter as the launcher passes it to `libsecshim.so`, which must
//! not parse JSON in the target process.
//!
//! The launcher writes a *frame* into a sealed memfd that the program inherits, and names
//! it in `SECLAUNCH_HANDOFF=<fd>:<length>:<checksum>`. The shim reads the frame, checks
//! it against the variable and against itself, installs the program, then closes the fd
//! and removes the variable, so the program sees neither.
//!
//! A frame, all integers little-endian:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 8 | magic `SECLHND2` |
//! | 8 | 4 | seccomp filter flags (`LOG`, `SPEC_ALLOW`; the shim adds `TSYNC`), and in bit 31 [`HINT_QUERY_ALLOWED`] |
//! | 12 | 4 | instruction count *n*, 1 to 4096 |
//! | 16 | 8 | [`frame_checksum`] (FNV-1a 64 by 64-bit words, folded) of bytes 0..16 and the program |
//! | 24 | 8*n | the program: `sock_filter` {code u16, jt u8, jf u8, k u32} |
//!
//! The checksum finds truncation and corruption. It is no defence against forgery, and
//! needs none: whoever can write the frame or the variable chooses the program's
//! environment anyway, and could as well leave the shim out of it.
//!
//! This crate is `no_std` and allocates nothing: the shim links no standard library.

#![no_std]
#![deny(unsafe_code)]

use core::ffi::CStr;

pub mod precompiled;

/// The precompiled frame of the embedded default profile for this build's architecture:
/// valid under Docker's default capabilities on a kernel of at least
/// [`precompiled::MIN_KERNEL`], where the launcher and the shim use it instead of
/// compiling the profile.
pub fn precompiled_default() -> Option<&'static [u8]> {
    #[cfg(target_arch = "x86_64")]
    return Some(precompiled::X86_64);
    #[cfg(target_arch = "aarch64")]
    return Some(precompiled::AARCH64);
    #[allow(unreachable_code)]
    None
}

/// How many rules the embedded default resolved to for [`precompiled_default`], for
/// reports.
pub fn precompiled_default_rules() -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    return Some(precompiled::X86_64_RULES);
    #[cfg(target_arch = "aarch64")]
    return Some(precompiled::AARCH64_RULES);
    #[allow(unreachable_code)]
    None
}

/// Whether a kernel release string (`uname -r`, such as `6.8.0-31-generic`) is at least
/// [`precompiled::MIN_KERNEL`]. A release that does not start with two numbers is not.
pub fn kernel_allows_precompiled(release: &[u8]) -> bool {
    let mut parts = release.splitn(3, |b| *b == b'.');
    let number = |part: Option<&[u8]>| -> Option<u32> {
        let digits: &[u8] = part?;
        let end = digits
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(digits.len());
        parse_number(&digits[..end], 10).and_then(|n| u32::try_from(n).ok())
    };
    match (number(parts.next()), number(parts.next())) {
        (Some(major), Some(minor)) => (major, minor) >= precompiled::MIN_KERNEL,
        _ => false,
    }
}

/// The first eight bytes of every frame; the digit is the format version.
pub const MAGIC: [u8; 8] = *b"SECLHND2";
/// The size of the header before the program.
pub const HEADER_LEN: usize = 24;
/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;
/// The largest frame: a header and a program of [`MAX_INSNS`] instructions.
pub const MAX_FRAME_LEN: usize = HEADER_LEN + 8 * MAX_INSNS;
/// The environment variable that names the frame.
pub const ENV_VAR: &CStr = c"SECLAUNCH_HANDOFF";
/// The environment variable that names a profile for the shim to compile itself:
/// a path, `default` or `unconfined`.
pub const PROFILE_VAR: &CStr = c"SECLAUNCH_PROFILE";
/// The marker the shim leaves after installing: the checksum of the frame in force, in
/// hex, then `+q` when the filter lets `prctl(PR_GET_SECCOMP)` run ([`Marker`]). It only
/// lets a child skip a second copy of the same filter; forging it gains nothing,
/// because the kernel keeps the filter whatever the environment says.
pub const ACTIVE_VAR: &CStr = c"SECLAUNCH_ACTIVE";
/// A frame flag that is no kernel flag: the program lets `prctl(PR_GET_SECCOMP)` run on
/// the native ABI. Below such a filter the shim asks the kernel whether a filter is in
/// force with that call (a third of a microsecond) instead of reading
/// `/proc/self/status` (tens of microseconds in a new process); below a filter that
/// might kill the call, it must not make it.
pub const HINT_QUERY_ALLOWED: u32 = 1 << 31;
/// The frame flags that are the kernel's.
pub const KERNEL_FLAGS: u32 = !HINT_QUERY_ALLOWED;

/// Why a frame or its variable was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The variable is not `<fd>:<length>:<checksum>` in decimal, decimal, hex.
    BadVariable,
    /// The frame's length differs from the one the variable names, or is not a header
    /// plus a whole number of instructions.
    BadLength,
    /// The frame does not start with [`MAGIC`].
    BadMagic,
    /// The instruction count is 0, over [`MAX_INSNS`], or disagrees with the length.
    BadCount,
    /// The checksum in the frame or in the variable does not match the content.
    BadChecksum,
}

impl Error {
    /// A lowercase phrase for the shim's one line.
    pub fn as_str(self) -> &'static str {
        match self {
            Error::BadVariable => "malformed SECLAUNCH_HANDOFF (expected <fd>:<length>:<checksum>)",
            Error::BadLength => "length differs from the one announced",
            Error::BadMagic => "not a seclaunch filter frame (bad magic)",
            Error::BadCount => "instruction count out of range",
            Error::BadChecksum => "checksum mismatch",
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the variable says: where the frame is and what it must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announce {
    /// The inherited file descriptor holding the frame.
    pub fd: i32,
    /// The frame's length in bytes.
    pub len: usize,
    /// The frame's checksum.
    pub checksum: u64,
}

/// A checked frame, borrowed from the bytes it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The seccomp filter flags the profile asks for.
    pub flags: u32,
    /// The program, as raw `sock_filter` bytes in host order, ready for `sock_fprog`.
    pub program: &'a [u8],
    /// The checksum the frame carries.
    pub checksum: u64,
}

impl Frame<'_> {
    /// The number of instructions.
    pub fn len(&self) -> usize {
        self.program.len() / 8
    }

    /// Always false for a checked frame; here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }
}

/// FNV-1a, 64 bits, taken a little-endian 64-bit word at a time (the header and every
/// instruction are whole words; a part's last bytes, in no frame, a byte at a time),
/// with the high half folded into the low one after each multiplication. Without the
/// fold a difference in a word's top bit stays in the top bit for good, so two such
/// differences (bit 31 of `k` in two instructions, KILL_THREAD against KILL_PROCESS)
/// would cancel. Each step stays a bijection of the running value, so any change
/// confined to one word is always found; eight times fewer multiplications than
/// byte-wise FNV-1a, which cost about 3 µs per frame. Enough to find a truncated or
/// damaged frame, and to tell the filter in force from another.
pub fn frame_checksum(parts: &[&[u8]]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let step = |hash: u64, word: u64| {
        let hash = (hash ^ word).wrapping_mul(PRIME);
        hash ^ (hash >> 32)
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        let words = part.chunks_exact(8);
        let rest = words.remainder();
        for word in words {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            hash = step(hash, u64::from_le_bytes(bytes));
        }
        for byte in rest {
            hash = step(hash, u64::from(*byte));
        }
    }
    hash
}

/// Writes the frame for `program` (raw `sock_filter` bytes) and `flags` into `out`,
/// returning its length and checksum. `out` must hold `HEADER_LEN + program.len()`
/// bytes.
pub fn encode(program: &[u8], flags: u32, out: &mut [u8]) -> Result<(usize, u64), Error> {
    let count = program.len() / 8;
    if program.len() % 8 != 0 || count == 0 || count > MAX_INSNS {
        return Err(Error::BadCount);
    }
    let len = HEADER_LEN + program.len();
    let Some(out) = out.get_mut(..len) else {
        return Err(Error::BadLength);
    };
    out[..8].copy_from_slice(&MAGIC);
    out[8..12].copy_from_slice(&flags.to_le_bytes());
    // Cannot truncate: count is at most MAX_INSNS.
    out[12..16].copy_from_slice(&(count as u32).to_le_bytes());
    let checksum = frame_checksum(&[&out[..16], program]);
    out[16..24].copy_from_slice(&checksum.to_le_bytes());
    out[HEADER_LEN..].copy_from_slice(program);
    Ok((len, checksum))
}

/// Checks `bytes` as a frame, against `announce` when the variable gave one.
pub fn decode<'a>(bytes: &'a [u8], announce: Option<&Announce>) -> Result<Frame<'a>, Error> {
    if announce.is_some_and(|a| a.len != bytes.len()) || bytes.len() < HEADER_LEN {
        return Err(Error::BadLength);
    }
    if bytes[..8] != MAGIC {
        return Err(Error::BadMagic);
    }
    let flags = u32::from_le_bytes(word4(bytes, 8));
    let count = u32::from_le_bytes(word4(bytes, 12)) as usize;
    if count == 0 || count > MAX_INSNS || HEADER_LEN + 8 * count != bytes.len() {
        return Err(Error::BadCount);
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&bytes[16..24]);
    let checksum = u64::from_le_bytes(stored);
    let program = &bytes[HEADER_LEN..];
    let actual = frame_checksum(&[&bytes[..16], program]);
    if actual != checksum || announce.is_some_and(|a| a.checksum != checksum) {
        return Err(Error::BadChecksum);
    }
    Ok(Frame {
        flags,
        program,
        checksum,
    })
}

fn word4(bytes: &[u8], at: usize) -> [u8; 4] {
    let mut out = [0u8; 4];
    out.copy_from_slice(&bytes[at..at + 4]);
    out
}

/// Reads the variable's value: `<fd>:<length>:<checksum>`, the checksum in hex.
pub fn parse_announce(value: &[u8]) -> Result<Announce, Error> {
    let mut fields = value.split(|b| *b == b':');
    let (Some(fd), Some(len), Some(sum), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(Error::BadVariable);
    };
    let fd = parse_number(fd, 10).filter(|fd| *fd <= i32::MAX as u64);
    let len = parse_number(len, 10).filter(|len| *len as usize <= MAX_FRAME_LEN);
    match (fd, len, parse_number(sum, 16)) {
        // Both casts are in range: checked by the filters above.
        (Some(fd), Some(len), Some(checksum)) => Ok(Announce {
            fd: fd as i32,
            len: len as usize,
            checksum,
        }),
        _ => Err(Error::BadVariable),
    }
}

/// Writes the variable's value for `announce` into `out`, returning the bytes used
/// (at most 40: 10 + 1 + 5 + 1 + 16 digits and separators).
pub fn format_announce(announce: &Announce, out: &mut [u8; 40]) -> usize {
    let mut at = 0;
    at += write_number(announce.fd as u64, 10, &mut out[at..]);
    out[at] = b':';
    at += 1;
    at += write_number(announce.len as u64, 10, &mut out[at..]);
    out[at] = b':';
    at += 1;
    at += write_number(announce.checksum, 16, &mut out[at..]);
    at
}

/// What [`ACTIVE_VAR`] says of the filter in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The checksum of its frame.
    pub checksum: u64,
    /// Whether it lets `prctl(PR_GET_SECCOMP)` run (see [`HINT_QUERY_ALLOWED`]).
    pub query_allowed: bool,
}

/// The longest marker text: 16 hex digits and `+q`.
pub const MARKER_LEN: usize = 18;

/// Writes the marker's text, returning the bytes used.
pub fn format_marker(marker: &Marker, out: &mut [u8; MARKER_LEN]) -> usize {
    let mut n = write_number(marker.checksum, 16, out);
    if marker.query_allowed {
        out[n..n + 2].copy_from_slice(b"+q");
        n += 2;
    }
    n
}

/// Reads a marker written by [`format_marker`].
pub fn parse_marker(text: &[u8]) -> Option<Marker> {
    let (digits, query_allowed) = match text.strip_suffix(b"+q") {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    let checksum = parse_number(digits, 16).filter(|_| digits.len() <= 16)?;
    Some(Marker {
        checksum,
        query_allowed,
    })
}

/// A number of at most 20 digits in `radix` (10 or 16), no sign, no prefix.
fn parse_number(digits: &[u8], radix: u32) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for d in digits {
        let digit = u64::from(char::from(*d).to_digit(radix)?);
        value = value.checked_mul(u64::from(radix))?.checked_add(digit)?;
    }
    Some(value)
}

fn write_number(mut value: u64, radix: u64, out: &mut [u8]) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        // Cannot index out of range: a u64 has at most 20 decimal digits.
        digits[n] = b"0123456789abcdef"[(value % radix) as usize];
        n += 1;
        value /= radix;
        if value == 0 {
            break;
        }
    }
    for (i, d) in digits[..n].iter().rev().enumerate() {
        out[i] = *d;
    }
    n
}

#[cfg(test)]
mod tests;
