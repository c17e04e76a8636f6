//! `seclaunch compile`: the filter as raw BPF, in the form `bwrap --seccomp FD` reads,
//! or as a listing.

use std::path::{Path, PathBuf};

use clap::Args;
use profiles::bpf::{disasm, to_bytes};

use crate::error::Error;
use crate::options::CommonOptions;
use crate::profile_source::ProfileSource;

/// `seclaunch compile PROFILE -o FILE`.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// The profile: a file, `default` (the embedded default) or `unconfined`
    #[arg(value_name = "PROFILE")]
    pub profile: ProfileSource,
    /// Write the program to FILE (`-` for standard output): 8-byte `struct sock_filter`
    /// instructions in this machine's byte order
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    #[arg(required_unless_present = "disasm")]
    pub output: Option<PathBuf>,
    /// Print the program as a numbered listing (as well as writing it, with -o)
    #[arg(long)]
    pub disasm: bool,
    #[command(flatten)]
    pub common: CommonOptions,
}

/// Builds the filter, writes it where `-o` says, and returns what goes to standard
/// output: the program itself for `-o -`, the listing for `--disasm`.
pub fn run(args: &CompileArgs) -> Result<Vec<u8>, Error> {
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    if to_stdout && args.disasm {
        let reason = "--disasm and -o - would both write to standard output";
        return Err(Error::Usage(reason.to_string()));
    }
    let options = args.common.build_options()?;
    let built = args.profile.build(&options)?;
    let Some((_, compiled)) = built.filter else {
        let profile = args.profile.name();
        return Err(Error::Unconfined {
            profile,
            action: "compile",
        });
    };
    let bytes = to_bytes(&compiled.program);
    match &args.output {
        Some(_) if to_stdout => return Ok(bytes),
        Some(path) => std::fs::write(path, &bytes).map_err(|source| Error::WriteFilter {
            path: path.clone(),
            source,
        })?,
        None => {}
    }
    Ok(if args.disasm {
        disasm(&compiled.program).into_bytes()
    } else {
        Vec::new()
    })
}
