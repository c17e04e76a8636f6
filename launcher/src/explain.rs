//! `seclaunch explain`: the decision the filter makes for one call, and why.
//!
//! The compiled program runs in [`profiles::interp`] and its result is the decision;
//! [`profiles::codegen::origin`] says which part of the program made it, and the rules of
//! the resolved profile say which JSON entries stand behind it.

use std::fmt;

use clap::Args;
use profiles::action::Action;
use profiles::arch::{Abi, X32_SYSCALL_BIT};
use profiles::codegen::{origin, Origin, BAD_ARCH};
use profiles::db::{self, CmpOp, Cond};
use profiles::interp::{self, SeccompData};
use profiles::resolve::Rule;
use profiles::{syscalls, Compiled, Resolved};

use crate::errno::action_text;
use crate::error::Error;
use crate::options::{AbiName, CommonOptions};
use crate::profile_source::ProfileSource;
use crate::syscall_text::number_text;

/// `seclaunch explain PROFILE SYSCALL [ARG...]`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The profile: a file, `default` (the embedded default) or `unconfined`
    #[arg(value_name = "PROFILE")]
    pub profile: ProfileSource,
    /// The syscall: a name, or a number (decimal or 0x hex)
    #[arg(value_name = "SYSCALL", value_parser = syscall_arg, allow_negative_numbers = true)]
    pub syscall: SyscallArg,
    /// Up to six arguments: decimal, 0x hex, or negative decimal (two's complement)
    #[arg(value_name = "ARG", value_parser = arg_value, allow_negative_numbers = true)]
    #[arg(num_args = 0..=6)]
    pub args: Vec<u64>,
    /// The ABI of the call [default: --arch if given, else this machine's]
    #[arg(long, value_name = "ABI")]
    pub abi: Option<AbiName>,
    #[command(flatten)]
    pub common: CommonOptions,
}

/// A SYSCALL argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyscallArg {
    Name(String),
    Number(u32),
}

/// What `explain` prints.
#[derive(Debug)]
pub struct Explanation {
    abi: Abi,
    data: SeccompData,
    decision: Action,
    executed: usize,
    reason: Reason,
}

/// Why the filter decides as it does.
#[derive(Debug)]
enum Reason {
    /// The profile asks for no filter.
    Unconfined,
    /// runc's `-ENOSYS` stub: the number is above the newest syscall of the profile.
    Stub { max: u32 },
    /// The filter does not cover the call's ABI.
    BadArch,
    /// No rule reaches the syscall; `skipped` are rules for it that runc skips because
    /// their action is the default.
    NoRule { skipped: Vec<Rule> },
    /// Rules reach the syscall; `matched` have the decision's action.
    Rules {
        matched: Vec<Rule>,
        reaching: Vec<Rule>,
        default: Action,
    },
}

/// Builds the profile and explains the call.
pub fn run(args: &ExplainArgs) -> Result<Explanation, Error> {
    let options = args.common.build_options()?;
    // `--arch` names the host; without `--abi` the call is one of the host's own.
    let abi = args
        .abi
        .or(args.common.arch)
        .map_or(options.resolve.native, AbiName::abi);
    let data = SeccompData::new(abi, call_number(abi, &args.syscall)?, call_args(&args.args));
    let built = args.profile.build(&options)?;
    let Some((resolved, compiled)) = &built.filter else {
        return Ok(Explanation::unconfined(abi, data));
    };
    let outcome = interp::run(&compiled.program, &data)?;
    let decision = Action::from_ret(outcome.ret);
    let reason = reason(resolved, compiled, &data, abi, decision);
    Ok(Explanation {
        abi,
        data,
        decision,
        executed: outcome.executed,
        reason,
    })
}

fn call_number(abi: Abi, syscall: &SyscallArg) -> Result<u32, Error> {
    match syscall {
        SyscallArg::Number(nr) => Ok(*nr),
        SyscallArg::Name(name) => {
            syscalls::number(abi, name).ok_or_else(|| Error::UnknownSyscall {
                abi,
                name: name.clone(),
            })
        }
    }
}

