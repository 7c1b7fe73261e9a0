#!/usr/bin/env python3
"""sipproxyctl against a real sipproxyd: show registrations (table and --json), registration
add/remove, status --json, exit 3 when the daemon is down, reload (sipproxyctl and SIGHUP)
with good and broken files, and config check.

Run: SIPPROXYD=... SIPPROXYCTL=... python3 test_control.py   (cwd tests/integration)
"""
import json
import os
import re
import signal
import subprocess
import time
import unittest

from harness import Proxy, edit_config, free_port, register
from harness import SIPPROXYCTL, SIPPROXYD, UdpClient, header, new_branch, new_call_id, status_of

DOMAIN = "example.test"
ALICE = f"sip:alice@{DOMAIN}"
BOB = f"sip:bob@{DOMAIN}"
VERSION = "0.1.0"
REGISTRATION_FIELDS = {"aor", "contact", "expires_in", "q", "transport", "source", "user_agent",
                       "instance", "path"}


def uri(port, user="alice"):
    return f"sip:{user}@127.0.0.1:{port}"


class ControlTestCase(unittest.TestCase):
    proxy_args = {}

    def setUp(self):
        self.proxy = Proxy(**self.proxy_args)
        self.proxy.start()
        self.addCleanup(self.proxy.stop)

    def reg(self, user="alice", port=None, expires=3600, **kw):
        port = port or free_port()
        r = register(self.proxy, user, f"{user}-secret", port, expires=expires, **kw)
        self.assertEqual(status_of(r), 200, f"{r}\n{self.proxy.log_tail(10)}")
        return port, r

    def regs(self, *aor):
        return self.proxy.ctl_json("show", "registrations", *aor)["registrations"]

    def granted(self, expires):
        """REGISTER alice with this Expires; the interval the registrar granted."""
        port, r = self.reg(expires=expires)
        m = re.search(r";expires=(\d+)", [c for c in header(r, "Contact", all_values=True)
                                          if uri(port) in c][0])
        return int(m.group(1))


class ShowRegistrationsTest(ControlTestCase):

    def test_json_lists_every_field(self):
        instance = "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"
        port = free_port()
        self.reg(port=port, contact=f'<{uri(port)}>;q=0.8;+sip.instance="{instance}"',
                 extra_headers=["Path: <sip:edge.example.test;lr>", "Supported: path"])
        r = self.proxy.ctl("show", "registrations", json_out=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        data = json.loads(r.stdout)
        self.assertEqual(set(data), {"registrations"})
        (b,) = data["registrations"]
        self.assertEqual(set(b), REGISTRATION_FIELDS, b)
        self.assertEqual(b["contact"], uri(port))
        self.assertIsInstance(b["expires_in"], int)
        self.assertTrue(3597 <= b["expires_in"] <= 3600, b)
        self.assertEqual(b["q"], 0.8)
        self.assertEqual(b["transport"], "udp")
        self.assertEqual(b["source"], f"127.0.0.1:{port}")
        self.assertEqual(b["user_agent"], "sipproxy-harness")
        self.assertEqual(b["instance"], instance)
        self.assertEqual(b["path"], ["<sip:edge.example.test;lr>"])
        self.assertIn(b["aor"], ("alice@example.test", ALICE))
        # Keys sorted, two-space indent (sipproxyctl(8) JSON OUTPUT).
        self.assertIn('\n  "registrations": [\n', r.stdout)
        self.assertEqual(r.stdout, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def test_json_aor_is_the_documented_sip_uri(self):
        # docs/control-protocol.md: {"aor":"sip:alice@example.test","contact":"sip:..."}.
        self.reg()
        (b,) = self.regs()
        self.assertEqual(b["aor"], ALICE, "docs/control-protocol.md shows the AOR as a SIP URI")

    def test_defaults_for_a_plain_binding(self):
        port, _ = self.reg(user="bob")
        (b,) = self.regs(BOB)
        # Absent values are null, not "" (sipproxyctl(8), JSON OUTPUT).
        self.assertEqual((b["q"], b["instance"], b["path"]), (1.0, None, []))

    def test_filter_by_aor(self):
        a1, _ = self.reg()
        a2, _ = self.reg()
        b1, _ = self.reg(user="bob")
        self.assertEqual(len(self.regs()), 3)
        self.assertEqual({b["contact"] for b in self.regs(ALICE)}, {uri(a1), uri(a2)})
        self.assertEqual([b["contact"] for b in self.regs(BOB)], [uri(b1, "bob")])
        self.assertEqual([b["contact"] for b in self.regs("bob@example.test")], [uri(b1, "bob")])
        self.assertEqual([b["contact"] for b in self.regs("sip:bob@EXAMPLE.Test")],
                         [uri(b1, "bob")], "the domain is case-insensitive")
        r = self.proxy.ctl("show", "registrations", "sip:nobody@example.test", json_out=True)
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, {"registrations": []}))

    def test_human_table(self):
        r = self.proxy.ctl("show", "registrations")
        self.assertEqual((r.returncode, r.stdout), (0, "no registrations\n"))
        a1, _ = self.reg()
        self.reg(user="bob")
        r = self.proxy.ctl("show", "registrations", ALICE)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["AOR", "CONTACT", "EXPIRES", "Q", "TRANSPORT", "SOURCE",
                                            "USER-AGENT"])
        self.assertEqual(len(lines), 2, r.stdout)
        row = lines[1].split()
        self.assertEqual(row[1], uri(a1))
        self.assertRegex(row[2], r"^59m5\ds$|^1h00m$")
        self.assertEqual(row[3:], ["1.0", "udp", f"127.0.0.1:{a1}", "sipproxy-harness"])
        self.assertEqual(len(self.proxy.ctl("show", "registrations").stdout.splitlines()), 3)


