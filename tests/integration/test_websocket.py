#!/usr/bin/env python3
"""WebSocket (RFC 6455 + RFC 7118, issue #14 part 2): browser phones through a real
sipproxyd.

Two SIP.js 0.21 phones (alice, bob), each a page in one headless Chromium
(browser_phones.py), register over wss:// (a test CA made by openssl) with `.invalid` Via/Contact hosts, reg-id and
+sip.instance; the proxy reaches them only through the connection they registered on
(RFC 5626). alice calls bob: bob's page rings, answers, both calls are Established and
the RTCPeerConnection between the two browsers is connected; the caller hangs up, then
in a second call the callee does. alice calls carol, a baresip on UDP, and carol calls
alice (double Record-Route between WS and UDP; exactly one Via removed on the way back,
or SIP.js drops the response); each side hangs up once. An upgrade without the `sip`
sub-protocol or from an Origin not on [websocket] allowed_origins is refused, and a
hand-made client gets a SIP response in a WebSocket text frame.

Chromium starts once per class (the slow part: about 2 s). Nothing is downloaded: the
npm packages come from scripts/deps.sh.

Run: SIPPROXYD=... SIPPROXYCTL=... python3 test_websocket.py   (cwd tests/integration)
"""
import base64
import hashlib
import os
import re
import shutil
import socket
import struct
import unittest

from browser_phones import Browser, available
from harness import DOMAIN, Proxy, _toml_str, free_port, read_head
from test_tls import Certificates, tls_toml
from phones import BARESIP, Baresip, PhoneError

# baresip 1.0 cannot answer SHA-256 (README, "Real phones"): carol is offered MD5.
USERS = [("alice", "alice-secret"), ("bob", "bob-secret"),
         ("carol", "carol-secret", {"algorithms": '["MD5"]'})]
KEEPALIVE = 2  # seconds: short, so the test sees the ping (browsers answer it themselves)


