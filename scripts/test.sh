#!/usr/bin/env bash
# Builds sipproxy and runs every test: unit, integration (real sipproxyd + SIPp) and
# fuzz-corpus replay; then the unit tests and the corpus replay again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Installs missing packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
# ccache hits across clones and folders (CI builds a fresh clone elsewhere): paths under
# the repository are hashed relative to it, and the working folder is not hashed.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIPPROXY_SANITIZE=ON >/dev/null
# Only the unit tests and the fuzz replays are run under the sanitizers.
cmake --build build-asan -j "$jobs" --target unit_and_fuzz
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -L 'unit|fuzz'
