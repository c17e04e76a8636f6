//! Helpers shared by seclaunch's benchmarks and measuring programs.

pub mod timing;

use profiles::arch::Abi;
use profiles::caps::CapSet;
use profiles::db::{CmpOp, Cond};
use profiles::model::KernelVersion;
use profiles::resolve::{Resolution, ResolveOptions, Resolved};
use profiles::{Options, DEFAULT_PROFILE};

/// Options that do not depend on the machine: Docker's capabilities, x86_64, Linux 6.18.
pub fn fixed_options() -> Options {
    let resolve = ResolveOptions {
        caps: CapSet::docker_default(),
        native: Abi::X86_64,
        kernel: KernelVersion {
            kernel: 6,
            major: 18,
        },
    };
    Options {
        resolve,
        strict: false,
    }
}

/// The embedded default profile, resolved with [`fixed_options`].
pub fn default_resolved() -> Resolved {
    let parsed = profiles::parse::parse_profile(DEFAULT_PROFILE.as_bytes(), &Default::default())
        .expect("the embedded default parses");
    let options = fixed_options();
    match profiles::resolve::resolve(&parsed.profile, parsed.format, &options.resolve) {
        Ok(Resolution::Filter(resolved)) => resolved,
        other => panic!("the embedded default resolves to a filter, got {other:?}"),
    }
}

/// libseccomp's token for an ABI (`SCMP_ARCH_*`, `include/seccomp.h`).
fn scmp_arch_token(abi: Abi) -> u32 {
    match abi {
        Abi::X86_64 => 0xc000_003e,
        Abi::X86 => 0x4000_0003,
        Abi::X32 => 0x4000_003e,
        Abi::Aarch64 => 0xc000_00b7,
        Abi::Arm => 0x4000_0028,
    }
}

/// libseccomp's value for a comparison (`enum scmp_compare`).
fn scmp_compare(op: CmpOp) -> u32 {
    match op {
        CmpOp::Ne => 1,
        CmpOp::Lt => 2,
        CmpOp::Le => 3,
        CmpOp::Eq => 4,
        CmpOp::Ge => 5,
        CmpOp::Gt => 6,
        CmpOp::MaskedEq => 7,
    }
}

/// The rule list `scripts/c/libseccomp-build.c` reads: the calls runc makes to
/// libseccomp for `resolved`, with the rules it skips (action equal to the default) left
/// out and the rules repeating an argument split, as runc splits them.
pub fn runc_rule_list(resolved: &Resolved) -> String {
    let mut out = format!("default {}\n", resolved.default_action.ret());
    let (native, others) = resolved.abis.split_first().expect("a native ABI");
    out += &format!("native {}\n", scmp_arch_token(*native));
    for abi in others {
        out += &format!("arch {}\n", scmp_arch_token(*abi));
    }
    for rule in resolved
        .rules
        .iter()
        .filter(|r| r.action != resolved.default_action)
    {
        let mut seen = [false; 256];
        let repeats = rule
            .conds
            .iter()
            .any(|c| std::mem::replace(&mut seen[usize::from(c.arg)], true));
        let groups: Vec<&[Cond]> = if repeats {
            rule.conds.chunks(1).collect()
        } else {
            vec![&rule.conds]
        };
        for conds in groups {
            out += &format!("rule {} {} {}", rule.name, rule.action.ret(), conds.len());
            for c in conds {
                let op = scmp_compare(c.op);
                out += &format!(" {} {op} {} {}", c.arg, c.datum_a, c.datum_b);
            }
            out.push('\n');
        }
    }
    out
}
