#!/usr/bin/env python3
"""Digest authentication (RFC 3261 22, RFC 7616, RFC 8760) against a real sipproxyd.

REGISTER is challenged with 401 and two WWW-Authenticate (SHA-256 first, then MD5); an
out-of-dialog INVITE from a local user with 407 and Proxy-Authenticate. Wrong passwords are
challenged again and counted (auth.failures), the authenticated user must be the To (REGISTER)
or From (INVITE) user, and expired or replayed nonces get stale=true.

Run: SIPPROXYD=... SIPPROXYCTL=... python3 test_auth.py   (cwd tests/integration)
"""
import re
import secrets
import time
import unittest

from harness import Proxy, edit_config, free_port, register
from harness import UdpClient, crlf, digest_authorization, header, status_of

DOMAIN = "example.test"


def challenge_params(value):
    """'Digest realm="x", nonce="y", ...' -> ("Digest", {"realm": "x", ...})."""
    scheme, _, rest = value.partition(" ")
    return scheme, {k.lower(): v.strip('"')
                    for k, v in re.findall(r'([\w-]+)\s*=\s*("[^"]*"|[^,\s]+)', rest)}


def register_credentials(challenge, user, password, **kw):
    """Authorization for a REGISTER to this domain, answering `challenge`."""
    return digest_authorization(challenge, user, password, "REGISTER", f"sip:{DOMAIN}", **kw)


def by_algorithm(values):
    """Challenge header values keyed by their algorithm."""
    return {challenge_params(v)[1]["algorithm"]: v for v in values}


class Client:
    """One SIP UA on a UDP socket of its own: REGISTERs (and INVITEs) with full control of
    the credentials, one Call-ID per client and increasing CSeq."""

    def __init__(self, proxy, user):
        self.proxy, self.user = proxy, user
        self.udp = UdpClient()
        self.port = self.udp.port
        self.call_id = secrets.token_hex(8) + "@127.0.0.1"
        self.tag = secrets.token_hex(4)
        self.cseq = 0

    def close(self):
        self.udp.close()

    def register(self, authorization=None, to_user=None, expires=3600, contact=None):
        self.cseq += 1
        to_user = to_user or self.user
        contact = contact or f"<sip:{self.user}@127.0.0.1:{self.port}>"
        lines = [f"REGISTER sip:{DOMAIN} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(8)};rport",
                 "Max-Forwards: 70",
                 f"From: <sip:{to_user}@{DOMAIN}>;tag={self.tag}",
                 f"To: <sip:{to_user}@{DOMAIN}>",
                 f"Call-ID: {self.call_id}",
                 f"CSeq: {self.cseq} REGISTER",
                 f"Contact: {contact}",
                 f"Expires: {expires}"]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        self.udp.send(self.proxy.port, "\n".join(lines) + "\n\n")
        return self.udp.recv_final(3.0)

    def invite(self, callee, from_user=None, proxy_authorization=None):
        """An out-of-dialog INVITE to sip:callee@example.test; returns the final response
        (an ACK is sent for a non-2xx final response, as a UAC must)."""
        self.cseq += 1
        from_user = from_user or self.user
        branch = f"z9hG4bK{secrets.token_hex(8)}"
        body = ("v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
                "m=audio 40000 RTP/AVP 0\n")
        lines = [f"INVITE sip:{callee}@{DOMAIN} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport",
                 "Max-Forwards: 70",
                 f"From: <sip:{from_user}@{DOMAIN}>;tag={self.tag}",
                 f"To: <sip:{callee}@{DOMAIN}>",
                 f"Call-ID: {self.call_id}",
                 f"CSeq: {self.cseq} INVITE",
                 f"Contact: <sip:{self.user}@127.0.0.1:{self.port}>",
                 "Content-Type: application/sdp"]
        if proxy_authorization:
            lines.append(f"Proxy-Authorization: {proxy_authorization}")
        self.udp.send(self.proxy.port, "\n".join(lines) + "\n\n" + body)
        resp = self.udp.recv_final(3.0)
        if resp is not None and status_of(resp) >= 300:
            to = header(resp, "To")
            self.udp.send(self.proxy.port,
                          f"ACK sip:{callee}@{DOMAIN} SIP/2.0\n"
                          f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport\n"
                          "Max-Forwards: 70\n"
                          f"From: <sip:{from_user}@{DOMAIN}>;tag={self.tag}\n"
                          f"To: {to}\n"
                          f"Call-ID: {self.call_id}\n"
                          f"CSeq: {self.cseq} ACK\n\n")
        return resp


