//! Every kernel call the fast start makes, as raw system calls: it runs before any C
//! library would have started, and links none. Each wrapper returns the kernel's result
//! (`Err(errno)` for a failure) and checks nothing beyond its own contract.

use core::ffi::CStr;

#[cfg(target_arch = "x86_64")]
mod nr {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const CLOSE: usize = 3;
    pub const RT_SIGACTION: usize = 13;
    pub const PREAD64: usize = 17;
    pub const EXECVE: usize = 59;
    pub const UNAME: usize = 63;
    pub const FCNTL: usize = 72;
    pub const CAPGET: usize = 125;
    pub const CAPSET: usize = 126;
    pub const PRCTL: usize = 157;
    pub const GETDENTS64: usize = 217;
    pub const EXIT_GROUP: usize = 231;
    pub const OPENAT: usize = 257;
    pub const READLINKAT: usize = 267;
    pub const PRLIMIT64: usize = 302;
    pub const SECCOMP: usize = 317;
    pub const MEMFD_CREATE: usize = 319;
    pub const STATX: usize = 332;
    pub const GETRESUID: usize = 118;
    pub const GETRESGID: usize = 120;
}

#[cfg(target_arch = "aarch64")]
mod nr {
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const CLOSE: usize = 57;
    pub const RT_SIGACTION: usize = 134;
    pub const PREAD64: usize = 67;
    pub const EXECVE: usize = 221;
    pub const UNAME: usize = 160;
    pub const FCNTL: usize = 25;
    pub const CAPGET: usize = 90;
    pub const CAPSET: usize = 91;
    pub const PRCTL: usize = 167;
    pub const GETDENTS64: usize = 61;
    pub const EXIT_GROUP: usize = 94;
    pub const OPENAT: usize = 56;
    pub const READLINKAT: usize = 78;
    pub const PRLIMIT64: usize = 261;
    pub const SECCOMP: usize = 277;
    pub const MEMFD_CREATE: usize = 279;
    pub const STATX: usize = 291;
    pub const GETRESUID: usize = 148;
    pub const GETRESGID: usize = 150;
}

pub const ENOENT: i32 = 2;
pub const EINTR: i32 = 4;
pub const EACCES: i32 = 13;
pub const EINVAL: i32 = 22;

const AT_FDCWD: isize = -100;
const O_RDONLY: usize = 0;
#[cfg(target_arch = "x86_64")]
const O_DIRECTORY: usize = 0o200000;
#[cfg(target_arch = "aarch64")]
const O_DIRECTORY: usize = 0o40000;
const O_CLOEXEC: usize = 0o2000000;
const AT_SYMLINK_NOFOLLOW: usize = 0x100;
const STATX_TYPE_MODE: usize = 0x3;
const STATX_SIZE: usize = 0x200;

/// # Safety
/// The arguments must be what system call `nr` expects: every pointer among them valid
/// for the access the call makes, for as long as it makes it.
#[cfg(target_arch = "x86_64")]
unsafe fn syscall(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the caller upholds the call's contract; `syscall` clobbers rcx and r11
    // and nothing else the compiler relies on.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// # Safety
/// As for the x86_64 version.
#[cfg(target_arch = "aarch64")]
unsafe fn syscall(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the caller upholds the call's contract; `svc 0` returns in x0 and
    // preserves every other register.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

fn result(ret: isize) -> Result<usize, i32> {
    if (-4095..0).contains(&ret) {
        Err(-ret as i32)
    } else {
        Ok(ret as usize)
    }
}

/// A call retried while the kernel answers EINTR.
fn retrying(mut call: impl FnMut() -> isize) -> Result<usize, i32> {
    loop {
        match result(call()) {
            Err(EINTR) => continue,
            other => return other,
        }
    }
}

/// Ends the process with `status`, at once.
pub fn exit(status: i32) -> ! {
    loop {
        // SAFETY: exit_group takes an integer and does not return.
        unsafe { syscall(nr::EXIT_GROUP, [status as usize, 0, 0, 0, 0, 0]) };
    }
}

/// Writes all of `bytes` to standard error, as far as it can.
pub fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is readable for its length.
        let n = retrying(|| unsafe {
            syscall(
                nr::WRITE,
                [2, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0],
            )
        });
        match n {
            Ok(n) if n > 0 => bytes = &bytes[n.min(bytes.len())..],
            _ => return,
        }
    }
}

