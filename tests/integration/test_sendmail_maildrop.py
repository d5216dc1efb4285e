"""sendmail with relayd stopped: every message lands in the offline maildrop
as exactly the submission stream relayd would have read.  The file is
parsed here and checked byte for byte: envelope (sender, recipients, -t
union and dedup, Resent- rules, -f '' and '<>', DSN values, SMTPUTF8),
header rewriting (qualification, removals, fields added in Postfix's
order and format), canonical body (line endings, lone dot with and
without -i, NUL bytes, From_ line, long lines), a 50 MB message with flat
memory, and a signal mid-submission leaving nothing behind."""

import os
import re
import signal
import stat
import subprocess
import time

import relaytest as rt

DATE_RE = (rb"[A-Z][a-z]{2}, [ 123]\d [A-Z][a-z]{2} \d{4} "
           rb"\d\d:\d\d:\d\d [+-]\d{4} \([A-Za-z0-9+-]+\)")
MSGID_RE = rb"<\d{14}\.[0-9A-F]{16}@relaytest\.example>"


def parse_stream(data):
    """Split a submission stream; fail on any deviation from subproto.h."""
    head, sep, rest = data.partition(b"DATA\n")
    assert sep, data[:200]
    lines = head.split(b"\n")
    assert lines[0] == b"RELAY-SUBMIT 1", lines[0]
    assert lines[-1] == b""
    env = {"rcpts": [], "extra": []}
    assert lines[1].startswith(b"FROM "), lines[1]
    env["sender"] = lines[1][5:].decode()
    for line in lines[2:-1]:
        if line.startswith(b"RCPT "):
            assert not env["extra"], "RCPT after other envelope lines"
            env["rcpts"].append(line[5:].decode())
        else:
            env["extra"].append(line.decode())
    body = []
    pos = 0
    while True:
        nl = rest.index(b"\n", pos)
        n = int(rest[pos:nl])
        pos = nl + 1
        if n == 0:
            break
        assert 0 < n <= 256 * 1024, n
        body.append(rest[pos:pos + n])
        pos += n
    assert pos == len(rest), "bytes after the end marker"
    env["body"] = b"".join(body)
    return env


class Drop:
    """An Env whose relayd is not running, with a maildrop directory."""

    def __init__(self, env):
        self.env = env
        os.makedirs(env.maildrop, exist_ok=True)
        os.chmod(env.maildrop, 0o1730)

    def files(self):
        return sorted(os.listdir(self.env.maildrop))

    def send(self, args, data, want_rc=0, user=None, run_env=None):
        if run_env is not None:
            r = rt.run(self.env.sendmail_argv(args, user), data,
                       env=run_env)
        else:
            r = self.env.sendmail(args, data, user=user)
        err = r.stderr.decode(errors="replace")
        assert r.returncode == want_rc, (r.returncode, err)
        return r

    def take(self, args, data, **kw):
        """Submit; return the parsed stream of the one new maildrop file
        (which is then removed)."""
        before = set(self.files())
        self.send(args, data, **kw)
        new = [f for f in self.files() if f not in before]
        assert len(new) == 1, new
        name = new[0]
        assert re.fullmatch(r"msg\.\d+\.\d+\.[0-9a-f]{16}", name), name
        path = os.path.join(self.env.maildrop, name)
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
        with open(path, "rb") as f:
            parsed = parse_stream(f.read())
        parsed["uid"] = st.st_uid
        os.unlink(path)
        return parsed


def split_message(body):
    head, sep, rest = body.partition(b"\r\n\r\n")
    assert sep, body[:300]
    return head + b"\r\n", rest


def test_basic_stream(drop):
    m = drop.take(["-i", "bob"], b"Subject: hi\nTo: bob\n\nline one\n")
    assert m["sender"] == "root@example.org"
    assert m["rcpts"] == ["bob@example.org"]
    assert m["extra"] == []
    assert m["uid"] == 0
    want = (rb"Subject: hi\r\nTo: bob@example\.org\r\n"
            rb"Message-ID: " + MSGID_RE + rb"\r\n"
            rb"Date: " + DATE_RE + rb"\r\n"
            rb"From: root <root@example\.org>\r\n\r\nline one\r\n")
    assert re.fullmatch(want, m["body"]), m["body"]
    assert drop.files() == []