class AuthTestCase(unittest.TestCase):
    nonce_ttl = None  # seconds; None = the daemon's default

    def setUp(self):
        self.proxy = Proxy(log_level="debug")
        if self.nonce_ttl is not None:
            edit_config(self.proxy.config_path, "auth", nonce_ttl=self.nonce_ttl)
        self.proxy.start()
        self.addCleanup(self.proxy.stop)

    def client(self, user):
        c = Client(self.proxy, user)
        self.addCleanup(c.close)
        return c

    def failures(self):
        return self.proxy.stats().get("auth.failures", 0)

    def bindings(self, aor):
        return self.proxy.ctl_json("show", "registrations", aor)["registrations"]

    def challenge(self, client, **kw):
        """REGISTER without credentials; assert the 401 and return its challenges by
        algorithm."""
        r = client.register(**kw)
        self.assertEqual(status_of(r), 401, r)
        return by_algorithm(header(r, "WWW-Authenticate", all_values=True))

    def describe(self, resp):
        return f"{resp}\n--- daemon log tail\n{self.proxy.log_tail(20)}"


class RegisterChallengeTest(AuthTestCase):

    def test_register_without_credentials_gets_two_challenges_sha256_first(self):
        c = self.client("alice")
        r = c.register()
        self.assertEqual(status_of(r), 401, r)
        self.assertTrue(r.startswith("SIP/2.0 401 Unauthorized\r\n"), r)
        values = header(r, "WWW-Authenticate", all_values=True)
        self.assertEqual(len(values), 2, r)
        self.assertIsNone(header(r, "Proxy-Authenticate"), r)
        parsed = [challenge_params(v) for v in values]
        self.assertEqual([p["algorithm"] for _, p in parsed], ["SHA-256", "MD5"], r)
        for scheme, p in parsed:
            self.assertEqual(scheme, "Digest")
            self.assertEqual(p["realm"], DOMAIN)
            self.assertEqual(p["qop"], "auth")
            self.assertNotIn("stale", p)
            self.assertTrue(p.get("opaque"), r)
            self.assertGreaterEqual(len(p["nonce"]), 16, r)
        self.assertEqual(parsed[0][1]["nonce"], parsed[1][1]["nonce"], "one nonce for both")
        self.assertEqual(parsed[0][1]["opaque"], parsed[1][1]["opaque"])
        # A challenge changes nothing.
        self.assertEqual(self.bindings("sip:alice@example.test"), [])

    def test_every_challenge_has_a_fresh_nonce(self):
        c = self.client("alice")
        n1 = challenge_params(self.challenge(c)["SHA-256"])[1]["nonce"]
        n2 = challenge_params(self.challenge(c)["SHA-256"])[1]["nonce"]
        self.assertNotEqual(n1, n2)

    def _register_with(self, algorithm):
        c = self.client("alice")
        chal = self.challenge(c)[algorithm]
        auth = register_credentials(chal, "alice", "alice-secret")
        self.assertIn(f"algorithm={algorithm}", auth)
        r = c.register(authorization=auth)
        self.assertEqual(status_of(r), 200, self.describe(r))
        self.assertEqual(header(r, "Contact", all_values=True),
                         [f"<sip:alice@127.0.0.1:{c.port}>;expires=3600"], r)
        self.assertIsNone(header(r, "WWW-Authenticate"), r)
        regs = self.bindings("sip:alice@example.test")
        self.assertEqual([b["contact"] for b in regs], [f"sip:alice@127.0.0.1:{c.port}"])

    def test_sha256_credentials_register(self):
        self._register_with("SHA-256")

    def test_md5_credentials_register(self):
        self._register_with("MD5")

    def test_harness_register_succeeds(self):
        r = register(self.proxy, "bob", "bob-secret", free_port())
        self.assertEqual(status_of(r), 200, self.describe(r))
        self.assertEqual(self.proxy.stats().get("auth.successes"), 1)

    def test_wrong_password_is_challenged_again_and_counted(self):
        before = self.failures()
        c = self.client("alice")
        chal = self.challenge(c)["SHA-256"]
        bad = register_credentials(chal, "alice", "not-the-secret")
        r = c.register(authorization=bad)
        self.assertEqual(status_of(r), 401, r)
        values = header(r, "WWW-Authenticate", all_values=True)
        self.assertEqual([challenge_params(v)[1]["algorithm"] for v in values], ["SHA-256", "MD5"])
        for v in values:
            self.assertNotIn("stale", challenge_params(v)[1], "a wrong password is not stale")
        self.assertEqual(self.failures(), before + 1)
        self.assertEqual(self.bindings("sip:alice@example.test"), [])

        # Twice more, then the right password still works and is not counted.
        for _ in range(2):
            chal = by_algorithm(header(r, "WWW-Authenticate", all_values=True))["MD5"]
            r = c.register(authorization=register_credentials(chal, "alice", "guess"))
            self.assertEqual(status_of(r), 401, r)
        self.assertEqual(self.failures(), before + 3)
        chal = by_algorithm(header(r, "WWW-Authenticate", all_values=True))["SHA-256"]
        r = c.register(authorization=register_credentials(chal, "alice", "alice-secret"))
        self.assertEqual(status_of(r), 200, self.describe(r))
        self.assertEqual(self.failures(), before + 3)
        # The operator's log: one line for the first failure of this source (the next two
        # fall into the same 10 s and are counted with the next line).
        lines = [l for l in self.proxy.log().splitlines()
                 if f"refused (credentials) from udp:127.0.0.1:{c.port}:" in l]
        self.assertEqual(len(lines), 1, self.proxy.log_tail())
        self.assertRegex(lines[0], r' info  refused \(credentials\) from udp:127\.0\.0\.1:\d+: '
                                   r'auth failure user=alice method=REGISTER '
                                   r'reason="Incorrect response"$')

    def test_unknown_user_is_challenged_and_counted(self):
        before = self.failures()
        c = self.client("mallory")
        chal = self.challenge(c)["SHA-256"]
        r = c.register(authorization=register_credentials(chal, "mallory", "x"))
        self.assertEqual(status_of(r), 401, r)
        self.assertEqual(self.failures(), before + 1)
        self.assertEqual(self.bindings("sip:mallory@example.test"), [])

    def test_authenticated_user_must_be_the_to_user(self):
        before = self.failures()
        c = self.client("bob")
        chal = self.challenge(c)["SHA-256"]
        # Alice's correct credentials on a REGISTER for bob's AOR.
        r = c.register(authorization=register_credentials(chal, "alice", "alice-secret"))
        self.assertEqual(status_of(r), 403, r)
        self.assertIsNone(header(r, "WWW-Authenticate"), r)
        self.assertEqual(self.bindings("sip:bob@example.test"), [])
        self.assertEqual(self.bindings("sip:alice@example.test"), [])
        self.assertEqual(self.failures(), before + 1)

    def test_credentials_for_another_realm_are_ignored(self):
        c = self.client("alice")
        chal = self.challenge(c)["SHA-256"].replace(f'realm="{DOMAIN}"', 'realm="other.test"')
        r = c.register(authorization=register_credentials(chal, "alice", "alice-secret"))
        self.assertEqual(status_of(r), 401, r)
        self.assertEqual(len(header(r, "WWW-Authenticate", all_values=True)), 2)
        self.assertEqual(self.bindings("sip:alice@example.test"), [])

    def test_tampered_nonce_is_rejected(self):
        before = self.failures()
        c = self.client("alice")
        chal = self.challenge(c)["SHA-256"]
        nonce = challenge_params(chal)[1]["nonce"]
        forged = nonce[:-4] + ("AAAA" if not nonce.endswith("AAAA") else "BBBB")
        r = c.register(authorization=register_credentials(chal.replace(nonce, forged), "alice",
                                                          "alice-secret"))
        self.assertEqual(status_of(r), 401, r)
        self.assertEqual(self.bindings("sip:alice@example.test"), [])
        self.assertEqual(self.failures(), before + 1)

    def test_replayed_nonce_count_is_stale_and_higher_count_accepted(self):
        c = self.client("alice")
        chal = self.challenge(c)["SHA-256"]
        cnonce = "0a4f113b"
        auth1 = register_credentials(chal, "alice", "alice-secret",
                                     nc=1, cnonce=cnonce)
        self.assertEqual(status_of(c.register(authorization=auth1)), 200)
        # The very same Authorization again (a replay): stale=true, a new nonce.
        r = c.register(authorization=auth1)
        self.assertEqual(status_of(r), 401, r)
        values = header(r, "WWW-Authenticate", all_values=True)
        self.assertEqual(len(values), 2, r)
        for v in values:
            self.assertEqual(challenge_params(v)[1].get("stale"), "true", r)
        # The same nonce with the next nonce-count is fine (RFC 7616 3.4).
        auth2 = register_credentials(chal, "alice", "alice-secret",
                                     nc=2, cnonce=cnonce)
        self.assertEqual(status_of(c.register(authorization=auth2)), 200, self.proxy.log_tail(10))


