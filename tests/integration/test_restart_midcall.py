#!/usr/bin/env python3
"""A call set up before sipproxyd restarts still ends cleanly after it: in-dialog
requests are routed by their Route set (the proxy's Record-Route), so the proxy needs no
memory of the dialog (issue: the proxy keeps working for in-dialog requests of calls that
started before a restart)."""
import threading
import time
import unittest

from harness import Proxy, sipp, sipp_uas_background


class RestartMidCallTest(unittest.TestCase):
    def test_bye_after_restart_reaches_callee(self):
        uas = sipp_uas_background("gw_uas.xml")
        self.addCleanup(uas.stop)
        proxy = Proxy(auth=False)
        proxy.start()
        self.addCleanup(proxy.stop)

        result = []
        ruri = f"sip:svc@127.0.0.1:{uas.port}"
        caller = threading.Thread(target=lambda: result.append(
            sipp("proxy_uac.xml", f"127.0.0.1:{proxy.port}", "-key", "ruri", ruri,
                 "-d", "4000", timeout=30)))
        caller.start()
        self.addCleanup(caller.join, 40)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            calls = proxy.ctl_json("show", "calls")["calls"]
            if calls and calls[0]["state"] == "confirmed":
                break
            time.sleep(0.1)
        else:
            self.fail("the call was not answered:\n" + proxy.log_tail())

        proxy.stop()
        proxy.start()  # same port, a new process that never saw the INVITE
        self.assertEqual(proxy.ctl_json("show", "calls")["calls"], [])

        caller.join(40)
        self.assertEqual(result[0].returncode, 0, result[0].describe() + proxy.log_tail())
        self.assertEqual(uas.received("BYE"), 1)
        stats = proxy.stats()
        self.assertEqual(stats.get("requests.BYE"), 1)  # relayed by the new process
        self.assertEqual(stats.get("requests.INVITE", 0), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
