#!/usr/bin/env bash
# bench/run-calls.sh - call throughput of the proxy core, sipproxyd next to Kamailio.
#
# SIPp UAC -> proxy -> SIPp UAS over UDP on 127.0.0.1, call flow
# INVITE, 100, 180, 200, ACK, BYE, 200 (bench/scenarios/uac-call.xml, uas-call.xml).
# The UAC puts the UAS in the Request-URI (sip:service@127.0.0.1:UAS_PORT) and sends
# everything to the proxy (-rsa); ACK and BYE follow the Record-Route set.
# Proxies: sipproxyd (workers=2, no [auth], log_level warn, memory store) and
# Kamailio 5.6 (bench/kamailio/proxy.cfg: tm t_relay, record_route, loose_route, sl,
# 2 UDP children). For every rate step: completed / failed calls, retransmissions
# (UAC + UAS), proxy CPU ms per call (utime+stime from /proc, all processes of the proxy),
# proxy memory, INVITE->200 response time percentiles (SIPp rtd 1, 1 ms resolution).
#
# AUTH=1: the same calls from local users whose INVITE the proxy challenges:
# INVITE, 407, ACK, INVITE with Proxy-Authorization (MD5, qop=auth), 100, 180, 200, ACK,
# BYE (in-dialog, not challenged), 200 (bench/scenarios/uac-call-auth.xml; the callers
# user00001..userUSERS@example.test from a SIPp -inf CSV). sipproxyd gets [auth] (realm
# example.test, algorithms ["MD5"], the USERS users); Kamailio runs
# bench/kamailio/proxy-auth.cfg (auth module, passwords in an htable). INVITE->200 then
# spans both round trips. After every step SIPp's message counts are checked
# (auth-check lines): exactly one 407 per call, and only authenticated INVITEs at the UAS.
#
# STORES="memory sqlite redis": call setup with a location lookup, once per location store
# (issue #15: call setup CPU with the Redis store). The callee is then a registered user:
# the UAC calls sip:service@example.test, and before the steps the bench registers
# service -> sip:service@127.0.0.1:PORT_UAS with `sipproxyctl registration add`, so every
# INVITE reads the store. Each store is one series, sipproxyd-<store>, in the table; redis
# starts its own redis-server on PORT_REDIS (its CPU is logged, not in the table).
#
# Usage: bench/run-calls.sh            (all defaults; AUTH=1 bench/run-calls.sh for the
#        challenged calls)
# Environment:
#   AUTH=0                1: challenged INVITEs (above); USERS=10000 callers
#   RATES="200 500 1000 1500 2000 2500 3000"   calls/s per step
#   STEP_SECONDS=10       length of a step; each step sends RATE*STEP_SECONDS calls (-m)
#   PROXIES="sipproxyd kamailio"
#   STORES=""             sipproxyd's registrar.store per series (above); empty: one series,
#                         memory store, the Request-URI names the UAS (no lookup)
#   PORT_REDIS=15596      redis-server for STORES containing redis
#   UAC_SPLIT=1500        from this rate on, two UAC processes share the rate
#   HOLD_MS=100           pause between ACK and BYE (SIPp -d). With 0 the BYE leaves right
#                         after the ACK, and a proxy with several workers (both sipproxyd
#                         and Kamailio) may deliver the BYE first; the SIPp UAS then aborts.
#   RING_MS=20            pause of the UAS between 180 and 200 (its -d), for the same reason
#                         (without it Kamailio's two children sometimes pass the 200 first)
#   STEP_PAUSE=3          seconds between steps (sipproxyd keeps finished transactions
#                         64*T1 = 32 s, RFC 3261/6026, so they pile up across short pauses)
#   IDLE_CHECK=40         after the series, idle this long and report memory and CPU again
#   KAM_SHM_MB=1024 KAM_PKG_MB=32   Kamailio -m / -M (256 MiB of shm ran out at 2000 calls/s)
#   STOP_AFTER_FAILED=2   stop a proxy's series after this many failing steps in a row
#   OUT=/tmp/sipproxy-bench-calls.XXXX   where logs, SIPp files and results go
#                         (/tmp/sipproxy-bench-calls-auth.XXXX with AUTH=1)
#   SIPPROXYD=build/sipproxyd  KAMAILIO=/usr/sbin/kamailio
#   PORT_SIPPROXYD=15560 PORT_KAMAILIO=15570 PORT_UAS=15590 PORT_UAC=15580 (and +1)
set -u
. "$(dirname "$0")/lib.sh"

