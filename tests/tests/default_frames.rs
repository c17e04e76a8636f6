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
    for (abi, stored) in [
        (Abi::X86_64, handoff::precompiled::X86_64),
        (Abi::Aarch64, handoff::precompiled::AARCH64),
    ] {
        let regenerate = "run cargo run -p seclaunch-scripts --bin gen-default-frames";
        assert_eq!(
            default_frame(abi, min),
            stored,
            "{abi}: stale, {regenerate}"
        );
        for newer in [
            kv(min.kernel, min.major.saturating_add(1)),
            kv(6, 18),
            kv(255, 255),
        ] {
            assert_eq!(default_frame(abi, newer), stored, "{abi} on {newer}");
        }
        // The threshold is real: one minor version older resolves differently.
        if min.major > 0 {
            let older = kv(min.kernel, min.major - 1);
            assert_ne!(default_frame(abi, older), stored, "{abi} on {older}");
        }
    }
}
