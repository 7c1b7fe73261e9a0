#!/usr/bin/env bash
# bench/callgrind-calls.sh - instructions per call through sipproxyd, counted by callgrind:
# deterministic, unlike the CPU times of run-calls.sh on a shared VM.
#
# The flows of run-calls.sh (memory store, workers=2, SIPp UAC -> sipproxyd -> SIPp UAS on
# 127.0.0.1), once per value of FLOWS:
#   0  INVITE, 100, 180, 200, ACK, BYE, 200 (no [auth])
#   1  INVITE, 407, ACK, INVITE with Proxy-Authorization (MD5, qop=auth), 100, 180, 200,
#      ACK, BYE, 200 ([auth] with USERS users, as run-calls.sh AUTH=1)
# For each flow a fresh sipproxyd runs under callgrind (lib.sh callgrind_start: the
# instrumentation is switched on once it listens), CALLS calls at RATE/s are made, and
# after the UAS has answered the last BYE the counts are dumped. Ir of all threads per
# completed call; the dumps are left in $OUT/auth-FLOW for callgrind_annotate. Transactions
# still lingering (Timer J/K, 32 s) are not freed within the dump: their teardown is not
# counted, their creation is.
#
# Usage: bench/callgrind-calls.sh
# Environment: CALLS=500 RATE=50 HOLD_MS=20 RING_MS=5 FLOWS="0 1" USERS=500
#   SIPPROXYD=build/sipproxyd PORT_SIPPROXYD=15664 PORT_UAC=15686 PORT_UAS=15692
#   OUT=/tmp/sipproxy-callgrind-calls.XXXX
set -u
. "$(dirname "$0")/lib.sh"

CALLS=${CALLS:-500}
RATE=${RATE:-50}
HOLD_MS=${HOLD_MS:-20}
RING_MS=${RING_MS:-5}
FLOWS=${FLOWS:-"0 1"}
USERS=${USERS:-500}
PORT_SIPPROXYD=${PORT_SIPPROXYD:-15664}
PORT_UAC=${PORT_UAC:-15686}
PORT_UAS=${PORT_UAS:-15692}
OUT=${OUT:-$(mktemp -d /tmp/sipproxy-callgrind-calls.XXXX)}

need sipp valgrind callgrind_control
for port in $PORT_SIPPROXYD $PORT_UAC $PORT_UAS; do
    udp_port_free "$port" || die "udp/$port is in use; set the PORT_* variables"
done

PROXY_PID=
UAS_PID=
cleanup() { stop_pid "$UAS_PID" 2; stop_pid "$PROXY_PID" 30; }
trap cleanup EXIT
trap 'exit 130' INT TERM

write_bench_users "$OUT" "$USERS"
for auth in $FLOWS; do
    dir="$OUT/auth-$auth"
    mkdir -p "$dir"
    write_bench_conf "$dir/sipproxy.toml" "$PORT_SIPPROXYD" memory
    inf=()
    scenario="$SCEN_DIR/uac-call.xml"
    if [ "$auth" = 1 ]; then
        cat "$OUT/auth-users.toml" >>"$dir/sipproxy.toml"
        scenario="$SCEN_DIR/uac-call-auth.xml"
        inf=(-inf "$OUT/users.csv" -auth_uri "service@127.0.0.1:$PORT_UAS")
    fi
    callgrind_start "$dir/sipproxy.toml" "$PORT_SIPPROXYD" "$dir"
    PROXY_PID=$CG_PID
    (cd "$dir" && exec sipp -sf "$SCEN_DIR/uas-call.xml" -i 127.0.0.1 -p "$PORT_UAS" -nostdin \
        -d "$RING_MS" -timeout 600s -trace_stat -fd 1 -trace_screen >uas.out 2>&1) &
    UAS_PID=$!
    wait_udp_port "$PORT_UAS" 5 || die "UAS did not start (see $dir/uas.out)"
    (cd "$dir" && sipp "127.0.0.1:$PORT_UAS" -rsa "127.0.0.1:$PORT_SIPPROXYD" -sf "$scenario" \
        "${inf[@]}" -s service -i 127.0.0.1 -p "$PORT_UAC" -r "$RATE" -m "$CALLS" -d "$HOLD_MS" \
        -l 100000 -timeout 600s -nostdin -trace_stat -fd 1 -trace_screen >uac.out 2>&1)
    sleep 1   # the last 200 to BYE has left the proxy when the UAC ends; its send completes
    read -r dump ir < <(callgrind_dump "$dir" "calls-auth$auth")
    read -r ok failed < <(sipp_ok_failed "$dir/uac.out")
    stop_pid "$UAS_PID" 2; UAS_PID=
    stop_pid "$PROXY_PID" 30; PROXY_PID=
    printf 'AUTH=%s: %s calls ok, %s failed, %s Ir, %s Ir per call (%s)\n' \
        "$auth" "$ok" "$failed" "$ir" "$(per_op "$ir" "$ok")" "$dump"
done
