//! Syscalls as the report shows them: the name on its ABI and the arguments, with the
//! flags and families of a few calls spelled out. Only register values are decoded:
//! report mode never reads the program's memory.

use profiles::arch::{Abi, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386};
use profiles::arch::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use profiles::syscalls;

/// The ABI the kernel reported a call for: `seccomp_data.arch`, and on x86_64 bit 30 of
/// the number for x32.
pub fn abi_of(arch: u32, nr: u32) -> Option<Abi> {
    match arch {
        AUDIT_ARCH_X86_64 if nr & X32_SYSCALL_BIT != 0 => Some(Abi::X32),
        AUDIT_ARCH_X86_64 => Some(Abi::X86_64),
        AUDIT_ARCH_I386 => Some(Abi::X86),
        AUDIT_ARCH_AARCH64 => Some(Abi::Aarch64),
        AUDIT_ARCH_ARM => Some(Abi::Arm),
        _ => None,
    }
}

/// The ABI's name, or the audit value of an architecture seclaunch does not know.
pub fn abi_text(arch: u32, nr: u32) -> String {
    abi_of(arch, nr).map_or_else(|| format!("arch {arch:#x}"), |abi| abi.to_string())
}

/// The syscall's name, or `syscall N` for a number its ABI does not have.
pub fn syscall_name(arch: u32, nr: u32) -> String {
    match abi_of(arch, nr).and_then(|abi| syscalls::name(abi, nr)) {
        Some(name) => name.to_string(),
        None => format!("syscall {}", nr & !x32_bit(arch, nr)),
    }
}

fn x32_bit(arch: u32, nr: u32) -> u32 {
    if arch == AUDIT_ARCH_X86_64 {
        nr & X32_SYSCALL_BIT
    } else {
        0
    }
}

/// A call with its arguments: `unshare(CLONE_NEWUSER|CLONE_NEWNS)`. On a 32-bit ABI
/// only the low half of each register is the argument.
pub fn call_text(arch: u32, nr: u32, args: [u64; 6]) -> String {
    let abi = abi_of(arch, nr);
    let wide = abi.is_none_or(|abi| abi.is_64bit() || abi == Abi::X32);
    let args = if wide {
        args
    } else {
        args.map(|a| a & 0xffff_ffff)
    };
    let value = |a: u64| number(a, wide);
    let name = syscall_name(arch, nr);
    let shown: Vec<String> = match name.as_str() {
        "unshare" => vec![flags(args[0], CLONE_FLAGS)],
        "clone" => {
            let mut out = vec![clone_flags(args[0])];
            out.extend(args[1..5].iter().map(|a| value(*a)));
            out
        }
        "clone3" => vec![value(args[0]), value(args[1])],
        "socket" => vec![family(args[0]), socket_type(args[1]), value(args[2])],
        "socketpair" => vec![
            family(args[0]),
            socket_type(args[1]),
            value(args[2]),
            value(args[3]),
        ],
        "personality" => vec![persona(args[0])],
        "socketcall" => vec![socketcall(args[0]), value(args[1])],
        _ => args.iter().map(|a| value(*a)).collect(),
    };
    format!("{name}({})", shown.join(", "))
}

/// A register: decimal up to 65535 and for errno-like negatives, hex otherwise.
fn number(value: u64, wide: bool) -> String {
    let negative = if wide {
        value as i64
    } else {
        i64::from(value as u32 as i32)
    };
    match (value, negative) {
        (0..=0xffff, _) => value.to_string(),
        (_, -4095..=-1) => negative.to_string(),
        _ => format!("{value:#x}"),
    }
}

