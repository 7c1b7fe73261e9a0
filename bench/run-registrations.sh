#!/usr/bin/env bash
# bench/run-registrations.sh - digest-authenticated registrations, sipproxyd next to Kamailio.
#
# SIPp (bench/scenarios/reg-digest.xml) -> registrar over UDP on 127.0.0.1:
# REGISTER -> 401 -> REGISTER with Authorization (MD5, qop=auth) -> 200, for USERS users
# taken in turn from a generated SIPp -inf CSV. Registrars:
#   sipproxyd: [auth] realm example.test, algorithms ["MD5"] (SIPp 3.6 has no SHA-256),
#              the USERS users as [[auth.users]] with clear-text passwords, workers=2,
#              registrar.store = $STORE (sqlite by default, as shipped)
#   kamailio:  bench/kamailio/registrar.cfg: auth (pv_www_authenticate / www_challenge)
#              with clear-text passwords in an htable loaded from db_text, usrloc db_mode 0,
#              2 UDP children.
# For every rate step: completed / failed registrations, retransmissions, registrar CPU ms
# per registration (utime+stime of all its processes / completed 401+200 exchanges),
# memory, REGISTER->200 time (both round trips) percentiles.
#
# Usage: bench/run-registrations.sh
# Environment:
#   USERS=10000  RATES="500 1000 2000 3000 4000"  STEP_SECONDS=10
#   PROXIES="sipproxyd kamailio"  STORE=sqlite (the shipped default; memory: like Kamailio's
#   usrloc; redis: sipproxyd only, starts its own redis-server on PORT_REDIS, no
#   persistence, its CPU reported apart)
#   PRELOAD=1: every user registers once before the measured steps (not measured), so that
#   these are refreshes, as on a registrar in its steady state; PRELOAD=0: first
#   registrations.  PRELOAD_RATE=1000
#   STOP_AFTER_FAILED=2  OUT=/tmp/sipproxy-bench-reg.XXXX
#   PORT_SIPPROXYD=15562 PORT_KAMAILIO=15572 PORT_UAC=15585
set -u
. "$(dirname "$0")/lib.sh"

USERS=${USERS:-10000}
RATES=${RATES:-"500 1000 2000 3000 4000"}
STEP_SECONDS=${STEP_SECONDS:-10}
PROXIES=${PROXIES:-"sipproxyd kamailio"}
STORE=${STORE:-sqlite}
PRELOAD=${PRELOAD:-1}
PRELOAD_RATE=${PRELOAD_RATE:-1000}
STOP_AFTER_FAILED=${STOP_AFTER_FAILED:-2}
PORT_SIPPROXYD=${PORT_SIPPROXYD:-15562}
PORT_KAMAILIO=${PORT_KAMAILIO:-15572}
PORT_UAC=${PORT_UAC:-15585}
PORT_REDIS=${PORT_REDIS:-15595}
OUT=${OUT:-$(mktemp -d /tmp/sipproxy-bench-reg.XXXX)}
mkdir -p "$OUT"
KAM_RUN="$OUT/kamailio-run"
RESULTS="$OUT/results.txt"
: >"$RESULTS"

need sipp python3 ss
for port in $PORT_SIPPROXYD $PORT_KAMAILIO $PORT_UAC; do
    udp_port_free "$port" || die "udp/$port is in use; set the PORT_* variables"
done