/// An open file descriptor of ours, closed when dropped.
pub struct Fd(pub i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours; closing it invalidates nothing else.
        unsafe { syscall(nr::CLOSE, [self.0 as usize, 0, 0, 0, 0, 0]) };
    }
}

/// Opens `path` read-only and close-on-exec; `directory` asks for a directory.
pub fn open(path: &CStr, directory: bool) -> Result<Fd, i32> {
    let flags = O_RDONLY | O_CLOEXEC | if directory { O_DIRECTORY } else { 0 };
    // SAFETY: `path` is NUL-terminated.
    retrying(|| unsafe {
        syscall(
            nr::OPENAT,
            [AT_FDCWD as usize, path.as_ptr() as usize, flags, 0, 0, 0],
        )
    })
    .map(|fd| Fd(fd as i32))
}

/// Reads from `fd` until `buf` is full or the file ends; the bytes read.
pub fn read_full(fd: &Fd, buf: &mut [u8]) -> Result<usize, i32> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is writable for its length.
        let n = retrying(|| unsafe {
            syscall(
                nr::READ,
                [
                    fd.0 as usize,
                    rest.as_mut_ptr() as usize,
                    rest.len(),
                    0,
                    0,
                    0,
                ],
            )
        })?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Reads `buf.len()` bytes at `offset` of `fd`; the bytes read (fewer at the end).
pub fn pread_full(fd: &Fd, buf: &mut [u8], offset: u64) -> Result<usize, i32> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        let at = offset.saturating_add(done as u64) as usize;
        // SAFETY: `rest` is writable for its length.
        let n = retrying(|| unsafe {
            syscall(
                nr::PREAD64,
                [
                    fd.0 as usize,
                    rest.as_mut_ptr() as usize,
                    rest.len(),
                    at,
                    0,
                    0,
                ],
            )
        })?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Writes all of `bytes` to `fd`.
pub fn write_all(fd: &Fd, mut bytes: &[u8]) -> Result<(), i32> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is readable for its length.
        let n = retrying(|| unsafe {
            syscall(
                nr::WRITE,
                [fd.0 as usize, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0],
            )
        })?;
        if n == 0 {
            return Err(EINVAL);
        }
        bytes = &bytes[n.min(bytes.len())..];
    }
    Ok(())
}

/// What `stat` tells of a file.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    /// `st_mode`: the type and permission bits.
    pub mode: u32,
    /// The size in bytes.
    pub size: u64,
}

pub const S_IFMT: u32 = 0o170000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFDIR: u32 = 0o040000;

impl Stat {
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }

    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
}

/// `statx` of `path`, following a final symlink unless `nofollow`.
pub fn stat(path: &CStr, nofollow: bool) -> Result<Stat, i32> {
    // struct statx is 256 bytes; stx_mode is the u16 at 28, stx_size the u64 at 40.
    let mut buf = [0u64; 32];
    let flags = if nofollow { AT_SYMLINK_NOFOLLOW } else { 0 };
    // SAFETY: `path` is NUL-terminated and `buf` holds a whole struct statx.
    retrying(|| unsafe {
        syscall(
            nr::STATX,
            [
                AT_FDCWD as usize,
                path.as_ptr() as usize,
                flags,
                STATX_TYPE_MODE | STATX_SIZE,
                buf.as_mut_ptr() as usize,
                0,
            ],
        )
    })?;
    let mode = (buf[3] >> 32) as u32 & 0xffff;
    Ok(Stat { mode, size: buf[5] })
}

/// The target of the symlink at `path`, written into `buf`; its length. A target that
/// fills `buf` may be cut short, and is an error.
pub fn readlink(path: &CStr, buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: `path` is NUL-terminated and `buf` writable for its length.
    let n = retrying(|| unsafe {
        syscall(
            nr::READLINKAT,
            [
                AT_FDCWD as usize,
                path.as_ptr() as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
                0,
                0,
            ],
        )
    })?;
    if n >= buf.len() {
        return Err(EINVAL);
    }
    Ok(n)
}

