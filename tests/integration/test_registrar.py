#!/usr/bin/env python3
"""The registrar (RFC 3261 10.3) with its persistent SQLite location store, against a real
sipproxyd: bindings listed in the 200 OK, refresh, unregister, Contact: *, 423, max_expires,
max_contacts eviction, bindings surviving a restart (graceful and kill -9), and SIPp
registering 10,000 users with digest authentication and then calling between them.

Run: SIPPROXYD=... SIPPROXYCTL=... python3 test_registrar.py   (cwd tests/integration)
"""
import json
import os
import re
import socket
import sys
import time
import unittest

import harness
from harness import Proxy, edit_config, free_port, register, sipp, sipp_uas_background
from harness import UdpClient, digest_authorization, header, new_branch, new_call_id, status_of

DOMAIN = "example.test"
ALICE = f"sip:alice@{DOMAIN}"
BULK_USERS = 10000  # SIPp registers this many users (~5 s at 2,000 registrations/s)


def contacts_of(resp):
    """The Contact header values of a 200 OK as {uri: expires}."""
    out = {}
    for v in header(resp, "Contact", all_values=True):
        m = re.fullmatch(r"<([^>]+)>(.*)", v)
        assert m, v
        e = re.search(r";expires=(\d+)", m.group(2))
        assert e, f"no expires in Contact: {v}"
        out[m.group(1)] = int(e.group(1))
    return out


def register_raw(proxy, user, lines, password=None):
    """A digest REGISTER for sip:user@example.test with exactly these extra header lines
    (e.g. no Contact at all, or no Expires); returns the final response text."""
    password = password or f"{user}-secret"
    with UdpClient() as c:
        call_id, tag = new_call_id(), "t" + str(c.port)

        def send(cseq, auth=None):
            msg = [f"REGISTER sip:{DOMAIN} SIP/2.0",
                   f"Via: SIP/2.0/UDP 127.0.0.1:{c.port};branch={new_branch()};rport",
                   "Max-Forwards: 70", f"From: <sip:{user}@{DOMAIN}>;tag={tag}",
                   f"To: <sip:{user}@{DOMAIN}>", f"Call-ID: {call_id}",
                   f"CSeq: {cseq} REGISTER"] + list(lines)
            if auth:
                msg.append(f"Authorization: {auth}")
            c.send(proxy.port, "\n".join(msg) + "\n\n")
            return c.recv_final(3.0)

        r = send(1)
        if status_of(r) != 401:
            return r
        chal = header(r, "WWW-Authenticate")
        return send(2, digest_authorization(chal, user, password, "REGISTER", f"sip:{DOMAIN}"))


def uri(port, user="alice"):
    return f"sip:{user}@127.0.0.1:{port}"


class RegistrarTestCase(unittest.TestCase):
    registrar_keys = {}

    def setUp(self):
        self.proxy = Proxy()
        if self.registrar_keys:
            edit_config(self.proxy.config_path, "registrar", **self.registrar_keys)
        self.proxy.start()
        self.addCleanup(self.proxy.stop)

    def reg(self, contact=None, expires=3600, user="alice", password=None, port=None, **kw):
        """A digest REGISTER through the harness; returns the final response text."""
        r = register(self.proxy, user, password or f"{user}-secret", port or free_port(),
                     expires=expires, contact=contact, **kw)
        self.assertIsNotNone(r, "no final response\n" + self.proxy.log_tail(20))
        return r

    def ok(self, *args, **kw):
        r = self.reg(*args, **kw)
        self.assertEqual(status_of(r), 200, f"{r}\n--- log\n{self.proxy.log_tail(20)}")
        return r

    def listed(self, aor=ALICE):
        """show registrations AOR as {contact: binding}."""
        regs = self.proxy.ctl_json("show", "registrations", aor)["registrations"]
        return {b["contact"]: b for b in regs}