/// Names for the bits of `value` that have one, then what is left in hex.
fn flags(value: u64, names: &[(u64, &str)]) -> String {
    let mut parts = Vec::new();
    let mut rest = value;
    for (bit, name) in names {
        if rest & bit == *bit && *bit != 0 {
            parts.push((*name).to_string());
            rest &= !bit;
        }
    }
    if rest != 0 || parts.is_empty() {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

/// `clone`'s flags, with the signal sent at exit in the low byte.
fn clone_flags(value: u64) -> String {
    let signal = value & 0xff;
    let mut text = flags(value & !0xff, CLONE_FLAGS);
    if signal != 0 {
        let name = signal_name(signal as i32).map_or_else(|| signal.to_string(), String::from);
        text = if value & !0xff == 0 {
            name
        } else {
            format!("{text}|{name}")
        };
    }
    text
}

/// `include/uapi/linux/sched.h`.
const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x0000_0100, "CLONE_VM"),
    (0x0000_0200, "CLONE_FS"),
    (0x0000_0400, "CLONE_FILES"),
    (0x0000_0800, "CLONE_SIGHAND"),
    (0x0000_1000, "CLONE_PIDFD"),
    (0x0000_2000, "CLONE_PTRACE"),
    (0x0000_4000, "CLONE_VFORK"),
    (0x0000_8000, "CLONE_PARENT"),
    (0x0001_0000, "CLONE_THREAD"),
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0004_0000, "CLONE_SYSVSEM"),
    (0x0008_0000, "CLONE_SETTLS"),
    (0x0010_0000, "CLONE_PARENT_SETTID"),
    (0x0020_0000, "CLONE_CHILD_CLEARTID"),
    (0x0040_0000, "CLONE_DETACHED"),
    (0x0080_0000, "CLONE_UNTRACED"),
    (0x0100_0000, "CLONE_CHILD_SETTID"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x8000_0000, "CLONE_IO"),
    (0x0000_0080, "CLONE_NEWTIME"),
];

/// `include/linux/socket.h`.
fn family(value: u64) -> String {
    let name = match value {
        0 => "AF_UNSPEC",
        1 => "AF_UNIX",
        2 => "AF_INET",
        4 => "AF_IPX",
        5 => "AF_APPLETALK",
        9 => "AF_X25",
        10 => "AF_INET6",
        15 => "AF_KEY",
        16 => "AF_NETLINK",
        17 => "AF_PACKET",
        29 => "AF_CAN",
        31 => "AF_BLUETOOTH",
        38 => "AF_ALG",
        40 => "AF_VSOCK",
        44 => "AF_XDP",
        _ => return number(value, true),
    };
    name.to_string()
}

