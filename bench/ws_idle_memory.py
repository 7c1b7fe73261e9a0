#!/usr/bin/env python3
"""Memory per idle WebSocket connection in sipproxyd: its RSS (VmRSS, and the anonymous
part RssAnon) with no connection, then with N idle upgraded connections (ws:// and
wss://, each in a fresh daemon), each having sent one OPTIONS so it went through the
framing, the parser and back, then nothing. (RSS_N - RSS_0) / N is the figure; Kamailio's
websocket module documents ~65 kB per WSS connection.

    python3 bench/ws_idle_memory.py            # SIPPROXYD/SIPPROXYCTL default to build/
    N=2000 python3 bench/ws_idle_memory.py
"""
import os
import socket
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from test_tls import Certificates, tls_toml  # noqa: E402
from test_websocket import read_frame, upgrade_request, http_response, ws_frame  # noqa: E402

N = int(os.environ.get("N", "1000"))


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon"):
                out[k] = int(v.split()[0])
    return out


def measure(scheme, certs):
    port = harness.free_port("tcp")
    p = harness.Proxy(auth=False, log_level="warn", extra_listen=[f"{scheme}://127.0.0.1:{port}"],
                      extra_toml=tls_toml(certs) + "\n[security]\nallow = [\"127.0.0.0/8\"]\n")
    with p:
        time.sleep(1)
        before = rss(p.proc.pid)
        ctx = ssl.create_default_context(cafile=certs.ca)
        socks = []
        for i in range(N):
            s = socket.create_connection(("127.0.0.1", port), 5)
            if scheme == "wss":
                s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
            s.sendall(upgrade_request(port, "sip"))
            assert http_response(s).startswith("HTTP/1.1 101"), i
            options = (f"OPTIONS sip:127.0.0.1:{port};transport=ws SIP/2.0\r\n"
                       f"Via: SIP/2.0/{scheme.upper()} c{i}.invalid;branch=z9hG4bK-{i}\r\n"
                       "From: <sip:probe@example.test>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                       f"Call-ID: bench-{i}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                       "Content-Length: 0\r\n\r\n").encode()
            s.sendall(ws_frame(options))
            op, payload = read_frame(s)
            assert op == 1 and payload.startswith(b"SIP/2.0 200"), payload[:40]
            socks.append(s)
        time.sleep(2)
        after = rss(p.proc.pid)
        for s in socks:
            s.close()
    return {k: (after[k] - before[k]) * 1024 / N for k in before}, before, after


def main():
    certs = Certificates()
    for scheme in ("ws", "wss"):
        per, before, after = measure(scheme, certs)
        print(f"{scheme}: N={N} VmRSS {before['VmRSS']} -> {after['VmRSS']} kB, "
              f"per connection {per['VmRSS'] / 1024:.1f} kB (anonymous {per['RssAnon'] / 1024:.1f} kB)")


if __name__ == "__main__":
    main()
