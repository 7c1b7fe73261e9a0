#!/usr/bin/env bash
# bench/run-ladder.sh - the four flows of issue #16, sipproxyd next to Kamailio, at every
# rate of the ladder: registrations with digest (SQLite, the shipped default store, then the
# memory store), calls without and with INVITE digest (to a SIPp UAS, HOLD_MS between ACK and
# BYE).
#
# CPU time on a shared VM drifts by tens of per cent within minutes, so the two proxies are
# measured close together: for every flow, rate and round, one step of each, back to back
# (the order alternates between rounds: sipproxyd first in odd rounds, Kamailio first in
# even ones), and the ratio is taken per round. The summary prints, per flow and rate, each
# round's ratio sipproxyd CPU / Kamailio CPU per operation, their spread, the failures, and
# the system calls and context switches per operation (averaged over the rounds).
# Usage: bench/run-ladder.sh
# Environment: RATES="250 500 1000 2000" ROUNDS=2 HOLD_MS=500 STEP_SECONDS=10
#        FLOWS="reg-sqlite reg-memory calls calls-auth" OUT=/tmp/sipproxy-bench-ladder.XXXX
set -u
here=$(cd "$(dirname "$0")" && pwd)
RATES=${RATES:-"250 500 1000 2000"}
ROUNDS=${ROUNDS:-2}
HOLD_MS=${HOLD_MS:-500}
STEP_SECONDS=${STEP_SECONDS:-10}
FLOWS=${FLOWS:-"reg-sqlite reg-memory calls calls-auth"}
OUT=${OUT:-$(mktemp -d /tmp/sipproxy-bench-ladder.XXXX)}
mkdir -p "$OUT"
export STEP_SECONDS
for flow in $FLOWS; do
    for rate in $RATES; do
        for ((round = 1; round <= ROUNDS; round++)); do
            order="sipproxyd kamailio"
            [ $((round % 2)) -eq 0 ] && order="kamailio sipproxyd"
            dir="$OUT/$flow/rate-$rate-round-$round"
            mkdir -p "$OUT/$flow"
            echo "## $flow $rate/s round $round ($order; $(date -u '+%H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg))"
            case $flow in
                reg-sqlite) STORE=sqlite PROXIES="$order" RATES="$rate" OUT="$dir" "$here/run-registrations.sh" ;;
                reg-memory) STORE=memory PROXIES="$order" RATES="$rate" OUT="$dir" "$here/run-registrations.sh" ;;
                calls) AUTH=0 IDLE_CHECK=0 HOLD_MS=$HOLD_MS PROXIES="$order" RATES="$rate" OUT="$dir" "$here/run-calls.sh" ;;
                calls-auth) AUTH=1 IDLE_CHECK=0 HOLD_MS=$HOLD_MS PROXIES="$order" RATES="$rate" OUT="$dir" "$here/run-calls.sh" ;;
                *) echo "unknown flow $flow" >&2; exit 2 ;;
            esac >"$dir.out" 2>"$dir.log"
            grep -E '^\| [0-9]' "$dir.out" | head -1
        done
    done
done

# Summary: per flow and rate, the ratio of each round, the spread, and the counts per
# operation. Result lines as written by record_step (bench/lib.sh): proxy rate count ok
# failed retr cpu_ms ms_per_op mem p50 p95 p99 max uacs load0 load1 dead ooc syscalls recv
# send epoll timerfd futex cs vcs.
python3 - "$OUT" "$FLOWS" "$RATES" "$ROUNDS" <<'EOF'
import os, statistics, sys
out, flows, rates, rounds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), int(sys.argv[4])

def row(flow, rate, rnd, proxy):
    path = os.path.join(out, flow, f'rate-{rate}-round-{rnd}', 'results.txt')
    try:
        for line in open(path):
            f = line.split()
            if f and f[0].startswith(proxy) and f[1] == rate:
                return f
    except OSError:
        pass
    return None

def num(f, i):
    try:
        return float(f[i])
    except (TypeError, ValueError, IndexError):
        return None

print('\nRatio sipproxyd / Kamailio CPU per operation, each round (min-max); failed+retransmitted'
      ' per proxy over the rounds; p50/p99 ms of sipproxyd / Kamailio (median of the rounds)')
print('| flow | rate/s | ratio per round | spread | ms/op sipproxyd / Kamailio (median) | failed+retr sipproxyd / Kamailio | p50/p99 sipproxyd | p50/p99 Kamailio | MiB sipproxyd / Kamailio (max) |')
print('|---|---|---|---|---|---|---|---|---|')
counts = []
for flow in flows:
    for rate in rates:
        ratios, ms_s, ms_k, bad_s, bad_k, lat_s, lat_k, cnt_s, cnt_k = [], [], [], 0, 0, [], [], [], []
        mem = {'s': [], 'k': []}
        for rnd in range(1, rounds + 1):
            s, k = row(flow, rate, rnd, 'sipproxyd'), row(flow, rate, rnd, 'kamailio')
            for f, bad, ms, lat, cnt in ((s, 'bad_s', ms_s, lat_s, cnt_s), (k, 'bad_k', ms_k, lat_k, cnt_k)):
                if not f:
                    continue
                if bad == 'bad_s':
                    bad_s += int(f[4]) + int(f[5])
                else:
                    bad_k += int(f[4]) + int(f[5])
                if num(f, 7) is not None:
                    ms.append(num(f, 7))
                lat.append((num(f, 9), num(f, 11)))
                if num(f, 8) is not None:
                    mem['s' if bad == 'bad_s' else 'k'].append(num(f, 8))
                if len(f) >= 26:
                    cnt.append([num(f, i) for i in range(18, 26)])
            if s and k and num(s, 7) and num(k, 7):
                ratios.append(num(s, 7) / num(k, 7))
        if not ratios:
            print(f'| {flow} | {rate} | - | - | - | {bad_s} / {bad_k} | - | - | - |')
            continue
        med = lambda xs: statistics.median(xs) if xs else float('nan')
        lat_txt = lambda l: '/'.join(f'{med([x[i] for x in l if x[i] is not None]):.0f}' for i in (0, 1)) if l else '-'
        print(f'| {flow} | {rate} | ' + ', '.join(f'{r:.2f}' for r in ratios) +
              f' | {min(ratios):.2f}-{max(ratios):.2f} | {med(ms_s):.3f} / {med(ms_k):.3f} | {bad_s} / {bad_k} | {lat_txt(lat_s)} | {lat_txt(lat_k)} |'
              f' {max(mem["s"], default=0):.0f} / {max(mem["k"], default=0):.0f} |')
        counts.append((flow, rate, cnt_s, cnt_k))

print('\nSystem calls and context switches per operation, mean of the rounds (perf tracepoints;'
      ' cs: all context switches, vcs: voluntary ones)')
print('| flow | rate/s | sipproxyd syscalls | recv / send / epoll_wait / timerfd / futex | cs / vcs | Kamailio syscalls | Kamailio cs / vcs |')
print('|---|---|---|---|---|---|---|')
def mean(rows, i):
    xs = [r[i] for r in rows if r[i] is not None]
    return f'{statistics.mean(xs):.2f}' if xs else '-'
for flow, rate, cs, ck in counts:
    print(f'| {flow} | {rate} | {mean(cs, 0)} | ' + ' / '.join(mean(cs, i) for i in range(1, 6)) +
          f' | {mean(cs, 6)} / {mean(cs, 7)} | {mean(ck, 0)} | {mean(ck, 6)} / {mean(ck, 7)} |')
EOF
echo "raw results under $OUT"
