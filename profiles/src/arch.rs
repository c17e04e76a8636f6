//! Architectures and ABIs.
//!
//! A *profile* names architectures with libseccomp's `SCMP_ARCH_*` strings; moby's
//! includes/excludes name them with Go's architecture words (`amd64`, `arm64`, ...). The
//! kernel tells them apart with the `AUDIT_ARCH_*` value in `seccomp_data.arch`, and on
//! x86_64 also with bit 30 of the syscall number (x32).

use std::fmt;

/// `__AUDIT_ARCH_64BIT`: set in the audit value of every 64-bit ABI.
const AUDIT_ARCH_64BIT: u32 = 0x8000_0000;
/// `__AUDIT_ARCH_LE`: set in the audit value of every little-endian ABI.
const AUDIT_ARCH_LE: u32 = 0x4000_0000;

/// `AUDIT_ARCH_X86_64`, shared by the x86_64 and x32 ABIs.
pub const AUDIT_ARCH_X86_64: u32 = 62 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE;
/// `AUDIT_ARCH_I386`.
pub const AUDIT_ARCH_I386: u32 = 3 | AUDIT_ARCH_LE;
/// `AUDIT_ARCH_AARCH64`.
pub const AUDIT_ARCH_AARCH64: u32 = 183 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE;
/// `AUDIT_ARCH_ARM` (EABI, little endian).
pub const AUDIT_ARCH_ARM: u32 = 40 | AUDIT_ARCH_LE;

/// `__X32_SYSCALL_BIT`: x32 syscall numbers carry this bit on `AUDIT_ARCH_X86_64`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Every architecture runc accepts in a profile (`libcontainer/seccomp/config.go`).
///
/// Only the five [`Abi`]s can be compiled into a filter; the others are accepted and
/// ignored, since the kernel never reports them on a host of a supported family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    X86,
    X86_64,
    X32,
    Arm,
    Aarch64,
    Mips,
    Mips64,
    Mips64N32,
    Mipsel,
    Mipsel64,
    Mipsel64N32,
    Ppc,
    Ppc64,
    Ppc64le,
    Riscv64,
    S390,
    S390x,
    Loongarch64,
}

const ARCH_NAMES: [(Arch, &str); 18] = [
    (Arch::X86, "SCMP_ARCH_X86"),
    (Arch::X86_64, "SCMP_ARCH_X86_64"),
    (Arch::X32, "SCMP_ARCH_X32"),
    (Arch::Arm, "SCMP_ARCH_ARM"),
    (Arch::Aarch64, "SCMP_ARCH_AARCH64"),
    (Arch::Mips, "SCMP_ARCH_MIPS"),
    (Arch::Mips64, "SCMP_ARCH_MIPS64"),
    (Arch::Mips64N32, "SCMP_ARCH_MIPS64N32"),
    (Arch::Mipsel, "SCMP_ARCH_MIPSEL"),
    (Arch::Mipsel64, "SCMP_ARCH_MIPSEL64"),
    (Arch::Mipsel64N32, "SCMP_ARCH_MIPSEL64N32"),
    (Arch::Ppc, "SCMP_ARCH_PPC"),
    (Arch::Ppc64, "SCMP_ARCH_PPC64"),
    (Arch::Ppc64le, "SCMP_ARCH_PPC64LE"),
    (Arch::Riscv64, "SCMP_ARCH_RISCV64"),
    (Arch::S390, "SCMP_ARCH_S390"),
    (Arch::S390x, "SCMP_ARCH_S390X"),
    (Arch::Loongarch64, "SCMP_ARCH_LOONGARCH64"),
];

impl Arch {
    /// Parses a profile's `SCMP_ARCH_*` string, exactly and case-sensitively as runc does.
    pub fn from_scmp_name(name: &str) -> Option<Arch> {
        ARCH_NAMES.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }

