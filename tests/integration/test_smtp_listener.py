"""relayd's loopback SMTP listener (listen = "127.0.0.1:PORT", "[::1]:PORT").

- python's smtplib and swaks submit through it; the messages are in the
  spool with relayd's own uid as the submitter and reach the fake
  smarthost;
- the same server as sendmail -bs: pipelined commands answered in order,
  SIZE= and real size over max_message_size refused with 552, a
  connection lost inside DATA queues nothing;
- listen_max_connections: one more client waits until a session ends;
- a silent client gets 421 after command_timeout; SIGTERM answers open
  sessions with 421;
- a non-loopback address (or a name) is refused: relayd exits 78 and
  relayctl check names the problem.
"""

import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import time

import delivertest as dt
import relaytest as rt

MSG = b"From: app@example.com\r\nTo: bob@example.net\r\nSubject: %s\r\n\r\n%s\r\n"


_pending = {}


def read_reply(s, timeout=10):
    """One whole SMTP reply from socket s: (code, text of its last line).
    Bytes read past it are kept for the next call on s."""
    s.settimeout(timeout)
    data = _pending.pop(s.fileno(), b"")
    lines = []
    while True:
        while b"\r\n" not in data:
            piece = s.recv(65536)
            if not piece:
                raise AssertionError("closed: %r" % data)
            data += piece
        line, data = data.split(b"\r\n", 1)
        lines.append(line)
        if line[3:4] == b" ":
            _pending[s.fileno()] = data
            return int(line[:3]), line.decode()


def has_ipv6():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def test_clients_and_delivery():
    port = dt.free_port()
    with dt.Lab(["implicit"], listen="127.0.0.1:%d" % port) as lab:
        env = lab.env
        env.start()
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as c:
            code, caps = c.ehlo("client.example")
            assert code == 250, caps
            assert c.has_extn("pipelining") and c.has_extn("8bitmime")
            assert c.has_extn("size") and c.has_extn("enhancedstatuscodes")
            refused = c.sendmail("app@example.com", ["bob@example.net",
                                                     "carol"],
                                 MSG % (b"smtplib 1", b"first"))
            assert refused == {}, refused
            c.sendmail("", ["dave@example.net"],
                       MSG % (b"smtplib 2", b".leading dot"))
        if shutil.which("swaks") is None:
            rt.skip("swaks is not installed")
        r = rt.run(["swaks", "--server", "127.0.0.1:%d" % port,
                    "--from", "swaks@example.com", "--to", "eve@example.net",
                    "--header", "Subject: via swaks",
                    "--body", "hello from swaks"], timeout=60)
        out = r.stdout.decode(errors="replace")
        assert r.returncode == 0, out
        assert "250 2.0.0 Ok: queued as" in out, out

        uid = pwd.getpwnam(env.user).pw_uid if env.user else os.getuid()
        rows = env.query("SELECT qid, sender, uid FROM messages ORDER BY qid")
        assert [r[1] for r in rows] == ["app@example.com", "",
                                        "swaks@example.com"], rows
        assert all(r[2] == uid for r in rows), (rows, uid)
        rcpts = sorted(a for (a,) in env.query(
            "SELECT address FROM recipients WHERE qid = ?", (rows[0][0],)))
        assert rcpts == ["bob@example.net", "carol@example.org"], rcpts
        body = env.body(rows[1][0])
        assert body.endswith(b"\r\n\r\n.leading dot\r\n"), body
        assert b"Subject: via swaks" in env.body(rows[2][0])

        lab.wait(lambda: len(lab.fake.messages) == 3, "three delivered")
        subjects = sorted(m["data"].split(b"Subject: ")[1].split(b"\r\n")[0]
                          for m in lab.fake.messages)
        assert subjects == [b"smtplib 1", b"smtplib 2", b"via swaks"]
        lab.wait(lambda: lab.states() == {"sent": 3}, "sent")


def test_ipv6():
    if not has_ipv6():
        rt.skip("no IPv6 loopback")
    port = dt.free_port()
    with rt.Env(extra='listen = {"[::1]:%d"}' % port) as env:
        env.start()
        with smtplib.SMTP("::1", port, timeout=20) as c:
            c.sendmail("a@example.com", ["b@example.net"],
                       MSG % (b"v6", b"x"))
        assert len(env.query("SELECT qid FROM messages")) == 1
        # the same port on 127.0.0.1 is not ours
        s = socket.socket()
        try:
            assert s.connect_ex(("127.0.0.1", port)) != 0
        finally:
            s.close()