class RegistrationCommandTest(ControlTestCase):

    def test_add_then_listed(self):
        carol = f"sip:carol@{DOMAIN}"
        r = self.proxy.ctl("registration", "add", carol, "sip:carol@192.0.2.7:5070",
                           "--expires", "900")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        (b,) = self.regs(carol)
        self.assertEqual(b["contact"], "sip:carol@192.0.2.7:5070")
        self.assertTrue(897 <= b["expires_in"] <= 900, b)
        self.assertEqual((b["q"], b["user_agent"]), (1.0, "sipproxyctl"))
        self.assertEqual(self.proxy.status()["counts"]["bindings"], 1)
        # --json gives {} ; without --expires: default_expires; too long: max_expires.
        r = self.proxy.ctl("registration", "add", carol, "<sip:carol@192.0.2.8>", json_out=True)
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, {}), r.stderr)
        r = self.proxy.ctl("registration", "add", carol, "sip:carol@192.0.2.9", "--expires",
                           "100000")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = {b["contact"]: b["expires_in"] for b in self.regs(carol)}
        self.assertEqual(set(got), {"sip:carol@192.0.2.7:5070", "sip:carol@192.0.2.8",
                                    "sip:carol@192.0.2.9"})
        self.assertTrue(3597 <= got["sip:carol@192.0.2.8"] <= 3600, got)
        self.assertTrue(7197 <= got["sip:carol@192.0.2.9"] <= 7200, got)

    def test_add_errors(self):
        r = self.proxy.ctl("registration", "add", ALICE, "sip:a@192.0.2.1", "--expires", "30")
        self.assertEqual(r.returncode, 1)
        self.assertIn("423", r.stderr)
        self.assertIn("60", r.stderr)
        r = self.proxy.ctl("registration", "add", ALICE, "http://192.0.2.1/")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("sipproxyctl: "), r.stderr)
        r = self.proxy.ctl("registration", "add", "alice", "sip:a@192.0.2.1")
        self.assertEqual(r.returncode, 1)
        r = self.proxy.ctl("registration", "add", ALICE)
        self.assertEqual(r.returncode, 2, "usage error: CONTACT missing")
        self.assertEqual(self.regs(), [])

    def test_added_binding_receives_requests(self):
        phone = UdpClient()
        self.addCleanup(phone.close)
        r = self.proxy.ctl("registration", "add", BOB, uri(phone.port, "bob"))
        self.assertEqual(r.returncode, 0, r.stderr)
        # A MESSAGE from outside the domain (not challenged) to bob reaches the contact.
        caller = UdpClient()
        self.addCleanup(caller.close)
        caller.send(self.proxy.port,
                    f"MESSAGE {BOB} SIP/2.0\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{caller.port};branch={new_branch()};rport\n"
                    "Max-Forwards: 70\n"
                    f"From: <sip:carol@elsewhere.test>;tag=c1\n"
                    f"To: <{BOB}>\n"
                    f"Call-ID: {new_call_id()}\n"
                    "CSeq: 1 MESSAGE\n"
                    "Content-Type: text/plain\n\nhello bob")
        got = phone.recv(3.0)
        self.assertIsNotNone(got, self.proxy.log_tail(15))
        self.assertTrue(got.startswith(f"MESSAGE {uri(phone.port, 'bob')} SIP/2.0"), got)

    def test_remove_one_contact_then_all(self):
        a1, _ = self.reg()
        a2, _ = self.reg()
        a3, _ = self.reg()
        self.reg(user="bob")
        r = self.proxy.ctl("registration", "remove", ALICE, uri(a1), json_out=True)
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, {"removed": 1}), r.stderr)
        self.assertEqual({b["contact"] for b in self.regs(ALICE)}, {uri(a2), uri(a3)})
        r = self.proxy.ctl("registration", "remove", ALICE, f"<{uri(a2)}>", json_out=True)
        self.assertEqual(json.loads(r.stdout), {"removed": 1})
        r = self.proxy.ctl("registration", "remove", ALICE, json_out=True)
        self.assertEqual(json.loads(r.stdout), {"removed": 1})
        self.assertEqual(self.regs(ALICE), [])
        self.assertEqual(len(self.regs(BOB)), 1, "other AORs untouched")
        # Removing nothing is not an error.
        r = self.proxy.ctl("registration", "remove", ALICE, json_out=True)
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, {"removed": 0}))
        r = self.proxy.ctl("registration", "remove", ALICE, "sip:nobody@192.0.2.1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0", r.stdout)

    def test_remove_all_of_several(self):
        for _ in range(3):
            self.reg()
        r = self.proxy.ctl("registration", "remove", ALICE, json_out=True)
        self.assertEqual(json.loads(r.stdout), {"removed": 3})
        counts = self.proxy.status()["counts"]
        self.assertEqual((counts["registrations"], counts["bindings"]), (0, 0))


