#!/usr/bin/env python3
"""Several sipproxyd nodes sharing one location store in Redis (registrar.store = "redis",
issue #15): a binding made at one node is used by another, an unregister at one is seen at
the other, 1,000 users registered through A are called through B, Redis down means 503 and
recovery without a restart, a node killed loses nothing, a Redis restarted empty gets the
nodes' bindings back, requirepass and a wrong password. Phones on TCP, TLS and WebSocket
registered at A are called through B over their own connection (whole calls, CANCEL,
forged and stale flow tokens); a node stops promptly while Redis hangs.

A real redis-server is started on a free port with its own folder (no persistence unless
a test asks for it). Run: SIPPROXYD=... SIPPROXYCTL=... python3 test_cluster.py
"""
import os
import re
import shutil
import socket
import subprocess
import time
import unittest

import harness
from harness import Proxy, edit_config, free_port, register, sipp, sipp_uas_background
from harness import UdpClient, digest_authorization, header, new_branch, new_call_id, status_of
from harness import options_from, read_head
from test_tls import Certificates, tls_connect, tls_toml
from test_websocket import read_frame, upgrade_request, ws_frame

DOMAIN = "example.test"
LOAD_GENERATOR = '[security]\nallow = ["127.0.0.1"]\n'
REDIS = shutil.which("redis-server")


