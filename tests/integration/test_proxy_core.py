#!/usr/bin/env python3
"""Stateful proxy core against the real sipproxyd: call flows through SIPp caller and
callee, forking, and the RFC 3261 16.3 request checks.

Every test starts its own sipproxyd on a free loopback port (harness.Proxy) and asserts
exact outcomes: SIPp exit codes (0 = every call of the scenario went as written), what the
scenarios logged (request lines, Record-Route, branches) and status codes of raw requests.
Load, loss and crash tests live in test_proxy_load.py.

Environment: SIPPROXYD, SIPPROXYCTL, SIPPROXY_SOURCE (see harness.py).
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Proxy, UdpClient, header, new_branch, new_call_id, status_of  # noqa: E402


def log_lines(text, key):
    """Values of the "<key> value" lines a scenario's <log> actions wrote."""
    return [l[len(key) + 1:] for l in text.splitlines() if l.startswith(key + " ")]


class ProxyTestCase(unittest.TestCase):
    def start_proxy(self, **kw):
        p = Proxy(**kw)
        self.addCleanup(p.__exit__, None, None, None)
        p.start()
        self.proxy = p
        return p

    def uas(self, scenario, *args, **kw):
        u = harness.sipp_uas_background(scenario, *args, **kw)
        self.addCleanup(u.stop)
        return u

    def uac(self, scenario, ruri, *args, timeout=20, **kw):
        return harness.sipp(scenario, f"127.0.0.1:{self.proxy.port}", "-key", "ruri", ruri,
                            *args, timeout=timeout, **kw)

    def assert_sipp_ok(self, result, what="caller"):
        self.assertEqual(result.returncode, 0, f"{what} failed:\n{result.describe()}\n"
                         f"--- sipproxyd\n{self.proxy.log_tail()}")

    def assert_uas_done(self, uas, what="callee", timeout=15):
        rc = uas.wait(timeout)
        self.assertEqual(rc, 0, f"{what} did not finish its call: rc={rc}\n{uas.describe()}\n"
                         f"--- sipproxyd\n{self.proxy.log_tail()}")

    def request(self, method, ruri, client, extra=(), max_forwards=70, call_id=True,
                body=""):
        lines = [f"{method} {ruri} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{client.port};branch={new_branch()};rport",
                 f"Max-Forwards: {max_forwards}",
                 "From: <sip:alice@example.test>;tag=a1b2c3",
                 f"To: <{ruri}>"]
        if call_id:
            lines.append(f"Call-ID: {new_call_id()}")
        lines += [f"CSeq: 1 {method}", f"Contact: <sip:alice@127.0.0.1:{client.port}>"]
        lines += list(extra)
        return "\n".join(lines) + "\n\n" + body

    def rr_of(self, port, transport=None):
        """A regex for the proxy's Record-Route value: its address, ;lr and the dialog
        token that lets in-dialog requests through (issue #11)."""
        return (re.escape(f"<sip:127.0.0.1:{port}" + (f";transport={transport}" if transport else "")
                          + ";lr;dlg=") + r"[A-Za-z0-9_-]{16}>")


