//! The options every command shares, and how they become [`profiles::Options`].

use clap::{Args, ValueEnum};
use profiles::arch::Abi;
use profiles::caps::CapSet;
use profiles::kernel::parse_min_kernel;
use profiles::model::KernelVersion;
use profiles::{Options, ResolveOptions};

use crate::error::Error;

/// Capabilities, architecture and kernel version to resolve a profile for, spelled as
/// `docker run` spells them.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Resolution options")]
pub struct CommonOptions {
    /// Add a capability to Docker's default set (with or without `CAP_`; `ALL` for every
    /// one)
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a capability from Docker's default set (`ALL` drops every one before the
    /// additions)
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// The native architecture to resolve the profile for [default: this machine's]
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<AbiName>,
    /// The kernel version `minKernel` conditions are compared with [default: the
    /// running kernel]
    #[arg(long, value_name = "X.Y", value_parser = kernel_version)]
    pub kernel: Option<KernelVersion>,
    /// Reject unknown keys and unknown syscall names instead of ignoring them
    #[arg(long)]
    pub strict: bool,
}

/// An ABI as the command line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AbiName {
    #[value(name = "x86_64", alias = "amd64")]
    X86_64,
    #[value(name = "i386", alias = "x86")]
    I386,
    #[value(name = "x32")]
    X32,
    #[value(name = "aarch64", alias = "arm64")]
    Aarch64,
    #[value(name = "arm")]
    Arm,
}

impl AbiName {
    /// The ABI this name stands for.
    pub fn abi(self) -> Abi {
        match self {
            AbiName::X86_64 => Abi::X86_64,
            AbiName::I386 => Abi::X86,
            AbiName::X32 => Abi::X32,
            AbiName::Aarch64 => Abi::Aarch64,
            AbiName::Arm => Abi::Arm,
        }
    }
}

impl CommonOptions {
    /// The build options: Docker's defaults on this machine, changed by the flags.
    pub fn build_options(&self) -> Result<Options, Error> {
        let host = ResolveOptions::for_this_host();
        let resolve = ResolveOptions {
            caps: CapSet::docker_default().tweak(&self.cap_add, &self.cap_drop)?,
            native: self.arch.map_or(host.native, AbiName::abi),
            kernel: self.kernel.unwrap_or(host.kernel),
        };
        Ok(Options {
            resolve,
            strict: self.strict,
        })
    }
}

fn kernel_version(text: &str) -> Result<KernelVersion, String> {
    parse_min_kernel(text).ok_or_else(|| {
        "expected <kernel>.<major>, two numbers from 0 to 255 such as 6.8".to_string()
    })
}
