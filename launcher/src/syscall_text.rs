//! Syscall numbers as seclaunch prints them.

use profiles::arch::{Abi, X32_SYSCALL_BIT};
use profiles::syscalls;

/// A syscall number with its name on `abi`: `462 (mseal)`. x32 numbers carry bit 30,
/// which is shown apart so the table number stays readable.
pub fn number_text(abi: Abi, nr: u32) -> String {
    let name = syscalls::name(abi, nr);
    let x32_bit = abi == Abi::X32 && nr & X32_SYSCALL_BIT != 0;
    match (x32_bit, name) {
        (true, Some(name)) => format!(
            "{nr} ({X32_SYSCALL_BIT:#x} | {}, {name})",
            nr ^ X32_SYSCALL_BIT
        ),
        (true, None) => format!("{nr} ({X32_SYSCALL_BIT:#x} | {})", nr ^ X32_SYSCALL_BIT),
        (false, Some(name)) => format!("{nr} ({name})"),
        (false, None) => nr.to_string(),
    }
}
