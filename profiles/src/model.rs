//! The profile as written: moby's seccomp JSON, or the OCI `linux.seccomp` object.
//!
//! Strings are kept as written. Docker validates an entry's action and operators only
//! when the entry survives includes/excludes, so turning them into enums is resolution's
//! job ([`crate::resolve`]), not the parser's.

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
    pub names: Vec<String>,
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
