//! Differential tests: seclaunch's filter against the filter runc builds with libseccomp
//! for the same resolved profile, decision by decision, on every ABI, every syscall
//! number up to the highest plus 64, odd numbers, and argument vectors at the edges of
//! every constant in the rules.
//!
//! The reference libseccomp (the system's) knows fewer syscall names than seclaunch's
//! tables; rules naming those are left out of both sides (see
//! `support::compare::common_names_only`), since runc would drop them at that version.
//! Zero mismatches is the only passing result.

use profiles::arch::Abi;
use profiles::caps::CapSet;
use profiles::model::{Arg, Filter, Format, KernelVersion, Profile, SyscallEntry};
use profiles::resolve::{resolve, Resolution, ResolveOptions};
use seclaunch_tests::compare::{common_names_only, compare, Tally};
use seclaunch_tests::Rng;

const X86_NAMES: &[&str] = &[
    "read",
    "write",
    "open",
    "close",
    "getpid",
    "socket",
    "bind",
    "connect",
    "accept4",
    "recvmmsg",
    "sendmmsg",
    "getsockopt",
    "semop",
    "semget",
    "shmget",
    "msgsnd",
    "ipc",
    "socketcall",
    "chown32",
    "mmap2",
    "_llseek",
    "clone",
    "clone3",
    "personality",
    "ptrace",
    "arch_prctl",
    "set_thread_area",
    "rt_sigaction",
    "preadv2",
    "open_tree",
    "futex_waitv",
    "kexec_load",
    "nosuchcall",
    "execveat",
    "waitpid",
    "mseal",
];

const ARM_NAMES: &[&str] = &[
    "read",
    "write",
    "openat",
    "close",
    "getpid",
    "socket",
    "bind",
    "clone",
    "clone3",
    "personality",
    "ptrace",
    "arm_fadvise64_64",
    "cacheflush",
    "set_tls",
    "breakpoint",
    "chown32",
    "mmap2",
    "_llseek",
    "renameat",
    "open_tree",
    "futex_waitv",
    "nosuchcall",
];

const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

const OPS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

const VALUES: &[u64] = &[
    0,
    1,
    2,
    7,
    38,
    0x7e02_0000,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0xffff_ffff_0000_0000,
    0xffff_ffff_ffff_fffe,
    u64::MAX,
];

fn generated_profile(rng: &mut Rng, names: &[&str], arches: &[&str]) -> Profile {
    let entries = 1 + rng.below(10);
    generated_profile_of(rng, names, arches, entries)
}

fn generated_profile_of(rng: &mut Rng, names: &[&str], arches: &[&str], entries: usize) -> Profile {
    let default = *rng.pick(&ACTIONS[..8]);
    let mut profile = Profile {
        default_action: default.to_string(),
        default_errno_ret: rng
            .chance(50)
            .then(|| *rng.pick(&[0, 1, 38, 199, 4095, 70000])),
        listener_path: "/run/seclaunch-test.sock".to_string(),
        ..Profile::default()
    };
    for _ in 0..rng.below(3) {
        profile.architectures.push(rng.pick(arches).to_string());
    }
    for _ in 0..entries {
        profile.syscalls.push(generated_entry(rng, names));
    }
    profile
}

fn generated_entry(rng: &mut Rng, names: &[&str]) -> SyscallEntry {
    let count = 1 + rng.below(3);
    let names = (0..count).map(|_| (*rng.pick(names)).into()).collect();
    let mut entry = SyscallEntry {
        names,
        action: rng.pick(ACTIONS).to_string(),
        errno_ret: rng.chance(60).then(|| *rng.pick(&[0, 1, 5, 38, 199])),
        ..SyscallEntry::default()
    };
    let arg_count = [0, 0, 1, 1, 2, 3][rng.below(6)];
    for _ in 0..arg_count {
        entry.args.push(Arg {
            index: if rng.chance(2) {
                6
            } else {
                rng.below(3) as u64
            },
            value: *rng.pick(VALUES),
            value_two: *rng.pick(VALUES),
            op: rng.pick(OPS).to_string(),
        });
    }
    entry
}

fn options(native: Abi) -> ResolveOptions {
    ResolveOptions {
        caps: CapSet::docker_default(),
        native,
        kernel: KernelVersion {
            kernel: 6,
            major: 18,
        },
    }
}

fn run_generated(seed: u64, count: usize, native: Abi, names: &[&str], arches: &[&str]) -> Tally {
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    for i in 0..count {
        let profile = generated_profile(&mut rng, names, arches);
        let Ok(Resolution::Filter(resolved)) = resolve(&profile, Format::Moby, &options(native))
        else {
            continue;
        };
        let resolved = common_names_only(&resolved);
        tally.add(compare(
            &resolved,
            &format!("generated #{i} (seed {seed})"),
            &mut rng,
        ));
    }
    tally
}

