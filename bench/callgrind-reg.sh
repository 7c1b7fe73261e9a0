#!/usr/bin/env bash
# bench/callgrind-reg.sh - instructions per digest registration (401 round + 200 round),
# counted by callgrind: deterministic, unlike the CPU times of the ladder on a shared VM.
#
# sipproxyd (config as in run-registrations.sh: MD5, USERS users, workers=2, STORE) runs
# under `valgrind --tool=callgrind --instr-atstart=no`; instrumentation is switched on once it
# listens, so start-up (loading users, opening the store) is not counted. Two SIPp passes
# over the USERS users at RATE/s, each dumped apart:
#   pass 1: every user's first registration (an INSERT into the store)
#   pass 2: every user again (a refresh of the binding it has)
# Prints Ir (instructions) per completed registration for each pass; the dumps are left
# in $OUT for callgrind_annotate.
#
# Usage: bench/callgrind-reg.sh
# Environment: USERS=500 RATE=50 STORE=sqlite SIPPROXYD=build/sipproxyd
#   PORT_SIPPROXYD=15662 PORT_UAC=15685 OUT=/tmp/sipproxy-callgrind-reg.XXXX
set -u
. "$(dirname "$0")/lib.sh"

USERS=${USERS:-500}
RATE=${RATE:-50}
STORE=${STORE:-sqlite}
PORT_SIPPROXYD=${PORT_SIPPROXYD:-15662}
PORT_UAC=${PORT_UAC:-15685}
OUT=${OUT:-$(mktemp -d /tmp/sipproxy-callgrind-reg.XXXX)}
mkdir -p "$OUT/sipproxyd"

need sipp valgrind callgrind_control
for port in $PORT_SIPPROXYD $PORT_UAC; do
    udp_port_free "$port" || die "udp/$port is in use; set the PORT_* variables"
done

PROXY_PID=
cleanup() { stop_pid "$PROXY_PID" 30; }
trap cleanup EXIT
trap 'exit 130' INT TERM

write_bench_users "$OUT" "$USERS"
write_bench_conf "$OUT/sipproxyd/sipproxy.toml" "$PORT_SIPPROXYD" "$STORE" "max_expires = 7200"
cat "$OUT/auth-users.toml" >>"$OUT/sipproxyd/sipproxy.toml"

callgrind_start "$OUT/sipproxyd/sipproxy.toml" "$PORT_SIPPROXYD" "$OUT"
PROXY_PID=$CG_PID

for pass in 1 2; do
    (cd "$OUT" && sipp "127.0.0.1:$PORT_SIPPROXYD" -sf "$SCEN_DIR/reg-digest.xml" -inf "$OUT/users.csv" \
        -auth_uri example.test -i 127.0.0.1 -p "$PORT_UAC" -r "$RATE" -m "$USERS" -l 100000 \
        -timeout 600s -nostdin -trace_stat -fd 1 -trace_screen >"uac-$pass.out" 2>&1)
    sleep 3   # the writer thread's last batch
    read -r dump ir < <(callgrind_dump "$OUT" "pass$pass")
    read -r ok failed < <(sipp_ok_failed "$OUT/uac-$pass.out")
    printf 'pass %s (%s): %s registrations ok, %s failed, %s Ir, %s Ir per registration (%s)\n' \
        "$pass" "$([ "$pass" = 1 ] && echo first || echo refresh)" "$ok" "$failed" "$ir" \
        "$(per_op "$ir" "$ok")" "$dump"
done
