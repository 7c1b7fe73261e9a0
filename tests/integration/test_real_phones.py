#!/usr/bin/env python3
"""Real phones through a real sipproxyd (issue #10): baresip 1.0 (ctrl_tcp) and
linphonec 5.1 (stdin), each in its own temporary home, no sound card.

For each client, with `server.workers = 2` and with the default (0: one per core): four
phones register with digest (alice and bob over UDP, carol and dave over TCP), then
  UDP -> UDP (alice calls bob), TCP -> TCP (carol calls dave), UDP -> TCP (alice calls dave):
the callee rings (show calls: ringing), answers (both phones established; show calls:
confirmed), RTP flows phone to phone (each phone's own statistics: packets received from
the other phone's RTP port, the proxy's port nowhere on the media path), the caller hangs
up, the callee sees the call end, show calls is empty again. With more than one worker,
dave's TCP connection is first put on a worker other than alice's and carol's (TCP phones
are restarted until the kernel's SO_REUSEPORT spreading does so), so every call to dave
makes the proxy send the INVITE, ACK and BYE over a connection another worker owns.

And linphonec calling 9123 through a dial-plan route to a UDP-only gateway (a SIPp UAS):
the forwarded INVITE is over 1300 bytes, so the proxy first tries TCP (RFC 3261 18.1.1);
the gateway refuses the connection and the call must still reach it over UDP and be
answered.

The phones are started once per class (the slow part); the whole file takes 25-40 s on a
busy 2-core machine.

Run: SIPPROXYD=... SIPPROXYCTL=... python3 test_real_phones.py   (cwd tests/integration)
"""
import re
import shutil
import time
import unittest

from harness import DOMAIN, Proxy, sipp_uas_background
from phones import BARESIP, LINPHONEC, Baresip, Linphonec, PhoneError

USERS = [("alice", "alice-secret"), ("bob", "bob-secret"),
         ("carol", "carol-secret"), ("dave", "dave-secret")]
TRANSPORTS = {"alice": "udp", "bob": "udp", "carol": "tcp", "dave": "tcp"}
RTP_PACKETS = 25  # half a second of 20 ms packets each way: media really flows


def bare(uri):
    """A URI without its parameters: baresip dials sip:bob@example.test;transport=udp."""
    return uri.split(";", 1)[0]


