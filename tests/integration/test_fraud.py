#!/usr/bin/env python3
"""Fraud limits for authenticated users ([[fraud]], issue #12 item 7) against the real
sipproxyd.

A SIPp caller authenticating with digest calls a dial-plan route whose gateway is a SIPp
UAS: calls_per_minute lets exactly `critical` calls through and refuses the next with 403
and a reason naming the limit; the warning threshold is logged (stable key=value line) and
counted. With raw UDP callers and a raw UDP gateway: concurrent_calls refuses the call over the limit, and `show limits`
reads 0 again after calls that were answered then hung up, cancelled, busy (486), rejected
(603) and unanswered (no-answer timer, 408); a reload raises the limit live and the counts
survive it.

Environment: SIPPROXYD, SIPPROXYCTL, SIPPROXY_SOURCE (see harness.py).
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (DOMAIN, Proxy, UdpClient, digest_authorization, header,  # noqa: E402
                     new_branch, new_call_id, pick_challenge, status_of)


def limits_of(proxy, user=None):
    """show limits [USER] --json as {(user, route, scope, limit): row}."""
    args = ["show", "limits"] + ([user] if user else [])
    rows = proxy.ctl_json(*args)["limits"]
    return {(r["user"], r["route"], r["scope"], r["limit"]): r for r in rows}


def wait_for(what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


class CallsPerMinute(unittest.TestCase):
    def test_critical_trips_at_n_plus_1_and_the_warning_is_logged_at_its_threshold(self):
        gw = harness.sipp_uas_background("gw_uas.xml")
        self.addCleanup(gw.stop)
        extra = (f'[[gateways]]\nname = "carrier"\nuri = "sip:127.0.0.1:{gw.port}"\n\n'
                 '[[routes]]\nname = "intl"\nmatch = "^00"\ngateways = ["carrier"]\n\n'
                 '[[fraud]]\nuser = "*"\nroute = "intl"\n'
                 'calls_per_minute = { warning = 2, critical = 3 }\n')
        # MD5 only: SIPp answers the first challenge and knows no SHA-256.
        p = Proxy(auth=True, auth_algorithms=["MD5"], extra_toml=extra)
        self.addCleanup(p.__exit__, None, None, None)
        p.start()

        def call():
            r = harness.sipp("gw_auth_uac.xml", f"127.0.0.1:{p.port}", "-key", "ruri",
                             f"sip:0049301234@{DOMAIN}", "-key", "from", f"sip:alice@{DOMAIN}",
                             "-au", "alice", "-ap", "alice-secret", "-auth_uri",
                             f"0049301234@{DOMAIN}", timeout=20)
            self.assertEqual(r.returncode, 0, f"{r.describe()}\n{p.log_tail(20)}")
            got = [int(c) for c in re.findall(r"(?m)^FINAL (\d{3})", r.logs())]
            self.assertEqual(len(got), 1, r.describe())
            return got[0], r

        started = time.monotonic()
        self.assertEqual(call()[0], 200)
        self.assertNotIn("fraud limit", p.log())
        self.assertEqual(call()[0], 200)
        self.assertIn("fraud limit warning: user=alice route=intl scope=user "
                      "limit=calls_per_minute value=2 threshold=2 source=udp:127.0.0.1:",
                      p.log())
        self.assertEqual(call()[0], 200)
        status, r = call()
        self.assertEqual(status, 403, f"{time.monotonic() - started:.1f} s after the first call "
                         f"(a minute's window)\n{p.log_tail(20)}")
        self.assertIn("SIP/2.0 403 Forbidden: call limit reached (calls_per_minute on route intl)",
                      r.messages())
        self.assertIn("fraud limit critical: user=alice route=intl scope=user "
                      "limit=calls_per_minute value=4 threshold=3 action=refused", p.log())
        self.assertEqual(gw.received("INVITE"), 3)
        stats = p.stats()
        self.assertEqual(stats["refused.fraud"], 1)
        self.assertEqual(stats["fraud.warnings"], 2)
        rows = limits_of(p, "alice")
        self.assertEqual(rows[("alice", "intl", "user", "calls_per_minute")],
                         {"user": "alice", "route": "intl", "scope": "user",
                          "limit": "calls_per_minute", "value": 3, "warning": 2, "critical": 3})
        # The human table.
        out = p.ctl("show", "limits").stdout.splitlines()
        self.assertEqual(out[0].split(), ["USER", "ROUTE", "SCOPE", "LIMIT", "VALUE", "WARNING",
                                          "CRITICAL"])
        self.assertEqual(out[1].split(), ["alice", "intl", "user", "calls_per_minute", "3", "2",
                                          "3"])



class RawCall:
    """An authenticated call from alice by hand (UDP), to a raw UDP gateway."""

    def __init__(self, proxy, gateway, number="00491234"):
        self.proxy, self.gw = proxy, gateway
        self.caller = UdpClient()
        self.call_id = new_call_id()
        self.tag = new_call_id()[:8]
        self.ruri = f"sip:{number}@{DOMAIN}"
        self.cseq = 1
        self.to_tag = ""  # a To-tag of a dialog this proxy never set up

    def close(self):
        self.caller.close()

    def _invite(self, auth=None):
        self.branch = new_branch()
        lines = [f"INVITE {self.ruri} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{self.caller.port};branch={self.branch};rport",
                 "Max-Forwards: 70", f"From: <sip:alice@{DOMAIN}>;tag={self.tag}",
                 f"To: <{self.ruri}>{self.to_tag}", f"Call-ID: {self.call_id}",
                 f"CSeq: {self.cseq} INVITE",
                 f"Contact: <sip:alice@127.0.0.1:{self.caller.port}>"]
        if auth:
            lines.append(f"Proxy-Authorization: {auth}")
        return "\n".join(lines) + "\n\n"

    def _ack(self, response):
        """ACK for a non-2xx final (same branch, RFC 3261 17.1.1.3)."""
        self.caller.send(self.proxy.port, "\n".join([
            f"ACK {self.ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.caller.port};branch={self.branch};rport",
            "Max-Forwards: 70", f"From: <sip:alice@{DOMAIN}>;tag={self.tag}",
            f"To: {header(response, 'To')}", f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} ACK"]) + "\n\n")

    def final(self, timeout=10.0):
        """The caller's next final response (non-2xx ACKed)."""
        r = self.caller.recv_final(timeout)
        assert r, "no final response\n" + self.proxy.log_tail()
        if status_of(r) >= 300:
            self._ack(r)
        return r

    def start(self):
        """INVITE, 407, INVITE with credentials. Returns the INVITE the gateway got, or the
        caller's final response when the proxy answered itself."""
        self.caller.send(self.proxy.port, self._invite())
        r = self.final()
        assert status_of(r) == 407, r
        chal = pick_challenge(header(r, "Proxy-Authenticate", all_values=True))
        self.cseq += 1
        self.caller.send(self.proxy.port, self._invite(
            digest_authorization(chal, "alice", "alice-secret", "INVITE", self.ruri)))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = self.gw.recv(0.2)
            if m and m.startswith("INVITE ") and self.call_id in m:
                self.invite = m
                return m
            r = self.caller.recv(0.05)
            if r and status_of(r) >= 300:
                self._ack(r)
                return r
        raise AssertionError("the INVITE reached nobody\n" + self.proxy.log_tail())

    def gw_respond(self, req, status, reason, to_tag="gw1"):
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {v}" for v in header(req, "Via", all_values=True)]
        lines += [f"Record-Route: {v}" for v in header(req, "Record-Route", all_values=True)]
        to = header(req, "To")
        if ";tag=" not in to and status > 100:
            to += f";tag={to_tag}"
        lines += [f"From: {header(req, 'From')}", f"To: {to}", f"Call-ID: {header(req, 'Call-ID')}",
                  f"CSeq: {header(req, 'CSeq')}", f"Contact: <sip:gw@127.0.0.1:{self.gw.port}>"]
        self.gw.send(self.proxy.port, "\n".join(lines) + "\n\n")

    def gw_recv(self, method, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.gw.recv(max(0.05, deadline - time.monotonic()))
            if m and m.startswith(method + " ") and self.call_id in m:
                return m
        raise AssertionError(f"no {method} at the gateway\n" + self.proxy.log_tail())

    def answer_and_hang_up(self):
        self.gw_respond(self.invite, 200, "OK")
        ok = self.caller.recv_final(5)
        assert status_of(ok) == 200, ok
        to = header(ok, "To")
        target = re.search(r"<([^>]+)>", header(ok, "Contact")).group(1)
        routes = list(reversed(header(ok, "Record-Route", all_values=True)))

        def in_dialog(method, cseq):
            lines = [f"{method} {target} SIP/2.0",
                     f"Via: SIP/2.0/UDP 127.0.0.1:{self.caller.port};branch={new_branch()};rport",
                     "Max-Forwards: 70", f"From: <sip:alice@{DOMAIN}>;tag={self.tag}",
                     f"To: {to}", f"Call-ID: {self.call_id}", f"CSeq: {cseq} {method}"]
            lines += [f"Route: {r}" for r in routes]
            return "\n".join(lines) + "\n\n"

        self.caller.send(self.proxy.port, in_dialog("ACK", self.cseq))
        self.gw_recv("ACK")
        self.caller.send(self.proxy.port, in_dialog("BYE", self.cseq + 1))
        bye = self.gw_recv("BYE")
        self.gw_respond(bye, 200, "OK")
        r = self.caller.recv_final(5)
        assert status_of(r) == 200, r

    def cancel(self):
        self.caller.send(self.proxy.port, "\n".join([
            f"CANCEL {self.ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.caller.port};branch={self.branch};rport",
            "Max-Forwards: 70", f"From: <sip:alice@{DOMAIN}>;tag={self.tag}",
            f"To: <{self.ruri}>", f"Call-ID: {self.call_id}", f"CSeq: {self.cseq} CANCEL"]) + "\n\n")
        cancel = self.gw_recv("CANCEL")
        self.gw_respond(cancel, 200, "OK")
        self.gw_respond(self.invite, 487, "Request Terminated")
        # The caller gets 200 for its CANCEL and 487 for its INVITE.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            r = self.caller.recv(0.5)
            if r and status_of(r) == 487:
                self._ack(r)
                return r
        raise AssertionError("no 487 for the cancelled call\n" + self.proxy.log_tail())


class ConcurrentCalls(unittest.TestCase):
    def setUp(self):
        self.gw = UdpClient()
        self.addCleanup(self.gw.close)
        extra = (f'[[gateways]]\nname = "carrier"\nuri = "sip:127.0.0.1:{self.gw.port}"\n\n'
                 '[[routes]]\nname = "intl"\nmatch = "^00"\ngateways = ["carrier"]\n'
                 'timeout_ms = 1500\n\n'
                 '[[fraud]]\nuser = "*"\nconcurrent_calls = { warning = 2, critical = 2 }\n')
        self.p = Proxy(auth=True, extra_toml=extra)
        self.addCleanup(self.p.__exit__, None, None, None)
        self.p.start()

    def concurrent(self):
        return limits_of(self.p, "alice")[("alice", "*", "user", "concurrent_calls")]["value"]

    def assert_back_to_zero(self, what):
        self.assertTrue(wait_for(lambda: self.concurrent() == 0),
                        f"concurrent_calls not back to 0 after {what}: {self.concurrent()}\n"
                        f"{self.p.log_tail(20)}")

    def call(self):
        c = RawCall(self.p, self.gw)
        self.addCleanup(c.close)
        return c

    def test_refused_at_the_limit_and_back_to_zero_however_calls_end(self):
        a, b = self.call(), self.call()
        inv_a = a.start()
        self.assertTrue(inv_a.startswith("INVITE "), inv_a)
        a.gw_respond(inv_a, 180, "Ringing")
        inv_b = b.start()
        self.assertTrue(inv_b.startswith("INVITE "), inv_b)
        b.gw_respond(inv_b, 180, "Ringing")
        self.assertEqual(self.concurrent(), 2)
        self.assertIn("fraud limit warning: user=alice route=* scope=user "
                      "limit=concurrent_calls value=2 threshold=2", self.p.log())
        # The third at once: refused by the proxy, never at the gateway.
        c = self.call()
        r = c.start()
        self.assertEqual(status_of(r), 403, r)
        self.assertIn("Forbidden: call limit reached (concurrent_calls)", r.splitlines()[0])
        self.assertIn("fraud limit critical: user=alice route=* scope=user "
                      "limit=concurrent_calls value=3 threshold=2 action=refused", self.p.log())
        self.assertEqual(self.concurrent(), 2)
        # A To-tag of no dialog of ours is no way around the limits (the INVITE is relayed
        # for an authenticated user, and the dial plan routes it).
        t = self.call()
        t.to_tag = ";tag=made-up"
        r = t.start()
        self.assertEqual(status_of(r), 403, r)
        self.assertEqual(self.concurrent(), 2)

        # A reload raises the limit: the two calls up still count, one more fits.
        with open(self.p.config_path) as f:
            text = f.read()
        with open(self.p.config_path, "w") as f:
            f.write(text.replace("critical = 2", "critical = 3"))
        r = self.p.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("fraud: added user=* route=* scope=user concurrent_calls=2/3", r.stdout)
        self.assertEqual(limits_of(self.p, "alice")[("alice", "*", "user", "concurrent_calls")],
                         {"user": "alice", "route": "*", "scope": "user",
                          "limit": "concurrent_calls", "value": 2, "warning": 2, "critical": 3})
        c2 = self.call()
        inv = c2.start()
        self.assertTrue(inv.startswith("INVITE "), inv)
        self.assertEqual(self.concurrent(), 3)
        self.assertEqual(status_of(self.call().start()), 403)
        c2.gw_respond(inv, 486, "Busy Here")
        self.assertEqual(status_of(c2.final()), 486)
        self.assertTrue(wait_for(lambda: self.concurrent() == 2), self.p.log_tail(20))

        a.answer_and_hang_up()
        self.assertTrue(wait_for(lambda: self.concurrent() == 1), self.p.log_tail(20))
        b.cancel()
        self.assert_back_to_zero("answered+BYE and cancelled calls")

        for status, reason in ((486, "Busy Here"), (603, "Decline")):
            d = self.call()
            inv = d.start()
            self.assertTrue(inv.startswith("INVITE "), inv)
            self.assertEqual(self.concurrent(), 1)
            d.gw_respond(inv, status, reason)
            self.assertEqual(status_of(d.final()), status)
            self.assert_back_to_zero(f"a {status} call")

        # No answer: the gateway rings and stays silent; the route's timer gives up (408).
        e = self.call()
        inv = e.start()
        self.assertTrue(inv.startswith("INVITE "), inv)
        e.gw_respond(inv, 180, "Ringing")
        self.assertEqual(self.concurrent(), 1)
        cancel = e.gw_recv("CANCEL", timeout=10)
        e.gw_respond(cancel, 200, "OK")
        e.gw_respond(inv, 487, "Request Terminated")
        self.assertEqual(status_of(e.final()), 408)
        self.assert_back_to_zero("an unanswered call")

        # Calls still go through, and the count is back to zero after them.
        for _ in range(2):
            f = self.call()
            inv = f.start()
            self.assertTrue(inv.startswith("INVITE "), inv)
            f.gw_respond(inv, 486, "Busy Here")
            self.assertEqual(status_of(f.final()), 486)
        self.assert_back_to_zero("the last calls")
        self.assertEqual(self.p.stats()["refused.fraud"], 3)
        self.assertEqual(self.p.ctl_json("show", "calls")["calls"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