class RedisServer:
    """redis-server on 127.0.0.1:<free port>, in its own folder, killed at the end."""

    def __init__(self, password=None, extra=()):
        self.port = free_port("tcp")
        self.extra = list(extra)
        self.dir = harness._mkdtemp("redis-")
        self.password = password
        self.proc = None

    def start(self, timeout=10.0):
        args = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--save", "", "--appendonly", "no", "--daemonize", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        args += self.extra
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        harness._live.append(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def node(redis, name, password=None, **kw):
    toml = kw.pop("extra_toml", "")
    toml += f'\n[redis]\nurl = "{redis.url}"\n'
    if password is not None:
        toml += f'password = "{password}"\n'
    p = Proxy(registrar_store="redis", extra_toml=toml, **kw)
    edit_config(p.config_path, "server", node_id=f'"{name}"')
    return p


def wait_for(what, predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def bindings(proxy, user):
    return proxy.ctl_json("show", "registrations", f"sip:{user}@{DOMAIN}")["registrations"]


@unittest.skipUnless(REDIS, "redis-server is not installed")
class ClusterCase(unittest.TestCase):
    """Redis, then node A and node B sharing it."""

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.a = node(self.redis, "a").start()
        self.addCleanup(self.a.stop)
        self.b = node(self.redis, "b").start()
        self.addCleanup(self.b.stop)


class TwoNodesTest(ClusterCase):
    def test_binding_made_at_a_is_used_at_b_and_unregister_at_b_is_seen_at_a(self):
        phone = free_port()
        t0 = time.monotonic()
        r = register(self.a, "alice", "alice-secret", phone)
        self.assertEqual(status_of(r), 200, r)
        seen = wait_for("alice at B", lambda: bindings(self.b, "alice"))
        took = time.monotonic() - t0
        self.assertEqual(seen[0]["contact"], f"sip:alice@127.0.0.1:{phone}")
        self.assertEqual(seen[0]["node"], "a")
        print(f"\nbinding made at A listed at B after {took * 1000:.0f} ms (incl. the REGISTER)")
        st = self.b.status()
        self.assertEqual(st["node_id"], "b")
        self.assertEqual(st["store"]["kind"], "redis")
        self.assertTrue(st["store"]["connected"], st)
        self.assertIn("a", st["store"]["peers"], st)

        r = register(self.b, "alice", "alice-secret", phone, expires=0)
        self.assertEqual(status_of(r), 200, r)
        wait_for("alice gone at A", lambda: not bindings(self.a, "alice"))

    def test_a_killed_b_keeps_every_binding_and_a_restarts_with_them(self):
        for i, user in enumerate(("alice", "bob")):
            self.assertEqual(status_of(register(self.a, user, f"{user}-secret", free_port())), 200)
        wait_for("both at B", lambda: self.b.status()["counts"]["bindings"] == 2)
        self.a.kill9()
        self.assertEqual(self.b.status()["counts"]["bindings"], 2)
        self.a.start()
        self.assertEqual(self.a.status()["counts"]["bindings"], 2)

    def test_redis_down_register_503_then_recovery_without_restart(self):
        phone = free_port()
        self.assertEqual(status_of(register(self.a, "alice", "alice-secret", phone)), 200)
        wait_for("alice at B", lambda: bindings(self.b, "alice"))
        self.redis.stop()
        wait_for("A sees Redis down", lambda: not self.a.status()["store"]["connected"], 5)
        r = register(self.a, "bob", "bob-secret", free_port())
        self.assertEqual(status_of(r), 503, r)
        self.assertEqual(header(r, "Retry-After"), "5")
        self.assertIn("location store", self.a.log_tail(80))
        # What the node has keeps working.
        self.assertTrue(bindings(self.b, "alice"))
        self.assertEqual(self.a.status()["counts"]["bindings"], 1)
        # Redis back on the same port, empty: the nodes reconnect by themselves and write
        # back the bindings they hold (no acknowledged registration lost).
        self.redis.start()
        wait_for("A reconnected", lambda: self.a.status()["store"]["connected"], 10)
        wait_for("B reconnected", lambda: self.b.status()["store"]["connected"], 10)
        r = register(self.a, "bob", "bob-secret", free_port())
        self.assertEqual(status_of(r), 200, r)
        wait_for("bob at B", lambda: bindings(self.b, "bob"))
        wait_for("alice still at B", lambda: bindings(self.b, "alice"))
        out = subprocess.run(["redis-cli", "-p", str(self.redis.port), "--scan", "--pattern",
                              "sipproxy:loc:*"], capture_output=True, text=True).stdout.split()
        self.assertEqual(sorted(out), [f"sipproxy:loc:alice@{DOMAIN}", f"sipproxy:loc:bob@{DOMAIN}"])


class RedisRestartUnderLoadTest(ClusterCase):
    def test_no_acknowledged_registration_lost_when_redis_restarts_empty(self):
        users = [(f"u{i:03d}", f"pw{i:03d}") for i in range(300)]
        # Nodes with these users (the ClusterCase nodes have only alice and bob).
        self.a.stop()
        self.b.stop()
        self.a = node(self.redis, "a", users=users, log_level="info").start()
        self.addCleanup(self.a.stop)
        self.b = node(self.redis, "b", users=users, log_level="info").start()
        self.addCleanup(self.b.stop)
        acked, refused = [], []
        for i, (u, pw) in enumerate(users):
            if i == 100:
                self.redis.stop()
            if i == 150:
                self.redis.start()
                wait_for("A reconnected", lambda: self.a.status()["store"]["connected"], 10)
                wait_for("B reconnected", lambda: self.b.status()["store"]["connected"], 10)
            proxy = self.a if i % 2 == 0 else self.b
            r = register(proxy, u, pw, free_port())
            (acked if status_of(r) == 200 else refused).append((u, status_of(r)))
        self.assertTrue(all(s == 503 for _, s in refused), refused)
        self.assertGreaterEqual(len(acked), 240)
        want = {u for u, _ in acked}

        def redis_users():
            out = subprocess.run(["redis-cli", "-p", str(self.redis.port), "--scan", "--pattern",
                                  "sipproxy:loc:*"], capture_output=True, text=True).stdout.split()
            return {k.split(":")[2].split("@")[0] for k in out}

        wait_for("every acknowledged registration in Redis", lambda: want <= redis_users(), 10)
        for p in (self.a, self.b):
            regs = p.ctl_json("show", "registrations")["registrations"]
            have = {r["aor"][4:].split("@")[0] for r in regs}
            self.assertLessEqual(want, have, f"{p.status()['node_id']}: {sorted(want - have)[:5]}")


class ChallengeAcrossNodesTest(ClusterCase):
    """A challenge from A answered at B; the same nc replayed at A is refused."""

    def test_challenge_from_a_answered_at_b_and_replay_refused_at_a(self):
        with UdpClient() as c:
            call_id, tag = new_call_id(), "t" + str(c.port)

            def send(proxy, cseq, auth=None):
                msg = [f"REGISTER sip:{DOMAIN} SIP/2.0",
                       f"Via: SIP/2.0/UDP 127.0.0.1:{c.port};branch={new_branch()};rport",
                       "Max-Forwards: 70", f"From: <sip:alice@{DOMAIN}>;tag={tag}",
                       f"To: <sip:alice@{DOMAIN}>", f"Call-ID: {call_id}",
                       f"CSeq: {cseq} REGISTER", f"Contact: <sip:alice@127.0.0.1:{c.port}>",
                       "Expires: 600"]
                if auth:
                    msg.append(f"Authorization: {auth}")
                c.send(proxy.port, "\n".join(msg) + "\n\n")
                return c.recv_final(3.0)

            r = send(self.a, 1)
            self.assertEqual(status_of(r), 401, r)
            chal = header(r, "WWW-Authenticate")
            auth = digest_authorization(chal, "alice", "alice-secret", "REGISTER", f"sip:{DOMAIN}")
            r = send(self.b, 2, auth)
            self.assertEqual(status_of(r), 200, r)
            time.sleep(0.2)  # the accepted nc reaches A (documented bound: milliseconds)
            r = send(self.a, 3, auth)
            self.assertEqual(status_of(r), 401, r)
            self.assertIn("stale=true", header(r, "WWW-Authenticate").lower())
            # The next nc on the same nonce is fine at A.
            auth2 = digest_authorization(chal, "alice", "alice-secret", "REGISTER",
                                         f"sip:{DOMAIN}", nc=2)
            r = send(self.a, 4, auth2)
            self.assertEqual(status_of(r), 200, r)


class _WsReader:
    """read_message/read_final over a WebSocket client (one SIP message per text frame)."""

    def __init__(self, sock):
        self.sock = sock

    def read_message(self, timeout):
        self.sock.settimeout(timeout)
        try:
            while True:
                op, payload = read_frame(self.sock)
                if op in (0x1, 0x2):
                    return payload.decode(errors="replace")
                if op == 0x9:  # a ping: pong
                    self.sock.sendall(ws_frame(payload, opcode=0xA))
                if op == 0x8:
                    return None
        except (socket.timeout, EOFError, OSError):
            return None

    def read_final(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            msg = self.read_message(max(0.01, deadline - time.monotonic()))
            if msg is None:
                return None
            s = status_of(msg)
            if s is not None and s >= 200:
                return msg


class StreamPhone:
    """A hand-made phone on one TCP, TLS or WebSocket connection to a node: it registers
    with digest and answers what comes in on that connection."""

    def __init__(self, test, kind, node_port, user="bob", cafile=None):
        self.kind, self.user = kind, user
        if kind == "tcp":
            self.port = free_port("tcp")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.connect(("127.0.0.1", node_port))
        elif kind == "tls":
            sock = tls_connect(node_port, cafile)
            self.port = sock.getsockname()[1]
        else:
            sock = socket.create_connection(("127.0.0.1", node_port), 5)
            sock.sendall(upgrade_request(node_port, "sip"))
            head = read_head(sock)
            test.assertTrue(head.startswith("HTTP/1.1 101 "), head)
            self.port = sock.getsockname()[1]
        test.addCleanup(sock.close)
        self.sock = sock
        self.reader = _WsReader(sock) if kind == "ws" else harness._TcpReader(sock)
        # A WebSocket client has no address to give (RFC 7118 5.2): a ".invalid" host.
        self.host = f"ph{self.port}.invalid" if kind == "ws" else f"127.0.0.1:{self.port}"
        self.contact = f"<sip:{user}@{self.host};transport={kind}>"
        self.via_proto = {"tcp": "TCP", "tls": "TLS", "ws": "WS"}[kind]

    def send(self, text):
        data = harness.crlf(text).encode()
        self.sock.sendall(ws_frame(data) if self.kind == "ws" else data)

    def read(self, timeout=5.0):
        return self.reader.read_message(timeout)

    def read_request(self, method, timeout=5.0):
        """The next request of this method (responses and other requests are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.read(max(0.01, deadline - time.monotonic()))
            if m is None or m.startswith(method + " "):
                return m

    def register(self, test):
        call_id, tag = new_call_id(), "p" + str(self.port)

        def build(cseq, auth=None):
            lines = [f"REGISTER sip:{DOMAIN} SIP/2.0",
                     f"Via: SIP/2.0/{self.via_proto} {self.host};branch={new_branch()};rport",
                     "Max-Forwards: 70", f"From: <sip:{self.user}@{DOMAIN}>;tag={tag}",
                     f"To: <sip:{self.user}@{DOMAIN}>", f"Call-ID: {call_id}",
                     f"CSeq: {cseq} REGISTER", f"Contact: {self.contact}",
                     "Expires: 600", "Content-Length: 0"]
            if auth:
                lines.append(f"Authorization: {auth}")
            return "\n".join(lines) + "\n\n"

        self.send(build(1))
        r = self.reader.read_final(5.0)
        test.assertEqual(status_of(r), 401, r)
        chal = harness.pick_challenge(header(r, "WWW-Authenticate", all_values=True))
        self.send(build(2, digest_authorization(chal, self.user, f"{self.user}-secret",
                                                "REGISTER", f"sip:{DOMAIN}")))
        r = self.reader.read_final(5.0)
        test.assertEqual(status_of(r), 200, r)
        test.assertNotIn("sipproxy-flow", r)  # A's Path entry is not echoed to the phone

    def respond(self, request, status, reason, to_tag="callee", extra=()):
        """A response to `request`, sent on this connection (Vias and Record-Routes copied)."""
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {v}" for v in header(request, "Via", all_values=True)]
        lines += [f"Record-Route: {v}" for v in header(request, "Record-Route", all_values=True)]
        for h in ("From", "Call-ID", "CSeq"):
            lines.append(f"{h}: {header(request, h)}")
        to = header(request, "To")
        lines.append(f"To: {to}" if ";tag=" in to or status == 100 else f"To: {to};tag={to_tag}")
        lines += list(extra)
        self.send("\n".join(lines) + "\nContent-Length: 0\n\n")


def record_route_uris(message):
    """The Record-Route URIs of a message, top first (one per value, header lines split)."""
    out = []
    for v in header(message, "Record-Route", all_values=True):
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def recv_request(client, method, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        m = client.recv(max(0.01, deadline - time.monotonic()))
        if m is None or m.startswith(method + " "):
            return m


def recv_status(client, status, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        m = client.recv(max(0.01, deadline - time.monotonic()))
        if m is None or status_of(m) == status:
            return m


@unittest.skipUnless(REDIS, "redis-server is not installed")
class FlowsAcrossNodesTest(unittest.TestCase):
    """A phone on TCP, TLS or WebSocket registered at A is called through B: the INVITE
    goes via A, over the phone's own connection (Path-style, A's flow token). The whole
    call goes both ways through both nodes (record-routed), a CANCEL at B reaches the
    phone, a Route to A with a forged or tampered token is refused, not relayed, and one
    that A signed before it restarted is answered 480 (the connection is gone)."""

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.certs = Certificates()
        self.tls_port, self.ws_port = free_port("tcp"), free_port("tcp")
        # A trusts nobody: only the token gets through.
        self.a = node(self.redis, "a", extra_toml=tls_toml(self.certs),
                      extra_listen=[f"tls://127.0.0.1:{self.tls_port}",
                                    f"ws://127.0.0.1:{self.ws_port}"]).start()
        self.addCleanup(self.a.stop)
        # B takes the caller's INVITE without a challenge (a trusted source).
        self.b = node(self.redis, "b", trusted=["127.0.0.1/32"]).start()
        self.addCleanup(self.b.stop)

    def phone(self, kind="tcp", user="bob"):
        port = {"tcp": self.a.port, "tls": self.tls_port, "ws": self.ws_port}[kind]
        p = StreamPhone(self, kind, port, user, cafile=self.certs.ca)
        p.register(self)
        seen = wait_for(f"{user} at B", lambda: bindings(self.b, user))
        self.assertEqual(seen[0]["node"], "a")
        self.assertEqual(len(seen[0]["path"]), 1, seen)
        self.assertIn(f"sipproxy-flow={kind}~127.0.0.1~{p.port}~", seen[0]["path"][0])
        return p

    def invite(self, client, proxy_port, user, routes=(), call_id=None, branch=None):
        self.call_id = call_id or new_call_id()
        self.branch = branch or new_branch()
        msg = [f"INVITE sip:{user}@{DOMAIN} SIP/2.0",
               f"Via: SIP/2.0/UDP 127.0.0.1:{client.port};branch={self.branch};rport",
               "Max-Forwards: 70", f"From: <sip:dave@{DOMAIN}>;tag=d{client.port}",
               f"To: <sip:{user}@{DOMAIN}>", f"Call-ID: {self.call_id}", "CSeq: 1 INVITE",
               f"Contact: <sip:dave@127.0.0.1:{client.port}>"]
        msg += [f"Route: {r}" for r in routes]
        client.send(proxy_port, "\n".join(msg) + "\nContent-Length: 0\n\n")
        return msg

    def assert_via_a(self, inv):
        self.assertIsNotNone(inv, "no INVITE on the phone's connection")
        vias = header(inv, "Via", all_values=True)
        # A's Via on top (sent over A's connection), B's below, then the caller's.
        self.assertGreaterEqual(len(vias), 3, inv)
        a_ports = (self.a.port, self.tls_port, self.ws_port)
        self.assertTrue(any(f"127.0.0.1:{p};" in vias[0] for p in a_ports), inv)
        self.assertIn(f":{self.b.port}", vias[1], inv)
        self.assertNotIn("sipproxy-flow", header(inv, "Route") or "", inv)

    def busy_call(self, phone):
        with UdpClient() as caller:
            self.invite(caller, self.b.port, phone.user)
            inv = phone.read_request("INVITE")
            self.assert_via_a(inv)
            self.assertIn(f"@{phone.host}", inv.split("\r\n", 1)[0], inv)
            # The phone answers busy on its connection; the caller hears it through B.
            phone.respond(inv, 486, "Busy Here")
            r = caller.recv_final(5.0)
            self.assertEqual(status_of(r), 486, r)

    def test_tcp_phone_registered_at_a_is_called_through_b_over_its_connection(self):
        self.busy_call(self.phone("tcp"))

    def test_tls_phone_registered_at_a_is_called_through_b_over_its_connection(self):
        self.busy_call(self.phone("tls"))

    def test_websocket_phone_registered_at_a_is_called_through_b_over_its_connection(self):
        self.busy_call(self.phone("ws"))

    def full_call(self, phone, callee_hangs_up):
        """INVITE via B and A, 180 and 200 back to the caller, the ACK to the phone, then
        a BYE from one side to the other and its 200 back: everything through both nodes."""
        with UdpClient() as caller:
            self.invite(caller, self.b.port, phone.user)
            inv = phone.read_request("INVITE")
            self.assert_via_a(inv)
            rr = record_route_uris(inv)
            # Both nodes record-route (B, and A on top); the phone's route set is that order.
            self.assertTrue(any(f":{self.a.port}" in u for u in rr), rr)
            self.assertTrue(any(f":{self.b.port}" in u for u in rr), rr)
            phone.respond(inv, 180, "Ringing")
            self.assertIsNotNone(recv_status(caller, 180), "no 180 at the caller")
            phone.respond(inv, 200, "OK", extra=[f"Contact: {phone.contact}"])
            ok = recv_status(caller, 200)
            self.assertIsNotNone(ok, "no 200 at the caller")
            # The caller's route set: the Record-Route reversed (RFC 3261 12.1.2).
            routes = list(reversed(record_route_uris(ok)))
            to = header(ok, "To")
            contact = header(ok, "Contact").strip()
            ruri = contact[contact.index("<") + 1:contact.index(">")]
            common = [f"From: <sip:dave@{DOMAIN}>;tag=d{caller.port}", f"To: {to}",
                      f"Call-ID: {self.call_id}", "Max-Forwards: 70"]
            common += [f"Route: {r}" for r in routes]
            ack = [f"ACK {ruri} SIP/2.0",
                   f"Via: SIP/2.0/UDP 127.0.0.1:{caller.port};branch={new_branch()};rport",
                   "CSeq: 1 ACK"] + common
            caller.send(self.b.port, "\n".join(ack) + "\nContent-Length: 0\n\n")
            got = phone.read_request("ACK")
            self.assertIsNotNone(got, "the ACK did not reach the phone")
            self.assertIn(self.call_id, got)

            if callee_hangs_up:
                bye = [f"BYE sip:dave@127.0.0.1:{caller.port} SIP/2.0",
                       f"Via: SIP/2.0/{phone.via_proto} {phone.host};branch={new_branch()};rport",
                       "Max-Forwards: 70", f"From: {to}",
                       f"To: <sip:dave@{DOMAIN}>;tag=d{caller.port}",
                       f"Call-ID: {self.call_id}", "CSeq: 1 BYE"]
                bye += [f"Route: {r}" for r in rr]
                phone.send("\n".join(bye) + "\nContent-Length: 0\n\n")
                got = recv_request(caller, "BYE")
                self.assertIsNotNone(got, "the phone's BYE did not reach the caller")
                vias = header(got, "Via", all_values=True)
                self.assertEqual(len(vias), 3, got)  # B, A, the phone
                lines = ["SIP/2.0 200 OK"] + [f"Via: {v}" for v in vias]
                lines += [f"{h}: {header(got, h)}" for h in ("From", "To", "Call-ID", "CSeq")]
                caller.send(self.b.port, "\n".join(lines) + "\nContent-Length: 0\n\n")
                r = phone.reader.read_final(5.0)
                self.assertEqual(status_of(r), 200, r)
                self.assertIn("BYE", header(r, "CSeq"))
            else:
                bye = [f"BYE {ruri} SIP/2.0",
                       f"Via: SIP/2.0/UDP 127.0.0.1:{caller.port};branch={new_branch()};rport",
                       "CSeq: 2 BYE"] + common
                caller.send(self.b.port, "\n".join(bye) + "\nContent-Length: 0\n\n")
                got = phone.read_request("BYE")
                self.assertIsNotNone(got, "the caller's BYE did not reach the phone")
                phone.respond(got, 200, "OK")
                r = recv_status(caller, 200)
                self.assertIsNotNone(r, "no 200 for the BYE at the caller")
                self.assertIn("BYE", header(r, "CSeq"))

    def test_tcp_full_call_caller_hangs_up(self):
        self.full_call(self.phone("tcp"), callee_hangs_up=False)

    def test_tcp_full_call_callee_hangs_up(self):
        self.full_call(self.phone("tcp"), callee_hangs_up=True)

    def test_websocket_full_call_callee_hangs_up(self):
        self.full_call(self.phone("ws"), callee_hangs_up=True)

    def test_websocket_full_call_caller_hangs_up(self):
        # The ACK and the BYE reach the ".invalid" phone through A's signed wsflow.
        self.full_call(self.phone("ws"), callee_hangs_up=False)

    def test_cancel_at_b_cancels_the_branch_at_the_phone(self):
        phone = self.phone("tcp")
        with UdpClient() as caller:
            msg = self.invite(caller, self.b.port, phone.user)
            inv = phone.read_request("INVITE")
            self.assert_via_a(inv)
            phone.respond(inv, 180, "Ringing")
            self.assertIsNotNone(recv_status(caller, 180), "no 180 at the caller")
            cancel = [l.replace("INVITE", "CANCEL") if l.startswith(("INVITE ", "CSeq:")) else l
                      for l in msg if not l.startswith("Contact:")]
            caller.send(self.b.port, "\n".join(cancel) + "\nContent-Length: 0\n\n")
            got = phone.read_request("CANCEL")
            self.assertIsNotNone(got, "the CANCEL did not reach the phone")
            # The same branch as the INVITE it cancels (RFC 3261 9.1).
            self.assertEqual(header(got, "Via", all_values=True)[0],
                             header(inv, "Via", all_values=True)[0])
            phone.respond(got, 200, "OK")
            phone.respond(inv, 487, "Request Terminated")
            r = recv_status(caller, 487)
            self.assertIsNotNone(r, "no 487 at the caller")
            # A acknowledges the 487 to the phone (hop by hop, RFC 3261 17.1.1.3).
            ack = phone.read_request("ACK")
            self.assertIsNotNone(ack, "no ACK for the 487 at the phone")

    def test_route_to_a_with_forged_or_tampered_flow_token_is_refused(self):
        phone = self.phone("tcp")
        real = bindings(self.b, "bob")[0]["path"][0]
        value = real.split("sipproxy-flow=", 1)[1].rstrip(">")
        fields = value.split("~")
        self.assertEqual(len(fields), 6, value)  # transport, address, port, id, run, token
        forged = "~".join(fields[:5] + ["AAAAAAAAAAAAAAAA"])
        tampered = "~".join(fields[:3] + [str(int(fields[3]) + 1)] + fields[4:])
        other_run = "~".join(fields[:4] + ["%016x" % (int(fields[4], 16) ^ 1), fields[5]])
        own = f"sip:127.0.0.1:{self.a.port};transport=tcp;lr"
        with UdpClient() as attacker:
            for bad in (forged, tampered, other_run, "tcp~127.0.0.1~1~1"):
                self.invite(attacker, self.a.port, "bob",
                            routes=[f"<{own};sipproxy-flow={bad}>"])
                r = attacker.recv_final(3.0)
                self.assertEqual(status_of(r), 403, r)
            # ...and it did not go to the phone.
            self.assertIsNone(phone.read(0.5))

    def test_flow_token_from_before_a_restart_is_answered_480(self):
        phone = self.phone("tcp")
        path = bindings(self.b, "bob")[0]["path"][0]
        # A restarts (same node secret, a new run): the phone's connection is gone, and
        # connection ids start again at 1. Another TCP client takes id 1 at A.
        self.a.stop()
        self.a.start()
        with socket.create_connection(("127.0.0.1", self.a.port), 5) as other:
            other.sendall(harness.crlf(self.a.options(other.getsockname()[1]).replace(
                "SIP/2.0/UDP", "SIP/2.0/TCP")).encode())
            self.assertEqual(status_of(harness._TcpReader(other).read_final(3.0)), 200)
            with UdpClient() as caller:
                # The binding, as B still has it (the phone has not registered again).
                self.assertEqual(bindings(self.b, "bob")[0]["path"][0], path)
                self.invite(caller, self.b.port, "bob")
                r = caller.recv_final(5.0)
                self.assertEqual(status_of(r), 480, r)
            self.assertIsNone(harness._TcpReader(other).read_message(0.3))


@unittest.skipUnless(REDIS, "redis-server is not installed")
class CallsWhileRedisDownTest(unittest.TestCase):
    def test_calls_to_known_bindings_keep_working_without_redis(self):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        a = node(redis, "a").start()
        self.addCleanup(a.stop)
        # B takes the call from the test's SIPp without a challenge (a trusted source).
        b = node(redis, "b", trusted=["127.0.0.1/32"]).start()
        self.addCleanup(b.stop)
        phone = free_port()
        self.assertEqual(status_of(register(a, "alice", "alice-secret", phone)), 200)
        wait_for("alice at B", lambda: bindings(b, "alice"))
        uas = sipp_uas_background("reg_uas_answer.xml", port=phone)
        self.addCleanup(uas.stop)
        redis.stop()
        wait_for("B sees Redis down", lambda: not b.status()["store"]["connected"], 5)
        r = sipp("proxy_uac.xml", f"127.0.0.1:{b.port}", "-key", "ruri", f"sip:alice@{DOMAIN}",
                 "-m", 1, timeout=20)
        self.assertEqual(r.returncode, 0, r.describe() + "\n--- uas\n" + uas.describe())
        self.assertEqual(int(r.stat()["SuccessfulCall(C)"]), 1)


@unittest.skipUnless(REDIS, "redis-server is not installed")
class IdleTimeoutTest(unittest.TestCase):
    def test_redis_closing_idle_connections_causes_no_error(self):
        # Kamailio #2764: a connection the server closed when idle made REGISTER fail.
        redis = RedisServer(extra=["--timeout", "1"]).start()
        self.addCleanup(redis.stop)
        a = node(redis, "a").start()
        self.addCleanup(a.stop)
        for user in ("alice", "bob"):
            time.sleep(2.5)  # idle longer than Redis' timeout
            r = register(a, user, f"{user}-secret", free_port())
            self.assertEqual(status_of(r), 200, r)
        self.assertEqual(a.status()["store"]["write_failures"], 0)


class HungRedisStopTest(unittest.TestCase):
    def test_stop_is_prompt_while_redis_does_not_answer(self):
        """A "Redis" that accepts connections and never answers (a hung server, or a
        network that drops its packets after the handshake): the node starts (REGISTERs
        503), and SIGTERM stops it in well under its 5 s command timeout; it used to wait
        for every blocked read and a reconnect (about two timeouts)."""
        hung = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # the kernel completes handshakes; nobody ever reads
        self.addCleanup(hung.close)
        toml = (f'[redis]\nurl = "redis://127.0.0.1:{hung.getsockname()[1]}/0"\n'
                "connect_timeout_ms = 5000\ncommand_timeout_ms = 5000\n")
        p = Proxy(registrar_store="redis", extra_toml=toml)
        self.addCleanup(p.stop)
        p.start(timeout=30)  # the start-up connection waits its timeout once
        time.sleep(0.5)  # the store's threads are blocked on the hung server again
        t0 = time.monotonic()
        status = p.stop(timeout=15)
        took = time.monotonic() - t0
        self.assertEqual(status, 0, p.log_tail())
        self.assertLess(took, 2.5, f"stop took {took:.2f} s")


@unittest.skipUnless(REDIS, "redis-server is not installed")
class PasswordTest(unittest.TestCase):
    def test_requirepass_right_and_wrong_password(self):
        redis = RedisServer(password="s3cret").start()
        self.addCleanup(redis.stop)
        good = node(redis, "a", password="s3cret").start()
        self.addCleanup(good.stop)
        self.assertEqual(status_of(register(good, "alice", "alice-secret", free_port())), 200)
        bad = node(redis, "b", password="wrong")
        with self.assertRaises(RuntimeError) as e:
            bad.start()
        self.assertIn("AUTH refused", str(e.exception))
        self.assertIn(redis.url, str(e.exception))
        none = node(redis, "c")
        with self.assertRaises(RuntimeError) as e:
            none.start()
        self.assertIn("password is required", str(e.exception))


def bans_of(proxy):
    return {b["network"]: b for b in proxy.ctl_json("show", "bans")["bans"]}


class SharedBansTest(ClusterCase):
    """Bans and failed-authentication scores hold for the cluster (issue #15 item 4)."""

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        limits = "[security]\nauth_failures = 6\nscanner_user_agents = []\n"
        self.a = node(self.redis, "a", extra_toml=limits, log_level="info").start()
        self.addCleanup(self.a.stop)
        self.b = node(self.redis, "b", extra_toml=limits, log_level="info").start()
        self.addCleanup(self.b.stop)

    def test_guesses_split_over_a_and_b_are_banned_at_both_at_the_cluster_total(self):
        attacker = "127.0.0.5"
        # 3 wrong passwords at each node, alternating: neither node alone reaches 6.
        for i in range(6):
            proxy = self.a if i % 2 == 0 else self.b
            r = register(proxy, "alice", "wrong", free_port(), source=attacker)
            self.assertEqual(status_of(r), 401, f"guess {i + 1}: {r}")
            time.sleep(0.3)  # the batch (20 ms) reaches the other node
        self.assertEqual(self.a.stats()["auth.failures"], 3)
        self.assertEqual(self.b.stats()["auth.failures"], 3)
        for p in (self.a, self.b):
            ban = wait_for("the ban at both nodes", lambda: bans_of(p).get(attacker), 5)
            self.assertEqual(ban["reason"], "auth")
        self.assertIn("6 failed authentications", self.a.log() + self.b.log())
        self.assertIsNone(options_from(self.a, attacker))
        self.assertIsNone(options_from(self.b, attacker))
        # Others are not affected.
        self.assertIsNotNone(options_from(self.a, "127.0.0.6"))
        self.assertEqual(status_of(register(self.b, "alice", "alice-secret", free_port(),
                                            source="127.0.0.6")), 200)
        for p in (self.a, self.b):
            st = p.status()["store"]
            self.assertGreater(st["abuse_notices_sent"], 0, st)
            self.assertGreater(st["abuse_notices_received"], 0, st)

    def test_ban_add_at_a_refuses_at_b_and_ban_remove_at_b_lifts_it_at_a(self):
        src = "127.0.0.7"
        self.assertIsNotNone(options_from(self.b, src))
        out = self.a.ctl("ban", "add", src, "--for", "10m", "--reason", "ticket 12")
        self.assertEqual(out.returncode, 0, out.stderr)
        ban = wait_for("the ban at B", lambda: bans_of(self.b).get(src), 5)
        self.assertEqual((ban["reason"], ban["note"], ban["origin"]), ("operator", "ticket 12", "a"))
        self.assertTrue(590 <= ban["expires_in"] <= 600, ban)
        self.assertIsNone(bans_of(self.a)[src]["origin"])
        self.assertIsNone(options_from(self.b, src))
        self.assertIn(f"ban: source={src} reason=operator duration=", self.b.log())
        # B's bans file keeps its own bans only: Redis is the store of the others'.
        time.sleep(1.5)
        with open(os.path.join(self.b.state_dir, "bans")) as f:
            self.assertNotIn(src, f.read())
        table = self.b.ctl("show", "bans").stdout.splitlines()
        self.assertRegex(next(l for l in table if l.startswith(src)), r" a +ticket 12$")

        out = self.b.ctl("ban", "remove", src)
        self.assertEqual(out.returncode, 0, out.stderr)
        wait_for("the ban lifted at A", lambda: src not in bans_of(self.a), 5)
        self.assertIsNotNone(options_from(self.a, src))
        self.assertIsNotNone(options_from(self.b, src))
        keys = subprocess.run(["redis-cli", "-p", str(self.redis.port), "HKEYS", "sipproxy:bans"],
                              capture_output=True, text=True).stdout.split()
        self.assertEqual(keys, [])

    def test_a_node_started_after_the_ban_refuses_the_source(self):
        src = "127.0.0.8"
        self.assertEqual(self.a.ctl("ban", "add", src, "--for", "10m").returncode, 0)
        self.assertEqual(self.a.ctl("ban", "add", "192.0.2.0/24").returncode, 0)
        wait_for("the bans at B", lambda: len(bans_of(self.b)) == 2, 5)
        c = node(self.redis, "c").start()
        self.addCleanup(c.stop)
        got = wait_for("the bans at C", lambda: len(bans_of(c)) == 2 and bans_of(c), 5)
        self.assertEqual(got[src]["origin"], "a")
        self.assertTrue(590 <= got[src]["expires_in"] <= 600, got)
        self.assertIsNone(got["192.0.2.0/24"]["until"])
        self.assertIsNone(options_from(c, src))
        # Redis restarted empty: the nodes keep their bans, and A writes its own back.
        self.redis.stop()
        self.redis.start()
        for p in (self.a, self.b, c):
            wait_for("reconnected", lambda: p.status()["store"]["connected"], 10)
        hkeys = lambda: subprocess.run(["redis-cli", "-p", str(self.redis.port), "HKEYS",
                                        "sipproxy:bans"], capture_output=True, text=True).stdout.split()
        wait_for("A's bans back in Redis", lambda: sorted(hkeys()) == ["127.0.0.8/32", "192.0.2.0/24"], 10)
        self.assertEqual(len(bans_of(self.b)), 2)
        self.assertIsNone(options_from(c, src))
        # Lifted at B: gone everywhere, C included.
        self.assertEqual(self.b.ctl("ban", "remove", src).returncode, 0)
        for p in (self.a, c):
            wait_for("the ban lifted", lambda: set(bans_of(p)) == {"192.0.2.0/24"}, 5)
        self.assertIsNotNone(options_from(c, src))


class SharedFraudLimitTest(unittest.TestCase):
    """[[fraud]] calls_per_minute = 3 for alice holds for the cluster: 3 calls spread over A
    and B, the 4th refused at either node."""

    @unittest.skipUnless(REDIS, "redis-server is not installed")
    def test_calls_per_minute_holds_across_nodes(self):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        gw = harness.sipp_uas_background("gw_uas.xml")
        self.addCleanup(gw.stop)
        extra = (f'[[gateways]]\nname = "carrier"\nuri = "sip:127.0.0.1:{gw.port}"\n\n'
                 '[[routes]]\nname = "intl"\nmatch = "^00"\ngateways = ["carrier"]\n\n'
                 '[[fraud]]\nuser = "*"\nroute = "intl"\n'
                 'calls_per_minute = { critical = 3 }\n')
        nodes = []
        for name in ("a", "b"):
            p = node(redis, name, extra_toml=extra, auth_algorithms=["MD5"], log_level="info")
            p.start()
            self.addCleanup(p.stop)
            nodes.append(p)
        a, b = nodes

        def call(p):
            r = sipp("gw_auth_uac.xml", f"127.0.0.1:{p.port}", "-key", "ruri",
                     f"sip:0049301234@{DOMAIN}", "-key", "from", f"sip:alice@{DOMAIN}",
                     "-au", "alice", "-ap", "alice-secret", "-auth_uri",
                     f"0049301234@{DOMAIN}", timeout=20)
            got = re.findall(r"(?m)^FINAL (\d{3})", r.logs())
            self.assertEqual(len(got), 1, f"{r.describe()}\n{p.log_tail(20)}")
            return int(got[0])

        for p in (a, b, a):
            self.assertEqual(call(p), 200)
            time.sleep(0.3)  # the batch (20 ms) reaches the other node
        self.assertEqual(call(b), 403, b.log_tail(20))
        self.assertEqual(call(a), 403, a.log_tail(20))
        self.assertEqual(gw.received("INVITE"), 3)
        for p in (a, b):
            rows = {(r["limit"]): r["value"] for r in p.ctl_json("show", "limits", "alice")["limits"]}
            self.assertEqual(rows["calls_per_minute"], 3, rows)
        self.assertIn("fraud limit critical: user=alice route=intl scope=user "
                      "limit=calls_per_minute value=4 threshold=3 action=refused", b.log())


class SharedConcurrentCallsTest(unittest.TestCase):
    """[[fraud]] concurrent_calls = 2 for alice holds for the cluster; the calls in progress
    of a node that died stop counting at the other within a few seconds."""

    @unittest.skipUnless(REDIS, "redis-server is not installed")
    def test_concurrent_calls_across_nodes_and_a_dead_node_stops_counting(self):
        from test_fraud import RawCall, limits_of
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        gw = UdpClient()
        self.addCleanup(gw.close)
        extra = (f'[[gateways]]\nname = "carrier"\nuri = "sip:127.0.0.1:{gw.port}"\n\n'
                 '[[routes]]\nname = "intl"\nmatch = "^00"\ngateways = ["carrier"]\n\n'
                 '[[fraud]]\nuser = "*"\nconcurrent_calls = { critical = 2 }\n')
        a = node(redis, "a", extra_toml=extra, log_level="info").start()
        self.addCleanup(a.stop)
        b = node(redis, "b", extra_toml=extra, log_level="info").start()
        self.addCleanup(b.stop)

        def call(p):
            c = RawCall(p, gw)
            self.addCleanup(c.close)
            return c

        def concurrent(p):
            return limits_of(p, "alice")[("alice", "*", "user", "concurrent_calls")]["value"]

        for p in (a, b):  # one call ringing at each node
            c = call(p)
            inv = c.start()
            self.assertTrue(inv.startswith("INVITE "), inv)
            c.gw_respond(inv, 180, "Ringing")
        for p in (a, b):
            wait_for("2 calls in progress in the cluster", lambda: concurrent(p) == 2, 5)
        for p in (a, b):
            r = call(p).start()
            self.assertEqual(status_of(r), 403, r)
            self.assertIn("call limit reached (concurrent_calls)", r.splitlines()[0])
        # A dies: its call stops counting at B (3 s without A's heartbeat).
        a.kill9()
        t0 = time.monotonic()
        wait_for("A's call forgotten at B", lambda: concurrent(b) == 1, 8)
        print(f"\nA's calls in progress forgotten at B {time.monotonic() - t0:.1f} s after A died")
        c = call(b)
        inv = c.start()
        self.assertTrue(inv.startswith("INVITE "), inv)


@unittest.skipUnless(REDIS, "redis-server is not installed")
class BulkTest(unittest.TestCase):
    def test_1000_users_registered_at_a_called_through_b(self):
        n = 1000
        users = [(f"u{i:04d}", f"pw-{i:04d}x") for i in range(n)]
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        a = node(redis, "a", users=users, log_level="info", extra_toml=LOAD_GENERATOR)
        edit_config(a.config_path, "auth", algorithms='["MD5", "SHA-256"]')
        a.start()
        self.addCleanup(a.stop)
        # B takes calls from the load generator without a challenge (a trusted source).
        b = node(redis, "b", users=users, log_level="info", extra_toml=LOAD_GENERATOR,
                 trusted=["127.0.0.1/32"])
        b.start()
        self.addCleanup(b.stop)

        csv = os.path.join(a.dir, "reg_users.csv")
        with open(csv, "w") as f:
            f.write("SEQUENTIAL\n")
            for u, pw in users:
                f.write(f"{u};{pw};[authentication username={u} password={pw}]\n")
        phone_port = free_port()
        r = sipp("reg_digest_register.xml", f"127.0.0.1:{a.port}", "-m", n, "-r", 500,
                 "-l", 200, "-auth_uri", DOMAIN, inf=csv, port=phone_port, timeout=90)
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual(int(r.stat()["SuccessfulCall(C)"]), n)
        wait_for("B holds every binding", lambda: b.status()["counts"]["bindings"] == n, 10)

        uas = sipp_uas_background("reg_uas_answer.xml", port=phone_port)
        self.addCleanup(uas.stop)
        callees = os.path.join(b.dir, "callees.csv")
        with open(callees, "w") as f:
            f.write("SEQUENTIAL\n" + "".join(f"{u}\n" for u, _ in users))
        r = sipp("cluster_uac.xml", f"127.0.0.1:{b.port}", "-m", n, "-r", 200, "-l", 200,
                 inf=callees, timeout=120)
        self.assertEqual(r.returncode, 0, r.describe() + "\n--- uas\n" + uas.describe())
        self.assertEqual(int(r.stat()["SuccessfulCall(C)"]), n)


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *map(str, args)], capture_output=True,
                          text=True, timeout=10).stdout


def redis_aors(port):
    """The users with a binding hash in the Redis on `port`."""
    out = redis_cli(port, "--scan", "--pattern", "sipproxy:loc:*").split()
    return {k.split(":")[2].split("@")[0] for k in out}


class SentinelServer:
    """redis-server --sentinel on 127.0.0.1:<free port> watching `primary_port` as MASTER
    (quorum 1, down after 1 s), with its own writable config file (Sentinel rewrites it)."""

    MASTER = "mymaster"

    def __init__(self, primary_port, port=None):
        self.port = port or free_port("tcp")
        self.dir = harness._mkdtemp("sentinel-")
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                    f"sentinel monitor {self.MASTER} 127.0.0.1 {primary_port} 1\n"
                    f"sentinel down-after-milliseconds {self.MASTER} 1000\n"
                    f"sentinel failover-timeout {self.MASTER} 5000\n"
                    f"sentinel parallel-syncs {self.MASTER} 1\n")
        self.proc = None

    def start(self, timeout=10.0):
        self.proc = subprocess.Popen([REDIS, self.conf, "--sentinel"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        harness._live.append(self.proc)
        wait_for("sentinel up", lambda: "PONG" in redis_cli(self.port, "PING"), timeout)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def primary(self):
        out = redis_cli(self.port, "SENTINEL", "get-master-addr-by-name", self.MASTER).split()
        return f"{out[0]}:{out[1]}" if len(out) == 2 else None

    def knows_replica(self, port):
        return f"\n{port}\n" in "\n" + redis_cli(self.port, "SENTINEL", "replicas", self.MASTER)


def sentinel_node(sentinel_port, name, **kw):
    toml = kw.pop("extra_toml", "")
    toml += (f'\n[redis]\nsentinels = ["127.0.0.1:{sentinel_port}"]\n'
             f'sentinel_master = "{SentinelServer.MASTER}"\nconnect_timeout_ms = 500\n')
    p = Proxy(registrar_store="redis", extra_toml=toml, **kw)
    edit_config(p.config_path, "server", node_id=f'"{name}"')
    return p


@unittest.skipUnless(REDIS, "redis-server is not installed")
class SentinelFailoverTest(unittest.TestCase):
    """A primary, its replica and a sentinel; two nodes that know only the sentinel. The
    primary is SIGKILLed under registration load: the sentinel promotes the replica, the
    nodes find it by themselves, and no registration answered 200 is missing from it."""

    def test_primary_killed_under_load_nodes_follow_the_sentinel_and_lose_nothing(self):
        primary = RedisServer().start()
        self.addCleanup(primary.stop)
        replica = RedisServer(extra=["--replicaof", "127.0.0.1", str(primary.port)]).start()
        self.addCleanup(replica.stop)
        wait_for("replica in sync",
                 lambda: "master_link_status:up" in redis_cli(replica.port, "INFO", "replication"), 10)
        sentinel = SentinelServer(primary.port).start()
        self.addCleanup(sentinel.stop)
        wait_for("sentinel knows the replica", lambda: sentinel.knows_replica(replica.port), 20)

        users = [(f"u{i:04d}", f"pw{i:04d}") for i in range(1200)]
        nodes = []
        for name in ("a", "b"):
            p = sentinel_node(sentinel.port, name, users=users, log_level="info",
                              extra_toml=LOAD_GENERATOR).start()
            self.addCleanup(p.stop)
            nodes.append(p)
        a, b = nodes
        for p in nodes:
            st = p.status()["store"]
            self.assertEqual((st["primary"], st["primary_from"], st["connected"]),
                             (f"127.0.0.1:{primary.port}", "sentinel", True), st)
            self.assertIn("(from Sentinel)", p.ctl("status").stdout)

        results = {}  # user -> status (None: no answer)
        it = iter(users)

        def register_next():
            u, pw = next(it)
            r = register(a if len(results) % 2 == 0 else b, u, pw, free_port(), timeout=3.0)
            results[u] = status_of(r)
            if status_of(r) == 503:
                self.assertEqual(header(r, "Retry-After"), "5", r)
            return status_of(r)

        for _ in range(200):
            self.assertEqual(register_next(), 200)
        wait_for("the replica has them", lambda: len(redis_aors(replica.port)) == 200, 10)
        # The loss window, made certain: the replica stops following the primary, which
        # acknowledges 20 more registrations the replica never gets (replication is
        # asynchronous; the sentinel leaves the replica alone for failover-timeout).
        redis_cli(replica.port, "REPLICAOF", "127.0.0.1", free_port("tcp"))
        for _ in range(20):
            self.assertEqual(register_next(), 200)
        gap = set(list(results)[200:])
        self.assertFalse(gap & redis_aors(replica.port))
        # And a second contact for a user the replica has: its AOR there lacks a binding.
        self.assertEqual(status_of(register(b, "u0000", "pw0000", free_port())), 200)
        first_aor = f"sipproxy:loc:u0000@{DOMAIN}"
        self.assertEqual(redis_cli(primary.port, "HLEN", first_aor).strip(), "2")
        self.assertEqual(redis_cli(replica.port, "HLEN", first_aor).strip(), "1")
        before_kill = set(results)
        t_kill = time.monotonic()
        os.kill(primary.proc.pid, 9)
        primary.proc.wait(5)
        new_primary = f"127.0.0.1:{replica.port}"

        def followed():
            return all(p.status()["store"]["primary"] == new_primary and
                       p.status()["store"]["connected"] for p in nodes)

        # Registrations go on during the failover (paced: the refused ones are fast).
        deadline = time.monotonic() + 60
        while not followed():
            self.assertLess(time.monotonic(), deadline, "nodes did not follow the failover: "
                            + str([p.status()["store"] for p in nodes]))
            register_next()
            time.sleep(0.02)
        took = time.monotonic() - t_kill
        self.assertEqual(sentinel.primary(), new_primary)
        self.assertIn("role:master", redis_cli(replica.port, "INFO", "replication"))
        during = {u: s for u, s in results.items() if u not in before_kill}
        after = []
        for _ in range(100):
            after.append(register_next())
        self.assertEqual(after, [200] * 100)
        print(f"\nfailover: nodes on the new primary {took:.1f} s after the kill; during it "
              f"{sum(s == 200 for s in during.values())} REGISTER 200, "
              f"{sum(s == 503 for s in during.values())} 503, "
              f"{sum(s not in (200, 503) for s in during.values())} other")
        self.assertTrue(all(s in (200, 503, None) for s in during.values()), during)

        acked = {u for u, s in results.items() if s == 200}
        wait_for("every registration answered 200 in the new primary",
                 lambda: acked <= redis_aors(replica.port), 15)
        self.assertEqual(redis_cli(replica.port, "HLEN", first_aor).strip(), "2")
        # What the replica missed came back from the nodes' write-back.
        self.assertTrue(any("writing them back" in p.log_tail(200) for p in nodes))
        for p in nodes:
            wait_for("every registration answered 200 on the node", lambda: acked <= {
                r["aor"][4:].split("@")[0]
                for r in p.ctl_json("show", "registrations")["registrations"]}, 15)
            st = p.status()["store"]
            self.assertEqual(st["primary_from"], "sentinel")
            out = p.ctl("status").stdout
            self.assertIn(f"to primary {new_primary} (from Sentinel)", out)


@unittest.skipUnless(REDIS, "redis-server is not installed")
class SentinelUnreachableTest(unittest.TestCase):
    def test_start_with_no_sentinel_answering_then_it_comes(self):
        sentinel_port = free_port("tcp")
        a = sentinel_node(sentinel_port, "a").start()
        self.addCleanup(a.stop)
        st = a.status()["store"]
        self.assertFalse(st["connected"], st)
        self.assertIn(f"sentinel 127.0.0.1:{sentinel_port}", st["last_error"])
        self.assertIn("no sentinel named the primary 'mymaster'", a.log_tail(80))
        r = register(a, "alice", "alice-secret", free_port())
        self.assertEqual(status_of(r), 503, r)
        self.assertEqual(header(r, "Retry-After"), "5")
        # The sentinel (and its primary) come: the node finds them by itself.
        primary = RedisServer().start()
        self.addCleanup(primary.stop)
        sentinel = SentinelServer(primary.port, port=sentinel_port).start()
        self.addCleanup(sentinel.stop)
        wait_for("A connected", lambda: a.status()["store"]["connected"], 15)
        self.assertEqual(a.status()["store"]["primary"], f"127.0.0.1:{primary.port}")
        self.assertEqual(status_of(register(a, "alice", "alice-secret", free_port())), 200)
        self.assertEqual(redis_aors(primary.port), {"alice"})

    def test_sentinel_naming_a_replica_is_not_written_to(self):
        # The sentinel lags: it still names a server that is a replica now. The node must
        # refuse to write there (503), never answer 200 for a write a replica refused.
        upstream = RedisServer().start()
        self.addCleanup(upstream.stop)
        primary = RedisServer().start()
        self.addCleanup(primary.stop)
        sentinel = SentinelServer(primary.port).start()
        self.addCleanup(sentinel.stop)
        a = sentinel_node(sentinel.port, "a").start()
        self.addCleanup(a.stop)
        self.assertEqual(status_of(register(a, "alice", "alice-secret", free_port())), 200)
        # Demoted behind the sentinel's back (it takes seconds to notice).
        redis_cli(primary.port, "REPLICAOF", "127.0.0.1", upstream.port)
        r = register(a, "bob", "bob-secret", free_port())
        self.assertEqual(status_of(r), 503, r)
        self.assertEqual(header(r, "Retry-After"), "5")
        self.assertNotIn("bob", redis_aors(primary.port) | redis_aors(upstream.port))
        wait_for("ROLE seen", lambda: "ROLE" in (a.status()["store"]["last_error"] or "")
                 or "READONLY" in a.log_tail(80), 10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
