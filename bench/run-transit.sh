#!/usr/bin/env bash
# bench/run-transit.sh - transit time through the proxy, sipproxyd next to Kamailio.
#
# Issue #16 asks for "p99 transit time through the proxy under 0.5 ms at 500 calls/s".
# This bench runs the calls of bench/run-calls.sh (SIPp UAC -> proxy -> SIPp UAS:
# INVITE, 100, 180, 200, ACK, BYE, 200; the same configs, helpers in bench/lib.sh) at a
# fixed rate per step, captures the proxy's UDP datagrams on lo for CAPTURE_SECONDS in
# the middle of the step (tcpdump -i lo -s 65535, nanosecond timestamps) and pairs each
# datagram the proxy received with the one it sent for it (bench/transit.py): a request
# forwarded to the next hop (same Call-ID, CSeq, method), a response relayed toward the
# previous hop (same Call-ID, CSeq, status). 100 Trying (and with AUTH=1 the 407) that
# the proxy answers itself are reported apart as "local". Unpaired datagrams are counted.
#
# What the figure is: on lo the kernel stamps a datagram when the sender hands it to the
# loopback device, so transit = (proxy's send) - (SIPp's send): time in the proxy's
# socket buffer until a worker reads it (wake-up, queueing behind other datagrams) plus
# the proxy's own work. Both stamps come from the same clock. The capture itself costs
# CPU (tcpdump copies every datagram), equally for both proxies.
#
# Proxies: sipproxyd (workers=2, memory store, log_level warn) and Kamailio 5.6
# (bench/kamailio/proxy.cfg, 2 UDP children), as in bench/run-calls.sh.
# AUTH=1: challenged INVITEs (bench/scenarios/uac-call-auth.xml, proxy-auth.cfg).
#
# Needs: sipp (sip-tester), tcpdump, python3, ss, kamailio for the comparison; root (or
# CAP_NET_RAW) for tcpdump. apt-get install -y sip-tester tcpdump kamailio
#
# Results and what they mean: bench/README.md, "Transit time through the proxy" (2026-12-05,
# shared 2-vCPU VM: sipproxyd p99 at 500 calls/s 1.0-1.6 ms at cec9fcd, 0.46-0.78 ms in
# three of four runs once requests with SIPp's branches were spread over both workers).
#
# Usage: bench/run-transit.sh              (both proxies, 250 500 1000 calls/s, ~2 min)
#        AUTH=1 bench/run-transit.sh
# Environment:
#   RATES="250 500 1000"   calls/s per step
#   STEP_SECONDS=10        length of a step (RATE*STEP_SECONDS calls)
#   CAPTURE_SECONDS=4      capture length, centred in the step
#   PROXIES="sipproxyd kamailio"
#   PERF_SCHED=0           1: also `perf sched record -a` during the capture
#                          (rate-N/perf-sched.data and perf-sched-latency.txt; costs CPU)
#   UAC_SCENARIO=bench/scenarios/uac-call.xml   the caller's scenario (AUTH=0);
#                          bench/scenarios/uac-call-random-branch.xml: the same calls with
#                          branches that start with 8 random digits, as phones send them
#                          (SIPp's own branches keep sipproxyd's request steering on one
#                          worker for 1000 calls at a time: bench/README.md)
#   AUTH=0 USERS=10000 HOLD_MS=100 RING_MS=20 STEP_PAUSE=3 KAM_SHM_MB=1024 KAM_PKG_MB=32
#                          as in bench/run-calls.sh
#   OUT=/tmp/sipproxy-bench-transit.XXXX   captures (rate-N/lo.pcap), per-kind tables
#                          (rate-N/transit.txt), SIPp files, results.txt
#   SIPPROXYD=build/sipproxyd  KAMAILIO=/usr/sbin/kamailio
#   PORT_SIPPROXYD=15760 PORT_KAMAILIO=15770 PORT_UAS=15790 PORT_UAC=15780
#                          (away from the other benches' defaults, so they can run apart)
# Result lines (results.txt): proxy rate ok failed retrans relayed p50 p90 p99 max
# unpaired_in unpaired_out local local_p99 load0 load1 rq_wait_us slices_per_s (transit in
# microseconds; the last two: the proxy's threads during the capture, from
# /proc/PID/task/*/schedstat: mean time a woken thread waited on a run queue for a CPU
# per time slice, and time slices per second).
set -u
. "$(dirname "$0")/lib.sh"

