//! What a recording allows: one rule per syscall name, with the argument values that
//! matter for the calls Docker's default profile constrains.
//!
//! Those calls, and what is kept of them:
//! - `personality`: the persona (argument 0), exactly;
//! - `socket`: the address family (argument 0), exactly;
//! - `clone`: the namespace bits of the flags (argument 0) under Docker's own mask,
//!   `0x7E020000`, one rule per combination seen; the other flags vary from call to
//!   call and are not constrained, as in Docker's profile;
//! - `unshare`: the flags (argument 0), exactly; `setns`: the namespace type
//!   (argument 1), exactly.
//!
//! Every other call is allowed by name. `clone3` is one of them: its flags are in
//! memory, which no filter can read. On i386 `socketcall` and `ipc` carry the real call
//! in argument 0, and the rule names that call; libseccomp files a rule for `socket`
//! under `socketcall(SYS_SOCKET)` too on i386 (`arch-x86.c`), so the rule reaches the
//! call that was made. Its own arguments are in memory, so it goes without condition.

use std::collections::BTreeSet;
use std::fmt;

use profiles::arch::Abi;
use profiles::syscalls;

/// The bits of `clone`'s flags that create namespaces, as Docker's default profile
/// masks them: `CLONE_NEWNS`, `CLONE_NEWCGROUP`, `CLONE_NEWUTS`, `CLONE_NEWIPC`,
/// `CLONE_NEWUSER`, `CLONE_NEWPID` and `CLONE_NEWNET` (`include/uapi/linux/sched.h`).
pub const NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// i386's multiplexers and the calls behind their argument 0 (`include/uapi/linux/net.h`,
/// `ipc/syscall.c`), which libseccomp also files there.
const SOCKETCALL: [&str; 20] = [
    "socket",
    "bind",
    "connect",
    "listen",
    "accept",
    "getsockname",
    "getpeername",
    "socketpair",
    "send",
    "recv",
    "sendto",
    "recvfrom",
    "shutdown",
    "setsockopt",
    "getsockopt",
    "sendmsg",
    "recvmsg",
    "accept4",
    "recvmmsg",
    "sendmmsg",
];
const IPC: [(u64, &str); 12] = [
    (1, "semop"),
    (2, "semget"),
    (3, "semctl"),
    (4, "semtimedop"),
    (11, "msgsnd"),
    (12, "msgrcv"),
    (13, "msgget"),
    (14, "msgctl"),
    (21, "shmat"),
    (22, "shmdt"),
    (23, "shmget"),
    (24, "shmctl"),
];

/// One argument condition of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    /// `SCMP_CMP_EQ`: argument `index` is `value`.
    Eq { index: u8, value: u64 },
    /// `SCMP_CMP_MASKED_EQ`: argument `index` under `mask` is `value`.
    MaskedEq { index: u8, mask: u64, value: u64 },
}

impl Condition {
    /// The argument and a value of it that meets the condition.
    pub fn example(self) -> (usize, u64) {
        match self {
            Condition::Eq { index, value } | Condition::MaskedEq { index, value, .. } => {
                (usize::from(index), value)
            }
        }
    }
}

/// A syscall the profile allows, under at most one condition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    pub name: String,
    pub condition: Option<Condition>,
}

impl Rule {
    pub fn named(name: &str) -> Rule {
        Rule {
            name: name.to_string(),
            condition: None,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.condition {
            None => write!(f, "{}", self.name),
            Some(Condition::Eq { index, value }) => {
                write!(f, "{}(arg{index} == {value:#x})", self.name)
            }
            Some(Condition::MaskedEq { index, mask, value }) => {
                write!(f, "{}(arg{index} & {mask:#x} == {value:#x})", self.name)
            }
        }
    }
}

/// What a call's registers say that its rule keeps: the condition of the calls listed
/// in the module's documentation, and for i386's multiplexers the call number (read
/// back by [`rule_of`]). On a 32-bit ABI only the low half of a register is the
/// argument, and libseccomp compares only that half there.
pub fn detail(abi: Abi, name: &str, args: &[u64; 6]) -> Option<Condition> {
    let arg = |i: usize| match abi.is_64bit() {
        true => args[i],
        false => args[i] & 0xffff_ffff,
    };
    let eq = |index: u8| Condition::Eq {
        index,
        value: arg(usize::from(index)),
    };
    match name {
        "personality" | "socket" | "unshare" => Some(eq(0)),
        "setns" => Some(eq(1)),
        "clone" => Some(Condition::MaskedEq {
            index: 0,
            mask: NAMESPACE_FLAGS,
            value: arg(0) & NAMESPACE_FLAGS,
        }),
        "socketcall" | "ipc" if abi == Abi::X86 => Some(eq(0)),
        _ => None,
    }
}

/// The rule for a call of `abi` named `name` with its [`detail`].
pub fn rule_of(abi: Abi, name: &str, detail: Option<Condition>) -> Rule {
    let call = match detail {
        Some(Condition::Eq { value, .. }) => value,
        _ => 0,
    };
    let multiplexed = match (abi, name) {
        (Abi::X86, "socketcall") => Some(
            call.checked_sub(1)
                .and_then(|i| SOCKETCALL.get(usize::try_from(i).ok()?))
                .copied()
                .unwrap_or(name),
        ),
        // A version in the high half (the old `ipc` calling convention) is not what
        // libseccomp files the named calls under: the multiplexer itself is allowed.
        (Abi::X86, "ipc") => Some(
            IPC.iter()
                .find(|(number, _)| *number == call)
                .map_or(name, |(_, real)| real),
        ),
        _ => None,
    };
    match multiplexed {
        Some(real) => Rule::named(real),
        None => Rule {
            name: name.to_string(),
            condition: detail,
        },
    }
}

/// A set of rules with nothing said twice: a name allowed without condition needs no
/// other rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules(BTreeSet<Rule>);

impl Rules {
    pub fn insert(&mut self, rule: Rule) {
        self.0.insert(rule);
    }

