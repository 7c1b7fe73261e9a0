#!/usr/bin/env python3
"""RFC 3263 next hops against a real sipproxyd, a DNS server written here and SIPp.

sipproxyd reads /etc/resolv.conf; each proxy here runs in its own mount namespace
(`unshare --mount`) where a bind mount puts a resolv.conf naming the test's DNS server
(127.53.x.y:53) in its place. That needs root; without it the tests are skipped.

Covered: failover to the next SRV target when the first refuses the TCP connection
(transport error), does not answer over UDP (timer B: a 408 of the client transaction) or
answers 503, all inside one server transaction; no failover on 486; every target failing
-> the best response (503 -> 500, RFC 3261 16.7 step 6); DNS answers, positive and
negative, are not asked for again while their TTL runs.

Run: SIPPROXYD=... SIPPROXYCTL=... python3 test_dns.py   (cwd tests/integration)
"""
import collections
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import SCENARIOS, Proxy, free_port, sipp, sipp_uas_background

A, SOA, AAAA, SRV, NAPTR = 1, 6, 28, 33, 35


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


class DnsServer:
    """A UDP DNS server on 127.53.x.y:53 answering from a record table. Names it has no
    record of get NXDOMAIN, known names without the asked type an empty answer; both with
    an SOA (TTL 30, MINIMUM 20) so the negative answer may be cached (RFC 2308)."""

    def __init__(self):
        self.records = collections.defaultdict(list)  # (name, type) -> [(ttl, rdata)]
        self.names = set()
        self.queries = collections.Counter()  # (name, type) -> count
        self.lock = threading.Lock()
        for _ in range(50):
            self.address = f"127.53.{random.randint(0, 255)}.{random.randint(1, 254)}"
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                self.sock.bind((self.address, 53))
                break
            except OSError:
                self.sock.close()
        else:
            raise RuntimeError("no free 127.53.x.y:53")
        self.sock.settimeout(0.2)
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopped = True
        self.thread.join()
        self.sock.close()

    def _add(self, name, rtype, rdata, ttl):
        with self.lock:
            self.names.add(name.lower())
            self.records[(name.lower(), rtype)].append((ttl, rdata))

    def a(self, name, ip, ttl=60):
        self._add(name, A, socket.inet_aton(ip), ttl)

    def srv(self, name, priority, weight, port, target, ttl=60):
        self._add(name, SRV, struct.pack("!HHH", priority, weight, port) + encode_name(target), ttl)

    def asked(self, name, rtype):
        with self.lock:
            return self.queries[(name.lower(), rtype)]

    def _serve(self):
        while not self.stopped:
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            reply = self._answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def _answer(self, q):
        if len(q) < 12:
            return None
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace"))
            i += 1 + q[i]
        if i + 5 > len(q):
            return None
        name = ".".join(labels).lower()
        rtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        question = q[12:i + 5]
        with self.lock:
            self.queries[(name, rtype)] += 1
            found = list(self.records.get((name, rtype), []))
            known = name in self.names
        flags = 0x8180 if known else 0x8183  # NXDOMAIN for an unknown name
        out = q[:2] + struct.pack("!HHHHH", flags, 1, len(found), 0 if found else 1, 0) + question
        for ttl, rdata in found:
            out += struct.pack("!HHHIH", 0xC00C, rtype, 1, ttl, len(rdata)) + rdata
        if not found:
            rdata = (encode_name("ns.dns.test") + encode_name("hostmaster.dns.test")
                     + struct.pack("!IIIII", 1, 3600, 600, 86400, 20))
            out += struct.pack("!HHHIH", 0xC00C, SOA, 1, 30, len(rdata)) + rdata
        return out


def can_use_mount_namespaces():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return r.returncode == 0


def finals(result):
    return [int(c) for c in re.findall(r"(?m)^FINAL (\d{3})", result.logs())]


