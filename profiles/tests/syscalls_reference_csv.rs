//! The syscall tables against a newer libseccomp table for x86, x86_64 and x32: a
//! trimmed copy of libseccomp's `src/syscalls.csv`, kept outside the repository.
//!
//! The directory is `/work/shared/reference-data` unless `SECLAUNCH_REFERENCE_DATA`
//! names another. Without it the test is skipped with a message, except under
//! `CI=true`, where a missing file is a failure.
//!
//! Unlike the library, the table lists the direct i386 socket and IPC numbers
//! (`socket` = 359), so every number both sides have must agree, with no exception.

use std::collections::BTreeSet;
use std::env;
use std::fs;
use std::path::PathBuf;

use profiles::arch::{Abi, X32_SYSCALL_BIT};
use profiles::syscalls;

const DEFAULT_DIR: &str = "/work/shared/reference-data";
const FILE: &str = "syscalls-x86.csv";

/// The ABIs of the table, in its column order: `name,x86,x86_kver,x86_64,...`.
const COLUMNS: [Abi; 3] = [Abi::X86, Abi::X86_64, Abi::X32];

/// One row: the name and its number per ABI of `COLUMNS` (`None` for `PNR`).
struct Row {
    name: String,
    numbers: [Option<u32>; 3],
}

fn reference_path() -> PathBuf {
    let dir = env::var_os("SECLAUNCH_REFERENCE_DATA").map_or(DEFAULT_DIR.into(), PathBuf::from);
    dir.join(FILE)
}

/// The file's text, or `None` when the test should be skipped.
fn reference_text() -> Option<String> {
    let path = reference_path();
    match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "{}: {e} (the reference table is required under CI=true)",
                path.display()
            )
        }
        Err(e) => {
            println!("skipped: {}: {e}", path.display());
            None
        }
    }
}

/// A number cell: `PNR` (no such syscall on the ABI) or a decimal number, which for
/// x32 the table gives without bit 30.
fn cell(abi: Abi, text: &str) -> Result<Option<u32>, String> {
    if text == "PNR" {
        return Ok(None);
    }
    let nr: u32 = text
        .parse()
        .map_err(|e| format!("bad number {text:?}: {e}"))?;
    Ok(Some(if abi == Abi::X32 {
        nr | X32_SYSCALL_BIT
    } else {
        nr
    }))
}

fn parse(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let [name, x86, _, x86_64, _, x32, _] = fields[..] else {
            return Err(format!(
                "line {}: expected 7 fields, got {}",
                line_no + 1,
                fields.len()
            ));
        };
        let at = |abi, text| cell(abi, text).map_err(|e| format!("line {}: {e}", line_no + 1));
        let numbers = [
            at(Abi::X86, x86)?,
            at(Abi::X86_64, x86_64)?,
            at(Abi::X32, x32)?,
        ];
        rows.push(Row {
            name: name.to_owned(),
            numbers,
        });
    }
    Ok(rows)
}

#[test]
fn numbers_agree_with_the_reference_table() {
    let Some(text) = reference_text() else { return };
    let rows = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", reference_path().display()));
    assert!(rows.len() > 400, "only {} rows", rows.len());

    let mut mismatches = Vec::new();
    let mut newer = BTreeSet::new();
    let mut ours_only = BTreeSet::new();
    for (i, abi) in COLUMNS.into_iter().enumerate() {
        let mut common = 0;
        for row in &rows {
            let theirs = row.numbers[i];
            match (syscalls::number(abi, &row.name), theirs) {
                (Some(ours), Some(theirs)) if ours == theirs => common += 1,
                (Some(ours), Some(theirs)) => mismatches.push(format!(
                    "{abi} {}: ours {ours:#x}, reference {theirs:#x}",
                    row.name
                )),
                (None, Some(_)) => {
                    newer.insert(format!("{abi} {}", row.name));
                }
                (Some(_), None) => {
                    ours_only.insert(format!("{abi} {}", row.name));
                }
                (None, None) => {}
            }
        }
        for (name, _) in syscalls::table(abi) {
            if !rows.iter().any(|row| row.name == name) {
                ours_only.insert(format!("{abi} {name}"));
            }
        }
        println!("{abi}: {common} numbers agree with the reference table");
    }
    println!("in the reference table only (newer than our tables): {newer:?}");
    println!("in our tables only: {ours_only:?}");
    assert!(
        mismatches.is_empty(),
        "numbers differ:\n{}",
        mismatches.join("\n")
    );
}