def test_header_rewriting_exact(drop):
    msg = (b"From: root (Cron Daemon)\n"
           b"To: alice, \"B, C\" <bob>,\n"
           b"\tcarol@other.test\n"
           b"Cc: team: dave, erin@x.test;\n"
           b"Reply-To: Anacron <root>\n"
           b"Sender: op\n"
           b"Resent-Bcc: gone\n"
           b"Bcc: hidden@x.test\n"
           b"Return-Path: <bounce@x.test>\n"
           b"Content-Length: 12\n"
           b"X-Keep: alice\n"
           b"Date: Tue, 3 Dec 2024 10:00:00 +0100\n"
           b"Message-ID: <kept@x.test>\n"
           b"Resent-From: fwd\n"
           b"Resent-Date: Tue, 3 Dec 2024 10:00:00 +0100\n"
           b"Resent-Message-ID: <r@x.test>\n"
           b"Subject: =?utf-8?q?caf=C3=A9?= \xc3\xa9\n"
           b"\n"
           b"body\n")
    m = drop.take(["-i", "someone"], msg)
    assert m["body"] == (
        b"From: root@example.org (Cron Daemon)\r\n"
        b"To: alice@example.org, \"B, C\" <bob@example.org>,\r\n"
        b"\tcarol@other.test\r\n"
        b"Cc: team: dave@example.org, erin@x.test;\r\n"
        b"Reply-To: Anacron <root@example.org>\r\n"
        b"Sender: op@example.org\r\n"
        b"X-Keep: alice\r\n"
        b"Date: Tue, 3 Dec 2024 10:00:00 +0100\r\n"
        b"Message-ID: <kept@x.test>\r\n"
        b"Resent-From: fwd@example.org\r\n"
        b"Resent-Date: Tue, 3 Dec 2024 10:00:00 +0100\r\n"
        b"Resent-Message-ID: <r@x.test>\r\n"
        b"Subject: =?utf-8?q?caf=C3=A9?= \xc3\xa9\r\n"
        b"\r\n"
        b"body\r\n"), m["body"]
    # -G: header addresses stay as they are
    m = drop.take(["-i", "-G", "x"], b"From: root\nDate: d\n"
                  b"Message-ID: <m@x>\n\nb\n")
    assert m["body"] == b"From: root\r\nDate: d\r\nMessage-ID: <m@x>\r\n" \
        b"\r\nb\r\n"


def test_extract_union_and_dedup(drop):
    msg = (b"To: alice, Carol <carol@Example.ORG>\n"
           b"Cc: team: bob, \"x, y\" <xy@other.test>;\n"
           b"Bcc: dave@other.test\n\nhi\n")
    m = drop.take(["-t", "-i", "--", "carol@example.org", "zed"], msg)
    assert m["rcpts"] == ["carol@example.org", "zed@example.org",
                          "alice@example.org", "bob@example.org",
                          "xy@other.test", "dave@other.test"], m["rcpts"]
    head, _ = split_message(m["body"])
    assert b"Bcc" not in head and b"dave" not in head
    # a busybox-style cluster
    m = drop.take(["-ti"], b"To: root\nSubject: s\n\n.\nafter\n")
    assert m["rcpts"] == ["root@example.org"]
    assert m["body"].endswith(b"\r\n\r\n.\r\nafter\r\n")


def test_extract_resent(drop):
    msg = (b"From: a@x.test\nTo: old@x.test\nDate: d\nMessage-ID: <m@x>\n"
           b"Resent-To: new@y.test\nResent-Cc: other\n"
           b"Resent-Bcc: secret@y.test\n\nfwd\n")
    m = drop.take(["-t", "-i"], msg)
    assert m["rcpts"] == ["new@y.test", "other@example.org",
                          "secret@y.test"], m["rcpts"]
    head, _ = split_message(m["body"])
    assert b"secret" not in head
    assert re.search(rb"\r\nResent-Message-ID: " + MSGID_RE + rb"\r\n"
                     rb"Resent-Date: " + DATE_RE + rb"\r\n"
                     rb"Resent-From: root <root@example\.org>\r\n$", head), \
        head
    assert head.count(b"Message-ID") == 2 and head.count(b"From:") == 2