class CallFlows(ProxyTestCase):
    def test_basic_call_with_record_route(self):
        p = self.start_proxy(auth=False)
        callee = self.uas("proxy_uas.xml", "-m", "1")
        ruri = f"sip:service@127.0.0.1:{callee.port}"
        r = self.uac("proxy_uac.xml", ruri)
        self.assert_sipp_ok(r)
        self.assert_uas_done(callee)
        # The callee got the caller's Request-URI unchanged and exactly one Record-Route,
        # the proxy's own UDP address with ;lr (RFC 3261 16.6 step 4).
        logs = callee.logs()
        self.assertEqual(log_lines(logs, "INVITE"), [f"INVITE {ruri}"])
        rr = log_lines(logs, "INVITE-RR")
        self.assertEqual(len(rr), 1, rr)
        self.assertRegex(rr[0], "^" + self.rr_of(p.port) + "$")
        # The caller saw it in the 200 and the in-dialog BYE came through the proxy to the
        # callee's Contact.
        self.assertEqual(log_lines(r.logs(), "200-RR"), [f"Record-Route: {rr[0]}"])
        self.assertEqual(log_lines(logs, "BYE"),
                         [f"BYE sip:callee@127.0.0.1:{callee.port};transport=UDP"])
        stats = p.stats()
        self.assertEqual(stats["requests.INVITE"], 1)
        self.assertEqual(stats["requests.BYE"], 1)
        self.assertEqual(stats["calls.answered"], 1)
        self.assertEqual(stats["calls.failed"], 0)

    def test_cancel_before_answer(self):
        p = self.start_proxy(auth=False)
        callee = self.uas("proxy_uas_cancel.xml", "-m", "1")
        r = self.uac("proxy_uac_cancel.xml", f"sip:service@127.0.0.1:{callee.port}", "-d", "300")
        self.assert_sipp_ok(r)
        # The caller got 200 for its CANCEL and 487 for its INVITE (checked by CSeq).
        self.assertEqual(r.logs().splitlines(), ["200 for CANCEL", "487 for INVITE"])
        self.assert_uas_done(callee)
        logs = callee.logs()
        inv = log_lines(logs, "INVITE-BRANCH")
        # The proxy's CANCEL has the branch of the INVITE it cancels (RFC 3261 9.1), and
        # the proxy ACKed the 487 on that hop with the same branch (17.1.1.3).
        self.assertEqual(len(inv), 1)
        self.assertEqual(log_lines(logs, "CANCEL"), inv)
        self.assertEqual(log_lines(logs, "ACK-BRANCH"), inv)
        self.assertEqual(log_lines(logs, "ACK-CSEQ"), ["1 ACK"])
        stats = p.stats()
        self.assertEqual(stats["calls.failed"], 1)
        self.assertEqual(stats["responses.487"], 1)  # the callee's, forwarded

    def test_stats_count_cancel_requests(self):
        # show stats: requests.<METHOD> counts every request received; a CANCEL is
        # answered in the transaction layer and must be counted as well.
        p = self.start_proxy(auth=False)
        callee = self.uas("proxy_uas_cancel.xml", "-m", "1")
        r = self.uac("proxy_uac_cancel.xml", f"sip:service@127.0.0.1:{callee.port}", "-d", "100")
        self.assert_sipp_ok(r)
        self.assert_uas_done(callee)
        stats = p.stats()
        self.assertEqual(stats["requests.INVITE"], 1, stats)
        self.assertEqual(stats.get("requests.CANCEL"), 1, stats)

    def test_busy_reaches_caller_and_is_acked_hop_by_hop(self):
        p = self.start_proxy(auth=False)
        callee = self.uas("proxy_uas_busy.xml", "-m", "1")
        r = self.uac("proxy_uac_fail.xml", f"sip:service@127.0.0.1:{callee.port}")
        self.assert_sipp_ok(r)
        self.assertEqual(r.logs().splitlines(), ["PROVISIONAL 180", "FINAL 486"])
        self.assert_uas_done(callee)
        logs = callee.logs()
        inv = log_lines(logs, "INVITE-BRANCH")
        self.assertEqual(len(inv), 1)
        self.assertEqual(log_lines(logs, "ACK-BRANCH"), inv)
        self.assertEqual(log_lines(logs, "ACK-CSEQ"), ["1 ACK"])
        stats = p.stats()
        self.assertEqual(stats["calls.failed"], 1)
        self.assertEqual(stats["calls.answered"], 0)

    def test_udp_caller_to_tcp_callee_and_back(self):
        p = self.start_proxy(auth=False)
        callee = self.uas("proxy_uas_bye.xml", "-m", "1", "-d", "200", transport="t1")
        ruri = f"sip:service@127.0.0.1:{callee.port};transport=tcp"
        r = self.uac("proxy_uac_recvbye.xml", ruri)
        self.assert_sipp_ok(r)
        self.assert_uas_done(callee)
        logs = callee.logs()
        self.assertEqual(log_lines(logs, "INVITE"), [f"INVITE {ruri}"])
        # Double Record-Route (RFC 5658): the TCP side first (the callee's hop), then UDP.
        # Both carry the same dialog token.
        rr = log_lines(logs, "INVITE-RR")
        self.assertEqual(len(rr), 1, rr)
        self.assertRegex(rr[0], f"^Record-Route: {self.rr_of(p.port, 'tcp')}, {self.rr_of(p.port)}$")
        tokens = re.findall(r"dlg=([^>]+)>", rr[0])
        self.assertEqual(len(set(tokens)), 1, tokens)
        vias = log_lines(logs, "INVITE-VIA")[0]
        self.assertTrue(vias.startswith(f"Via: SIP/2.0/TCP 127.0.0.1:{p.port};branch=z9hG4bK"),
                        vias)
        # The callee's BYE (sent over its TCP connection) reached the caller over UDP,
        # addressed to the caller's Contact, with the proxy's UDP Via on top.
        caller_logs = r.logs()
        self.assertEqual(log_lines(caller_logs, "BYE"), [f"BYE sip:alice@127.0.0.1:{r.port};transport=UDP"])
        bye_via = log_lines(caller_logs, "BYE-VIA")[0].strip()
        self.assertTrue(bye_via.startswith(f"SIP/2.0/UDP 127.0.0.1:{p.port};branch=z9hG4bK"),
                        bye_via)


