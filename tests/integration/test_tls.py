#!/usr/bin/env python3
"""SIP over TLS (issue #14): `tls://` listeners, certificates made here by openssl (a
throwaway CA, a server certificate for 127.0.0.1, a renewed one, a client certificate and
a second CA nobody trusts).

- baresip and linphonec register over TLS (`;transport=tls`, baresip's sip_cafile,
  linphonec's root_ca) with digest, call a UDP phone of the same client and are called by
  it, hang up (test_real_phones.py's call: ringing, confirmed, RTP, BYE).
- Certificate reload: the renewed certificate is served to new connections after
  `sipproxyctl reload` (which lists tls.certificate), a connection opened before keeps
  its session; a broken certificate file is refused with its name and nothing changes.
- Bad clients: a client trusting another CA, plain SIP over TCP on the TLS port, half a
  ClientHello (handshake timeout): each closed and counted (tls.handshake_failures); the
  daemon keeps answering. The per-source connection cap applies to TLS too.
- SNI ([[tls.sni]]): the certificate named by the client's SNI, else the default.
- verify_clients = true: a client certificate from ca_file is accepted; none, or one
  from another CA, is closed and counted.

Run: SIPPROXYD=... SIPPROXYCTL=... python3 test_tls.py   (cwd tests/integration)
"""
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import unittest
import urllib.request

from harness import DOMAIN, Proxy, _mkdtemp, free_port, read_head, send_udp, status_of
from phones import BARESIP, LINPHONEC, Baresip, Linphonec
from test_real_phones import BaresipCalls, LinphonecCalls, poll

OPENSSL = shutil.which("openssl")


class Certificates:
    """A CA, server certificates for 127.0.0.1 (and sip.example.test), a client
    certificate, and a second CA; EC P-256 keys (fast to make)."""

    def __init__(self):
        self.dir = _mkdtemp("tls-certs-")
        self.ca, self.ca_key = self.make_ca("ca", "sipproxy test CA")
        self.other_ca, self.other_ca_key = self.make_ca("other-ca", "untrusted CA")
        self.server, self.server_key = self.issue("server", "127.0.0.1")
        self.client, self.client_key = self.issue("client", "trunk.example.test")

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args):
        subprocess.run([OPENSSL, *args], check=True, capture_output=True, cwd=self.dir)

    def key(self, name):
        self.run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", self.path(name + ".key"))
        return self.path(name + ".key")

    def make_ca(self, name, cn):
        key = self.key(name)
        self.run("req", "-x509", "-new", "-key", key, "-out", self.path(name + ".pem"),
                 "-days", "30", "-subj", f"/CN={cn}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return self.path(name + ".pem"), key

    def issue(self, name, cn, ca=None, days=30):
        ca, ca_key = ca or (self.ca, self.ca_key)
        key = self.key(name)
        csr = self.path(name + ".csr")
        self.run("req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={cn}")
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:{cn}\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    "basicConstraints=CA:FALSE\n")
        self.run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", self.path(name + ".pem"), "-days", str(days), "-extfile", ext)
        return self.path(name + ".pem"), key


def tls_toml(certs, handshake_timeout=10, verify_clients=False):
    return (f'[tls]\ncertificate = "{certs.server}"\nprivate_key = "{certs.server_key}"\n'
            f'ca_file = "{certs.ca}"\nverify_clients = {"true" if verify_clients else "false"}\n'
            f'handshake_timeout = {handshake_timeout}\n')


def client_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True
    return ctx


def tls_connect(port, cafile, server_hostname="127.0.0.1", context=None):
    raw = socket.create_connection(("127.0.0.1", port), 5)
    return (context or client_context(cafile)).wrap_socket(raw, server_hostname=server_hostname)


