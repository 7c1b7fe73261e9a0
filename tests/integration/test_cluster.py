#!/usr/bin/env python3
"""Several sipproxyd nodes sharing one location store in Redis (registrar.store = "redis",
issue #15): a binding made at one node is used by another, an unregister at one is seen at
the other, 1,000 users registered through A are called through B, Redis down means 503 and
recovery without a restart, a node killed loses nothing, a Redis restarted empty gets the
nodes' bindings back, requirepass and a wrong password.

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


@unittest.skipUnless(REDIS, "redis-server is not installed")
class TcpFlowAcrossNodesTest(unittest.TestCase):
    """A TCP phone registered at A is called through B: the INVITE goes via A, over the
    phone's own connection (Path-style, the flow token of A). A Route to A with a forged or
    tampered token is refused, not relayed."""

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.a = node(self.redis, "a").start()  # trusts nobody: only the token gets through
        self.addCleanup(self.a.stop)
        # B takes the caller's INVITE without a challenge (a trusted source).
        self.b = node(self.redis, "b", trusted=["127.0.0.1/32"]).start()
        self.addCleanup(self.b.stop)

    def register_tcp_phone(self, user="bob"):
        """A TCP connection from the phone to A, kept open; REGISTER with digest."""
        port = free_port("tcp")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.connect(("127.0.0.1", self.a.port))
        self.addCleanup(sock.close)
        reader = harness._TcpReader(sock)
        call_id, tag = new_call_id(), "p" + str(port)

        def build(cseq, auth=None):
            lines = [f"REGISTER sip:{DOMAIN} SIP/2.0",
                     f"Via: SIP/2.0/TCP 127.0.0.1:{port};branch={new_branch()};rport",
                     "Max-Forwards: 70", f"From: <sip:{user}@{DOMAIN}>;tag={tag}",
                     f"To: <sip:{user}@{DOMAIN}>", f"Call-ID: {call_id}",
                     f"CSeq: {cseq} REGISTER",
                     f"Contact: <sip:{user}@127.0.0.1:{port};transport=tcp>",
                     "Expires: 600", "Content-Length: 0"]
            if auth:
                lines.append(f"Authorization: {auth}")
            return harness.crlf("\n".join(lines) + "\n\n")

        sock.sendall(build(1).encode())
        r = reader.read_final(3.0)
        self.assertEqual(status_of(r), 401, r)
        chal = harness.pick_challenge(header(r, "WWW-Authenticate", all_values=True))
        sock.sendall(build(2, digest_authorization(chal, user, f"{user}-secret", "REGISTER",
                                                   f"sip:{DOMAIN}")).encode())
        r = reader.read_final(3.0)
        self.assertEqual(status_of(r), 200, r)
        self.assertNotIn("sipproxy-flow", r)  # A's Path entry is not echoed to the phone
        return port, sock, reader

    def invite(self, client, proxy_port, user, routes=()):
        msg = [f"INVITE sip:{user}@{DOMAIN} SIP/2.0",
               f"Via: SIP/2.0/UDP 127.0.0.1:{client.port};branch={new_branch()};rport",
               "Max-Forwards: 70", f"From: <sip:dave@{DOMAIN}>;tag=d{client.port}",
               f"To: <sip:{user}@{DOMAIN}>", f"Call-ID: {new_call_id()}", "CSeq: 1 INVITE",
               f"Contact: <sip:dave@127.0.0.1:{client.port}>"]
        msg += [f"Route: {r}" for r in routes]
        client.send(proxy_port, "\n".join(msg) + "\nContent-Length: 0\n\n")

    def test_tcp_phone_registered_at_a_is_called_through_b_over_its_connection(self):
        port, sock, reader = self.register_tcp_phone()
        seen = wait_for("bob at B", lambda: bindings(self.b, "bob"))
        self.assertEqual(seen[0]["node"], "a")
        self.assertEqual(len(seen[0]["path"]), 1, seen)
        self.assertIn("sipproxy-flow=tcp~127.0.0.1~", seen[0]["path"][0])
        with UdpClient() as caller:
            self.invite(caller, self.b.port, "bob")
            inv = reader.read_message(5.0)
            self.assertIsNotNone(inv, "no INVITE on the phone's connection")
            self.assertTrue(inv.startswith("INVITE sip:bob@127.0.0.1:"), inv)
            vias = header(inv, "Via", all_values=True)
            # A's Via on top (sent over A's connection), B's below, then the caller's.
            self.assertGreaterEqual(len(vias), 3, inv)
            self.assertIn(f":{self.a.port}", vias[0], inv)
            self.assertIn(f":{self.b.port}", vias[1], inv)
            self.assertNotIn("sipproxy-flow", header(inv, "Route") or "", inv)
            # The phone answers busy on its connection; the caller hears it through B.
            resp = ["SIP/2.0 486 Busy Here"] + [f"Via: {v}" for v in vias]
            for h in ("From", "Call-ID", "CSeq"):
                resp.append(f"{h}: {header(inv, h)}")
            resp += [f"To: {header(inv, 'To')};tag=busy", "Content-Length: 0"]
            sock.sendall(harness.crlf("\n".join(resp) + "\n\n").encode())
            r = caller.recv_final(5.0)
            self.assertEqual(status_of(r), 486, r)

    def test_route_to_a_with_forged_or_tampered_flow_token_is_refused(self):
        port, sock, reader = self.register_tcp_phone()
        seen = wait_for("bob at B", lambda: bindings(self.b, "bob"))
        real = seen[0]["path"][0]
        value = real.split("sipproxy-flow=", 1)[1].rstrip(">")
        fields = value.split("~")
        forged = "~".join(fields[:4] + ["AAAAAAAAAAAAAAAA"])
        tampered = "~".join(fields[:3] + [str(int(fields[3]) + 1), fields[4]])
        own = f"sip:127.0.0.1:{self.a.port};transport=tcp;lr"
        with UdpClient() as attacker:
            for bad in (forged, tampered, "tcp~127.0.0.1~1~1"):
                self.invite(attacker, self.a.port, "bob",
                            routes=[f"<{own};sipproxy-flow={bad}>"])
                r = attacker.recv_final(3.0)
                self.assertEqual(status_of(r), 403, r)
            # ...and it did not go to the phone.
            self.assertIsNone(reader.read_message(0.5))


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


@unittest.skipUnless(REDIS, "redis-server is not installed")
def options_from(proxy, address, timeout=1.0):
    """One OPTIONS to `proxy` from `address` (a loopback address): the answer, or None when
    the proxy dropped it (a banned source)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((address, 0))
        s.settimeout(timeout)
        port = s.getsockname()[1]
        msg = proxy.options(port).replace(f"127.0.0.1:{port}", f"{address}:{port}")
        s.sendto(msg.replace("\n", "\r\n").encode(), (proxy.host, proxy.port))
        try:
            return s.recv(65535).decode(errors="replace")
        except socket.timeout:
            return None
    finally:
        s.close()


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


if __name__ == "__main__":
    unittest.main(verbosity=2)
