#!/usr/bin/env python3
"""Users managed without editing the config (issue: run it as a service): `sipproxyctl
user add|passwd|remove|list` against a real sipproxyd; the users live in users.db in the
state directory (HA1 only), survive a restart, and the config's [[auth.users]] win."""
import hashlib
import os
import sqlite3
import subprocess
import unittest

from harness import DOMAIN, SIPPROXYCTL, Proxy, free_port, register, status_of


class Users(unittest.TestCase):
    def setUp(self):
        self.proxy = Proxy(users=[("alice", "alice-secret")])
        self.proxy.start()
        self.addCleanup(self.proxy.stop)

    def ctl(self, *args, password=None):
        cmd = [SIPPROXYCTL, "--socket", self.proxy.socket_path, *args]
        return subprocess.run(cmd, input=password, capture_output=True, text=True, timeout=20)

    def reg(self, user, password):
        return status_of(register(self.proxy, user, password, free_port()))

    def test_add_register_passwd_remove(self):
        self.assertEqual(self.reg("dave", "dave-1"), 401)  # unknown yet
        r = self.ctl("user", "add", "dave", "--password-stdin", password="dave-1\n")
        self.assertEqual((r.returncode, r.stdout), (0, "user dave added\n"), r.stderr)
        self.assertEqual(self.reg("dave", "dave-1"), 200)

        users = self.proxy.ctl_json("user", "list")["users"]
        self.assertEqual([(u["user"], u["source"]) for u in users],
                         [("alice", "config"), ("dave", "database")])

        r = self.ctl("user", "passwd", "dave", "--password-stdin", password="dave-2\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.reg("dave", "dave-1"), 401)
        self.assertEqual(self.reg("dave", "dave-2"), 200)

        # Kept across a restart, as HA1s only.
        self.proxy.stop()
        self.proxy.start()
        self.assertEqual(self.reg("dave", "dave-2"), 200)
        db = os.path.join(self.proxy.state_dir, "users.db")
        with open(db, "rb") as f:
            self.assertNotIn(b"dave-2", f.read())
        con = sqlite3.connect(db)
        (md5,) = con.execute("SELECT ha1_md5 FROM users WHERE name = 'dave'").fetchone()
        con.close()
        self.assertEqual(md5, hashlib.md5(f"dave:{DOMAIN}:dave-2".encode()).hexdigest())

        r = self.ctl("user", "remove", "dave")
        self.assertEqual((r.returncode, r.stdout), (0, "user dave removed\n"), r.stderr)
        self.assertEqual(self.reg("dave", "dave-2"), 401)
        r = self.ctl("user", "remove", "dave")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such user: dave", r.stderr)

    def test_ha1_given_directly(self):
        md5 = hashlib.md5(f"erin:{DOMAIN}:erin-pw".encode()).hexdigest()
        sha = hashlib.sha256(f"erin:{DOMAIN}:erin-pw".encode()).hexdigest()
        r = self.ctl("user", "add", "erin", "--ha1-md5", md5, "--ha1-sha256", sha)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.reg("erin", "erin-pw"), 200)

    def test_refusals(self):
        # A config user wins: the database may not shadow it.
        r = self.ctl("user", "add", "alice", "--password-stdin", password="x\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("config file", r.stderr)
        self.assertEqual(self.reg("alice", "alice-secret"), 200)
        # Usage errors: no credentials, a bad HA1, a bad name.
        self.assertEqual(self.ctl("user", "add", "frank").returncode, 2)
        r = self.ctl("user", "add", "frank", "--ha1-md5", "xyz")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ha1_md5 must be 32 hex digits", r.stderr)
        r = self.ctl("user", "add", "fr@nk", "--password-stdin", password="pw\n")
        self.assertEqual(r.returncode, 1)
        r = self.ctl("user", "passwd", "nobody", "--password-stdin", password="pw\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such user", r.stderr)
        r = self.ctl("user", "add", "gina", "--password-stdin", password="\n")
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
