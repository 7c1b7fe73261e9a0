"""Drivers for real SIP phones in the integration tests: baresip (ctrl_tcp) and linphonec
(stdin). Standard library only.

Each phone runs in its own temporary home/config folder (harness._mkdtemp), in its own
process group, registered in harness._live so that it is killed at exit even when a test
fails. No sound card is used: baresip plays a synthetic tone (ausine) and "plays" into an
aubridge device nobody reads; linphonec runs in file mode (a WAV file as the microphone).
"""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import wave

from harness import DOMAIN, _kill_group, _live, _mkdtemp, _port_free, free_port

BARESIP = os.environ.get("BARESIP", "baresip")
LINPHONEC = os.environ.get("LINPHONEC", "linphonec")


def rtp_port_range(count=10):
    """A run of `count` consecutive ports (starting even) free for UDP and TCP on 127.0.0.1."""
    for _ in range(200):
        base = free_port() & ~1
        ports = range(base, base + count)
        if base < 1024 or any(p in free_port.given and p != base for p in ports):
            continue
        if all(_port_free(p, socket.AF_INET, socket.SOCK_DGRAM) for p in ports):
            free_port.given.update(ports)
            return base, base + count - 1
    raise RuntimeError("no free RTP port range")


def _wait(predicate, timeout, step=0.05):
    """Poll predicate() until it returns something truthy; that value, or None at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


class PhoneError(AssertionError):
    """A phone did not do what the test expected (raised as a test failure)."""


def _worker_in(read_log, proxy_port, name, timeout):
    """The worker index in the first proxy Via (sent-by 127.0.0.1:proxy_port) that
    read_log() shows, polled until timeout."""
    rx = re.compile(rf"(?i)Via: SIP/2\.0/\w+ 127\.0\.0\.1:{proxy_port};"
                    r"branch=z9hG4bK-sp([0-9a-f]{2})")
    m = _wait(lambda: rx.search(read_log()), timeout)
    if not m:
        raise PhoneError(f"{name}: no request came back through the proxy in {timeout} s")
    return int(m.group(1), 16)


# ---------------------------------------------------------------------------- baresip

class Baresip:
    """baresip 1.x driven through its ctrl_tcp module (netstring-framed JSON).

    Commands: {"command": "dial", "params": "sip:bob@example.test", "token": "7"} ->
    {"response": true, "ok": true, "data": "...", "token": "7"}. Events (unsolicited):
    {"event": true, "type": "CALL_INCOMING", "class": "call", "id": CALL-ID, ...}.
    """

    def __init__(self, user, password, proxy_port, transport="udp", answermode="manual",
                 name=None, extra_config="", webrtc=False):
        self.user, self.password, self.transport = user, password, transport
        # webrtc: DTLS-SRTP with ICE and rtcp-mux, so a browser's offer
        # (UDP/TLS/RTP/SAVPF) is answered and baresip's own offer is one a browser takes.
        self.webrtc = webrtc
        self.name = name or f"baresip-{user}-{transport}"
        self.dir = _mkdtemp(f"baresip-{user}-")
        self.sip_port = free_port()
        self.ctrl_port = free_port("tcp")
        self.rtp_ports = rtp_port_range(10)
        self.aor = f"sip:{user}@{DOMAIN}"
        self.proxy_port = proxy_port
        self.proc = None
        self.events = []          # every event, in arrival order
        self._responses = {}      # token -> response
        self._cond = threading.Condition()
        self._token = 0
        self._sock = None
        self._reader = None
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.extra_config = extra_config  # more config lines, e.g. "sip_cafile\t/ca.pem"
        self._write_config(answermode)

    def _write_config(self, answermode):
        lo, hi = self.rtp_ports
        webrtc_modules = ("module\t\t\tsrtp.so\nmodule\t\t\tdtls_srtp.so\nmodule\t\t\tice.so\n"
                          if self.webrtc else "")
        config = f"""\
