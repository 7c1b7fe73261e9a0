#!/usr/bin/env bash
# Builds sipproxyd and starts it in the foreground on the shipped config
# (conf/sipproxy.toml: loopback, port 5060, state under conf/var/). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target sipproxyd sipproxyctl
exec build/sipproxyd -c conf/sipproxy.toml "$@"