/// The six argument registers: the ones given, then zeros.
fn call_args(given: &[u64]) -> [u64; 6] {
    let mut args = [0; 6];
    for (slot, value) in args.iter_mut().zip(given) {
        *slot = *value;
    }
    args
}

fn reason(
    resolved: &Resolved,
    compiled: &Compiled,
    data: &SeccompData,
    abi: Abi,
    decision: Action,
) -> Reason {
    let default = resolved.default_action;
    let reaching: Vec<Rule> = resolved
        .rules
        .iter()
        .filter(|rule| reaches(rule, abi, data.nr))
        .cloned()
        .collect();
    match origin(&compiled.db, &compiled.plan, abi, data.nr) {
        Origin::Stub { max } => Reason::Stub { max },
        Origin::BadArch => Reason::BadArch,
        Origin::NoRule => Reason::NoRule { skipped: reaching },
        Origin::Rules => {
            let with_action: Vec<Rule> = reaching
                .iter()
                .filter(|rule| rule.action == decision && rule.action != default)
                .cloned()
                .collect();
            let matched = narrowed(with_action, abi, data);
            Reason::Rules {
                matched,
                reaching,
                default,
            }
        }
    }
}

/// Of the rules with the decision's action, the ones whose conditions hold for the call.
/// Rules reaching the call through a multiplexer are kept whatever their conditions say,
/// since those compare arguments the multiplexer's caller passes in memory. When no
/// condition holds, libseccomp's merged tree decided otherwise than the rules read one
/// by one (see `profiles::db`), and every rule with the action is shown.
fn narrowed(rules: Vec<Rule>, abi: Abi, data: &SeccompData) -> Vec<Rule> {
    let holding: Vec<Rule> = rules
        .iter()
        .filter(|rule| {
            syscalls::number(abi, &rule.name) != Some(data.nr)
                || rule.conds.iter().all(|cond| holds(cond, abi, &data.args))
        })
        .cloned()
        .collect();
    if holding.is_empty() {
        rules
    } else {
        holding
    }
}

/// One condition on the call's arguments, compared as libseccomp compares it: unsigned,
/// and on a 32-bit ABI (x32 included) with argument and data cut to their low 32 bits.
fn holds(cond: &Cond, abi: Abi, args: &[u64; 6]) -> bool {
    let width = |value: u64| {
        if abi.is_64bit() {
            value
        } else {
            value & 0xffff_ffff
        }
    };
    let Some(arg) = args.get(usize::from(cond.arg)).copied().map(width) else {
        return false;
    };
    let (a, b) = (width(cond.datum_a), width(cond.datum_b));
    match cond.op {
        CmpOp::Ne => arg != a,
        CmpOp::Lt => arg < a,
        CmpOp::Le => arg <= a,
        CmpOp::Eq => arg == a,
        CmpOp::Ge => arg >= a,
        CmpOp::Gt => arg > a,
        CmpOp::MaskedEq => arg & a == b & a,
    }
}

/// Whether libseccomp files `rule` under syscall `nr` of `abi`: the number its name has
/// there, and on i386 also the multiplexer of the socket and IPC calls.
fn reaches(rule: &Rule, abi: Abi, nr: u32) -> bool {
    let direct = syscalls::number(abi, &rule.name) == Some(nr);
    let multiplexed = multiplexer(abi, &rule.name)
        .and_then(|multiplexer| syscalls::number(abi, multiplexer))
        .is_some_and(|multiplexer_nr| multiplexer_nr == nr);
    direct || multiplexed
}

