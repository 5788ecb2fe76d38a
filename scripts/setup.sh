#!/usr/bin/env bash
# One command from a fresh Debian bookworm machine: install what is missing, build, then
#   run   — build the jointflow target only, then run the quickstart job (`jointflow run`) on the
#           embedded default config;
#   test  — build every target, then run the whole test suite; tests that skipped are listed
#           with their reasons;
#   build — build every target and stop.
# run and test share the build directory and the compiler cache: test builds only what run did
# not.
# Environment: BUILD_DIR (default build), JOBS (default: all cores).
set -euo pipefail
action=${1:-run}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}

bash "$root/scripts/install-deps.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export CCACHE_DIR=${CCACHE_DIR:-$root/.cache/ccache} CCACHE_SLOPPINESS=pch_defines,time_macros

case "$action" in
  run) targets=(--target jointflow) ;;
  test | build) targets=() ;;
  *) echo "usage: scripts/setup.sh [run|test|build]" >&2; exit 2 ;;
esac

start=$(date +%s)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$jobs" "${targets[@]}"
echo "setup: build finished in $(( $(date +%s) - start )) s"

case "$action" in
  run) (cd "$root" && "$build/jointflow" run) ;;
  test)
    status=0
    ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 1500 || status=$?
    bash "$root/scripts/ctest-skips.sh" "$build"
    exit "$status"
    ;;
esac
