#!/usr/bin/env python3
"""Generate profiles/src/syscalls/generated.rs, the syscall tables of seclaunch.

Source: the linux-raw-sys crate (version pinned below), whose per-architecture
`src/<arch>/general.rs` files are bindgen output of the Linux UAPI headers, one
`pub const __NR_<name>: u32 = <number>;` per syscall. `cargo fetch` puts the crate in
the cargo registry because seclaunch-profiles names it as a dev-dependency.

Output: one table of every syscall name found on any architecture linux-raw-sys
covers, sorted, each with its number on the five ABIs seclaunch compiles filters for
(x86_64, i386, x32, aarch64, arm; `NONE` where an ABI lacks it), so that one lookup of a
name answers for every ABI; and for each of those ABIs the (number, position in that
table) pairs sorted by number. Names are spans of one string that holds them all
(`NAME_TEXT`), so that the tables carry no pointers (see profiles/src/syscalls/name.rs).

Names: the tables must use the names libseccomp resolves, since that is what runc
looks profile names up with. They are the kernel's names with one exception:

  * ARM's private syscalls are `__ARM_NR_<name>` in the kernel header
    (arch/arm/include/uapi/asm/unistd.h: `__ARM_NR_BASE` + 1..6). libseccomp calls
    them by the bare name (`breakpoint`, `cacheflush`, `usr26`, `usr32`, `set_tls`,
    `get_tls`, with the same numbers 0xf0001..0xf0006), and so do profiles; the
    prefix is dropped.

Names kept as the kernel spells them, because libseccomp spells them the same way:
`arm_fadvise64_64` (arm 270) and `arm_sync_file_range` (arm 341). The arm header also
defines `sync_file_range2` as an alias of 341, the name the same call has on other
32-bit architectures; both names stay in the arm table, so a profile may use either.
Where two names share a number, the reverse table keeps the one the header defines
first: the syscall-table name (`arm_sync_file_range`), not the alias.

x32 numbers keep bit 30 (`__X32_SYSCALL_BIT`), as the header defines them and as the
kernel reports them in `seccomp_data.nr`.

Usage:
  python3 scripts/gen-syscall-tables.py          rewrite generated.rs
  python3 scripts/gen-syscall-tables.py --check  fail if generated.rs is not current
"""

import argparse
import difflib
import glob
import os
import re
import sys
import tempfile
from pathlib import Path

CRATE = "linux-raw-sys"
CRATE_VERSION = "0.12.1"

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "profiles" / "src" / "syscalls" / "generated.rs"
SCRIPT = "scripts/gen-syscall-tables.py"

# (Rust identifier stem, linux-raw-sys directory) for each ABI in `Abi::ALL` order.
ABIS = [
    ("X86_64", "x86_64"),
    ("X86", "x86"),
    ("X32", "x32"),
    ("AARCH64", "aarch64"),
    ("ARM", "arm"),
]

X32_SYSCALL_BIT = 0x4000_0000

CONST_LINE = re.compile(r"^pub const __(NR|ARM_NR)_(\w+): u32 = (\d+);$")
SYSCALL_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

# Constants that share the `__NR_`/`__ARM_NR_` prefix but are bases or masks, not
# syscalls. Any other name that is not lowercase stops the generator, so a new kind of
# constant in a future linux-raw-sys is looked at rather than turned into a syscall.
NOT_SYSCALLS = {
    ("NR", "Linux"),  # mips: first number of the ABI (4000, 5000, 6000)
    ("NR", "SYSCALL_BASE"),  # arm: 0 for EABI
    ("NR", "OABI_SYSCALL_BASE"),  # arm: 0x900000, the old ABI
    ("NR", "SYSCALL_MASK"),  # arm
    ("ARM_NR", "BASE"),  # arm: 0x0f0000, base of the private syscalls
}


class GenError(Exception):
    pass


def crate_dir():
    cargo_home = os.environ.get("CARGO_HOME") or os.path.join(Path.home(), ".cargo")
    pattern = os.path.join(cargo_home, "registry", "src", "*", f"{CRATE}-{CRATE_VERSION}")
    found = sorted(glob.glob(pattern))
    if not found:
        raise GenError(
            f"{CRATE} {CRATE_VERSION} not found at {pattern}\n"
            "hint: run `cargo fetch` in the workspace (seclaunch-profiles depends on it)"
        )
    return Path(found[0])


def syscalls_of(general_rs):
    """The (name, number) pairs of one general.rs, in the order the header has them."""
    pairs = []
    for line in general_rs.read_text().splitlines():
        m = CONST_LINE.match(line)
        if not m:
            continue
        prefix, name, number = m.group(1), m.group(2), int(m.group(3))
        if (prefix, name) in NOT_SYSCALLS:
            continue
        if not SYSCALL_NAME.match(name):
            raise GenError(f"{general_rs}: unexpected constant __{prefix}_{name}")
        pairs.append((name, number))
    if not pairs:
        raise GenError(f"{general_rs}: no syscall numbers found")
    return pairs