def test_dots_and_line_endings(drop):
    raw = b"Subject: d\n\na\n..x\n.\r\nafter the dot\n"
    m = drop.take(["x"], raw)
    assert m["body"].endswith(b"\r\n\r\na\r\n..x\r\n"), m["body"]
    for flag in (["-i"], ["-oi"], ["-oiF"], ["-o", "i"]):
        m = drop.take(flag + ["x"], raw)
        assert m["body"].endswith(b"a\r\n..x\r\n.\r\nafter the dot\r\n"), \
            (flag, m["body"])
    m = drop.take(["x"], b"Subject: d\n\none\n.\rtwo\n")
    assert m["body"].endswith(b"\r\n\r\none\r\n")
    mixed = b"Subject: m\r\n\r\ncrlf\r\nlf\nbare\rcr\r\r\r\nend"
    m = drop.take(["-i", "x"], mixed)
    assert m["body"].endswith(b"\r\n\r\ncrlf\r\nlf\r\nbare\r\ncr\r\nend"
                              b"\r\n"), m["body"]
    assert b"\n" not in m["body"].replace(b"\r\n", b"")
    assert b"\r" not in m["body"].replace(b"\r\n", b"")


def test_nul_and_from_line(drop):
    raw = (b"From alice Wed Dec  4 19:31:00 2024\n"
           b"Subj\0ect: n\n\nbo\0dy\0\n")
    m = drop.take(["-i", "x"], raw)
    assert m["body"].startswith(b"Subject: n\r\n"), m["body"]
    assert m["body"].endswith(b"\r\n\r\nbody\r\n")
    assert b"\0" not in m["body"] and b"From alice" not in m["body"]


def test_body_without_header(drop):
    m = drop.take(["-i", "x"], b"just a line\nand another")
    head, rest = split_message(m["body"])
    assert head.startswith(b"Message-ID: ")
    assert rest == b"just a line\r\nand another\r\n"
    # a non-header line ends the header section where it stands
    m = drop.take(["-i", "x"], b"Subject: s\nnot a header\n\nmore\n")
    head, rest = split_message(m["body"])
    assert head.startswith(b"Subject: s\r\nMessage-ID: ")
    assert rest == b"not a header\r\n\r\nmore\r\n"
    # an empty message still gets its fields and the separator
    m = drop.take(["x"], b"")
    assert re.fullmatch(rb"Message-ID: " + MSGID_RE + rb"\r\nDate: " +
                        DATE_RE + rb"\r\nFrom: root <root@example\.org>"
                        rb"\r\n\r\n", m["body"]), m["body"]


def test_sender_and_names(drop):
    m = drop.take(["-f", "", "x"], b"Subject: s\n\nb\n")
    assert m["sender"] == ""
    assert b"\r\nFrom: MAILER-DAEMON@example.org\r\n" in m["body"]
    m = drop.take(["-f<>", "x"], b"Subject: s\n\nb\n")
    assert m["sender"] == ""
    m = drop.take(["-r", "Joe Q <joe@x.test>", "-F", "Jo \"Q\" Doe", "x"],
                  b"Subject: s\n\nb\n")
    assert m["sender"] == "joe@x.test"
    assert b"\r\nFrom: \"Jo \\\"Q\\\" Doe\" <joe@x.test>\r\n" in m["body"]
    m = drop.take(["-f", "cron", "x"], b"Subject: s\n\nb\n")
    assert m["sender"] == "cron@example.org"
    # $NAME is read before the environment is cleared
    env = dict(os.environ, NAME="Env Name")
    m = drop.take(["x"], b"Subject: s\n\nb\n", run_env=env)
    assert b"\r\nFrom: Env Name <root@example.org>\r\n" in m["body"]
    # -F beats $NAME
    m = drop.take(["-F", "Flag Name", "x"], b"Subject: s\n\nb\n",
                  run_env=env)
    assert b"\r\nFrom: Flag Name <root@example.org>\r\n" in m["body"]