class StaleNonceTest(AuthTestCase):
    nonce_ttl = 1

    def test_expired_nonce_gets_stale_true_then_retry_succeeds(self):
        before = self.failures()
        c = self.client("alice")
        chal = self.challenge(c)["SHA-256"]
        old_nonce = challenge_params(chal)[1]["nonce"]
        time.sleep(2.3)  # nonce_ttl = 1 s (whole seconds: older than 1 s once 2 s have passed)
        r = c.register(authorization=register_credentials(chal, "alice", "alice-secret"))
        self.assertEqual(status_of(r), 401, self.describe(r))
        values = header(r, "WWW-Authenticate", all_values=True)
        self.assertEqual(len(values), 2, r)
        parsed = [challenge_params(v)[1] for v in values]
        self.assertEqual([p["algorithm"] for p in parsed], ["SHA-256", "MD5"])
        for p in parsed:
            self.assertEqual(p.get("stale"), "true", r)
            self.assertNotEqual(p["nonce"], old_nonce)
        self.assertEqual(self.bindings("sip:alice@example.test"), [])
        # The client retries with the fresh nonce without asking its user.
        r = c.register(authorization=register_credentials(values[0], "alice", "alice-secret"))
        self.assertEqual(status_of(r), 200, self.describe(r))
        self.assertEqual(len(self.bindings("sip:alice@example.test")), 1)
        # Right password on an old nonce is not a failure.
        self.assertEqual(self.failures(), before)

    def test_expired_nonce_with_wrong_password_is_not_stale(self):
        # stale=true only with proof of the password (RFC 7616 3.3), else a plain challenge.
        c = self.client("alice")
        chal = self.challenge(c)["MD5"]
        time.sleep(2.3)
        r = c.register(authorization=register_credentials(chal, "alice", "wrong"))
        self.assertEqual(status_of(r), 401, r)
        for v in header(r, "WWW-Authenticate", all_values=True):
            self.assertNotIn("stale", challenge_params(v)[1], r)


