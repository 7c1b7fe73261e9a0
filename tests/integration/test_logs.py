#!/usr/bin/env python3
"""The log lines an operator reads (issue #17 item 5) against the real sipproxyd.

An answered, a busy and a refused call each leave exactly one "call attempt" info line
with caller, callee, status, reason, outcome, target, setup time and source; the answered
call also one "call ended" line. A REGISTER that adds a binding, its refresh and its
removal leave "registration added" and "registration removed" lines, and nothing for the
refresh.

Environment: SIPPROXYD, SIPPROXYCTL, SIPPROXY_SOURCE (see harness.py).
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Proxy, status_of  # noqa: E402

FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')


def fields(text):
    return {k: v.strip('"') for k, v in FIELD.findall(text)}


def lines_of(log, what):
    """[(call-id or None, 'from ...' source, {field: value})] of the info lines `what`."""
    out = []
    pattern = re.compile(r"^\S+Z info  (?:\[([^\]]*)\] )?" + re.escape(what) +
                         r"(?: from (\S+):)?:? (.*)$")
    for line in log.splitlines():
        m = pattern.match(line)
        if m:
            out.append((m.group(1), m.group(2), fields(m.group(3))))
    return out


class LogLines(unittest.TestCase):
    def wait_for(self, proxy, what, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            found = lines_of(proxy.log(), what)
            if len(found) >= n or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def test_call_attempts_and_registrations(self):
        # info level: what an operator runs with (debug lines must not be needed).
        p = Proxy(auth=False, log_level="info")
        self.addCleanup(p.__exit__, None, None, None)
        p.start()

        def uas(scenario):
            u = harness.sipp_uas_background(scenario, "-m", "1")
            self.addCleanup(u.stop)
            return u

        def uac(scenario, ruri):
            r = harness.sipp(scenario, f"127.0.0.1:{p.port}", "-key", "ruri", ruri, timeout=30)
            self.assertEqual(r.returncode, 0, f"caller failed:\n{r.describe()}\n{p.log_tail()}")
            return r

        callee = uas("proxy_uas.xml")
        answered = f"sip:answered@127.0.0.1:{callee.port}"
        uac("proxy_uac.xml", answered)
        callee.wait(10)
        callee = uas("proxy_uas_busy.xml")
        busy = f"sip:busy@127.0.0.1:{callee.port}"
        self.assertIn("FINAL 486", uac("proxy_uac_fail.xml", busy).logs())
        refused = "sip:nobody@example.test"
        self.assertIn("FINAL 404", uac("proxy_uac_fail.xml", refused).logs())

        attempts = self.wait_for(p, "call attempt", 3)
        time.sleep(0.3)  # nothing more may come
        attempts = lines_of(p.log(), "call attempt")
        by_callee = {}
        for call_id, source, f in attempts:
            self.assertNotIn(f["callee"], by_callee, f"two lines for one attempt:\n{p.log()}")
            by_callee[f["callee"]] = (call_id, source, f)
        self.assertEqual(set(by_callee), {answered, busy, refused}, p.log())
        keys = ["status", "reason", "outcome", "caller", "callee", "target", "gateway", "route",
                "user", "setup_ms"]
        expect = {answered: ("200", "OK", "answered", answered),
                  busy: ("486", "Busy Here", "busy", busy),
                  refused: ("404", None, "rejected", "-")}
        for uri, (status, reason, outcome, target) in expect.items():
            call_id, source, f = by_callee[uri]
            self.assertEqual(list(f), keys, f)
            self.assertTrue(call_id, f)
            self.assertTrue(re.fullmatch(r"udp:127\.0\.0\.1:\d+", source), source)
            self.assertEqual((f["status"], f["outcome"], f["target"]), (status, outcome, target), f)
            if reason:
                self.assertEqual(f["reason"], reason)
            self.assertTrue(f["caller"].startswith("sip:"), f)
            self.assertRegex(f["setup_ms"], r"^\d+$")
        ended = self.wait_for(p, "call ended", 1)
        self.assertEqual(len(ended), 1, p.log())
        self.assertEqual(ended[0][2]["callee"], answered)
        self.assertIn(ended[0][2]["ended_by"], ("caller", "callee"))
        self.assertEqual(ended[0][0], by_callee[answered][0])  # the same Call-ID

        # Registrations: added, a refresh (no line), removed.
        port = harness.free_port()
        self.assertEqual(status_of(harness.register(p, "alice", "x", port)), 200)
        self.assertEqual(status_of(harness.register(p, "alice", "x", port, expires=1800)), 200)
        self.assertEqual(status_of(harness.register(p, "alice", "x", port, expires=0)), 200)
        contact = f"sip:alice@127.0.0.1:{port}"
        source = f"udp:127.0.0.1:{port}"
        added = self.wait_for(p, "registration added", 1)
        removed = self.wait_for(p, "registration removed", 1)
        self.assertEqual([f for _, _, f in added],
                         [{"aor": "alice@example.test", "contact": contact, "expires": "3600",
                           "source": source, "user_agent": "sipproxy-harness", "by": "register"}],
                         p.log())
        self.assertEqual([f for _, _, f in removed],
                         [{"aor": "alice@example.test", "contact": contact, "expires": "0",
                           "source": source, "user_agent": "sipproxy-harness", "by": "register"}],
                         p.log())
        self.assertEqual(lines_of(p.log(), "registration updated"), [])

        # The operator's changes (sipproxyctl registration add/remove) have their lines too.
        r = p.ctl("registration", "add", "sip:bob@example.test", "sip:bob@192.0.2.9:5060")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = p.ctl("registration", "remove", "sip:bob@example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        added = self.wait_for(p, "registration added", 2)
        removed = self.wait_for(p, "registration removed", 2)
        self.assertEqual(added[1][2], {"aor": "bob@example.test", "contact": "sip:bob@192.0.2.9:5060",
                                       "expires": "3600", "source": "-",
                                       "user_agent": "sipproxyctl", "by": "operator"}, p.log())
        self.assertEqual(removed[1][2], {"aor": "bob@example.test",
                                         "contact": "sip:bob@192.0.2.9:5060", "expires": "0",
                                         "source": "-", "user_agent": "sipproxyctl",
                                         "by": "operator"}, p.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
