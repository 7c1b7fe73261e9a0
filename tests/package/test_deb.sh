#!/usr/bin/env bash
# The Debian package as an operator gets it (issue: run it as a service): build it with
# cpack, install it, check the installed config with the installed binary, start the
# installed daemon as the sipproxy user (as the unit would: its user, its state and
# runtime folders), talk to it with sipproxyctl, rate the unit's sandbox with
# systemd-analyze (exposure under 2.5), stop it, purge the package.
# Needs root (dpkg); exits 77 (skipped) without. Usage: test_deb.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root to install a package"; exit 77; fi
for tool in dpkg apt-get systemd-analyze setpriv; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool missing"; exit 77; }
done

fail() { echo "FAIL: $*" >&2; exit 1; }
pid=""
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    if dpkg-query -W -f='${Status}' sipproxy 2>/dev/null | grep -q "ok installed"; then
        dpkg --purge sipproxy >/dev/null 2>&1 || true
    fi
    rm -rf /run/sipproxy
}
trap cleanup EXIT

if ss -Hlnu 'sport = :5060' | grep -q . || ss -Hlnt 'sport = :5060' | grep -q .; then
    fail "port 5060 is in use: the installed config listens there"
fi
if dpkg-query -W -f='${Status}' sipproxy 2>/dev/null | grep -q "ok installed"; then
    fail "a sipproxy package is installed already; this test would remove it"
fi

(cd "$build" && rm -f sipproxy_*.deb && cpack -G DEB >/dev/null) || fail "cpack failed"
deb=$(ls "$build"/sipproxy_*.deb)
echo "built $(basename "$deb")"
# apt resolves the shared libraries the package depends on.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null || fail "install failed"

# The layout: programs in /usr, config a conffile in /etc, state owned by the user.
[ -x /usr/sbin/sipproxyd ] && [ -x /usr/bin/sipproxyctl ] || fail "programs missing"
dpkg-query -W -f='${Conffiles}\n' sipproxy | grep -q "/etc/sipproxy/sipproxy.toml" ||
    fail "the config is not a conffile"
id sipproxy >/dev/null || fail "no sipproxy user"
[ "$(stat -c %U /var/lib/sipproxy)" = sipproxy ] || fail "/var/lib/sipproxy not owned by sipproxy"
[ "$(stat -c %a /etc/sipproxy/sipproxy.toml)" = 640 ] || fail "config readable by everyone"
man -w sipproxy.toml >/dev/null 2>&1 || [ -f /usr/share/man/man5/sipproxy.toml.5.gz ] ||
    [ -f /usr/share/man/man5/sipproxy.toml.5 ] || fail "man page missing"

# The installed binary finds and checks the installed config by itself (no -c).
cd /
out=$(/usr/sbin/sipproxyd --check) || fail "sipproxyd --check: $out"
[ "$out" = "/etc/sipproxy/sipproxy.toml: OK" ] || fail "unexpected --check output: $out"
grep -q "^ExecStart=/usr/sbin/sipproxyd -c /etc/sipproxy/sipproxy.toml$" \
    /usr/lib/systemd/system/sipproxyd.service || fail "unit does not start the installed daemon"

# Start it as the unit would: the sipproxy user, RuntimeDirectory /run/sipproxy, UMask 0007.
install -d -o sipproxy -g sipproxy -m 0750 /run/sipproxy
(umask 0007; exec setpriv --reuid=sipproxy --regid=sipproxy --init-groups \
    /usr/sbin/sipproxyd >/tmp/sipproxy-package-test.log 2>&1) &
pid=$!
for _ in $(seq 1 100); do
    [ -S /run/sipproxy/sipproxy.sock ] && break
    kill -0 "$pid" 2>/dev/null || fail "sipproxyd exited: $(cat /tmp/sipproxy-package-test.log)"
    sleep 0.1
done
status=$(/usr/bin/sipproxyctl --json status) || fail "sipproxyctl status failed"
echo "$status" | grep -q "\"config_file\": \"/etc/sipproxy/sipproxy.toml\"" ||
    fail "status: $status"
[ "$(ps -o user= -p "$pid")" = sipproxy ] || fail "the daemon does not run as sipproxy"
[ "$(stat -c %U /var/lib/sipproxy/node.secret)" = sipproxy ] || fail "state not written by sipproxy"
[ "$(stat -c %a /run/sipproxy/sipproxy.sock)" = 660 ] || fail "control socket not 0660"
/usr/bin/sipproxyctl show registrations >/dev/null || fail "show registrations failed"

# The unit's sandbox, rated offline (no systemd needed).
exposure=$(systemd-analyze security --offline=true /usr/lib/systemd/system/sipproxyd.service 2>&1 |
           sed -n 's/.*Overall exposure level for sipproxyd.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze gave no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e < 2.5) }' || fail "exposure $exposure is not under 2.5"
echo "systemd-analyze security: exposure $exposure"

kill -TERM "$pid"
wait "$pid" || fail "sipproxyd did not stop cleanly"
pid=""
dpkg --purge sipproxy >/dev/null || fail "purge failed"
[ ! -e /usr/sbin/sipproxyd ] && [ ! -e /etc/sipproxy ] && [ ! -e /var/lib/sipproxy ] ||
    fail "purge left files behind"
echo "1 passed, 0 failed"
