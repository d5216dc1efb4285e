"""sendmail with relayd running: the message goes over the socket, relayd
commits it and sendmail exits 0 only then; the spool (read with sqlite3)
holds the envelope, the DSN values, the submitter's uid from the kernel
and the canonical message with relayd's Received first.  A fake relayd
on the socket checks the stream and each kind of answer: 4xx -> 75,
552/554/550 -> 69, 553 -> 65, garbage or a closed connection -> 75, an
early refusal while sendmail is still writing.  With relayd stopped the
message waits in the maildrop and is imported when relayd starts.  -q
and -bp talk to relayd."""

import os
import re
import shutil
import socket
import stat
import threading
import time

import relaytest as rt


def test_submit_through_socket():
    with rt.Env() as env:
        env.start()
        r = env.sendmail(["-v", "-i", "-f", "alice", "-N", "failure",
                          "-R", "hdrs", "-V", "env1", "-B", "8BITMIME",
                          "bob", "carol@example.net"],
                         b"Subject: hi\nTo: bob\n\nhello\n.\nstill\n")
        err = r.stderr.decode()
        assert r.returncode == 0, err
        m = re.fullmatch(r"sendmail: queued as (\S+)\n", err)
        assert m, err
        qid = m.group(1)
        rows = env.query("SELECT sender, uid, ret, envid, body_type, "
                         "notify, smtputf8 FROM messages WHERE qid = ?",
                         (qid,))
        assert rows == [("alice@example.org", 0, "HDRS", "env1",
                         "8BITMIME", "FAILURE", 0)], rows
        rcpts = env.query("SELECT address FROM recipients WHERE qid = ? "
                          "ORDER BY idx", (qid,))
        assert [a for (a,) in rcpts] == ["bob@example.org",
                                         "carol@example.net"], rcpts
        body = env.body(qid)
        assert body.startswith(b"Received: "), body[:200]
        head, _, text = body.partition(b"\r\n\r\n")
        assert text == b"hello\r\n.\r\nstill\r\n", text
        assert b"\r\nSubject: hi\r\nTo: bob@example.org\r\nMessage-ID: <" \
            in head, head
        assert b"\r\nFrom: root <alice@example.org>" in head, head
        assert os.listdir(env.maildrop) == []


def test_user_uid_from_kernel():
    with rt.Env() as env:
        env.start()
        user = rt.ensure_user("k")
        r = env.sendmail(["-v", "-t", "-f", "root@example.org"],
                         b"To: dave@example.net\nSubject: u\n\nb\n",
                         user=user.pw_name)
        assert r.returncode == 0, r.stderr
        qid = r.stderr.decode().split()[-1]
        rows = env.query("SELECT sender, uid FROM messages WHERE qid = ?",
                         (qid,))
        # -f is the envelope sender; the uid is what the kernel says
        assert rows == [("root@example.org", user.pw_uid)], rows


def test_maildrop_then_import():
    with rt.Env() as env:
        env.start()          # creates the spool and the maildrop
        env.stop()
        user = rt.ensure_user("m")
        # as installed: sendmail setgid to the spool's group, the only way
        # into the write-only maildrop (mode 1730)
        sm = os.path.join(env.dir, "sendmail")
        shutil.copy(rt.bin_path("sendmail"), sm)
        gid = os.stat(env.maildrop).st_gid
        os.chown(sm, 0, gid)
        os.chmod(sm, 0o2755)
        assert stat.S_IMODE(os.stat(env.maildrop).st_mode) == 0o1730
        r = env.sendmail(["-i", "erin@example.net"], b"Subject: x\n\nx\n",
                         user=user.pw_name)
        assert r.returncode == 75, r  # without the setgid bit: refused
        argv = rt.with_conf(env.conf_path, rt.as_user(
            user, [sm, "-i", "erin@example.net"]), env.scratch())
        r = rt.run(argv, b"Subject: offline\n\nwaiting\n")
        assert r.returncode == 0, r.stderr
        names = os.listdir(env.maildrop)
        assert len(names) == 1 and names[0].startswith("msg."), names
        env.start()
        deadline = time.monotonic() + 20
        while os.listdir(env.maildrop):
            assert time.monotonic() < deadline, env.log()
            time.sleep(0.05)
        rows = env.query("SELECT qid, sender, uid FROM messages")
        assert len(rows) == 1, rows
        qid, sender, uid = rows[0]
        assert sender == user.pw_name + "@example.org" and \
            uid == user.pw_uid, rows
        assert env.body(qid).endswith(b"\r\n\r\nwaiting\r\n")