/// The socket type and its `SOCK_NONBLOCK`/`SOCK_CLOEXEC` flags.
fn socket_type(value: u64) -> String {
    let kind = match value & 0xf {
        1 => "SOCK_STREAM".to_string(),
        2 => "SOCK_DGRAM".to_string(),
        3 => "SOCK_RAW".to_string(),
        4 => "SOCK_RDM".to_string(),
        5 => "SOCK_SEQPACKET".to_string(),
        6 => "SOCK_DCCP".to_string(),
        10 => "SOCK_PACKET".to_string(),
        other => other.to_string(),
    };
    let rest = value & !0xf;
    if rest == 0 {
        return kind;
    }
    let extra = flags(
        rest,
        &[(0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC")],
    );
    format!("{kind}|{extra}")
}

/// `personality`'s persona (`include/uapi/linux/personality.h`): the execution domain
/// in the low byte, flags above; `0xffffffff` only asks for the current one.
fn persona(value: u64) -> String {
    if value & 0xffff_ffff == 0xffff_ffff {
        return "0xffffffff".to_string();
    }
    let domain = match value & 0xff {
        0x00 => "PER_LINUX".to_string(),
        0x08 => "PER_LINUX32".to_string(),
        other => format!("{other:#x}"),
    };
    let rest = value & !0xff;
    if rest == 0 {
        return domain;
    }
    let names = [
        (0x0020000, "UNAME26"),
        (0x0040000, "ADDR_NO_RANDOMIZE"),
        (0x0080000, "FDPIC_FUNCPTRS"),
        (0x0100000, "MMAP_PAGE_ZERO"),
        (0x0200000, "ADDR_COMPAT_LAYOUT"),
        (0x0400000, "READ_IMPLIES_EXEC"),
        (0x0800000, "ADDR_LIMIT_32BIT"),
        (0x1000000, "SHORT_INODE"),
        (0x2000000, "WHOLE_SECONDS"),
        (0x4000000, "STICKY_TIMEOUTS"),
        (0x8000000, "ADDR_LIMIT_3GB"),
    ];
    format!("{domain}|{}", flags(rest, &names))
}

/// The call `socketcall` multiplexes (`include/uapi/linux/net.h`): the kernel's
/// filter sees this number, not the socket call behind it.
fn socketcall(value: u64) -> String {
    const CALLS: [&str; 20] = [
        "SYS_SOCKET",
        "SYS_BIND",
        "SYS_CONNECT",
        "SYS_LISTEN",
        "SYS_ACCEPT",
        "SYS_GETSOCKNAME",
        "SYS_GETPEERNAME",
        "SYS_SOCKETPAIR",
        "SYS_SEND",
        "SYS_RECV",
        "SYS_SENDTO",
        "SYS_RECVFROM",
        "SYS_SHUTDOWN",
        "SYS_SETSOCKOPT",
        "SYS_GETSOCKOPT",
        "SYS_SENDMSG",
        "SYS_RECVMSG",
        "SYS_ACCEPT4",
        "SYS_RECVMMSG",
        "SYS_SENDMMSG",
    ];
    let index = value.checked_sub(1).and_then(|i| usize::try_from(i).ok());
    match index.and_then(|i| CALLS.get(i)) {
        Some(name) => (*name).to_string(),
        None => value.to_string(),
    }
}

/// The name of a signal, `SIGSYS`.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    nix::sys::signal::Signal::try_from(signal)
        .ok()
        .map(|s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86_64: u32 = AUDIT_ARCH_X86_64;

    fn call(arch: u32, name: &str, args: [u64; 6]) -> String {
        let abi = abi_of(arch, 0).unwrap();
        call_text(arch, syscalls::number(abi, name).unwrap(), args)
    }

    #[test]
    fn namespace_flags_are_named() {
        let args = [0x1002_0000, 7, 7, 7, 7, 7];
        assert_eq!(
            call(X86_64, "unshare", args),
            "unshare(CLONE_NEWNS|CLONE_NEWUSER)"
        );
        let clone = [0x1000_0000 | 17, 0, 0, 0, 0, 9];
        assert_eq!(
            call(X86_64, "clone", clone),
            "clone(CLONE_NEWUSER|SIGCHLD, 0, 0, 0, 0)"
        );
        assert_eq!(
            call(X86_64, "clone", [17, 0, 0, 0, 0, 0]),
            "clone(SIGCHLD, 0, 0, 0, 0)"
        );
        assert_eq!(call(X86_64, "unshare", [0; 6]), "unshare(0x0)");
        assert_eq!(
            call(X86_64, "unshare", [0x1_0000_0000; 6]),
            "unshare(0x100000000)"
        );
    }

    #[test]
    fn sockets_show_family_and_type() {
        let args = [38, 5 | 0o2000000, 0, 0, 0, 0];
        assert_eq!(
            call(X86_64, "socket", args),
            "socket(AF_ALG, SOCK_SEQPACKET|SOCK_CLOEXEC, 0)"
        );
        assert_eq!(
            call(AUDIT_ARCH_I386, "socketcall", [1, 0xffd0_0000, 0, 0, 0, 0]),
            "socketcall(SYS_SOCKET, 0xffd00000)"
        );
    }

    #[test]
    fn personas_show_domain_and_flags() {
        assert_eq!(
            call(X86_64, "personality", [0x0040000, 0, 0, 0, 0, 0]),
            "personality(PER_LINUX|ADDR_NO_RANDOMIZE)"
        );
        assert_eq!(
            call(X86_64, "personality", [8, 0, 0, 0, 0, 0]),
            "personality(PER_LINUX32)"
        );
        assert_eq!(
            call(X86_64, "personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
            "personality(0xffffffff)"
        );
    }

    #[test]
    fn other_calls_show_every_register() {
        let args = [u64::MAX, 0x7ffd_0000_1000, 0, 4096, 65536, 3];
        assert_eq!(
            call(X86_64, "mount", args),
            "mount(-1, 0x7ffd00001000, 0, 4096, 0x10000, 3)"
        );
        // i386 registers are 32 bits wide: the kernel zero-extends them.
        let args = [0xffff_ffff, 0xdead_0000_0000_0001, 0, 0, 0, 0];
        assert_eq!(
            call(AUDIT_ARCH_I386, "kexec_load", args),
            "kexec_load(-1, 1, 0, 0, 0, 0)"
        );
    }

    #[test]
    fn abis_and_unknown_numbers_are_named() {
        assert_eq!(abi_text(X86_64, 272), "x86_64");
        assert_eq!(abi_text(X86_64, X32_SYSCALL_BIT | 272), "x32");
        assert_eq!(abi_text(AUDIT_ARCH_I386, 1), "i386");
        assert_eq!(abi_text(0x1234, 1), "arch 0x1234");
        assert_eq!(syscall_name(X86_64, 1000), "syscall 1000");
        assert_eq!(syscall_name(X86_64, X32_SYSCALL_BIT | 1000), "syscall 1000");
        assert_eq!(syscall_name(X86_64, X32_SYSCALL_BIT | 272), "unshare");
    }
}
