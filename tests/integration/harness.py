"""Integration-test harness: a real sipproxyd on free loopback ports, SIPp, raw sockets.

Standard library only. Every process started here runs in its own process group and is
killed by stop()/cleanup even when a test fails; temporary folders are removed at exit
(set SIPPROXY_KEEP_TMP=1 to keep them for a post-mortem).

Environment: SIPPROXYD, SIPPROXYCTL (binary paths; default /work/main/build/...),
SIPPROXY_SOURCE (repository root), SIPP (the sipp binary, default "sipp").
"""
import atexit
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("SIPPROXY_SOURCE", os.path.normpath(os.path.join(HERE, "..", "..")))
SIPPROXYD = os.environ.get("SIPPROXYD") or os.path.join(SOURCE, "build", "sipproxyd")
SIPPROXYCTL = os.environ.get("SIPPROXYCTL") or os.path.join(SOURCE, "build", "sipproxyctl")
SIPP = os.environ.get("SIPP", "sipp")
SCENARIOS = os.path.join(HERE, "scenarios")
DOMAIN = "example.test"
DEFAULT_USERS = [("alice", "alice-secret"), ("bob", "bob-secret")]

_tmpdirs = []
_live = []  # processes still running: killed at interpreter exit as a last resort


def _mkdtemp(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def _kill_group(proc, sig=signal.SIGKILL):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@atexit.register
def _cleanup_all():
    for p in list(_live):
        if p.poll() is None:
            _kill_group(p)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
    if os.environ.get("SIPPROXY_KEEP_TMP") != "1":
        for d in _tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


def _on_sigterm(signum, frame):
    # Turn SIGTERM (e.g. a test runner giving up) into a normal exit, so finally blocks,
    # cleanups and the atexit hook above still kill what was started.
    raise SystemExit(128 + signum)


try:
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)
except ValueError:  # imported outside the main thread: leave signals alone
    pass


# ---------------------------------------------------------------------------- ports

def _port_free(port, family, kind):
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    s = socket.socket(family, kind)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(proto="udp", ipv6=False):
    """A port free for both UDP and TCP on 127.0.0.1 (and on ::1 when ipv6).

    proto only picks which kind is asked from the kernel first; the port is checked for
    both. Ports handed out before are not handed out again by this process.
    """
    first = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    other = socket.SOCK_STREAM if first == socket.SOCK_DGRAM else socket.SOCK_DGRAM
    for _ in range(200):
        s = socket.socket(socket.AF_INET, first)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port in free_port.given:
            continue
        if not _port_free(port, socket.AF_INET, other) or not _port_free(port, socket.AF_INET, first):
            continue
        if ipv6 and not (_port_free(port, socket.AF_INET6, socket.SOCK_DGRAM)
                         and _port_free(port, socket.AF_INET6, socket.SOCK_STREAM)):
            continue
        free_port.given.add(port)
        return port
    raise RuntimeError("no free port found")


free_port.given = set()


# ---------------------------------------------------------------------------- SIP text

def crlf(message):
    """Normalise a hand-written message: CRLF line ends, a blank line after the headers,
    and Content-Length filled in when the text has none."""
    message = message.replace("\r\n", "\n")
    if "\n\n" in message:
        head, body = message.split("\n\n", 1)
    else:
        head, body = message.rstrip("\n"), ""
    head = head.strip("\n")
    lines = head.split("\n")
    if not any(re.match(r"(?i)(content-length|l)\s*:", l) for l in lines[1:]):
        lines.append(f"Content-Length: {len(body.replace(chr(10), chr(13) + chr(10)).encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")


def status_of(response):
    """The status code of a response text (None for None or a request)."""
    if not response:
        return None
    m = re.match(r"SIP/2\.0 (\d{3})", response)
    return int(m.group(1)) if m else None