def test_flush_and_mailq():
    with rt.Env() as env:
        env.start()
        r = env.sendmail(["-v", "-i", "frank@example.net"],
                         b"Subject: q\n\nb\n")
        assert r.returncode == 0, r.stderr
        qid = r.stderr.decode().split()[-1]
        r = env.sendmail(["-q"])
        assert r.returncode == 0, r.stderr
        r = env.sendmail(["-qRexample.net"])
        assert r.returncode == 0, r.stderr
        r = env.sendmail(["-bp"])
        assert r.returncode == 0, r.stderr
        assert qid.encode() in r.stdout, r.stdout
        link = os.path.join(env.dir, "mailq")
        os.symlink(rt.bin_path("sendmail"), link)
        r = rt.run([link, "-C", env.conf_path])
        assert r.returncode == 0 and qid.encode() in r.stdout, r
        env.stop()
        r = env.sendmail(["-q"])
        assert r.returncode == 75, r


class FakeRelayd:
    """A socket server at env.socket that reads one submission (or part
    of one) and answers with a scripted line."""

    def __init__(self, path, reply, read_all=True):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(30)
        self.reply = reply
        self.read_all = read_all
        self.data = b""
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(30)
        with conn:
            while True:
                if not self.read_all and len(self.data) > 4096:
                    break
                try:
                    piece = conn.recv(65536)
                except OSError:
                    break
                if not piece:
                    break
                self.data += piece
                if self.data.endswith(b"\r\n0\n"):
                    break
            if self.reply is not None:
                try:
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def close(self):
        self.thread.join(30)
        self.sock.close()


def test_reply_mapping():
    cases = [(b"451 4.3.0 spool busy\n", 75, "spool busy"),
             (b"552 5.3.4 message too large\n", 69, "too large"),
             (b"554 5.4.6 too many hops\n", 69, "hops"),
             (b"550 5.7.1 no\n", 69, "no"),
             (b"553 5.1.3 bad address\n", 65, "bad address"),
             (b"hello there\n", 75, "unexpected answer"),
             (None, 75, "without an answer")]
    for reply, rc, word in cases:
        with rt.Env() as env:
            fake = FakeRelayd(env.socket, reply)
            r = env.sendmail(["-i", "x"], b"Subject: s\n\nbody\n")
            fake.close()
            err = r.stderr.decode()
            assert r.returncode == rc, (reply, r.returncode, err)
            assert err.count("\n") == 1 and word in err, (reply, err)
            assert fake.data.startswith(b"RELAY-SUBMIT 1\nFROM root@"), \
                fake.data[:100]
            assert fake.data.endswith(b"\r\nbody\r\n0\n"), fake.data[-100:]
            assert not os.path.exists(env.maildrop) or \
                os.listdir(env.maildrop) == []
    with rt.Env() as env:
        fake = FakeRelayd(env.socket, b"250 ABCDEFGHIJKLMN\n")
        r = env.sendmail(["-v", "-i", "x"], b"Subject: s\n\nbody\n")
        fake.close()
        assert r.returncode == 0, r.stderr
        assert r.stderr == b"sendmail: queued as ABCDEFGHIJKLMN\n", r.stderr


def test_early_refusal():
    """relayd refuses while sendmail is still writing a large message:
    sendmail reports relayd's reason, not a broken pipe."""
    with rt.Env() as env:
        fake = FakeRelayd(env.socket, b"552 5.3.4 message too large\n",
                          read_all=False)
        big = b"Subject: big\n\n" + (b"x" * 999 + b"\n") * 20000
        r = env.sendmail(["-i", "x"], big)
        fake.close()
        err = r.stderr.decode()
        assert r.returncode == 69, (r.returncode, err)
        assert "message too large" in err and err.count("\n") == 1, err


def main():
    rt.need_root()
    for t in (test_submit_through_socket, test_user_uid_from_kernel,
              test_maildrop_then_import, test_flush_and_mailq,
              test_reply_mapping, test_early_refusal):
        t()
        print("ok", t.__name__)


if __name__ == "__main__":
    main()