RATES=${RATES:-"250 500 1000"}
CAPTURE_SECONDS=${CAPTURE_SECONDS:-4}
PERF_SCHED=${PERF_SCHED:-0}
PORT_SIPPROXYD=${PORT_SIPPROXYD:-15760}
PORT_KAMAILIO=${PORT_KAMAILIO:-15770}
PORT_UAS=${PORT_UAS:-15790}
PORT_UAC=${PORT_UAC:-15780}
PORT_REDIS=${PORT_REDIS:-15796}
UAC_LOOKUP=
call_load_setup transit
[ "$CAPTURE_SECONDS" -lt "$STEP_SECONDS" ] || die "CAPTURE_SECONDS must be shorter than STEP_SECONDS"

need sipp python3 ss tcpdump
for p in $PROXIES; do
    case $p in
        sipproxyd) [ -x "$SIPPROXYD" ] || die "$SIPPROXYD missing: cmake --build build -j2 --target sipproxyd" ;;
        kamailio) [ -x "$KAMAILIO" ] || die "kamailio missing: apt-get install -y kamailio" ;;
        *) die "unknown proxy '$p'" ;;
    esac
done
for port in $PORT_SIPPROXYD $PORT_KAMAILIO $PORT_UAS $PORT_UAC; do
    udp_port_free "$port" || die "udp/$port is in use; set the PORT_* variables"
done

