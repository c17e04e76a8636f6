//! Malformed and hostile profiles (`tests/corpus/hostile/`) and the fuzzers' seed corpus
//! (`fuzz/seeds/`): each profile is refused with one line naming the file and where, or
//! accepted where Docker accepts it, by the launcher and by the shim alike; nothing
//! panics or dies of a signal; and the fuzz targets' checks hold on every seed.

use std::path::{Path, PathBuf};

use seclaunch_tests::artifacts::{launcher, probes, shim};
use seclaunch_tests::fuzz_checks;
use seclaunch_tests::run::{clean_command, output, scratch, stderr};

/// Profiles Docker accepts: repeated architectures, and invalid UTF-8, which Go's
/// decoder turns into U+FFFD.
const ACCEPTED: [&str; 2] = ["huge-array.json", "invalid-utf8.json"];

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    out.sort();
    out
}

fn hostile() -> Vec<PathBuf> {
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/hostile"))
}

#[test]
fn the_launcher_refuses_each_hostile_profile_with_one_line_or_accepts_it_as_docker_does() {
    let corpus = hostile();
    assert!(corpus.len() >= 20);
    for path in corpus {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let out = output(clean_command(&launcher()).arg("check").arg(&path));
        let err = stderr(&out);
        if ACCEPTED.contains(&name.as_str()) {
            assert_eq!(out.status.code(), Some(0), "{name}: {err}");
            continue;
        }
        assert_eq!(out.status.code(), Some(125), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        let prefix = format!("seclaunch: {}: ", path.display());
        assert!(err.starts_with(&prefix), "{name}: {err}");
    }
}

#[test]
fn the_shim_refuses_each_hostile_profile_before_main() {
    let dir = scratch("hostile");
    let mark = dir.join("main-ran");
    for path in hostile() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if ACCEPTED.contains(&name.as_str()) {
            continue;
        }
        let mut command = clean_command(&probes().probe);
        command
            .env("LD_PRELOAD", shim())
            .env("SECLAUNCH_PROFILE", &path)
            .env("PROBE_MARK", &mark);
        let out = output(&mut command);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{name}: {err}");
        assert!(
            err.starts_with("secshim: building the profile: "),
            "{name}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(!mark.exists(), "{name}: main ran");
    }
}

/// The inputs of a `fuzz/seeds/*.seeds` file (see `scripts/fuzz-seeds.py`).
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(format!("{target}.seeds"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rest = data.strip_prefix(b"SLSEEDS1").expect("a seeds file");
    let mut out = Vec::new();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let (entry, tail) = tail.split_at(len);
        out.push(entry.to_vec());
        rest = tail;
    }
    out
}

#[test]
fn the_fuzz_checks_hold_on_the_hostile_corpus_and_every_seed() {
    let mut count = 0;
    for path in hostile() {
        let bytes = std::fs::read(&path).unwrap();
        fuzz_checks::parse(&bytes);
        fuzz_checks::compile(&bytes);
        count += 1;
    }
    for (target, check) in [
        ("parse", fuzz_checks::parse as fn(&[u8])),
        ("compile", fuzz_checks::compile),
        ("decide", fuzz_checks::decide),
    ] {
        let inputs = seeds(target);
        assert!(inputs.len() > 100, "{target}: {} seeds", inputs.len());
        for input in inputs {
            check(&input);
            count += 1;
        }
    }
    eprintln!("replayed {count} inputs");
}