class StatusTest(ControlTestCase):

    def test_status_json_shape(self):
        self.reg()
        self.reg()
        self.reg(user="bob")
        time.sleep(1.1)
        r = self.proxy.ctl("status", json_out=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual(set(s), {"version", "pid", "uptime_s", "config_file", "workers",
                                  "auth_enabled", "listeners", "tls_certificates", "counts"}, s)
        self.assertEqual(s["tls_certificates"], [])  # no [tls]
        self.assertEqual(s["version"], VERSION)
        self.assertEqual(s["pid"], self.proxy.proc.pid)
        self.assertIsInstance(s["uptime_s"], int)
        self.assertGreaterEqual(s["uptime_s"], 1)
        self.assertLess(s["uptime_s"], 60)
        self.assertEqual(s["config_file"], os.path.realpath(self.proxy.config_path))
        self.assertEqual(s["workers"], 1)
        self.assertIs(s["auth_enabled"], True)
        self.assertEqual(s["listeners"], [f"udp://127.0.0.1:{self.proxy.port}",
                                          f"tcp://127.0.0.1:{self.proxy.port}"])
        self.assertEqual(set(s["counts"]), {"registrations", "bindings", "transactions", "calls"})
        self.assertEqual(s["counts"]["registrations"], 2)
        self.assertEqual(s["counts"]["bindings"], 3)
        self.assertEqual(s["counts"]["calls"], 0)
        self.assertIsInstance(s["counts"]["transactions"], int)

    def test_status_human(self):
        r = self.proxy.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, rf"(?m)^version:\s+{re.escape(VERSION)}$")
        self.assertRegex(r.stdout, rf"(?m)^pid:\s+{self.proxy.proc.pid}$")
        self.assertRegex(r.stdout, r"(?m)^auth:\s+enabled$")

    def test_status_when_daemon_is_down_exits_3(self):
        self.assertEqual(self.proxy.stop(), 0)
        for json_out in (False, True):
            r = self.proxy.ctl("status", json_out=json_out)
            self.assertEqual(r.returncode, 3, r)
            self.assertEqual(r.stdout, "")
            self.assertIn("cannot reach sipproxyd", r.stderr)
            self.assertIn(self.proxy.socket_path, r.stderr)
        r = self.proxy.ctl("show", "registrations")
        self.assertEqual(r.returncode, 3, r)

    def test_status_after_kill9_stale_socket_exits_3(self):
        self.proxy.kill9()
        r = self.proxy.ctl("status")
        self.assertEqual(r.returncode, 3, r)
        self.assertIn("cannot reach sipproxyd", r.stderr)
        # And a new daemon replaces the stale socket.
        self.proxy.start()
        self.assertEqual(self.proxy.ctl("status").returncode, 0)