poll_method		epoll
sip_listen		127.0.0.1:{self.sip_port}
net_interface		127.0.0.1
call_local_timeout	120
call_max_calls		4
audio_source		ausine,440
ausrc_srate		48000
ausrc_channels		2
audio_player		aubridge,{self.name}-play
audio_alert		aubridge,{self.name}-alert
rtp_ports		{lo}-{hi}
rtp_stats		yes
rtcp_mux		{"yes" if self.webrtc else "no"}
module_path		/usr/lib/baresip/modules
module			g711.so
{webrtc_modules}module			aubridge.so
module			ausine.so
module_tmp		uuid.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:{self.ctrl_port}
{self.extra_config}
"""
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(config)
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(self.account_line(answermode) + "\n")
        open(os.path.join(self.dir, "contacts"), "w").close()

    def account_line(self, answermode="manual"):
        """The accounts-file line: the AOR in the proxy's domain, the proxy as outbound."""
        tp = f";transport={self.transport}"
        return (f"<sip:{self.user}@{DOMAIN}{tp}>;auth_pass={self.password}"
                f";outbound=\"sip:127.0.0.1:{self.proxy_port}{tp}\""
                f";regint=600;answermode={answermode};audio_codecs=PCMU,PCMA"
                + (";medianat=ice;mediaenc=dtls_srtp" if self.webrtc else ";medianat=;mediaenc="))

    # -- lifecycle

    def start(self, timeout=15.0):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BARESIP, "-f", self.dir, "-v", "-s"], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _live.append(self.proc)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise PhoneError(f"{self.name} exited with {self.proc.returncode}:\n"
                                 + self.log_tail())
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.ctrl_port), 1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise PhoneError(f"{self.name}: ctrl_tcp never listened:\n"
                                     + self.log_tail())
                time.sleep(0.1)
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        return self

    def stop(self):
        if self._sock:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        if self.proc and self.proc.poll() is None:
            _kill_group(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                pass
        if self.proc:
            _kill_group(self.proc)
            self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- ctrl_tcp

    def _read_loop(self):
        buf = b""
        sock = self._sock
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self._cond:
                    self._cond.notify_all()
                return
            buf += data
            while True:  # netstrings: b"<len>:<json>,"
                colon = buf.find(b":")
                if colon < 0:
                    break
                n = int(buf[:colon])
                if len(buf) < colon + 1 + n + 1:
                    break
                payload, buf = buf[colon + 1:colon + 1 + n], buf[colon + 2 + n:]
                try:
                    msg = json.loads(payload.decode(errors="replace"))
                except ValueError:
                    continue
                with self._cond:
                    if msg.get("event"):
                        msg["_t"] = time.monotonic()
                        self.events.append(msg)
                    elif msg.get("response"):
                        self._responses[str(msg.get("token"))] = msg
                    self._cond.notify_all()

    def command(self, command, params="", timeout=10.0):
        """Send one command; returns its response {"ok": ..., "data": ...}."""
        with self._cond:
            self._token += 1
            token = str(self._token)
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._sock.sendall(str(len(body)).encode() + b":" + body + b",")
        with self._cond:
            if not self._cond.wait_for(lambda: token in self._responses, timeout):
                raise PhoneError(f"{self.name}: no response to {command} {params!r} in "
                                 f"{timeout} s:\n{self.log_tail()}")
            return self._responses.pop(token)

    def wait_event(self, type_, timeout=15.0, since=0, **match):
        """The first event of this type (index >= since) whose fields equal `match`."""
        def find():
            for e in self.events[since:]:
                if e.get("type") == type_ and all(e.get(k) == v for k, v in match.items()):
                    return e
            return None
        with self._cond:
            e = self._cond.wait_for(find, timeout)
        if e is None:
            raise PhoneError(f"{self.name}: no {type_} {match or ''} within {timeout} s; events: "
                             f"{self.event_types()}\n{self.log_tail()}")
        return e

    def event_types(self):
        with self._cond:
            return [e.get("type") for e in self.events]

    # -- phone actions

    def wait_registered(self, timeout=15.0):
        """Wait until `reginfo` shows the account OK (it registers as soon as it starts,
        often before ctrl_tcp is connected, so the REGISTER_OK event may never be seen)."""
        deadline = time.monotonic() + timeout
        while True:
            info = re.sub(r"\x1b\[[0-9;]*m", " ", self.command("reginfo").get("data", ""))
            line = next((l for l in info.splitlines() if self.aor in l), "")
            if re.search(r"\bOK\b", line):
                return line
            if (re.search(r"\bERR\b", line) or time.monotonic() > deadline
                    or self.index_of("REGISTER_FAIL") is not None):
                raise PhoneError(f"{self.name}: not registered: {info!r}; events "
                                 f"{self.event_types()}\n{self.log_tail()}")
            time.sleep(0.1)

    def _wait_any(self, types, timeout, since=0):
        def find():
            for e in self.events[since:]:
                if e.get("type") in types:
                    return e
            return None
        with self._cond:
            e = self._cond.wait_for(find, timeout)
        if e is None:
            raise PhoneError(f"{self.name}: none of {types} within {timeout} s; events: "
                             f"{self.event_types()}\n{self.log_tail()}")
        return e

    # The same small interface as Linphonec: mark() then wait_*(since=mark).

    def mark(self):
        with self._cond:
            return len(self.events)

    def dial(self, uri):
        r = self.command("dial", uri)
        if not r.get("ok"):
            raise PhoneError(f"{self.name}: dial {uri} failed: {r}")
        return r

    def wait_incoming(self, since, timeout=15.0):
        """The caller's URI of the next incoming call (CALL_INCOMING)."""
        return self.wait_event("CALL_INCOMING", timeout, since)["peeruri"]

    def answer(self):
        r = self.command("accept")
        if not r.get("ok"):
            raise PhoneError(f"{self.name}: accept failed: {r}")
        return r

    def wait_established(self, since, timeout=15.0):
        return self.wait_event("CALL_ESTABLISHED", timeout, since)

    def hang_up(self):
        return self.command("hangup")

    def wait_closed(self, since, timeout=15.0):
        """The CALL_CLOSED event; its "param" is the reason."""
        return self.wait_event("CALL_CLOSED", timeout, since)

    def index_of(self, type_, since=0):
        """Position of the first event of this type at or after since (None if none)."""
        with self._cond:
            for i in range(since, len(self.events)):
                if self.events[i].get("type") == type_:
                    return i
        return None

    def proxy_worker(self, timeout=10.0):
        """Which sipproxyd worker reads what this phone sends: it sends OPTIONS to its own
        AOR and the proxy's Via branch on the copy it gets back names the worker that
        forwarded it (z9hG4bK-sp<worker as 2 hex digits>...). Needs the -s SIP trace."""
        start = len(self.log())
        self.command("options", self.aor)
        return _worker_in(lambda: self.log()[start:], self.proxy_port, self.name, timeout)

    def rtp(self):
        """The current call's audio stream as baresip sees it (command audio_debug):
        {"local_port": our RTP port, "remote": (ip, port) we send to, "sources":
        [(ip, port, packets received from there)], "sent": packets sent}. The sources
        are RTCP members: the addresses the received RTP came from."""
        text = self.command("audio_debug").get("data", "")
        m = re.search(r"local: [^:\s]+:(\d+), remote: ([\d.]+):(\d+)", text)
        sent = re.search(r"TX: packets=(\d+)", text)
        return {"local_port": int(m.group(1)) if m else None,
                "remote": (m.group(2), int(m.group(3))) if m else None,
                "sources": [(ip, int(port), int(n)) for ip, port, n in
                            re.findall(r"IP=([\d.]+):(\d+) psent=\d+ rcvd=(\d+)", text)],
                "sent": int(sent.group(1)) if sent else 0,
                "text": text}

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=30):
        return "\n".join(self.log().splitlines()[-lines:])

    def describe(self):
        """Events and log tail, for a failing assertion."""
        return f"events: {self.event_types()}\n{self.log_tail(40)}"