    pub fn extend(&mut self, other: Rules) {
        self.0.extend(other.0);
    }

    /// The rules, by name, those without condition first; conditions a rule without
    /// condition already covers are left out.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.0
            .iter()
            .filter(|rule| rule.condition.is_none() || !self.0.contains(&Rule::named(&rule.name)))
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }
}

impl FromIterator<Rule> for Rules {
    fn from_iter<I: IntoIterator<Item = Rule>>(iter: I) -> Rules {
        Rules(iter.into_iter().collect())
    }
}

/// Whether `name` is a syscall of some ABI of `native`'s family, so that a rule naming
/// it can reach a call there.
pub fn resolves_in_family(native: Abi, name: &str) -> bool {
    native
        .family()
        .iter()
        .any(|abi| syscalls::number(*abi, name).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constrained_calls_keep_the_values_that_matter() {
        let args = [0x7E02_0011, 3, 0, 0, 0, 0];
        let x86_64 = |name| rule_of(Abi::X86_64, name, detail(Abi::X86_64, name, &args));
        assert_eq!(
            x86_64("clone").condition,
            Some(Condition::MaskedEq {
                index: 0,
                mask: NAMESPACE_FLAGS,
                value: 0x7E02_0000
            })
        );
        assert_eq!(
            x86_64("socket").condition,
            Some(Condition::Eq {
                index: 0,
                value: 0x7E02_0011
            })
        );
        assert_eq!(
            x86_64("setns").condition,
            Some(Condition::Eq { index: 1, value: 3 })
        );
        assert_eq!(x86_64("clone3"), Rule::named("clone3"));
        assert_eq!(x86_64("read"), Rule::named("read"));
    }

    #[test]
    fn a_32_bit_abi_compares_the_low_half() {
        let args = [0xdead_0000_ffff_ffff, 0, 0, 0, 0, 0];
        assert_eq!(
            detail(Abi::X86, "personality", &args),
            Some(Condition::Eq {
                index: 0,
                value: 0xffff_ffff
            })
        );
        assert_eq!(
            detail(Abi::X86_64, "personality", &args),
            Some(Condition::Eq {
                index: 0,
                value: 0xdead_0000_ffff_ffff
            })
        );
    }

    #[test]
    fn i386_multiplexers_name_the_real_call() {
        let rule = |name, a0| rule_of(Abi::X86, name, detail(Abi::X86, name, &[a0, 0, 0, 0, 0, 0]));
        assert_eq!(rule("socketcall", 1), Rule::named("socket"));
        assert_eq!(rule("socketcall", 20), Rule::named("sendmmsg"));
        assert_eq!(rule("socketcall", 99), Rule::named("socketcall"));
        assert_eq!(rule("ipc", 21), Rule::named("shmat"));
        assert_eq!(rule("ipc", 0x1_000c), Rule::named("ipc"));
        // x86_64 has no socketcall to multiplex.
        assert_eq!(rule_of(Abi::X86_64, "ipc", None), Rule::named("ipc"));
    }

    #[test]
    fn a_name_allowed_outright_needs_no_conditional_rule() {
        let eq = Some(Condition::Eq { index: 0, value: 2 });
        let rules: Rules = [
            Rule {
                name: "socket".to_string(),
                condition: eq,
            },
            Rule::named("socket"),
            Rule {
                name: "personality".to_string(),
                condition: eq,
            },
        ]
        .into_iter()
        .collect();
        let shown: Vec<String> = rules.iter().map(Rule::to_string).collect();
        assert_eq!(shown, ["personality(arg0 == 0x2)", "socket"]);
        assert_eq!(rules.len(), 2);
    }
}
