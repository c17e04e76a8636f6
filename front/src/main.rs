//! `seclaunch`'s fast start, the executable: its entry point, the few routines the
//! compiler expects a C library to provide, and a panic that ends the launch.

#![no_std]
#![no_main]

/// The kernel starts the process here, with `argc`, `argv` and `envp` on the stack.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[no_mangle]
unsafe extern "C" fn _start() -> ! {
    // The stack pointer at entry is the vector's address; the call needs a 16-byte
    // aligned stack.
    core::arch::naked_asm!(
        "mov rdi, rsp",
        "and rsp, -16",
        "call {entry}",
        "ud2",
        entry = sym entry,
    )
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
#[no_mangle]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!("mov x0, sp", "bl {entry}", "brk #0", entry = sym entry)
}

extern "C" fn entry(sp: *const usize) -> ! {
    // SAFETY: this runs first, before any code that reads a pointer stored in data.
    unsafe { relocate() };
    nostd::link();
    // SAFETY: `_start` passes the stack pointer the kernel started the process with.
    let start = unsafe { front::Start::from_stack(sp) };
    front::main(&start)
}

/// The dynamic section's tags this executable can have relocations under.
const DT_NULL: usize = 0;
const DT_RELA: usize = 7;
const DT_RELASZ: usize = 8;
const DT_RELR: usize = 36;
#[cfg(target_arch = "x86_64")]
const R_RELATIVE: usize = 8;
#[cfg(target_arch = "aarch64")]
const R_RELATIVE: usize = 1027;

/// Applies the executable's own relocations, as a loader would: a position-independent
/// executable loaded at a random base holds pointers in data (panic locations, the
/// GOT) that are link-time offsets until the base is added. Static linking leaves only
/// relative relocations; anything else ends the process before the launch, as the
/// build is then not one this code knows.
///
/// Written with raw pointers only, no slices or bounds checks: nothing here may read a
/// pointer from data, as none is right yet.
///
/// # Safety
/// Must run once, before any code that reads a relocated pointer.
unsafe fn relocate() {
    let (base, dynamic) = image();
    let (mut rela, mut rela_size) = (0usize, 0usize);
    let mut entry = dynamic;
    // SAFETY: `_DYNAMIC` is the executable's dynamic section, (tag, value) pairs ended
    // by DT_NULL; the relocation table it names lies inside the loaded image, and every
    // relative relocation's offset names a word of the writable data segment.
    unsafe {
        loop {
            let (tag, value) = (*entry, *entry.add(1));
            match tag {
                DT_NULL => break,
                DT_RELA => rela = base + value,
                DT_RELASZ => rela_size = value,
                DT_RELR => front::sys::exit(front::EXIT_SECLAUNCH),
                _ => {}
            }
            entry = entry.add(2);
        }
        let mut at = rela;
        while at + 24 <= rela + rela_size {
            let r = at as *const usize;
            let (offset, info, addend) = (*r, *r.add(1), *r.add(2));
            if info & 0xffff_ffff != R_RELATIVE {
                front::sys::exit(front::EXIT_SECLAUNCH);
            }
            *((base + offset) as *mut usize) = base.wrapping_add(addend);
            at += 24;
        }
    }
}

/// The load base (the ELF header's address) and the dynamic section's address, read
/// relative to the instruction pointer, which needs no relocation.
#[cfg(target_arch = "x86_64")]
fn image() -> (usize, *const usize) {
    let (base, dynamic): (usize, usize);
    // SAFETY: two address computations; nothing is read or written.
    unsafe {
        core::arch::asm!(
            "lea {base}, [rip + __ehdr_start]",
            "lea {dynamic}, [rip + _DYNAMIC]",
            base = out(reg) base,
            dynamic = out(reg) dynamic,
            options(nomem, nostack, preserves_flags),
        );
    }
    (base, dynamic as *const usize)
}

#[cfg(target_arch = "aarch64")]
fn image() -> (usize, *const usize) {
    let (base, dynamic): (usize, usize);
    // SAFETY: two address computations; nothing is read or written.
    unsafe {
        core::arch::asm!(
            "adrp {base}, __ehdr_start",
            "add {base}, {base}, :lo12:__ehdr_start",
            "adrp {dynamic}, _DYNAMIC",
            "add {dynamic}, {dynamic}, :lo12:_DYNAMIC",
            base = out(reg) base,
            dynamic = out(reg) dynamic,
            options(nomem, nostack, preserves_flags),
        );
    }
    (base, dynamic as *const usize)
}

/// Nothing is launched after a panic: the launch ends as seclaunch's own failure.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    front::say(&[b"seclaunch: internal error in the fast start"]);
    front::sys::exit(front::EXIT_SECLAUNCH)
}

// The memory routines the compiler calls. They are written so that the compiler cannot
// turn them back into calls to themselves: string instructions on x86_64, volatile
// accesses elsewhere.

/// # Safety
/// As C's `memcpy`.
#[no_mangle]
unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: as C's memmove, which memcpy's contract implies.
    unsafe { memmove(dest, src, n) }
}

/// # Safety
/// As C's `memmove`.
#[no_mangle]
unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // Forward is safe: the destination does not start inside the source.
        copy_forward(dest, src, n);
    } else {
        // SAFETY: both ranges are valid for `n` bytes (the caller's contract).
        unsafe {
            for i in (0..n).rev() {
                core::ptr::write_volatile(dest.add(i), core::ptr::read_volatile(src.add(i)));
            }
        }
    }
    dest
}

#[cfg(target_arch = "x86_64")]
fn copy_forward(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the callers pass ranges valid for `n` bytes; `rep movsb` copies forward
    // (the direction flag is clear, as the ABI requires).
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") n => _, inout("rdi") dest => _, inout("rsi") src => _,
            options(nostack, preserves_flags),
        );
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn copy_forward(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the callers pass ranges valid for `n` bytes.
    unsafe {
        for i in 0..n {
            core::ptr::write_volatile(dest.add(i), core::ptr::read_volatile(src.add(i)));
        }
    }
}

/// # Safety
/// As C's `memset`.
#[no_mangle]
unsafe extern "C" fn memset(dest: *mut u8, byte: i32, n: usize) -> *mut u8 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the destination is valid for `n` bytes (the caller's contract).
    unsafe {
        core::arch::asm!(
            "rep stosb",
            inout("rcx") n => _, inout("rdi") dest => _, in("al") byte as u8,
            options(nostack, preserves_flags),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: the destination is valid for `n` bytes (the caller's contract).
    unsafe {
        for i in 0..n {
            core::ptr::write_volatile(dest.add(i), byte as u8);
        }
    }
    dest
}

/// # Safety
/// As C's `memcmp`.
#[no_mangle]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: both ranges are valid for `n` bytes (the caller's contract).
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(a.add(i)),
                core::ptr::read_volatile(b.add(i)),
            )
        };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// # Safety
/// As C's `strlen`.
#[no_mangle]
unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the string is NUL-terminated (the caller's contract).
    while unsafe { core::ptr::read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}

/// # Safety
/// As C's `bcmp`.
#[no_mangle]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the same contract.
    unsafe { memcmp(a, b, n) }
}
