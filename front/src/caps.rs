//! A root launch limited to Docker's default capabilities, as the full launcher limits
//! it (`launcher/src/privileges.rs`): the bounding set loses every other capability,
//! effective and permitted keep only those, inheritable and ambient become empty.

use crate::sys;

/// Docker's 14 default capabilities, as bits of their numbers: CHOWN (0),
/// DAC_OVERRIDE (1), FOWNER (3), FSETID (4), KILL (5), SETGID (6), SETUID (7),
/// SETPCAP (8), NET_BIND_SERVICE (10), NET_RAW (13), SYS_CHROOT (18), MKNOD (27),
/// AUDIT_WRITE (29), SETFCAP (31). A test checks them against the profile engine's set.
pub const DOCKER_DEFAULT: u64 = 1 << 0
    | 1 << 1
    | 1 << 3
    | 1 << 4
    | 1 << 5
    | 1 << 6
    | 1 << 7
    | 1 << 8
    | 1 << 10
    | 1 << 13
    | 1 << 18
    | 1 << 27
    | 1 << 29
    | 1 << 31;

const CAP_SETPCAP: u32 = 8;
const PR_CAPBSET_READ: i32 = 23;
const PR_CAPBSET_DROP: i32 = 24;
const PR_CAP_AMBIENT: i32 = 47;
const PR_CAP_AMBIENT_CLEAR_ALL: usize = 4;

/// Limits the process to [`DOCKER_DEFAULT`]. Without CAP_SETPCAP (an ordinary user)
/// the process holds nothing to limit and is left alone.
pub fn limit() -> Result<(), i32> {
    let [effective, permitted, _] = sys::capget()?;
    if effective & 1 << CAP_SETPCAP == 0 {
        return Ok(());
    }
    for cap in 0..64usize {
        match sys::prctl(PR_CAPBSET_READ, cap, 0) {
            // Past the kernel's last capability.
            Err(sys::EINVAL) => break,
            Err(errno) => return Err(errno),
            Ok(1) if DOCKER_DEFAULT & 1 << cap == 0 => {
                sys::prctl(PR_CAPBSET_DROP, cap, 0)?;
            }
            Ok(_) => {}
        }
    }
    sys::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0)?;
    let kept = permitted & DOCKER_DEFAULT;
    sys::capset([kept, kept, 0])
}
