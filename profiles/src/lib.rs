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
pub mod bpf;
pub mod db;
pub mod interp;
pub mod model;
pub mod syscalls;