PROXY_PID=
UAS_PID=
UAC_PIDS=()
REDIS_PID=
TCPDUMP_PID=
cleanup() {
    local p
    for p in "${UAC_PIDS[@]}" $UAS_PID $TCPDUMP_PID; do stop_pid "$p" 2; done
    stop_pid "$PROXY_PID" 5
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run-queue wait of all threads of the pids given, from /proc/<pid>/task/<tid>/schedstat
# (run time ns, wait on a run queue ns, time slices): "wait_ns slices".
sched_wait() {
    local p
    for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
        awk '{w += $2; n += $3} END {printf "%.0f %.0f\n", w, n}'
}

# One step against the running proxy (PROXY_PID, port $2) at rate $3.
run_step() {
    local name=$1 pport=$2 rate=$3
    local dir="$OUT/$name/rate-$rate" calls=$((rate * STEP_SECONDS)) i
    mkdir -p "$dir"
    local tmo=$((STEP_SECONDS + 30))
    start_call_uas "$dir" "$tmo"
    local l0; l0=$(loadavg1)
    start_call_uacs "$name" "$dir" "$pport" "$rate" "$calls" "$tmo" 1
    # the capture, centred in the step: the proxy's port only, whole datagrams (-s 65535),
    # nanosecond stamps, a 16 MiB kernel buffer so that nothing is dropped; -Z root keeps
    # tcpdump able to write into $dir
    sleep "$(awk -v s="$STEP_SECONDS" -v c="$CAPTURE_SECONDS" 'BEGIN {print (s - c) / 2}')"
    local pids; pids=$(pid_tree "$PROXY_PID")
    local w0; w0=$(sched_wait $pids)
    tcpdump -i lo -s 65535 -B 16384 --time-stamp-precision=nano -Z root -n -w "$dir/lo.pcap" \
        "udp and port $pport" 2>"$dir/tcpdump.err" &
    TCPDUMP_PID=$!
    if [ "$PERF_SCHED" = 1 ]; then
        # every CPU's scheduler events during the capture: who ran while a proxy thread
        # waited (perf sched latency / timehist -i $dir/perf-sched.data)
        # (CLOCK_MONOTONIC stamps; clock-offset.txt: CLOCK_REALTIME - CLOCK_MONOTONIC, s, to
        # line them up with the capture's stamps)
        python3 -c 'import time; print(time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_MONOTONIC))' >"$dir/clock-offset.txt"
        perf sched record -k mono -a -o "$dir/perf-sched.data" -- sleep "$CAPTURE_SECONDS" >/dev/null 2>"$dir/perf-sched.err"
    else
        sleep "$CAPTURE_SECONDS"
    fi
    kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; TCPDUMP_PID=
    local w1; w1=$(sched_wait $pids)
    # the proxy's threads during the capture: mean wait on a run queue per time slice (us),
    # time slices per second
    local rq; rq=$(awk -v a="$w0" -v b="$w1" -v c="$CAPTURE_SECONDS" 'BEGIN {
        split(a, x); split(b, y); n = y[2] - x[2]; if (n < 1) n = 1
        printf "%.0f %.0f", (y[1] - x[1]) / n / 1000, (y[2] - x[2]) / c }')
    for i in "${UAC_PIDS[@]}"; do wait "$i"; done
    UAC_PIDS=()
    sleep 3.5
    stop_pid "$UAS_PID" 2; UAS_PID=
    local l1; l1=$(loadavg1)
    local drops; drops=$(grep -o '[0-9]* packets dropped by kernel' "$dir/tcpdump.err" | awk '{print $1}')
    [ "${drops:-0}" = 0 ] || log "tcpdump dropped $drops packets (see $dir/tcpdump.err)"
    kill -0 "$PROXY_PID" 2>/dev/null || log "$name DIED during the $rate calls/s step"
    # created ok failed unfinished rt_uac rt_uas dead ooc p50 p95 p99 max
    set -- $(sipp_summary "$dir" "$calls")
    local ok=$2 failed=$(($3 + $4)) retr=$(($5 + $6))
    if [ -s "$dir/perf-sched.data" ]; then
        perf sched latency -i "$dir/perf-sched.data" --sort max >"$dir/perf-sched-latency.txt" 2>/dev/null
    fi
    python3 "$BENCH_DIR/transit.py" --json "$dir/transit.json" "$dir/lo.pcap" "$pport" >"$dir/transit.txt"
    # relayed p50 p90 p99 max unpaired_in unpaired_out local local_p99
    local tr; tr=$(python3 "$BENCH_DIR/transit.py" --summary "$dir/lo.pcap" "$pport")
    echo "$name $rate $ok $failed $retr $tr $l0 $l1 $rq" | tee -a "$RESULTS"
    sed 's/^/    /' "$dir/transit.txt" >&2
}

run_proxy() {
    local name=$1 port rate
    start_calls_proxy "$name"
    port=$PROXY_PORT
    log "$name running (pid $PROXY_PID, udp/$port)"
    for rate in $RATES; do
        log "$name: $rate calls/s for ${STEP_SECONDS}s, capture ${CAPTURE_SECONDS}s, load $(loadavg1)"
        run_step "$name" "$port" "$rate"
        kill -0 "$PROXY_PID" 2>/dev/null || break
        sleep "$STEP_PAUSE"
    done
    stop_pid "$PROXY_PID" 5
    PROXY_PID=
}

{ machine_info; echo "transit: rates $RATES; step ${STEP_SECONDS}s, capture ${CAPTURE_SECONDS}s in the middle; ring ${RING_MS} ms, hold ${HOLD_MS} ms"
  [ -x "$SIPPROXYD" ] && echo "sipproxyd: $SIPPROXYD ($(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null) in $REPO_DIR)"
  [ "$AUTH" = 1 ] && echo "AUTH=1: INVITE challenged (407, MD5, qop=auth), $USERS callers"; } | tee "$OUT/machine.txt" >&2
[ "$AUTH" = 1 ] && write_bench_users "$OUT" "$USERS"
for p in $PROXIES; do run_proxy "$p"; done

python3 - "$RESULTS" "$PROXIES" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
proxies = sys.argv[2].split()
print()
print('Transit through the proxy, microseconds (received -> sent on, forwarded requests and relayed')
print('responses); local = 100 Trying / 407 the proxy answered itself; unpaired in/out; load 1 min.')
print('rq wait: mean time the proxy threads waited for a CPU per time slice (schedstat), us.')
print('| proxy | calls/s | ok / failed / retr | relayed | p50 | p90 | p99 | max | local p99 | unpaired in / out | rq wait | load |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|')
for p in proxies:
    for r in rows:
        if r[0] != p:
            continue
        print(f'| {p} | {r[1]} | {r[2]} / {r[3]} / {r[4]} | {r[5]} | {r[6]} | {r[7]} | {r[8]} | {r[9]} | {r[13]} | {r[10]} / {r[11]} | {r[16] if len(r) > 16 else "-"} | {r[14]}-{r[15]} |')
EOF
log "raw results: $RESULTS; captures and per-kind tables under $OUT/<proxy>/rate-<N>/"
