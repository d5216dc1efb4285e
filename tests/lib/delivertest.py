"""delivertest.py - plumbing of the delivery tests (python3 stdlib only):
test certificates, a fake smarthost with one or more listeners, and a
relaytest.Env whose smarthost blocks point at them.

    import delivertest as dt

    with dt.Lab(["implicit"]) as lab:          # fake + Env, not started
        lab.env.start()
        lab.send(["bob@example.net"], b"Subject: x\\n\\nhi\\n")
        lab.wait(lambda: len(lab.fake.messages) == 1, "delivery")
        assert lab.states() == {"sent": 1}

Lab(kinds, auth=False, retry=("1s", "4s", "1h"), lease="30s", hosts=None,
    **keys)
    kinds       listener kinds of the fake ("implicit", "starttls", "plain");
                lab.listeners[i] are the fakesmtpd listeners
    auth        smarthost blocks carry username "user" and a password file
                (lab.secret_path, written with lab.secret(text); the fake
                accepts user/secret)
    retry       retry { base max lifetime }
    hosts       None: one block "main" per listener, in order; else a list
                of block texts made with lab.block()
    keys        more relay.conf keys (passed to relaytest.Env)

    block(name, port, tls="auto", auth=None, extra="")
    set_hosts(blocks)         rewrite relay.conf with these blocks
    secret(text)              the password file, owned by relayd's user
    dead_port()               a loopback port nobody listens on
    send(rcpts, body, sender=None, args=())   sendmail -C conf -i ...
    wait(cond, what, timeout=30)               poll cond() every 20 ms
    states()                  {"queued": n, "sent": n, ...} over messages
    rcpt_rows(qid)            [(address, state, attempts, next_attempt,
                               reason, status)]
    health(name)              smarthost_health row as a dict, or None
    log_lines(pattern)        relayd's stderr lines containing pattern
    revive(i)                 listener i listening again on its old port

Module functions for batch tests: queue_numbered(lab, n, body) (n
messages s0.. -> r0.. through the socket), use_listener(lab, tls,
**behave) (relay pointed at listener 0, reloaded), count_verbs(session,
verb), sole_rcpt(lab, sender) ((state, attempts, status)).
"""

import os
import shutil
import socket
import sys
import tempfile
import time

import certs
import relaytest as rt

sys.path.insert(0, os.path.join(rt.SRC or os.path.join(
    os.path.dirname(__file__), "..", ".."), "tests", "fake"))
import fakesmtpd  # noqa: E402

MSG_STATES = ["queued", "deferred", "held", "sending", "sent", "failed"]
RCPT_STATES = ["pending", "sent", "deferred", "failed"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _readable(path):
    for root, dirs, files in os.walk(path):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)


