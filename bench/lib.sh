# bench/lib.sh - shared helpers for bench/run-calls.sh, bench/run-registrations.sh, bench/run-transit.sh and the callgrind scripts.
# Sourced, not run. Needs bash, sipp (3.6), python3; kamailio (5.6) for the comparison.
# All traffic stays on 127.0.0.1.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
SCEN_DIR="$BENCH_DIR/scenarios"
# SIPp's socket buffers (-buff_size). With the kernel's default (208 KiB) a SIPp UAC drops
# answers that come in bursts (sipproxyd's SQLite store answers a commit's REGISTERs
# together, every 20 ms), then retransmits: a limit of the load generator, not of the proxy.
# Both proxies are measured with the same SIPp settings.
SIPP_BUFF=${SIPP_BUFF:-4194304}
KAM_DIR="$BENCH_DIR/kamailio"
SIPPROXYD=${SIPPROXYD:-$REPO_DIR/build/sipproxyd}
KAMAILIO=${KAMAILIO:-$(command -v kamailio || echo /usr/sbin/kamailio)}
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
    local c
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "'$c' not found (apt-get install -y ${c/sipp/sip-tester})"; done
}

# Machine description for the report.
machine_info() {
    printf 'date: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'cpu: %s x %s\n' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'sipp: %s\n' "$(sipp -v 2>&1 | grep -o 'v[0-9][^ ]*' | head -1)"
    [ -x "$KAMAILIO" ] && printf 'kamailio: %s\n' "$("$KAMAILIO" -v 2>/dev/null | head -1 | awk '{print $3}')"
    return 0
}
loadavg1() { cut -d' ' -f1 /proc/loadavg; }

# A process and all its descendants (Kamailio forks its workers from the main process).
pid_tree() {
    local p=$1 c
    [ -d "/proc/$p" ] || return 0
    echo "$p"
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do pid_tree "$c"; done
}