PROXY_PID=
UAC_PID=
REDIS_PID=
cleanup() { stop_pid "$UAC_PID" 2; stop_pid "$PERF_PID" 2; stop_pid "$PROXY_PID" 5; stop_pid "$REDIS_PID" 2; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# users.csv for SIPp, sipproxy.toml with the same users, db_text table for Kamailio
generate_users() {
    write_bench_users "$OUT" "$USERS"
    write_bench_conf "$OUT/sipproxyd/sipproxy.toml" "$PORT_SIPPROXYD" "$STORE" "max_expires = 7200"
    {
        [ "$STORE" = redis ] && printf '\n[redis]\nurl = "redis://127.0.0.1:%s/0"\n' "$PORT_REDIS"
        cat "$OUT/auth-users.toml"
    } >>"$OUT/sipproxyd/sipproxy.toml"
}

run_step() {
    local name=$1 pport=$2 rate=$3
    local dir="$OUT/$name/rate-$rate" regs=$((rate * STEP_SECONDS))
    mkdir -p "$dir"
    local pids; pids=$(pid_tree "$PROXY_PID")
    local t0; t0=$(cpu_ticks $pids)
    local l0; l0=$(loadavg1)
    local vcs0; vcs0=$(voluntary_switches $pids)
    perf_start "$dir/perf-stat.txt" $pids
    (cd "$dir" && exec timeout -k 5 $((STEP_SECONDS + 40)) sipp "127.0.0.1:$pport" -sf "$SCEN_DIR/reg-digest.xml" -inf "$OUT/users.csv" \
        -auth_uri example.test -i 127.0.0.1 -p "$PORT_UAC" -r "$rate" -m "$regs" -l 100000 -timeout "$((STEP_SECONDS + 30))s" \
        -buff_size "$SIPP_BUFF" -nostdin -trace_stat -fd 1 -trace_err -trace_screen -trace_rtt -rtt_freq 100 >uac.out 2>&1) &
    UAC_PID=$!
    wait "$UAC_PID"; UAC_PID=
    record_step "$name" "$rate" "$regs" "$dir" "$t0" "$l0" 1 "REGISTER/s" "$vcs0"
}

# Every user registered once before the measured steps (PRELOAD=1): a registrar that has
# been running a while sees refreshes, almost only (a million devices refreshing every hour
# are 280 REGISTERs/s; first registrations come after an outage). Not measured.
preload() {
    local name=$1 pport=$2 dir="$OUT/$1/preload"
    mkdir -p "$dir"
    log "$name: registering the $USERS users first, $PRELOAD_RATE/s (not measured)"
    (cd "$dir" && exec timeout -k 5 $((USERS / PRELOAD_RATE + 60)) sipp "127.0.0.1:$pport" -sf "$SCEN_DIR/reg-digest.xml" -inf "$OUT/users.csv" \
        -auth_uri example.test -i 127.0.0.1 -p "$PORT_UAC" -r "$PRELOAD_RATE" -m "$USERS" -l 100000 -timeout "$((USERS / PRELOAD_RATE + 30))s" \
        -buff_size "$SIPP_BUFF" -nostdin -trace_stat -fd 1 >uac.out 2>&1)
    log "$name: preload done ($(sipp_summary "$dir" "$USERS" | cut -d' ' -f1-3): created ok failed)"
    sleep 2
}

run_proxy() {
    local name=$1 port
    mkdir -p "$OUT/$name"
    case $name in
        sipproxyd)
            port=$PORT_SIPPROXYD
            [ -x "$SIPPROXYD" ] || die "$SIPPROXYD missing"
            snapshot_sipproxyd "$OUT/$name"
            start_sipproxyd "$OUT/$name/sipproxy.toml" "$OUT/$name/proxy.log" "$port"
            PROXY_PID=$SIPPROXYD_PID ;;
        kamailio)
            port=$PORT_KAMAILIO
            [ -x "$KAMAILIO" ] || die "kamailio missing: apt-get install -y kamailio"
            start_kamailio "$KAM_DIR/registrar.cfg" "$OUT/$name/proxy.log" "$port" -m 512 -M 32 \
                -A "DBURL=\"text://$OUT/kamailio-dbtext\""
            PROXY_PID=$KAM_PID ;;
        *) die "unknown proxy '$name'" ;;
    esac
    log "$name running (pid $PROXY_PID, udp/$port), memory after start $(( $(mem_kib $(pid_tree "$PROXY_PID")) / 1024 )) MiB"
    [ "$PRELOAD" = 1 ] && preload "$name" "$port"
    local bad=0 rate
    for rate in $RATES; do
        log "$name: $rate REGISTER/s for ${STEP_SECONDS}s ($((rate * STEP_SECONDS)) registrations), load $(loadavg1)"
        if run_step "$name" "$port" "$rate"; then bad=0; else bad=$((bad + 1)); fi
        kill -0 "$PROXY_PID" 2>/dev/null || break
        [ "$bad" -ge "$STOP_AFTER_FAILED" ] && { log "$name: $bad failing steps in a row, stopping"; break; }
        sleep 2
    done
    if kill -0 "$PROXY_PID" 2>/dev/null; then
        stop_pid "$PROXY_PID" 5
    else
        wait "$PROXY_PID"; log "$name exited with status $? (see $OUT/$name/proxy.log)"
    fi
    PROXY_PID=
}

{ machine_info; echo "users: $USERS; rates: $RATES; step: ${STEP_SECONDS}s; sipproxyd store: $STORE"; } | tee "$OUT/machine.txt" >&2
generate_users
[ "$STORE" = redis ] && start_bench_redis
for p in $PROXIES; do run_proxy "$p"; done
if [ -n "$REDIS_PID" ]; then
    log "redis-server CPU over the whole run: $(( $(cpu_ticks $REDIS_PID) * 10 )) ms (not in the table)"
fi

print_side_by_side "$RESULTS" "$PROXIES" reg REGISTER/s \
    'Per registrar: completed/failed registrations (401+200 each), retransmissions, CPU ms per' \
    'registration, memory MiB, REGISTER->200 p50/p99 ms (both round trips).  "-" = step not run.'
log "raw results: $RESULTS; logs and SIPp files under $OUT"
