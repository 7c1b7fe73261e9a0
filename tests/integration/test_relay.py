#!/usr/bin/env python3
"""Only what this proxy authorised goes through it (issue #11).

An attacker without credentials, against a proxy with [auth] and two workers, tries to
use it as a relay towards a third party: a UDP socket and a TCP listening socket on
127.0.0.77 (any 127/8 address works on Linux loopback). Each attack sends the exact
messages over UDP and over TCP and asserts what the attacker gets back and that the
third party receives nothing. The real-call tests next to them prove the same proxy still
relays what it set up: ACK, re-INVITE and BYE from both ends over UDP and over a
transport change, and a 2xx retransmitted after the INVITE transactions ended.

Environment: SIPPROXYD, SIPPROXYCTL, SIPPROXY_SOURCE (see harness.py).
"""
import os
import re
import secrets
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DOMAIN, Proxy, _TcpReader, crlf, digest_authorization, free_port,  # noqa: E402
                     header, new_branch, new_call_id, pick_challenge, status_of)

THIRD = "127.0.0.77"
SDP = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"


class ThirdParty:
    """What the attacker wants to reach: UDP and TCP on 127.0.0.77:port."""

    def __init__(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((THIRD, 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((THIRD, self.port))
        self.tcp.listen(16)

    def received(self, wait=0.6):
        """Everything that arrived within `wait` seconds: datagrams and TCP connections
        (with what they carried)."""
        got = []
        deadline = time.monotonic() + wait
        self.udp.settimeout(0.05)
        self.tcp.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                got.append(("udp", self.udp.recv(65535).decode(errors="replace")))
            except socket.timeout:
                pass
            try:
                conn, _ = self.tcp.accept()
                conn.settimeout(0.3)
                try:
                    data = conn.recv(65535)
                except socket.timeout:
                    data = b""
                conn.close()
                got.append(("tcp-connection", data.decode(errors="replace")))
            except socket.timeout:
                pass
        return got

    def close(self):
        self.udp.close()
        self.tcp.close()


class Peer:
    """A raw SIP endpoint on 127.0.0.1 over UDP, or over one TCP connection to the proxy."""

    def __init__(self, proxy, transport="udp"):
        self.proxy, self.transport = proxy, transport
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
        else:
            self.sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=3)
            self.reader = _TcpReader(self.sock)
        self.port = self.sock.getsockname()[1]

    @property
    def via_transport(self):
        return self.transport.upper()

    def send(self, text):
        data = crlf(text).encode()
        if self.transport == "udp":
            self.sock.sendto(data, ("127.0.0.1", self.proxy.port))
        else:
            self.sock.sendall(data)

    def recv(self, timeout=2.0):
        if self.transport == "udp":
            self.sock.settimeout(timeout)
            try:
                return self.sock.recv(65535).decode(errors="replace")
            except socket.timeout:
                return None
        return self.reader.read_message(timeout)

    def recv_final(self, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            m = self.recv(left)
            if m is None:
                return None
            if (status_of(m) or 0) >= 200:
                return m

    def recv_request(self, method, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            m = self.recv(left)
            if m is None:
                return None
            if m.startswith(method + " "):
                return m

    def close(self):
        self.sock.close()


def request(method, ruri, peer, to_tag=None, from_uri="sip:mallory@evil.example", routes=(),
            body="", extra=(), call_id=None, cseq=1):
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: SIP/2.0/{peer.via_transport} 127.0.0.1:{peer.port};branch={new_branch()};rport",
             "Max-Forwards: 70",
             f"From: <{from_uri}>;tag={secrets.token_hex(4)}",
             f"To: <{ruri}>" + (f";tag={to_tag}" if to_tag else ""),
             f"Call-ID: {call_id or new_call_id()}",
             f"CSeq: {cseq} {method}",
             f"Contact: <sip:mallory@127.0.0.1:{peer.port}>"]
    lines += [f"Route: {r}" for r in routes]
    lines += list(extra)
    if body:
        lines.append("Content-Type: application/sdp")
    return "\n".join(lines) + "\n\n" + body


class RelayTestCase(unittest.TestCase):
    proxy = None

    @classmethod
    def setUpClass(cls):
        cls.proxy = Proxy(workers=2, log_level="info")
        cls.proxy.start()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.__exit__(None, None, None)

    def setUp(self):
        self.third = ThirdParty()
        self.addCleanup(self.third.close)

    def peer(self, transport):
        p = Peer(self.proxy, transport)
        self.addCleanup(p.close)
        return p

    def assert_third_party_untouched(self, what):
        got = self.third.received()
        self.assertEqual(got, [], f"{what}: the third party was reached\n{self.proxy.log_tail(15)}")

    def own_route(self, params=""):
        return f"<sip:127.0.0.1:{self.proxy.port};lr{params}>"


class FakeInDialogRequests(RelayTestCase):
    def test_requests_with_a_to_tag_are_not_relayed(self):
        target = f"sip:+19005551234@{THIRD}:{self.third.port}"
        routes = {"no Route": (),
                  "our Route without token": (self.own_route(),),
                  "our Route with a forged token": (self.own_route(";dlg=AAAAAAAAAAAAAAAA"),)}
        for transport in ("udp", "tcp"):
            for method in ("INVITE", "BYE", "MESSAGE", "OPTIONS", "REFER"):
                for what, route in routes.items():
                    with self.subTest(transport=transport, method=method, route=what):
                        p = self.peer(transport)
                        body = SDP if method == "INVITE" else ""
                        extra = ("Refer-To: <sip:victim@127.0.0.9>",) if method == "REFER" else ()
                        p.send(request(method, target, p, to_tag="forged", routes=route,
                                       body=body, extra=extra))
                        r = p.recv_final()
                        self.assertEqual(status_of(r), 403, r)  # no open relay
                        self.assert_third_party_untouched(f"{method} over {transport} ({what})")
        self.assertGreater(self.proxy.stats()["refused.in_dialog"], 0)

    def test_a_local_caller_with_a_to_tag_is_challenged(self):
        target = f"sip:+19005551234@{THIRD}:{self.third.port}"
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                p = self.peer(transport)
                p.send(request("INVITE", target, p, to_tag="forged", body=SDP,
                               from_uri=f"sip:alice@{DOMAIN}"))
                r = p.recv_final()
                self.assertEqual(status_of(r), 407, r)
                self.assert_third_party_untouched(f"INVITE over {transport}")

    def test_to_a_local_user_a_fake_in_dialog_request_is_an_unknown_user(self):
        p = self.peer("udp")
        p.send(request("BYE", f"sip:nobody@{DOMAIN}", p, to_tag="forged"))
        self.assertEqual(status_of(p.recv_final()), 404)


class FakeAcks(RelayTestCase):
    def test_acks_from_outside_are_dropped(self):
        target = f"sip:x@{THIRD}:{self.third.port}"
        before = self.proxy.stats().get("refused.ack", 0)
        sent = 0
        for transport in ("udp", "tcp"):
            for route in ((), (self.own_route(),), (self.own_route(";dlg=AAAAAAAAAAAAAAAA"),)):
                with self.subTest(transport=transport, route=route):
                    p = self.peer(transport)
                    p.send(request("ACK", target, p, to_tag="forged", routes=route, body=SDP))
                    sent += 1
                    self.assertIsNone(p.recv(0.3), "an ACK is never answered")
                    self.assert_third_party_untouched(f"ACK over {transport}")
        self.assertEqual(self.proxy.stats()["refused.ack"] - before, sent)


class StrayResponses(RelayTestCase):
    def stray(self, sender, second_via_transport, branch):
        p = self.third.port
        return (f"SIP/2.0 200 OK\n"
                f"Via: SIP/2.0/{sender.via_transport} 127.0.0.1:{self.proxy.port};branch={branch}\n"
                f"Via: SIP/2.0/{second_via_transport} {THIRD}:{p};branch=z9hG4bKvictim;"
                f"received={THIRD};rport={p}\n"
                f"From: <sip:a@{THIRD}>;tag=1\nTo: <sip:b@{THIRD}>;tag=2\n"
                f"Call-ID: {new_call_id()}\nCSeq: 1 INVITE\n"
                f"Contact: <sip:b@127.0.0.1:{sender.port}>\n"
                "Content-Type: application/sdp\n\n" + SDP)

    def test_responses_are_not_reflected_to_the_next_via(self):
        before = self.proxy.stats().get("refused.stray_response", 0)
        sent = 0
        branches = {"no token": "z9hG4bK-sp0000000000.1",
                    "worker 1, no token": "z9hG4bK-sp0100000000.1",
                    "forged token": "z9hG4bK-sp0000000000.1.AAAAAAAAAAAAAAAA"}
        for transport in ("udp", "tcp"):
            for second in ("UDP", "TCP"):
                for what, branch in branches.items():
                    with self.subTest(transport=transport, next_via=second, branch=what):
                        s = self.peer(transport)
                        s.send(self.stray(s, second, branch))
                        sent += 1
                        self.assertIsNone(s.recv(0.3))
                        self.assert_third_party_untouched(
                            f"response over {transport}, next Via {second}, {what}")
        self.assertEqual(self.proxy.stats()["refused.stray_response"] - before, sent)


class PreloadedRoute(RelayTestCase):
    def test_route_to_a_third_party_for_a_local_user_is_refused(self):
        bob = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        bob.bind(("127.0.0.1", 0))
        self.addCleanup(bob.close)
        r = self.proxy.ctl("registration", "add", f"bob@{DOMAIN}",
                           f"sip:bob@127.0.0.1:{bob.getsockname()[1]}", "--expires", "600")
        self.assertEqual(r.returncode, 0, r.stderr)
        route = f"<sip:{THIRD}:{self.third.port};lr>"
        for transport in ("udp", "tcp"):
            for routes in ((route,), (self.own_route(), route)):
                with self.subTest(transport=transport, routes=routes):
                    p = self.peer(transport)
                    p.send(request("INVITE", f"sip:bob@{DOMAIN}", p, routes=routes, body=SDP))
                    r = p.recv_final()
                    self.assertEqual(status_of(r), 403, r)
                    self.assert_third_party_untouched(f"INVITE over {transport}")
        bob.settimeout(0.2)
        self.assertRaises(socket.timeout, bob.recv, 65535)
        self.assertGreater(self.proxy.stats()["refused.preloaded_route"], 0)


class DigestUri(RelayTestCase):
    def invite_with_credentials(self, p, target, signed_uri):
        call_id = new_call_id()
        p.send(request("INVITE", target, p, from_uri=f"sip:alice@{DOMAIN}", call_id=call_id,
                       body=SDP))
        r = p.recv_final()
        self.assertEqual(status_of(r), 407, r)
        chal = pick_challenge(header(r, "Proxy-Authenticate", all_values=True))
        cred = digest_authorization(chal, "alice", "alice-secret", "INVITE", signed_uri)
        p.send(request("INVITE", target, p, from_uri=f"sip:alice@{DOMAIN}", call_id=call_id,
                       cseq=2, body=SDP, extra=(f"Proxy-Authorization: {cred}",)))

    def test_credentials_signed_for_another_target_are_refused(self):
        target = f"sip:+19005551234@{THIRD}:{self.third.port}"
        p = self.peer("udp")
        self.invite_with_credentials(p, target, f"sip:bob@{DOMAIN}")
        r = p.recv_final()
        self.assertEqual(status_of(r), 400, r)
        self.assertIn("digest-uri", r.split("\r\n")[0])
        self.assert_third_party_untouched("INVITE with a digest-uri for bob")
        self.assertGreater(self.proxy.stats()["refused.digest_uri"], 0)

    def test_credentials_signed_for_the_request_uri_are_accepted(self):
        # The control: an authenticated user may relay, so the third party does get it
        # (and the sockets above would have seen what the attacks sent).
        target = f"sip:+19005551234@{THIRD}:{self.third.port}"
        p = self.peer("udp")
        self.invite_with_credentials(p, target, target)
        got = self.third.received(1.5)
        self.assertTrue(any(t == "udp" and d.startswith("INVITE ") for t, d in got), got)


class NonceFailures(RelayTestCase):
    def register(self, p, auth=None, cseq=1, call_id=None):
        lines = [f"REGISTER sip:{DOMAIN} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{p.port};branch={new_branch()};rport",
                 "Max-Forwards: 70",
                 f"From: <sip:alice@{DOMAIN}>;tag=r1",
                 f"To: <sip:alice@{DOMAIN}>",
                 f"Call-ID: {call_id}",
                 f"CSeq: {cseq} REGISTER",
                 f"Contact: <sip:alice@127.0.0.1:{p.port}>",
                 "Expires: 60"]
        if auth:
            lines.append(f"Authorization: {auth}")
        p.send("\n".join(lines) + "\n\n")
        return p.recv_final()

    def test_a_nonce_refuses_the_right_password_after_five_failures(self):
        p = self.peer("udp")
        call_id = new_call_id()
        r = self.register(p, call_id=call_id)
        chal = pick_challenge(header(r, "WWW-Authenticate", all_values=True))
        ruri = f"sip:{DOMAIN}"
        cseq = 2
        for i in range(5):
            bad = digest_authorization(chal, "alice", f"guess-{i}", "REGISTER", ruri, nc=i + 1)
            r = self.register(p, bad, cseq, call_id)
            cseq += 1
            self.assertEqual(status_of(r), 401, r)
        good = digest_authorization(chal, "alice", "alice-secret", "REGISTER", ruri, nc=9)
        r = self.register(p, good, cseq, call_id)
        cseq += 1
        self.assertEqual(status_of(r), 401, "the spent nonce must not accept the password")
        fresh = pick_challenge(header(r, "WWW-Authenticate", all_values=True))
        self.assertIn("stale=true", fresh)
        self.assertNotEqual(re.search(r'nonce="([^"]+)"', fresh).group(1),
                            re.search(r'nonce="([^"]+)"', chal).group(1))
        good = digest_authorization(fresh, "alice", "alice-secret", "REGISTER", ruri)
        self.assertEqual(status_of(self.register(p, good, cseq, call_id)), 200)
        self.assertGreater(self.proxy.stats()["refused.nonce_spent"], 0)

    def test_a_register_signed_for_another_uri_is_refused(self):
        p = self.peer("udp")
        call_id = new_call_id()
        r = self.register(p, call_id=call_id)
        chal = pick_challenge(header(r, "WWW-Authenticate", all_values=True))
        cred = digest_authorization(chal, "alice", "alice-secret", "REGISTER",
                                    f"sip:127.0.0.1:{self.proxy.port}")
        self.assertEqual(status_of(self.register(p, cred, 2, call_id)), 400)


class RealCalls(RelayTestCase):
    """A call set up through the proxy: what it record-routed is relayed from both ends."""

    @classmethod
    def setUpClass(cls):
        # Short timers: the INVITE transactions end (64*T1) within seconds, so a 2xx
        # retransmitted later has no transaction left and must pass as a stray response.
        cls.proxy = Proxy(workers=2, log_level="info", t1_ms=50, t2_ms=400, t4_ms=500)
        cls.proxy.start()

    def answer(self, callee, req, status=200, reason="OK", to_tag=None, body=""):
        vias = header(req, "Via", all_values=True)
        lines = [f"SIP/2.0 {status} {reason}"] + [f"Via: {v}" for v in vias]
        lines += [f"Record-Route: {v}" for v in header(req, "Record-Route", all_values=True)]
        to = header(req, "To")
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        lines += [f"From: {header(req, 'From')}", f"To: {to}", f"Call-ID: {header(req, 'Call-ID')}",
                  f"CSeq: {header(req, 'CSeq')}",
                  f"Contact: <sip:bob@127.0.0.1:{callee.port};transport={callee.transport}>"]
        if body:
            lines.append("Content-Type: application/sdp")
        return "\n".join(lines) + "\n\n" + body

    def in_dialog(self, method, peer, remote_target, routes, from_hdr, to_hdr, call_id, cseq,
                  contact_user="alice"):
        lines = [f"{method} {remote_target} SIP/2.0",
                 f"Via: SIP/2.0/{peer.via_transport} 127.0.0.1:{peer.port};branch={new_branch()};rport",
                 "Max-Forwards: 70", f"From: {from_hdr}", f"To: {to_hdr}", f"Call-ID: {call_id}",
                 f"CSeq: {cseq} {method}",
                 f"Contact: <sip:{contact_user}@127.0.0.1:{peer.port};transport={peer.transport}>"]
        lines += [f"Route: {r}" for r in routes]
        body = SDP if method == "INVITE" else ""
        if body:
            lines.append("Content-Type: application/sdp")
        return "\n".join(lines) + "\n\n" + body

    def call(self, caller_transport, callee_to_caller=True):
        proxy = self.proxy
        callee = Peer(proxy, "udp")  # bob's phone: reached where its binding says
        self.addCleanup(callee.close)
        r = proxy.ctl("registration", "add", f"bob@{DOMAIN}",
                      f"sip:bob@127.0.0.1:{callee.port}", "--expires", "600")
        self.assertEqual(r.returncode, 0, r.stderr)
        caller = self.peer(caller_transport)
        call_id, ftag = new_call_id(), "caller" + secrets.token_hex(3)
        ruri = f"sip:bob@{DOMAIN}"
        from_hdr = f"<sip:alice@{DOMAIN}>;tag={ftag}"

        def invite(cseq, auth=None, branch=None):
            lines = [f"INVITE {ruri} SIP/2.0",
                     f"Via: SIP/2.0/{caller.via_transport} 127.0.0.1:{caller.port};branch={branch or new_branch()};rport",
                     "Max-Forwards: 70", f"From: {from_hdr}", f"To: <{ruri}>", f"Call-ID: {call_id}",
                     f"CSeq: {cseq} INVITE",
                     f"Contact: <sip:alice@127.0.0.1:{caller.port};transport={caller_transport}>",
                     "Content-Type: application/sdp"]
            if auth:
                lines.append(f"Proxy-Authorization: {auth}")
            return "\n".join(lines) + "\n\n" + SDP

        first_branch = new_branch()
        caller.send(invite(1, branch=first_branch))
        r = caller.recv_final()
        self.assertEqual(status_of(r), 407, r)
        # The ACK for the 407 ends the proxy's INVITE transaction (17.2.1).
        caller.send(f"ACK {ruri} SIP/2.0\n"
                    f"Via: SIP/2.0/{caller.via_transport} 127.0.0.1:{caller.port};branch={first_branch};rport\n"
                    f"Max-Forwards: 70\nFrom: {from_hdr}\nTo: {header(r, 'To')}\nCall-ID: {call_id}\n"
                    "CSeq: 1 ACK\n\n")
        chal = pick_challenge(header(r, "Proxy-Authenticate", all_values=True))
        caller.send(invite(2, digest_authorization(chal, "alice", "alice-secret", "INVITE", ruri)))
        inv = callee.recv_request("INVITE")
        self.assertIsNotNone(inv, proxy.log_tail())
        rrs = header(inv, "Record-Route", all_values=True)
        self.assertEqual(len(rrs), 1 if caller_transport == "udp" else 2, rrs)
        for rr in rrs:
            self.assertRegex(rr, r";dlg=[A-Za-z0-9_-]{16}>$")
        ok = self.answer(callee, inv, to_tag="callee1", body=SDP)
        callee.send(ok)
        r = caller.recv_final()
        self.assertEqual(status_of(r), 200, r)
        to_hdr = header(r, "To")
        callee_target = re.search(r"<([^>]+)>", header(r, "Contact")).group(1)
        caller_routes = list(reversed(header(r, "Record-Route", all_values=True)))
        callee_routes = rrs
        caller_target = f"sip:alice@127.0.0.1:{caller.port};transport={caller_transport}"

        # ACK for the 2xx, from the caller, along the route set.
        caller.send(self.in_dialog("ACK", caller, callee_target, caller_routes, from_hdr, to_hdr,
                                   call_id, 2))
        self.assertIsNotNone(callee.recv_request("ACK"), "the 2xx ACK reaches the callee")

        # The callee retransmits its 2xx after every INVITE transaction is over: stray at
        # the proxy, relayed because its branch token verifies against the caller's Via.
        time.sleep(4.0)
        callee.send(ok)
        again = caller.recv_final(3.0)
        self.assertEqual(status_of(again), 200, "a late 2xx retransmission reaches the caller\n"
                         + proxy.log_tail(10))

        if callee_to_caller:
            # re-INVITE from the callee (tags swapped), answered by the caller, ACKed.
            callee.send(self.in_dialog("INVITE", callee, caller_target, callee_routes, to_hdr,
                                       from_hdr, call_id, 1, contact_user="bob"))
            reinv = caller.recv_request("INVITE")
            self.assertIsNotNone(reinv, "the callee's re-INVITE reaches the caller\n" + proxy.log_tail(10))
            caller.send(self.answer(caller, reinv, body=SDP))
            r = callee.recv_final()
            self.assertEqual(status_of(r), 200, r)
            callee.send(self.in_dialog("ACK", callee, caller_target, callee_routes, to_hdr, from_hdr,
                                       call_id, 1, contact_user="bob"))
            self.assertIsNotNone(caller.recv_request("ACK"), "the callee's ACK reaches the caller")

        # re-INVITE from the caller.
        caller.send(self.in_dialog("INVITE", caller, callee_target, caller_routes, from_hdr,
                                   to_hdr, call_id, 3))
        reinv = callee.recv_request("INVITE")
        self.assertIsNotNone(reinv, "the caller's re-INVITE reaches the callee")
        callee.send(self.answer(callee, reinv, body=SDP))
        self.assertEqual(status_of(caller.recv_final()), 200)
        caller.send(self.in_dialog("ACK", caller, callee_target, caller_routes, from_hdr, to_hdr,
                                   call_id, 3))
        self.assertIsNotNone(callee.recv_request("ACK"))

        if callee_to_caller:
            # BYE from the callee.
            callee.send(self.in_dialog("BYE", callee, caller_target, callee_routes, to_hdr,
                                       from_hdr, call_id, 2, contact_user="bob"))
            bye = caller.recv_request("BYE")
            self.assertIsNotNone(bye, "the callee's BYE reaches the caller")
            caller.send(self.answer(caller, bye))
            self.assertEqual(status_of(callee.recv_final()), 200)
        else:
            # BYE from the caller.
            caller.send(self.in_dialog("BYE", caller, callee_target, caller_routes, from_hdr,
                                       to_hdr, call_id, 4))
            bye = callee.recv_request("BYE")
            self.assertIsNotNone(bye, "the caller's BYE reaches the callee")
            callee.send(self.answer(callee, bye))
            self.assertEqual(status_of(caller.recv_final()), 200)
        self.assert_third_party_untouched("a real call")
        return call_id

    def test_udp_call_in_dialog_requests_from_both_ends(self):
        self.call("udp")

    def test_tcp_caller_udp_callee_both_record_routes_carry_the_token(self):
        # Requests from the UDP callee reach the TCP caller over its own connection,
        # whichever of the two workers handles them.
        self.call("tcp")

    def test_bye_from_the_caller(self):
        # Shorter: the caller hangs up, through the token of its own Route.
        proxy = self.proxy
        callee = self.peer("udp")
        proxy.ctl("registration", "add", f"carol@{DOMAIN}", f"sip:carol@127.0.0.1:{callee.port}",
                  "--expires", "600")
        caller = self.peer("udp")
        ruri, call_id = f"sip:carol@{DOMAIN}", new_call_id()
        # From a foreign domain: not challenged, like a call from outside to a local user.
        caller.send(request("INVITE", ruri, caller, from_uri="sip:dave@elsewhere.example",
                            call_id=call_id, body=SDP))
        inv = callee.recv_request("INVITE")
        self.assertIsNotNone(inv, proxy.log_tail())
        callee.send(self.answer(callee, inv, to_tag="c2", body=SDP))
        r = caller.recv_final()
        self.assertEqual(status_of(r), 200, r)
        routes = list(reversed(header(r, "Record-Route", all_values=True)))
        target = re.search(r"<([^>]+)>", header(r, "Contact")).group(1)
        from_hdr = header(r, "From")
        caller.send(self.in_dialog("ACK", caller, target, routes, from_hdr, header(r, "To"), call_id, 1))
        self.assertIsNotNone(callee.recv_request("ACK"))
        caller.send(self.in_dialog("BYE", caller, target, routes, from_hdr, header(r, "To"), call_id, 2))
        bye = callee.recv_request("BYE")
        self.assertIsNotNone(bye, "the caller's BYE reaches the callee")
        callee.send(self.answer(callee, bye))
        self.assertEqual(status_of(caller.recv_final()), 200)
        # The same BYE with the token of another dialog is not relayed.
        forged = [re.sub(r"dlg=[^;>]+", "dlg=" + "B" * 16, x) for x in routes]
        caller.send(self.in_dialog("BYE", caller, target, forged, from_hdr, header(r, "To"), call_id, 3))
        self.assertIsNone(callee.recv_request("BYE", 0.6), "a forged token is not a dialog")


if __name__ == "__main__":
    unittest.main(verbosity=2)