#[test]
fn generated_x86_profiles_decide_as_libseccomp_does() {
    let arches = ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"];
    let tally = run_generated(1, 300, Abi::X86_64, X86_NAMES, &arches);
    tally.assert_clean("generated x86 profiles");
}

/// More than 32 rules: runc asks for libseccomp's binary-tree layout, whose dispatch and
/// block order differ from the default layout's.
#[test]
fn generated_long_profiles_decide_as_libseccomp_does() {
    let arches = ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"];
    let mut rng = Rng::new(4);
    let mut tally = Tally::default();
    let mut long = 0;
    for i in 0..60 {
        let entries = 17 + rng.below(20);
        let profile = generated_profile_of(&mut rng, X86_NAMES, &arches, entries);
        let Ok(Resolution::Filter(resolved)) =
            resolve(&profile, Format::Moby, &options(Abi::X86_64))
        else {
            continue;
        };
        long += usize::from(resolved.rules.len() > 32);
        let resolved = common_names_only(&resolved);
        tally.add(compare(&resolved, &format!("long #{i}"), &mut rng));
    }
    assert!(long >= 30, "only {long} profiles had more than 32 rules");
    tally.assert_clean("long generated x86 profiles");
}

#[test]
fn generated_arm_profiles_decide_as_libseccomp_does() {
    let arches = ["SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"];
    let tally = run_generated(2, 60, Abi::Aarch64, ARM_NAMES, &arches);
    tally.assert_clean("generated arm profiles");
}

#[test]
fn includes_and_excludes_do_not_change_the_comparison() {
    // Entries gated on caps and kernels resolve first, then compare like any other.
    let mut rng = Rng::new(3);
    let mut tally = Tally::default();
    for i in 0..40 {
        let mut profile = generated_profile(&mut rng, X86_NAMES, &["SCMP_ARCH_X86"]);
        for entry in &mut profile.syscalls {
            if rng.chance(30) {
                entry.includes = Filter {
                    caps: vec!["CAP_SYS_ADMIN".into()],
                    ..Filter::default()
                };
            }
            if rng.chance(30) {
                entry.excludes = Filter {
                    arches: vec!["amd64".into()],
                    ..Filter::default()
                };
            }
        }
        let caps = if i % 2 == 0 {
            CapSet::all()
        } else {
            CapSet::docker_default()
        };
        let opts = ResolveOptions {
            caps,
            ..options(Abi::X86_64)
        };
        if let Ok(Resolution::Filter(resolved)) = resolve(&profile, Format::Moby, &opts) {
            tally.add(compare(
                &common_names_only(&resolved),
                &format!("gated #{i}"),
                &mut rng,
            ));
        }
    }
    tally.assert_clean("cap- and arch-gated profiles");
}

/// Moby's and Podman's defaults, and the older Moby defaults, under several capability
/// sets, kernels and native ABIs.
#[test]
fn reference_profiles_decide_as_libseccomp_does() {
    let files = [
        "docker-default.json",
        "podman-default.json",
        "docker-20.10.24-default.json",
        "docker-26.1.5-default.json",
        "docker-default-2024-02.json",
        "docker-default-errno199.json",
    ];
    let cap_sets = [
        ("default caps", CapSet::docker_default()),
        ("all caps", CapSet::all()),
        ("no caps", CapSet::empty()),
        (
            "+SYS_ADMIN",
            CapSet::docker_default().tweak(&["SYS_ADMIN"], &[]).unwrap(),
        ),
    ];
    let mut rng = Rng::new(4);
    let mut tally = Tally::default();
    for file in files {
        let Some(path) = seclaunch_tests::shared_profile(file) else {
            return;
        };
        let bytes = std::fs::read(&path).expect("readable");
        let parsed = profiles::parse::parse_profile(&bytes, &Default::default()).expect("parses");
        for native in [Abi::X86_64, Abi::Aarch64] {
            for kernel in [
                KernelVersion {
                    kernel: 4,
                    major: 7,
                },
                KernelVersion {
                    kernel: 6,
                    major: 18,
                },
            ] {
                for (caps_name, caps) in &cap_sets {
                    let opts = ResolveOptions {
                        caps: caps.clone(),
                        native,
                        kernel,
                    };
                    let Ok(Resolution::Filter(resolved)) =
                        resolve(&parsed.profile, parsed.format, &opts)
                    else {
                        panic!("{file} resolves to a filter");
                    };
                    let label = format!("{file} {native} {kernel} {caps_name}");
                    tally.add(compare(&common_names_only(&resolved), &label, &mut rng));
                }
            }
        }
    }
    tally.assert_clean("reference profiles");
}
