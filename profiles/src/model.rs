//! The profile as written: moby's seccomp JSON, or the OCI `linux.seccomp` object.
//!
//! Strings are kept as written. Docker validates an entry's action and operators only
//! when the entry survives includes/excludes, so turning them into enums is resolution's
//! job ([`crate::resolve`]), not the parser's. Syscall names are kept as written too,
//! but a name the syscall tables know is held as that syscall ([`SyscallName`]).

use std::fmt;
use std::ops::Deref;

use crate::syscalls::Syscall;

/// Where a profile came from, which decides the keys it may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// moby's format: runtime-spec fields plus `archMap`, `name`, `includes`, `excludes`.
    Moby,
    /// The runtime-spec `linux.seccomp` object (alone, or inside a whole `config.json`).
    /// runc decodes it into the spec type, so moby's extra keys are unknown there.
    Oci,
}

/// A whole profile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    pub default_action: String,
    pub default_errno_ret: Option<u64>,
    pub architectures: Vec<String>,
    pub arch_map: Vec<ArchMapEntry>,
    /// `None` when the key is absent or `null`: runc then sets SPEC_ALLOW.
    pub flags: Option<Vec<String>>,
    pub listener_path: String,
    pub listener_metadata: String,
    pub syscalls: Vec<SyscallEntry>,
}

/// One `archMap` entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArchMapEntry {
    pub architecture: String,
    pub sub_architectures: Vec<String>,
}

/// One element of `syscalls`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyscallEntry {
    pub names: Vec<SyscallName>,
    /// The legacy single `name`; empty when absent.
    pub name: String,
    pub action: String,
    pub errno_ret: Option<u64>,
    pub args: Vec<Arg>,
    pub comment: String,
    pub includes: Filter,
    pub excludes: Filter,
}

/// One argument comparison as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Arg {
    pub index: u64,
    pub value: u64,
    pub value_two: u64,
    pub op: String,
}

/// An `includes` or `excludes` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub arches: Vec<String>,
    pub caps: Vec<String>,
    pub min_kernel: Option<KernelVersion>,
}

/// A kernel version as moby compares them: `<kernel>.<major>`, each 0-255.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    pub kernel: u8,
    pub major: u8,
}

impl std::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.kernel, self.major)
    }
}

/// A syscall name as written in a profile. A name the syscall tables know is held as
/// that syscall, whose name is the same text, so that reading a profile copies none of
/// its few hundred names and looks each up once; any other name is held as its text.
#[derive(Clone, PartialEq, Eq)]
pub struct SyscallName(NameRepr);

#[derive(Clone, PartialEq, Eq)]
enum NameRepr {
    Known(Syscall),
    Other(String),
}

impl SyscallName {
    /// The name `text`.
    pub fn new(text: &str) -> SyscallName {
        SyscallName(match Syscall::lookup(text) {
            Some(syscall) => NameRepr::Known(syscall),
            None => NameRepr::Other(text.to_owned()),
        })
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            NameRepr::Known(syscall) => syscall.name(),
            NameRepr::Other(text) => text,
        }
    }

    /// The syscall of this name, if the tables know it.
    pub fn syscall(&self) -> Option<Syscall> {
        match self.0 {
            NameRepr::Known(syscall) => Some(syscall),
            NameRepr::Other(_) => None,
        }
    }
}

impl Default for SyscallName {
    fn default() -> SyscallName {
        SyscallName(NameRepr::Other(String::new()))
    }
}

impl Deref for SyscallName {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for SyscallName {
    fn from(text: &str) -> SyscallName {
        SyscallName::new(text)
    }
}

impl PartialEq<str> for SyscallName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SyscallName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SyscallName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl fmt::Debug for SyscallName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SyscallName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