class BindingTest(RegistrarTestCase):

    def test_200_lists_every_current_binding_with_expires(self):
        p1, p2 = free_port(), free_port()
        r = self.ok(f"<{uri(p1)}>", expires=3600, port=p1)
        self.assertEqual(contacts_of(r), {uri(p1): 3600})
        r = self.ok(f"<{uri(p2)}>;q=0.5", expires=1800, port=p2)
        got = contacts_of(r)
        self.assertEqual(set(got), {uri(p1), uri(p2)}, r)
        self.assertEqual(got[uri(p2)], 1800)
        self.assertIn(got[uri(p1)], (3599, 3600))
        q = [v for v in header(r, "Contact", all_values=True) if uri(p2) in v]
        self.assertIn(";q=0.5", q[0])
        # The higher q first ("best first").
        self.assertIn(uri(p1), header(r, "Contact", all_values=True)[0])
        self.assertEqual(set(self.listed()), {uri(p1), uri(p2)})
        # Another AOR is separate.
        r = self.ok(user="bob", port=p1)
        self.assertEqual(contacts_of(r), {uri(p1, "bob"): 3600})

    def test_a_retransmitted_register_gets_its_200_again_with_the_current_bindings(self):
        # The 200 lingers for timer J without its Contact headers: a retransmission (with
        # the same credentials: no nonce-count replay) gets the same To-tag and the bindings
        # as they are now, and nothing changes (not a 500 for the same CSeq, RFC 3261 10.3).
        p1, p2 = free_port(), free_port()
        with UdpClient() as c:
            def message(cseq, auth=None):
                m = [f"REGISTER sip:{DOMAIN} SIP/2.0",
                     f"Via: SIP/2.0/UDP 127.0.0.1:{c.port};branch=z9hG4bK-retr-{cseq};rport",
                     "Max-Forwards: 70", f"From: <sip:alice@{DOMAIN}>;tag=retr",
                     f"To: <sip:alice@{DOMAIN}>", "Call-ID: retr@test", f"CSeq: {cseq} REGISTER",
                     f"Contact: <{uri(p1)}>", "Expires: 3600"]
                if auth:
                    m.append(f"Authorization: {auth}")
                return "\n".join(m) + "\n\n"
            c.send(self.proxy.port, message(1))
            chal = header(c.recv_final(5), "WWW-Authenticate")
            second = message(2, digest_authorization(chal, "alice", "alice-secret", "REGISTER",
                                                     f"sip:{DOMAIN}"))
            c.send(self.proxy.port, second)
            r1 = c.recv_final(5)
            self.assertEqual(status_of(r1), 200, r1)
            tag = re.search(r";tag=([^;\s]+)", header(r1, "To")).group(1)
            self.assertEqual(contacts_of(r1), {uri(p1): 3600})
            self.ok(f"<{uri(p2)}>", expires=1800, port=p2)  # another device, in between
            c.send(self.proxy.port, second)  # the very same bytes
            r2 = c.recv_final(5)
        self.assertEqual(status_of(r2), 200, r2)
        self.assertIn(f";tag={tag}", header(r2, "To"))
        self.assertEqual(header(r2, "Via"), header(r1, "Via"))
        got = contacts_of(r2)
        self.assertEqual(set(got), {uri(p1), uri(p2)}, r2)
        self.assertIn(got[uri(p2)], (1799, 1800))
        self.assertIn("Supported: path, outbound", r2)
        self.assertEqual(set(self.listed()), {uri(p1), uri(p2)})

    def test_query_without_contact_lists_bindings_and_changes_nothing(self):
        p1, p2 = free_port(), free_port()
        self.ok(f"<{uri(p1)}>", expires=3600, port=p1)
        self.ok(f"<{uri(p2)}>", expires=600, port=p2)
        before = self.listed()
        r = register_raw(self.proxy, "alice", [])  # no Contact: a query
        self.assertEqual(status_of(r), 200, r)
        got = contacts_of(r)
        self.assertEqual(set(got), {uri(p1), uri(p2)}, r)
        self.assertIn(got[uri(p2)], (599, 600))
        self.assertEqual(set(self.listed()), set(before))

    def test_refresh_replaces_the_binding_interval(self):
        p1 = free_port()
        self.ok(f"<{uri(p1)}>", expires=3600, port=p1)
        r = self.ok(f"<{uri(p1)}>", expires=120, port=p1)
        self.assertEqual(contacts_of(r), {uri(p1): 120}, r)
        listed = self.listed()
        self.assertEqual(set(listed), {uri(p1)})
        self.assertTrue(118 <= listed[uri(p1)]["expires_in"] <= 120, listed)
        # A per-contact expires parameter wins over the Expires header.
        r = self.ok(f"<{uri(p1)}>;expires=600", expires=3600, port=p1)
        self.assertEqual(contacts_of(r), {uri(p1): 600}, r)

    def test_expires_0_removes_one_contact(self):
        p1, p2 = free_port(), free_port()
        self.ok(f"<{uri(p1)}>", port=p1)
        self.ok(f"<{uri(p2)}>", port=p2)
        r = self.ok(f"<{uri(p1)}>", expires=0, port=p1)
        self.assertEqual(set(contacts_of(r)), {uri(p2)}, r)
        self.assertEqual(set(self.listed()), {uri(p2)})
        # Removing a contact that is not bound is not an error and changes nothing.
        r = self.ok(f"<{uri(p1)}>", expires=0, port=p1)
        self.assertEqual(set(contacts_of(r)), {uri(p2)}, r)

    def test_star_with_expires_0_removes_all(self):
        for _ in range(3):
            p = free_port()
            self.ok(f"<{uri(p)}>", port=p)
        self.ok(user="bob")
        self.assertEqual(len(self.listed()), 3)
        r = self.ok("*", expires=0)
        self.assertEqual(header(r, "Contact", all_values=True), [], r)
        self.assertEqual(self.listed(), {})
        self.assertEqual(len(self.listed(f"sip:bob@{DOMAIN}")), 1, "other AORs keep theirs")
        self.assertEqual(self.proxy.status()["counts"]["bindings"], 1)

    def test_star_without_expires_0_is_rejected(self):
        p = free_port()
        self.ok(f"<{uri(p)}>", port=p)
        r = self.reg("*", expires=3600)
        self.assertEqual(status_of(r), 400, r)
        self.assertEqual(set(self.listed()), {uri(p)}, "nothing removed")

    def test_interval_too_brief(self):
        p = free_port()
        for expires in (1, 30, 59):
            r = self.reg(f"<{uri(p)}>", expires=expires, port=p)
            self.assertEqual(status_of(r), 423, r)
            self.assertTrue(r.startswith("SIP/2.0 423 Interval Too Brief"), r)
            self.assertEqual(header(r, "Min-Expires"), "60", r)
        # Also per contact; and one brief contact fails the whole request.
        p2 = free_port()
        r = self.reg(f"<{uri(p2)}>, <{uri(p)}>;expires=10", expires=3600, port=p)
        self.assertEqual(status_of(r), 423, r)
        self.assertEqual(self.listed(), {}, "a 423 changes nothing")
        r = self.ok(f"<{uri(p)}>", expires=60, port=p)
        self.assertEqual(contacts_of(r), {uri(p): 60})

    def test_longer_than_max_expires_is_shortened(self):
        p = free_port()
        r = self.ok(f"<{uri(p)}>", expires=99999, port=p)
        self.assertEqual(contacts_of(r), {uri(p): 7200}, r)
        self.assertTrue(7198 <= self.listed()[uri(p)]["expires_in"] <= 7200)

    def test_no_expires_takes_default_expires(self):
        p = free_port()
        r = register_raw(self.proxy, "alice", [f"Contact: <{uri(p)}>"])  # no Expires at all
        self.assertEqual(status_of(r), 200, r)
        self.assertEqual(contacts_of(r), {uri(p): 3600}, r)

    def test_contact_uri_over_tcp_is_recorded_with_tcp(self):
        p = free_port("tcp")
        r = register(self.proxy, "alice", "alice-secret", p, transport="tcp")
        self.assertEqual(status_of(r), 200, r)
        b = self.listed()
        self.assertEqual(len(b), 1, b)
        (binding,) = b.values()
        self.assertEqual(binding["transport"], "tcp")
        self.assertEqual(binding["source"], f"127.0.0.1:{p}")


