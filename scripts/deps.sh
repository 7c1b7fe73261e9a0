#!/usr/bin/env bash
# Installs the Debian 12 packages sipproxy needs to build, test and run. Idempotent:
# apt-get runs only when something is missing.
set -euo pipefail
pkgs=(build-essential cmake ninja-build ccache pkg-config clang
      libasio-dev libcli11-dev libtomlplusplus-dev catch2 libfmt-dev
      libsqlite3-dev libssl-dev nlohmann-json3-dev libc-ares-dev libjemalloc-dev
      sip-tester python3 procps iproute2 systemd adduser  # systemd-analyze: the package test
      baresip-core linphone-cli   # real phones in tests/integration/test_real_phones.py
      prometheus                  # promtool checks /metrics in tests/integration/test_cdr.py
      redis-server libhiredis-dev   # registrar.store = "redis" and tests/integration/test_cluster.py (Sentinel: redis-server --sentinel)
      chromium)                     # browser phones (SIP.js) in tests/integration/test_websocket.py
# Node.js and npm run the browser test's driver. A machine may have them from another
# source (NodeSource's nodejs carries npm and conflicts with Debian's npm package): ask
# apt only when there is no npm at all.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Test-only npm packages (puppeteer-core drives Debian's chromium; sip.js is the browser
# phone), pinned by the committed package-lock.json; installed once.
browser_dir="$(dirname "$0")/../tests/integration/browser"
if [ ! -d "$browser_dir/node_modules" ]; then
    (cd "$browser_dir" && npm ci --no-audit --no-fund)
fi
