//! The embedded default profile decides exactly as Moby's default profile does, for every
//! ABI, syscall number, argument edge, capability set and kernel version tried. Both are
//! compiled by seclaunch and run through the interpreter; that the compiler itself decides
//! as libseccomp does is the differential test's job.

use profiles::arch::Abi;
use profiles::caps::CapSet;
use profiles::model::KernelVersion;
use profiles::resolve::ResolveOptions;
use profiles::{build, Options, DEFAULT_PROFILE};
use seclaunch_tests::compare::{compare_programs, Tally};
use seclaunch_tests::{shared_profile, Rng};

/// Capability sets worth trying: Docker's, each cap the profile gates on added, each
/// default removed, all and none.
fn cap_sets() -> Vec<(String, CapSet)> {
    let base = CapSet::docker_default();
    let mut sets = vec![
        ("default".to_string(), base.clone()),
        ("all".into(), CapSet::all()),
    ];
    sets.push(("none".into(), CapSet::empty()));
    let gated = [
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_CHROOT",
        "SYS_MODULE",
        "SYS_PACCT",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "SYS_NICE",
        "SYSLOG",
        "BPF",
        "PERFMON",
        "DAC_READ_SEARCH",
    ];
    for cap in gated {
        sets.push((
            format!("+{cap}"),
            base.tweak(&[cap], &[]).expect("known cap"),
        ));
    }
    for cap in base.iter() {
        sets.push((
            format!("-{cap}"),
            base.tweak(&[] as &[&str], &[cap]).expect("known cap"),
        ));
    }
    sets
}

#[test]
fn embedded_default_decides_as_mobys_default() {
    let Some(path) = shared_profile("docker-default.json") else {
        return;
    };
    let moby = std::fs::read(&path).expect("readable");
    let mut rng = Rng::new(7);
    let mut tally = Tally::default();
    let kernels = [(3, 10), (4, 7), (4, 8), (5, 4), (6, 18)];
    for native in [Abi::X86_64, Abi::Aarch64] {
        for (kernel, major) in kernels {
            for (caps_name, caps) in cap_sets() {
                let kernel = KernelVersion { kernel, major };
                let resolve = ResolveOptions {
                    caps,
                    native,
                    kernel,
                };
                let options = Options {
                    resolve,
                    strict: false,
                };
                let ours = build(DEFAULT_PROFILE.as_bytes(), "default", &options).unwrap();
                let theirs = build(&moby, "moby", &options).unwrap();
                let (resolved, ours) = ours.filter.expect("a filter");
                let (_, theirs) = theirs.filter.expect("a filter");
                let label = format!("{native} kernel {kernel} caps {caps_name}");
                let t =
                    compare_programs(&ours.program, &theirs.program, &resolved, &label, &mut rng);
                tally.add(t);
            }
        }
    }
    tally.assert_clean("embedded default against Moby's");
}