    /// The `SCMP_ARCH_*` spelling.
    pub fn scmp_name(self) -> &'static str {
        ARCH_NAMES
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("SCMP_ARCH_?", |(_, n)| n)
    }

    /// The word moby compares `includes.arches`/`excludes.arches` with when this is the
    /// native architecture (`goToNative` in moby's `seccomp_linux.go`). x32 has no Go
    /// architecture, so it is never native there; we still give it its libseccomp word.
    pub fn moby_name(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X86_64 => "amd64",
            Arch::X32 => "x32",
            Arch::Arm => "arm",
            Arch::Aarch64 => "arm64",
            Arch::Mips => "mips",
            Arch::Mips64 => "mips64",
            Arch::Mips64N32 => "mips64n32",
            Arch::Mipsel => "mipsel",
            Arch::Mipsel64 => "mipsel64",
            Arch::Mipsel64N32 => "mipsel64n32",
            Arch::Ppc => "ppc",
            Arch::Ppc64 => "ppc64",
            Arch::Ppc64le => "ppc64le",
            Arch::Riscv64 => "riscv64",
            Arch::S390 => "s390",
            Arch::S390x => "s390x",
            Arch::Loongarch64 => "loongarch64",
        }
    }

    /// The ABI this architecture compiles to, if seclaunch supports it.
    pub fn abi(self) -> Option<Abi> {
        match self {
            Arch::X86_64 => Some(Abi::X86_64),
            Arch::X86 => Some(Abi::X86),
            Arch::X32 => Some(Abi::X32),
            Arch::Aarch64 => Some(Abi::Aarch64),
            Arch::Arm => Some(Abi::Arm),
            _ => None,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scmp_name())
    }
}

/// A syscall ABI that seclaunch compiles filters for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Abi {
    X86_64,
    X86,
    X32,
    Aarch64,
    Arm,
}

impl Abi {
    /// All supported ABIs.
    pub const ALL: [Abi; 5] = [Abi::X86_64, Abi::X86, Abi::X32, Abi::Aarch64, Abi::Arm];

    /// The value the kernel puts in `seccomp_data.arch` for this ABI.
    pub fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::X86 => AUDIT_ARCH_I386,
            Abi::Aarch64 => AUDIT_ARCH_AARCH64,
            Abi::Arm => AUDIT_ARCH_ARM,
        }
    }

    /// Whether libseccomp compares full 64-bit arguments on this ABI. x32 passes 64-bit
    /// registers but libseccomp treats it as a 32-bit ABI, and so do we.
    pub fn is_64bit(self) -> bool {
        matches!(self, Abi::X86_64 | Abi::Aarch64)
    }

    /// The architecture of the same name.
    pub fn arch(self) -> Arch {
        match self {
            Abi::X86_64 => Arch::X86_64,
            Abi::X86 => Arch::X86,
            Abi::X32 => Arch::X32,
            Abi::Aarch64 => Arch::Aarch64,
            Abi::Arm => Arch::Arm,
        }
    }

    /// The short name used on the command line (`x86_64`, `i386`, `x32`, `aarch64`, `arm`).
    pub fn short_name(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::X86 => "i386",
            Abi::X32 => "x32",
            Abi::Aarch64 => "aarch64",
            Abi::Arm => "arm",
        }
    }

    /// Parses a short name; `x86` is accepted for i386.
    pub fn from_short_name(name: &str) -> Option<Abi> {
        match name {
            "x86_64" | "amd64" => Some(Abi::X86_64),
            "i386" | "x86" => Some(Abi::X86),
            "x32" => Some(Abi::X32),
            "aarch64" | "arm64" => Some(Abi::Aarch64),
            "arm" => Some(Abi::Arm),
            _ => None,
        }
    }

    /// The ABIs a host of this native ABI can run: the only ones whose rules can ever be
    /// reached there.
    pub fn family(self) -> &'static [Abi] {
        match self {
            Abi::X86_64 | Abi::X86 | Abi::X32 => &[Abi::X86_64, Abi::X86, Abi::X32],
            Abi::Aarch64 | Abi::Arm => &[Abi::Aarch64, Abi::Arm],
        }
    }

    /// The ABI of the machine this code was built for.
    pub fn native() -> Abi {
        if cfg!(target_arch = "aarch64") {
            Abi::Aarch64
        } else if cfg!(target_arch = "arm") {
            Abi::Arm
        } else if cfg!(target_arch = "x86") {
            Abi::X86
        } else {
            Abi::X86_64
        }
    }
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}