class StatusNoAuthTest(ControlTestCase):
    proxy_args = {"auth": False, "workers": 2, "listen_tcp": False}

    def test_status_reflects_the_config(self):
        s = self.proxy.status()
        self.assertIs(s["auth_enabled"], False)
        self.assertEqual(s["workers"], 2)
        self.assertEqual(s["listeners"], [f"udp://127.0.0.1:{self.proxy.port}"])
        self.assertEqual(s["counts"]["bindings"], 0)


class ReloadTest(ControlTestCase):

    def wait_log(self, pattern, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.proxy.log())
            if m:
                return m
            time.sleep(0.1)
        self.fail(f"log never matched {pattern!r}:\n{self.proxy.log_tail(15)}")

    def test_a_moved_control_socket_answers_at_once_and_the_old_one_until_restart(self):
        # The operator's `sipproxyctl -c FILE` reads the new path: it must reach the
        # running daemon right after the reload, not report it down (issue #17).
        new_socket = os.path.join(self.proxy.dir, "moved", "ctl.sock")
        edit_config(self.proxy.config_path, "control", socket=json.dumps(new_socket))
        r = self.proxy.ctl("reload", json_out=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertIn({"key": "control.socket", "old": self.proxy.socket_path, "new": new_socket},
                      out["changed"])
        self.assertEqual(out["restart_needed"], [])
        by_file = subprocess.run([SIPPROXYCTL, "-c", self.proxy.config_path, "--json", "status"],
                                 capture_output=True, text=True, timeout=20)
        self.assertEqual(by_file.returncode, 0, by_file.stderr)
        self.assertEqual(json.loads(by_file.stdout)["pid"], self.proxy.proc.pid)
        self.assertEqual(self.proxy.status()["pid"], self.proxy.proc.pid)  # the old path too
        self.assertEqual(self.proxy.ctl("reload").returncode, 0)  # no second socket
        self.wait_log(r"control: also listening on .*moved/ctl\.sock")
        self.proxy.stop()
        self.assertFalse(os.path.exists(new_socket))
        self.assertFalse(os.path.exists(self.proxy.socket_path))

    def test_reload_prints_changes_and_takes_effect(self):
        self.assertEqual(self.granted(99999), 7200)
        edit_config(self.proxy.config_path, "registrar", max_expires=4000)
        r = self.proxy.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("registrar.max_expires: 7200 -> 4000", r.stdout)
        self.assertEqual(self.granted(99999), 4000)
        r = self.proxy.ctl("reload", json_out=True)
        self.assertEqual((r.returncode, json.loads(r.stdout).get("changed")), (0, []), r.stdout)
        # Bindings and the daemon survive the reload.
        self.assertEqual(self.proxy.status()["pid"], self.proxy.proc.pid)
        self.assertEqual(len(self.regs(ALICE)), 2)

    def test_reload_json_lists_changes(self):
        edit_config(self.proxy.config_path, "registrar", max_expires=5000, min_expires=120)
        r = self.proxy.ctl("reload", json_out=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        changed = json.loads(r.stdout)["changed"]
        self.assertIn({"key": "registrar.max_expires", "old": 7200, "new": 5000}, changed)
        self.assertIn({"key": "registrar.min_expires", "old": 60, "new": 120}, changed)
        port = free_port()
        rr = register(self.proxy, "alice", "alice-secret", port, expires=90)
        self.assertEqual(status_of(rr), 423, rr)
        self.assertEqual(header(rr, "Min-Expires"), "120")

    def test_reload_says_which_changes_wait_for_a_restart(self):
        # T1 is read at start (the transaction layer's timers); max_expires is live.
        edit_config(self.proxy.config_path, "transaction", t1_ms=250)
        edit_config(self.proxy.config_path, "registrar", max_expires=5000)
        r = self.proxy.ctl("reload", json_out=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertIn({"key": "transaction.t1_ms", "old": 500, "new": 250}, out["changed"])
        self.assertEqual(out["restart_needed"], ["transaction.t1_ms"])

    def test_a_restart_only_change_stays_pending_at_the_next_reload(self):
        # The daemon runs with the T1 it started with until a restart: reloading the same
        # file again still says so (it changed nothing, but T1 is not in force).
        edit_config(self.proxy.config_path, "transaction", t1_ms=250)
        first = json.loads(self.proxy.ctl("reload", json_out=True).stdout)
        self.assertEqual(first["restart_needed"], ["transaction.t1_ms"])
        r = self.proxy.ctl("reload", json_out=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        again = json.loads(r.stdout)
        self.assertEqual(again["changed"], [])
        self.assertEqual(again["restart_needed"], ["transaction.t1_ms"])
        # The file back to the running value: nothing waits for a restart.
        edit_config(self.proxy.config_path, "transaction", t1_ms=500)
        back = json.loads(self.proxy.ctl("reload", json_out=True).stdout)
        self.assertIn({"key": "transaction.t1_ms", "old": 250, "new": 500}, back["changed"])
        self.assertEqual(back["restart_needed"], [])

    def test_reload_adds_a_user_without_printing_the_password(self):
        port = free_port()
        self.assertEqual(status_of(register(self.proxy, "carol", "carol-pw-42", port)), 401)
        with open(self.proxy.config_path) as f:
            text = f.read()
        text = text.replace(
            "[transaction]", '[[auth.users]]\nuser = "carol"\npassword = "carol-pw-42"\n\n'
            "[transaction]", 1)
        with open(self.proxy.config_path, "w") as f:
            f.write(text)
        r = self.proxy.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("auth.users: added carol", r.stdout)
        self.assertNotIn("carol-pw-42", r.stdout + r.stderr + self.proxy.log())
        self.assertEqual(status_of(register(self.proxy, "carol", "carol-pw-42", port)), 200)

    def test_reload_of_a_broken_file_keeps_the_running_config(self):
        edit_config(self.proxy.config_path, "registrar", max_expires=4000)
        self.assertEqual(self.proxy.ctl("reload").returncode, 0)
        line = edit_config(self.proxy.config_path, "registrar", max_expires='"soon"')
        r = self.proxy.ctl("reload")
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stdout, "")
        self.assertRegex(r.stderr, rf"^sipproxyctl: {re.escape(self.proxy.config_path)}:{line}:"
                                   r"\d+: registrar\.max_expires: ")
        # The daemon's log says it too (not only SIGHUP's reloads).
        self.assertRegex(self.proxy.log(), r"error reload \(sipproxyctl\) failed, keeping the "
                                           r"running config: .*registrar\.max_expires")
        # Still running, still answering, and the old value (4000) is still in effect.
        self.assertTrue(self.proxy.running())
        self.assertEqual(self.proxy.status()["pid"], self.proxy.proc.pid)
        self.assertEqual(self.granted(99999), 4000)
        # An unknown key is an error too, with its own line.
        edit_config(self.proxy.config_path, "registrar", max_expires=4000)
        line = edit_config(self.proxy.config_path, "registrar", max_expirez=5000)
        r = self.proxy.ctl("reload")
        self.assertEqual(r.returncode, 1, r)
        self.assertRegex(r.stderr, rf"{re.escape(self.proxy.config_path)}:{line}:\d+: "
                                   r"registrar\.max_expirez: unknown key")
        self.assertEqual(self.granted(99999), 4000)
        # Fixed: the next reload applies.
        with open(self.proxy.config_path) as f:
            text = f.read().replace("max_expirez = 5000\n", "")
        with open(self.proxy.config_path, "w") as f:
            f.write(text)
        edit_config(self.proxy.config_path, "registrar", max_expires=3600)
        r = self.proxy.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("registrar.max_expires: 4000 -> 3600", r.stdout)
        self.assertEqual(self.granted(99999), 3600)

    def test_reload_of_unparsable_toml(self):
        with open(self.proxy.config_path, "a") as f:
            f.write("\n[registrar\n")
        r = self.proxy.ctl("reload")
        self.assertEqual(r.returncode, 1, r)
        self.assertRegex(r.stderr, rf"{re.escape(self.proxy.config_path)}:\d+")
        self.assertEqual(self.proxy.ctl("status").returncode, 0)
        self.assertEqual(self.granted(99999), 7200)

    def test_sighup_reloads(self):
        edit_config(self.proxy.config_path, "registrar", max_expires=4000)
        os.kill(self.proxy.proc.pid, signal.SIGHUP)
        # The log names the change (the exact wording of the line is not a contract).
        self.wait_log(r"registrar\.max_expires: 7200 -> 4000")
        self.assertTrue(self.proxy.running())
        self.assertEqual(self.granted(99999), 4000)

    def test_sighup_with_a_broken_file_keeps_running(self):
        edit_config(self.proxy.config_path, "registrar", max_expires='"soon"')
        os.kill(self.proxy.proc.pid, signal.SIGHUP)
        self.wait_log(rf"(?m)^.*(error|fail).*{re.escape(self.proxy.config_path)}:\d+:\d+: "
                      r"registrar\.max_expires")
        self.assertTrue(self.proxy.running())
        self.assertEqual(self.proxy.ctl("status").returncode, 0)
        self.assertEqual(self.granted(99999), 7200)


class ConfigCheckTest(unittest.TestCase):
    """config check runs without a daemon (-c FILE names the file to check)."""

    def setUp(self):
        self.proxy = Proxy()  # only for its generated config; never started
        self.addCleanup(self.proxy.stop)
        self.path = self.proxy.config_path

    def check(self, *extra):
        return subprocess.run([SIPPROXYCTL, *extra, "config", "check", self.path],
                              capture_output=True, text=True, timeout=20)

    def test_good_config(self):
        r = self.check()
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, f"{self.path}: OK\n", ""))
        r = self.check("--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"file": self.path, "ok": True})
        r = subprocess.run([SIPPROXYD, "-c", self.path, "--check"], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad_config(self):
        line = edit_config(self.path, "registrar", max_expires='"soon"')
        r = self.check()
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        m = re.fullmatch(rf"{re.escape(self.path)}:{line}:(\d+): registrar\.max_expires: (.+)\n",
                         r.stderr)
        self.assertIsNotNone(m, r.stderr)
        col = int(m.group(1))
        self.assertEqual(col, len("max_expires = ") + 1, "column of the value")
        r = self.check("--json")
        self.assertEqual(r.returncode, 1)
        d = json.loads(r.stdout)
        self.assertEqual((d["file"], d["ok"]), (self.path, False))
        e = d["error"]
        self.assertEqual((e["file"], e["line"], e["column"], e["key"]),
                         (self.path, line, col, "registrar.max_expires"))
        self.assertTrue(e["text"].startswith(f"{self.path}:{line}:{col}: registrar.max_expires: "))
        self.assertIn(e["message"], e["text"])
        r = subprocess.run([SIPPROXYD, "-c", self.path, "--check"], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r)

    def test_dangling_gateway_name(self):
        with open(self.path, "a") as f:
            f.write('\n[[routes]]\nname = "pstn"\nmatch = "^9"\ngateways = ["carrier-x"]\n')
        r = self.check()
        self.assertEqual(r.returncode, 1)
        self.assertIn("routes[0].gateways", r.stderr)
        self.assertIn("carrier-x", r.stderr)

    def test_bad_config_does_not_start_the_daemon(self):
        edit_config(self.path, "registrar", max_contacts=0)
        r = subprocess.run([SIPPROXYD, "-c", self.path], capture_output=True, text=True,
                           timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("registrar.max_contacts", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
