//! Kernel versions, as moby reads and compares them (`kernel_linux.go`).

use crate::model::KernelVersion;

/// Parses a `minKernel` string or a `--kernel` option: exactly `<kernel>.<major>`, each a
/// decimal number from 0 to 255 (leading zeros allowed), and not `0.0`.
pub fn parse_min_kernel(text: &str) -> Option<KernelVersion> {
    let (kernel, major) = text.split_once('.')?;
    let part = |s: &str| -> Option<u8> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u8>().ok()
    };
    let version = KernelVersion {
        kernel: part(kernel)?,
        major: part(major)?,
    };
    (version
        != KernelVersion {
            kernel: 0,
            major: 0,
        })
    .then_some(version)
}

/// Reads a `uname -r` release the way moby's `Sscanf("%d.%d")` does: the two leading
/// numbers, whatever follows (`6.18.44-foo` is 6.18).
pub fn parse_release(release: &str) -> Option<KernelVersion> {
    let mut parts = release.splitn(2, '.');
    let lead = |s: &str| -> Option<u8> {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let kernel = lead(parts.next()?)?;
    let major = lead(parts.next()?)?;
    Some(KernelVersion { kernel, major })
}

/// The running kernel's version, or `None` when `uname` cannot be read or parsed. One
/// `uname` call, as moby's `GetKernelVersion` makes, rather than reading
/// `/proc/sys/kernel/osrelease`: the same text at a tenth of the cost (about 1 µs
/// against 10 here), paid on every build for this host.
pub fn running() -> Option<KernelVersion> {
    let names = nix::sys::utsname::uname().ok()?;
    parse_release(names.release().to_str()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(kernel: u8, major: u8) -> KernelVersion {
        KernelVersion { kernel, major }
    }

    #[test]
    fn the_running_kernel_is_the_one_proc_reports() {
        assert!(running().is_some(), "uname gives a release moby can read");
        // Without procfs there is nothing to compare with.
        let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
            eprintln!("skipped the comparison: no /proc/sys/kernel/osrelease");
            return;
        };
        assert_eq!(running(), parse_release(release.trim()), "{release:?}");
    }

    #[test]
    fn min_kernel_accepts_two_decimal_parts() {
        assert_eq!(parse_min_kernel("4.8"), Some(kv(4, 8)));
        assert_eq!(parse_min_kernel("0.50"), Some(kv(0, 50)));
        assert_eq!(parse_min_kernel("255.255"), Some(kv(255, 255)));
    }

    #[test]
    fn min_kernel_rejects_what_moby_rejects() {
        for bad in [
            "3", ".3", "3.", "3.12.1", "4.15abc", "0.0", "256.1", "-1.2", "+1.2", "a.b", "",
        ] {
            assert_eq!(parse_min_kernel(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn release_keeps_only_the_first_two_numbers() {
        assert_eq!(parse_release("6.18.44-fc-v1147"), Some(kv(6, 18)));
        assert_eq!(parse_release("3.12-1-amd64"), Some(kv(3, 12)));
        assert_eq!(parse_release("garbage"), None);
    }

    #[test]
    fn versions_order_by_kernel_then_major() {
        assert!(kv(4, 8) > kv(4, 7));
        assert!(kv(5, 0) > kv(4, 20));
    }
}
