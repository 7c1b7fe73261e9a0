#!/usr/bin/env python3
"""Call records and metrics (issue #13) against the real sipproxyd.

A known mix of calls (answered and hung up by either side, busy, cancelled, no answer,
rejected) leaves exactly one CDR line per attempt with the right outcome and ended_by;
a call's record survives a `kill -9` a second after it ended; a call up at a clean
shutdown gets ended_by "shutdown"; `show calls` shows a call until the BYE's 200 passed
back. /metrics is valid for `promtool check metrics` and its counters move.

Environment: SIPPROXYD, SIPPROXYCTL, SIPPROXY_SOURCE (see harness.py).
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (SOURCE, Proxy, UdpClient, header, new_branch, new_call_id,  # noqa: E402
                     status_of)

SDP = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"
SCHEMA = ["record_id", "call_id", "from_tag", "to_tag", "caller", "callee", "target", "route",
          "gateway", "source_ip", "source_port", "transport", "auth_user", "user_agent",
          "created", "provisional", "answered", "ended", "setup_ms", "duration_ms", "status",
          "reason", "outcome", "ended_by"]


def parse_time(text):
    # RFC 3339 UTC with milliseconds, as docs/cdr.md promises.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def read_cdrs(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def metrics_of(text):
    """{'name{labels}': value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


class RawCall:
    """A call through the proxy by hand: a UDP caller and a UDP callee, no SIPp."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.caller, self.callee = UdpClient(), UdpClient()
        self.call_id = new_call_id()
        self.ruri = f"sip:bob@127.0.0.1:{self.callee.port}"
        self.from_hdr = "<sip:alice@example.test>;tag=rawcaller"

    def close(self):
        self.caller.close()
        self.callee.close()

    def recv_request(self, client, method, timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = client.recv(max(0.05, deadline - time.monotonic()))
            if m and m.startswith(method + " "):
                return m
        return None

    def respond(self, req, status=200, reason="OK"):
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {v}" for v in header(req, "Via", all_values=True)]
        lines += [f"Record-Route: {v}" for v in header(req, "Record-Route", all_values=True)]
        to = header(req, "To")
        if ";tag=" not in to:
            to += ";tag=rawcallee"
        lines += [f"From: {header(req, 'From')}", f"To: {to}", f"Call-ID: {header(req, 'Call-ID')}",
                  f"CSeq: {header(req, 'CSeq')}", f"Contact: <sip:bob@127.0.0.1:{self.callee.port}>"]
        self.callee.send(self.proxy.port, "\n".join(lines) + "\n\n")

    def in_dialog(self, method, cseq):
        lines = [f"{method} {self.remote_target} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{self.caller.port};branch={new_branch()};rport",
                 "Max-Forwards: 70", f"From: {self.from_hdr}", f"To: {self.to_hdr}",
                 f"Call-ID: {self.call_id}", f"CSeq: {cseq} {method}"]
        lines += [f"Route: {r}" for r in self.routes]
        return "\n".join(lines) + "\n\n"

    def answer(self):
        """INVITE, 200, ACK."""
        self.caller.send(self.proxy.port, "\n".join([
            f"INVITE {self.ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.caller.port};branch={new_branch()};rport",
            "Max-Forwards: 70", f"From: {self.from_hdr}", f"To: <{self.ruri}>",
            f"Call-ID: {self.call_id}", "CSeq: 1 INVITE",
            f"Contact: <sip:alice@127.0.0.1:{self.caller.port}>", "User-Agent: raw \"test\" phone",
            "Content-Type: application/sdp"]) + "\n\n" + SDP)
        inv = self.recv_request(self.callee, "INVITE")
        assert inv, "the INVITE did not reach the callee\n" + self.proxy.log_tail()
        self.respond(inv)
        ok = self.caller.recv_final()
        assert status_of(ok) == 200, ok
        self.to_hdr = header(ok, "To")
        self.remote_target = re.search(r"<([^>]+)>", header(ok, "Contact")).group(1)
        self.routes = list(reversed(header(ok, "Record-Route", all_values=True)))
        self.caller.send(self.proxy.port, self.in_dialog("ACK", 1))
        assert self.recv_request(self.callee, "ACK"), "the ACK did not reach the callee"

    def send_bye(self):
        self.caller.send(self.proxy.port, self.in_dialog("BYE", 2))
        bye = self.recv_request(self.callee, "BYE")
        assert bye, "the BYE did not reach the callee\n" + self.proxy.log_tail()
        return bye

    def answer_bye(self, bye):
        self.respond(bye)
        r = self.caller.recv_final()
        assert status_of(r) == 200, r


class CdrTestCase(unittest.TestCase):
    def start_proxy(self, **kw):
        p = Proxy(**kw)
        self.addCleanup(p.__exit__, None, None, None)
        p.start()
        self.proxy = p
        self.cdr_path = os.path.join(p.state_dir, "cdr.jsonl")
        return p

    def uas(self, scenario, *args, **kw):
        u = harness.sipp_uas_background(scenario, *args, **kw)
        self.addCleanup(u.stop)
        return u

    def uac(self, scenario, ruri, *args, timeout=30):
        r = harness.sipp(scenario, f"127.0.0.1:{self.proxy.port}", "-key", "ruri", ruri, *args,
                         timeout=timeout)
        self.assertEqual(r.returncode, 0, f"caller failed:\n{r.describe()}\n--- sipproxyd\n"
                         f"{self.proxy.log_tail()}")
        return r

    def wait_records(self, n, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            records = read_cdrs(self.cdr_path)
            if len(records) >= n or time.monotonic() > deadline:
                return records
            time.sleep(0.1)

    def active_calls(self):
        return self.proxy.ctl_json("show", "calls")["calls"]

    def assert_record_shape(self, rec):
        self.assertEqual(list(rec.keys()), SCHEMA, rec)
        created = parse_time(rec["created"])
        points = [created]
        for k in ("provisional", "answered"):
            if rec[k] is not None:
                points.append(parse_time(rec[k]))
                self.assertGreaterEqual(points[-1], created, rec)
        ended = parse_time(rec["ended"])
        self.assertLessEqual(max(points), ended, rec)
        self.assertIsInstance(rec["setup_ms"], int)
        self.assertGreaterEqual(rec["setup_ms"], 0)
        self.assertGreaterEqual(rec["duration_ms"], 0)


class CallMix(CdrTestCase):
    def test_one_record_per_attempt_with_its_outcome(self):
        metrics_port = harness.free_port("tcp")
        p = self.start_proxy(auth=False, timer_c=2,
                             extra_toml=f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n')
        before = metrics_of(self.scrape(metrics_port))

        callee = self.uas("proxy_uas.xml", "-m", "1")  # answers; the caller hangs up
        by_caller = f"sip:caller-hangs-up@127.0.0.1:{callee.port}"
        self.uac("proxy_uac.xml", by_caller, "-d", "1500")
        callee.wait(10)

        callee = self.uas("proxy_uas_bye.xml", "-m", "1", "-d", "1500")
        by_callee = f"sip:callee-hangs-up@127.0.0.1:{callee.port}"
        self.uac("proxy_uac_recvbye.xml", by_callee)
        callee.wait(10)

        callee = self.uas("proxy_uas_busy.xml", "-m", "1")
        busy = f"sip:busy@127.0.0.1:{callee.port}"
        r = self.uac("proxy_uac_fail.xml", busy)
        self.assertIn("FINAL 486", r.logs())

        callee = self.uas("proxy_uas_cancel.xml", "-m", "1")
        cancelled = f"sip:cancelled@127.0.0.1:{callee.port}"
        self.uac("proxy_uac_cancel.xml", cancelled, "-d", "500")

        callee = self.uas("proxy_uas_cancel.xml", "-m", "1")  # rings until timer C (2 s)
        no_answer = f"sip:no-answer@127.0.0.1:{callee.port}"
        r = self.uac("proxy_uac_fail.xml", no_answer)
        self.assertIn("FINAL 408", r.logs())

        rejected = "sip:nobody@example.test"  # no such user here
        r = self.uac("proxy_uac_fail.xml", rejected)
        self.assertIn("FINAL 404", r.logs())

        records = self.wait_records(6)
        time.sleep(0.5)  # nothing more may come
        records = read_cdrs(self.cdr_path)
        by_callee_uri = {}
        for rec in records:
            self.assert_record_shape(rec)
            self.assertNotIn(rec["callee"], by_callee_uri, f"two records for one call: {records}")
            by_callee_uri[rec["callee"]] = rec
        self.assertEqual(set(by_callee_uri), {by_caller, by_callee, busy, cancelled, no_answer,
                                              rejected}, records)
        self.assertEqual(len({r["record_id"] for r in records}), 6)

        expect = {by_caller: ("answered", "caller", 200), by_callee: ("answered", "callee", 200),
                  busy: ("busy", "callee", 486), cancelled: ("cancelled", "caller", 487),
                  no_answer: ("no-answer", "proxy", 408), rejected: ("rejected", "proxy", 404)}
        for uri, (outcome, ended_by, status) in expect.items():
            rec = by_callee_uri[uri]
            self.assertEqual((rec["outcome"], rec["ended_by"], rec["status"]),
                             (outcome, ended_by, status), rec)
            self.assertEqual(rec["source_ip"], "127.0.0.1")
            self.assertEqual(rec["transport"], "udp")
            self.assertTrue(rec["caller"].startswith("sip:alice@"), rec)
        for uri in (by_caller, by_callee):
            rec = by_callee_uri[uri]
            self.assertIsNotNone(rec["answered"])
            self.assertIsNotNone(rec["to_tag"])
            self.assertEqual(rec["target"], uri)
            # SIPp holds the call 1.5 s; generous bounds for a loaded machine.
            self.assertGreaterEqual(rec["duration_ms"], 1300, rec)
            self.assertLess(rec["duration_ms"], 8000, rec)
        for uri in (busy, cancelled, no_answer):
            rec = by_callee_uri[uri]
            self.assertIsNone(rec["answered"])
            self.assertIsNotNone(rec["provisional"], rec)  # they rang
            self.assertEqual(rec["duration_ms"], 0)
        self.assertGreaterEqual(by_callee_uri[no_answer]["setup_ms"], 1800)
        self.assertEqual(self.active_calls(), [])

        text = self.scrape(metrics_port)
        self.promtool_check(text)
        after = metrics_of(text)

        def delta(name):
            return after.get(name, 0) - before.get(name, 0)

        self.assertEqual(delta('sipproxy_requests_total{method="INVITE"}'), 6)
        self.assertEqual(delta('sipproxy_call_attempts_total{outcome="answered"}'), 2)
        self.assertEqual(delta('sipproxy_call_attempts_total{outcome="busy"}'), 1)
        self.assertEqual(delta('sipproxy_call_attempts_total{outcome="rejected"}'), 1)
        self.assertEqual(delta("sipproxy_calls_started_total"), 5)
        self.assertEqual(delta("sipproxy_calls_answered_total"), 2)
        self.assertEqual(delta("sipproxy_cdr_written_total"), 6)
        self.assertEqual(delta("sipproxy_call_setup_seconds_count"), 2)
        self.assertEqual(after['sipproxy_call_setup_seconds_bucket{le="+Inf"}'],
                         after["sipproxy_call_setup_seconds_count"])
        self.assertGreaterEqual(delta("sipproxy_call_post_dial_delay_seconds_count"), 4)
        self.assertEqual(after["sipproxy_calls_active"], 0)
        self.assertEqual(after['sipproxy_build_info{version="0.1.0"}'], 1)
        # The ingress's counters and bans are exported too (nothing blocked here).
        self.assertEqual(after['sipproxy_blocked_total{reason="flood"}'], 0)
        self.assertEqual(after["sipproxy_bans_active"], 0)
        self.assertGreater(after["process_resident_memory_bytes"], 0)
        # Every INVITE's server transaction ended with a final response, timed.
        self.assertEqual(delta('sipproxy_transaction_seconds_count{method="INVITE"}'), 6)
        self.assertIn("sipproxy_register_seconds_count", after)
        self.assertIn('sipproxy_connections_open{transport="tcp"}', after)
        stats = p.stats()
        self.assertEqual(stats["cdr.written"], 6)
        self.assertEqual(stats["cdr.dropped"], 0)
        # show stats reads the same registry as /metrics (nothing moved since the scrape).
        for key, series in (("requests.INVITE", 'sipproxy_requests_total{method="INVITE"}'),
                            ("calls.started", "sipproxy_calls_started_total"),
                            ("calls.attempts.answered",
                             'sipproxy_call_attempts_total{outcome="answered"}'),
                            ("calls.setup_seconds.count", "sipproxy_call_setup_seconds_count"),
                            ("cdr.written", "sipproxy_cdr_written_total"),
                            ("tcp.connections", 'sipproxy_connections_open{transport="tcp"}'),
                            ("bans.active", "sipproxy_bans_active")):
            self.assertEqual(stats[key], after[series], key)
        self.check_dashboard_and_alerts(text)

    def check_dashboard_and_alerts(self, scraped):
        """The shipped Grafana dashboard and alert rules name only metrics sipproxyd
        exports, and the rules pass promtool's check and their own unit tests."""
        families = set(re.findall(r"^# TYPE (\S+) ", scraped, re.M))
        conf = os.path.join(SOURCE, "conf")
        with open(os.path.join(conf, "grafana", "sipproxy-dashboard.json")) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
        with open(os.path.join(conf, "prometheus", "sipproxy-alerts.yml")) as f:
            exprs.append(f.read())
        used = set()
        for e in exprs:
            used.update(re.findall(r"\b((?:sipproxy|process)_[a-z_]+)", e))
        self.assertGreater(len(used), 10)
        for name in sorted(used):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            self.assertTrue(name in families or base in families,
                            f"{name} is used by the dashboard or the alerts but not exported")
        promtool = shutil.which("promtool")
        if not promtool:
            print("promtool not installed: alert rules not checked", file=sys.stderr)
            return
        rules = os.path.join(conf, "prometheus")
        for args in (["check", "rules", "sipproxy-alerts.yml"],
                     ["test", "rules", "sipproxy-alerts_test.yml"]):
            r = subprocess.run([promtool, *args], cwd=rules, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def scrape(self, port, path="/metrics", method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            c.request(method, path)
            r = c.getresponse()
            body = r.read().decode()
            if path == "/metrics" and method == "GET":
                self.assertEqual(r.status, 200, body)
                self.assertEqual(r.getheader("Content-Type"),
                                 "text/plain; version=0.0.4; charset=utf-8")
                return body
            return r.status
        finally:
            c.close()

    def promtool_check(self, text):
        promtool = shutil.which("promtool")
        if not promtool:
            print("promtool not installed (scripts/deps.sh installs prometheus): "
                  "output not validated by promtool", file=sys.stderr)
            return
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"promtool: {r.stdout}{r.stderr}\n{text}")

    def test_metrics_endpoint_answers_only_what_it_serves(self):
        port = harness.free_port("tcp")
        self.start_proxy(auth=False, extra_toml=f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
        self.assertEqual(self.scrape(port, "/"), 404)
        self.assertEqual(self.scrape(port, "/metrics", "POST"), 405)
        # Keep-alive: two scrapes on one connection.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for _ in range(2):
            c.request("GET", "/metrics")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn("# TYPE sipproxy_requests_total counter", r.read().decode())
        c.close()
        for garbage in (b"GARBAGE\r\n\r\n", b"GET /metrics HTTP/1.1\r\n\r\n",
                        b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"a" * 10000 + b"\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(garbage)
                reply = s.recv(4096).decode(errors="replace")
                self.assertRegex(reply, r"^HTTP/1\.1 4(00|31) ", reply)
        # Still serving.
        self.assertIn("sipproxy_build_info", self.scrape(port))


class CallLifetime(CdrTestCase):
    def test_show_calls_until_the_bye_200_and_the_record_survives_kill9(self):
        p = self.start_proxy(auth=False)
        call = RawCall(p)
        self.addCleanup(call.close)
        call.answer()
        calls = self.active_calls()
        self.assertEqual(len(calls), 1, calls)
        self.assertEqual(calls[0]["state"], "confirmed")
        bye = call.send_bye()
        # The BYE passed the proxy, its 200 has not: the call is still up.
        time.sleep(0.3)
        self.assertEqual(len(self.active_calls()), 1, "a call ended by its BYE request")
        self.assertEqual(read_cdrs(self.cdr_path), [])
        call.answer_bye(bye)
        deadline = time.monotonic() + 2
        while self.active_calls() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.active_calls(), [])

        time.sleep(1.0)  # a second after the call ended ...
        p.kill9()        # ... the process dies without a chance to flush anything
        records = read_cdrs(self.cdr_path)
        self.assertEqual(len(records), 1, records)
        rec = records[0]
        self.assert_record_shape(rec)
        self.assertEqual((rec["outcome"], rec["ended_by"]), ("answered", "caller"), rec)
        self.assertEqual(rec["call_id"], call.call_id)
        self.assertEqual(rec["from_tag"], "rawcaller")
        self.assertEqual(rec["to_tag"], "rawcallee")
        self.assertEqual(rec["user_agent"], 'raw "test" phone')
        self.assertEqual(rec["source_port"], call.caller.port)

        # After the restart, records are appended to the same file.
        p.start()
        second = RawCall(p)
        self.addCleanup(second.close)
        second.answer()
        second.answer_bye(second.send_bye())
        records = self.wait_records(2)
        self.assertEqual(len(records), 2, records)
        self.assertEqual(records[0]["record_id"], rec["record_id"])
        self.assertNotEqual(records[1]["record_id"], rec["record_id"])

    def test_a_call_up_at_shutdown_gets_its_record(self):
        p = self.start_proxy(auth=False)
        call = RawCall(p)
        self.addCleanup(call.close)
        call.answer()
        time.sleep(0.3)
        self.assertEqual(p.stop(), 0)
        records = read_cdrs(self.cdr_path)
        self.assertEqual(len(records), 1, records)
        rec = records[0]
        self.assert_record_shape(rec)
        self.assertEqual((rec["outcome"], rec["ended_by"]), ("answered", "shutdown"), rec)
        self.assertGreaterEqual(rec["duration_ms"], 200, rec)

    def test_the_operator_ends_a_stuck_call(self):
        # A call whose BYE went around the proxy stays in show calls until max_call_duration;
        # `sipproxyctl call end` removes it at once, and its record says the proxy ended it.
        p = self.start_proxy(auth=False)
        call = RawCall(p)
        self.addCleanup(call.close)
        call.answer()
        calls = p.ctl_json("show", "calls")["calls"]
        self.assertEqual(len(calls), 1, calls)
        call_id = calls[0]["call_id"]
        r = p.ctl("call", "end", call_id)
        self.assertEqual((r.returncode, r.stdout), (0, f"call {call_id} ended\n"), r.stderr)
        self.assertEqual(p.ctl_json("show", "calls")["calls"], [])
        r = p.ctl("call", "end", call_id)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no call with Call-ID", r.stderr)
        self.assertEqual(p.stop(), 0)
        records = read_cdrs(self.cdr_path)
        self.assertEqual(len(records), 1, records)
        self.assertEqual((records[0]["outcome"], records[0]["ended_by"]), ("answered", "proxy"))

    def test_a_challenge_is_not_a_call_attempt(self):
        # With [auth], alice's INVITE without credentials gets 407: no record; a 403 for
        # credentials of another user is one (policy-refused).
        p = self.start_proxy(auth=True)
        with UdpClient() as c:
            c.send(p.port, "\n".join([
                "INVITE sip:bob@example.test SIP/2.0",
                f"Via: SIP/2.0/UDP 127.0.0.1:{c.port};branch={new_branch()};rport",
                "Max-Forwards: 70", "From: <sip:alice@example.test>;tag=x1",
                "To: <sip:bob@example.test>", f"Call-ID: {new_call_id()}", "CSeq: 1 INVITE",
                f"Contact: <sip:alice@127.0.0.1:{c.port}>"]) + "\n\n")
            self.assertEqual(status_of(c.recv_final()), 407)
        time.sleep(0.4)
        self.assertEqual(read_cdrs(self.cdr_path), [])


class RoutedCall(CdrTestCase):
    def test_route_gateway_and_user_in_the_record_and_logrotate_reopen(self):
        gw = self.uas("gw_uas.xml")
        extra = (f'[[gateways]]\nname = "carrier"\nuri = "sip:127.0.0.1:{gw.port}"\n\n'
                 '[[routes]]\nname = "pstn"\nmatch = "^9"\ngateways = ["carrier"]\n')
        # MD5 only: SIPp answers the first challenge and knows no SHA-256.
        p = self.start_proxy(auth=True, auth_algorithms=["MD5"], extra_toml=extra)

        def call():
            r = harness.sipp("gw_auth_uac.xml", f"127.0.0.1:{p.port}", "-key", "ruri",
                             f"sip:9123@{harness.DOMAIN}", "-key", "from",
                             f"sip:alice@{harness.DOMAIN}", "-au", "alice", "-ap", "alice-secret",
                             "-auth_uri", f"9123@{harness.DOMAIN}", timeout=20)
            self.assertEqual(r.returncode, 0, f"{r.describe()}\n{p.log_tail(20)}")

        call()
        # The 407 challenge is not an attempt: the authenticated retry is the one record.
        records = self.wait_records(1)
        time.sleep(0.3)
        records = read_cdrs(self.cdr_path)
        self.assertEqual(len(records), 1, records)
        rec = records[0]
        self.assert_record_shape(rec)
        self.assertEqual(rec["route"], "pstn")
        self.assertEqual(rec["gateway"], "carrier")
        self.assertEqual(rec["auth_user"], "alice")
        self.assertEqual(rec["callee"], f"sip:9123@{harness.DOMAIN}")
        self.assertEqual(rec["target"], f"sip:9123@127.0.0.1:{gw.port}")
        self.assertEqual(rec["outcome"], "answered")

        # logrotate: move the file away, SIGHUP; the next record goes to a new file.
        rotated = self.cdr_path + ".1"
        os.rename(self.cdr_path, rotated)
        os.kill(p.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 5
        while not os.path.exists(self.cdr_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(self.cdr_path), "SIGHUP did not reopen the CDR file")
        call()
        self.assertEqual(len(self.wait_records(1)), 1)
        self.assertEqual(len(read_cdrs(rotated)), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
