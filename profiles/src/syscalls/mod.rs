//! Syscall tables (being written).
use crate::arch::Abi;
/// Kernel version the tables come from.
pub const TABLES_KERNEL: &str = "unset";
/// The number of `name` on `abi` (x32 numbers include bit 30), if the ABI has it.
pub fn number(_abi: Abi, _name: &str) -> Option<u32> {
    None
}
/// The name of syscall `nr` on `abi`.
pub fn name(_abi: Abi, _nr: u32) -> Option<&'static str> {
    None
}
/// Whether `name` is a syscall on any Linux architecture.
pub fn is_known(_name: &str) -> bool {
    false
}
