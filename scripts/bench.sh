#!/usr/bin/env bash
# Measures seclaunch beside its peers on this machine and prints Markdown tables of
# medians and of ratios to baselines measured in the same run:
#   1. kernel cost per syscall under each filter (syscall-cost)
#   2. process start-up, and attaching the filter (startup)
#   3. the shim's engine: opening it, its call, and a build's steps, in fresh processes
#      (engine-call)
#   4. building the filter from JSON (build-time)
#   5. fork/exec-heavy workloads (workload)
#   6. filter shape: length, mean and worst executed instructions (filter-shape)
#   7. the size of each file seclaunch ships
# The peers are libseccomp, driven as runc drives it at -O1 and -O2, through the
# libseccomp crate and through scripts/c/libseccomp-build.c (compiled here against
# libseccomp-dev; its export is checked to equal the crate's), and Debian's bubblewrap.
# Every measurement interleaves its variants.
#
# Usage: scripts/bench.sh [--quick]   (--quick: a few rounds each, for CI; under 2 min)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=()
rounds=300
if [ "${1:-}" = "--quick" ]; then
    quick=(--quick)
    rounds=30
fi
command -v bwrap >/dev/null || echo "note: bwrap is not installed (scripts/setup.sh installs it)" >&2
cargo build --release --quiet -p seclaunch-scripts
# The launcher and the shim measured are the ones seclaunch ships (target/dist).
scripts/build.sh --quiet

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "# seclaunch benchmarks"
echo
echo "$(date -u +%F), Linux $(uname -r), $(nproc) cores ($cpu)${quick:+, quick run}."
echo
target/release/syscall-cost "${quick[@]}"
target/release/startup --rounds "$rounds"
target/release/engine-call "${quick[@]}"
target/release/build-time "${quick[@]}"
target/release/workload "${quick[@]}"
echo "### Filter shape of Docker's default (instructions, from the interpreter)"
echo
target/release/filter-shape
echo
echo "### What seclaunch ships (target/dist)"
echo
echo "| file | bytes |"
echo "|---|---:|"
for f in target/dist/*; do
    echo "| \`$(basename "$f")\` | $(stat -c %s "$f") |"
done
