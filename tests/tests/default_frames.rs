//! The precompiled frames of the embedded default in `handoff/default/` are what the
//! compiler builds today, and are the same on every kernel from their `MIN_KERNEL` on.

use profiles::arch::Abi;
use profiles::frame::{default_frame, default_min_kernel};
use profiles::model::KernelVersion;

fn kv(kernel: u8, major: u8) -> KernelVersion {
    KernelVersion { kernel, major }
}

#[test]
fn precompiled_frames_are_current_and_need_the_kernel_they_say() {
    let min = default_min_kernel();
    let (major, minor) = handoff::precompiled::MIN_KERNEL;
    assert_eq!(
        (u32::from(min.kernel), u32::from(min.major)),
        (major, minor)
    );
    use handoff::precompiled::{AARCH64, AARCH64_RULES, X86_64, X86_64_RULES};
    let regenerate = "run cargo run -p seclaunch-scripts --bin gen-default-frames";
    for (abi, stored, rules) in [
        (Abi::X86_64, X86_64, X86_64_RULES),
        (Abi::Aarch64, AARCH64, AARCH64_RULES),
    ] {
        let (frame, count) = default_frame(abi, min);
        assert_eq!(frame, stored, "{abi}: stale, {regenerate}");
        assert_eq!(count, rules, "{abi}: stale, {regenerate}");
        let newer = [
            kv(min.kernel, min.major.saturating_add(1)),
            kv(6, 18),
            kv(255, 255),
        ];
        for kernel in newer {
            assert_eq!(default_frame(abi, kernel).0, stored, "{abi} on {kernel}");
        }
        // The threshold is real: one minor version older resolves differently.
        if min.major > 0 {
            let older = kv(min.kernel, min.major - 1);
            assert_ne!(default_frame(abi, older).0, stored, "{abi} on {older}");
        }
    }
}