/// The multiplexer a rule for `name` also reaches on `abi`: libseccomp files the i386
/// socket calls under `socketcall` and the System V IPC calls under `ipc`
/// (`src/arch-x86.c`). [`db::is_multiplexed`] says whether a name is one of them; the
/// IPC calls are the ones named `sem*`, `msg*` and `shm*`, which no socket call is.
fn multiplexer(abi: Abi, name: &str) -> Option<&'static str> {
    if !db::is_multiplexed(abi, name) {
        return None;
    }
    let ipc = ["sem", "msg", "shm"]
        .iter()
        .any(|prefix| name.starts_with(prefix));
    Some(if ipc { "ipc" } else { "socketcall" })
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args: Vec<String> = self.data.args.iter().map(|a| format!("{a:#x}")).collect();
        writeln!(
            f,
            "call: {} on {}",
            number_text(self.abi, self.data.nr),
            self.abi
        )?;
        writeln!(f, "arguments: {}", args.join(" "))?;
        writeln!(f, "decision: {}", action_text(self.decision))?;
        writeln!(f, "instructions executed: {}", self.executed)?;
        self.write_reason(f)
    }
}

impl Explanation {
    /// Without a filter every call runs, and no instruction decides it.
    fn unconfined(abi: Abi, data: SeccompData) -> Explanation {
        let reason = Reason::Unconfined;
        Explanation {
            abi,
            data,
            decision: Action::Allow,
            executed: 0,
            reason,
        }
    }

    fn write_reason(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abi = self.abi;
        match &self.reason {
            Reason::Unconfined => writeln!(f, "why: the profile is unconfined: no filter"),
            Reason::Stub { max } => {
                let mode = stub_mode(abi, self.data.nr);
                writeln!(
                    f,
                    "why: runc's ENOSYS stub: {} > newest syscall {} of the profile on {mode}",
                    self.data.nr,
                    number_text(mode, *max)
                )
            }
            Reason::BadArch => writeln!(
                f,
                "why: ABI not in the filter: bad-arch action ({})",
                action_text(BAD_ARCH)
            ),
            Reason::NoRule { skipped } => {
                writeln!(f, "why: no rule: default action")?;
                let note = "skipped (runc skips rules with the default action)";
                write_rules(f, (&format!("{note}:"), note), skipped)
            }
            Reason::Rules {
                matched,
                reaching,
                default,
            } if matched.is_empty() => {
                if self.decision == *default {
                    writeln!(f, "why: no rule matched these arguments: default action")?;
                } else {
                    writeln!(f, "why: no rule for the syscall has this action")?;
                }
                write_rules(
                    f,
                    ("rule for the syscall:", "rules for the syscall"),
                    reaching,
                )
            }
            Reason::Rules { matched, .. } => write_rules(f, ("why: rule", "why: rules"), matched),
        }
    }
}

/// The ABI whose stub threshold applies to a call: on `AUDIT_ARCH_X86_64` bit 30 of
/// the number selects x32's, as in runc's stub, whichever ABI the caller meant.
fn stub_mode(abi: Abi, nr: u32) -> Abi {
    match abi {
        Abi::X86_64 | Abi::X32 if nr & X32_SYSCALL_BIT != 0 => Abi::X32,
        Abi::X86_64 | Abi::X32 => Abi::X86_64,
        other => other,
    }
}

/// Rules with their JSON locations under a title (singular, plural): one rule on the
/// title's line, more one per line.
fn write_rules(
    f: &mut fmt::Formatter<'_>,
    (one, many): (&str, &str),
    rules: &[Rule],
) -> fmt::Result {
    let text = |rule: &Rule| {
        format!(
            "{} ({}, {})",
            rule.location,
            rule.name,
            action_text(rule.action)
        )
    };
    match rules {
        [] => Ok(()),
        [rule] => writeln!(f, "{one} {}", text(rule)),
        _ => {
            writeln!(f, "{many}:")?;
            rules
                .iter()
                .try_for_each(|rule| writeln!(f, "  {}", text(rule)))
        }
    }
}

