//! `explain` against the kernel: for a sample of syscalls, the decision `seclaunch
//! explain` predicts is the one the kernel makes under the filter `seclaunch compile`
//! wrote. Each call runs in a forked child that installs the filter; the parent never
//! installs anything. Every call is made with arguments the kernel refuses (bad fds,
//! null pointers, invalid magic numbers), so an allowed call fails harmlessly with the
//! kernel's own errno, and a denied one fails with the profile's errno 199.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use profiles::bpf::sock_filter;
use profiles::{build, install, Options};

/// The profile's errno, which no syscall of the sample returns on its own.
const PROFILE_ERRNO: i32 = 199;

/// A child's exit status when it could not install the filter.
const INSTALL_FAILED: i32 = 200;

/// One call: its name for `explain`, its number for `syscall(2)`, its arguments.
struct Probe {
    name: &'static str,
    nr: libc::c_long,
    args: [u64; 6],
}

const NONE: u64 = 0;
const BAD_FD: u64 = u64::MAX;

/// Harmless with these arguments whatever the filter decides.
const PROBES: &[Probe] = &[
    Probe {
        name: "read",
        nr: libc::SYS_read,
        args: [BAD_FD, NONE, 0, 0, 0, 0],
    },
    Probe {
        name: "write",
        nr: libc::SYS_write,
        args: [BAD_FD, NONE, 0, 0, 0, 0],
    },
    Probe {
        name: "fstat",
        nr: libc::SYS_fstat,
        args: [BAD_FD, NONE, 0, 0, 0, 0],
    },
    Probe {
        name: "ioctl",
        nr: libc::SYS_ioctl,
        args: [BAD_FD, 0, NONE, 0, 0, 0],
    },
    Probe {
        name: "chroot",
        nr: libc::SYS_chroot,
        args: [NONE, 0, 0, 0, 0, 0],
    },
    Probe {
        name: "ptrace",
        nr: libc::SYS_ptrace,
        args: [u64::MAX, 0, NONE, NONE, 0, 0],
    },
    // AF_UNIX with an invalid type: EINVAL if allowed.
    Probe {
        name: "socket",
        nr: libc::SYS_socket,
        args: [1, u64::MAX, 0, 0, 0, 0],
    },
    // AF_VSOCK, refused by the profile's socket rules.
    Probe {
        name: "socket",
        nr: libc::SYS_socket,
        args: [40, u64::MAX, 0, 0, 0, 0],
    },
    // 0xffffffff only queries the execution domain.
    Probe {
        name: "personality",
        nr: libc::SYS_personality,
        args: [0xffff_ffff, 0, 0, 0, 0, 0],
    },
    Probe {
        name: "clone3",
        nr: libc::SYS_clone3,
        args: [NONE, 0, 0, 0, 0, 0],
    },
    Probe {
        name: "mount",
        nr: libc::SYS_mount,
        args: [NONE, NONE, NONE, 0, NONE, 0],
    },
    Probe {
        name: "umount2",
        nr: libc::SYS_umount2,
        args: [NONE, 0, 0, 0, 0, 0],
    },
    Probe {
        name: "unshare",
        nr: libc::SYS_unshare,
        args: [u64::MAX, 0, 0, 0, 0, 0],
    },
    Probe {
        name: "setns",
        nr: libc::SYS_setns,
        args: [BAD_FD, 0, 0, 0, 0, 0],
    },
    // Magic 0 is invalid: reboot refuses it before anything else.
    Probe {
        name: "reboot",
        nr: libc::SYS_reboot,
        args: [0, 0, 0, NONE, 0, 0],
    },
    // Too many segments and unknown flags: EINVAL before anything is loaded.
    Probe {
        name: "kexec_load",
        nr: libc::SYS_kexec_load,
        args: [0, u64::MAX, NONE, 0xffff_ffff, 0, 0],
    },
    Probe {
        name: "finit_module",
        nr: libc::SYS_finit_module,
        args: [BAD_FD, NONE, 0, 0, 0, 0],
    },
    Probe {
        name: "swapon",
        nr: libc::SYS_swapon,
        args: [NONE, 0, 0, 0, 0, 0],
    },
    Probe {
        name: "bpf",
        nr: libc::SYS_bpf,
        args: [u64::MAX, NONE, 0, 0, 0, 0],
    },
    Probe {
        name: "keyctl",
        nr: libc::SYS_keyctl,
        args: [u64::MAX, 0, 0, 0, 0, 0],
    },
    Probe {
        name: "open_by_handle_at",
        nr: libc::SYS_open_by_handle_at,
        args: [BAD_FD, NONE, 0, 0, 0, 0],
    },
    Probe {
        name: "perf_event_open",
        nr: libc::SYS_perf_event_open,
        args: [NONE, 0, BAD_FD, BAD_FD, 0, 0],
    },
    // No syscall has this number: runc's stub answers.
    Probe {
        name: "1000",
        nr: 1000,
        args: [0; 6],
    },
];

/// How a child ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Exited(i32),
    Signaled(i32),
}

