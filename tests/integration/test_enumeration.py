#!/usr/bin/env python3
"""A scanner cannot tell configured users from unknown names (issue: abuse protection,
no enumeration): svwar, the extension scanner attackers use, finds nothing with INVITE,
OPTIONS or REGISTER, while a user who proved who she is still learns that a colleague is
not registered (480)."""
import os
import re
import subprocess
import tempfile
import unittest

from harness import (Proxy, UdpClient, crlf, digest_authorization, header, new_branch,
                     new_call_id, pick_challenge, status_of)
from test_auth import Client

USERS = [("alice", "alice-secret"), ("bob", "bob-secret"), ("carol", "carol-secret")]
NAMES = ["alice", "bob", "carol", "zed", "yves", "100", "200", "admin"]


def svwar(proxy, method, force):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(NAMES) + "\n")
        words = f.name
    try:
        cmd = ["svwar", "-m", method, "-d", words, "-p", str(proxy.port),
               # The Request-URI and From name this proxy (its random test port), as a
               # scan of a proxy on 5060 would.
               "--domain", f"127.0.0.1:{proxy.port}", "127.0.0.1"]
        if force:
            cmd.insert(1, "--force")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                           cwd=tempfile.gettempdir())
        return r.stdout + r.stderr
    finally:
        os.unlink(words)


def reported(output):
    """Extensions in svwar's result table."""
    return set(re.findall(r"^\|\s*(\S+)\s*\|\s*\w+\s*\|$", output, re.M)) - {"Extension"}


class Enumeration(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # svwar's User-Agent (friendly-scanner) is dropped and banned by default; here the
        # answers themselves are under test, so the scanner check is off.
        cls.proxy = Proxy(users=USERS, extra_toml="[security]\nscanner_user_agents = []\n")
        cls.proxy.start()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def test_svwar_invite_and_options_find_nothing(self):
        before = self.proxy.stats().get("responses.404", 0)
        for method in ("INVITE", "OPTIONS"):
            out = svwar(self.proxy, method, force=True)
            self.assertEqual(reported(out), set(), f"svwar -m {method}:\n{out[-2000:]}")
            self.assertIn("found nothing", out)
        # The proxy did answer (404 to every name, known or not): the scan was real.
        self.assertGreaterEqual(self.proxy.stats().get("responses.404", 0) - before,
                                2 * len(NAMES))

    def test_svwar_register_finds_nothing(self):
        out = svwar(self.proxy, "REGISTER", force=False)
        self.assertEqual(reported(out), set(), out[-2000:])
        self.assertIn("found nothing", out)

    def test_unauthenticated_answers_are_the_same_for_known_and_unknown(self):
        with UdpClient() as c:
            answers = {}
            for name in ("alice", "nobody"):
                c.send(self.proxy.port, crlf(
                    f"INVITE sip:{name}@example.test SIP/2.0\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{c.port};branch={new_branch()};rport\n"
                    "Max-Forwards: 70\nFrom: <sip:x@outside.test>;tag=1\n"
                    f"To: <sip:{name}@example.test>\nCall-ID: {new_call_id()}\n"
                    f"CSeq: 1 INVITE\nContact: <sip:x@127.0.0.1:{c.port}>\n"))
                final = c.recv_final(5)
                answers[name] = (status_of(final), final.split("\r\n")[0])
            self.assertEqual(answers["alice"], answers["nobody"])
            self.assertEqual(answers["alice"][0], 404)

    def test_an_authenticated_user_learns_that_a_colleague_is_not_registered(self):
        alice = Client(self.proxy, "alice")
        self.addCleanup(alice.close)

        def call(callee):
            challenge = alice.invite(callee)
            self.assertEqual(status_of(challenge), 407, challenge)
            value = pick_challenge(header(challenge, "Proxy-Authenticate", all_values=True))
            auth = digest_authorization(value, "alice", "alice-secret", "INVITE",
                                        f"sip:{callee}@example.test")
            return status_of(alice.invite(callee, proxy_authorization=auth))

        self.assertEqual(call("bob"), 480)     # configured, not registered
        self.assertEqual(call("nobody"), 404)  # unknown

if __name__ == "__main__":
    unittest.main(verbosity=2)
