#!/usr/bin/env python3
"""sipproxyctl trace against the real sipproxyd: the whole ladder of one call of a running
SIPp load and nothing of the others (--call-id), a call picked by its source address
(--source), the human output, the session limit, and the end of a trace (Ctrl-C: exit 0,
daemon stopped: exit 3).

Environment: SIPPROXYD, SIPPROXYCTL, SIPPROXY_SOURCE (see harness.py).
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_proxy_core import ProxyTestCase  # noqa: E402

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


class TraceClient:
    """A `sipproxyctl trace` running in the background; its output collected as it comes."""

    def __init__(self, proxy, *args, json_out=True):
        self.proxy = proxy
        cmd = [harness.SIPPROXYCTL, "--socket", proxy.socket_path] + (
            ["--json"] if json_out else []) + ["trace"] + list(args)
        opened = proxy.log().count("trace: session opened")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        harness._live.append(self.proc)
        self.out = []
        self.err = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        # The session is open once the daemon says so: only then start the calls.
        deadline = time.monotonic() + 15
        while proxy.log().count("trace: session opened") <= opened:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"trace did not start: rc={self.proc.poll()}\n"
                                     f"{self.proc.stderr.read() if self.proc.poll() is not None else ''}"
                                     f"\n{proxy.log_tail()}")
            time.sleep(0.05)

    def _read(self):
        for line in self.proc.stdout:
            self.out.append(line)

    def stop(self, sig=signal.SIGINT, timeout=10):
        """Ctrl-C (unless already ended); returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            harness._kill_group(self.proc)
            self.proc.wait(5)
        self._reader.join(5)
        self.err = self.proc.stderr.read()
        return self.proc.returncode

    def events(self):
        return [json.loads(l) for l in self.out if l.strip()]


def ladder(events):
    """(direction, first word of the start line or status code) per message."""
    out = []
    for e in events:
        first = e["message"].split("\r\n", 1)[0]
        m = re.match(r"SIP/2\.0 (\d{3})", first)
        out.append((e["direction"], m.group(1) if m else first.split(" ", 1)[0]))
    return out


def in_order(expected, actual):
    """Whether `expected` is a subsequence of `actual` (retransmissions may come between)."""
    it = iter(actual)
    return all(any(step == a for a in it) for step in expected)