def read_head(sock):
    """Bytes from a stream socket up to the blank line ending a message's head (or until
    the peer closes), as text: one SIP response or HTTP response head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def header(message, name, all_values=False):
    """Header value(s) of a message text (case-insensitive name, compact forms not mapped)."""
    found = []
    head = message.split("\r\n\r\n", 1)[0]
    for line in head.split("\r\n")[1:]:
        n, sep, v = line.partition(":")
        if sep and n.strip().lower() == name.lower():
            found.append(v.strip())
    if all_values:
        return found
    return found[0] if found else None


def new_call_id():
    return secrets.token_hex(8) + "@127.0.0.1"


def new_branch():
    return "z9hG4bK" + secrets.token_hex(8)


# ---------------------------------------------------------------------------- raw UDP

class UdpClient:
    """A UDP socket on 127.0.0.1 for hand-made SIP: send, then read what comes back."""

    def __init__(self, port=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port or 0))
        self.port = self.sock.getsockname()[1]

    def send(self, port, message, host="127.0.0.1"):
        self.sock.sendto(crlf(message).encode(), (host, port))

    def recv(self, timeout=2.0):
        """The next datagram as text, or None after timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65535)
            return data.decode(errors="replace")
        except socket.timeout:
            return None

    def recv_final(self, timeout=5.0):
        """Skip provisional responses; return the first final response (or None)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            msg = self.recv(left)
            if msg is None:
                return None
            s = status_of(msg)
            if s is not None and s >= 200:
                return msg

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def send_udp(port, message, expect=True, timeout=2.0, from_port=None):
    """Send one raw message to 127.0.0.1:port; return the first response text or None.

    Placeholders {local_port} and {branch} in the message are filled in. With
    expect=False nothing is waited for (None returned)."""
    with UdpClient(from_port) as c:
        message = message.replace("{local_port}", str(c.port)).replace("{branch}", new_branch())
        c.send(port, message)
        if not expect:
            return None
        return c.recv(timeout)


# ---------------------------------------------------------------------------- digest

def _parse_challenge(value):
    scheme, _, rest = value.partition(" ")
    params = dict((k.lower(), v.strip('"'))
                  for k, v in re.findall(r'(\w+)\s*=\s*("[^"]*"|[^,\s]+)', rest))
    return scheme, params


def digest_authorization(challenge, user, password, method, uri, nc=1, cnonce=None):
    """The Authorization value answering one WWW-/Proxy-Authenticate value (RFC 7616)."""
    _, p = _parse_challenge(challenge)
    alg = p.get("algorithm", "MD5")
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[alg.upper()]

    def H(s):
        return h(s.encode()).hexdigest()

    realm, nonce = p["realm"], p["nonce"]
    ha1 = H(f"{user}:{realm}:{password}")
    ha2 = H(f"{method}:{uri}")
    qop = p.get("qop")
    parts = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
             f"algorithm={alg}"]
    if qop:
        qop = "auth" if "auth" in [q.strip() for q in qop.split(",")] else qop.split(",")[0]
        cnonce = cnonce or secrets.token_hex(8)
        ncs = f"{nc:08x}"
        resp = H(f"{ha1}:{nonce}:{ncs}:{cnonce}:{qop}:{ha2}")
        parts += [f"qop={qop}", f"nc={ncs}", f'cnonce="{cnonce}"']
    else:
        resp = H(f"{ha1}:{nonce}:{ha2}")
    parts.append(f'response="{resp}"')
    if "opaque" in p:
        parts.append(f'opaque="{p["opaque"]}"')
    return "Digest " + ", ".join(parts)


def pick_challenge(values):
    """The first challenge with an algorithm we can answer (SHA-256 or MD5)."""
    for v in values:
        _, p = _parse_challenge(v)
        if p.get("algorithm", "MD5").upper() in ("MD5", "SHA-256"):
            return v
    return None


def register(proxy, user, password, contact_port, expires=3600, transport="udp", q=None,
             contact=None, extra_headers=(), timeout=3.0, source="127.0.0.1"):
    """A full digest REGISTER of sip:user@example.test from 127.0.0.1:contact_port.

    The contact is <sip:user@127.0.0.1:contact_port> (;transport=tcp over TCP) with ;q=
    when q is given (contact= replaces the whole Contact value). A 401 is answered once
    (SHA-256 or MD5, whichever the proxy offers first). Returns the final response text
    (None when nothing came back); the socket is closed again so SIPp can bind the port.
    `source`: the loopback address the phone sends from.
    """
    tp = transport.lower()
    if contact is None:
        uri = f"sip:{user}@{source}:{contact_port}" + (";transport=tcp" if tp == "tcp" else "")
        contact = f"<{uri}>" + (f";q={q}" if q is not None else "")
    call_id, tag = new_call_id(), secrets.token_hex(4)
    ruri = f"sip:{DOMAIN}"

    def build(cseq, auth=None):
        lines = [f"REGISTER {ruri} SIP/2.0",
                 f"Via: SIP/2.0/{tp.upper()} {source}:{contact_port};branch={new_branch()};rport",
                 "Max-Forwards: 70",
                 f"From: <sip:{user}@{DOMAIN}>;tag={tag}",
                 f"To: <sip:{user}@{DOMAIN}>",
                 f"Call-ID: {call_id}",
                 f"CSeq: {cseq} REGISTER",
                 f"Contact: {contact}",
                 f"Expires: {expires}",
                 "User-Agent: sipproxy-harness"]
        lines += list(extra_headers)
        if auth:
            lines.append(f"Authorization: {auth}")
        return crlf("\n".join(lines) + "\n\n")

    if tp == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((source, contact_port))

        def exchange(msg):
            sock.sendto(msg.encode(), (proxy.host, proxy.port))
            return _read_final_udp(sock, timeout)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((source, contact_port))
        sock.settimeout(timeout)
        sock.connect((proxy.host, proxy.port))
        reader = _TcpReader(sock)

        def exchange(msg):
            sock.sendall(msg.encode())
            return reader.read_final(timeout)
    try:
        resp = exchange(build(1))
        if status_of(resp) == 401:
            chal = pick_challenge(header(resp, "WWW-Authenticate", all_values=True))
            if chal is None:
                return resp
            resp = exchange(build(2, digest_authorization(chal, user, password, "REGISTER", ruri)))
        return resp
    finally:
        sock.close()


def _read_final_udp(sock, timeout):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(65535)
        except socket.timeout:
            return None
        text = data.decode(errors="replace")
        s = status_of(text)
        if s is not None and s >= 200:
            return text


class _TcpReader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def read_message(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if b"\r\n\r\n" in self.buf:
                head, rest = self.buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
                n = int(m.group(1)) if m else 0
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return (head + b"\r\n\r\n" + rest[:n]).decode(errors="replace")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                return None
            if not data:
                return None
            self.buf += data

    def read_final(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            msg = self.read_message(max(0.0, deadline - time.monotonic()))
            if msg is None:
                return None
            s = status_of(msg)
            if s is not None and s >= 200:
                return msg


# ---------------------------------------------------------------------------- sipproxyd

def _toml_str(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def edit_config(path, section, **keys):
    """Set `key = value` (value is TOML text) in [section] of a harness-generated config;
    returns the 1-based line number of the last key written.

    The harness writes [auth] and [registrar] itself; extra_toml cannot add keys to them."""
    with open(path) as f:
        lines = f.read().split("\n")
    start = lines.index(f"[{section}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    where = None
    for key, value in keys.items():
        for i in range(start + 1, end):
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
                lines[i] = f"{key} = {value}"
                where = i
                break
        else:
            lines.insert(start + 1, f"{key} = {value}")
            where = start + 1
            end += 1
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return where + 1


class Proxy:
    """A real sipproxyd with a generated config in a temporary folder.

    with Proxy(auth=False) as p: ...   # started, stopped (and its folder removed) at exit
    """

    host = "127.0.0.1"

    def __init__(self, auth=True, workers=1, extra_toml="", users=None, trusted=None,
                 registrar_store="sqlite", timer_c=180, log_level="debug", listen_tcp=True,
                 ipv6=False, state_dir=None, t1_ms=None, t2_ms=None, t4_ms=None,
                 transaction_toml="", port=None, auth_algorithms=None, extra_listen=()):
        """extra_toml is appended verbatim after "{proxy_port}" is replaced by the port
        (for a gateway that is the proxy itself); transaction_toml adds keys to the
        harness's [transaction] table (t1_ms etc. have their own parameters).

        users: (name, password) pairs, or (name, password, {key: TOML value text}) to add
        keys to that user's [[auth.users]] table. auth_algorithms: the [auth] algorithms
        list (e.g. ["MD5"]); None leaves the daemon's default. extra_listen: more
        server.listen URIs (e.g. "tls://127.0.0.1:PORT", with its [tls] in extra_toml)."""
        self.dir = _mkdtemp("sipproxy-")
        self.port = port or free_port(ipv6=ipv6)
        self.ipv6 = ipv6
        self.state_dir = state_dir or os.path.join(self.dir, "var")
        os.makedirs(self.state_dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "sipproxy.toml")
        self.socket_path = os.path.join(self.dir, "ctl.sock")
        self.log_path = os.path.join(self.dir, "sipproxyd.log")
        self.proc = None
        self._logfile = None
        self.users = list(DEFAULT_USERS if users is None else users)

        listen = [f"udp://127.0.0.1:{self.port}"]
        if listen_tcp:
            listen.append(f"tcp://127.0.0.1:{self.port}")
        if ipv6:
            listen.append(f"udp://[::1]:{self.port}")
            if listen_tcp:
                listen.append(f"tcp://[::1]:{self.port}")
        listen += list(extra_listen)
        lines = ["[server]",
                 "listen = [" + ", ".join(_toml_str(l) for l in listen) + "]",
                 f"domains = [{_toml_str(DOMAIN)}]",
                 f"workers = {workers}",
                 f"state_dir = {_toml_str(self.state_dir)}",
                 f"log_level = {_toml_str(log_level)}",
                 "",
                 "[control]",
                 f"socket = {_toml_str(self.socket_path)}",
                 "",
                 "[registrar]",
                 f"store = {_toml_str(registrar_store)}",
                 ""]
        if auth:
            lines += ["[auth]",
                      f"realm = {_toml_str(DOMAIN)}",
                      "trusted = [" + ", ".join(_toml_str(t) for t in (trusted or [])) + "]"]
            if auth_algorithms is not None:
                lines.append("algorithms = [" + ", ".join(_toml_str(a) for a in auth_algorithms)
                             + "]")
            lines.append("")
            for name, password, *more in self.users:
                lines += ["[[auth.users]]", f"user = {_toml_str(name)}",
                          f"password = {_toml_str(password)}"]
                lines += [f"{k} = {v}" for k, v in (more[0] if more else {}).items()]
                lines.append("")
        lines += ["[transaction]", f"timer_c = {timer_c}"]
        for key, val in (("t1_ms", t1_ms), ("t2_ms", t2_ms), ("t4_ms", t4_ms)):
            if val is not None:
                lines.append(f"{key} = {val}")
        if transaction_toml:
            lines.append(transaction_toml.strip())
        lines.append("")
        self.toml = "\n".join(lines) + "\n" + extra_toml.replace("{proxy_port}", str(self.port))
        with open(self.config_path, "w") as f:
            f.write(self.toml)

    # -- lifecycle

    def start(self, timeout=10.0):
        if self.proc and self.proc.poll() is None:
            raise RuntimeError("sipproxyd already running")
        self._logfile = open(self.log_path, "ab")
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.proc = subprocess.Popen([SIPPROXYD, "-c", self.config_path],
                                             stdin=subprocess.DEVNULL, stdout=self._logfile,
                                             stderr=subprocess.STDOUT, start_new_session=True)
                break
            except OSError as e:
                # A shared build dir: the binary may be being relinked right now
                # (EACCES / ETXTBSY for a moment). Anything else is a real error.
                if e.errno not in (13, 26) or time.monotonic() > deadline:
                    self._close_log()
                    raise
                time.sleep(0.5)
        _live.append(self.proc)
        deadline = time.monotonic() + timeout
        with UdpClient() as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"sipproxyd exited with {self.proc.returncode}:\n"
                                       + self.log_tail())
                c.send(self.port, self.options(c.port))
                r = c.recv(0.2)
                if status_of(r) == 200:
                    return self
        self.kill9()
        raise RuntimeError(f"sipproxyd did not answer OPTIONS within {timeout} s:\n" + self.log_tail())

    def options(self, from_port, max_forwards=70, ruri=None):
        """An OPTIONS to the proxy itself (from 127.0.0.1:from_port)."""
        return (f"OPTIONS {ruri or f'sip:{self.host}:{self.port}'} SIP/2.0\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{from_port};branch={new_branch()}\n"
                f"Max-Forwards: {max_forwards}\n"
                f"From: <sip:harness@127.0.0.1>;tag={secrets.token_hex(4)}\n"
                f"To: <sip:{self.host}:{self.port}>\n"
                f"Call-ID: {new_call_id()}\n"
                "CSeq: 1 OPTIONS\n\n")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=5.0):
        """SIGTERM, wait, then SIGKILL. Returns the exit status (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc)
                self.proc.wait(5)
        _kill_group(self.proc)  # anything the daemon left in its group
        self._close_log()
        return self.proc.returncode

    def kill9(self):
        if self.proc is None:
            return
        _kill_group(self.proc)
        self.proc.wait(5)
        self._close_log()

    def restart(self):
        self.stop()
        return self.start()

    def _close_log(self):
        if self._logfile:
            self._logfile.close()
            self._logfile = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
        if os.environ.get("SIPPROXY_KEEP_TMP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- inspection

    def ctl(self, *args, json_out=False, timeout=20):
        cmd = [SIPPROXYCTL, "--socket", self.socket_path] + (["--json"] if json_out else []) + [
            str(a) for a in args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def ctl_json(self, *args):
        """The parsed --json output of a sipproxyctl command (raises if it failed)."""
        r = self.ctl(*args, json_out=True)
        if r.returncode != 0:
            raise RuntimeError(f"sipproxyctl {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return json.loads(r.stdout)

    def status(self):
        return self.ctl_json("status")

    def stats(self):
        """show stats as a flat dict name -> number."""
        d = self.ctl_json("show", "stats")
        return d.get("stats", d)

    def transactions(self):
        return self.status()["counts"]["transactions"]

    def wait_transactions(self, value=0, timeout=10.0):
        """Poll status until counts.transactions == value; return the last value seen."""
        deadline = time.monotonic() + timeout
        while True:
            n = self.transactions()
            if n == value or time.monotonic() >= deadline:
                return n
            time.sleep(0.25)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])


# ---------------------------------------------------------------------------- SIPp

def scenario_path(name):
    if os.path.isabs(name) or os.path.exists(name):
        return os.path.abspath(name)
    return os.path.join(SCENARIOS, name)


def _sipp_cmd(scenario_xml, remote, args, port, transport, inf, users, timeout, workdir,
              trace_msg=True):
    cmd = [SIPP, "-sf", scenario_path(scenario_xml)]
    if remote:
        cmd.append(str(remote))
    cmd += ["-i", "127.0.0.1", "-p", str(port), "-t", transport, "-nostdin",
            "-trace_err", "-error_file", os.path.join(workdir, "errors.log"),
            "-trace_stat", "-stf", os.path.join(workdir, "stat.csv"),
            "-trace_screen", "-screen_file", os.path.join(workdir, "screen.log"),
            "-trace_logs", "-log_file", os.path.join(workdir, "logs.log")]
    if trace_msg:
        cmd += ["-trace_msg", "-message_file", os.path.join(workdir, "messages.log")]
    if inf:
        cmd += ["-inf", inf]
    if users:
        cmd += ["-users", str(users)]
    args = [str(a) for a in args]
    if "-m" not in args:
        cmd += ["-m", "1"]
    cmd += args
    if timeout:
        cmd += ["-timeout", f"{timeout}s", "-timeout_error"]
    return cmd


class _SippFiles:
    """Readers for the files a SIPp run leaves in its tmpdir."""

    def _read(self, name):
        try:
            with open(os.path.join(self.tmpdir, name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def errors(self):
        return self._read("errors.log")

    def messages(self):
        return self._read("messages.log")

    def screen(self):
        return self._read("screen.log")

    def stat(self):
        """The last line of the -trace_stat CSV as a dict (SuccessfulCall(C), ...)."""
        return _last_stat(os.path.join(self.tmpdir, "stat.csv"))

    def logs(self):
        """What the scenario's <log> actions wrote."""
        return self._read("logs.log")


class SippResult(_SippFiles, subprocess.CompletedProcess):
    """CompletedProcess plus tmpdir and readers for SIPp's files."""

    def describe(self):
        """Everything useful when a run failed (for assertion messages)."""
        return (f"sipp rc={self.returncode}\n--- stderr\n{self.stderr[-2000:]}\n--- errors\n"
                f"{self.errors()[-3000:]}\n--- screen\n{self.screen()[-3000:]}")


def _last_stat(path):
    try:
        with open(path, errors="replace") as f:
            rows = [l.strip() for l in f if l.strip()]
    except FileNotFoundError:
        return {}
    if len(rows) < 2:
        return {}
    names = rows[0].rstrip(";").split(";")
    vals = rows[-1].rstrip(";").split(";")
    return dict(zip(names, vals))


def sipp(scenario_xml, remote, *args, port=None, timeout=60, transport="u1", inf=None,
         users=None, trace_msg=True):
    """Run SIPp to completion: `sipp -sf <xml> <remote> -i 127.0.0.1 -p <port> -t <transport>
    [-m 1] <args> -timeout <timeout>s -timeout_error -nostdin`. Returns a SippResult (rc 0 =
    every call succeeded) whose tmpdir holds errors.log, stat.csv, screen.log, messages.log.
    """
    workdir = _mkdtemp("sipp-")
    port = port or free_port()
    cmd = _sipp_cmd(scenario_xml, remote, args, port, transport, inf, users, timeout, workdir,
                    trace_msg)
    proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    _live.append(proc)
    try:
        out, err = proc.communicate(timeout=(timeout or 60) + 20)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
    finally:
        _kill_group(proc)
    r = SippResult(cmd, proc.returncode, out, err)
    r.tmpdir, r.port = workdir, port
    return r


class SippBackground(_SippFiles):
    """A SIPp running in the background (a UAS: callee or gateway) until stopped."""

    def __init__(self, cmd, workdir, port, transport):
        self.cmd, self.tmpdir, self.port, self.transport = cmd, workdir, port, transport
        self._out = open(os.path.join(workdir, "stdout.log"), "w")
        self.proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _live.append(self.proc)
        self.returncode = None

    def wait_listening(self, timeout=5.0):
        kind = socket.SOCK_STREAM if self.transport.startswith("t") else socket.SOCK_DGRAM
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sipp exited with {self.proc.returncode}: {self.output()}")
            if not _port_free(self.port, socket.AF_INET, kind):
                return
            time.sleep(0.05)
        raise RuntimeError(f"sipp did not bind port {self.port}: {self.output()}")

    def wait(self, timeout=30.0):
        """Wait for SIPp to finish on its own (-m calls done); its exit status or None."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def kill9(self):
        _kill_group(self.proc)
        self.proc.wait(5)

    def stop(self):
        """Stop it if still running; returns the exit status (SIPp's own if it had ended)."""
        if self.proc.poll() is None:
            _kill_group(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                pass
        _kill_group(self.proc)
        self.returncode = self.proc.wait(5)
        self._out.close()
        return self.returncode

    def output(self):
        return self._read("stdout.log")[-3000:]

    def received(self, method_or_status):
        """How many messages of a method (\"CANCEL\") or status (\"487\") the message log
        shows as received."""
        pat = (rf"(?m)^SIP/2\.0 {method_or_status} " if str(method_or_status).isdigit()
               else rf"(?m)^{method_or_status} \S+ SIP/2\.0")
        n = 0
        for block in re.split(r"(?m)^-{10,}.*$", self.messages()):
            if "message received" in block and re.search(pat, block):
                n += 1
        return n

    def describe(self):
        return (f"sipp rc={self.proc.returncode}\n--- output\n{self.output()}\n--- errors\n"
                f"{self.errors()[-3000:]}\n--- screen\n{self.screen()[-3000:]}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def sipp_uas_background(scenario_xml, *args, port=None, transport="u1", timeout=None,
                        wait=True, trace_msg=True):
    """Start a SIPp UAS on 127.0.0.1:port (free port when None) in the background.

    Runs until stop() (or until its own -m/-timeout when given in args/timeout)."""
    workdir = _mkdtemp("sipp-uas-")
    port = port or free_port()
    args = list(args)
    if "-m" not in [str(a) for a in args]:
        args = args + ["-m", "1000000"]
    cmd = _sipp_cmd(scenario_xml, None, args, port, transport, None, None, timeout, workdir,
                    trace_msg)
    bg = SippBackground(cmd, workdir, port, transport)
    if wait:
        try:
            bg.wait_listening()
        except BaseException:
            bg.stop()
            raise
    return bg


def legitimate_calls(test, proxy, calls=10):
    """What a legitimate user does while an attack runs: bob's phone (a SIPp UAS) and alice
    register, then alice calls bob `calls` times at 5/s with digest. Returns SIPp's result
    and the UAS (stopped at the test's cleanup)."""
    phone = free_port()
    test.assertEqual(status_of(register(proxy, "bob", "bob-secret", phone)), 200)
    test.assertEqual(status_of(register(proxy, "alice", "alice-secret", free_port())), 200)
    uas = sipp_uas_background("reg_uas_answer.xml", port=phone)
    test.addCleanup(uas.stop)
    csv = os.path.join(proxy.dir, "calls.csv")
    with open(csv, "w") as f:
        f.write("SEQUENTIAL\n")
        for _ in range(calls):
            f.write("alice;bob;[authentication username=alice password=alice-secret]\n")
    # -auth_uri: the digest-uri SIPp signs must be the Request-URI (RFC 7616 3.4.6).
    r = sipp("auth_invite_uac.xml", f"127.0.0.1:{proxy.port}", "-m", calls, "-r", 5,
             "-auth_uri", "bob@example.test", inf=csv, timeout=30)
    return r, uas


def options_from(proxy, address, timeout=1.0):
    """One OPTIONS to `proxy` from `address` (a loopback address such as 127.0.0.5): the
    answer, or None when the proxy dropped it (a banned source)."""
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