# ---------------------------------------------------------------------------- linphonec

def write_tone_wav(path, seconds=120, rate=8000, freq=440):
    """A mono 16-bit WAV with a sine tone: linphonec's microphone in file mode."""
    import math
    second = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
                      for i in range(rate))
    frames = second * seconds
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


class Linphonec:
    """linphonec (liblinphone 5.x console) driven line by line through stdin.

    Its stdout lines ("Receiving new incoming call from ...", "Call 1 with ... connected.",
    "Call 1 with ... ended (Call terminated).", "Registration on ... successful.") are kept
    with their arrival time; its debug log (-d 6 -l FILE) holds the SIP and RTP detail.
    """

    def __init__(self, user, password, proxy_port, transport="udp", name=None,
                 sip_keys=None):
        self.user, self.password, self.transport = user, password, transport
        self.name = name or f"linphonec-{user}-{transport}"
        self.home = _mkdtemp(f"linphonec-{user}-")
        os.makedirs(os.path.join(self.home, ".local", "share", "linphone"), exist_ok=True)
        self.sip_port = free_port()
        self.rtp_ports = rtp_port_range(10)
        self.proxy_port = proxy_port
        self.aor = f"sip:{user}@{DOMAIN}"
        self.rc_path = os.path.join(self.home, ".linphonerc")
        self.log_path = os.path.join(self.home, "linphonec.log")
        self.out_path = os.path.join(self.home, "stdout.log")
        self.wav = write_tone_wav(os.path.join(self.home, "tone.wav"))
        self.proc = None
        self.lines = []  # (monotonic time, stdout line)
        self._cond = threading.Condition()
        self.sip_keys = dict(sip_keys or {})
        with open(self.rc_path, "w") as f:
            f.write(self.linphonerc())

    def linphonerc(self):
        """The config: SIP on one loopback port (UDP, or TCP when transport is tcp), the
        proxy as registrar/outbound proxy with digest credentials, no sound card."""
        lo, hi = self.rtp_ports
        udp, tcp, tls = {"udp": (self.sip_port, 0, 0), "tcp": (0, self.sip_port, 0),
                         "tls": (0, 0, self.sip_port)}[self.transport]
        proxy = f"<sip:127.0.0.1:{self.proxy_port};transport={self.transport}>"
        extra = "".join(f"{k}={v}\n" for k, v in self.sip_keys.items())  # more [sip] keys
        return f"""\
[sip]
sip_port={udp}
sip_tcp_port={tcp}
sip_tls_port={tls}
use_ipv6=0
default_proxy=0
register_only_when_network_is_up=0
inc_timeout=60
in_call_timeout=0
{extra}
[rtp]
audio_rtp_port={lo}-{hi}
bind_address=127.0.0.1
nortp_timeout=30

[sound]
echocancellation=0

[video]
enabled=0
capture=0
display=0

[proxy_0]
reg_proxy={proxy}
reg_route={proxy}
reg_identity="{self.user}" <sip:{self.user}@{DOMAIN}>
reg_expires=600
reg_sendregister=1
publish=0

[auth_info_0]
username={self.user}
passwd={self.password}
realm={DOMAIN}
domain={DOMAIN}
"""

    # -- lifecycle

    def start(self, timeout=20.0):
        # Everything it writes stays in its home (libpulse would leave pulse-* folders in
        # TMPDIR otherwise, even though no sound server is used).
        env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                   XDG_DATA_HOME=os.path.join(self.home, ".local", "share"),
                   XDG_RUNTIME_DIR=self.home, TMPDIR=self.home)
        self._out = open(self.out_path, "a")
        cmd = [LINPHONEC, "-c", self.rc_path, "-d", "6", "-l", self.log_path]
        self.proc = subprocess.Popen(cmd,
                                     cwd=self.home, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1, start_new_session=True)
        _live.append(self.proc)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self.send("soundcard use files")
        self.wait_line(r"Using wav files instead of soundcard", timeout)
        self.send(f"play {self.wav}")  # the "microphone" of every call from now on
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.send("quit")  # unregisters, then exits
                self.proc.wait(5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        _kill_group(self.proc)
        self.proc.wait(5)
        self._reader.join(5)
        for f in (self.proc.stdin, self.proc.stdout, self._out):
            try:
                f.close()
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _read_loop(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            with self._cond:
                self.lines.append((time.monotonic(), line))
                self._out.write(line + "\n")
                self._out.flush()
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def mark(self):
        """An index into the output lines: wait_line(since=mark) looks only after it."""
        with self._cond:
            return len(self.lines)

    def wait_line(self, pattern, timeout=15.0, since=0):
        """The first stdout line (index >= since) matching the regex; its re.Match."""
        rx = re.compile(pattern)

        def find():
            for _, l in self.lines[since:]:
                m = rx.search(l)
                if m:
                    return m
            return None
        with self._cond:
            m = self._cond.wait_for(find, timeout)
        if m is None:
            raise PhoneError(f"{self.name}: no line matching {pattern!r} within {timeout} s; "
                             f"output:\n{self.output_tail()}")
        return m

    def wait_registered(self, timeout=20.0):
        """Poll `status register` until it says "registered, identity=..."."""
        deadline = time.monotonic() + timeout
        while True:
            mark = self.mark()
            self.send("status register")
            m = self.wait_line(r"^(?:linphonec> )?(registered\S*)", 5, mark[0])
            if m.group(1) == "registered,":
                return m
            if time.monotonic() > deadline:
                raise PhoneError(f"{self.name}: not registered ({m.group(0)})\n"
                                 f"{self.output_tail()}")
            time.sleep(0.2)

    def describe(self):
        """Console output and the end of the debug log, for a failing assertion."""
        log = "\n".join(self.log().splitlines()[-60:])
        return f"{self.output_tail(30)}\n--- debug log tail\n{log}"

    def output_tail(self, n=30):
        with self._cond:
            return "\n".join(l for _, l in self.lines[-n:])

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # The same small interface as Baresip: mark() then wait_*(since=mark).

    def mark(self):
        """(stdout line index, debug log size): where the next call's output starts."""
        with self._cond:
            n = len(self.lines)
        try:
            return (n, os.path.getsize(self.log_path))
        except OSError:
            return (n, 0)

    def dial(self, uri):
        self.send(f"call {uri}")

    def wait_incoming(self, since, timeout=15.0):
        """The caller's URI of the next incoming call."""
        who = self.wait_line(r"Receiving new incoming call from (.+), assigned id", timeout,
                             since[0]).group(1)
        m = re.search(r"<([^>]+)>", who)  # '"alice" <sip:alice@example.test>'
        return m.group(1) if m else who

    def answer(self):
        self.send("answer")

    def wait_established(self, since, timeout=15.0):
        return self.wait_line(r"Call \d+ with .+ connected\.", timeout, since[0])

    def hang_up(self):
        self.send("terminate")

    def wait_closed(self, since, timeout=15.0):
        """The "Call N with URI ended (REASON)." line; group(1) is the reason."""
        return self.wait_line(r"Call \d+ with .+ ended \((.*)\)", timeout, since[0])

    def index_of(self, pattern, since=(0, 0)):
        with self._cond:
            for i in range(since[0], len(self.lines)):
                if re.search(pattern, self.lines[i][1]):
                    return i
        return None

    def log_since(self, since):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since[1])
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def proxy_worker(self, timeout=10.0):
        """Which sipproxyd worker reads what this phone sends: it sends itself a MESSAGE
        through the proxy; the proxy's Via branch on the copy it receives names the
        worker that forwarded it (z9hG4bK-sp<worker as 2 hex digits>...)."""
        since = self.mark()
        self.send(f"chat {self.aor} which-worker")
        return _worker_in(lambda: self.log_since(since), self.proxy_port, self.name, timeout)

    def rtp(self, since):
        """The audio stream of the call that started after `since`, from the debug log:
        {"local_port": the port its RtpSession bound, "remote": (ip, port) it sent to,
        "received_kbps": the download rates of the bandwidth reports (one a second),
        "sent"/"received": packet totals (once the call has ended, else None)}."""
        log = self.log_since(since)
        bound = re.search(r"RtpSession bound to \[([^\]]+)\] ports \[(\d+)\]", log)
        remote = re.search(r"RtpSession \[\w+\] sending to rtp ([\d.]+):(\d+)", log)
        stats = re.search(r"AUDIO SESSION'S RTP STATISTICS.*?sent\s+(\d+) packets.*?"
                          r"received\s+(\d+) packets", log, re.S)
        return {"local_port": int(bound.group(2)) if bound else None,
                "local_ip": bound.group(1) if bound else None,
                "remote": (remote.group(1), int(remote.group(2))) if remote else None,
                "received_kbps": [float(d) for d in re.findall(r"RTP : \[d=([\d.]+),", log)],
                "sent": int(stats.group(1)) if stats else None,
                "received": int(stats.group(2)) if stats else None}