class MaxContactsTest(RegistrarTestCase):
    registrar_keys = {"max_contacts": 3}

    def test_the_binding_expiring_soonest_is_evicted(self):
        ports = [free_port() for _ in range(4)]
        self.ok(f"<{uri(ports[0])}>", expires=3600, port=ports[0])
        self.ok(f"<{uri(ports[1])}>", expires=600, port=ports[1])   # expires soonest
        self.ok(f"<{uri(ports[2])}>", expires=3600, port=ports[2])
        r = self.ok(f"<{uri(ports[3])}>", expires=1200, port=ports[3])
        got = contacts_of(r)
        self.assertEqual(set(got), {uri(ports[0]), uri(ports[2]), uri(ports[3])}, r)
        self.assertEqual(got[uri(ports[3])], 1200)
        self.assertEqual(set(self.listed()), set(got))

    def test_with_equal_intervals_the_oldest_is_evicted(self):
        ports = [free_port() for _ in range(5)]
        for p in ports[:3]:
            self.ok(f"<{uri(p)}>", expires=3600, port=p)
            time.sleep(0.05)
        r = self.ok(f"<{uri(ports[3])}>", expires=3600, port=ports[3])
        self.assertEqual(set(contacts_of(r)), {uri(p) for p in ports[1:4]}, r)
        # A refresh makes ports[1] the youngest; ports[2] is now the oldest and goes.
        self.ok(f"<{uri(ports[1])}>", expires=3600, port=ports[1])
        time.sleep(0.05)
        r = self.ok(f"<{uri(ports[4])}>", expires=3600, port=ports[4])
        self.assertEqual(set(contacts_of(r)), {uri(ports[1]), uri(ports[3]), uri(ports[4])}, r)

    def test_more_new_contacts_than_allowed_is_403_and_changes_nothing(self):
        keep = free_port()
        self.ok(f"<{uri(keep)}>", port=keep)
        ports = [free_port() for _ in range(4)]
        r = self.reg(", ".join(f"<{uri(p)}>" for p in ports), port=ports[0])
        self.assertEqual(status_of(r), 403, r)
        self.assertEqual(set(self.listed()), {uri(keep)})
        # Exactly max_contacts new ones: allowed, the old one is evicted.
        r = self.ok(", ".join(f"<{uri(p)}>" for p in ports[:3]), port=ports[0])
        self.assertEqual(set(contacts_of(r)), {uri(p) for p in ports[:3]}, r)


