//! `seclaunch`'s fast start, the executable: its entry point, the few routines the
//! compiler expects a C library to provide, and a panic that ends the launch.

#![no_std]
#![no_main]

/// The kernel starts the process here, with `argc`, `argv` and `envp` on the stack.
/// The executable's own relocations are applied first, in a call of their own, so
/// that no code that reads a relocated pointer (the GOT, panic locations) can be moved
/// ahead of them; then `entry` runs.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[no_mangle]
unsafe extern "C" fn _start() -> ! {
    // rbx keeps the vector's address across the first call; calls need a 16-byte
    // aligned stack.
    core::arch::naked_asm!(
        "mov rbx, rsp",
        "and rsp, -16",
        "call {relocate}",
        "mov rdi, rbx",
        "call {entry}",
        "ud2",
        relocate = sym relocate,
        entry = sym entry,
    )
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
#[no_mangle]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov x19, sp",
        "bl {relocate}",
        "mov x0, x19",
        "bl {entry}",
        "brk #0",
        relocate = sym relocate,
        entry = sym entry,
    )
}

extern "C" fn entry(sp: *const usize) -> ! {
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
const PT_GNU_RELRO: u32 = 0x6474_e552;

/// Applies the executable's own relocations, as a loader would: a position-independent
/// executable loaded at a random base holds pointers in data (panic locations, the
/// GOT) that are link-time offsets until the base is added. Static linking leaves only
/// relative relocations; anything else ends the process before the launch, as the
/// build is then not one this code knows. Then the relocated data is made read-only
/// (`PT_GNU_RELRO`), as a loader does.
///
/// Written with raw pointers and raw system calls only, no slices, bounds checks or
/// calls into the library: nothing here may read a pointer from data, as none is right
/// yet.
extern "C" fn relocate() {
    let (base, dynamic) = image();
    let (mut rela, mut rela_size) = (0usize, 0usize);
    let mut entry = dynamic;
    // SAFETY: `_DYNAMIC` is the executable's dynamic section, (tag, value) pairs ended
    // by DT_NULL; the relocation table it names lies inside the loaded image, and every
    // relative relocation's offset names a word of the writable data segment. The ELF
    // header and program headers are mapped at the base (the first segment starts at
    // offset 0).
    unsafe {
        loop {
            let (tag, value) = (*entry, *entry.add(1));
            match tag {
                DT_NULL => break,
                DT_RELA => rela = base + value,
                DT_RELASZ => rela_size = value,
                DT_RELR => die(b"seclaunch: the fast start was linked with packed relocations\n"),
                _ => {}
            }
            entry = entry.add(2);
        }
        let mut at = rela;
        while at + 24 <= rela + rela_size {
            let r = at as *const usize;
            let (offset, info, addend) = (*r, *r.add(1), *r.add(2));
            if info & 0xffff_ffff != R_RELATIVE {
                die(b"seclaunch: the fast start has a relocation it cannot apply\n");
            }
            *((base + offset) as *mut usize) = base.wrapping_add(addend);
            at += 24;
        }
        let phoff = *((base + 32) as *const u64) as usize;
        let phentsize = usize::from(*((base + 54) as *const u16));
        let phnum = usize::from(*((base + 56) as *const u16));
        for i in 0..phnum {
            let header = base + phoff + i * phentsize;
            if *(header as *const u32) != PT_GNU_RELRO {
                continue;
            }
            let start = base + *((header + 16) as *const u64) as usize;
            let end = start + *((header + 40) as *const u64) as usize;
            let (start, end) = (start & !4095, end & !4095);
            if end > start && raw::mprotect_read_only(start, end - start) != 0 {
                die(b"seclaunch: the fast start could not protect its relocated data\n");
            }
        }
    }
}

/// Writes `message` to standard error and ends the process with status 125, with raw
/// system calls: for use before the relocations are applied.
fn die(message: &'static [u8]) -> ! {
    raw::write_stderr(message);
    raw::exit(front::EXIT_SECLAUNCH)
}

/// The three system calls made before relocation, inline so that they reach nothing
/// through the GOT.
mod raw {
    #[cfg(target_arch = "x86_64")]
    fn syscall3(nr: usize, a: usize, b: usize, c: usize) -> isize {
        let ret: isize;
        // SAFETY: each caller below passes arguments valid for its call.
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") nr as isize => ret,
                in("rdi") a, in("rsi") b, in("rdx") c,
                lateout("rcx") _, lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    #[cfg(target_arch = "aarch64")]
    fn syscall3(nr: usize, a: usize, b: usize, c: usize) -> isize {
        let ret: isize;
        // SAFETY: each caller below passes arguments valid for its call.
        unsafe {
            core::arch::asm!(
                "svc 0",
                in("x8") nr,
                inlateout("x0") a as isize => ret,
                in("x1") b, in("x2") c,
                options(nostack),
            );
        }
        ret
    }

    #[cfg(target_arch = "x86_64")]
    const NR: (usize, usize, usize) = (1, 10, 231); // write, mprotect, exit_group
    #[cfg(target_arch = "aarch64")]
    const NR: (usize, usize, usize) = (64, 226, 94);

    pub fn write_stderr(message: &'static [u8]) {
        syscall3(NR.0, 2, message.as_ptr() as usize, message.len());
    }

    pub fn mprotect_read_only(addr: usize, len: usize) -> isize {
        syscall3(NR.1, addr, len, 1)
    }

    pub fn exit(status: i32) -> ! {
        loop {
            syscall3(NR.2, status as usize, 0, 0);
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
