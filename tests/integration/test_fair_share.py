"""Fair shares under load (issue #12 item 8): no source takes the transaction table, and
the proxy reflects no more datagrams than it receives.

A real sipproxyd; the attacker is a plain UDP socket on another loopback address sending
INVITEs from outside the domain (not challenged: calls to local users are allowed), paced
below the flood limit so that the share, not a ban, is what protects everybody else.
"""
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Proxy, free_port, legitimate_calls, register, status_of  # noqa: E402


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class InviteFlood:
    """INVITEs to sip:USER@example.test from <sip:mallory@elsewhere.test> at `rate` per
    second for `seconds`, from `address`, never ACKed; counts what comes back."""

    def __init__(self, proxy, address, user, rate, seconds):
        self.proxy, self.user, self.rate, self.seconds = proxy, user, rate, seconds
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((address, 0))
        self.sock.settimeout(0.2)
        self.address, self.port = self.sock.getsockname()
        self.sent = 0
        self.received = {}  # status code -> datagrams
        self.retry_after = 0
        self._stop = False
        self._receiver = threading.Thread(target=self._receive, daemon=True)
        self._sender = threading.Thread(target=self._send, daemon=True)

    def _invite(self, i):
        a, p = self.address, self.port
        return (f"INVITE sip:{self.user}@example.test SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {a}:{p};branch=z9hG4bKflood{i}x{p};rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:mallory@elsewhere.test>;tag=f{i}\r\n"
                f"To: <sip:{self.user}@example.test>\r\n"
                f"Call-ID: flood{i}-{p}@elsewhere.test\r\n"
                "CSeq: 1 INVITE\r\n"
                f"Contact: <sip:mallory@{a}:{p}>\r\n"
                "Content-Length: 0\r\n\r\n").encode()

    def _send(self):
        step = 0.01
        per_step = max(1, int(self.rate * step))
        start = time.monotonic()
        i = 0
        while not self._stop and time.monotonic() - start < self.seconds:
            for _ in range(per_step):
                self.sock.sendto(self._invite(i), (self.proxy.host, self.proxy.port))
                i += 1
            self.sent = i
            # Paced on the clock, not on sleep's accuracy (a loaded machine sleeps late).
            delay = start + (i // per_step) * step - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def _receive(self):
        while not self._stop:
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            first = data.split(b"\r\n", 1)[0].decode(errors="replace")
            code = first.split(" ")[1] if first.startswith("SIP/2.0 ") else "?"
            self.received[code] = self.received.get(code, 0) + 1
            if code == "503" and b"Retry-After:" in data:
                self.retry_after += 1

    def start(self):
        self._receiver.start()
        self._sender.start()
        return self

    def wait_sent(self):
        self._sender.join()

    def stop(self):
        self._stop = True
        self._sender.join()
        self._receiver.join()
        self.sock.close()

    def total_received(self):
        return sum(self.received.values())


class SilentPhone:
    """A registered phone that never answers: reads and drops what it gets."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                self.sock.recv(65535)
                self.received += 1
            except socket.timeout:
                continue
            except OSError:
                return

    def stop(self):
        self._stop = True
        self._thread.join()
        self.sock.close()


USERS = [("alice", "alice-secret"), ("bob", "bob-secret"), ("carol", "carol-secret")]


class FairShare(unittest.TestCase):
    def test_invite_flood_to_a_silent_phone_leaves_room_for_a_user(self):
        # The table is small (1000) so that the flood would fill it within 2 s without
        # the per-source share (every INVITE holds a server and a client transaction
        # for timer B, 32 s); 300 INVITEs/s stays below the flood limit (500/s).
        proxy = Proxy(workers=2, log_level="info", users=USERS, auth_algorithms=["MD5", "SHA-256"],
                      transaction_toml="max_transactions = 1000",
                      extra_toml="[security]\nmax_pending_per_source = 200\n")
        with proxy:
            port = free_port()
            self.assertEqual(status_of(register(proxy, "carol", "carol-secret", port)), 200)
            carol = SilentPhone(port)
            self.addCleanup(carol.stop)
            before = rss_kb(proxy.proc.pid)
            attacker = InviteFlood(proxy, "127.0.0.2", "carol", 300, 8).start()
            self.addCleanup(attacker.stop)
            time.sleep(2)  # the flooder holds its whole share by now
            r, uas = legitimate_calls(self, proxy)
            self.assertEqual(r.returncode, 0, r.describe() + "\n--- uas\n" + uas.describe())
            stat = r.stat()
            self.assertEqual(int(stat["SuccessfulCall(C)"]), 10, stat)
            self.assertEqual(int(stat["FailedCall(C)"]), 0, stat)
            attacker.wait_sent()
            stats = proxy.stats()
            after = rss_kb(proxy.proc.pid)
            print(f"\nsilent-phone flood: {attacker.sent} INVITEs sent, answers by status "
                  f"{attacker.received}; pending {stats['transactions.pending']}; "
                  f"refused per source {stats['blocked.pending_per_source']}; "
                  f"RSS {before} kB before, {after} kB after", file=sys.stderr)
            self.assertGreater(stats["blocked.pending_per_source"], 0, stats)
            self.assertGreater(attacker.retry_after, 0, attacker.received)
            self.assertLessEqual(stats["transactions.pending"], 2 * 200 + 10, stats)
            # The share did it, not a ban.
            self.assertEqual(proxy.ctl_json("show", "bans")["bans"], [])
            # The silent phone got at most its share of INVITEs (plus timer A repeats).
            self.assertLess(carol.received, attacker.sent, carol.received)

    def test_an_invite_flood_that_never_acks_is_not_reflected(self):
        # RFC 3261 17.2.1 would repeat each 404 (timer G) until timer H: 4 to 10 datagrams
        # for one spoofable INVITE. Towards a source nobody vouched for: one for one.
        with Proxy(workers=2, log_level="info") as proxy:
            attacker = InviteFlood(proxy, "127.0.0.3", "nobody", 300, 5).start()
            self.addCleanup(attacker.stop)
            attacker.wait_sent()
            time.sleep(4)  # timer G would have repeated every 404 three or four times by now
            sent, received = attacker.sent, attacker.total_received()
            stats = proxy.stats()
            print(f"\nnever-ACKed flood: {sent} INVITEs in, {received} datagrams out "
                  f"({received / max(sent, 1):.2f} per INVITE) {attacker.received}; "
                  f"lingering {stats['transactions.lingering']}", file=sys.stderr)
            self.assertLessEqual(received, sent, attacker.received)
            self.assertGreater(received, sent * 0.9, attacker.received)  # answered all the same
            self.assertEqual(proxy.ctl_json("show", "bans")["bans"], [])
            self.assertGreater(stats["transactions.lingering"], 0, stats)


if __name__ == "__main__":
    unittest.main(verbosity=2)