class Trace(ProxyTestCase):
    def trace(self, *args, **kw):
        t = TraceClient(self.proxy, *args, **kw)
        self.addCleanup(t.stop)
        return t

    def wait_log(self, text, count, timeout=10):
        deadline = time.monotonic() + timeout
        while self.proxy.log().count(text) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(self.proxy.log().count(text), count, self.proxy.log_tail())

    def test_call_id_shows_one_whole_call_of_a_load_and_nothing_else(self):
        p = self.start_proxy(auth=False, workers=2)
        callee = self.uas("proxy_uas.xml", trace_msg=False)
        wanted = "trace-5@test"
        tracing = self.trace("--call-id", wanted)
        human = self.trace("--call-id", wanted, json_out=False)
        # 12 calls at 20/s, up to 12 at once, each held 300 ms: call 5 amid the others.
        r = self.uac("proxy_uac.xml", f"sip:service@127.0.0.1:{callee.port}",
                     "-m", "12", "-l", "12", "-r", "20", "-d", "300",
                     "-cid_str", "trace-%u@test", timeout=40, trace_msg=False)
        self.assert_sipp_ok(r)
        self.assertEqual(r.stat().get("SuccessfulCall(C)"), "12", r.stat())
        # The last 200 (to the BYE) is relayed before the caller ends.
        time.sleep(0.5)
        self.assertEqual(tracing.stop(), 0, tracing.err)
        self.assertEqual(human.stop(), 0, human.err)

        events = tracing.events()
        self.assertTrue(events, "the trace showed nothing")
        self.assertEqual({e["call_id"] for e in events}, {wanted},
                         "the trace showed messages of other calls")
        steps = ladder(events)
        proxy = f"127.0.0.1:{p.port}"
        expected = [("in", "INVITE"), ("out", "INVITE"), ("in", "180"), ("out", "180"),
                    ("in", "200"), ("out", "200"), ("in", "ACK"), ("out", "ACK"),
                    ("in", "BYE"), ("out", "BYE"), ("in", "200"), ("out", "200")]
        self.assertTrue(in_order(expected, steps), f"ladder out of order or incomplete: {steps}")
        self.assertIn(("out", "100"), steps)  # the proxy's own 100 Trying
        for e in events:
            self.assertRegex(e["time"], "^" + TIME + "$")
            self.assertEqual(e["transport"], "udp")
            self.assertEqual(e["local"], proxy)
            self.assertEqual(e["size"], len(e["message"].encode()))
            self.assertIn(f"Call-ID: {wanted}\r\n", e["message"])
        first = events[0]
        caller = first["remote"]
        self.assertEqual(first["direction"], "in")
        self.assertTrue(first["message"].startswith(f"INVITE sip:service@127.0.0.1:{callee.port}"))
        # The forwarded INVITE went to the callee.
        invite_out = [e for e in events if e["direction"] == "out"
                      and e["message"].startswith("INVITE ")]
        self.assertEqual(invite_out[0]["remote"], f"127.0.0.1:{callee.port}")
        self.assertNotEqual(caller, invite_out[0]["remote"])

        # For humans: a header line per message, the message's lines, a blank line.
        text = "".join(human.out)
        headers = re.findall(rf"(?m)^{TIME}  (IN |OUT) udp (\S+) -> (\S+)  \((\d+) bytes\)$", text)
        self.assertEqual(len(headers), len(events), text[:3000])
        self.assertEqual(headers[0][0], "IN ")
        self.assertEqual(headers[0][1:3], (caller, proxy))
        self.assertIn(f"\nINVITE sip:service@127.0.0.1:{callee.port} SIP/2.0\n", text)
        self.assertIn(f"\nCall-ID: {wanted}\n", text)
        self.assertNotIn("\r", text)
        self.assertIn("tracing call_id trace-5@test (Ctrl-C to stop)", human.err)

    def test_source_shows_the_calls_from_that_network_both_ways(self):
        p = self.start_proxy(auth=False)
        callee = self.uas("proxy_uas.xml", trace_msg=False)
        tracing = self.trace("--source", "127.0.0.2/32")
        ruri = f"sip:service@127.0.0.1:{callee.port}"
        load = {}

        def run_load():
            load["r"] = self.uac("proxy_uac.xml", ruri, "-m", "6", "-l", "6", "-r", "20",
                                 "-d", "300", "-cid_str", "local-%u@test", timeout=40,
                                 trace_msg=False)

        t = threading.Thread(target=run_load, daemon=True)
        t.start()
        # SIPp takes the last -i: this caller sends from 127.0.0.2.
        r = self.uac("proxy_uac.xml", ruri, "-i", "127.0.0.2", "-cid_str", "from-two@test",
                     timeout=40, trace_msg=False)
        t.join(60)
        self.assert_sipp_ok(r)
        self.assert_sipp_ok(load["r"])
        time.sleep(0.5)
        self.assertEqual(tracing.stop(), 0, tracing.err)
        events = tracing.events()
        self.assertEqual({e["call_id"] for e in events}, {"from-two@test"}, ladder(events))
        self.assertTrue(events[0]["remote"].startswith("127.0.0.2:"), events[0])
        steps = ladder(events)
        self.assertTrue(in_order([("in", "INVITE"), ("out", "INVITE"), ("in", "200"),
                                  ("out", "200"), ("in", "BYE"), ("out", "BYE"),
                                  ("in", "200"), ("out", "200")], steps), steps)
        # Both legs: to the callee on 127.0.0.1 too.
        self.assertIn(f"127.0.0.1:{callee.port}", {e["remote"] for e in events})

    def test_udp_caller_tcp_callee_both_transports_shown(self):
        p = self.start_proxy(auth=False)
        callee = self.uas("proxy_uas_bye.xml", "-m", "1", "-d", "200", transport="t1")
        tracing = self.trace("--call-id", "tcp-leg@test")
        ruri = f"sip:service@127.0.0.1:{callee.port};transport=tcp"
        r = self.uac("proxy_uac_recvbye.xml", ruri, "-cid_str", "tcp-leg@test")
        self.assert_sipp_ok(r)
        self.assert_uas_done(callee)
        time.sleep(0.5)
        self.assertEqual(tracing.stop(), 0, tracing.err)
        events = tracing.events()
        legs = [(e["direction"], e["transport"], s) for e, (_, s) in zip(events, ladder(events))]
        self.assertTrue(in_order([("in", "udp", "INVITE"), ("out", "tcp", "INVITE"),
                                  ("in", "tcp", "200"), ("out", "udp", "200"),
                                  ("in", "udp", "ACK"), ("out", "tcp", "ACK"),
                                  ("in", "tcp", "BYE"), ("out", "udp", "BYE"),
                                  ("in", "udp", "200"), ("out", "tcp", "200")], legs), legs)
        tcp = [e for e in events if e["transport"] == "tcp"]
        self.assertEqual({e["remote"] for e in tcp}, {f"127.0.0.1:{callee.port}"})
        self.assertEqual({e["local"] for e in tcp}, {f"127.0.0.1:{p.port}"})

    def test_session_limit_ctrl_c_and_daemon_stop(self):
        p = self.start_proxy(auth=False)
        sessions = [self.trace("--call-id", f"nothing-{i}") for i in range(4)]
        # A fifth is refused, with the reason.
        r = p.ctl("trace", timeout=20)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("too many trace sessions: 4 are running", r.stderr)
        # Ctrl-C ends a trace normally; the daemon notices and frees its place.
        self.assertEqual(sessions[0].stop(), 0, sessions[0].err)
        self.wait_log("trace: session closed", 1)
        again = self.trace()
        # The other traces outlive the control socket's idle timeouts (3 s before a first
        # request, 30 s between requests would apply otherwise): still running.
        time.sleep(3.5)
        for s in sessions[1:] + [again]:
            self.assertIsNone(s.proc.poll(), s.proc.poll())
        # Everything traced meanwhile: this OPTIONS and the proxy's 200.
        with harness.UdpClient() as c:
            c.send(p.port, p.options(c.port))
            self.assertEqual(harness.status_of(c.recv(5)), 200)
        deadline = time.monotonic() + 10
        while len(again.out) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual([d for d, _ in ladder(again.events())], ["in", "out"])
        # The daemon stops: every trace ends with exit status 3.
        p.stop()
        for s in sessions[1:] + [again]:
            self.assertEqual(s.stop(timeout=10), 3, s.err)
            self.assertIn("closed the connection", s.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