class PersistenceTest(unittest.TestCase):
    """Bindings live in <state_dir>/location.sqlite and survive a restart."""

    def setUp(self):
        self.proxy = Proxy()
        self.addCleanup(self.proxy.stop)
        self.proxy.start()

    def snapshot(self):
        regs = self.proxy.ctl_json("show", "registrations")["registrations"]
        return {(b["aor"], b["contact"]): b for b in regs}

    def populate(self):
        self.ports = [free_port() for _ in range(3)]
        self.gone = free_port()
        for p in self.ports[:2] + [self.gone]:
            self.assertEqual(status_of(register(self.proxy, "alice", "alice-secret", p, q="0.7"
                                                if p == self.ports[1] else None)), 200)
        self.assertEqual(status_of(register(self.proxy, "bob", "bob-secret", self.ports[2],
                                            transport="tcp")), 200)
        self.assertEqual(status_of(register(self.proxy, "alice", "alice-secret", self.gone,
                                            expires=0)), 200)
        r = self.proxy.ctl("registration", "add", "sip:carol@example.test",
                           "sip:carol@192.0.2.7:5070", "--expires", "900")
        self.assertEqual(r.returncode, 0, r.stderr)
        before = self.snapshot()
        self.assertEqual(len(before), 4, before)
        return before

    def check_same(self, before, after):
        self.assertEqual(set(after), set(before), "the same bindings after the restart")
        for k, b in before.items():
            a = after[k]
            for field in ("q", "transport", "source", "user_agent", "instance", "path"):
                self.assertEqual(a[field], b[field], f"{k} {field}")
            self.assertTrue(b["expires_in"] - 15 <= a["expires_in"] <= b["expires_in"],
                            f"{k}: {b['expires_in']} -> {a['expires_in']}")
        self.assertNotIn(("alice@example.test", uri(self.gone)), after, "removed stays removed")
        counts = self.proxy.status()["counts"]
        self.assertEqual((counts["registrations"], counts["bindings"]), (3, 4))

    def test_graceful_restart_keeps_every_binding(self):
        before = self.populate()
        self.assertEqual(self.proxy.stop(), 0, self.proxy.log_tail(10))
        self.proxy.start()
        self.check_same(before, self.snapshot())

    def test_kill9_keeps_every_binding(self):
        before = self.populate()
        time.sleep(0.5)  # the writer thread commits every ~20 ms (documented loss window)
        self.proxy.kill9()
        self.proxy.start()
        self.check_same(before, self.snapshot())

    def test_new_state_dir_starts_empty(self):
        # Guard against the test above passing for the wrong reason.
        self.populate()
        fresh = Proxy()
        self.addCleanup(fresh.stop)
        fresh.start()
        self.assertEqual(fresh.ctl_json("show", "registrations")["registrations"], [])

    def test_restart_with_memory_store_forgets(self):
        p = Proxy(registrar_store="memory")
        self.addCleanup(p.stop)
        p.start()
        self.assertEqual(status_of(register(p, "alice", "alice-secret", free_port())), 200)
        self.assertEqual(len(p.ctl_json("show", "registrations")["registrations"]), 1)
        p.restart()
        self.assertEqual(p.ctl_json("show", "registrations")["registrations"], [])


