//! What the shim and the fast start, both built without the standard library, still
//! need from it: the `rust_eh_personality` routine that the precompiled `core`'s unwind
//! tables name.
//!
//! With panic=abort nothing unwinds, so the routine is never called; this hidden
//! definition satisfies the linker (and, in the shim, the loader) without adding an
//! exported symbol. Reaching it would be a bug, so it traps. Only crates without the
//! standard library may depend on this one: the standard library defines its own.

#![no_std]

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".pushsection .text.rust_eh_personality,\"ax\",@progbits",
    ".globl rust_eh_personality",
    ".hidden rust_eh_personality",
    "rust_eh_personality:",
    "ud2",
    ".popsection",
);
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".pushsection .text.rust_eh_personality,\"ax\",@progbits",
    ".globl rust_eh_personality",
    ".hidden rust_eh_personality",
    "rust_eh_personality:",
    "brk #0",
    ".popsection",
);

/// Keeps this crate's object in the link whatever the linker's archive order: call it
/// once from the crate that needs the routine.
#[inline(never)]
pub fn link() {}
