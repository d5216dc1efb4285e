"""sendmail -bs: an SMTP session on standard input and output, driven
through the real binary with relayd running (and, once, with relayd down).

- a dialogue per command: 220 greeting, EHLO's capabilities (PIPELINING,
  SIZE with max_message_size, 8BITMIME, ENHANCEDSTATUSCODES), HELO, MAIL,
  RCPT, DATA, RSET, NOOP, VRFY (252), HELP (214), QUIT (221); several
  messages in one session, each in the spool as the client sent it
  (dot-unstuffed, CRLF, Bcc removed, headers added, addresses qualified);
- every error keeps the session alive: 503 bad sequence, 500 unknown or
  overlong (and the next command still works), 501 syntax, 502, 555,
  552 (SIZE= and real size), 553 bad address, 554 hop limit; too many
  errors end it with 421;
- pipelined commands get their replies in order;
- a session that ends in DATA queues nothing (exit 75); a silent client
  gets 421 after command_timeout;
- "\\n.\\n" inside DATA is data, not the end (no SMTP smuggling);
- recipients on the command line are refused (64); relayd down: each
  message goes to the maildrop; as an ordinary user the message carries
  that user's uid.
"""

import os
import pwd
import select
import subprocess
import time

import relaytest as rt


class Session:
    """A running sendmail -bs, read reply by reply."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def line(self, timeout=20):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, "no reply within %ss (%r)" % (timeout, self.buf)
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                piece = os.read(self.p.stdout.fileno(), 65536)
                if not piece:
                    raise AssertionError("sendmail closed stdout: %r" %
                                         self.buf)
                self.buf += piece
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.endswith(b"\r"), line
        return line[:-1].decode()

    def reply(self, timeout=20):
        """One whole (possibly multi-line) reply: (code, [lines])."""
        lines = [self.line(timeout)]
        while lines[-1][3:4] == "-":
            lines.append(self.line(timeout))
        code = int(lines[0][:3])
        assert all(int(l[:3]) == code for l in lines), lines
        return code, lines

    def cmd(self, text, want, enh=None):
        self.send(text + "\r\n")
        code, lines = self.reply()
        assert code == want, (text, lines)
        if enh is not None:
            assert lines[-1][4:].startswith(enh), (text, lines)
        return lines

    def close(self, timeout=20):
        try:
            out, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
            raise AssertionError("sendmail -bs did not end")
        self.rest = self.buf + out
        self.stderr = err.decode(errors="replace")
        return self.p.returncode


def message(s, sender, rcpts, body):
    s.cmd("MAIL FROM:<%s>" % sender, 250, "2.1.0")
    for r in rcpts:
        s.cmd("RCPT TO:<%s>" % r, 250, "2.1.5")
    s.cmd("DATA", 354)
    s.send(body)
    code, lines = s.reply()
    assert code == 250, lines
    qid = lines[0].split()[-1]
    return qid


def msg_row(env, qid):
    rows = env.query("SELECT sender, uid FROM messages WHERE qid = ?",
                     (qid,))
    assert len(rows) == 1, (qid, rows)
    rcpts = [r[0] for r in env.query(
        "SELECT address FROM recipients WHERE qid = ? ORDER BY address",
        (qid,))]
    return rows[0][0], rows[0][1], rcpts


def header_body(data):
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_dialogue():
    with rt.Env(max_message_size="100K") as env:
        env.start()
        s = Session(env.sendmail_argv(["-bs"]))
        code, lines = s.reply()
        assert code == 220 and "relaytest.example" in lines[0], lines
        lines = s.cmd("EHLO client.example", 250)
        caps = [l[4:] for l in lines[1:]]
        assert lines[0][4:] == "relaytest.example", lines
        assert caps == ["PIPELINING", "SIZE 102400", "8BITMIME",
                        "ENHANCEDSTATUSCODES"], caps
        s.cmd("NOOP", 250, "2.0.0")
        s.cmd("VRFY root", 252, "2.5.2")
        s.cmd("HELP", 214)
        s.cmd("RSET", 250, "2.0.0")
        body1 = (b"From: App <app@example.com>\r\nTo: bob\r\n"
                 b"Bcc: hidden@example.net\r\nSubject: one\r\n\r\n"
                 b"first line\r\n..one dot kept\r\n...\r\n"
                 b"bare\nlf and \x00nul\r\nlast\r\n.\r\n")
        q1 = message(s, "app@example.com", ["bob", "carol@example.net"],
                     body1)
        s.cmd("HELO again.example", 250)
        q2 = message(s, "", ["dave@example.net"], b"no header line\r\n.\r\n")
        # an aborted transaction leaves nothing
        s.cmd("MAIL FROM:<x@example.com>", 250)
        s.cmd("RCPT TO:<y@example.net>", 250)
        s.cmd("RSET", 250)
        s.cmd("QUIT", 221, "2.0.0")
        assert s.close() == 0, s.stderr
        assert s.rest == b"", s.rest

        assert q1 != q2
        sender, uid, rcpts = msg_row(env, q1)
        assert sender == "app@example.com" and uid == 0, (sender, uid)
        assert rcpts == ["bob@example.org", "carol@example.net"], rcpts
        head, body = header_body(env.body(q1))
        assert b"Bcc:" not in head and b"hidden" not in head, head
        assert b"\r\nTo: bob@example.org\r\n" in head + b"\r\n", head
        assert b"Message-ID:" in head and b"Date:" in head, head
        assert head.startswith(b"Received:"), head
        assert body == (b"first line\r\n.one dot kept\r\n..\r\n"
                        b"bare\r\nlf and nul\r\nlast\r\n"), body
        sender, _, rcpts = msg_row(env, q2)
        assert sender == "" and rcpts == ["dave@example.net"]
        head, body = header_body(env.body(q2))
        assert b"From: MAILER-DAEMON@example.org" in head, head
        assert body == b"no header line\r\n", body
        assert len(env.query("SELECT qid FROM messages")) == 2


def test_errors_keep_the_session():
    with rt.Env(max_message_size="2K", hop_limit=3) as env:
        env.start()
        s = Session(env.sendmail_argv(["-bs"]))
        s.reply()
        s.cmd("MAIL FROM:<a@example.com>", 503, "5.5.1")  # before HELO
        s.cmd("HELO", 501, "5.5.4")
        s.cmd("HELO c", 250)
        s.cmd("MAIL FROM:<a@example.com> SIZE=10", 555, "5.5.4")  # HELO
        s.cmd("EHLO c", 250)
        s.cmd("RCPT TO:<b@example.net>", 503, "5.5.1")
        s.cmd("DATA", 503, "5.5.1")
        s.cmd("MAIL a@example.com", 501, "5.5.4")
        s.cmd("MAIL FROM:<a@example.com> SIZE=99999", 552, "5.3.4")
        s.cmd("MAIL FROM:<a@example.com> BODY=BINARY", 501)
        s.cmd("MAIL FROM:<a@example.com> NOTIFY=NEVER", 555)
        s.cmd("MAIL FROM:<a b@example.com>", 553)
        s.cmd("MAIL FROM:<bad@>", 553, "5.1.7")
        s.cmd("MAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME", 250)
        s.cmd("MAIL FROM:<a@example.com>", 503, "5.5.1")  # nested
        s.cmd("DATA", 503, "5.5.1")  # no RCPT yet
        s.cmd("RCPT TO:<>", 553)
        s.cmd("RCPT TO:<-opt@example.net>", 553, "5.1.3")
        s.cmd("RCPT TO:<jos\u00e9@example.net>", 553, "5.6.7")
        s.cmd("RCPT TO:<b@example.net> NOTIFY=NEVER", 555)
        s.cmd("RCPT TO:<@relay.example:b@example.net>", 250)
        s.cmd("DATA now", 501)
        s.cmd("EXPN list", 502)
        s.cmd("STARTTLS", 502)
        s.cmd("FROB", 500, "5.5.2")
        s.cmd("", 500)
        s.cmd("NOOP " + "x" * 5000, 500, "5.5.2")  # too long
        s.cmd("DATA", 354)  # the transaction survived all that
        s.send(b"Subject: big\r\n\r\n" + b"y" * 3000 + b"\r\n.\r\n")
        code, lines = s.reply()
        assert code == 552 and "5.3.4" in lines[0], lines
        # hop limit
        s.cmd("MAIL FROM:<a@example.com>", 250)
        s.cmd("RCPT TO:<b@example.net>", 250)
        s.cmd("DATA", 354)
        s.send(b"Received: x\r\n" * 4 + b"\r\nloop\r\n.\r\n")
        code, lines = s.reply()
        assert code == 554 and "5.4.6" in lines[0], lines
        q = message(s, "a@example.com", ["b@example.net"],
                    b"Subject: fine\r\n\r\nok\r\n.\r\n")
        s.cmd("QUIT", 221)
        assert s.close() == 0
        assert [r[0] for r in env.query("SELECT qid FROM messages")] == [q]
        assert msg_row(env, q)[2] == ["b@example.net"]

        # too many errors: 421, the session ends
        s = Session(env.sendmail_argv(["-bs"]))
        s.reply()
        for _ in range(19):
            s.cmd("BOGUS", 500)
        s.send("BOGUS\r\n")
        assert s.reply()[0] == 500
        code, lines = s.reply()
        assert code == 421 and "too many errors" in lines[0], lines
        assert s.close() == 0


def test_pipelining():
    with rt.Env() as env:
        env.start()
        script = (b"EHLO c\r\nMAIL FROM:<a@example.com>\r\n"
                  b"RCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\n"
                  b"DATA\r\nSubject: p1\r\n\r\nbody\r\n.\r\n"
                  b"MAIL FROM:<a@example.com>\r\nRCPT TO:<bad@>\r\n"
                  b"RCPT TO:<d@example.net>\r\nDATA\r\n"
                  b"Subject: p2\r\n\r\nline\n.\nMAIL FROM:<evil@x>\r\n"
                  b".\r\nQUIT\r\n")
        r = rt.run(env.sendmail_argv(["-bs"]), script)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.decode().split("\r\n")
        assert lines[-1] == "", lines
        codes = [l[:3] for l in lines[:-1] if l[3:4] != "-"]
        assert codes == ["220", "250", "250", "250", "250", "354", "250",
                         "250", "553", "250", "354", "250", "221"], lines
        qids = [l.split()[-1] for l in lines if l.startswith("250 2.0.0")]
        assert len(qids) == 2, lines
        _, body = header_body(env.body(qids[1]))
        # the bare-LF dot line was data; it is stored as a line "."
        assert body == b"line\r\n.\r\nMAIL FROM:<evil@x>\r\n", body
        assert len(env.query("SELECT qid FROM messages")) == 2


def test_end_in_data_and_timeout():
    with rt.Env(command_timeout="2s") as env:
        env.start()
        script = (b"HELO c\r\nMAIL FROM:<a@example.com>\r\n"
                  b"RCPT TO:<b@example.net>\r\nDATA\r\n"
                  b"Subject: cut\r\n\r\nhalf a mess")
        r = rt.run(env.sendmail_argv(["-bs"]), script)
        assert r.returncode == 75, (r.returncode, r.stderr)
        assert b"not queued" in r.stderr, r.stderr
        assert env.query("SELECT qid FROM messages") == []

        s = Session(env.sendmail_argv(["-bs"]))
        s.reply()
        s.cmd("HELO c", 250)
        code, lines = s.reply(timeout=30)
        assert code == 421 and "timeout" in lines[0], lines
        assert s.close() == 75


def test_usage_maildrop_and_user():
    with rt.Env() as env:
        r = env.sendmail(["-bs", "bob@example.net"], b"QUIT\r\n")
        assert r.returncode == 64 and b"-bs" in r.stderr, r
        assert r.stdout == b""
        # relayd down: each message waits in the maildrop
        env.start()
        env.stop()
        s = Session(env.sendmail_argv(["-bs"]))
        s.reply()
        s.cmd("EHLO c", 250)
        q1 = message(s, "a@example.com", ["b@example.net"],
                     b"Subject: drop 1\r\n\r\nx\r\n.\r\n")
        q2 = message(s, "a@example.com", ["c@example.net"],
                     b"Subject: drop 2\r\n\r\ny\r\n.\r\n")
        s.cmd("QUIT", 221)
        assert s.close() == 0, s.stderr
        assert q1.startswith("msg.") and q2.startswith("msg."), (q1, q2)
        assert sorted(os.listdir(env.maildrop)) == sorted([q1, q2])
        if env.user is not None:
            # what an installed, setgid relay sendmail gives the files
            gid = pwd.getpwnam(env.user).pw_gid
            for q in (q1, q2):
                os.chown(os.path.join(env.maildrop, q), -1, gid)
        env.start()  # imports them
        subjects = sorted(env.body(q[0]).split(b"Subject: ")[1][:6]
                          for q in env.query("SELECT qid FROM messages"))
        assert subjects == [b"drop 1", b"drop 2"], subjects
        if os.geteuid() != 0:
            return
        # as an ordinary user: that user's uid is the submitter
        user = rt.ensure_user("u")
        s = Session(env.sendmail_argv(["-bs"], user=user))
        s.reply()
        s.cmd("HELO c", 250)
        q = message(s, "someone@example.com", ["b@example.net"],
                    b"Subject: user\r\n\r\nz\r\n.\r\n")
        s.cmd("QUIT", 221)
        assert s.close() == 0, s.stderr
        assert msg_row(env, q)[1] == user.pw_uid


if __name__ == "__main__":
    rt.main([test_dialogue, test_errors_keep_the_session, test_pipelining,
             test_end_in_data_and_timeout, test_usage_maildrop_and_user])
