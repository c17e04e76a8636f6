//! Real-kernel tests: each case forks a child, installs a filter built from a profile in
//! the child, makes one syscall and reports through its exit status. The parent never
//! installs anything. Dangerous syscalls are only ever made with invalid arguments.
#![cfg(target_arch = "x86_64")]
#![allow(unsafe_code)]

use profiles::arch::Abi;
use profiles::caps::CapSet;
use profiles::model::KernelVersion;
use profiles::{build, install, Options, ResolveOptions, DEFAULT_PROFILE};

/// How a child ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Exited(i32),
    Signaled(i32),
}

fn options() -> Options {
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

/// Runs `body` in a forked child under the filter built from `profile`; the child exits
/// with what `body` returns (an errno, or 0).
fn in_child(profile: &str, body: fn() -> i32) -> End {
    let built = build(profile.as_bytes(), "test profile", &options()).expect("profile builds");
    let (resolved, compiled) = built.filter.expect("a filter");
    let flags = install::kernel_flags(resolved.flags, false);
    // SAFETY: the child only makes async-signal-safe calls (prctl, seccomp, the syscall
    // under test, _exit) before it exits; the program it installs was built before fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = match install::set_no_new_privs()
            .and_then(|_| install::install(&compiled.program, flags))
        {
            Ok(()) => body(),
            Err(_) => 200,
        };
        // SAFETY: _exit ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above; `status` is a valid out pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid);
    if libc::WIFEXITED(status) {
        End::Exited(libc::WEXITSTATUS(status))
    } else {
        End::Signaled(libc::WTERMSIG(status))
    }
}

/// The errno of a raw syscall that failed, or 0.
fn errno_of(rc: libc::c_long) -> i32 {
    if rc == -1 {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(255)
    } else {
        0
    }
}

#[test]
fn clone3_gets_enosys_without_sys_admin() {
    fn body() -> i32 {
        // A null clone_args fails with EFAULT if the call is allowed.
        // SAFETY: clone3 with a null pointer and size 0 creates nothing.
        errno_of(unsafe { libc::syscall(libc::SYS_clone3, 0usize, 0usize) })
    }
    assert_eq!(in_child(DEFAULT_PROFILE, body), End::Exited(libc::ENOSYS));
}

#[test]
fn personality_addr_no_randomize_gets_eperm() {
    fn body() -> i32 {
        // SAFETY: personality only changes this child's execution domain.
        errno_of(unsafe { libc::syscall(libc::SYS_personality, 0x0004_0000usize) })
    }
    assert_eq!(in_child(DEFAULT_PROFILE, body), End::Exited(libc::EPERM));
}

#[test]
fn personality_query_is_allowed() {
    fn body() -> i32 {
        // SAFETY: 0xffffffff only queries the persona.
        errno_of(unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffffusize) })
    }
    assert_eq!(in_child(DEFAULT_PROFILE, body), End::Exited(0));
}

#[test]
fn syscall_newer_than_the_profile_gets_enosys() {
    fn body() -> i32 {
        // SAFETY: 1000 is no syscall; the kernel would answer ENOSYS too, but the
        // filter answers first.
        errno_of(unsafe { libc::syscall(1000) })
    }
    assert_eq!(in_child(DEFAULT_PROFILE, body), End::Exited(libc::ENOSYS));
}

#[test]
fn mount_is_denied_with_the_profile_errno() {
    fn body() -> i32 {
        // SAFETY: null arguments; allowed or not, nothing is mounted.
        errno_of(unsafe { libc::syscall(libc::SYS_mount, 0usize, 0usize, 0usize, 0usize, 0usize) })
    }
    let profile = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference-profiles/docker-default-errno199.json"
    ));
    let Ok(profile) = profile else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "../shared is missing"
        );
        eprintln!("skipping: ../shared/reference-profiles is missing");
        return;
    };
    assert_eq!(in_child(&profile, body), End::Exited(199));
}

/// `exit(42)` through the i386 ABI (`int $0x80` works from 64-bit code).
fn i386_exit() -> i32 {
    // SAFETY: syscall 1 on i386 is exit; it does not return, so clobbering rbx (which
    // LLVM reserves and will not take as an operand) cannot matter.
    unsafe { std::arch::asm!("mov ebx, 42", "int 0x80", in("eax") 1, options(noreturn)) }
}

#[test]
fn i386_exit_is_allowed_under_the_default_profile() {
    assert_eq!(in_child(DEFAULT_PROFILE, i386_exit), End::Exited(42));
}

#[test]
fn i386_exit_is_killed_without_an_arch_map() {
    let profile = r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["exit", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}"#;
    assert_eq!(in_child(profile, i386_exit), End::Signaled(libc::SIGSYS));
}

#[test]
fn x32_call_is_killed_when_x32_is_not_listed() {
    fn body() -> i32 {
        // SAFETY: x32 getpid; killed before it runs, or ENOSYS on kernels without x32.
        errno_of(unsafe { libc::syscall(0x4000_0000 | 39) })
    }
    let profile = r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}"#;
    assert_eq!(in_child(profile, body), End::Signaled(libc::SIGSYS));
}
