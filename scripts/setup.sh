#!/usr/bin/env bash
# Installs the system packages seclaunch's build and tests need, then builds it: the
# workspace into target/release, and what seclaunch ships into target/dist.
# Run as root (or with sudo) on Debian or Ubuntu.
set -euo pipefail
cd "$(dirname "$0")/.."

# libc6-dev brings the static libc the static probe links against; bubblewrap runs
# the filters `seclaunch compile` writes.
packages=(libseccomp-dev pkg-config libc6-dev gcc bubblewrap)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
fi
cargo fetch --locked 2>/dev/null || cargo fetch
cargo build --workspace --release
scripts/build.sh