class InviteAuthTest(AuthTestCase):
    """Out-of-dialog INVITE from a local user: 407 with Proxy-Authenticate."""

    def setUp(self):
        super().setUp()
        # bob's phone: a UDP socket on the port bob registered as his contact.
        port = free_port()
        r = register(self.proxy, "bob", "bob-secret", port)
        self.assertEqual(status_of(r), 200, r)
        self.phone = UdpClient(port=port)  # register() closed its socket on that port
        self.addCleanup(self.phone.close)

    def test_invite_challenged_with_407_then_forwarded(self):
        alice = self.client("alice")
        r = alice.invite("bob")
        self.assertEqual(status_of(r), 407, r)
        self.assertIsNone(header(r, "WWW-Authenticate"), r)
        values = header(r, "Proxy-Authenticate", all_values=True)
        self.assertEqual([challenge_params(v)[1]["algorithm"] for v in values], ["SHA-256", "MD5"])
        self.assertIsNone(self.phone.recv(0.3), "nothing reaches bob before authentication")

        auth = digest_authorization(values[0], "alice", "alice-secret", "INVITE",
                                    f"sip:bob@{DOMAIN}")
        other_realm = ('Digest username="alice", realm="far.example", nonce="abc", '
                       f'uri="sip:bob@{DOMAIN}", response="0123456789abcdef0123456789abcdef"')
        self.phone.sock.settimeout(3)
        alice_cseq = alice.cseq + 1
        alice.udp.send(self.proxy.port, "\n".join([
            f"INVITE sip:bob@{DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{alice.port};branch=z9hG4bK{secrets.token_hex(8)};rport",
            "Max-Forwards: 70",
            f"From: <sip:alice@{DOMAIN}>;tag={alice.tag}",
            f"To: <sip:bob@{DOMAIN}>",
            f"Call-ID: {alice.call_id}",
            f"CSeq: {alice_cseq} INVITE",
            f"Contact: <sip:alice@127.0.0.1:{alice.port}>",
            f"Proxy-Authorization: {other_realm}",
            f"Proxy-Authorization: {auth}"]) + "\n\n")
        alice.cseq = alice_cseq
        got = self.phone.recv(3.0)
        self.assertIsNotNone(got, "the authenticated INVITE must reach bob's contact\n"
                             + self.proxy.log_tail(20))
        self.assertTrue(got.startswith(f"INVITE sip:bob@127.0.0.1:{self.phone.port} SIP/2.0"),
                        got)
        # RFC 3261 22.3: the credentials for this proxy's realm are consumed; those for
        # another realm (a proxy further on) travel on.
        self.assertEqual(header(got, "Proxy-Authorization", all_values=True), [other_realm], got)
        self.assertEqual(header(got, "Call-ID"), alice.call_id)
        # Answer 486 so the transaction ends; alice sees it.
        via = header(got, "Via", all_values=True)
        resp = ["SIP/2.0 486 Busy Here"] + [f"Via: {v}" for v in via] + [
            f"From: {header(got, 'From')}", f"To: {header(got, 'To')};tag=b0b",
            f"Call-ID: {header(got, 'Call-ID')}", f"CSeq: {header(got, 'CSeq')}"]
        self.phone.send(self.proxy.port, "\n".join(resp) + "\n\n")
        final = alice.udp.recv_final(3.0)
        self.assertEqual(status_of(final), 486, final)

    def test_invite_with_wrong_password_is_challenged_again(self):
        before = self.failures()
        alice = self.client("alice")
        chal = header(alice.invite("bob"), "Proxy-Authenticate")
        r = alice.invite("bob", proxy_authorization=digest_authorization(
            chal, "alice", "wrong", "INVITE", f"sip:bob@{DOMAIN}"))
        self.assertEqual(status_of(r), 407, r)
        self.assertEqual(self.failures(), before + 1)
        self.assertIsNone(self.phone.recv(0.3), "nothing reaches bob")

    def test_authenticated_user_must_be_the_from_user(self):
        bob = self.client("bob")  # bob's credentials, but From: alice
        chal = header(bob.invite("bob", from_user="alice"), "Proxy-Authenticate")
        self.assertIsNotNone(chal)
        r = bob.invite("bob", from_user="alice", proxy_authorization=digest_authorization(
            chal, "bob", "bob-secret", "INVITE", f"sip:bob@{DOMAIN}"))
        self.assertEqual(status_of(r), 403, r)
        self.assertIsNone(self.phone.recv(0.3), "nothing reaches bob")


if __name__ == "__main__":
    unittest.main(verbosity=2)