def plain_register(port, user, contact_port, expires=3600, cseq=1, call_id=None):
    """A REGISTER for sip:user@example.test without credentials (a proxy without [auth])."""
    return (f"REGISTER sip:{DOMAIN} SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{contact_port};branch={new_branch()};rport\n"
            "Max-Forwards: 70\n"
            f"From: <sip:{user}@{DOMAIN}>;tag=t{user}\n"
            f"To: <sip:{user}@{DOMAIN}>\n"
            f"Call-ID: {call_id or user + '@durable'}\n"
            f"CSeq: {cseq} REGISTER\n"
            f"Contact: <sip:{user}@127.0.0.1:{contact_port}>\n"
            f"Expires: {expires}\n\n")


def register_wave(client, port, users, expires=3600, cseq=1, timeout=10.0, contact_port=40000):
    """Sends a REGISTER for each user at once (Contact sip:user@127.0.0.1:contact_port; the
    answers come back to the client by rport); returns {user: final response}. A request
    whose answer does not come within 0.5 s is retransmitted as is (UDP may drop some)."""
    messages = {u: plain_register(port, u, contact_port, expires, cseq) for u in users}
    for m in messages.values():
        client.send(port, m)
    answers = {}
    deadline = time.monotonic() + timeout
    while len(answers) < len(users) and time.monotonic() < deadline:
        r = client.recv_final(min(0.5, max(0.0, deadline - time.monotonic())))
        if r is None:
            for u, m in messages.items():
                if u not in answers:
                    client.send(port, m)
            continue
        m = re.match(r"(\S+)@durable", header(r, "Call-ID") or "")
        if m:
            answers[m.group(1)] = r
    return answers


