//! Docker/OCI seccomp profiles: read them, resolve them as moby and runc do, and compile
//! them to a BPF filter that makes the same decision libseccomp's filter would.
//!
//! # Terminology
//! - *profile*: the JSON document ([`model::Profile`]).
//! - *rule*: one syscall name with an action and conditions, after resolution
//!   ([`resolve::Rule`]).
//! - *condition*: one argument comparison ([`db::Cond`]).
//! - *filter* or *program*: the BPF that the kernel runs ([`bpf::Program`]).
//! - *ABI* or *arch*: x86_64, i386, x32, aarch64, arm ([`arch::Abi`]).
//! - *decision*: what the kernel does with one syscall ([`action::Action`]).
//!
//! # Phases
//! [`parse`] reads JSON into [`model`]; [`resolve`] applies capabilities, architecture
//! and kernel version as moby and runc do; [`db`] merges the rules per ABI and syscall
//! with libseccomp's semantics; [`codegen`] turns that into one BPF program; [`interp`]
//! runs a program without the kernel.

#![deny(unsafe_code)]

pub mod action;
pub mod arch;
mod asm;
pub mod bpf;
pub mod caps;
pub mod codegen;
pub mod compile;
pub mod db;
pub mod frame;
pub mod install;
pub mod interp;
pub mod json;
pub mod kernel;
pub mod listener;
pub mod model;
pub mod parse;
pub mod resolve;
pub mod syscalls;

use std::fmt;

pub use compile::Compiled;
pub use resolve::{ResolveOptions, Resolved};

/// seclaunch's own default profile, used when none is named. It decides as Moby's
/// default profile does.
pub const DEFAULT_PROFILE: &str = include_str!("../docker-default.json");

/// Everything a build of a profile depends on.
#[derive(Clone, Debug)]
pub struct Options {
    /// Capabilities, native ABI and kernel version.
    pub resolve: ResolveOptions,
    /// Reject unknown keys and unknown syscall names instead of ignoring them.
    pub strict: bool,
}

impl Options {
    /// Docker's defaults for this machine, not strict.
    pub fn for_this_host() -> Options {
        Options {
            resolve: ResolveOptions::for_this_host(),
            strict: false,
        }
    }
}

/// A profile, built.
#[derive(Debug)]
pub struct Built {
    /// The format the file was read as.
    pub format: model::Format,
    /// The profile as written.
    pub profile: model::Profile,
    /// Keys that were ignored, as `(location, key)`.
    pub ignored_keys: Vec<parse::Warning>,
    /// The filter, or `None` when the profile asks for no filter (`{}`).
    pub filter: Option<(Resolved, Compiled)>,
}

/// A failure to build a profile: the source (usually a file name) and what went wrong.
#[derive(Debug)]
pub struct Error {
    /// Where the profile came from, as the user named it.
    pub source_name: String,
    /// What went wrong (boxed: the variants carry locations and found values, and a
    /// large `Err` would be copied through every `?`).
    pub kind: Box<ErrorKind>,
}

/// The phase that failed.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The JSON could not be read as a profile.
    #[error(transparent)]
    Parse(#[from] parse::ParseError),
    /// The profile's content is invalid for the given options.
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
    /// The rules could not be compiled.
    #[error(transparent)]
    Compile(#[from] compile::CompileError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source_name, self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.kind)
    }
}

/// Parses, resolves and compiles a profile.
///
/// ```
/// let options = profiles::Options::for_this_host();
/// let built = profiles::build(profiles::DEFAULT_PROFILE.as_bytes(), "default", &options)
///     .expect("the embedded default builds");
/// let (_, compiled) = built.filter.expect("the default is a filter");
/// assert!(compiled.program.len() < 4096);
/// ```
pub fn build(bytes: &[u8], source_name: &str, options: &Options) -> Result<Built, Error> {
    let parsed = parse(bytes, source_name, options)?;
    let resolution = resolve(&parsed, source_name, options)?;
    Ok(Built {
        filter: compile_resolution(resolution, source_name, options)?,
        format: parsed.format,
        profile: parsed.profile,
        ignored_keys: parsed.warnings,
    })
}

/// Builds a profile as [`build`] does, for a caller that wants only the filter.
///
/// It takes the document so that it can free it, and then the parsed profile, before
/// compiling, and frees the resolved rules once the database holds them, before code
/// generation: what comes after reuses that memory instead of fresh pages. In a process
/// that builds once, such as the shim's, each fresh page costs about as much as 4,000
/// instructions. So the [`Resolved`] it returns has no `rules` (the [`Compiled`]
/// database holds what they said); a caller that reads them uses [`build`].
///
/// ```
/// use std::borrow::Cow;
///
/// let options = profiles::Options::for_this_host();
/// let bytes = Cow::Borrowed(profiles::DEFAULT_PROFILE.as_bytes());
/// let built = profiles::build_filter(bytes, "default", &options).expect("builds");
/// let (resolved, compiled) = built.expect("the default is a filter");
/// assert!(resolved.rules.is_empty());
/// let frame = profiles::frame::of(&resolved, &compiled).expect("encodes");
/// assert_eq!(frame.len(), 24 + 8 * compiled.program.len());
/// ```
pub fn build_filter(
    bytes: std::borrow::Cow<'_, [u8]>,
    source_name: &str,
    options: &Options,
) -> Result<Option<(Resolved, Compiled)>, Error> {
    let parsed = parse(&bytes, source_name, options)?;
    drop(bytes);
    let resolution = resolve(&parsed, source_name, options)?;
    drop(parsed);
    let resolve::Resolution::Filter(mut resolved) = resolution else {
        return Ok(None);
    };
    let fail = |e: compile::CompileError| build_error(source_name, e.into());
    let filed = compile::file(&resolved, options.strict).map_err(fail)?;
    resolved.rules = Vec::new();
    let compiled = compile::generate(filed).map_err(fail)?;
    Ok(Some((resolved, compiled)))
}

fn build_error(source_name: &str, kind: ErrorKind) -> Error {
    Error {
        source_name: source_name.to_string(),
        kind: Box::new(kind),
    }
}

fn parse(bytes: &[u8], source_name: &str, options: &Options) -> Result<parse::Parsed, Error> {
    let parse_options = parse::ParseOptions {
        strict: options.strict,
    };
    parse::parse_profile(bytes, &parse_options).map_err(|e| build_error(source_name, e.into()))
}

fn resolve(
    parsed: &parse::Parsed,
    source_name: &str,
    options: &Options,
) -> Result<resolve::Resolution, Error> {
    resolve::resolve(&parsed.profile, parsed.format, &options.resolve)
        .map_err(|e| build_error(source_name, e.into()))
}

fn compile_resolution(
    resolution: resolve::Resolution,
    source_name: &str,
    options: &Options,
) -> Result<Option<(Resolved, Compiled)>, Error> {
    match resolution {
        resolve::Resolution::Unconfined => Ok(None),
        resolve::Resolution::Filter(resolved) => {
            let compiled = compile::compile(&resolved, options.strict)
                .map_err(|e| build_error(source_name, e.into()))?;
            Ok(Some((resolved, compiled)))
        }
    }
}