RATES=${RATES:-"200 500 1000 1500 2000 2500 3000"}
STORES=${STORES:-}
PORT_REDIS=${PORT_REDIS:-15596}
UAC_SPLIT=${UAC_SPLIT:-1500}
IDLE_CHECK=${IDLE_CHECK:-40}
STOP_AFTER_FAILED=${STOP_AFTER_FAILED:-2}
PORT_SIPPROXYD=${PORT_SIPPROXYD:-15560}
PORT_KAMAILIO=${PORT_KAMAILIO:-15570}
PORT_UAS=${PORT_UAS:-15590}
PORT_UAC=${PORT_UAC:-15580}
call_load_setup calls
AUTH_CHECK="$OUT/auth-check.txt"

need sipp python3 ss
for p in $PROXIES; do
    case $p in
        sipproxyd) [ -x "$SIPPROXYD" ] || die "$SIPPROXYD missing: cmake --build build -j2 --target sipproxyd" ;;
        kamailio) [ -x "$KAMAILIO" ] || die "kamailio missing: apt-get install -y kamailio" ;;
        *) die "unknown proxy '$p'" ;;
    esac
done
for port in $PORT_SIPPROXYD $PORT_KAMAILIO $PORT_UAS $PORT_UAC $((PORT_UAC + 1)); do
    udp_port_free "$port" || die "udp/$port is in use; set the PORT_* variables"
done
# The series: sipproxyd once per store with STORES, else once (memory, no lookup).
SERIES=
for p in $PROXIES; do
    if [ "$p" = sipproxyd ] && [ -n "$STORES" ]; then
        for s in $STORES; do
            case $s in memory|sqlite|redis) ;; *) die "unknown store '$s'" ;; esac
            SERIES="$SERIES sipproxyd-$s"
        done
        [ -x "$SIPPROXYCTL" ] || die "$SIPPROXYCTL missing (needed to register the callee)"
    else
        SERIES="$SERIES $p"
    fi
done
UAC_LOOKUP="$OUT/uac-call-lookup.xml"
if [ -n "$STORES" ]; then
    # The same calls, to the registered user instead of the UAS's address.
    sed 's/@\[remote_ip\]:\[remote_port\]/@example.test/g' "$UAC_SCENARIO" >"$UAC_LOOKUP"
fi