def kernel_version(general_rs):
    text = general_rs.read_text()
    parts = []
    for field in ("MAJOR", "PATCHLEVEL"):
        m = re.search(rf"^pub const LINUX_VERSION_{field}: u32 = (\d+);$", text, re.M)
        if not m:
            raise GenError(f"{general_rs}: no LINUX_VERSION_{field}")
        parts.append(m.group(1))
    return ".".join(parts)


def abi_table(crate, stem, arch):
    path = crate / "src" / arch / "general.rs"
    pairs = syscalls_of(path)
    names = [name for name, _ in pairs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GenError(f"{path}: names defined twice: {', '.join(duplicates)}")
    if stem == "X32":
        plain = [name for name, nr in pairs if nr & X32_SYSCALL_BIT == 0]
        if plain:
            raise GenError(f"{path}: x32 numbers without bit 30: {', '.join(plain)}")
    by_number = {}
    for name, nr in pairs:
        by_number.setdefault(nr, name)
    return sorted(pairs), sorted(by_number.items())


def every_name(crate):
    names = set()
    for general_rs in sorted((crate / "src").glob("*/general.rs")):
        names.update(name for name, _ in syscalls_of(general_rs))
    return sorted(names)


def render(crate):
    versions = {kernel_version(crate / "src" / arch / "general.rs") for _, arch in ABIS}
    if len(versions) != 1:
        raise GenError(f"{crate}: headers of different kernels: {sorted(versions)}")
    kernel = versions.pop()

    out = [
        f"// @generated by {SCRIPT} from {CRATE} {CRATE_VERSION}",
        f"// (Linux {kernel} UAPI headers, src/<arch>/general.rs). Do not edit:",
        f"// change the script and run `python3 {SCRIPT}`.",
        "",
        "/// Linux version of the headers the tables come from.",
        f'pub(super) const KERNEL: &str = "{kernel}";',
        "",
        "use super::name::{n, Name};",
        "use super::NONE;",
    ]
    names = every_name(crate)
    position = {name: i for i, name in enumerate(names)}
    numbers = {name: ["NONE"] * len(ABIS) for name in names}
    reverse = []
    for k, (stem, arch) in enumerate(ABIS):
        by_name, by_number = abi_table(crate, stem, arch)
        for name, nr in by_name:
            numbers[name][k] = str(nr)
        reverse.append((stem, arch, by_number))
    out += [
        "",
        "/// The text of every name below, one after another: `SYSCALLS` holds spans of it.",
        "pub(super) const NAME_TEXT: &str = \"\\",
    ]
    line = "    "
    for name in names:
        if len(line) + len(name) > 88:
            out.append(line + "\\")
            line = "    "
        line += name
    out.append(line + '";')
    out += [
        "",
        f"/// Every syscall name of every architecture in {CRATE}, sorted, as (offset, length)",
        "/// in `NAME_TEXT`, with its number on each ABI in `Abi::ALL` order, or `NONE`. A",
        "/// `const`, so that the name index can be derived from it at compile time.",
        f"pub(super) const SYSCALLS: &[(Name, [u32; {len(ABIS)}])] = &[",
    ]
    offset = 0
    for name in names:
        out.append(f'    (n({offset}, {len(name)}), [{", ".join(numbers[name])}]), // {name}')
        offset += len(name)
    if offset >= 1 << 16:
        raise GenError(f"the names take {offset} bytes, more than 16-bit offsets reach")
    out.append("];")
    for stem, arch, by_number in reverse:
        out += [
            "",
            f"/// {arch}: (number, position in `SYSCALLS`), sorted by number; one name per",
            "/// number.",
            f"pub(super) static {stem}_BY_NUMBER: &[(u32, u16)] = &[",
        ]
        out += [f"    ({nr}, {position[name]})," for nr, name in by_number]
        out.append("];")
    return "\n".join(out) + "\n"


def check(text):
    """Compare `text` with the checked-in file; returns the process exit status."""
    with tempfile.NamedTemporaryFile("w", suffix=".rs", delete=False) as tmp:
        tmp.write(text)
        fresh = tmp.name
    try:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current == Path(fresh).read_text():
            print(f"{OUTPUT.relative_to(REPO_ROOT)} is current")
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), "checked-in", "regenerated", lineterm=""
        )
        shown = list(diff)[:40]
        print("\n".join(shown), file=sys.stderr)
        print(
            f"error: {OUTPUT.relative_to(REPO_ROOT)} is out of date; "
            f"run `python3 {SCRIPT}` and commit the result",
            file=sys.stderr,
        )
        return 1
    finally:
        os.unlink(fresh)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the checked-in file is not current"
    )
    args = parser.parse_args()
    try:
        text = render(crate_dir())
    except GenError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.check:
        return check(text)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