class Lab:
    def __init__(self, kinds=("implicit",), auth=False,
                 retry=("1s", "4s", "1h"), lease="30s", hosts=None, **keys):
        self.dir = tempfile.mkdtemp(prefix="relay-deliver-")
        os.chmod(self.dir, 0o755)
        self.fake = None
        self.env = None
        try:
            self._setup(kinds, auth, retry, lease, hosts, keys)
        except BaseException:
            self.cleanup()
            raise

    def _setup(self, kinds, auth, retry, lease, hosts, keys):
        self.certs = certs.make(os.path.join(self.dir, "certs"))
        _readable(os.path.join(self.dir, "certs"))
        self.fake = fakesmtpd.FakeSMTPD(*self.certs.good)
        self.listeners = [self.fake.listen(k) for k in kinds]
        self.fake.start()
        self.auth = auth
        self.secret_path = os.path.join(self.dir, "password")
        extra = "retry {\n  base = %s\n  max = %s\n  lifetime = %s\n}\n" % \
            retry
        self.env = rt.Env(extra=extra, lease_time=lease, **keys)
        if auth:
            self.secret("secret")
        if hosts is None:
            hosts = [self.block("main" if i == 0 else "main%d" % i, l.port)
                     for i, l in enumerate(self.listeners)]
        self.set_hosts(hosts)

    # --- configuration ---------------------------------------------------

    def block(self, name, port, tls="auto", auth=None, extra=""):
        auth = self.auth if auth is None else auth
        lines = ['smarthost "%s" {' % name, '  host = "127.0.0.1"',
                 "  port = %d" % port, "  tls = %s" % tls,
                 '  ca_file = "%s"' % self.certs.ca]
        if auth:
            lines += ['  username = "user"',
                      '  password_file = "%s"' % self.secret_path]
        if extra:
            lines.append(extra)
        lines.append("}")
        return "\n".join(lines) + "\n"

    def set_hosts(self, blocks):
        self.env.smarthosts = "\n".join(blocks)
        self.env.write_conf()

    def secret(self, text):
        tmp = self.secret_path + ".new"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.chmod(tmp, 0o600)
        if self.env.user is not None:
            import pwd
            pw = pwd.getpwnam(self.env.user)
            os.chown(tmp, pw.pw_uid, pw.pw_gid)
        os.replace(tmp, self.secret_path)

    def dead_port(self):
        return free_port()

    def revive(self, i):
        old = self.listeners[i]
        l = self.fake.listen(old.kind, port=old.port)
        l.b = dict(old.b)
        self.listeners[i] = l
        self.fake.start()
        return l

    # --- driving ---------------------------------------------------------

    def send(self, rcpts, body, sender=None, args=()):
        argv = ["-i"] + list(args)
        if sender is not None:
            argv += ["-f", sender]
        r = self.env.sendmail(argv + list(rcpts), body)
        assert r.returncode == 0, "sendmail: %d %s" % (
            r.returncode, r.stderr.decode(errors="replace"))
        return r

    def wait(self, cond, what, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            time.sleep(0.02)
        raise AssertionError("timed out waiting for %s\n--- relayd log:\n%s"
                             % (what, self.env.log()[-6000:]))

    # --- the spool -------------------------------------------------------

    def states(self):
        out = {}
        for (st,) in self.env.query("SELECT state FROM messages"):
            out[MSG_STATES[st]] = out.get(MSG_STATES[st], 0) + 1
        return out

    def qids(self, sender=None):
        if sender is None:
            return [r[0] for r in self.env.query(
                "SELECT qid FROM messages ORDER BY qid")]
        return [r[0] for r in self.env.query(
            "SELECT qid FROM messages WHERE sender = ? ORDER BY qid",
            (sender,))]

    def rcpt_rows(self, qid):
        return [(a, RCPT_STATES[s], n, na, r, st) for a, s, n, na, r, st in
                self.env.query(
                    "SELECT address, state, attempts, next_attempt, reason,"
                    " status FROM recipients WHERE qid = ? ORDER BY idx",
                    (qid,))]

    def health(self, name):
        rows = self.env.query(
            "SELECT name, state, failures, next_try, since, last_ok,"
            " last_reason FROM smarthost_health WHERE name = ?", (name,))
        if not rows:
            return None
        keys = ["name", "state", "failures", "next_try", "since", "last_ok",
                "last_reason"]
        return dict(zip(keys, rows[0]))

    def log_lines(self, pattern):
        return [l for l in self.env.log().splitlines() if pattern in l]

    # --- lifetime --------------------------------------------------------

    def cleanup(self):
        try:
            if self.env is not None:
                self.env.cleanup()
        finally:
            if self.fake is not None:
                self.fake.stop()
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def sanitizer_reports(self):
        """Lines of relayd's stderr (workers included) where a sanitizer
        reported something (ASan/UBSan builds)."""
        return [l for l in self.env.log().splitlines()
                if "Sanitizer" in l or "runtime error:" in l]

    def __exit__(self, exc_type, *exc):
        try:
            reports = self.sanitizer_reports() if exc_type is None else []
        finally:
            if reports:
                log = self.env.log()
            self.cleanup()
        if reports:
            raise AssertionError("sanitizer reports in relayd's log:\n" +
                                 log[-8000:])
        return False


def queue_numbered(lab, n, body):
    """n messages from s0@example.net.. to r0@example.net.. (body is a
    bytes format taking the sender and the number), queued through
    relayd's socket while no smarthost is configured, so one worker
    claims them all at once."""
    for i in range(n):
        sender = "s%d@example.net" % i
        r = rt.submit_raw(lab.env.socket, sender, ["r%d@example.net" % i],
                          rt.canon(body % (sender.encode(), i)))
        assert r.startswith("250"), r


def use_listener(lab, tls="auto", **behave):
    """Point relay at the lab's first listener (behaving as told) and
    reload; returns the listener."""
    l = lab.listeners[0]
    if behave:
        l.behave(**behave)
    lab.set_hosts([lab.block("main", l.port, tls=tls)])
    lab.env.reload()
    return l


def count_verbs(session, verb):
    """How many commands of a fake session start with verb."""
    return sum(1 for _, c in session.commands if c.upper().startswith(verb))


def sole_rcpt(lab, sender):
    """(state, attempts, status) of sender's only message and recipient."""
    qids = lab.qids(sender)
    assert len(qids) == 1, (sender, qids)
    rows = lab.rcpt_rows(qids[0])
    assert len(rows) == 1, rows
    _, state, attempts, _, _, status = rows[0]
    return state, attempts, status