/// Reads an argument: decimal, `0x` hex, or a negative decimal taken as the 64-bit
/// two's complement (`-1` is `0xffffffffffffffff`), as a C caller would pass it.
fn arg_value(text: &str) -> Result<u64, String> {
    let parsed = if let Some(hex) = text.strip_prefix("0x").or(text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if text.starts_with('-') {
        text.parse::<i64>().ok().map(|v| v as u64)
    } else {
        text.parse::<u64>().ok()
    };
    parsed.ok_or_else(|| {
        "expected a number: decimal, 0x hex, or negative decimal of 64 bits".to_string()
    })
}

/// Reads a SYSCALL: a number when it starts like one, else a name. A negative number is
/// the 32-bit two's complement (`-1` is the x86_64 "no syscall" 0xffffffff).
fn syscall_arg(text: &str) -> Result<SyscallArg, String> {
    let numeric = text.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if !numeric {
        return Ok(SyscallArg::Name(text.to_string()));
    }
    let number = if text.starts_with('-') {
        text.parse::<i32>().ok().map(|v| v as u32)
    } else {
        arg_value(text).ok().and_then(|v| u32::try_from(v).ok())
    };
    number.map(SyscallArg::Number).ok_or_else(|| {
        "expected a syscall name or a 32-bit number (decimal, 0x hex, negative)".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_read_decimal_hex_and_negative_decimal() {
        let cases = [
            ("0", Some(0)),
            ("4096", Some(4096)),
            ("0x40000", Some(0x40000)),
            ("0XfF", Some(0xff)),
            ("-1", Some(u64::MAX)),
            ("-9223372036854775808", Some(1 << 63)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("-0x1", None),
            ("1e3", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(arg_value(text).ok(), expected, "{text:?}");
        }
    }

    #[test]
    fn syscalls_read_as_names_or_32_bit_numbers() {
        let number = |nr| Some(SyscallArg::Number(nr));
        assert_eq!(
            syscall_arg("openat").ok(),
            Some(SyscallArg::Name("openat".into()))
        );
        assert_eq!(syscall_arg("257").ok(), number(257));
        assert_eq!(syscall_arg("0x40000101").ok(), number(0x4000_0101));
        assert_eq!(syscall_arg("-1").ok(), number(u32::MAX));
        assert_eq!(syscall_arg("4294967296").ok(), None);
        assert_eq!(syscall_arg("-2147483649").ok(), None);
    }

    #[test]
    fn conditions_compare_32_bit_abis_on_the_low_word() {
        let eq = Cond {
            arg: 0,
            op: CmpOp::Eq,
            datum_a: 0xffff_ffff,
            datum_b: 0,
        };
        let args = [u64::MAX, 0, 0, 0, 0, 0];
        assert!(!holds(&eq, Abi::X86_64, &args));
        assert!(holds(&eq, Abi::X86, &args));
        assert!(holds(&eq, Abi::X32, &args));
    }

    #[test]
    fn masked_equality_masks_both_sides() {
        let cond = Cond {
            arg: 1,
            op: CmpOp::MaskedEq,
            datum_a: 0xff00,
            datum_b: 0x12ff,
        };
        assert!(holds(&cond, Abi::X86_64, &[0, 0x1234, 0, 0, 0, 0]));
        assert!(!holds(&cond, Abi::X86_64, &[0, 0x1334, 0, 0, 0, 0]));
    }

    #[test]
    fn i386_socket_calls_reach_socketcall_and_ipc_calls_reach_ipc() {
        assert_eq!(multiplexer(Abi::X86, "sendmsg"), Some("socketcall"));
        assert_eq!(multiplexer(Abi::X86, "msgsnd"), Some("ipc"));
        assert_eq!(multiplexer(Abi::X86, "semtimedop"), Some("ipc"));
        assert_eq!(multiplexer(Abi::X86, "read"), None);
        assert_eq!(multiplexer(Abi::X86_64, "sendmsg"), None);
    }
}