/// Reads directory entries of `fd` into `buf`; 0 at the end.
pub fn getdents64(fd: &Fd, buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: `buf` is writable for its length.
    retrying(|| unsafe {
        syscall(
            nr::GETDENTS64,
            [fd.0 as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
        )
    })
}

/// The soft limit of `resource` (`RLIMIT_*`).
pub fn soft_limit(resource: u32) -> Result<u64, i32> {
    let mut limit = [0u64; 2];
    // SAFETY: prlimit64 on the calling process writes a struct rlimit64 (two u64) into
    // `limit` and reads no new limit (null).
    result(unsafe {
        syscall(
            nr::PRLIMIT64,
            [0, resource as usize, 0, limit.as_mut_ptr() as usize, 0, 0],
        )
    })?;
    Ok(limit[0])
}

/// `prctl` with integer arguments only.
pub fn prctl(option: i32, arg2: usize, arg3: usize) -> Result<usize, i32> {
    // SAFETY: the options used here (NO_NEW_PRIVS, CAPBSET_READ/DROP, CAP_AMBIENT)
    // take integers and dereference nothing.
    result(unsafe { syscall(nr::PRCTL, [option as usize, arg2, arg3, 0, 0, 0]) })
}

/// The calling thread's capability sets, as `capget` version 3 gives them:
/// `[effective, permitted, inheritable]`, each as 64 bits.
pub fn capget() -> Result<[u64; 3], i32> {
    let mut header = [CAP_V3, 0u32];
    let mut data = [0u32; 6];
    // SAFETY: version 3 takes a header of two u32 and writes two triples of u32.
    result(unsafe {
        syscall(
            nr::CAPGET,
            [
                header.as_mut_ptr() as usize,
                data.as_mut_ptr() as usize,
                0,
                0,
                0,
                0,
            ],
        )
    })?;
    let join = |lo: u32, hi: u32| u64::from(lo) | u64::from(hi) << 32;
    Ok([
        join(data[0], data[3]),
        join(data[1], data[4]),
        join(data[2], data[5]),
    ])
}

/// Sets the calling thread's `[effective, permitted, inheritable]`.
pub fn capset(sets: [u64; 3]) -> Result<(), i32> {
    let mut header = [CAP_V3, 0u32];
    let lo = |set: u64| set as u32;
    let hi = |set: u64| (set >> 32) as u32;
    let data = [
        lo(sets[0]),
        lo(sets[1]),
        lo(sets[2]),
        hi(sets[0]),
        hi(sets[1]),
        hi(sets[2]),
    ];
    // SAFETY: version 3 reads a header of two u32 and two triples of u32.
    result(unsafe {
        syscall(
            nr::CAPSET,
            [
                header.as_mut_ptr() as usize,
                data.as_ptr() as usize,
                0,
                0,
                0,
                0,
            ],
        )
    })
    .map(|_| ())
}

const CAP_V3: u32 = 0x2008_0522;

/// A new memfd (`MFD_ALLOW_SEALING`, inherited across `execve`).
pub fn memfd_create(name: &CStr) -> Result<Fd, i32> {
    const MFD_ALLOW_SEALING: usize = 2;
    // SAFETY: `name` is NUL-terminated.
    result(unsafe {
        syscall(
            nr::MEMFD_CREATE,
            [name.as_ptr() as usize, MFD_ALLOW_SEALING, 0, 0, 0, 0],
        )
    })
    .map(|fd| Fd(fd as i32))
}

/// Seals `fd` against every change, the seals included.
pub fn seal_all(fd: &Fd) -> Result<(), i32> {
    const F_ADD_SEALS: usize = 1033;
    // F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE.
    const SEALS: usize = 0x1 | 0x2 | 0x4 | 0x8;
    // SAFETY: F_ADD_SEALS takes an integer.
    result(unsafe { syscall(nr::FCNTL, [fd.0 as usize, F_ADD_SEALS, SEALS, 0, 0, 0]) }).map(|_| ())
}

/// Whether the real and effective user ids, and the real and effective group ids, are
/// the same.
pub fn ids_agree() -> Result<bool, i32> {
    let [uid, euid, _] = res_ids(nr::GETRESUID)?;
    let [gid, egid, _] = res_ids(nr::GETRESGID)?;
    Ok(uid == euid && gid == egid)
}

/// The real, effective and saved ids `getresuid` or `getresgid` (`call`) gives.
fn res_ids(call: usize) -> Result<[u32; 3], i32> {
    let mut ids = [0u32; 3];
    let base = ids.as_mut_ptr();
    let at = |i: usize| base.wrapping_add(i) as usize;
    let args = [at(0), at(1), at(2), 0, 0, 0];
    // SAFETY: both calls write three u32 (real, effective, saved) through the three
    // pointers, which point into `ids`.
    result(unsafe { syscall(call, args) })?;
    Ok(ids)
}

/// Whether descriptor `fd` is open.
pub fn is_open(fd: i32) -> bool {
    const F_GETFD: usize = 1;
    // SAFETY: F_GETFD takes no argument and reads the descriptor's flags.
    result(unsafe { syscall(nr::FCNTL, [fd as usize, F_GETFD, 0, 0, 0, 0]) }).is_ok()
}

/// The kernel's release (`uname -r`), written into `buf`; its length.
pub fn kernel_release(buf: &mut [u8; 65]) -> Result<usize, i32> {
    // struct utsname: six fields of 65 bytes; the release is the third.
    let mut uts = [0u8; 6 * 65];
    // SAFETY: `uts` holds a whole struct utsname.
    result(unsafe { syscall(nr::UNAME, [uts.as_mut_ptr() as usize, 0, 0, 0, 0, 0]) })?;
    buf.copy_from_slice(&uts[130..195]);
    Ok(buf.iter().position(|b| *b == 0).unwrap_or(buf.len()))
}

/// Resets `SIGPIPE` to its default action, as Rust's standard library does for a
/// program it executes (it ignores the signal itself). The signal mask is inherited
/// unchanged, as it is there.
pub fn reset_sigpipe() -> Result<(), i32> {
    const SIGPIPE: usize = 13;
    // struct sigaction as the kernel takes it: handler, flags, restorer, mask.
    let default = [0usize; 4];
    // SAFETY: rt_sigaction reads a kernel sigaction of four words and writes nothing
    // (a null old value).
    result(unsafe {
        syscall(
            nr::RT_SIGACTION,
            [SIGPIPE, default.as_ptr() as usize, 0, 8, 0, 0],
        )
    })
    .map(|_| ())
}

/// Installs a classic BPF program of `len` instructions at `program` (raw
/// `sock_filter` bytes) with `flags`.
pub fn install_filter(program: &[u8], flags: u32) -> Result<(), i32> {
    const SET_MODE_FILTER: usize = 1;
    let count = u16::try_from(program.len() / 8).map_err(|_| EINVAL)?;
    if count == 0 || !program.len().is_multiple_of(8) {
        return Err(EINVAL);
    }
    // struct sock_fprog: a u16 count, then (aligned) a pointer to the instructions.
    let fprog: [usize; 2] = [usize::from(count), program.as_ptr() as usize];
    // SAFETY: `fprog` describes `program`, which outlives the call; the kernel copies
    // the instructions before returning. sock_filter is {u16, u8, u8, u32} in host
    // byte order, which is how the frame stores it.
    result(unsafe {
        syscall(
            nr::SECCOMP,
            [
                SET_MODE_FILTER,
                flags as usize,
                fprog.as_ptr() as usize,
                0,
                0,
                0,
            ],
        )
    })
    .map(|_| ())
}

/// `execve`; returns only its error.
///
/// # Safety
/// `argv` and `envp` must be null-terminated arrays of NUL-terminated strings, valid
/// for the whole call.
pub unsafe fn execve(path: &CStr, argv: *const *const u8, envp: *const *const u8) -> i32 {
    // SAFETY: `path` is NUL-terminated; the caller vouches for the arrays.
    let ret = unsafe {
        syscall(
            nr::EXECVE,
            [
                path.as_ptr() as usize,
                argv as usize,
                envp as usize,
                0,
                0,
                0,
            ],
        )
    };
    match result(ret) {
        Err(errno) => errno,
        Ok(_) => EINVAL,
    }
}
