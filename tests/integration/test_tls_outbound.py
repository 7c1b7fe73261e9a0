#!/usr/bin/env python3
"""TLS the proxy opens (issue #14): a request for `sip:...;transport=tls` or `sips:` goes
to its next hop over TLS (Via SIP/2.0/TLS, Record-Route ;transport=tls and the UDP one),
the next hop's certificate verified against [tls] ca_file; a next hop whose certificate
comes from another CA gets no request, and the caller gets a 503.

The next hop is a small Python TLS server with test_tls.py's certificates.

Run: SIPPROXYD=... SIPPROXYCTL=... python3 test_tls_outbound.py   (cwd tests/integration)
"""
import socket
import ssl
import threading
import unittest

from harness import DOMAIN, Proxy, UdpClient, free_port, header, status_of
from test_tls import OPENSSL, Certificates, tls_toml


class TlsNextHop:
    """Accepts TLS connections, answers each request with 200 OK, keeps what it got."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.handshake_errors = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(raw,), daemon=True).start()

    def _conn(self, raw):
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.handshake_errors.append(str(e))
            raw.close()
            return
        buf = b""
        with s:
            while True:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)  # requests here have no body
                    msg = head.decode() + "\r\n\r\n"
                    self.requests.append(msg)
                    lines = msg.split("\r\n")
                    keep = [l for l in lines[1:] if l.split(":")[0].lower() in
                            ("via", "from", "to", "call-id", "cseq", "record-route")]
                    s.sendall(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep)
                               + "\r\nContent-Length: 0\r\n\r\n").encode())

    def close(self):
        self.sock.close()


def options(ruri, port, branch):
    return (f"OPTIONS {ruri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@{DOMAIN}>;tag={branch}\r\nTo: <{ruri}>\r\n"
            f"Call-ID: {branch}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class OutboundTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certificates()
        cls.tls_port = free_port("tcp")
        cls.proxy = Proxy(auth=False, extra_listen=[f"tls://127.0.0.1:{cls.tls_port}"],
                          extra_toml=tls_toml(cls.certs))
        cls.addClassCleanup(cls.proxy.__exit__, None, None, None)
        cls.proxy.start()

    def ask(self, ruri, branch):
        with UdpClient() as c:
            c.send(self.proxy.port, options(ruri, c.port, branch))
            return c.recv_final(timeout=10)

    def test_transport_tls_next_hop_is_reached_over_verified_tls(self):
        hop = TlsNextHop(self.certs.server, self.certs.server_key)
        self.addCleanup(hop.close)
        r = self.ask(f"sip:gw@127.0.0.1:{hop.port};transport=tls", "out1")
        self.assertEqual(status_of(r), 200, r)
        self.assertEqual(len(hop.requests), 1, hop.requests)
        got = hop.requests[0]
        self.assertIn(f"Via: SIP/2.0/TLS 127.0.0.1:{self.tls_port};branch=", got)

    def ask_over_tls(self, ruri, branch):
        ctx = ssl.create_default_context(cafile=self.certs.ca)
        raw = socket.create_connection(("127.0.0.1", self.tls_port), 5)
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            msg = options(ruri, s.getsockname()[1], branch).replace("SIP/2.0/UDP", "SIP/2.0/TLS")
            s.sendall(msg.encode())
            s.settimeout(10)
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        return data.decode(errors="replace")
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                text = head.decode(errors="replace") + "\r\n\r\n"
                if (status_of(text) or 0) >= 200:
                    return text

    def test_sips_next_hop_is_reached_over_tls(self):
        # A sips: request must arrive over TLS itself (RFC 3261 26.2).
        hop = TlsNextHop(self.certs.server, self.certs.server_key)
        self.addCleanup(hop.close)
        r = self.ask_over_tls(f"sips:gw@127.0.0.1:{hop.port}", "out2")
        self.assertEqual(status_of(r), 200, r)
        self.assertEqual(len(hop.requests), 1, hop.requests)
        self.assertIn("Via: SIP/2.0/TLS ", hop.requests[0])

    def test_sips_request_over_udp_is_refused_and_not_forwarded(self):
        hop = TlsNextHop(self.certs.server, self.certs.server_key)
        self.addCleanup(hop.close)
        r = self.ask(f"sips:gw@127.0.0.1:{hop.port}", "out4")
        self.assertEqual(status_of(r), 416, r)
        self.assertEqual(hop.requests, [])

    def test_next_hop_with_a_certificate_from_another_ca_gets_nothing(self):
        cert, key = self.certs.issue("rogue", "127.0.0.1",
                                     ca=(self.certs.other_ca, self.certs.other_ca_key))
        hop = TlsNextHop(cert, key)
        self.addCleanup(hop.close)
        r = self.ask(f"sip:gw@127.0.0.1:{hop.port};transport=tls", "out3")
        self.assertEqual(status_of(r), 503, r)
        self.assertEqual(hop.requests, [])


if __name__ == "__main__":
    unittest.main()
