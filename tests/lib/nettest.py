"""nettest.py - shared plumbing of the smarthost tests (TLS, SMTP, probe):
a temporary directory with certificates, a fake smarthost, a relay.conf
pointing at it, and runners for tests/helpers/smtp_send and relayctl.

    with NetTest() as t:
        l = t.fake.listen("implicit")
        t.fake.start()
        conf = t.conf(port=l.port, tls="auto", auto_ports=[...])
        r = t.send(conf)
        assert r.open["reason"] == "ok"
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import certs

SRC = os.environ.get("RELAY_SRC", os.path.join(os.path.dirname(__file__),
                                               "..", ".."))
BUILD = os.environ.get("RELAY_BUILD", os.path.join(SRC, "build"))
BIN = os.environ.get("RELAY_BIN", os.path.join(BUILD, "bin"))
SMTP_SEND = os.path.join(BUILD, "tests", "helpers", "smtp_send")

sys.path.insert(0, os.path.join(SRC, "tests", "fake"))
import fakesmtpd  # noqa: E402

MESSAGE = (b"From: sender@example.org\r\nTo: rcpt@example.net\r\n"
           b"Subject: test\r\n\r\nHello.\r\n")


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", "replace")
        self.stderr = proc.stderr.decode("utf-8", "replace")
        self.lines = [json.loads(l) for l in self.stdout.splitlines()
                      if l.startswith("{")]
        opens = [l for l in self.lines if l.get("kind") == "open"]
        self.open = opens[0] if opens else {}
        self.rcpts = [l for l in self.lines if l.get("kind") == "rcpt"]
        self.messages = [l for l in self.lines if l.get("kind") == "message"]

    def __repr__(self):
        return "rc=%d\nstdout=%s\nstderr=%s" % (self.rc, self.stdout,
                                               self.stderr)


def check(cond, what, extra=""):
    if not cond:
        raise AssertionError("%s\n%s" % (what, extra))


class NetTest:
    def __init__(self, name="net"):
        self.dir = tempfile.mkdtemp(prefix="relay-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.certs = certs.make(os.path.join(self.dir, "certs"))
        self.fake = fakesmtpd.FakeSMTPD(*self.certs.good)
        self.nconf = 0
        self.spool = os.path.join(self.dir, "spool")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.fake.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def secret(self, text="secret", mode=0o600, name="password"):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text + "\n")
        os.chmod(p, mode)
        return p

    def conf(self, host="localhost", port=0, tls="auto", ca=True,
             auto_ports=None, extra="", top="", timeouts=None, spool=None,
             name="main"):
        """Write a relay.conf with one smarthost block; returns its path."""
        t = {"connect_timeout": "5s", "greeting_timeout": "5s",
             "greeting_wait": "1s", "command_timeout": "5s",
             "data_timeout": "5s", "session_timeout": "60s"}
        t.update(timeouts or {})
        self.nconf += 1
        p = self.path("relay%d.conf" % self.nconf)
        lines = ['hostname = "client.test"',
                 'spool_dir = "%s"' % (spool or self.spool)]
        lines += ["%s = %s" % kv for kv in t.items()]
        if auto_ports is not None:
            lines.append("tls_auto_ports = {%s}" % ", ".join(
                '"%s"' % a for a in auto_ports))
        lines.append(top)
        lines.append('smarthost "%s" {' % name)
        lines.append('  host = "%s"' % host)
        if port:
            lines.append("  port = %d" % port)
        lines.append("  tls = %s" % tls)
        if ca is True:
            lines.append('  ca_file = "%s"' % self.certs.ca)
        elif ca:
            lines.append('  ca_file = "%s"' % ca)
        lines.append(extra)
        lines.append("}")
        with open(p, "w") as f:
            f.write("\n".join(lines) + "\n")
        return p

    def message(self, data=MESSAGE, name="msg.eml"):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def send(self, conf, rcpts=("rcpt@example.net",), data=MESSAGE,
             args=(), env=None, timeout=120):
        msg = self.message(data)
        cmd = [SMTP_SEND, "-C", conf, "-v"] + list(args) + [msg] + \
            list(rcpts)
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=e)
        return Result(p)

    def relayctl(self, conf, *args, env=None, user=None, timeout=120):
        cmd = [os.path.join(BIN, "relayctl"), "-C", conf] + list(args)
        if user is not None:
            cmd = ["runuser", "-u", user, "--"] + cmd
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=e)
        return p.returncode, p.stdout.decode("utf-8", "replace"), \
            p.stderr.decode("utf-8", "replace")

    def tls_cache(self):
        """The spool's tls_cache rows as (host, port, mode, tls_seen)."""
        import sqlite3
        db = os.path.join(self.spool, "queue.db")
        if not os.path.exists(db):
            return []
        c = sqlite3.connect(db)
        try:
            return [tuple(r) for r in c.execute(
                "SELECT host, port, mode, tls_seen FROM tls_cache "
                "ORDER BY host, port")]
        finally:
            c.close()


def free_port():
    """A loopback port nobody listens on (bound and released)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(tests):
    """Run test functions in order; print and exit non-zero on failure."""
    failed = 0
    for t in tests:
        try:
            t()
            print("ok   %s" % t.__name__, flush=True)
        except Exception as e:  # report every failure, keep going
            failed += 1
            print("FAIL %s: %s" % (t.__name__, e), flush=True)
            import traceback
            traceback.print_exc()
    sys.exit(1 if failed else 0)