class DurableRegistrationTest(unittest.TestCase):
    """A 200 OK to a REGISTER (or to an unregister) goes out only once the location store
    has committed the change: a kill -9 right after it loses nothing."""

    def listed(self, proxy):
        regs = proxy.ctl_json("show", "registrations")["registrations"]
        return {b["aor"] for b in regs}

    def test_kill9_right_after_the_last_200_loses_nothing(self):
        n, wave = 600, 100
        proxy = Proxy(auth=False, log_level="info")
        proxy.start()
        self.addCleanup(proxy.stop)
        users = [f"d{i:04d}" for i in range(n)]
        with UdpClient() as c:
            for first in range(0, n, wave):
                part = users[first:first + wave]
                answers = register_wave(c, proxy.port, part)
                self.assertEqual(len(answers), len(part), proxy.log_tail(20))
                bad = {u: status_of(r) for u, r in answers.items() if status_of(r) != 200}
                self.assertEqual(bad, {})
            # The last 200 OK has just arrived: crash now, before any later commit.
            proxy.kill9()
        proxy.start()
        self.assertEqual(self.listed(proxy), {f"sip:{u}@{DOMAIN}" for u in users})

        # The same for unregistering: after the 200 OK the bindings are gone for good.
        with UdpClient() as c:
            answers = register_wave(c, proxy.port, users[:wave], expires=0, cseq=2)
            self.assertEqual({status_of(r) for r in answers.values()}, {200})
            self.assertEqual(len(answers), wave)
            proxy.kill9()
        proxy.start()
        self.assertEqual(self.listed(proxy), {f"sip:{u}@{DOMAIN}" for u in users[wave:]})

    def test_refreshes_are_answered_at_once_and_a_crash_keeps_the_bindings(self):
        # A refresh (same contact, same source) is answered before its commit: a kill -9
        # right after its 200 may only bring back the earlier expiry, never lose the binding.
        n = 200
        proxy = Proxy(auth=False, log_level="info")
        proxy.start()
        self.addCleanup(proxy.stop)
        users = [f"r{i:04d}" for i in range(n)]
        everyone = {f"sip:{u}@{DOMAIN}" for u in users}
        with UdpClient() as c:
            answers = register_wave(c, proxy.port, users, expires=3600, cseq=1)
            self.assertEqual({status_of(r) for r in answers.values()}, {200})
            # Refreshes with a shorter interval; the 200 lists the new one.
            answers = register_wave(c, proxy.port, users, expires=1800, cseq=2)
            self.assertEqual(len(answers), n)
            self.assertEqual({status_of(r) for r in answers.values()}, {200})
            for r in answers.values():
                self.assertRegex(header(r, "Contact") or "", r";expires=(1800|1799)\b")
            proxy.kill9()
        proxy.start()
        regs = proxy.ctl_json("show", "registrations")["registrations"]
        self.assertEqual({b["aor"] for b in regs}, everyone)
        for b in regs:  # the refresh, or the registration before it
            self.assertGreater(b["expires_in"], 1700)

        # Refreshed again and stopped gracefully: the file has the refreshes.
        with UdpClient() as c:
            answers = register_wave(c, proxy.port, users, expires=900, cseq=3)
            self.assertEqual({status_of(r) for r in answers.values()}, {200})
        proxy.stop()
        proxy.start()
        regs = proxy.ctl_json("show", "registrations")["registrations"]
        self.assertEqual({b["aor"] for b in regs}, everyone)
        for b in regs:
            self.assertLessEqual(b["expires_in"], 900)

    def test_registration_commands_return_once_saved(self):
        proxy = Proxy(auth=False, log_level="info")
        proxy.start()
        self.addCleanup(proxy.stop)
        r = proxy.ctl("registration", "add", "sip:op@example.test", "sip:op@192.0.2.1:5070")
        self.assertEqual(r.returncode, 0, r.stderr)
        proxy.kill9()  # at once
        proxy.start()
        self.assertEqual(self.listed(proxy), {"sip:op@example.test"})
        r = proxy.ctl("registration", "remove", "sip:op@example.test")
        self.assertEqual((r.returncode, r.stdout), (0, "removed 1 binding of sip:op@example.test\n"))
        proxy.kill9()
        proxy.start()
        self.assertEqual(self.listed(proxy), set())

    def test_a_failed_write_is_500_and_the_binding_is_not_kept(self):
        # sipproxyd with a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored): once the
        # SQLite WAL reaches it, writes fail as on a full disk.
        proxy = Proxy(auth=False, log_level="warn")
        limit = 512 * 1024
        wrapper = os.path.join(proxy.dir, "sipproxyd-limited")
        with open(wrapper, "w") as f:
            f.write(f"#!{sys.executable}\n"
                    "import os, resource, signal, sys\n"
                    f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
                    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
                    f"os.execv({harness.SIPPROXYD!r}, [{harness.SIPPROXYD!r}] + sys.argv[1:])\n")
        os.chmod(wrapper, 0o755)
        real = harness.SIPPROXYD
        harness.SIPPROXYD = wrapper
        try:
            proxy.start()
        finally:
            harness.SIPPROXYD = real
        self.addCleanup(proxy.stop)

        ok, failed = [], []
        with UdpClient() as c:
            for i in range(2000):  # one commit each: the WAL grows by a few pages each
                user = f"f{i:04d}"
                r = register_wave(c, proxy.port, [user]).get(user)
                self.assertIsNotNone(r, proxy.log_tail(20))
                if status_of(r) == 200:
                    ok.append(user)
                    continue
                self.assertEqual(status_of(r), 500, r)
                reason = r.split("\r\n", 1)[0]
                self.assertRegex(reason, r"^SIP/2\.0 500 Server Internal Error: location store "
                                         r"write failed: \S", reason)
                failed.append(user)
                if len(failed) == 3:
                    break
        self.assertEqual(len(failed), 3, "the file size limit was never reached")
        self.assertGreater(len(ok), 0)
        # Memory agrees with the file: what got 500 is not registered.
        self.assertEqual(self.listed(proxy), {f"sip:{u}@{DOMAIN}" for u in ok})
        self.assertIn("write failed", proxy.log())
        self.assertIn("binding not saved", proxy.log())
        # The operator's commands report it too.
        r = proxy.ctl("registration", "add", "sip:op@example.test", "sip:op@192.0.2.1:5070")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"^sipproxyctl: not saved: location store write failed: \S")
        self.assertNotIn("sip:op@example.test", self.listed(proxy))

        proxy.kill9()
        proxy.start()  # without the limit
        self.assertEqual(self.listed(proxy), {f"sip:{u}@{DOMAIN}" for u in ok})


