#!/usr/bin/env bash
# Builds seclaunch and installs it under a prefix (default /usr/local; no root needed
# for a prefix you own):
#   PREFIX/bin/seclaunch                       (the fast start)
#   PREFIX/lib/seclaunch/seclaunch-full        (found by seclaunch through ../lib/seclaunch)
#   PREFIX/lib/seclaunch/libsecshim.so         (found by both through ../lib/seclaunch,
#                                               and by seclaunch-full beside itself)
#   PREFIX/lib/seclaunch/libsecshim_engine.so  (found by the shim beside itself)
# Usage: scripts/install.sh [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${1:-${PREFIX:-/usr/local}}
scripts/build.sh
dist=${CARGO_TARGET_DIR:-target}/dist
install -d "$prefix/bin" "$prefix/lib/seclaunch"
install -m 0755 "$dist/seclaunch" "$prefix/bin/seclaunch"
install -m 0755 "$dist/seclaunch-full" "$prefix/lib/seclaunch/seclaunch-full"
install -m 0644 "$dist/libsecshim.so" "$dist/libsecshim_engine.so" "$prefix/lib/seclaunch/"
echo "installed seclaunch into $prefix (shim: $prefix/lib/seclaunch/libsecshim.so)"
