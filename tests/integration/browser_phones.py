"""Browser phones for the integration tests: SIP.js 0.21 pages in Debian's headless
Chromium, driven by browser/driver.js (puppeteer-core) over JSON lines on its stdin and
stdout. One Chromium per Browser (start it once per test class: it is slow); each phone
is a page.

    with Browser() as b:
        alice = b.phone("alice")
        alice.register("wss://127.0.0.1:8443", "sip:alice@example.test", "alice", "secret")
        alice.call("sip:bob@example.test")
        b.wait(lambda: alice.status()["call"] == "Established")

The npm packages come from scripts/deps.sh (npm ci in tests/integration/browser);
nothing is downloaded here.
"""
import json
import os
import subprocess
import threading
import time

from harness import _kill_group, _live

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.join(HERE, "browser")
NODE = os.environ.get("NODE", "node")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def available():
    """Why browser phones cannot run here, or None when they can."""
    if not os.path.exists(CHROMIUM):
        return f"no {CHROMIUM} (scripts/deps.sh installs chromium)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "sip.js")):
        return "no tests/integration/browser/node_modules (scripts/deps.sh runs npm ci)"
    return None


class BrowserError(AssertionError):
    """The browser or a page did not do what the test expected (a test failure)."""


class Browser:
    def __init__(self, timeout=30.0):
        self.log_lines = []
        self._next_id = 0
        self.proc = subprocess.Popen(
            [NODE, os.path.join(BROWSER_DIR, "driver.js")], cwd=BROWSER_DIR,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True, env={**os.environ, "CHROMIUM": CHROMIUM})
        _live.append(self.proc)
        threading.Thread(target=self._read_stderr, daemon=True).start()
        first = self._readline(timeout)
        if not first.get("ready"):
            raise BrowserError(f"driver did not start: {first}")
        self.http = first["http"]

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.log_lines.append(line.rstrip("\n"))

    def _readline(self, timeout):
        result = {}

        def read():
            line = self.proc.stdout.readline()
            result["line"] = line

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(timeout)
        if "line" not in result or not result["line"]:
            raise BrowserError("no answer from the browser driver in time:\n" + self.log())
        return json.loads(result["line"])

    def command(self, cmd, timeout=30.0, **fields):
        self._next_id += 1
        msg = {"id": self._next_id, "cmd": cmd, **fields}
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        reply = self._readline(timeout)
        if reply.get("id") != msg["id"]:
            raise BrowserError(f"out-of-order reply {reply} to {msg}")
        if not reply.get("ok"):
            raise BrowserError(f"{cmd} {fields}: {reply.get('error')}\n" + self.log())
        return reply.get("result")

    def phone(self, name):
        self.command("open", phone=name)
        return BrowserPhone(self, name)

    def log(self, lines=400):
        return "\n".join(self.log_lines[-lines:])

    @staticmethod
    def wait(predicate, timeout=10.0, step=0.1):
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v or time.monotonic() >= deadline:
                return v
            time.sleep(step)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.command("quit", timeout=10)
                self.proc.wait(10)
            except Exception:
                pass
        if self.proc.poll() is None:
            _kill_group(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except Exception:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class BrowserPhone:
    def __init__(self, browser, name):
        self.browser = browser
        self.name = name

    def _call(self, method, *args, timeout=30.0):
        return self.browser.command("call", timeout=timeout, phone=self.name, method=method,
                                    args=list(args))

    def register(self, server, aor, user, password, expires=300, trace=False):
        """trace: SIP.js logs every SIP message it sends and receives (Browser.log())."""
        return self._call("register", {"server": server, "aor": aor, "user": user,
                                       "password": password, "expires": expires,
                                       "trace": trace})

    def unregister(self):
        return self._call("unregister")

    def call(self, target):
        return self._call("call", target)

    def answer(self):
        return self._call("answer")

    def hangup(self):
        return self._call("hangup")

    def status(self):
        return self._call("status")

    def stop(self):
        return self._call("stop")