class Forking(ProxyTestCase):
    def register(self, contact_port, q=None):
        resp = harness.register(self.proxy, "bob", "bob-secret", contact_port, q=q)
        self.assertEqual(status_of(resp), 200, resp)

    def test_parallel_fork_answer_cancels_other_branch(self):
        self.start_proxy(auth=True, trusted=["127.0.0.0/8"])
        port_a, port_b = harness.free_port(), harness.free_port()
        self.register(port_a)
        self.register(port_b)
        answering = self.uas("proxy_uas.xml", "-m", "1", "-d", "800", port=port_a)
        ringing = self.uas("proxy_uas_cancel.xml", "-m", "1", port=port_b)
        r = self.uac("proxy_uac.xml", "sip:bob@example.test")
        self.assert_sipp_ok(r)
        self.assert_uas_done(answering, "answering contact")
        self.assert_uas_done(ringing, "ringing contact")
        # Both contacts got the INVITE at once, to their registered contact URIs.
        self.assertEqual(log_lines(answering.logs(), "INVITE"),
                         [f"INVITE sip:bob@127.0.0.1:{port_a}"])
        self.assertEqual(log_lines(ringing.logs(), "INVITE"),
                         [f"INVITE sip:bob@127.0.0.1:{port_b}"])
        # The ringing one was cancelled (RFC 3261 16.7 step 10) on its own branch and its
        # 487 was ACKed.
        inv = log_lines(ringing.logs(), "INVITE-BRANCH")
        self.assertEqual(log_lines(ringing.logs(), "CANCEL"), inv)
        self.assertEqual(log_lines(ringing.logs(), "ACK-BRANCH"), inv)
        # The BYE went to the contact that answered.
        self.assertEqual(log_lines(answering.logs(), "BYE"),
                         [f"BYE sip:callee@127.0.0.1:{port_a};transport=UDP"])

    def test_sequential_fork_by_q_value_after_failure(self):
        p = self.start_proxy(auth=True, trusted=["127.0.0.0/8"])
        port_a, port_b = harness.free_port(), harness.free_port()
        self.register(port_a, q="1.0")
        self.register(port_b, q="0.5")
        regs = p.ctl_json("show", "registrations")["registrations"]
        self.assertEqual(sorted((x["contact"], x["q"]) for x in regs),
                         sorted([(f"sip:bob@127.0.0.1:{port_a}", 1.0),
                                 (f"sip:bob@127.0.0.1:{port_b}", 0.5)]))
        first = self.uas("proxy_uas_480.xml", "-m", "1", port=port_a)
        second = self.uas("proxy_uas.xml", "-m", "1", port=port_b)
        r = self.uac("proxy_uac.xml", "sip:bob@example.test")
        self.assert_sipp_ok(r)
        self.assert_uas_done(first, "q=1.0 contact (480)")
        self.assert_uas_done(second, "q=0.5 contact (answers)")
        self.assertEqual(log_lines(first.logs(), "INVITE"), [f"INVITE sip:bob@127.0.0.1:{port_a}"])
        self.assertEqual(log_lines(second.logs(), "INVITE"), [f"INVITE sip:bob@127.0.0.1:{port_b}"])
        inv = log_lines(first.logs(), "INVITE-BRANCH")
        self.assertEqual(log_lines(first.logs(), "ACK-BRANCH"), inv)  # the 480 was ACKed
        self.assertEqual(log_lines(second.logs(), "BYE"),
                         [f"BYE sip:callee@127.0.0.1:{port_b};transport=UDP"])
        self.assertEqual(p.stats()["calls.answered"], 1)

    def test_sequential_fork_no_answer_tries_next(self):
        # transaction.fork_timeout: the q=1.0 contact rings for 2 s without answering, is
        # CANCELled, and the q=0.5 contact answers.
        p = self.start_proxy(auth=True, trusted=["127.0.0.0/8"], transaction_toml="fork_timeout = 2")
        port_a, port_b = harness.free_port(), harness.free_port()
        self.register(port_a, q="1.0")
        self.register(port_b, q="0.5")
        first = self.uas("proxy_uas_cancel.xml", "-m", "1", port=port_a)
        second = self.uas("proxy_uas.xml", "-m", "1", port=port_b)
        started = time.monotonic()
        r = self.uac("proxy_uac.xml", "sip:bob@example.test")
        elapsed = time.monotonic() - started
        self.assert_sipp_ok(r)
        self.assert_uas_done(first, "q=1.0 contact (rings, then CANCEL)")
        self.assert_uas_done(second, "q=0.5 contact (answers)")
        self.assertEqual(first.received("CANCEL"), 1)
        self.assertEqual(second.received("INVITE"), 1)
        self.assertGreaterEqual(elapsed, 2.0)
        self.assertLess(elapsed, 10.0)
        self.assertEqual(p.stats()["calls.answered"], 1)


