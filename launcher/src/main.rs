//! `seclaunch`: run a program under a Docker/OCI seccomp profile, deciding every
//! syscall as Docker (runc + libseccomp) would; and inspect and compile profiles.
//!
//! Each command lives in its own module and returns what it prints; this file only
//! parses the command line, dispatches, and turns errors into one line and an exit
//! status.

#![deny(unsafe_code)]

mod agent;
mod check;
mod compile_cmd;
mod errno;
mod error;
mod explain;
mod options;
mod privileges;
mod profile_source;
mod program;
mod record;
mod report;
mod run;
mod shim_path;
mod syscall_text;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

use crate::error::{Error, EXIT_CODES_HELP};

/// What `seclaunch --help` says after the options.
const RUN_HELP: &str = "\
The program always runs with no_new_privs set: a setuid or setgid program, or one with
file capabilities, runs without gaining privileges (docker run does not set it unless
asked to). The dynamic loader then honours LD_PRELOAD as usual. Run as root, seclaunch
also limits the program to the capability set the profile is evaluated against
(bounding, effective and permitted; inheritable and ambient empty), as docker run does.

With --report, seclaunch stays as the program's supervisor: the program runs as its
child (another PID), under the filter installed right before execve (exec mode), and
sees the same decisions. Each call the profile denies is reported once per syscall, ABI
and decision, on stderr or in FILE; a summary follows at exit. The exit status is the
program's, 128+N when signal N killed it, and the signals seclaunch receives are passed
on. If seclaunch dies, the program's denied calls fail with ENOSYS.

A program named like a command runs when given as ./check or after --.
";

/// What `seclaunch record --help` says after the options.
const RECORD_HELP: &str = "\
The program runs as seclaunch's child (another PID), under a filter that hands every
call to seclaunch and lets it run; its calls before execve are seclaunch's and are not
recorded. The profile denies with EPERM every call that was not made. It is written
whatever the program's exit status, which is seclaunch's; 125, 126 and 127 are
seclaunch's own failures, as for a launch, and then no profile is written.
";

// `args_conflicts_with_subcommands`: once an option is given at the top level, the next
// word is a PROGRAM, never a subcommand, so `seclaunch --cap-add X check` runs a program
// called `check`.
#[derive(Debug, Parser)]
#[command(name = "seclaunch", version)]
#[command(after_help = format!("{RUN_HELP}\n{EXIT_CODES_HELP}"))]
#[command(
    about = "Run a program under a Docker/OCI seccomp profile, deciding each syscall \
                   as Docker would; inspect and compile profiles"
)]
#[command(args_conflicts_with_subcommands = true)]
#[command(override_usage = "seclaunch [OPTIONS] [--] PROGRAM [ARGS]...\n       \
                            seclaunch <COMMAND> [OPTIONS] [ARGS]")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: run::RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a profile and summarise the filter it gives under the options
    #[command(after_help = EXIT_CODES_HELP)]
    Check(check::CheckArgs),
    /// Write the filter as raw BPF (for `bwrap --seccomp FD`), or print it as a listing
    #[command(after_help = EXIT_CODES_HELP)]
    Compile(compile_cmd::CompileArgs),
    /// Show the decision the filter makes for one syscall, and the rules behind it
    #[command(after_help = EXIT_CODES_HELP)]
    Explain(explain::ExplainArgs),
    /// Run a program with every call allowed, and write a profile that allows the calls
    /// it made
    #[command(after_help = RECORD_HELP)]
    Record(record::RecordArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// `seclaunch completions SHELL`.
#[derive(Args, Debug)]
struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_name = "SHELL")]
    shell: Shell,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_exit(&err),
    };
    let outcome = match &cli.command {
        Some(command) => dispatch(command),
        None => run::run(&cli.run).map(|done| match done {
            run::Done::Print(text) => Outcome::Print(text.into_bytes()),
            run::Done::Exit(status) => Outcome::Exit(status),
        }),
    };
    let printed = match outcome {
        Ok(Outcome::Exit(status)) => return ExitCode::from(status),
        Ok(Outcome::Print(out)) => write_stdout(&out),
        Err(err) => Err(err),
    };
    match printed {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

/// How a command ends: with what it prints on standard output, or, for those that run
/// a program, with the program's exit status.
enum Outcome {
    Print(Vec<u8>),
    Exit(u8),
}

fn dispatch(command: &Command) -> Result<Outcome, Error> {
    let text = |t: String| Outcome::Print(t.into_bytes());
    Ok(match command {
        Command::Check(args) => text(check::run(args)?.to_string()),
        Command::Compile(args) => Outcome::Print(compile_cmd::run(args)?),
        Command::Explain(args) => text(explain::run(args)?.to_string()),
        Command::Completions(args) => Outcome::Print(completions(args.shell)),
        Command::Record(args) => Outcome::Exit(record::run(args)?),
    })
}

fn completions(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "seclaunch", &mut out);
    out
}

/// Writes the command's output. A reader that went away (`seclaunch ... | head`) is not
/// an error.
fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(Error::Stdout(err)),
        _ => Ok(()),
    }
}

/// Help and version go to standard output as clap prints them; a usage error becomes
/// one line, as every other error does.
fn clap_exit(err: &clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => match err.print() {
            Err(io_err) if io_err.kind() != io::ErrorKind::BrokenPipe => {
                fail(&Error::Stdout(io_err))
            }
            _ => ExitCode::SUCCESS,
        },
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let reason = "a command is required: check, compile, explain or completions";
            fail(&Error::Usage(format!("{reason} (see seclaunch --help)")))
        }
        _ => fail(&Error::Usage(usage_line(err))),
    }
}

/// clap's message on one line: its first paragraph (the reason, and the values it lists
/// under it) without the `error: ` prefix, and a pointer to `--help` in place of the
/// usage block clap would print.
fn usage_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = paragraph.join(" ");
    let reason = text.strip_prefix("error: ").unwrap_or(&text);
    format!("{reason} (see seclaunch --help)")
}

fn fail(err: &Error) -> ExitCode {
    eprintln!("seclaunch: {err}");
    ExitCode::from(err.exit_code())
}