# utime+stime in clock ticks, summed over the pids given (all threads of each process).
cpu_ticks() {
    local p sum=0 t
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        # fields after the ")" of comm: state is $1, utime $12, stime $13
        t=$(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')
        sum=$((sum + t))
    done
    echo "$sum"
}
# ticks -> milliseconds
ticks_ms() { echo $(( $1 * 1000 / CLK_TCK )); }

# Resident memory in KiB: VmRSS of one process; for several processes the sum of
# Pss (shared memory such as Kamailio's shm divided between the processes sharing it).
mem_kib() {
    if [ $# -eq 1 ]; then
        awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
    else
        local p sum=0 v
        for p in "$@"; do
            v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
            sum=$((sum + ${v:-0}))
        done
        echo "$sum"
    fi
}

# Wait until a UDP port is bound on 127.0.0.1 (up to $2 seconds, default 5).
wait_udp_port() {
    local port=$1 n=$(( ${2:-5} * 10 ))
    while [ $n -gt 0 ]; do
        ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
udp_port_free() { ! ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }

# Stop a process we started, by pid: TERM, then KILL after $2 seconds (default 5).
stop_pid() {
    local pid=$1 n=$(( ${2:-5} * 10 ))
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# Copy the sipproxyd binary into $1 (other people rebuild build/ while a bench runs)
# and point SIPPROXYD_BIN at the copy.
snapshot_sipproxyd() {
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        if [ -x "$SIPPROXYD" ] && cp "$SIPPROXYD" "$1/sipproxyd.bin" 2>/dev/null && "$1/sipproxyd.bin" --version >/dev/null 2>&1; then
            SIPPROXYD_BIN="$1/sipproxyd.bin"
            log "sipproxyd: $SIPPROXYD ($(date -r "$SIPPROXYD" '+%F %T'), $("$SIPPROXYD_BIN" --version 2>&1 | head -1)) copied to $SIPPROXYD_BIN"
            return 0
        fi
        sleep 3   # being relinked right now
    done
    die "cannot copy a working $SIPPROXYD"
}

# Start sipproxyd in the foreground (as a background job) with config $1, log to $2.
# Sets SIPPROXYD_PID.
start_sipproxyd() {
    local cfg=$1 logf=$2 port=$3
    "${SIPPROXYD_BIN:-$SIPPROXYD}" -c "$cfg" >"$logf" 2>&1 &
    SIPPROXYD_PID=$!
    wait_udp_port "$port" 10 || { tail -20 "$logf" >&2; die "sipproxyd did not bind udp/$port"; }
}

# Start Kamailio in the foreground: cfg $1, log $2, port $3, extra args after.
# Sets KAM_PID. Kamailio writes its pid/fifo files into $KAM_RUN (a temp folder).
start_kamailio() {
    local cfg=$1 logf=$2 port=$3; shift 3
    mkdir -p "$KAM_RUN"
    "$KAMAILIO" -DD -E -f "$cfg" -l "udp:127.0.0.1:$port" -n 2 -Y "$KAM_RUN" -w "$KAM_RUN" \
        -P "$KAM_RUN/kamailio.pid" "$@" >"$logf" 2>&1 &
    KAM_PID=$!
    wait_udp_port "$port" 10 || { tail -20 "$logf" >&2; die "kamailio did not bind udp/$port"; }
    sleep 0.5
}

# Digest users for the authenticated benches: user00001..userN ($2) with passwords
# pw-00001-secret.., written into folder $1 as
#   users.csv        SIPp -inf (SEQUENTIAL): USER;PASSWORD;[authentication username=USER password=PASSWORD]
#   auth-users.toml  [auth] (realm example.test, MD5 only: SIPp 3.6 has no SHA-256) and
#                    one [[auth.users]] per user, to append to a sipproxy.toml
#   kamailio-dbtext/ db_text tables "version" and "htable" (key = user, value = password)
#                    for the htable "users" of bench/kamailio/registrar.cfg and proxy-auth.cfg
write_bench_users() {
    python3 - "$1" "$2" <<'EOF'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
users = [(f'user{i:05d}', f'pw-{i:05d}-secret') for i in range(1, n + 1)]
with open(os.path.join(out, 'users.csv'), 'w') as f:
    f.write('SEQUENTIAL\n')
    for u, p in users:
        f.write(f'{u};{p};[authentication username={u} password={p}]\n')
with open(os.path.join(out, 'auth-users.toml'), 'w') as f:
    f.write('\n[auth]\nrealm = "example.test"\nalgorithms = ["MD5"]\nnonce_ttl = 300\n')
    for u, p in users:
        f.write(f'\n[[auth.users]]\nuser = "{u}"\npassword = "{p}"\n')
db = os.path.join(out, 'kamailio-dbtext')
os.makedirs(db, exist_ok=True)
with open(os.path.join(db, 'version'), 'w') as f:
    f.write('id(int,auto) table_name(string) table_version(int) \n0:version:1\n0:htable:2\n')
with open(os.path.join(db, 'htable'), 'w') as f:
    f.write('id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int) \n')
    for i, (u, p) in enumerate(users, 1):
        f.write(f'{i}:{u}:0:0:{p}:0\n')
EOF
}

# Message counts of a scenario, summed over the last scenario screen in each file (SIPp's
# stdout with -trace_screen, or its _screen.log). Args: dir, file glob (e.g. 'uac*.out').
# Prints one line per scenario row:
# "ROW LABEL COUNT" (ROW from 1, LABEL like INVITE-> or 407<-, COUNT = Messages column,
# first transmissions only).
sipp_message_counts() {
    python3 - "$1" "$2" <<'EOF'
import glob, os, re, sys
d, pat = sys.argv[1], sys.argv[2]
rows = {}
for f in glob.glob(os.path.join(d, pat)):
    lines = open(f, errors='replace').read().splitlines()
    starts = [i for i, l in enumerate(lines) if 'Messages  Retrans' in l]
    if not starts:
        continue
    n = 0
    for l in lines[starts[-1] + 1:]:
        if l.startswith('---'):
            break  # end of the table
        # UAC screens: "  INVITE ---------->  B-RTD1 5"; UAS screens: "  <---------- 180  5"
        m = re.match(r'\s*(\S+) (-+>|<-+)\s+(?:[BE]-RTD\d+\s+)?(\d+)', l)
        if m:
            label, arrow, count = m.groups()
        else:
            m = re.match(r'\s*(-+>|<-+) (\S+)\s+(\d+)', l)
            if not m:
                continue  # pauses, blank lines
            arrow, label, count = m.groups()
        n += 1
        label += '->' if arrow.endswith('>') else '<-'
        rows.setdefault(n, [label, 0])[1] += int(count)
for n in sorted(rows):
    print(n, rows[n][0], rows[n][1])
EOF
}

# System calls and context switches of the proxy during a step, counted by the kernel's
# tracepoints (perf stat -e syscalls:..., no hardware counters needed, little overhead;
# unlike strace it does not slow the proxy down). PERF=0 turns it off.
# perf_start FILE PID...: starts counting all threads of the pids into FILE; sets PERF_PID.
# perf_stop: ends it (SIGINT makes perf write FILE).
PERF=${PERF:-1}
PERF_EVENTS="raw_syscalls:sys_enter context-switches syscalls:sys_enter_epoll_wait syscalls:sys_enter_epoll_pwait
 syscalls:sys_enter_recvfrom syscalls:sys_enter_recvmsg syscalls:sys_enter_recvmmsg syscalls:sys_enter_sendto
 syscalls:sys_enter_sendmsg syscalls:sys_enter_sendmmsg syscalls:sys_enter_timerfd_settime syscalls:sys_enter_futex
 syscalls:sys_enter_read syscalls:sys_enter_write syscalls:sys_enter_pwrite64 syscalls:sys_enter_epoll_ctl
 syscalls:sys_enter_io_uring_enter"
PERF_PID=
perf_start() {
    local out=$1; shift
    PERF_PID=
    [ "$PERF" = 1 ] && command -v perf >/dev/null 2>&1 || return 0
    local ev; ev=$(echo $PERF_EVENTS | tr ' ' ,)
    perf stat -x, -o "$out" -e "$ev" -p "$(echo "$@" | tr ' ' ,)" >/dev/null 2>&1 &
    PERF_PID=$!
    sleep 0.3   # attached before the load starts
}
perf_stop() {
    [ -n "$PERF_PID" ] || return 0
    kill -INT "$PERF_PID" 2>/dev/null
    wait "$PERF_PID" 2>/dev/null
    PERF_PID=
}
# Voluntary context switches (sleeps: the thread waited for something) of every thread of
# the pids given, from /proc.
voluntary_switches() {
    local p sum=0 v
    for p in "$@"; do
        v=$(cat /proc/"$p"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches:/ {s += $2} END {print s + 0}')
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
# Per operation figures of a perf_start FILE: "syscalls recv send epoll timerfd futex cs"
# (recv = recvfrom+recvmsg+recvmmsg calls, send = sendto+sendmsg+sendmmsg, epoll =
# epoll_wait+epoll_pwait, cs = all context switches). Args: FILE operations.
perf_per_op() {
    python3 - "$1" "$2" <<'EOF2'
import sys
path, n = sys.argv[1], max(1, int(sys.argv[2]))
c = {}
try:
    for line in open(path):
        f = line.strip().split(',')
        if len(f) >= 3 and f[0].replace('.', '').isdigit():
            c[f[2].split(':')[-1].replace('sys_enter_', '')] = float(f[0])
except OSError:
    pass
if not c:
    print('- - - - - - -'); sys.exit()
g = lambda *k: sum(c.get(x, 0) for x in k) / n
print(' '.join('%.2f' % v for v in (g('sys_enter'), g('recvfrom', 'recvmsg', 'recvmmsg'),
      g('sendto', 'sendmsg', 'sendmmsg'), g('epoll_wait', 'epoll_pwait'), g('timerfd_settime'),
      g('futex'), g('context-switches'))))
EOF2
}

# Summarise SIPp output of one step. Args: dir with the SIPp files, expected calls.
# Prints: created ok failed unfinished retrans(uac) retrans(uas) deadmsgs oocmsgs p50 p95 p99 max
# (response times of rtd 1, in ms, from every *_rtt.csv of the UAC processes).
sipp_summary() {
    python3 - "$1" "$2" <<'EOF'
import csv, glob, os, sys
d, expected = sys.argv[1], int(sys.argv[2])
def last(path):
    rows = [r for r in csv.reader(open(path), delimiter=';') if r]
    h = rows[0]
    return dict(zip(h, rows[-1])) if len(rows) > 1 else {}
tot = dict(created=0, ok=0, failed=0, rt_uac=0, rt_uas=0, dead=0, ooc=0)
for f in glob.glob(os.path.join(d, '*_.csv')):
    s = last(f)
    if not s:
        continue
    uas = os.path.basename(f).startswith(('uas', 'reg-uas'))
    g = lambda k: int(s.get(k, 0) or 0)
    if uas:
        tot['rt_uas'] += g('Retransmissions(C)')
        tot['dead'] += g('DeadCallMsgs(C)')
        tot['ooc'] += g('OutOfCallMsgs(C)')
    else:
        tot['created'] += g('TotalCallCreated')
        tot['ok'] += g('SuccessfulCall(C)')
        tot['failed'] += g('FailedCall(C)')
        tot['rt_uac'] += g('Retransmissions(C)')
        tot['dead'] += g('DeadCallMsgs(C)')
        tot['ooc'] += g('OutOfCallMsgs(C)')
rt = []
for f in glob.glob(os.path.join(d, '*_rtt.csv')):
    for r in csv.reader(open(f), delimiter=';'):
        if len(r) >= 3 and r[2] == '1':
            try: rt.append(float(r[1]))
            except ValueError: pass
rt.sort()
def pct(p):
    if not rt: return '-'
    return '%g' % rt[min(len(rt) - 1, int(p / 100.0 * len(rt)))]
unfinished = max(0, expected - tot['ok'] - tot['failed'])
print(tot['created'], tot['ok'], tot['failed'], unfinished, tot['rt_uac'], tot['rt_uas'],
      tot['dead'], tot['ooc'], pct(50), pct(95), pct(99), ('%g' % rt[-1]) if rt else '-')
EOF
}

# Ends one load step: measures the proxy (PROXY_PID) against the figures taken at the
# start of the step, reads the SIPp files, prints the result line and appends it to
# $RESULTS. Args: name rate count dir cpu_ticks_at_start load_at_start uac_processes what
# ("calls/s" or "REGISTER/s"). Result line: proxy rate count ok failed retrans cpu_ms
# ms_per_unit mem_MiB p50 p95 p99 max uacs load0 load1 dead ooc. Succeeds when nothing
# failed and nothing was retransmitted.
record_step() {
    local name=$1 rate=$2 count=$3 dir=$4 t0=$5 l0=$6 nuac=$7 what=$8 vcs0=${9:-}
    local pids; pids=$(pid_tree "$PROXY_PID")
    local t1; t1=$(cpu_ticks $pids)
    local vcs1; vcs1=$(voluntary_switches $pids)
    perf_stop
    local mem; mem=$(mem_kib $pids)
    local l1; l1=$(loadavg1)
    kill -0 "$PROXY_PID" 2>/dev/null || log "$name DIED during the $rate $what step (see $OUT/$name/proxy.log)"
    # created ok failed unfinished rt_uac rt_uas dead ooc p50 p95 p99 max
    set -- $(sipp_summary "$dir" "$count")
    local ok=$2 failed=$(($3 + $4)) retr=$(($5 + $6))
    local cpu_ms; cpu_ms=$(ticks_ms $((t1 - t0)))
    local per="-"
    [ "$ok" -gt 0 ] && per=$(awk -v c="$cpu_ms" -v n="$ok" 'BEGIN {printf "%.3f", c / n}')
    local ops=$ok; [ "$ops" -gt 0 ] || ops=1
    local vcs="-"; [ -n "$vcs0" ] && vcs=$(awk -v a="$vcs0" -v b="$vcs1" -v n="$ops" 'BEGIN {printf "%.2f", (b - a) / n}')
    # fields 19-26: per operation syscalls recv send epoll_wait timerfd_settime futex
    # context-switches (perf, "-" without it), voluntary context switches (/proc)
    echo "$name $rate $count $ok $failed $retr $cpu_ms $per $(awk -v k="$mem" 'BEGIN {printf "%.1f", k / 1024}') $9 ${10} ${11} ${12} $nuac $l0 $l1 $7 $8 $(perf_per_op "$dir/perf-stat.txt" "$ops") $vcs" | tee -a "$RESULTS"
    [ "$failed" -eq 0 ] && [ "$retr" -eq 0 ]
}

# The side-by-side table of a results file (rows written by record_step), one column group
# per proxy, and each proxy's highest rate without failure or retransmission.
# $1 results file, $2 proxies, $3 unit ("call", "reg"), $4 rate unit ("calls/s",
# "REGISTER/s"), $5.. the legend lines printed above the table.
print_side_by_side() {
    python3 - "$@" <<'EOF'
import sys
results, proxies, unit, rate_unit, *legend = sys.argv[1:]
rows = [l.split() for l in open(results) if l.strip()]
proxies = proxies.split()
by = {(r[0], int(r[1])): r for r in rows}
rates = sorted({int(r[1]) for r in rows})
print()
for line in legend:
    print(line)
print('| rate/s | ' + ' | '.join(f'{p}: ok / failed / retr | {p}: CPU ms/{unit} | {p}: MiB | {p}: p50/p99 ms' for p in proxies) + ' |')
print('|' + '---|' * (1 + 4 * len(proxies)))
for rate in rates:
    cells = [str(rate)]
    for p in proxies:
        r = by.get((p, rate))
        cells += ['-'] * 4 if not r else [f'{r[3]} / {r[4]} / {r[5]}', r[7], r[8], f'{r[9]} / {r[11]}']
    print('| ' + ' | '.join(cells) + ' |')
print()
if any(len(r) >= 26 for r in rows):
    print('System calls and context switches per ' + unit + ' (perf tracepoints; recv/send: datagram calls;'
          ' cs: all context switches, vcs: voluntary ones from /proc)')
    print('| rate/s | ' + ' | '.join(f'{p}: syscalls | {p}: recv / send / epoll_wait / timerfd / futex | {p}: cs / vcs' for p in proxies) + ' |')
    print('|' + '---|' * (1 + 3 * len(proxies)))
    for rate in rates:
        cells = [str(rate)]
        for p in proxies:
            r = by.get((p, rate))
            if not r or len(r) < 26:
                cells += ['-'] * 3
            else:
                cells += [r[18], ' / '.join(r[19:24]), f'{r[24]} / {r[25]}']
        print('| ' + ' | '.join(cells) + ' |')
    print()
for p in proxies:
    ok = [int(r[1]) for r in rows if r[0] == p and r[4] == '0' and r[5] == '0']
    print(f'{p}: highest zero-failure rate: {max(ok) if ok else "none"} {rate_unit}')
EOF
}

# Callgrind runs (bench/callgrind-reg.sh, bench/callgrind-calls.sh): instructions per
# operation, deterministic where the CPU times of the ladder on a shared VM are not.
# callgrind_start CFG PORT OUTDIR: sipproxyd (config CFG, run in CFG's folder) under
# `valgrind --tool=callgrind --instr-atstart=no`, dumps to OUTDIR/callgrind.out.PID.N;
# once it listens on udp/PORT (and 2 s more) the instrumentation is switched on, so
# start-up (loading users, opening the store) is not counted. Sets CG_PID.
callgrind_start() {
    local cfg=$1 port=$2 out=$3
    [ -x "$SIPPROXYD" ] || die "$SIPPROXYD missing"
    (cd "$(dirname "$cfg")" && exec valgrind --tool=callgrind --instr-atstart=no \
        --callgrind-out-file="$out/callgrind.out.%p" "$SIPPROXYD" -c "$cfg") >"$out/proxy.log" 2>&1 &
    CG_PID=$!
    wait_udp_port "$port" 120 || { tail -20 "$out/proxy.log" >&2; die "sipproxyd did not bind"; }
    sleep 2
    callgrind_control -i on "$CG_PID" >/dev/null 2>&1
}
# callgrind_dump OUTDIR LABEL: dump the counts since the last dump; prints the dump's
# file name and its total Ir ("FILE IR").
callgrind_dump() {
    local out=$1 label=$2 dump
    callgrind_control -d "$label" "$CG_PID" >/dev/null 2>&1
    sleep 1
    dump=$(ls -t "$out"/callgrind.out."$CG_PID".* | head -1)
    echo "$dump $(awk '/^summary:|^totals:/ {print $2; exit}' "$dump")"
}
# sipp_ok_failed FILE: "OK FAILED" from the last statistics screen of a SIPp -trace_screen output.
sipp_ok_failed() {
    echo "$(awk '/Successful call/ {print $NF}' "$1" | tail -1) $(awk '/Failed call/ {print $NF}' "$1" | tail -1)"
}
# per_op IR N: IR / N, rounded.
per_op() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", b ? a / b : 0}'; }

# write_bench_conf FILE PORT STORE [REGISTRAR_LINES]: the sipproxy.toml of the benches:
# one UDP listener on 127.0.0.1:PORT, workers=SIPPROXYD_WORKERS (default 2), registrar.store
# STORE, no flood limit
# (SIPp is one address sending for thousands of phones: keep the per-source counting, its
# cost is part of the figures, but never reach the limit). Append [auth] etc. after it.
write_bench_conf() {
    local file=$1 port=$2 store=$3 extra=${4:-}
    mkdir -p "$(dirname "$file")/var"
    cat >"$file" <<EOF
# generated by bench/$(basename "$0")
[server]
listen = ["udp://127.0.0.1:$port"]
domains = ["example.test"]
workers = ${SIPPROXYD_WORKERS:-2}
state_dir = "var"
log_level = "warn"

[control]
socket = "var/ctl.sock"

[registrar]
store = "$store"
$extra

[security]
flood_requests = 100000000
EOF
}

# ---- Call load through a proxy (bench/run-calls.sh, bench/run-transit.sh) ----
# SIPp UAC -> proxy -> SIPp UAS: INVITE, 100, 180, 200, ACK, BYE, 200 (AUTH=1: the INVITE
# is challenged first, bench/scenarios/uac-call-auth.xml). The functions read the
# caller's settings: OUT AUTH PORT_SIPPROXYD PORT_KAMAILIO PORT_UAS PORT_UAC PORT_REDIS
# RING_MS HOLD_MS UAC_SCENARIO UAC_LOOKUP KAM_CFG KAM_SHM_MB KAM_PKG_MB SIPPROXYCTL
# (AUTH=1 also $OUT/users.csv and $OUT/auth-users.toml from write_bench_users).

# sipproxyd's config for the call benches in folder $1: UDP on PORT_SIPPROXYD, workers=2,
# log_level warn, registrar store $2 (default memory); AUTH=1 appends the bench users.
write_calls_sipproxyd_conf() {
    local dir=$1 store=${2:-memory}
    write_bench_conf "$dir/sipproxy.toml" "$PORT_SIPPROXYD" "$store"
    if [ "$store" = redis ]; then printf '\n[redis]\nurl = "redis://127.0.0.1:%s/0"\n' "$PORT_REDIS" >>"$dir/sipproxy.toml"; fi
    if [ "$AUTH" = 1 ]; then cat "$OUT/auth-users.toml" >>"$dir/sipproxy.toml"; fi
}

# Start the proxy series $1 ("sipproxyd", "sipproxyd-<store>" or "kamailio") with its
# files under $OUT/$1. Sets PROXY_PID and PROXY_PORT (REDIS_PID for the redis store).
start_calls_proxy() {
    local name=$1
    mkdir -p "$OUT/$name"
    case $name in
        sipproxyd*)
            PROXY_PORT=$PORT_SIPPROXYD
            local store=memory
            [ "$name" != sipproxyd ] && store=${name#sipproxyd-}
            [ "$store" = redis ] && [ -z "${REDIS_PID:-}" ] && start_bench_redis
            write_calls_sipproxyd_conf "$OUT/$name" "$store"
            snapshot_sipproxyd "$OUT/$name"
            start_sipproxyd "$OUT/$name/sipproxy.toml" "$OUT/$name/proxy.log" "$PROXY_PORT"
            PROXY_PID=$SIPPROXYD_PID
            if [ "$name" != sipproxyd ]; then
                "$SIPPROXYCTL" --socket "$OUT/$name/var/ctl.sock" registration add \
                    sip:service@example.test "sip:service@127.0.0.1:$PORT_UAS" --expires 3600 \
                    >/dev/null || die "cannot register the callee at $name"
            fi ;;
        kamailio)
            PROXY_PORT=$PORT_KAMAILIO
            local kargs=(-m "$KAM_SHM_MB" -M "$KAM_PKG_MB")
            [ "$AUTH" = 1 ] && kargs+=(-A "DBURL=\"text://$OUT/kamailio-dbtext\"")
            start_kamailio "$KAM_CFG" "$OUT/$name/proxy.log" "$PROXY_PORT" "${kargs[@]}"
            PROXY_PID=$KAM_PID ;;
        *) die "unknown proxy '$name'" ;;
    esac
}

# The SIPp UAS of one step in folder $1 ($2: the step's timeout in seconds). Sets UAS_PID.
# Stop it 3.5 s after the UAC processes end (its scenario keeps a call 2 s after the
# BYE); no -m, so calls it aborted cannot make it leave early.
start_call_uas() {
    local dir=$1 tmo=$2
    (cd "$dir" && exec timeout -k 5 $((tmo + 20)) sipp -sf "$SCEN_DIR/uas-call.xml" -i 127.0.0.1 -p "$PORT_UAS" \
        -buff_size "$SIPP_BUFF" -nostdin -d "$RING_MS" -timeout "$((tmo + 10))s" -max_socket 60000 \
        -trace_stat -fd 1 -trace_err -trace_screen >uas.out 2>&1) &
    UAS_PID=$!
    wait_udp_port "$PORT_UAS" 5 || die "UAS did not start (see $dir/uas.out)"
}

# The SIPp UAC processes of one step: series $1, folder $2, proxy port $3, rate $4 calls/s,
# $5 calls in all, timeout $6 s, $7 processes sharing the rate (ports PORT_UAC, +1, ...).
# Sets UAC_PIDS; wait for them.
start_call_uacs() {
    local name=$1 dir=$2 pport=$3 rate=$4 calls=$5 tmo=$6 nuac=${7:-1} i
    local inf=() scenario=$UAC_SCENARIO ruri_host="127.0.0.1:$PORT_UAS"
    case $name in sipproxyd-*) scenario=$UAC_LOOKUP; ruri_host=example.test ;; esac
    # SIPp 3.6 signs "sip:<remote host>:<port>" unless told the Request-URI (-auth_uri);
    # the proxy checks that the digest-uri names the Request-URI (RFC 7616 3.4.6).
    [ "$AUTH" = 1 ] && inf=(-inf "$OUT/users.csv" -auth_uri "service@$ruri_host")
    UAC_PIDS=()
    for ((i = 0; i < nuac; i++)); do
        local r=$((rate / nuac)) m=$((calls / nuac))
        [ $i -eq 0 ] && { r=$((rate - (nuac - 1) * (rate / nuac))); m=$((calls - (nuac - 1) * (calls / nuac))); }
        (cd "$dir" && exec timeout -k 5 $((tmo + 10)) sipp "127.0.0.1:$PORT_UAS" -rsa "127.0.0.1:$pport" \
            -sf "$scenario" "${inf[@]}" -s service -i 127.0.0.1 -p $((PORT_UAC + i)) \
            -r "$r" -m "$m" -d "$HOLD_MS" -l 100000 -timeout "${tmo}s" -buff_size "$SIPP_BUFF" -nostdin \
            -trace_stat -fd 1 -trace_err -trace_screen -trace_rtt -rtt_freq 100 \
            >"uac$i.out" 2>&1) &
        UAC_PIDS+=($!)
    done
}

# A redis-server for the Redis location store on PORT_REDIS, without persistence, its files
# under $OUT/redis; sets REDIS_PID (the caller stops it).
start_bench_redis() {
    need redis-server
    mkdir -p "$OUT/redis"
    redis-server --port "$PORT_REDIS" --bind 127.0.0.1 --dir "$OUT/redis" --save '' \
        --appendonly no >"$OUT/redis/redis.log" 2>&1 &
    REDIS_PID=$!
    sleep 0.5
}

# The call load's settings shared by run-calls.sh and run-transit.sh (each sets its RATES and
# ports first): defaults of the environment variables both document, the UAC scenario and
# Kamailio config for AUTH, and OUT (/tmp/sipproxy-bench-$1[-auth].XXXX unless set), KAM_RUN
# and an empty RESULTS file.
call_load_setup() {
    local kind=$1
    AUTH=${AUTH:-0}
    USERS=${USERS:-10000}
    STEP_SECONDS=${STEP_SECONDS:-10}
    PROXIES=${PROXIES:-"sipproxyd kamailio"}
    HOLD_MS=${HOLD_MS:-100}
    RING_MS=${RING_MS:-20}
    STEP_PAUSE=${STEP_PAUSE:-3}
    KAM_SHM_MB=${KAM_SHM_MB:-1024}
    KAM_PKG_MB=${KAM_PKG_MB:-32}
    SIPPROXYCTL=${SIPPROXYCTL:-$(dirname "$SIPPROXYD")/sipproxyctl}
    if [ "$AUTH" = 1 ]; then
        UAC_SCENARIO="$SCEN_DIR/uac-call-auth.xml"
        KAM_CFG="$KAM_DIR/proxy-auth.cfg"
        OUT=${OUT:-$(mktemp -d "/tmp/sipproxy-bench-$kind-auth.XXXX")}
    else
        UAC_SCENARIO=${UAC_SCENARIO:-$SCEN_DIR/uac-call.xml}
        KAM_CFG="$KAM_DIR/proxy.cfg"
        OUT=${OUT:-$(mktemp -d "/tmp/sipproxy-bench-$kind.XXXX")}
    fi
    mkdir -p "$OUT"
    KAM_RUN="$OUT/kamailio-run"
    RESULTS="$OUT/results.txt"
    : >"$RESULTS"
}