fn shared_profile() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference-profiles/docker-default-errno199.json");
    if path.exists() {
        return Some(path);
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "{} is missing",
        path.display()
    );
    eprintln!(
        "skipping: {} is missing (clone ../shared beside the project)",
        path.display()
    );
    None
}

fn seclaunch(args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_seclaunch"))
        .args(args)
        .output()
        .expect("the seclaunch binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "seclaunch {args:?} failed: {stderr}"
    );
    output
}

/// The filter as `seclaunch compile` writes it, resolved for this host as `explain` is.
fn compiled_filter(profile: &str) -> Vec<sock_filter> {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("errno199.bpf");
    let out = path.to_str().expect("a UTF-8 path");
    seclaunch(&["compile", profile, "-o", out]);
    let bytes = std::fs::read(&path).expect("the filter was written");
    let insn = |b: &[u8]| sock_filter {
        code: u16::from_ne_bytes([b[0], b[1]]),
        jt: b[2],
        jf: b[3],
        k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
    };
    bytes.chunks_exact(8).map(insn).collect()
}

/// The decision `seclaunch explain` predicts for a probe: `ALLOW`, `ERRNO(n) NAME`, ...
fn predicted(profile: &str, probe: &Probe) -> String {
    let args: Vec<String> = probe.args.iter().map(|a| format!("{a:#x}")).collect();
    let mut command = vec!["explain", profile, probe.name];
    command.extend(args.iter().map(String::as_str));
    let output = seclaunch(&command);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = stdout.lines().find_map(|l| l.strip_prefix("decision: "));
    line.expect("a decision line").to_string()
}

/// Runs the probe in a child under `program`; the child exits with the call's errno, or
/// 0 when it succeeded.
fn in_child(program: &[sock_filter], flags: libc::c_ulong, probe: &Probe) -> End {
    let [a0, a1, a2, a3, a4, a5] = probe.args;
    // SAFETY: between fork and _exit the child makes only async-signal-safe calls
    // (prctl, seccomp, the probed syscall); the program was built before the fork and
    // nothing is allocated after it.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let installed = install::set_no_new_privs().and_then(|()| install::install(program, flags));
        let status = match installed {
            // SAFETY: every probe passes arguments the kernel refuses, or that only
            // query; no pointer argument points anywhere.
            Ok(()) => errno_of(unsafe { libc::syscall(probe.nr, a0, a1, a2, a3, a4, a5) }),
            Err(_) => INSTALL_FAILED,
        };
        // SAFETY: _exit ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(status) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above; `status` is a valid out pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid, "waitpid failed");
    if libc::WIFEXITED(status) {
        End::Exited(libc::WEXITSTATUS(status))
    } else {
        End::Signaled(libc::WTERMSIG(status))
    }
}

/// The errno of a raw syscall that failed, or 0 when it succeeded.
fn errno_of(rc: libc::c_long) -> i32 {
    if rc == -1 {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(255)
    } else {
        0
    }
}

/// Whether the kernel did what `explain` said: ALLOW runs the call, which then fails
/// with the kernel's own errno (or succeeds); ERRNO(n) fails it with n; the kill and
/// trap actions end the child with SIGSYS.
fn agrees(decision: &str, end: &End) -> bool {
    let action = decision.split_whitespace().next().unwrap_or_default();
    match end {
        End::Exited(INSTALL_FAILED) => false,
        End::Exited(code) if action == "ALLOW" => *code != PROFILE_ERRNO,
        End::Exited(code) => action == format!("ERRNO({code})"),
        End::Signaled(signal) => {
            matches!(action, "KILL_THREAD" | "KILL_PROCESS" | "TRAP") && *signal == libc::SIGSYS
        }
    }
}

#[test]
fn explain_predicts_the_kernel_decision_for_a_sample_of_syscalls() {
    let Some(path) = shared_profile() else { return };
    let profile = path.to_str().expect("a UTF-8 path");
    let program = compiled_filter(profile);
    let bytes = std::fs::read(&path).expect("the profile is readable");
    let built = build(&bytes, profile, &Options::for_this_host()).expect("the profile builds");
    let (resolved, compiled) = built.filter.expect("the profile is a filter");
    assert_eq!(
        program, compiled.program,
        "compile wrote another program than the library's"
    );
    let flags = install::kernel_flags(resolved.flags, false);
    let mut decisions = Vec::new();
    let mut mismatches = Vec::new();
    for probe in PROBES {
        let decision = predicted(profile, probe);
        let end = in_child(&program, flags, probe);
        if !agrees(&decision, &end) {
            let call = format!("{}{:x?}", probe.name, probe.args);
            mismatches.push(format!(
                "{call}: explain says {decision}, the kernel gave {end:?}"
            ));
        }
        decisions.push(decision);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // The sample must exercise both outcomes, or agreeing proves little.
    assert!(decisions.iter().any(|d| d == "ALLOW"), "{decisions:?}");
    assert!(decisions.iter().any(|d| d == "ERRNO(199)"), "{decisions:?}");
    assert!(
        decisions.iter().any(|d| d == "ERRNO(38) ENOSYS"),
        "{decisions:?}"
    );
}
