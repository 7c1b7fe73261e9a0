#!/usr/bin/env python3
"""IPv6 (RFC 5118): the proxy listens on [::1], answers there, stamps received/rport
with the IPv6 source (no brackets in received, RFC 5118 4.5), and relays between IPv6 and
IPv4 peers."""
import socket
import unittest

from harness import Proxy


def exchange(sock, dest, msg, timeout=2.0):
    sock.settimeout(timeout)
    sock.sendto(msg.encode(), dest)
    return sock.recv(65535).decode()


class Ipv6Test(unittest.TestCase):
    def setUp(self):
        self.proxy = Proxy(auth=False, ipv6=True)
        self.proxy.start()
        self.addCleanup(self.proxy.stop)
        self.v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.v6.bind(("::1", 0))
        self.addCleanup(self.v6.close)
        self.port6 = self.v6.getsockname()[1]

    def test_options_over_ipv6_with_rport(self):
        msg = (f"OPTIONS sip:[::1]:{self.proxy.port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP [::1]:{self.port6};branch=z9hG4bKv6opt;rport\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:a@[::1]>;tag=1\r\n"
               f"To: <sip:[::1]:{self.proxy.port}>\r\nCall-ID: v6-options\r\n"
               "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        r = exchange(self.v6, ("::1", self.proxy.port), msg)
        lines = r.split("\r\n")
        self.assertEqual(lines[0], "SIP/2.0 200 OK")
        self.assertEqual(lines[1], f"Via: SIP/2.0/UDP [::1]:{self.port6};branch=z9hG4bKv6opt;"
                                   f"rport={self.port6};received=::1")

    def test_relay_from_ipv6_to_ipv4_and_back(self):
        target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        target.bind(("127.0.0.1", 0))
        target.settimeout(2)
        self.addCleanup(target.close)
        tport = target.getsockname()[1]
        msg = (f"MESSAGE sip:bob@127.0.0.1:{tport} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP [::1]:{self.port6};branch=z9hG4bKv6msg\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:a@[::1]>;tag=1\r\n"
               "To: <sip:bob@127.0.0.1>\r\nCall-ID: v6-message\r\n"
               "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n")
        self.v6.sendto(msg.encode(), ("::1", self.proxy.port))
        fwd, (src, _) = target.recvfrom(65535)
        fwd = fwd.decode()
        self.assertEqual(src, "127.0.0.1")
        vias = [l for l in fwd.split("\r\n") if l.startswith("Via:")]
        self.assertEqual(len(vias), 2, fwd)
        self.assertTrue(vias[0].startswith(f"Via: SIP/2.0/UDP 127.0.0.1:{self.proxy.port};branch=z9hG4bK-sp"), vias)
        self.assertEqual(vias[1], f"Via: SIP/2.0/UDP [::1]:{self.port6};branch=z9hG4bKv6msg")
        self.assertIn("Max-Forwards: 69\r\n", fwd)
        # The target answers over IPv4; the proxy sends the answer on over IPv6.
        head = fwd.split("\r\n\r\n")[0].split("\r\n")[1:]
        keep = [l + (";tag=b" if l.startswith("To:") else "") for l in head
                if l.split(":")[0] in ("Via", "From", "To", "Call-ID", "CSeq")]
        resp = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
        target.sendto(resp.encode(), ("127.0.0.1", self.proxy.port))
        self.v6.settimeout(2)
        back = self.v6.recv(65535).decode()
        self.assertTrue(back.startswith("SIP/2.0 200 OK\r\n"), back)
        self.assertEqual([l for l in back.split("\r\n") if l.startswith("Via:")],
                         [f"Via: SIP/2.0/UDP [::1]:{self.port6};branch=z9hG4bKv6msg"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