def control(proxy, cmd, **args):
    """One request on the control socket; the whole response object."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(proxy.socket_path)
        s.sendall((json.dumps({"v": 1, "id": 1, "cmd": cmd, "args": args}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


# SIPp or a burst of raw REGISTERs from 127.0.0.1 stands for thousands of phones behind one
# address: above the default flood limit, so allow-listed, as an operator would do for a
# busy PBX or office NAT (man sipproxy.toml.5, [security]).
LOAD_GENERATOR = '[security]\nallow = ["127.0.0.1"]\n'


class PagingTest(unittest.TestCase):
    """show registrations of 2,500 AORs, a few at a time: each listed exactly once."""

    @classmethod
    def setUpClass(cls):
        cls.proxy = Proxy(auth=False, log_level="info", extra_toml=LOAD_GENERATOR)
        cls.proxy.start()
        cls.users = [f"p{i:05d}" for i in range(2500)]
        with UdpClient() as c:
            for first in range(0, len(cls.users), 250):
                part = cls.users[first:first + 250]
                answers = register_wave(c, cls.proxy.port, part)
                assert len(answers) == len(part), cls.proxy.log_tail(20)
                assert {status_of(r) for r in answers.values()} == {200}
        # One AOR with three contacts: a page never splits it.
        for port in (5071, 5072):
            r = cls.proxy.ctl("registration", "add", "sip:p01000@example.test",
                              f"sip:p01000@192.0.2.9:{port}")
            assert r.returncode == 0, r.stderr
        cls.aors = sorted(f"sip:{u}@{DOMAIN}" for u in cls.users)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def test_json_pages_list_every_aor_once_in_order(self):
        r = self.proxy.ctl("--json", "show", "registrations", "--page-size", "7")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(set(out), {"registrations"})
        listed = [b["aor"] for b in out["registrations"]]
        self.assertEqual(len(listed), len(self.users) + 2)
        self.assertEqual(sorted(set(listed)), self.aors)
        self.assertEqual(listed, sorted(listed), "in AOR order")
        self.assertEqual(listed.count("sip:p01000@example.test"), 3)

    def test_table_pages(self):
        r = self.proxy.ctl("show", "registrations", "--page-size", "13")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("AOR "))
        self.assertEqual(len(lines), 1 + len(self.users) + 2)
        self.assertEqual(sorted(set(l.split()[0] for l in lines[1:])), self.aors)

    def test_limit_then_after_goes_on_where_it_stopped(self):
        seen, cursor, rounds = [], "", 0
        while True:
            args = ["--json", "show", "registrations", "--limit", "600", "--page-size", "250"]
            r = self.proxy.ctl(*args, "--after", cursor)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = json.loads(r.stdout)
            aors = sorted({b["aor"] for b in out["registrations"]})
            self.assertLessEqual(len(aors), 600)
            seen += aors
            rounds += 1
            if out["next"] is None:
                break
            self.assertEqual(out["next"], aors[-1])
            cursor = out["next"]
        self.assertEqual(seen, self.aors)
        self.assertEqual(rounds, 5)  # 600 + 600 + 600 + 600 + 100

    def test_protocol(self):
        page = control(self.proxy, "show_registrations", limit=3)
        self.assertTrue(page["ok"], page)
        self.assertEqual(sorted({b["aor"] for b in page["result"]["registrations"]}),
                         self.aors[:3])
        self.assertEqual(page["result"]["next"], self.aors[2])
        page = control(self.proxy, "show_registrations", limit=2, after=self.aors[2])
        self.assertEqual(page["result"]["next"], self.aors[4])
        # "sip:" is optional in the cursor, as in "aor".
        bare = control(self.proxy, "show_registrations", limit=2,
                       after=self.aors[2][len("sip:"):])
        self.assertEqual(bare["result"], page["result"])
        last = control(self.proxy, "show_registrations", limit=5, after=self.aors[-2])
        self.assertEqual([b["aor"] for b in last["result"]["registrations"]], self.aors[-1:])
        self.assertIsNone(last["result"]["next"])
        # Without limit and after: everything, and the answer has its old shape.
        everything = control(self.proxy, "show_registrations")["result"]
        self.assertEqual(len(everything["registrations"]), len(self.users) + 2)
        self.assertEqual(set(everything), {"registrations"})
        one = control(self.proxy, "show_registrations", aor="sip:p01000@example.test", limit=1)
        self.assertEqual(len(one["result"]["registrations"]), 3)
        self.assertEqual(set(one["result"]), {"registrations"})
        bad = control(self.proxy, "show_registrations", limit=0)
        self.assertEqual((bad["ok"], bad["error"]), (False, "limit must be at least 1"))


class SippBulkTest(unittest.TestCase):
    """SIPp registers BULK_USERS users with digest auth, then calls between them.

    SIPp 3.6 answers only MD5 challenges and reads the first WWW-Authenticate, so this
    proxy offers MD5 first (auth.algorithms = ["MD5", "SHA-256"])."""

    def test_bulk_digest_registration_then_calls(self):
        n = BULK_USERS
        users = [(f"u{i:05d}", f"pw-{i:05d}x") for i in range(n)]
        proxy = Proxy(users=users, log_level="info", extra_toml=LOAD_GENERATOR)
        edit_config(proxy.config_path, "auth", algorithms='["MD5", "SHA-256"]')
        proxy.start()
        self.addCleanup(proxy.stop)

        csv = os.path.join(proxy.dir, "reg_users.csv")
        with open(csv, "w") as f:
            f.write("SEQUENTIAL\n")
            for u, pw in users:
                f.write(f"{u};{pw};[authentication username={u} password={pw}]\n")
        phone_port = free_port()
        t0 = time.monotonic()
        # -auth_uri: SIPp signs "sip:<proxy address>" otherwise, and the registrar checks
        # that the digest-uri is the Request-URI (RFC 7616 3.4.6).
        r = sipp("reg_digest_register.xml", f"127.0.0.1:{proxy.port}", "-m", n, "-r", 2000,
                 "-l", 500, "-auth_uri", DOMAIN, inf=csv, port=phone_port, timeout=90)
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.describe())
        stat = r.stat()
        self.assertEqual(int(stat["SuccessfulCall(C)"]), n, stat)
        self.assertEqual(int(stat["FailedCall(C)"]), 0, stat)
        self.assertLess(took, 60, f"{n} registrations took {took:.1f} s")

        counts = proxy.status()["counts"]
        self.assertEqual(counts["registrations"], n, counts)
        self.assertEqual(counts["bindings"], n, counts)
        stats = proxy.stats()
        self.assertEqual(stats["auth.successes"], n, stats)
        self.assertEqual(stats.get("auth.failures", 0), 0, stats)
        # One challenge per registration, more when SIPp retransmits an unanswered REGISTER
        # on a busy machine (a challenge keeps no transaction: it is challenged again);
        # every retransmission is visible in the REGISTER count.
        self.assertGreaterEqual(stats["responses.401"], n, stats)
        self.assertEqual(stats["responses.401"] - n, stats["requests.REGISTER"] - 2 * n, stats)
        one = proxy.ctl_json("show", "registrations", "sip:u04242@example.test")["registrations"] \
            if n > 4242 else proxy.ctl_json("show", "registrations",
                                            "sip:u00042@example.test")["registrations"]
        self.assertEqual(len(one), 1, one)
        self.assertEqual(one[0]["user_agent"], "SIPp-reg")
        self.assertEqual(one[0]["source"], f"127.0.0.1:{phone_port}")

        # Every contact points at phone_port: a SIPp UAS there answers for every callee.
        uas = sipp_uas_background("reg_uas_answer.xml", port=phone_port)
        self.addCleanup(uas.stop)
        calls = 10
        pairs = [(users[i], users[n - 1 - i][0]) for i in range(calls)]
        # One SIPp run per call: SIPp signs the -auth_uri it is given (one per run), and the
        # proxy checks that the digest-uri is the callee's Request-URI (RFC 7616 3.4.6).
        for k, ((a, pw), b) in enumerate(pairs):
            calls_csv = os.path.join(proxy.dir, f"auth_call_{k}.csv")
            with open(calls_csv, "w") as f:
                f.write(f"SEQUENTIAL\n{a};{b};[authentication username={a} password={pw}]\n")
            r = sipp("auth_invite_uac.xml", f"127.0.0.1:{proxy.port}", "-m", 1,
                     "-auth_uri", f"{b}@{DOMAIN}", inf=calls_csv, timeout=30)
            self.assertEqual(r.returncode, 0, r.describe() + "\n--- uas\n" + uas.describe())
            self.assertEqual(int(r.stat()["SuccessfulCall(C)"]), 1)
        time.sleep(0.7)  # the UAS's last call ends with a short pause
        self.assertEqual(uas.received("INVITE"), calls, uas.describe())
        self.assertEqual(uas.received("BYE"), calls, uas.describe())
        msgs = uas.messages()
        for (_, _), b in pairs:
            self.assertIn(f"INVITE sip:{b}@127.0.0.1:{phone_port} SIP/2.0", msgs,
                          "the INVITE goes to the callee's registered contact")
        stats = proxy.stats()
        self.assertEqual(stats["responses.407"], calls, stats)
        self.assertEqual(stats["auth.successes"], n + calls, stats)
        self.assertEqual(stats["calls.answered"], calls, stats)
        self.assertEqual(proxy.status()["counts"]["calls"], 0, "every call hung up")

        # All of them survive a crash (the writer thread has had seconds to commit).
        proxy.kill9()
        proxy.start()
        counts = proxy.status()["counts"]
        self.assertEqual((counts["registrations"], counts["bindings"]), (n, n), counts)


if __name__ == "__main__":
    unittest.main(verbosity=2)
