#!/usr/bin/env bash
# bench/run-ladder.sh - the four flows of issue #16, sipproxyd next to Kamailio, one after
# the other, at every rate of the ladder: registrations with digest (SQLite, the shipped
# default store, then the memory store), calls without and with INVITE digest (to a SIPp
# UAS, HOLD_MS between ACK and BYE). Prints each script's tables (CPU, memory, latency,
# then system calls and context switches per operation).
# Usage: bench/run-ladder.sh    Environment: RATES="250 500 1000 2000" HOLD_MS=500
#        OUT=/tmp/sipproxy-bench-ladder.XXXX FLOWS="reg-sqlite reg-memory calls calls-auth"
set -u
here=$(cd "$(dirname "$0")" && pwd)
RATES=${RATES:-"250 500 1000 2000"}
HOLD_MS=${HOLD_MS:-500}
FLOWS=${FLOWS:-"reg-sqlite reg-memory calls calls-auth"}
OUT=${OUT:-$(mktemp -d /tmp/sipproxy-bench-ladder.XXXX)}
mkdir -p "$OUT"
for flow in $FLOWS; do
    echo "## $flow ($(date -u '+%H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg))"
    case $flow in
        reg-sqlite) STORE=sqlite RATES="$RATES" OUT="$OUT/$flow" "$here/run-registrations.sh" ;;
        reg-memory) STORE=memory RATES="$RATES" OUT="$OUT/$flow" "$here/run-registrations.sh" ;;
        calls) AUTH=0 IDLE_CHECK=0 HOLD_MS=$HOLD_MS RATES="$RATES" OUT="$OUT/$flow" "$here/run-calls.sh" ;;
        calls-auth) AUTH=1 IDLE_CHECK=0 HOLD_MS=$HOLD_MS RATES="$RATES" OUT="$OUT/$flow" "$here/run-calls.sh" ;;
        *) echo "unknown flow $flow" >&2; exit 2 ;;
    esac 2>"$OUT/$flow.log"
done