PROXY_PID=
UAS_PID=
UAC_PIDS=()
REDIS_PID=
cleanup() {
    local p
    for p in "${UAC_PIDS[@]}" $UAS_PID $PERF_PID; do stop_pid "$p" 2; done
    stop_pid "$PROXY_PID" 5
    stop_pid "$REDIS_PID" 2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One step against the running proxy (PROXY_PID, port $2) at rate $3.
run_step() {
    local name=$1 pport=$2 rate=$3
    local dir="$OUT/$name/rate-$rate" calls=$((rate * STEP_SECONDS)) nuac=1 i
    [ "$rate" -ge "$UAC_SPLIT" ] && nuac=2
    mkdir -p "$dir"
    local tmo=$((STEP_SECONDS + 30))
    start_call_uas "$dir" "$tmo"
    local pids; pids=$(pid_tree "$PROXY_PID")
    local t0; t0=$(cpu_ticks $pids)
    local l0; l0=$(loadavg1)
    local vcs0; vcs0=$(voluntary_switches $pids)
    perf_start "$dir/perf-stat.txt" $pids
    start_call_uacs "$name" "$dir" "$pport" "$rate" "$calls" "$tmo" "$nuac"
    for i in "${UAC_PIDS[@]}"; do wait "$i"; done
    UAC_PIDS=()
    # let the UAS finish its timewait and dump its statistics (every second), then stop it
    sleep 3.5
    stop_pid "$UAS_PID" 2; UAS_PID=
    local rc=0
    record_step "$name" "$rate" "$calls" "$dir" "$t0" "$l0" "$nuac" "calls/s" "$vcs0" || rc=1
    [ "$AUTH" = 1 ] && { auth_check "$name" "$rate" "$dir" || rc=1; }
    return $rc
}

# AUTH=1: the SIPp message counts of one step, from the final screens in uac*.out and
# uas.out (the UAS's -trace_screen file stays empty: it is stopped by TERM): first
# INVITEs, 407s and INVITEs with credentials of the UACs, INVITEs reaching the UAS. The
# step counts as failing unless every call was challenged exactly once (407s = first
# INVITEs) and no more INVITEs reached the UAS than were sent with credentials.
auth_check() {
    local name=$1 rate=$2 dir=$3
    local uac uas
    # rows of uac-call-auth.xml: 1 INVITE, 3 407, 5 INVITE with credentials, 11 200 to BYE
    uac=$(sipp_message_counts "$dir" 'uac*.out')
    uas=$(sipp_message_counts "$dir" 'uas.out')
    local inv1 n407 inv2 bye200 uas_inv ok
    inv1=$(awk '$1 == 1 {print $3}' <<<"$uac"); n407=$(awk '$1 == 3 {print $3}' <<<"$uac")
    inv2=$(awk '$1 == 5 {print $3}' <<<"$uac"); bye200=$(awk '$1 == 11 {print $3}' <<<"$uac")
    uas_inv=$(awk '$1 == 1 {print $3}' <<<"$uas")
    ok=$(awk -v n="$name" -v r="$rate" '$1 == n && $2 == r {print $4}' "$RESULTS" | tail -1)
    local verdict=ok
    [ "${n407:-0}" -gt 0 ] && [ "${n407:-0}" = "${inv1:-0}" ] && [ "${uas_inv:-0}" -le "${inv2:-0}" ] || verdict=MISMATCH
    local line="$verdict $name $rate calls/s: UAC sent ${inv1:-0} INVITE, got ${n407:-0} 407, sent ${inv2:-0} INVITE with Proxy-Authorization, got ${bye200:-0} 200 to BYE; UAS got ${uas_inv:-0} INVITE; completed ${ok:-0}"
    echo "$line" >>"$AUTH_CHECK"
    log "auth check: $line"
    [ "$verdict" = ok ]
}

run_proxy() {
    local name=$1 port
    mkdir -p "$OUT/$name"
    start_calls_proxy "$name"
    port=$PROXY_PORT
    log "$name running (pid $PROXY_PID, udp/$port), idle memory $(( $(mem_kib $(pid_tree "$PROXY_PID")) / 1024 )) MiB"
    local bad=0 rate
    for rate in $RATES; do
        log "$name: $rate calls/s for ${STEP_SECONDS}s ($((rate * STEP_SECONDS)) calls), load $(loadavg1)"
        if run_step "$name" "$port" "$rate"; then bad=0; else bad=$((bad + 1)); fi
        kill -0 "$PROXY_PID" 2>/dev/null || break
        [ "$bad" -ge "$STOP_AFTER_FAILED" ] && { log "$name: $bad failing steps in a row, stopping"; break; }
        sleep "$STEP_PAUSE"
    done
    if kill -0 "$PROXY_PID" 2>/dev/null && [ "$IDLE_CHECK" -gt 0 ]; then
        log "$name: memory at the end of the series $(( $(mem_kib $(pid_tree "$PROXY_PID")) / 1024 )) MiB; idle for ${IDLE_CHECK}s"
        local c0; c0=$(cpu_ticks $(pid_tree "$PROXY_PID"))
        sleep "$IDLE_CHECK"
        local idle="$name idle-after ${IDLE_CHECK}s: memory $(( $(mem_kib $(pid_tree "$PROXY_PID")) / 1024 )) MiB, CPU $(ticks_ms $(( $(cpu_ticks $(pid_tree "$PROXY_PID")) - c0 ))) ms"
        log "$idle"; echo "# $idle" >>"$OUT/idle.txt"
    fi
    if kill -0 "$PROXY_PID" 2>/dev/null; then
        stop_pid "$PROXY_PID" 5
    else
        wait "$PROXY_PID"; log "$name exited with status $? (see $OUT/$name/proxy.log)"
    fi
    PROXY_PID=
}

{ machine_info; echo "rates: $RATES; step: ${STEP_SECONDS}s; ring ${RING_MS} ms, hold ${HOLD_MS} ms; two UAC processes from $UAC_SPLIT calls/s"
  [ "$AUTH" = 1 ] && echo "AUTH=1: INVITE challenged (407, MD5, qop=auth), $USERS callers"; } | tee "$OUT/machine.txt" >&2
[ "$AUTH" = 1 ] && write_bench_users "$OUT" "$USERS"
[ -n "$STORES" ] && echo "STORES: call setup with a location lookup (sip:service@example.test), stores: $STORES" | tee -a "$OUT/machine.txt" >&2
for p in $SERIES; do run_proxy "$p"; done
if [ -n "$REDIS_PID" ]; then
    log "redis-server CPU over the whole run: $(( $(cpu_ticks $REDIS_PID) * 10 )) ms (not in the table)"
fi

print_side_by_side "$RESULTS" "$SERIES" call calls/s \
    'Per proxy: completed/failed calls, retransmissions (UAC+UAS), CPU ms per call, memory MiB,' \
    'INVITE->200 p50/p99 ms.  "-" = step not run.'
[ -f "$AUTH_CHECK" ] && { echo; cat "$AUTH_CHECK"; }
[ -f "$OUT/idle.txt" ] && cat "$OUT/idle.txt"
log "raw results: $RESULTS; logs and SIPp files under $OUT"