def test_envelope_options(drop):
    m = drop.take(["-N", "success,failure", "-R", "hdrs", "-V", "env+2Bid",
                   "-B", "8bitmime", "-oem", "-odb", "-h", "5", "x"],
                  b"Subject: s\n\nb\n")
    assert m["extra"] == ["RET HDRS", "ENVID env+2Bid", "BODY 8BITMIME",
                          "NOTIFY SUCCESS,FAILURE"], m["extra"]
    r = drop.send(["-N", "sometimes", "-i", "x"], b"Subject: s\n\nb\n")
    assert b"warning" in r.stderr and b"-N" in r.stderr
    for f in drop.files():
        m = parse_stream(open(os.path.join(drop.env.maildrop, f),
                              "rb").read())
        assert not any(e.startswith("NOTIFY") for e in m["extra"])
        os.unlink(os.path.join(drop.env.maildrop, f))
    m = drop.take(["-i", "j\u00f6rg@example.org"], b"Subject: u\n\nb\n")
    assert m["rcpts"] == ["j\u00f6rg@example.org"]
    assert m["extra"] == ["SMTPUTF8"]


def test_long_line(drop):
    line = (b"0123456789abcdef" * 65536)[:1000003]
    m = drop.take(["-i", "x"], b"Subject: l\n\n" + line + b"\nz")
    _, rest = split_message(m["body"])
    assert rest == line + b"\r\nz\r\n"


def test_user_submission_owns_file(drop):
    user = rt.ensure_user("s")
    os.chown(drop.env.maildrop, 0, user.pw_gid)
    m = drop.take(["-i", "x"], b"Subject: u\n\nb\n", user=user.pw_name)
    assert m["uid"] == user.pw_uid
    assert m["sender"] == user.pw_name + "@example.org"


def test_large_message_flat_memory(drop):
    size = 50 * 1024 * 1024
    path = os.path.join(drop.env.dir, "big.in")
    with open(path, "wb") as f:
        f.write(b"Subject: big\n\n")
        block = (b"y" * 1000 + b"\n") * 1024
        written = 0
        while written < size:
            f.write(block)
            written += len(block)
    argv = drop.env.sendmail_argv(["-i", "x"])
    # VmHWM is sampled while sendmail runs: it belongs to sendmail's own
    # address space (reset at exec), unlike wait4's figure, which also
    # counts the forked copy of this Python process.
    peak = 0
    with open(path, "rb") as inp:
        p = subprocess.Popen(argv, stdin=inp, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        deadline = time.monotonic() + 300
        while p.poll() is None:
            assert time.monotonic() < deadline, "sendmail timed out"
            try:
                peak = max(peak, rt.peak_rss_kb(p.pid))
            except OSError:
                pass
            time.sleep(0.005)
        _, err = p.communicate()
    assert p.returncode == 0, err
    print("sendmail peak RSS (VmHWM) for a 50 MB message: %d KiB" % peak)
    assert 0 < peak < 16 * 1024, peak
    names = drop.files()
    assert len(names) == 1
    mpath = os.path.join(drop.env.maildrop, names[0])
    assert os.path.getsize(mpath) > size
    os.unlink(mpath)
    os.unlink(path)


def test_signal_leaves_nothing(drop):
    argv = drop.env.sendmail_argv(["-i", "x"])
    p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(b"Subject: s\n\n" + b"z" * (600 * 1024))
        p.stdin.flush()
        deadline = time.monotonic() + 20
        while not any(f.startswith("tmp.") for f in drop.files()):
            assert time.monotonic() < deadline, drop.files()
            time.sleep(0.01)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 75, (p.returncode, err)
    assert b"not queued" in err
    assert drop.files() == [], drop.files()


def main():
    rt.need_root()
    tests = [test_basic_stream, test_header_rewriting_exact,
             test_extract_union_and_dedup, test_extract_resent,
             test_dots_and_line_endings, test_nul_and_from_line,
             test_body_without_header, test_sender_and_names,
             test_envelope_options, test_long_line,
             test_user_submission_owns_file, test_large_message_flat_memory,
             test_signal_leaves_nothing]
    for t in tests:
        with rt.Env() as env:
            t(Drop(env))
        print("ok", t.__name__)


if __name__ == "__main__":
    main()
