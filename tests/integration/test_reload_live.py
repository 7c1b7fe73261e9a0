#!/usr/bin/env python3
"""Reload while a call is in progress, and the JSON shapes of the show commands, against a
live sipproxyd with SIPp callers and gateways.

A route is re-pointed from gateway A to gateway B by editing the file and running
`sipproxyctl reload`: the call already answered through A completes (its BYE follows the
Record-Route set), and the next call goes to B.
"""
import json
import subprocess
import sys
import threading
import time
import unittest

from harness import Proxy, sipp, sipp_uas_background

ROUTES = """
[[gateways]]
name = "gw-a"
uri = "sip:127.0.0.1:{a}"

[[gateways]]
name = "gw-b"
uri = "sip:127.0.0.1:{b}"

[[routes]]
name = "pstn"
match = "^9"
strip = 1
prefix = "+1"
gateways = ["{gw}"]
"""


class ReloadDuringCallTest(unittest.TestCase):
    def setUp(self):
        self.gw_a = sipp_uas_background("gw_uas.xml")
        self.addCleanup(self.gw_a.stop)
        self.gw_b = sipp_uas_background("gw_uas.xml")
        self.addCleanup(self.gw_b.stop)
        self.proxy = Proxy(auth=False, extra_toml=self.routes("gw-a"))
        self.proxy.start()
        self.addCleanup(self.proxy.stop)

    def routes(self, gw):
        return ROUTES.format(a=self.gw_a.port, b=self.gw_b.port, gw=gw)

    def call(self, pause_ms, result):
        ruri = f"sip:9555@127.0.0.1:{self.proxy.port}"
        result.append(sipp("proxy_uac.xml", f"127.0.0.1:{self.proxy.port}", "-key", "ruri",
                           ruri, "-d", str(pause_ms), timeout=30))

    def test_reload_repoints_route_while_call_in_progress(self):
        first = []
        t = threading.Thread(target=self.call, args=(4000, first))
        t.start()
        self.addCleanup(t.join, 40)
        # Wait until the first call is answered (the proxy lists it as confirmed).
        deadline = time.monotonic() + 10
        calls = []
        while time.monotonic() < deadline:
            calls = self.proxy.ctl_json("show", "calls")["calls"]
            if calls and calls[0]["state"] == "confirmed":
                break
            time.sleep(0.1)
        self.assertEqual(len(calls), 1, calls)
        self.assertEqual(set(calls[0]), {"call_id", "caller", "callee", "state", "duration_s"})
        self.assertEqual(calls[0]["state"], "confirmed")
        self.assertEqual(calls[0]["callee"], f"sip:9555@127.0.0.1:{self.proxy.port}")

        with open(self.proxy.config_path) as f:
            text = f.read()
        with open(self.proxy.config_path, "w") as f:
            f.write(text.replace('gateways = ["gw-a"]', 'gateways = ["gw-b"]'))
        r = self.proxy.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("routes['pstn'].gateways: [gw-a] -> [gw-b]", r.stdout)

        # The next call takes the new route while the first one is still up.
        second = []
        self.call(0, second)
        self.assertEqual(second[0].returncode, 0, second[0].describe())
        self.assertEqual(self.gw_b.received("INVITE"), 1)

        t.join(40)
        self.assertEqual(first[0].returncode, 0, first[0].describe())
        self.assertEqual(self.gw_a.received("INVITE"), 1)
        self.assertEqual(self.gw_a.received("BYE"), 1)  # the old call ended where it began
        self.assertEqual(self.gw_b.received("BYE"), 1)
        # Both INVITEs had their Request-URI rewritten by strip 1 / prefix +1.
        self.assertIn("INVITE sip:+1555@127.0.0.1", self.gw_a.logs())
        self.assertIn("INVITE sip:+1555@127.0.0.1", self.gw_b.logs())
        # Both calls are over.
        deadline = time.monotonic() + 5
        while self.proxy.ctl_json("show", "calls")["calls"] and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.proxy.ctl_json("show", "calls")["calls"], [])

    def test_show_json_shapes(self):
        routes = self.proxy.ctl_json("show", "routes")["routes"]
        self.assertEqual(routes, [{"name": "pstn", "match": "^9", "strip": 1, "prefix": "+1",
                                   "gateways": ["gw-a"], "strategy": "failover"}])
        gws = self.proxy.ctl_json("show", "gateways")["gateways"]
        self.assertEqual([g["name"] for g in gws], ["gw-a", "gw-b"])
        for g in gws:
            self.assertEqual(set(g), {"name", "uri", "state", "probing", "last_probe",
                                      "last_result"})
            self.assertEqual(g["state"], "up")
            self.assertIsNone(g["last_probe"])  # not probed
        result = []
        self.call(0, result)
        self.assertEqual(result[0].returncode, 0, result[0].describe())
        stats = self.proxy.ctl_json("show", "stats")["stats"]
        self.assertEqual(stats["requests.INVITE"], 1)
        self.assertEqual(stats["requests.BYE"], 1)
        self.assertEqual(stats["calls.answered"], 1)
        self.assertEqual(stats["calls.started"], 1)
        # The harness's start-up OPTIONS, then the INVITE and the BYE answered upstream.
        self.assertEqual(stats["responses.200"], 3)
        self.assertEqual(stats["requests.OPTIONS"], 1)
        self.assertTrue(all(isinstance(v, int) for v in stats.values()), stats)


if __name__ == "__main__":
    unittest.main(verbosity=2)