def options_over(sock, port, branch):
    msg = (f"OPTIONS sip:127.0.0.1:{port};transport=tls SIP/2.0\r\n"
           f"Via: SIP/2.0/TLS 127.0.0.1:{sock.getsockname()[1]};branch=z9hG4bK{branch}\r\n"
           "Max-Forwards: 70\r\n"
           f"From: <sip:probe@{DOMAIN}>;tag={branch}\r\nTo: <sip:127.0.0.1:{port}>\r\n"
           f"Call-ID: {branch}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    sock.sendall(msg.encode())
    sock.settimeout(5)
    return read_head(sock)


def served_serial(port, cafile):
    with tls_connect(port, cafile) as s:
        return ssl.DER_cert_to_PEM_cert(s.getpeercert(binary_form=True))


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class TlsPhonesMixin:
    """alice and carol over TLS, bob and dave over UDP: TLS -> UDP and UDP -> TLS."""

    TRANSPORTS = {"alice": "tls", "bob": "udp", "carol": "tls", "dave": "udp"}

    @classmethod
    def setUpClass(cls):
        exe = BARESIP if cls.PHONE is Baresip else LINPHONEC
        if shutil.which(exe) is None:
            raise unittest.SkipTest(f"{exe} is not installed (scripts/deps.sh installs it)")
        cls.certs = Certificates()
        users = [("alice", "alice-secret"), ("bob", "bob-secret"),
                 ("carol", "carol-secret"), ("dave", "dave-secret")]
        if cls.USER_KEYS:
            users = [(u, p, cls.USER_KEYS) for u, p in users]
        cls.tls_port = free_port("tcp")
        cls.proxy = Proxy(workers=2, users=users, auth_algorithms=cls.AUTH_ALGORITHMS,
                          extra_listen=[f"tls://127.0.0.1:{cls.tls_port}"],
                          extra_toml=tls_toml(cls.certs))
        cls.addClassCleanup(cls.proxy.__exit__, None, None, None)
        cls.proxy.start()
        cls.phones = {}
        for user, password, *_ in users:
            cls.phones[user] = cls.started_phone(user, password)
        for p in cls.phones.values():
            p.wait_registered(timeout=20)
        cls.workers = cls.proxy.status()["workers"]

    @classmethod
    def new_phone(cls, user, password):
        tp = cls.TRANSPORTS[user]
        port = cls.tls_port if tp == "tls" else cls.proxy.port
        if cls.PHONE is Baresip:
            extra = f"sip_cafile\t\t{cls.certs.ca}\n" if tp == "tls" else ""
            p = Baresip(user, password, port, transport=tp, extra_config=extra)
        else:
            keys = {"root_ca": cls.certs.ca, "verify_server_certs": 1,
                    "verify_server_cn": 1} if tp == "tls" else {}
            p = Linphonec(user, password, port, transport=tp, sip_keys=keys)
        cls.addClassCleanup(p.stop)
        return p

    def test_registrations_over_tls_show_their_transport(self):
        regs = self.proxy.ctl_json("show", "registrations")["registrations"]
        got = sorted((r["aor"], r["transport"]) for r in regs)
        self.assertEqual(got, sorted((f"sip:{u}@{DOMAIN}", t) for u, t in self.TRANSPORTS.items()))

    def test_tls_caller_to_udp_callee(self):
        self.call_and_hang_up(self.phones["alice"], self.phones["bob"])

    def test_udp_caller_to_tls_callee(self):
        self.call_and_hang_up(self.phones["dave"], self.phones["carol"])


class BaresipOverTls(TlsPhonesMixin, BaresipCalls, unittest.TestCase):
    pass


class LinphonecOverTls(TlsPhonesMixin, LinphonecCalls, unittest.TestCase):
    pass


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class CertificateReload(unittest.TestCase):
    def setUp(self):
        self.certs = Certificates()
        self.port = free_port("tcp")
        self.proxy = Proxy(auth=False, extra_listen=[f"tls://127.0.0.1:{self.port}"],
                           extra_toml=tls_toml(self.certs))
        self.addCleanup(self.proxy.__exit__, None, None, None)
        self.proxy.start()

    def test_status_lists_the_certificate_and_its_expiry(self):
        certs = self.proxy.status()["tls_certificates"]
        self.assertEqual(len(certs), 1, certs)
        self.assertEqual(certs[0]["file"], self.certs.server)
        self.assertIn("CN = 127.0.0.1", certs[0]["subject"].replace("/CN=", "CN = "))
        self.assertTrue(29 * 86400 < certs[0]["expires_in_s"] <= 30 * 86400, certs)
        human = self.proxy.ctl("status").stdout
        self.assertRegex(human, r"certificate: +" + self.certs.server + r" until \S+Z \(29 days\)")
        left = self.proxy.stats()["tls.certificate_expiry_s"]
        self.assertIsInstance(left, int)
        self.assertTrue(29 * 86400 < left <= 30 * 86400, left)

    def test_renewed_certificate_is_served_after_reload_open_connection_keeps_its_session(self):
        before = served_serial(self.port, self.certs.ca)
        held = tls_connect(self.port, self.certs.ca)
        self.addCleanup(held.close)
        self.assertEqual(status_of(options_over(held, self.port, "held1")), 200)
        # Renewal: a new certificate (same name) written over the same files.
        renewed, renewed_key = self.certs.issue("renewed", "127.0.0.1", days=60)
        shutil.copy(renewed, self.certs.server)
        shutil.copy(renewed_key, self.certs.server_key)
        answer = self.proxy.ctl_json("reload")
        self.assertIn("tls.certificate", [c["key"] for c in answer["changed"]], answer)
        after = served_serial(self.port, self.certs.ca)
        self.assertNotEqual(before, after)
        with open(renewed) as f:
            self.assertEqual(after.strip(), f.read().strip())
        # The connection opened before the reload still works.
        self.assertEqual(status_of(options_over(held, self.port, "held2")), 200)

    def test_broken_certificate_file_refuses_the_reload_and_nothing_changes(self):
        before = served_serial(self.port, self.certs.ca)
        with open(self.certs.server, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        r = self.proxy.ctl("reload")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(self.certs.server, r.stdout + r.stderr)
        self.assertIn("tls.certificate", r.stdout + r.stderr)
        self.assertEqual(served_serial(self.port, self.certs.ca), before)


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class BadTlsClients(unittest.TestCase):
    def setUp(self):
        self.certs = Certificates()
        self.port = free_port("tcp")
        self.proxy = Proxy(auth=False, extra_listen=[f"tls://127.0.0.1:{self.port}"],
                           extra_toml=tls_toml(self.certs, handshake_timeout=2)
                           + "[security]\nmax_connections_per_source = 5\n")
        self.addCleanup(self.proxy.__exit__, None, None, None)
        self.proxy.start()

    def failures(self):
        return self.proxy.stats().get("tls.handshake_failures", 0)

    def assert_closed(self, sock, timeout=5):
        sock.settimeout(timeout)
        try:
            data = sock.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            return
        except socket.timeout:
            self.fail("the proxy did not close the connection")
        # A TLS alert may come first; then the end of the stream.
        while data:
            try:
                data = sock.recv(4096)
            except (ConnectionResetError, socket.timeout):
                return

    def still_serving(self):
        with tls_connect(self.port, self.certs.ca) as s:
            self.assertEqual(status_of(options_over(s, self.port, f"ok{time.monotonic_ns()}")), 200)

    def test_a_client_trusting_another_ca_fails_and_is_counted(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            tls_connect(self.port, self.certs.other_ca)
        self.assertTrue(poll(lambda: self.failures() >= 1, 5), self.proxy.stats())
        self.still_serving()

    def test_plain_sip_on_the_tls_port_is_closed_and_counted(self):
        s = socket.create_connection(("127.0.0.1", self.port), 5)
        s.sendall(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKx\r\n"
                  b"Content-Length: 0\r\n\r\n")
        self.assert_closed(s)
        s.close()
        self.assertTrue(poll(lambda: self.failures() >= 1, 5), self.proxy.stats())
        self.still_serving()

    def test_half_a_handshake_is_closed_at_the_handshake_timeout(self):
        # The first bytes of a ClientHello, then silence.
        s = socket.create_connection(("127.0.0.1", self.port), 5)
        s.sendall(bytes.fromhex("16030100c8010000c40303"))
        started = time.monotonic()
        self.assert_closed(s, timeout=8)
        self.assertLess(time.monotonic() - started, 6)
        s.close()
        self.assertTrue(poll(lambda: self.failures() >= 1, 5), self.proxy.stats())
        self.still_serving()

    def test_the_per_source_connection_cap_applies_to_tls(self):
        held = [tls_connect(self.port, self.certs.ca) for _ in range(5)]
        for s in held:
            self.addCleanup(s.close)
        self.assertTrue(poll(lambda: self.proxy.stats()["tls.connections"] == 5, 5),
                        self.proxy.stats())
        extra = socket.create_connection(("127.0.0.1", self.port), 5)
        self.addCleanup(extra.close)
        self.assert_closed(extra)
        for s in held:
            s.close()
        self.assertTrue(poll(lambda: self.proxy.status().get("counts") is not None, 2))
        time.sleep(0.5)
        self.still_serving()


def served_certificate(port, cafile, server_hostname):
    """The leaf the proxy presents for `server_hostname` (SNI), PEM."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    with tls_connect(port, cafile, server_hostname=server_hostname, context=ctx) as s:
        return ssl.DER_cert_to_PEM_cert(s.getpeercert(binary_form=True)).strip()


def pem_of(path):
    with open(path) as f:
        return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(f.read())).strip()


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class SniCertificates(unittest.TestCase):
    """[[tls.sni]]: a client naming sip.example.test gets that certificate; an unknown
    name or no name gets the default (127.0.0.1)."""

    def setUp(self):
        self.certs = Certificates()
        self.sni, self.sni_key = self.certs.issue("sni", "sip.example.test")
        self.port = free_port("tcp")
        self.metrics_port = free_port("tcp")
        self.proxy = Proxy(auth=False, extra_listen=[f"tls://127.0.0.1:{self.port}"],
                           extra_toml=tls_toml(self.certs)
                           + f'[[tls.sni]]\nname = "sip.example.test"\n'
                             f'certificate = "{self.sni}"\nprivate_key = "{self.sni_key}"\n'
                           + f'[metrics]\nlisten = "127.0.0.1:{self.metrics_port}"\n')
        self.addCleanup(self.proxy.__exit__, None, None, None)
        self.proxy.start()

    def test_the_named_certificate_is_served_for_its_name(self):
        self.assertEqual(served_certificate(self.port, self.certs.ca, "sip.example.test"),
                         pem_of(self.sni))
        self.assertEqual(served_certificate(self.port, self.certs.ca, "SIP.Example.Test"),
                         pem_of(self.sni))
        # And it verifies by name, as a phone would check it.
        with tls_connect(self.port, self.certs.ca, server_hostname="sip.example.test") as s:
            self.assertEqual(status_of(options_over(s, self.port, "sni1")), 200)

    def test_an_unknown_name_or_no_name_gets_the_default(self):
        self.assertEqual(served_certificate(self.port, self.certs.ca, "other.example.test"),
                         pem_of(self.certs.server))
        self.assertEqual(served_certificate(self.port, self.certs.ca, None),
                         pem_of(self.certs.server))

    def test_status_lists_both_certificates(self):
        files = sorted(c["file"] for c in self.proxy.status()["tls_certificates"])
        self.assertEqual(files, sorted([self.certs.server, self.sni]))

    def test_metrics_give_each_certificates_expiry(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        found = {}
        for m in re.finditer(r'^sipproxy_tls_certificate_not_after_timestamp_seconds'
                             r'\{sni="([^"]*)",file="([^"]*)"\} (\S+)$', text, re.M):
            found[(m.group(1), m.group(2))] = float(m.group(3))
        self.assertEqual(set(found), {("", self.certs.server), ("sip.example.test", self.sni)}, text)
        for (name, _), not_after in found.items():
            # Both test certificates are issued for 30 days from now.
            self.assertTrue(29 * 86400 < not_after - time.time() <= 30 * 86400, (name, not_after))


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class VerifyClients(unittest.TestCase):
    """verify_clients = true: a client certificate from ca_file is accepted; no
    certificate or one from another CA is closed and counted (tls.handshake_failures)."""

    def setUp(self):
        self.certs = Certificates()
        self.stranger, self.stranger_key = self.certs.issue(
            "stranger", "stranger.example.test",
            ca=(self.certs.other_ca, self.certs.other_ca_key))
        self.port = free_port("tcp")
        self.proxy = Proxy(auth=False, extra_listen=[f"tls://127.0.0.1:{self.port}"],
                           extra_toml=tls_toml(self.certs, verify_clients=True))
        self.addCleanup(self.proxy.__exit__, None, None, None)
        self.proxy.start()

    def failures(self):
        return self.proxy.stats().get("tls.handshake_failures", 0)

    def context(self, cert=None, key=None):
        ctx = client_context(self.certs.ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx

    def refused(self, ctx, branch):
        """TLS 1.3: the server's verdict on the client certificate arrives after the
        client's handshake is done, so it shows on the first exchange."""
        try:
            s = tls_connect(self.port, self.certs.ca, context=ctx)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return True
        with s:
            try:
                return status_of(options_over(s, self.port, branch)) is None
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError, socket.timeout):
                return True

    def test_a_client_certificate_from_the_ca_is_accepted(self):
        with tls_connect(self.port, self.certs.ca,
                         context=self.context(self.certs.client, self.certs.client_key)) as s:
            self.assertEqual(status_of(options_over(s, self.port, "vc1")), 200)
        self.assertEqual(self.failures(), 0)

    def test_no_client_certificate_is_closed_and_counted(self):
        self.assertTrue(self.refused(self.context(), "vc2"))
        self.assertTrue(poll(lambda: self.failures() >= 1, 5), self.proxy.stats())

    def test_a_client_certificate_from_another_ca_is_closed_and_counted(self):
        self.assertTrue(self.refused(self.context(self.stranger, self.stranger_key), "vc3"))
        self.assertTrue(poll(lambda: self.failures() >= 1, 5), self.proxy.stats())


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class VerifyClientsPerListener(unittest.TestCase):
    """[tls] verify_clients = false, one listener with ;verify_clients=true (a trunk port):
    only that one asks for a client certificate; and the other way round."""

    def start(self, default, phone_param, trunk_param):
        self.certs = Certificates()
        self.phones, self.trunks = free_port("tcp"), free_port("tcp")
        self.proxy = Proxy(auth=False,
                           extra_listen=[f"tls://127.0.0.1:{self.phones}{phone_param}",
                                         f"tls://127.0.0.1:{self.trunks}{trunk_param}"],
                           extra_toml=tls_toml(self.certs, verify_clients=default))
        self.addCleanup(self.proxy.__exit__, None, None, None)
        self.proxy.start()

    def answered(self, port, with_certificate, branch):
        ctx = client_context(self.certs.ca)
        if with_certificate:
            ctx.load_cert_chain(self.certs.client, self.certs.client_key)
        try:
            with tls_connect(port, self.certs.ca, context=ctx) as s:
                return status_of(options_over(s, port, branch)) == 200
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError, socket.timeout):
            return False

    def test_only_the_trunk_listener_asks_for_a_certificate(self):
        self.start(False, "", ";verify_clients=true")
        self.assertTrue(self.answered(self.phones, False, "pl1"))
        self.assertFalse(self.answered(self.trunks, False, "pl2"))
        self.assertTrue(self.answered(self.trunks, True, "pl3"))
        self.assertTrue(poll(lambda: self.proxy.stats().get("tls.handshake_failures", 0) >= 1, 5))

    def test_a_listener_can_turn_the_default_off(self):
        self.start(True, ";verify_clients=false", "")
        self.assertTrue(self.answered(self.phones, False, "pl4"))
        self.assertFalse(self.answered(self.trunks, False, "pl5"))
        self.assertTrue(self.answered(self.trunks, True, "pl6"))


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class SipsNeedsTls(unittest.TestCase):
    """RFC 3261 26.2 / RFC 5630: a sips: Request-URI that arrived over UDP or TCP is
    refused (416 SIPS Requires TLS); over TLS it is handled."""

    def setUp(self):
        self.certs = Certificates()
        self.tls = free_port("tcp")
        self.proxy = Proxy(auth=False, extra_listen=[f"tls://127.0.0.1:{self.tls}"],
                           extra_toml=tls_toml(self.certs))
        self.addCleanup(self.proxy.__exit__, None, None, None)
        self.proxy.start()

    def request(self, via):
        return (f"OPTIONS sips:127.0.0.1:{self.tls} SIP/2.0\r\n"
                f"Via: SIP/2.0/{via} 127.0.0.1:{{local_port}};branch={{branch}}\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:probe@{DOMAIN}>;tag=s1\r\nTo: <sips:127.0.0.1:{self.tls}>\r\n"
                "Call-ID: sips-{branch}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")

    def test_over_udp_416(self):
        r = send_udp(self.proxy.port, self.request("UDP"))
        self.assertEqual(status_of(r), 416, r)
        self.assertIn("SIPS Requires TLS", r.splitlines()[0])

    def test_over_tcp_416(self):
        with socket.create_connection(("127.0.0.1", self.proxy.port), 5) as s:
            msg = self.request("TCP").replace("{local_port}", str(s.getsockname()[1]))
            s.sendall(msg.replace("{branch}", "z9hG4bKsipstcp").encode())
            s.settimeout(5)
            data = read_head(s)
        self.assertEqual(status_of(data), 416, data)

    def test_over_tls_not_refused(self):
        with tls_connect(self.tls, self.certs.ca) as s:
            msg = self.request("TLS").replace("{local_port}", str(s.getsockname()[1]))
            s.sendall(msg.replace("{branch}", "z9hG4bKsipstls").encode())
            s.settimeout(5)
            data = s.recv(4096).decode()
        self.assertEqual(status_of(data), 200, data)


@unittest.skipIf(OPENSSL is None, "openssl is not installed")
class TlsListenerByReload(unittest.TestCase):
    def test_a_tls_listener_added_by_reload_serves_with_its_verify_clients(self):
        certs = Certificates()
        port = free_port("tcp")
        proxy = Proxy(auth=False, extra_toml=tls_toml(certs))
        self.addCleanup(proxy.__exit__, None, None, None)
        proxy.start()
        added = f"tls://127.0.0.1:{port};verify_clients=true"
        toml = proxy.toml.replace(f'"udp://127.0.0.1:{proxy.port}"',
                                  f'"udp://127.0.0.1:{proxy.port}", "{added}"', 1)
        self.assertNotEqual(toml, proxy.toml)
        with open(proxy.config_path, "w") as f:
            f.write(toml)
        answer = proxy.ctl_json("reload")
        self.assertIn("server.listen", [c["key"] for c in answer["changed"]], answer)
        ctx = client_context(certs.ca)
        ctx.load_cert_chain(certs.client, certs.client_key)
        self.assertTrue(poll(lambda: _answers(port, certs.ca, ctx), 5))
        self.assertFalse(_answers(port, certs.ca, client_context(certs.ca)))


def _answers(port, cafile, ctx):
    try:
        with tls_connect(port, cafile, context=ctx) as s:
            return status_of(options_over(s, port, f"r{time.monotonic_ns()}")) == 200
    except (OSError, ssl.SSLError):
        return False


if __name__ == "__main__":
    unittest.main()
