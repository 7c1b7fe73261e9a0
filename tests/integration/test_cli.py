#!/usr/bin/env python3
"""sipproxyctl as an operator and a script see it: exit codes, messages, output.

Needs only the sipproxyctl binary: the daemon is either absent (exit 3) or played by a
small fake control server speaking docs/control-protocol.md. Tests against the real
sipproxyd live elsewhere.

Environment: SIPPROXYCTL (path of the binary), SIPPROXY_SOURCE (repository root).
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

SIPPROXYCTL = os.environ.get("SIPPROXYCTL", "sipproxyctl")
SOURCE = os.environ.get(
    "SIPPROXY_SOURCE", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHIPPED_CONFIG = os.path.join(SOURCE, "conf", "sipproxy.toml")


def run(*args, cwd=None, timeout=20):
    return subprocess.run([SIPPROXYCTL, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


class FakeDaemon:
    """Answers control requests from a table {cmd: result | Exception(message) | function},
    a function being called with the request's args to give the result (or raise).

    mode "answer" (default), "silent" (accept, never answer) or "hangup" (close at once).
    """

    def __init__(self, path, answers, mode="answer"):
        self.path, self.answers, self.mode = path, answers, mode
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.open = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.open.append(conn)
            if self.mode == "hangup":
                conn.close()
                continue
            if self.mode == "silent":
                continue
            threading.Thread(target=self._conversation, args=(conn,), daemon=True).start()

    def _conversation(self, conn):
        with conn, conn.makefile("rwb") as f:
            for line in f:
                req = json.loads(line)
                self.requests.append(req)
                answer = self.answers.get(req["cmd"], Exception(f"unknown command '{req['cmd']}'"))
                if callable(answer):
                    try:
                        answer = answer(req.get("args", {}))
                    except Exception as e:
                        answer = e
                resp = {"v": 1, "id": req.get("id")}
                if isinstance(answer, Exception):
                    resp.update(ok=False, error=str(answer))
                else:
                    resp.update(ok=True, result=answer)
                f.write((json.dumps(resp) + "\n").encode())
                f.flush()

    def close(self):
        self.sock.close()
        for c in self.open:
            try:
                c.close()
            except OSError:
                pass


STATUS = {
    "version": "0.1.0", "pid": 4242, "uptime_s": 3725, "config_file": "/etc/sipproxy/sipproxy.toml",
    "workers": 2, "auth_enabled": True,
    "listeners": ["udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"],
    "counts": {"registrations": 2, "bindings": 3, "transactions": 1, "calls": 0},
}
REGISTRATIONS = {"registrations": [
    {"aor": "sip:alice@example.test", "contact": "sip:alice@192.0.2.10:5062", "expires_in": 3599,
     "q": 1.0, "transport": "udp", "source": "192.0.2.10:5062", "user_agent": "Phone/1.0\x1b[31m",
     "instance": "", "path": []},
    {"aor": "sip:bob@example.test", "contact": "sip:bob@192.0.2.11", "expires_in": 59,
     "q": 0.5, "transport": "tcp", "source": "192.0.2.11:40000", "user_agent": "",
     "instance": "<urn:uuid:1>", "path": ["<sip:edge.example.test;lr>"]},
]}


class NoDaemon(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sipproxyctl-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_missing_socket_is_exit_3_with_an_actionable_message(self):
        path = os.path.join(self.dir, "var", "sipproxy.sock")
        r = run("--socket", path, "status")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stderr.strip(), f"sipproxyctl: cannot reach sipproxyd at {path}: "
                         "No such file or directory (is it running?)")
        self.assertEqual(r.stdout, "")

    def test_socket_found_through_the_config_file(self):
        config = os.path.join(self.dir, "sipproxy.toml")
        shutil.copy(SHIPPED_CONFIG, config)
        r = run("-c", config, "show", "registrations")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(f"cannot reach sipproxyd at {self.dir}/var/sipproxy.sock", r.stderr)

    def test_refused_stale_socket_is_exit_3(self):
        path = os.path.join(self.dir, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()  # the file stays, nobody listens: what a crashed daemon leaves
        r = run("--socket", path, "status")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("Connection refused (is it running?)", r.stderr)


class ConfigCheck(unittest.TestCase):
    def test_shipped_config_is_ok(self):
        r = run("config", "check", SHIPPED_CONFIG)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"{SHIPPED_CONFIG}: OK\n")

    def test_config_option_is_the_default_file(self):
        r = run("-c", SHIPPED_CONFIG, "config", "check")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_broken_config_names_file_and_line(self):
        with open(SHIPPED_CONFIG) as f:
            lines = f.read().split("\n")
        at = lines.index("[registrar]") + 1
        lines.insert(at, "no_such_key = 1")
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write("\n".join(lines))
        self.addCleanup(os.unlink, f.name)
        r = run("config", "check", f.name)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertRegex(r.stderr, rf"^{f.name}:{at + 1}:\d+: registrar\.no_such_key: ")

        r = run("--json", "config", "check", f.name)
        self.assertEqual(r.returncode, 1)
        report = json.loads(r.stdout)
        self.assertFalse(report["ok"])
        self.assertEqual(report["error"]["line"], at + 1)
        self.assertEqual(report["error"]["key"], "registrar.no_such_key")

    def test_reload_with_a_broken_file_names_the_error_not_the_socket(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write("[server]\nworkers = \"many\"\n")
        self.addCleanup(os.unlink, f.name)
        r = run("-c", f.name, "reload")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, rf"^sipproxyctl: reload: {f.name}:2:\d+: server\.workers: ")
        self.assertIn("nothing sent", r.stderr)
        self.assertNotIn("control socket", r.stderr)

    def test_check_prints_the_warnings_the_daemon_would_log(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write("[server]\nlisten = [\"udp://127.0.0.1:5999\"]\n")  # no [auth]
        self.addCleanup(os.unlink, f.name)
        r = run("config", "check", f.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, rf"^{f.name}: warning: .*auth")

    def test_missing_file_is_exit_1(self):
        r = run("config", "check", "/nonexistent/sipproxy.toml")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/sipproxy.toml", r.stderr)


class Usage(unittest.TestCase):
    def test_usage_errors_are_exit_2(self):
        for args in (["--bogus", "status"], [], ["show"], ["show", "nothing"],
                     ["registration", "add", "sip:a@b"], ["gateway", "enable"],
                     ["--socket", "/x", "-c", "/y", "status"],
                     ["registration", "add", "sip:a@b", "sip:a@c", "--expires", "soon"]):
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertNotEqual(r.stderr, "")

    def test_a_mistyped_command_is_named(self):
        r = run("bogus")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'bogus'", r.stderr)
        self.assertIn("status", r.stderr)  # the commands there are
        r = run("show", "nothing")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'nothing'", r.stderr)
        self.assertIn("registrations", r.stderr)
        r = run("show")
        self.assertEqual(r.returncode, 2)
        self.assertIn("show: a subcommand is required", r.stderr)

    def test_help_and_version_are_exit_0(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("show", r.stdout)
        r = run("show", "registrations", "--help")
        self.assertEqual(r.returncode, 0)
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^sipproxyctl \d+\.\d+\.\d+")


class WithFakeDaemon(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sipproxyctl-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "ctl.sock")

    def daemon(self, answers, mode="answer"):
        d = FakeDaemon(self.path, answers, mode)
        self.addCleanup(d.close)
        return d

    def ctl(self, *args, **kw):
        return run("--socket", self.path, *args, **kw)

    def test_json_prints_the_result_as_received(self):
        self.daemon({"status": STATUS})
        r = self.ctl("--json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), STATUS)
        self.assertEqual(r.stdout, json.dumps(STATUS, indent=2, sort_keys=True) + "\n")

    def test_status_for_humans(self):
        d = self.daemon({"status": STATUS})
        r = self.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(d.requests, [{"v": 1, "id": 1, "cmd": "status", "args": {}}])
        self.assertIn("uptime:         1h02m\n", r.stdout)
        self.assertIn("registrations:  2 AORs, 3 bindings\n", r.stdout)
        self.assertIn("listeners:      udp://127.0.0.1:5060, tcp://127.0.0.1:5060\n", r.stdout)

    def test_registrations_table(self):
        d = self.daemon({"show_registrations": REGISTRATIONS})
        r = self.ctl("show", "registrations", "sip:alice@example.test", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(d.requests[-1]["args"], {"aor": "sip:alice@example.test"})
        r = self.ctl("show", "registrations")
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 3)
        header = lines[0]
        self.assertTrue(header.startswith("AOR"))
        # Columns line up: each header starts where its cells start.
        col = header.index("CONTACT")
        self.assertEqual(lines[1][col:col + 9], "sip:alice")
        self.assertEqual(lines[2][col:col + 7], "sip:bob")
        self.assertIn(" 59s ", lines[2])
        self.assertIn(" 59m59s ", lines[1])
        self.assertIn(" 0.5 ", lines[2])
        self.assertNotIn("\x1b", r.stdout)  # a peer's control characters never reach the terminal
        self.assertTrue(lines[2].endswith("-"))  # empty user agent

    def test_hidden_characters_from_peers_are_escaped(self):
        # A User-Agent can carry a right-to-left override (U+202E), C1 controls (U+0085,
        # U+009B is a one-byte CSI), isolates and marks: shown as escapes, never raw, in
        # the table, in --json, and in an error message.
        hostile = "Evil\u202eXYZ\u0085\u009b31m\u2066\u200fend"
        regs = {"registrations": [dict(REGISTRATIONS["registrations"][0], user_agent=hostile)]}
        self.daemon({"show_registrations": regs,
                     "status": Exception("no such thing: \u202egnp.exe")})
        raw = ["\u202e", "\u0085", "\u009b", "\u2066", "\u200f"]
        table = self.ctl("show", "registrations")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn("Evil\\u202eXYZ\\u0085\\u009b31m\\u2066\\u200fend", table.stdout)
        as_json = self.ctl("--json", "show", "registrations")
        self.assertEqual(json.loads(as_json.stdout)["registrations"][0]["user_agent"], hostile)
        error = self.ctl("status")
        self.assertEqual(error.returncode, 1)
        self.assertIn("\\u202egnp.exe", error.stderr)
        for out in (table.stdout, as_json.stdout, error.stderr):
            for ch in raw:
                self.assertNotIn(ch, out)

    def test_reload_says_what_needs_a_restart(self):
        self.daemon({"reload": {"changed": [{"key": "server.workers", "old": 2, "new": 4},
                                            {"key": "server.listen", "old": None,
                                             "new": "tcp://127.0.0.1:5062"},
                                            {"key": "auth.users", "old": "bob", "new": None},
                                            {"key": "auth.users['alice'].password",
                                             "old": "<hidden>", "new": "<hidden>"},
                                            {"key": "auth.algorithms", "old": ["SHA-256", "MD5"],
                                             "new": ["MD5"]}],
                                "restart_needed": ["server.workers"]}})
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "reloaded: 5 changes\n  server.workers: 2 -> 4\n"
                                   "  server.listen: added tcp://127.0.0.1:5062\n"
                                   "  auth.users: removed bob\n"
                                   "  auth.users['alice'].password: changed\n"
                                   "  auth.algorithms: [SHA-256, MD5] -> [MD5]\n"
                                   "restart needed: server.workers changed: takes effect at "
                                   "the next start\n")

    def test_empty_tables(self):
        self.daemon({"show_calls": {"calls": []}})
        r = self.ctl("show", "calls")
        self.assertEqual((r.returncode, r.stdout), (0, "no calls\n"))

    def test_command_arguments(self):
        d = self.daemon({"registration_add": {}, "registration_remove": {"removed": 2},
                         "gateway_disable": {}})
        r = self.ctl("registration", "add", "sip:a@x", "sip:a@192.0.2.1", "--expires", "60")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("registration", "remove", "sip:a@x")
        self.assertEqual(r.stdout, "removed 2 bindings of sip:a@x\n")
        r = self.ctl("gateway", "disable", "carrier-a")
        self.assertEqual(r.stdout, "gateway carrier-a disabled\n")
        self.assertEqual([(q["cmd"], q["args"]) for q in d.requests], [
            ("registration_add", {"aor": "sip:a@x", "contact": "sip:a@192.0.2.1", "expires": 60}),
            ("registration_remove", {"aor": "sip:a@x"}),
            ("gateway_disable", {"name": "carrier-a"}),
        ])

    def test_daemon_error_is_exit_1_on_stderr(self):
        self.daemon({"reload": Exception("conf/sipproxy.toml:12:1: routes[0].gateways: unknown")})
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr,
                         "sipproxyctl: conf/sipproxy.toml:12:1: routes[0].gateways: unknown\n")

    def test_silent_daemon_times_out_with_exit_3(self):
        self.daemon({}, mode="silent")
        r = self.ctl("--timeout", "0.5", "status")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("no answer within 0.5 s", r.stderr)

    def test_hangup_is_exit_3(self):
        self.daemon({}, mode="hangup")
        r = self.ctl("status")
        self.assertEqual(r.returncode, 3, r.stderr)
        # Closed before or after our request was written, depending on timing.
        self.assertRegex(r.stderr, r"sipproxyd at .*(closed the connection without answering"
                                   r"|Broken pipe|Connection reset)")


def binding(aor, contact, expires_in=600):
    return {"aor": aor, "contact": contact, "expires_in": expires_in, "q": 1.0,
            "transport": "udp", "source": "192.0.2.1:5060", "user_agent": "UA",
            "instance": "", "path": []}


# Five AORs, alice with two bindings; "sip:" + AOR order as the daemon pages them.
BINDINGS = [binding("sip:alice@example.test", "sip:alice@192.0.2.1"),
            binding("sip:alice@example.test", "sip:alice-desk@192.0.2.2:5070"),
            binding("sip:bob@example.test", "sip:bob@192.0.2.3"),
            binding("sip:carol@example.test", "sip:carol-with-a-much-longer-contact@192.0.2.4"),
            binding("sip:dave@example.test", "sip:dave@192.0.2.5"),
            binding("sip:erin@example.test", "sip:erin@192.0.2.6")]


def paging_daemon(args):
    """show_registrations as sipproxyd pages it: limit AORs after `after`, and next."""
    aors = sorted({b["aor"] for b in BINDINGS})
    after = args.get("after", "")
    if after and not after.startswith("sip:"):
        after = "sip:" + after
    rest = [a for a in aors if a > after]
    limit = args.get("limit", len(rest))
    if limit < 1:
        raise Exception("limit must be at least 1")
    page = rest[:limit]
    return {"registrations": [b for b in BINDINGS if b["aor"] in page],
            "next": page[-1] if len(rest) > limit else None}


class Paging(unittest.TestCase):
    """show registrations without an AOR: page by page, streamed."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sipproxyctl-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "ctl.sock")

    def daemon(self, answer):
        d = FakeDaemon(self.path, {"show_registrations": answer})
        self.addCleanup(d.close)
        return d

    def ctl(self, *args):
        return run("--socket", self.path, *args)

    def test_table_from_pages(self):
        d = self.daemon(paging_daemon)
        r = self.ctl("show", "registrations", "--page-size", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([q["args"] for q in d.requests], [
            {"limit": 2},
            {"limit": 2, "after": "sip:bob@example.test"},
            {"limit": 2, "after": "sip:dave@example.test"},
        ])
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 1 + len(BINDINGS), r.stdout)
        self.assertTrue(lines[0].startswith("AOR "))
        self.assertEqual([l.split()[1] for l in lines[1:]], [b["contact"] for b in BINDINGS])
        # Columns line up within the first page; a wider cell later widens them from there.
        col = lines[0].index("CONTACT")
        for line in lines[1:]:
            self.assertEqual(line[col - 2:col], "  ", line)
        expires = lines[0].index("EXPIRES")
        self.assertEqual(lines[1][expires:].split()[0], "10m00s")

    def test_json_joins_the_pages_into_one_document(self):
        self.daemon(paging_daemon)
        r = self.ctl("--json", "show", "registrations", "--page-size", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The same document, byte for byte, as a daemon without paging gives.
        self.assertEqual(r.stdout, json.dumps({"registrations": BINDINGS}, indent=2,
                                              sort_keys=True) + "\n")

    def test_limit_and_after(self):
        d = self.daemon(paging_daemon)
        r = self.ctl("--json", "show", "registrations", "--limit", "3", "--page-size", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(r.stdout, json.dumps(out, indent=2, sort_keys=True) + "\n")
        self.assertEqual([b["contact"] for b in out["registrations"]],
                         [b["contact"] for b in BINDINGS[:4]])  # alice (2), bob, carol
        self.assertEqual(out["next"], "sip:carol@example.test")
        self.assertEqual([q["args"] for q in d.requests],
                         [{"limit": 2}, {"limit": 1, "after": "sip:bob@example.test"}])
        # Going on from there.
        r = self.ctl("--json", "show", "registrations", "--after", out["next"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"registrations": BINDINGS[4:]})
        r = self.ctl("--json", "show", "registrations", "--after", out["next"], "--limit", "9")
        self.assertEqual(json.loads(r.stdout), {"registrations": BINDINGS[4:], "next": None})
        # Past the end: empty.
        r = self.ctl("show", "registrations", "--after", "sip:zed@example.test")
        self.assertEqual((r.returncode, r.stdout), (0, "no registrations\n"))

    def test_a_daemon_without_paging(self):
        # Older sipproxyd: ignores limit/after, answers everything without "next".
        d = self.daemon({"registrations": BINDINGS})
        r = self.ctl("--json", "show", "registrations")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"registrations": BINDINGS})
        self.assertEqual(len(d.requests), 1)
        r = self.ctl("--json", "show", "registrations", "--limit", "2")
        out = json.loads(r.stdout)
        self.assertEqual(out["registrations"], BINDINGS[:3])  # alice (2), bob
        self.assertEqual(out["next"], "sip:bob@example.test")

    def test_a_listing_that_does_not_advance_is_an_error(self):
        self.daemon(lambda args: {"registrations": BINDINGS[:1], "next": "sip:alice@example.test"})
        r = self.ctl("show", "registrations", "--page-size", "1")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("does not advance", r.stderr)

    def test_an_error_on_a_later_page_is_exit_1(self):
        def answer(args):
            if args.get("after"):
                raise Exception("internal error: boom")
            return paging_daemon(args)
        self.daemon(answer)
        r = self.ctl("show", "registrations", "--page-size", "2")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "sipproxyctl: internal error: boom\n")
        self.assertIn("sip:alice-desk@", r.stdout)  # the first page was printed already

    def test_usage(self):
        for args in (["show", "registrations", "--limit", "0"],
                     ["show", "registrations", "--page-size", "-1"],
                     ["show", "registrations", "sip:a@x", "--limit", "5"],
                     ["show", "registrations", "sip:a@x", "--after", "sip:b@x"]):
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