class RequestChecks(ProxyTestCase):
    """RFC 3261 16.3 request validation, with hand-made requests on a raw UDP socket."""

    def exchange(self, msg, client):
        client.send(self.proxy.port, msg)
        resp = client.recv_final(5)
        self.assertIsNotNone(resp, "no final response\n" + self.proxy.log_tail())
        return resp

    def test_max_forwards_zero_invite_is_483(self):
        self.start_proxy(auth=False)
        with UdpClient() as target, UdpClient() as c:
            resp = self.exchange(self.request("INVITE", f"sip:svc@127.0.0.1:{target.port}", c,
                                              max_forwards=0), c)
            self.assertEqual(resp.split("\r\n")[0], "SIP/2.0 483 Too Many Hops")
            self.assertIsNone(target.recv(0.5), "the INVITE was forwarded")

    def test_max_forwards_zero_options_answered_by_proxy(self):
        self.start_proxy(auth=False)
        with UdpClient() as target, UdpClient() as c:
            # Addressed beyond the proxy: with Max-Forwards 0 the proxy answers it itself
            # (RFC 3261 16.3 step 3) and nothing reaches the target.
            resp = self.exchange(self.request("OPTIONS", f"sip:svc@127.0.0.1:{target.port}", c,
                                              max_forwards=0), c)
            self.assertEqual(status_of(resp), 200, resp)
            self.assertIn("INVITE", header(resp, "Allow") or "", resp)
            self.assertIsNone(target.recv(0.5), "the OPTIONS was forwarded")
            # And addressed to the proxy itself.
            resp = self.exchange(self.request("OPTIONS", f"sip:127.0.0.1:{self.proxy.port}", c,
                                              max_forwards=0), c)
            self.assertEqual(status_of(resp), 200, resp)

    def test_loop_is_482(self):
        # A route whose gateway is the proxy itself: the INVITE comes back with the
        # proxy's own Via and an unchanged Request-URI (RFC 3261 16.3 step 4).
        extra = ('[[gateways]]\nname = "self"\nuri = "sip:127.0.0.1:{proxy_port}"\n\n'
                 '[[routes]]\nname = "loop"\nmatch = "^loop"\ngateways = ["self"]\n')
        p = self.start_proxy(auth=False, extra_toml=extra)
        with UdpClient() as c:
            resp = self.exchange(self.request("INVITE", f"sip:loop@127.0.0.1:{p.port}", c), c)
            self.assertEqual(resp.split("\r\n")[0], "SIP/2.0 482 Loop Detected", resp)
            # Only the caller's Via is left in what reaches the caller.
            self.assertEqual(len(header(resp, "Via", all_values=True)), 1, resp)
            # ACK the 482 (same branch as the INVITE: it is the same transaction).
            via = header(resp, "Via")
            c.send(p.port, f"ACK sip:loop@127.0.0.1:{p.port} SIP/2.0\nVia: {via}\n"
                           f"Max-Forwards: 70\nFrom: {header(resp, 'From')}\nTo: {header(resp, 'To')}\n"
                           f"Call-ID: {header(resp, 'Call-ID')}\nCSeq: 1 ACK\n\n")
        stats = p.stats()
        # One 482 from the second pass (to the first) and the one forwarded to the caller.
        self.assertEqual(stats.get("responses.482"), 2, stats)
        self.assertEqual(stats.get("requests.INVITE"), 2, stats)

    def test_loop_of_non_invite_is_482(self):
        extra = ('[[gateways]]\nname = "self"\nuri = "sip:127.0.0.1:{proxy_port}"\n\n'
                 '[[routes]]\nname = "loop"\nmatch = "^loop"\ngateways = ["self"]\n')
        p = self.start_proxy(auth=False, extra_toml=extra)
        with UdpClient() as c:
            resp = self.exchange(self.request("MESSAGE", f"sip:loop@127.0.0.1:{p.port}", c,
                                              extra=["Content-Type: text/plain"], body="hi"), c)
            self.assertEqual(resp.split("\r\n")[0], "SIP/2.0 482 Loop Detected", resp)

    def test_unknown_proxy_require_is_420_with_unsupported(self):
        self.start_proxy(auth=False)
        with UdpClient() as target, UdpClient() as c:
            resp = self.exchange(self.request("INVITE", f"sip:svc@127.0.0.1:{target.port}", c,
                                              extra=["Proxy-Require: foo, bar"]), c)
            self.assertEqual(resp.split("\r\n")[0], "SIP/2.0 420 Bad Extension", resp)
            self.assertEqual(header(resp, "Unsupported"), "foo, bar", resp)
            self.assertIsNone(target.recv(0.3), "the INVITE was forwarded")

    def test_missing_call_id_is_400(self):
        self.start_proxy(auth=False)
        with UdpClient() as target, UdpClient() as c:
            c.send(self.proxy.port, self.request("INVITE", f"sip:svc@127.0.0.1:{target.port}", c,
                                                 call_id=False))
            resp = c.recv(3)
            self.assertIsNotNone(resp, self.proxy.log_tail())
            self.assertEqual(resp.split("\r\n")[0], "SIP/2.0 400 Missing Call-ID", resp)
            self.assertIsNone(target.recv(0.3), "the INVITE was forwarded")
        self.assertEqual(self.proxy.stats()["messages.parse_errors"], 1)


