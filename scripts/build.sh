#!/usr/bin/env bash
# Builds what seclaunch ships into target/dist (or $CARGO_TARGET_DIR/dist):
#   seclaunch             the fast start (front/), without a C library, which makes
#                         the embedded default's launches and hands everything else to
#   seclaunch-full        the full launcher (launcher/), a static-pie executable
#   libsecshim.so         the preload shim
#   libsecshim_engine.so  the profile compiler the shim opens for JSON
# The full launcher is linked statically because it starts once per launch: without
# the dynamic loader's work and libgcc_s it starts about 0.4 ms sooner here. crt-static
# cannot build the shim's cdylibs, and RUSTFLAGS with an explicit --target apply to that
# target's crates only, so the full launcher gets a build of its own.
# Usage: scripts/build.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo=${CARGO:-cargo}
quiet=()
if [ "${1:-}" = "--quiet" ]; then
    quiet=(--quiet)
fi
target=${CARGO_TARGET_DIR:-target}
host=$(rustc -vV | sed -n 's/^host: //p')

"$cargo" build --release --locked "${quiet[@]}" -p seclaunch-shim -p seclaunch-shim-engine \
    -p seclaunch-front
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    "$cargo" build --release --locked "${quiet[@]}" -p seclaunch --target "$host"

# Each file is copied under a temporary name and renamed into place: tests build this
# concurrently, and a running launcher or a loaded shim must never be written over.
mkdir -p "$target/dist"
for pair in "$target/release/libsecshim.so:libsecshim.so" \
    "$target/release/libsecshim_engine.so:libsecshim_engine.so" \
    "$target/release/seclaunch-front:seclaunch" \
    "$target/$host/release/seclaunch:seclaunch-full"; do
    file=${pair%%:*}
    name=${pair##*:}
    tmp=$(mktemp "$target/dist/.$name.XXXXXX")
    cp "$file" "$tmp"
    case "$name" in
        *.so) chmod 0644 "$tmp" ;;
        *) chmod 0755 "$tmp" ;;
    esac
    mv -f "$tmp" "$target/dist/$name"
done