def ws_frame(payload, opcode=0x1, mask=b"\x11\x22\x33\x44", masked=True):
    """A client frame (masked, as RFC 6455 5.1 requires of clients)."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    m = 0x80 if masked else 0
    if n < 126:
        head += bytes([m | n])
    elif n <= 0xFFFF:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_frame(sock):
    """One server frame: (opcode, payload)."""
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError("connection closed")
            data += chunk
        return data
    b0, b1 = exactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", exactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exactly(8))[0]
    assert not b1 & 0x80, "a server frame must not be masked"
    return b0 & 0x0F, exactly(n)


def upgrade_request(port, protocol="sip", origin=None, key="dGhlIHNhbXBsZSBub25jZQ=="):
    lines = [f"GET / HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    if origin:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class WebSocketPhones(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = available()
        if why:
            raise unittest.SkipTest(why)
        cls.browser = Browser()
        cls.addClassCleanup(cls.browser.close)
        cls.certs = Certificates()  # the test CA; Chromium is told to accept it (driver.js)
        cls.ws_port = free_port("tcp")
        cls.wss_port = free_port("tcp")
        cls.origin = cls.browser.http  # the page's origin: http://127.0.0.1:PORT
        cls.proxy = Proxy(users=USERS,
                          extra_listen=[f"ws://127.0.0.1:{cls.ws_port}", f"wss://127.0.0.1:{cls.wss_port}"],
                          extra_toml=tls_toml(cls.certs)
                          + f"\n[websocket]\nallowed_origins = [{_toml_str(cls.origin)}]\n"
                          + f"keepalive = {KEEPALIVE}\n")
        cls.addClassCleanup(cls.proxy.__exit__, None, None, None)
        cls.proxy.start()
        # Browser phones register over WSS, as they almost always do in the field.
        cls.server = f"wss://127.0.0.1:{cls.wss_port}"
        cls.alice = cls.browser.phone("alice")
        cls.bob = cls.browser.phone("bob")
        for name, phone in (("alice", cls.alice), ("bob", cls.bob)):
            phone.register(cls.server, f"sip:{name}@{DOMAIN}", name, f"{name}-secret",
                           trace=bool(os.environ.get("TRACE_SIP")))

    # -- helpers

    def wait_status(self, phone, predicate, what, timeout=15.0):
        last = {}

        def check():
            last.update(phone.status())
            return predicate(last)
        if not self.browser.wait(check, timeout):
            self.fail(f"{phone.name}: {what} not reached in {timeout} s: {last}\n"
                      f"{self.browser.log()}\n--- proxy log\n{self.proxy.log_tail(60)}")
        return last

    def call_between_browsers(self, hangup_by_caller):
        self.alice.call(f"sip:bob@{DOMAIN}")
        self.wait_status(self.bob, lambda s: s["incoming"] == 1, "ringing")
        self.bob.answer()
        for p in (self.alice, self.bob):
            self.wait_status(p, lambda s: s["call"] == "Established", "call established")
            # Media: the two browsers' RTCPeerConnection connects over loopback.
            self.wait_status(p, lambda s: s["pc"] == "connected", "RTCPeerConnection connected")
        calls = self.proxy.ctl_json("show", "calls")
        self.assertEqual(len(calls["calls"]), 1, calls)
        (self.alice if hangup_by_caller else self.bob).hangup()
        for p in (self.alice, self.bob):
            self.wait_status(p, lambda s: s["call"] is None and s["ended"] == "Terminated", "call ended")
        self.assertEqual(self.proxy.wait_transactions(0, timeout=40), 0)
        self.assertTrue(self.browser.wait(lambda: not self.proxy.ctl_json("show", "calls")["calls"], 10),
                        self.proxy.ctl_json("show", "calls"))

    # -- tests

    def test_registration_is_reached_through_its_flow(self):
        regs = self.proxy.ctl_json("show", "registrations", f"alice@{DOMAIN}")["registrations"]
        self.assertEqual(len(regs), 1, regs)
        r = regs[0]
        self.assertEqual(r["transport"], "wss", r)
        self.assertRegex(r["contact"], r"\.invalid\b.*transport=ws", r)

    def test_browser_calls_browser_caller_hangs_up(self):
        self.call_between_browsers(hangup_by_caller=True)

    def test_browser_calls_browser_callee_hangs_up(self):
        self.call_between_browsers(hangup_by_caller=False)

    def test_browser_and_baresip_on_udp(self):
        if shutil.which(BARESIP) is None:
            self.skipTest(f"{BARESIP} is not installed")
        carol = None
        for attempt in range(3):
            carol = Baresip("carol", "carol-secret", self.proxy.port, transport="udp", webrtc=True)
            self.addCleanup(carol.stop)
            try:
                carol.start()
                break
            except PhoneError as e:
                if "Address already in use" not in str(e) or attempt == 2:
                    raise
        carol.wait_registered(timeout=20)

        # Browser -> UDP phone; the UDP phone hangs up.
        since = carol.mark()
        self.alice.call(f"sip:carol@{DOMAIN}")
        carol.wait_incoming(since)
        carol.answer()
        carol.wait_established(since)
        self.wait_status(self.alice, lambda s: s["call"] == "Established", "call to carol established")
        # Media is not asserted in this direction (s["pc"] stays "connecting"): Chromium is
        # ICE-controlling and nominates a pair on a non-loopback address (baresip 1.0's ice
        # module gathers no loopback host candidate), but baresip's DTLS keeps to the SDP
        # default address (127.0.0.1) and refuses Chromium's DTLS from the nominated pair
        # ("dtls already accepted").
        since = carol.mark()
        carol.hang_up()
        self.wait_status(self.alice, lambda s: s["call"] is None, "call to carol ended")
        carol.wait_closed(since)

        # UDP phone -> browser; the browser hangs up (its BYE goes over the WS flow, then UDP).
        since = carol.mark()
        carol.dial(f"sip:alice@{DOMAIN}")
        self.wait_status(self.alice, lambda s: s["incoming"] == 1, "alice ringing")
        self.alice.answer()
        carol.wait_established(since)
        self.wait_status(self.alice, lambda s: s["call"] == "Established", "call from carol established")
        # Here baresip is ICE-controlling and nominates the loopback pair: ICE and DTLS-SRTP
        # complete and the browser's RTCPeerConnection connects.
        self.wait_status(self.alice, lambda s: s["pc"] == "connected", "RTCPeerConnection to carol connected")
        self.alice.hangup()
        carol.wait_closed(since)
        self.assertEqual(self.proxy.wait_transactions(0, timeout=40), 0)

    def test_upgrade_refused_without_sip_or_from_another_origin(self):
        for protocol, origin, status in (("chat", self.origin, "400"),
                                         ("sip", "http://evil.example", "403"),
                                         ("sip", None, "403")):
            with socket.create_connection(("127.0.0.1", self.ws_port), 5) as s:
                s.sendall(upgrade_request(self.ws_port, protocol, origin))
                r = read_head(s)
                self.assertTrue(r.startswith(f"HTTP/1.1 {status} "), (protocol, origin, r))
                self.assertEqual(s.recv(100), b"")  # and closed

    def test_reload_changes_the_allowed_origins_for_new_connections(self):
        def upgrade_status(origin):
            with socket.create_connection(("127.0.0.1", self.ws_port), 5) as s:
                s.sendall(upgrade_request(self.ws_port, "sip", origin))
                return read_head(s).split(" ", 2)[1]

        other = "https://phone.example.test"
        original = self.proxy.toml
        line = f"allowed_origins = [{_toml_str(self.origin)}]"
        self.assertIn(line, original)

        def reload_with(text):
            with open(self.proxy.config_path, "w") as f:
                f.write(text)
            return self.proxy.ctl_json("reload")

        self.addCleanup(reload_with, original)
        answer = reload_with(original.replace(line, f"allowed_origins = [{_toml_str(other)}]"))
        self.assertIn("websocket.allowed_origins", [c["key"] for c in answer["changed"]], answer)
        self.assertNotIn("websocket.allowed_origins", answer["restart_needed"], answer)
        self.assertEqual(upgrade_status(other), "101")
        self.assertEqual(upgrade_status(self.origin), "403")
        # The browser phones' connections, open before the reload, keep serving them.
        regs = self.proxy.ctl_json("show", "registrations", f"alice@{DOMAIN}")["registrations"]
        self.assertEqual(len(regs), 1, regs)
        answer = reload_with(original)
        self.assertIn("websocket.allowed_origins", [c["key"] for c in answer["changed"]], answer)
        self.assertEqual(upgrade_status(self.origin), "101")

    def test_hand_made_client_gets_a_response_in_a_frame(self):
        with socket.create_connection(("127.0.0.1", self.ws_port), 5) as s:
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall(upgrade_request(self.ws_port, "sip", self.origin, key))
            r = read_head(s)
            self.assertTrue(r.startswith("HTTP/1.1 101 "), r)
            accept = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            self.assertIn(f"Sec-WebSocket-Accept: {accept}\r\n", r)
            self.assertIn("Sec-WebSocket-Protocol: sip\r\n", r)
            options = (f"OPTIONS sip:127.0.0.1:{self.ws_port};transport=ws SIP/2.0\r\n"
                       "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks\r\n"
                       "From: <sip:probe@example.test>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                       "Call-ID: ws-options-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                       "Content-Length: 0\r\n\r\n").encode()
            s.sendall(ws_frame(b"\x01", opcode=0x9))  # a ping first: answered with a pong
            s.sendall(ws_frame(options))
            op, payload = read_frame(s)
            self.assertEqual((op, payload), (0xA, b"\x01"))
            op, payload = read_frame(s)
            self.assertEqual(op, 0x1)
            self.assertTrue(payload.startswith(b"SIP/2.0 200 "), payload)
            self.assertEqual(payload.count(b"\r\nVia: "), 1, payload)
            # An unmasked frame is a protocol error: close 1002.
            s.sendall(ws_frame(options, masked=False))
            op, payload = read_frame(s)
            self.assertEqual((op, payload[:2]), (0x8, struct.pack("!H", 1002)))

    def upgraded(self):
        s = socket.create_connection(("127.0.0.1", self.ws_port), 5)
        s.sendall(upgrade_request(self.ws_port, "sip", self.origin))
        self.assertTrue(read_head(s).startswith("HTTP/1.1 101 "))
        return s

    def test_idle_connection_is_pinged_then_closed_without_pong(self):
        with self.upgraded() as s:
            s.settimeout(KEEPALIVE + 3)
            op, payload = read_frame(s)
            self.assertEqual(op, 0x9)  # ping
            # No pong: closed once nothing came for twice the keep-alive.
            s.settimeout(2 * KEEPALIVE + 3)
            self.assertEqual(s.recv(100), b"")

    def test_oversized_message_is_refused_from_its_header(self):
        with self.upgraded() as s:
            s.settimeout(5)
            # A frame header announcing 1 MB (above server.max_message_size), no payload.
            s.sendall(b"\x81\xff" + struct.pack("!Q", 1 << 20) + b"\x11\x22\x33\x44")
            op, payload = read_frame(s)
            self.assertEqual((op, payload[:2]), (0x8, struct.pack("!H", 1009)))


if __name__ == "__main__":
    unittest.main()