def poll(fn, timeout, step=0.1):
    """Call fn() until it returns something truthy; that value, or the last falsy one."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


class PhoneCalls:
    """Mixin: a sipproxyd and four phones of one client, started once for the class.

    Subclasses set WORKERS, PHONE (Baresip or Linphonec), AUTH_ALGORITHMS and define
    media_check(caller, callee, caller_mark, callee_mark, phase)."""

    WORKERS = 0
    PHONE = None
    AUTH_ALGORITHMS = None
    USER_KEYS = None  # keys for every phone's [[auth.users]] table

    @classmethod
    def setUpClass(cls):
        exe = BARESIP if cls.PHONE is Baresip else LINPHONEC
        if shutil.which(exe) is None:
            raise unittest.SkipTest(f"{exe} is not installed (scripts/deps.sh installs it)")
        users = [(u, p, cls.USER_KEYS) if cls.USER_KEYS else (u, p) for u, p in USERS]
        cls.proxy = Proxy(workers=cls.WORKERS, users=users, auth_algorithms=cls.AUTH_ALGORITHMS)
        cls.addClassCleanup(cls.proxy.__exit__, None, None, None)
        cls.proxy.start()
        cls.phones = {}
        for user, password in USERS:
            cls.phones[user] = cls.started_phone(user, password)
        for p in cls.phones.values():
            p.wait_registered(timeout=20)
        cls.workers = cls.proxy.status()["workers"]
        cls.worker = {u: p.proxy_worker() for u, p in cls.phones.items()}
        if cls.workers > 1:
            cls.spread_over_workers()

    @classmethod
    def new_phone(cls, user, password):
        p = cls.PHONE(user, password, cls.proxy.port, transport=TRANSPORTS[user])
        cls.addClassCleanup(p.stop)
        return p

    @classmethod
    def started_phone(cls, user, password):
        """A new phone, started. Its SIP port is picked free but may be taken before the
        phone binds it (another process's ephemeral port on a busy machine; baresip also
        binds SIP/TLS on the next port): then a new phone on another port, up to three
        times."""
        for attempt in range(3):
            p = cls.new_phone(user, password)
            try:
                p.start()
                return p
            except PhoneError as e:
                if "Address already in use" not in str(e) or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def spread_over_workers(cls):
        """Restart TCP phones until dave's connection belongs to a worker other than the
        ones reading carol's connection and alice's UDP packets: every call to dave then
        crosses workers (each worker owns its TCP connections; the kernel spreads new
        connections and UDP sources over the workers' SO_REUSEPORT sockets)."""
        for _ in range(30):
            w = cls.worker
            if w["dave"] not in (w["alice"], w["carol"]):
                return
            # Two workers: alice and carol must share one, so dave can have the other.
            user = "carol" if cls.workers == 2 and w["carol"] != w["alice"] else "dave"
            old = cls.phones[user]
            old.stop()  # unregisters
            p = cls.phones[user] = cls.started_phone(user, old.password)
            p.wait_registered(timeout=20)
            aor = p.aor
            if not poll(lambda: len(cls.proxy.ctl_json("show", "registrations", aor)
                                    ["registrations"]) == 1, 10):
                raise AssertionError(f"{aor}: the restarted phone's old binding is still there: "
                                     f"{cls.proxy.ctl_json('show', 'registrations', aor)}")
            cls.worker[user] = p.proxy_worker()
        raise AssertionError(f"could not put dave on a worker of its own: {cls.worker}")

    def tearDown(self):
        # A failed test may leave a call up: end it so the next test starts clean.
        for p in self.phones.values():
            try:
                p.hang_up()
            except (PhoneError, OSError):
                pass
        poll(lambda: not self.calls(), 10)

    # -- helpers

    def calls(self):
        return self.proxy.ctl_json("show", "calls")["calls"]

    def wait_call_state(self, state, timeout=10.0):
        """The one call of `show calls` once it is in `state` (fails otherwise)."""
        last = []

        def seen():
            last[:] = self.calls()
            return len(last) == 1 and last[0]["state"] == state and last[0]
        c = poll(seen, timeout)
        if not c:
            self.fail(f"show calls never had exactly one {state} call: {last}\n"
                      + self.proxy.log_tail(30))
        return c

    def explain(self, *phones):
        out = [f"--- sipproxyd (workers={self.WORKERS})\n{self.proxy.log_tail(40)}"]
        for p in phones:
            out.append(f"--- {p.name}\n{p.describe()}")
        return "\n".join(out)

    # -- the call every test makes

    def call_and_hang_up(self, caller, callee):
        cm, em = caller.mark(), callee.mark()
        caller.dial(callee.aor)
        try:
            self.assertEqual(bare(callee.wait_incoming(em, timeout=15)), caller.aor)
        except PhoneError as e:
            self.fail(f"{e}\n{self.explain(caller, callee)}")
        ringing = self.wait_call_state("ringing")
        self.assertEqual((ringing["caller"], bare(ringing["callee"])), (caller.aor, callee.aor))

        callee.answer()
        try:
            caller.wait_established(cm, timeout=15)
            callee.wait_established(em, timeout=15)
        except PhoneError as e:
            self.fail(f"{e}\n{self.explain(caller, callee)}")
        confirmed = self.wait_call_state("confirmed")
        self.assertEqual((confirmed["caller"], bare(confirmed["callee"])),
                         (caller.aor, callee.aor))
        self.assertEqual(confirmed["call_id"], ringing["call_id"])

        self.media_check(caller, callee, cm, em, "during")

        caller.hang_up()
        try:
            caller.wait_closed(cm, timeout=15)
        except PhoneError as e:
            self.fail(f"the caller did not end the call: {e}\n{self.explain(caller, callee)}")
        try:
            # The BYE must reach the callee: without it, it would only notice when its RTP
            # timeout fires (never for baresip; 30 s for linphonec), far beyond this wait.
            reason = callee.wait_closed(em, timeout=10)
        except PhoneError as e:
            self.fail(f"the callee did not see the caller hang up: {e}\n"
                      + self.explain(caller, callee))
        self.assert_remote_hangup(reason)
        left = poll(lambda: not self.calls() or None, 10)
        self.assertTrue(left, f"show calls still lists the call: {self.calls()}")
        self.media_check(caller, callee, cm, em, "after")
        return cm, em


class BaresipCalls(PhoneCalls):
    """baresip 1.0: events from ctrl_tcp, media from its audio_debug (RTCP members)."""

    PHONE = Baresip
    # baresip 1.0 (libre) gives up on a 401 with a SHA-256 challenge even next to an MD5
    # one ("Register: Function not implemented"): its users are offered MD5 only
    # ([[auth.users]] algorithms), the proxy keeps the default ["SHA-256", "MD5"].
    USER_KEYS = {"algorithms": '["MD5"]'}

    def assert_remote_hangup(self, event):
        self.assertEqual(event["type"], "CALL_CLOSED")

    def media_check(self, caller, callee, cm, em, phase):
        if phase != "during":
            return
        stats = {}

        def flowing():
            stats["caller"], stats["callee"] = caller.rtp(), callee.rtp()
            return all(sum(n for _, _, n in s["sources"]) >= RTP_PACKETS
                       and s["sent"] >= RTP_PACKETS for s in stats.values())
        ok = poll(flowing, 15, 0.25)
        detail = (f"caller {caller.name}:\n{stats['caller']['text']}\n"
                  f"callee {callee.name}:\n{stats['callee']['text']}")
        self.assertTrue(ok, "RTP did not flow both ways:\n" + detail)
        a, b = stats["caller"], stats["callee"]
        for mine, peer, phone in ((a, b, caller), (b, a, callee)):
            lo, hi = phone.rtp_ports
            self.assertTrue(lo <= mine["local_port"] <= hi, detail)
            # Sent to the peer's own RTP socket, received only from there: phone to phone.
            self.assertEqual(mine["remote"], ("127.0.0.1", peer["local_port"]), detail)
            self.assertEqual([(ip, port) for ip, port, _ in mine["sources"]],
                             [("127.0.0.1", peer["local_port"])], detail)
            self.assertNotEqual(mine["remote"][1], self.proxy.port)


class LinphonecCalls(PhoneCalls):
    """linphonec 5.1: call progress from its console lines, media from its debug log."""

    PHONE = Linphonec
    AUTH_ALGORITHMS = None  # the daemon's default: SHA-256 first, then MD5

    def assert_remote_hangup(self, match):
        # "Call 1 with ... ended (No error)." for a BYE (an RTP timeout gives another reason).
        self.assertEqual(match.group(1), "No error")

    def media_check(self, caller, callee, cm, em, phase):
        if phase == "during":
            # Each phone reports its download rate once a second: wait for audio both ways.
            ok = poll(lambda: all(any(d > 0 for d in p.rtp(m)["received_kbps"])
                                  for p, m in ((caller, cm), (callee, em))), 15, 0.25)
            self.assertTrue(ok, "no RTP received:\n" + self.explain(caller, callee))
            return
        a = poll(lambda: (s := caller.rtp(cm))["sent"] is not None and s, 10)
        b = poll(lambda: (s := callee.rtp(em))["sent"] is not None and s, 10)
        detail = f"caller {caller.name}: {a}\ncallee {callee.name}: {b}"
        self.assertTrue(a and b, "no RTP statistics at the end of the call:\n" + detail)
        for mine, peer, phone in ((a, b, caller), (b, a, callee)):
            lo, hi = phone.rtp_ports
            self.assertEqual(mine["local_ip"], "127.0.0.1", detail)
            self.assertTrue(lo <= mine["local_port"] <= hi, detail)
            # Each sent to the socket the other bound: the media path is phone to phone.
            self.assertEqual(mine["remote"], ("127.0.0.1", peer["local_port"]), detail)
            self.assertGreaterEqual(mine["sent"], RTP_PACKETS, detail)
            self.assertGreaterEqual(mine["received"], RTP_PACKETS, detail)


class CallMatrix:
    """The three transport combinations (mixed into a client's class per workers value)."""

    def test_registrations_list_each_phone_with_its_transport(self):
        regs = self.proxy.ctl_json("show", "registrations")["registrations"]
        got = sorted((r["aor"], r["transport"]) for r in regs)
        self.assertEqual(got, sorted((f"sip:{u}@{DOMAIN}", t) for u, t in TRANSPORTS.items()))

    def test_udp_caller_to_udp_callee(self):
        self.call_and_hang_up(self.phones["alice"], self.phones["bob"])

    def test_tcp_caller_to_tcp_callee(self):
        if self.workers > 1:  # the caller's connection and the callee's on different workers
            self.assertNotEqual(self.worker["carol"], self.worker["dave"])
        self.call_and_hang_up(self.phones["carol"], self.phones["dave"])

    def test_udp_caller_to_tcp_callee(self):
        if self.workers > 1:
            self.assertNotEqual(self.worker["alice"], self.worker["dave"])
        self.call_and_hang_up(self.phones["alice"], self.phones["dave"])


class BaresipTwoWorkers(CallMatrix, BaresipCalls, unittest.TestCase):
    WORKERS = 2


class BaresipDefaultWorkers(CallMatrix, BaresipCalls, unittest.TestCase):
    WORKERS = 0


class LinphonecTwoWorkers(CallMatrix, LinphonecCalls, unittest.TestCase):
    WORKERS = 2

    def test_linphonec_answers_the_sha256_challenge(self):
        # The default [auth] algorithms offer SHA-256 first: linphonec 5.1 takes it.
        regs = [m for m in re.findall(r"(?m)^Authorization:\s+Digest .*$",
                                      self.phones["alice"].log())]
        self.assertTrue(regs, "alice's log shows no REGISTER with credentials")
        self.assertRegex(regs[0], r"algorithm=SHA-256")


class LinphonecDefaultWorkers(CallMatrix, LinphonecCalls, unittest.TestCase):
    WORKERS = 0


class LinphonecThroughRouteToUdpOnlyGateway(unittest.TestCase):
    """linphonec dials 9123; a [[routes]] entry sends it to a SIPp gateway listening on UDP
    only, configured without a transport parameter. The forwarded INVITE is over 1300
    bytes, so the proxy tries TCP first (RFC 3261 18.1.1); the refused connection must make
    it fall back to UDP within the same transaction, not answer 503.

    linphonec sends ~1,520 bytes with its credentials, but the proxy consumes the
    Proxy-Authorization it verified (~270 bytes), which would leave ~1,250: so this phone
    offers SDES-SRTP (four a=crypto lines) and the gateway (gw_uas_sdes.xml) answers it,
    and the test checks the size the gateway received."""

    @classmethod
    def setUpClass(cls):
        if shutil.which(LINPHONEC) is None:
            raise unittest.SkipTest(f"{LINPHONEC} is not installed (scripts/deps.sh installs it)")
        cls.gateway = sipp_uas_background("gw_uas_sdes.xml", transport="u1")  # UDP only
        cls.addClassCleanup(cls.gateway.stop)
        dial_plan = ("[[gateways]]\nname = \"udp-only\"\n"
                     f"uri = \"sip:127.0.0.1:{cls.gateway.port}\"\n\n"  # no ;transport=
                     "[[routes]]\nname = \"pstn\"\nmatch = \"^9\"\ngateways = [\"udp-only\"]\n")
        # No trusted sources: linphonec must authenticate its INVITE (407, then credentials).
        cls.proxy = Proxy(users=USERS, extra_toml=dial_plan)
        cls.addClassCleanup(cls.proxy.__exit__, None, None, None)
        cls.proxy.start()
        # SDES-SRTP puts four a=crypto lines in the offer: the INVITE stays over 1300 bytes
        # after the proxy consumes its Proxy-Authorization.
        cls.alice = Linphonec("alice", "alice-secret", cls.proxy.port, transport="udp",
                              sip_keys={"media_encryption": "srtp"})
        cls.addClassCleanup(cls.alice.stop)
        cls.alice.start()
        cls.alice.wait_registered(timeout=20)

    def test_large_authenticated_invite_reaches_the_udp_gateway_and_is_answered(self):
        alice, proxy, gw = self.alice, self.proxy, self.gateway
        m = alice.mark()
        alice.dial(f"sip:9123@{DOMAIN}")
        try:
            alice.wait_established(m, timeout=20)
        except PhoneError as e:
            self.fail(f"{e}\n--- sipproxyd\n{proxy.log_tail(40)}\n--- gateway\n{gw.describe()}")
        calls = poll(lambda: [c for c in proxy.ctl_json("show", "calls")["calls"]
                              if c["state"] == "confirmed"], 10)
        self.assertEqual(len(calls), 1, proxy.ctl_json("show", "calls"))
        self.assertEqual(calls[0]["caller"], alice.aor)
        alice.hang_up()
        try:
            alice.wait_closed(m, timeout=15)
        except PhoneError as e:
            self.fail(f"{e}\n--- sipproxyd\n{proxy.log_tail(40)}")
        self.assertTrue(poll(lambda: not proxy.ctl_json("show", "calls")["calls"], 10))

        gw.stop()  # flushes its message log
        self.assertEqual(re.findall(r"(?m)^INVITE (\S+)", gw.logs()),
                         [f"sip:9123@127.0.0.1:{gw.port}"], gw.describe())
        sizes = [int(n) for n in re.findall(
            r"(?m)^UDP message received \[(\d+)\] bytes :\s*\n\s*INVITE ", gw.messages())]
        self.assertTrue(sizes, gw.messages()[-3000:])
        # Over 1300 bytes, so this call did exercise the TCP attempt and the UDP fallback.
        self.assertGreater(sizes[0], 1300)
        self.assertEqual(gw.received("BYE"), 1, gw.describe())


if __name__ == "__main__":
    unittest.main(verbosity=2)
