#!/usr/bin/env python3
"""Memory an idle TLS connection costs sipproxyd: its RSS (VmRSS) with nothing open, then
with N TLS connections opened by a Python ssl client (handshake done, one CRLF
keep-alive ping answered on each, then idle), and the same with N plain TCP connections for comparison.
Per connection = (RSS with N - RSS before) / N. Certificates: a throwaway CA and an EC
P-256 server certificate (test_tls.py's Certificates).

    python3 bench/tls_idle_memory.py            # SIPPROXYD/SIPPROXYCTL default to build/
    N=500 python3 bench/tls_idle_memory.py
"""
import os
import resource
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from test_tls import Certificates, options_over, tls_connect, tls_toml  # noqa: E402

N = int(os.environ.get("N", "500"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def settle(pid):
    time.sleep(1.0)
    return rss_kb(pid)


def measure(proxy, open_one):
    pid = proxy.proc.pid
    # Warm up: the first connections allocate per-thread caches.
    warm = [open_one(i) for i in range(20)]
    for s in warm:
        s.close()
    before = settle(pid)
    held = [open_one(i) for i in range(N)]
    after = settle(pid)
    for s in held:
        s.close()
    return before, after


# Each connection sends one RFC 5626 CRLF ping and reads the pong: the connection is
# established and has passed its first-message deadline, and no transaction (which
# would linger 32 s) is in the figure.
def ping(s):
    s.sendall(b"\r\n\r\n")
    s.settimeout(5)
    assert s.recv(16) == b"\r\n", "no pong"
    return s


def run(kind, certs):
    """A fresh sipproxyd per kind: memory freed by one kind is not reused by the other."""
    tls_port = harness.free_port("tcp")
    proxy = harness.Proxy(auth=False, workers=1, log_level="info",
                          extra_listen=[f"tls://127.0.0.1:{tls_port}"],
                          extra_toml=tls_toml(certs)
                          + '[security]\nallow = ["127.0.0.0/8"]\n')  # no flood limit, no cap
    with proxy:
        if kind == "tls":
            return measure(proxy, lambda i: ping(tls_connect(tls_port, certs.ca)))
        return measure(proxy, lambda i: ping(socket.create_connection(("127.0.0.1", proxy.port), 5)))


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * N + 100)), hard))
    certs = Certificates()
    for kind in ("tcp", "tls"):
        before, after = run(kind, certs)
        print(f"{kind}: RSS {before} kB -> {after} kB with {N} idle connections: "
              f"{(after - before) / N:.1f} kB per connection")


if __name__ == "__main__":
    main()