class ResponseHandling(ProxyTestCase):
    """Downstream responses handled by hand, with a raw UDP callee."""

    def test_response_without_upstream_via_is_not_forwarded(self):
        # RFC 3261 16.7 step 3: after the proxy removes its own Via, a response with no
        # Via left was meant for the proxy and MUST NOT be forwarded.
        p = self.start_proxy(auth=False)
        with UdpClient() as callee, UdpClient() as caller:
            ruri = f"sip:svc@127.0.0.1:{callee.port}"
            caller.send(p.port, self.request("INVITE", ruri, caller))
            inv = callee.recv(3)
            self.assertIsNotNone(inv, p.log_tail())
            vias = header(inv, "Via", all_values=True)
            self.assertEqual(len(vias), 2, inv)
            common = (f"From: {header(inv, 'From')}\nTo: {header(inv, 'To')};tag=cc11\n"
                      f"Call-ID: {header(inv, 'Call-ID')}\nCSeq: {header(inv, 'CSeq')}\n")
            # A broken 180 that carries only the proxy's Via ...
            callee.send(p.port, f"SIP/2.0 180 Ringing\nVia: {vias[0]}\n{common}\n")
            # ... then a correct 486 with both.
            callee.send(p.port, f"SIP/2.0 486 Busy Here\nVia: {vias[0]}\nVia: {vias[1]}\n{common}\n")
            got = []
            while True:
                m = caller.recv(1.0)
                if m is None:
                    break
                got.append(m)
            statuses = [status_of(m) for m in got]
            self.assertIn(486, statuses, got)
            for m in got:
                self.assertEqual(len(header(m, "Via", all_values=True)), 1,
                                 "a response without the caller's Via was forwarded:\n" + m)
            self.assertNotIn(180, statuses, got)


if __name__ == "__main__":
    unittest.main(verbosity=2)
