#!/usr/bin/env python3
"""Stateful proxy core under stress, against the real sipproxyd: packet loss on UDP,
1,000 concurrent calls, and a callee killed with SIGKILL in the middle of a call.

Kept short (2 shared cores): the whole file runs in well under 2 minutes. Transaction
timers are shortened (t1_ms = 100, so 64*T1 = 6.4 s) where a test waits for transactions
to end.

Environment: SIPPROXYD, SIPPROXYCTL, SIPPROXY_SOURCE (see harness.py).
"""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_proxy_core import ProxyTestCase, log_lines  # noqa: E402


class Load(ProxyTestCase):
    def test_udp_with_loss_all_calls_complete(self):
        # 10 % of the messages both SIPps send and receive are dropped: every call still
        # completes through retransmissions (the proxy's own on each hop, SIPp's on the
        # ends, 2xx retransmissions from the callee re-ACKed by the caller).
        p = self.start_proxy(auth=False)
        callee = self.uas("proxy_uas_lossy.xml", "-lost", "10", "-m", "20", trace_msg=False)
        r = self.uac("proxy_uac.xml", f"sip:service@127.0.0.1:{callee.port}",
                     "-lost", "10", "-m", "20", "-l", "20", "-r", "10", "-d", "200",
                     timeout=50, trace_msg=False)
        self.assert_sipp_ok(r)
        stat = r.stat()
        self.assertEqual(stat.get("SuccessfulCall(C)"), "20", stat)
        self.assertEqual(stat.get("FailedCall(C)"), "0", stat)
        self.assert_uas_done(callee, timeout=20)
        stat = callee.stat()
        self.assertEqual(stat.get("SuccessfulCall(C)"), "20", stat)
        # Nothing was lost for good: the proxy relayed 20 answered calls and 20 BYEs.
        stats = p.stats()
        self.assertEqual(stats["calls.answered"], 20, stats)
        self.assertEqual(stats["requests.BYE"], 20, stats)

    def test_thousand_concurrent_calls(self):
        # 1,000 calls started at 200/s, each held 9 s: all 1,000 are up at the same time
        # for about 4 s. None may fail; afterwards the transactions drain to zero.
        p = self.start_proxy(auth=False, workers=2, t1_ms=100, t4_ms=1000, log_level="info")
        callee = self.uas("proxy_uas.xml", trace_msg=False)
        peak = {"calls": 0}
        done = threading.Event()

        def watch():
            while not done.is_set():
                try:
                    peak["calls"] = max(peak["calls"], p.status()["counts"]["calls"])
                except Exception:  # noqa: BLE001 - a slow answer under load is not the test
                    pass
                done.wait(0.25)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            r = self.uac("proxy_uac.xml", f"sip:service@127.0.0.1:{callee.port}",
                         "-m", "1000", "-l", "1000", "-r", "200", "-d", "9000",
                         timeout=60, trace_msg=False)
        finally:
            done.set()
            watcher.join(5)
        self.assert_sipp_ok(r)
        stat = r.stat()
        self.assertEqual(stat.get("SuccessfulCall(C)"), "1000", stat)
        self.assertEqual(stat.get("FailedCall(C)"), "0", stat)
        self.assertEqual(peak["calls"], 1000, "show calls never had all 1,000 calls up at once")
        stats = p.stats()
        self.assertEqual(stats["requests.INVITE"], 1000, stats)
        self.assertEqual(stats["requests.BYE"], 1000, stats)
        self.assertEqual(stats["calls.answered"], 1000, stats)
        self.assertEqual(stats["calls.failed"], 0, stats)
        # BYE server transactions end 64*T1 = 6.4 s after their 200 (timer J).
        left = p.wait_transactions(0, timeout=15)
        self.assertEqual(left, 0, f"transactions still alive 15 s after the last call:\n"
                         f"{p.stats()}")
        self.assertEqual(p.status()["counts"]["calls"], 0)

    def test_callee_killed_mid_call_leaves_nothing_stuck(self):
        # The callee rings (180) and dies (SIGKILL). Timer C (5 s here) ends the call with
        # a final response to the caller; every transaction then ends (64*T1 = 6.4 s).
        p = self.start_proxy(auth=False, timer_c=5, t1_ms=100)
        callee = self.uas("proxy_uas_cancel.xml", "-m", "1")
        result = {}

        def call():
            result["r"] = self.uac("proxy_uac_fail.xml", f"sip:service@127.0.0.1:{callee.port}",
                                   timeout=30)
            result["end"] = time.monotonic()

        caller = threading.Thread(target=call, daemon=True)
        caller.start()
        deadline = time.monotonic() + 5
        while not log_lines(callee.logs(), "INVITE-VIA") and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(log_lines(callee.logs(), "INVITE-VIA"), "the callee got no INVITE")
        time.sleep(0.3)  # the 180 is on its way
        callee.kill9()
        killed = time.monotonic()
        caller.join(40)
        self.assertFalse(caller.is_alive(), "the caller never finished")
        r = result["r"]
        self.assert_sipp_ok(r)
        logs = r.logs().splitlines()
        self.assertEqual(logs[0], "PROVISIONAL 180", logs)
        self.assertIn(logs[1], ["FINAL 408", "FINAL 480", "FINAL 500", "FINAL 503"], logs)
        # Timer C runs from the last provisional (5 s), plus SIPp's ACK wait (1 s).
        self.assertLess(result["end"] - killed, 5 + 1 + 2.5, "no final response within timer C")
        self.assertEqual(p.status()["counts"]["calls"], 0)
        left = p.wait_transactions(0, timeout=40)
        self.assertEqual(left, 0, f"transactions stuck 40 s after the call ended:\n{p.stats()}\n"
                         f"{p.log_tail()}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