@unittest.skipUnless(can_use_mount_namespaces(), "needs root and unshare --mount")
class Rfc3263Failover(unittest.TestCase):

    def setUp(self):
        self.dns = DnsServer()
        self.addCleanup(self.dns.stop)
        d = tempfile.mkdtemp(prefix="sipproxy-dns-")
        self.addCleanup(shutil.rmtree, d, True)
        resolv = os.path.join(d, "resolv.conf")
        with open(resolv, "w") as f:
            f.write(f"nameserver {self.dns.address}\n")
        # sipproxyd with this resolv.conf: same pid (unshare and sh exec), so the harness
        # stops it as usual.
        wrapper = os.path.join(d, "sipproxyd")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    f"exec unshare --mount -- sh -c 'mount --bind \"$0\" /etc/resolv.conf && "
                    f"exec \"$@\"' '{resolv}' '{harness.SIPPROXYD}' \"$@\"\n")
        os.chmod(wrapper, 0o755)
        real = harness.SIPPROXYD
        harness.SIPPROXYD = wrapper
        self.addCleanup(setattr, harness, "SIPPROXYD", real)

    def proxy(self, **kw):
        p = Proxy(auth=False, **kw)
        self.addCleanup(p.__exit__, None, None, None)
        p.start()
        return p

    def uas(self, scenario="gw_uas.xml", transport="u1"):
        g = sipp_uas_background(scenario, transport=transport)
        self.addCleanup(g.stop)
        return g

    def rejecting_uas(self, code, reason):
        with open(os.path.join(SCENARIOS, "gw_reject.xml")) as f:
            xml = f.read().replace("@CODE@", str(code)).replace("@REASON@", reason)
        d = tempfile.mkdtemp(prefix="uas-reject-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, f"reject_{code}.xml")
        with open(path, "w") as f:
            f.write(xml)
        return self.uas(path)

    def invites(self, g):
        g.stop()
        return re.findall(r"(?m)^INVITE (\S+)", g.logs())

    def call(self, proxy, host, expected, timeout=20):
        r = sipp("gw_uac.xml", f"127.0.0.1:{proxy.port}", "-key", "ruri", f"sip:9123@{host}",
                 "-key", "from", "sip:alice@example.test", timeout=timeout)
        self.assertEqual(finals(r), [expected], f"{r.describe()}\n--- proxy log\n{proxy.log_tail(30)}")
        self.assertEqual(r.returncode, 0, r.describe())
        return r

    def two_targets(self, name, first_port, second_port, proto="udp"):
        """_sip._<proto>.<name>: first.<name> at priority 10, second.<name> at 20."""
        self.dns.srv(f"_sip._{proto}.{name}", 10, 0, first_port, f"first.{name}")
        self.dns.srv(f"_sip._{proto}.{name}", 20, 0, second_port, f"second.{name}")
        self.dns.a(f"first.{name}", "127.0.0.1")
        self.dns.a(f"second.{name}", "127.0.0.1")

    def test_refused_tcp_connection_fails_over_to_the_next_srv_target(self):
        live = self.uas(transport="t1")
        self.two_targets("tcp.dns.test", free_port("tcp"), live.port, proto="tcp")
        p = self.proxy()
        self.call(p, "tcp.dns.test", 200)
        self.assertEqual(self.invites(live), ["sip:9123@tcp.dns.test"])
        self.assertRegex(p.log(), r"trying the next address tcp:127\.0\.0\.1:%d" % live.port)

    def test_silent_udp_target_fails_over_when_timer_b_fires(self):
        live = self.uas()
        self.two_targets("udp.dns.test", free_port(), live.port)
        p = self.proxy(t1_ms=50)  # timer B: 64 * T1 = 3.2 s
        self.call(p, "udp.dns.test", 200)
        self.assertEqual(self.invites(live), ["sip:9123@udp.dns.test"])

    def test_503_fails_over_to_the_next_srv_target(self):
        busy, live = self.rejecting_uas(503, "Service Unavailable"), self.uas()
        self.two_targets("busy.dns.test", busy.port, live.port)
        p = self.proxy()
        self.call(p, "busy.dns.test", 200)
        self.assertEqual(busy.received("ACK"), 1, "the proxy must ACK the 503")
        self.assertEqual(len(self.invites(busy)), 1)
        self.assertEqual(len(self.invites(live)), 1)

    def test_486_is_the_answer_and_the_next_target_is_not_tried(self):
        first, second = self.rejecting_uas(486, "Busy Here"), self.uas()
        self.two_targets("busyhere.dns.test", first.port, second.port)
        p = self.proxy()
        self.call(p, "busyhere.dns.test", 486)
        self.assertEqual(len(self.invites(first)), 1)
        self.assertEqual(self.invites(second), [])

    def test_every_target_failing_gives_the_best_response(self):
        a, b = self.rejecting_uas(503, "Service Unavailable"), self.rejecting_uas(503, "Overloaded")
        self.two_targets("down.dns.test", a.port, b.port)
        p = self.proxy()
        self.call(p, "down.dns.test", 500)  # RFC 3261 16.7 step 6: a 503 is not passed on
        self.assertEqual(len(self.invites(a)), 1)
        self.assertEqual(len(self.invites(b)), 1)

    def test_answers_are_cached_for_their_ttl(self):
        live = self.uas()
        self.dns.srv("_sip._udp.cached.dns.test", 0, 0, live.port, "host.cached.dns.test")
        self.dns.a("host.cached.dns.test", "127.0.0.1")
        p = self.proxy()
        for _ in range(3):
            self.call(p, "cached.dns.test", 200)
        self.assertEqual(len(self.invites(live)), 3)
        self.assertEqual(self.dns.asked("_sip._udp.cached.dns.test", SRV), 1)
        self.assertEqual(self.dns.asked("host.cached.dns.test", A), 1)
        # No NAPTR record: the negative answer (SOA MINIMUM 20 s) is kept too.
        self.assertEqual(self.dns.asked("cached.dns.test", NAPTR), 1)

    def test_a_name_that_does_not_resolve_is_503_and_not_asked_again_at_once(self):
        p = self.proxy()
        self.call(p, "nowhere.dns.test", 503)
        asked = sum(self.dns.queries.values())
        self.assertGreater(asked, 0)
        self.call(p, "nowhere.dns.test", 503)
        self.assertEqual(sum(self.dns.queries.values()), asked)

    def test_a_probed_gateway_is_up_when_its_second_srv_target_answers(self):
        # Calls fail over to the second target, so the OPTIONS probe must too: the first
        # target is silent (timer F after 64 * T1 = 3.2 s), the second answers 200.
        live = self.uas()
        self.two_targets("gw.dns.test", free_port(), live.port)
        p = self.proxy(t1_ms=50, extra_toml="\n".join([
            "[[gateways]]", 'name = "carrier"', 'uri = "sip:gw.dns.test"', "probe = true",
            "probe_interval = 1", "failures_before_down = 1", "successes_before_up = 1",
            "[[routes]]", 'name = "out"', 'match = "^9"', 'gateways = ["carrier"]']))
        deadline = time.monotonic() + 15
        while True:
            state = next(g for g in p.ctl_json("show", "gateways")["gateways"]
                         if g["name"] == "carrier")
            if state["last_result"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual((state["state"], state["last_result"]), ("up", "200 OK"),
                         f"{state}\n{p.log_tail(20)}")
        live.stop()
        self.assertGreaterEqual(live.received("OPTIONS"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