def test_server_behaviour():
    port = dt.free_port()
    with rt.Env(listen="127.0.0.1:%d" % port, max_message_size="2K",
                command_timeout="2s", listen_max_connections=2) as env:
        env.start()
        # pipelining: everything in one write, replies in order
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert read_reply(s)[0] == 220
        s.sendall(b"EHLO c\r\nMAIL FROM:<a@example.com>\r\n"
                  b"RCPT TO:<b@example.net>\r\nDATA\r\n"
                  b"Subject: p1\r\n\r\nx\r\n.\r\n"
                  b"MAIL FROM:<a@example.com> SIZE=999999\r\n"
                  b"MAIL FROM:<a@example.com>\r\nRCPT TO:<c@example.net>\r\n"
                  b"DATA\r\nSubject: p2\r\n\r\n" + b"y" * 3000 + b"\r\n.\r\n"
                  b"MAIL FROM:<a@example.com>\r\nRCPT TO:<d@example.net>\r\n"
                  b"DATA\r\nSubject: p3\r\n\r\nz\r\n.\r\nQUIT\r\n")
        codes = [read_reply(s)[0] for _ in range(15)]
        assert codes == [250, 250, 250, 354, 250, 552, 250, 250, 354, 552,
                         250, 250, 354, 250, 221], codes
        s.close()
        subjects = sorted(env.body(q).split(b"Subject: ")[1][:2] for (q,) in
                          env.query("SELECT qid FROM messages"))
        assert subjects == [b"p1", b"p3"], subjects

        # a connection lost inside DATA queues nothing
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        read_reply(s)
        s.sendall(b"HELO c\r\nMAIL FROM:<a@example.com>\r\n"
                  b"RCPT TO:<b@example.net>\r\nDATA\r\nSubject: cut\r\n\r\nha")
        for _ in range(4):
            read_reply(s)
        s.close()
        time.sleep(0.5)
        assert len(env.query("SELECT qid FROM messages")) == 2

        # listen_max_connections = 2: a third client waits
        a = socket.create_connection(("127.0.0.1", port), timeout=10)
        b = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert read_reply(a)[0] == 220 and read_reply(b)[0] == 220
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.settimeout(1)
        try:
            got = c.recv(100)
        except socket.timeout:
            got = None
        assert got is None, got
        a.sendall(b"QUIT\r\n")
        assert read_reply(a)[0] == 221
        a.close()
        assert read_reply(c)[0] == 220  # now served

        # silent for command_timeout: 421
        code, text = read_reply(b, timeout=20)
        assert code == 421 and "timeout" in text, text
        b.close()
        read_reply(c, timeout=20)  # c times out too
        c.close()

        # SIGTERM: open sessions get 421
        d = socket.create_connection(("127.0.0.1", port), timeout=10)
        read_reply(d)
        env.kill(signal.SIGTERM)
        code, text = read_reply(d)
        assert code == 421 and "shutting down" in text, text
        d.close()
        assert env.stop() == 0


def test_non_loopback_refused():
    with rt.Env(listen="192.0.2.1:25") as env:
        r = rt.run([rt.bin_path("relayd"), "-C", env.conf_path], timeout=30)
        assert r.returncode == 78, r
        assert b"not a loopback address" in r.stderr, r.stderr
        env.write_conf(listen="localhost:25")
        r = rt.run([rt.bin_path("relayd"), "-C", env.conf_path], timeout=30)
        assert r.returncode == 78 and b"numeric address" in r.stderr, r
        env.write_conf(listen="0.0.0.0:2525")
        r = env.relayctl(["check"])
        assert r.returncode == 1, r
        assert b"not a loopback address" in r.stdout, r
        r = rt.run([rt.bin_path("relayd"), "-C", env.conf_path, "--once"],
                   timeout=30)
        assert r.returncode == 78, r
        assert not os.path.exists(env.socket)


if __name__ == "__main__":
    rt.main([test_clients_and_delivery, test_ipv6, test_server_behaviour,
             test_non_loopback_refused])
