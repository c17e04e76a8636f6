#!/usr/bin/env bash
# Builds seclaunch and installs it under a prefix (default /usr/local; no root needed
# for a prefix you own):
#   PREFIX/bin/seclaunch
#   PREFIX/lib/seclaunch/libsecshim.so         (found by seclaunch through ../lib/seclaunch)
#   PREFIX/lib/seclaunch/libsecshim_engine.so  (found by the shim beside itself)
# Usage: scripts/install.sh [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${1:-${PREFIX:-/usr/local}}
cargo build --release --locked -p seclaunch -p seclaunch-shim -p seclaunch-shim-engine
install -d "$prefix/bin" "$prefix/lib/seclaunch"
install -m 0755 target/release/seclaunch "$prefix/bin/seclaunch"
install -m 0644 target/release/libsecshim.so target/release/libsecshim_engine.so \
    "$prefix/lib/seclaunch/"
echo "installed seclaunch into $prefix (shim: $prefix/lib/seclaunch/libsecshim.so)"
