#!/usr/bin/env python3
"""What `sipproxyctl trace` costs sipproxyd: its CPU time (utime+stime) for the same SIPp
call load with nobody tracing, with a trace of a Call-ID that matches nothing (every
message is looked at, none copied), and with a trace of everything (every message copied
and written to the trace client). Runs alternate, ROUNDS times.

    python3 bench/trace_cost.py          # SIPPROXYD/SIPPROXYCTL default to build/
    CALLS=5000 RATE=1000 ROUNDS=3 python3 bench/trace_cost.py
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402

CALLS = int(os.environ.get("CALLS", "3000"))
RATE = int(os.environ.get("RATE", "500"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run(proxy, callee, trace_args):
    tracer = None
    if trace_args is not None:
        opened = proxy.log().count("trace: session opened")
        tracer = subprocess.Popen([harness.SIPPROXYCTL, "--socket", proxy.socket_path, "--json",
                                   "trace"] + trace_args, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        while proxy.log().count("trace: session opened") <= opened:
            time.sleep(0.05)
    before = cpu_seconds(proxy.proc.pid)
    r = harness.sipp("proxy_uac.xml", f"127.0.0.1:{proxy.port}", "-key", "ruri",
                     f"sip:service@127.0.0.1:{callee.port}", "-m", CALLS, "-l", CALLS,
                     "-r", RATE, "-d", 0, timeout=120, trace_msg=False)
    time.sleep(1)
    used = cpu_seconds(proxy.proc.pid) - before
    if tracer:
        tracer.terminate()
        tracer.wait(10)
    return used, "all calls ok" if r.returncode == 0 else f"SIPp failed (rc {r.returncode})"


def main():
    with harness.Proxy(auth=False, workers=2, log_level="info") as proxy:
        callee = harness.sipp_uas_background("proxy_uas.xml", trace_msg=False)
        try:
            cases = [("no trace", None), ("trace --call-id nothing", ["--call-id", "nothing"]),
                     ("trace of everything", [])]
            totals = {name: [] for name, _ in cases}
            for _ in range(ROUNDS):
                for name, args in cases:
                    used, ok = run(proxy, callee, args)
                    totals[name].append(used)
                    print(f"{name:26} {ok}, sipproxyd CPU {used:.2f} s "
                          f"({used * 1000 / CALLS:.3f} ms/call)", flush=True)
            for name, runs in totals.items():
                print(f"{name:26} mean {sum(runs) / len(runs) * 1000 / CALLS:.3f} ms/call")
        finally:
            callee.stop()


if __name__ == "__main__":
    main()
