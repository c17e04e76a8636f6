//! `seclaunch compile` writes what `bwrap --seccomp FD` (Debian's bubblewrap) loads, and
//! the program under bwrap sees the decisions it sees under seclaunch.
#![cfg(target_arch = "x86_64")]

use std::fs::File;
use std::path::Path;
use std::process::Command;

use seclaunch_tests::artifacts::{launcher, probes};
use seclaunch_tests::run::{
    clean_command, output, parse_status, scratch, sentinel_profile, stderr, stdout, SENTINEL,
};

/// Whether bwrap can run here; under CI (`CI=true`) it must.
fn bwrap_available() -> bool {
    let works = Command::new("bwrap")
        .args(["--ro-bind", "/", "/", "/bin/true"])
        .status()
        .is_ok_and(|s| s.success());
    if !works && std::env::var("CI").as_deref() == Ok("true") {
        panic!("bwrap must run under CI: scripts/setup.sh installs bubblewrap");
    }
    if !works {
        eprintln!("skipping: bwrap is not installed or cannot run here");
    }
    works
}

fn compile(profile: &Path, out: &Path) {
    let status = clean_command(&launcher())
        .arg("compile")
        .arg(profile)
        .arg("-o")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn bwrap_loads_the_compiled_filter_and_decides_as_seclaunch() {
    if !bwrap_available() {
        return;
    }
    let dir = scratch("bwrap");
    let profile = sentinel_profile(&dir);
    let filter = dir.join("filter.bpf");
    compile(&profile, &filter);
    let probe = &probes().probe;
    // bwrap reads the program from the fd it is given: here its standard input.
    let mut under_bwrap = clean_command(Path::new("bwrap"));
    under_bwrap
        .args(["--ro-bind", "/", "/", "--seccomp", "0"])
        .arg(probe)
        .arg("status")
        .stdin(File::open(&filter).unwrap());
    let out = output(&mut under_bwrap);
    assert!(out.status.success(), "{}", stderr(&out));
    let bwrap = parse_status(&stdout(&out));
    assert_eq!((bwrap.0, bwrap.3), (2, SENTINEL), "{bwrap:?}");
    let mut under_seclaunch = clean_command(&launcher());
    under_seclaunch
        .arg("-p")
        .arg(&profile)
        .arg(probe)
        .arg("status");
    let ours = parse_status(&stdout(&output(&mut under_seclaunch)));
    assert_eq!(bwrap, ours);
}
