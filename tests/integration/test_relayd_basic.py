"""relayd basics through the real binaries: a submission is committed and
listed, relayd adds its Received: header and expands aliases, refusals
carry the right codes (too large 552, hop limit 554, malformed, bad
address 553), relayctl list/show and their exit codes, mailq's format,
a second relayd on the same socket is refused, SIGHUP keeps a good
configuration when the new one is bad, SIGTERM ends relayd with 0, a
client silent for longer than data_timeout is dropped, running out of
file descriptors pauses accepting instead of spinning."""

import os
import re
import signal
import socket
import time

import relaytest as rt


def test_submit_and_list():
    with rt.Env() as env:
        with open(env.aliases, "w") as f:
            f.write("postmaster: carol, dave@example.net\n")
        env.start()
        reply = env.submit("alice@example.org",
                           ["bob@example.org", "postmaster"],
                           "Subject: hi\n\nhello\n")
        assert reply.startswith("250 "), reply
        qid = reply.split()[1]
        assert re.fullmatch(r"[0-9A-Z]{14}", qid), qid

        body = env.body(qid)
        first, second = body.split(b"\r\n")[:2]
        assert first == (b"Received: by relaytest.example (relay, from "
                         b"userid 0)"), first
        assert second.startswith(b"\tid " + qid.encode() + b"; "), second
        assert body.endswith(b"Subject: hi\r\n\r\nhello\r\n"), body

        msgs = env.relayctl_json(["list"])
        assert len(msgs) == 1, msgs
        m = msgs[0]
        for key in ("id", "created", "sender", "size", "state", "attempts",
                    "next_attempt", "reason", "recipients"):
            assert key in m, key
        assert m["id"] == qid and m["sender"] == "alice@example.org"
        assert m["state"] == "queued" and m["size"] == len(body)
        assert isinstance(m["created"], int)
        got = sorted(r["address"] for r in m["recipients"])
        assert got == ["bob@example.org", "carol@example.org",
                       "dave@example.net"], got
        for r in m["recipients"]:
            assert r["state"] == "pending" and r["last_reply"] is None

        shown = env.relayctl_json(["show", qid])
        assert len(shown) == 1 and shown[0]["id"] == qid
        assert shown[0]["history"] == []

        human = env.relayctl(["list"])
        assert human.returncode == 0
        assert qid.encode() in human.stdout and b"1 message" in human.stdout

        # the rows on disk agree
        rows = env.query("SELECT sender, state, uid FROM messages "
                         "WHERE qid = ?", (qid,))
        assert rows == [("alice@example.org", 0, 0)], rows


def test_refusals():
    with rt.Env(max_message_size="1K", hop_limit=3) as env:
        env.start()
        big = b"Subject: big\n\n" + b"x" * 2000 + b"\n"
        r = env.submit("a@example.org", ["b@example.org"], big)
        assert r.startswith("552 5.3.4 "), r

        hops = "".join("Received: by h%d\n" % i for i in range(4))
        r = env.submit("a@example.org", ["b@example.org"],
                       hops + "Subject: loop\n\nx\n")
        assert r.startswith("554 5.4.6 ") and "hop" in r, r
        ok = "".join("Received: by h%d\n" % i for i in range(3))
        r = env.submit("a@example.org", ["b@example.org"],
                       ok + "Subject: fine\n\nx\n")
        assert r.startswith("250 "), r

        r = rt.submit_raw(env.socket, "", [], b"",
                          stream=b"RELAY-SUBMIT 1\nFROM a@b\nDATA\n0\n")
        assert r.startswith("554 5.6.0 malformed"), r
        r = rt.submit_raw(env.socket, "", [], b"", stream=b"HELLO\n")
        assert r.startswith("500 "), r
        r = env.submit("a@example.org", ["bad@@example.org"], "x\n")
        assert r.startswith("553 "), r

        # data after the end marker is refused, not queued
        stream = rt.subproto("a@example.org", ["b@example.org"],
                             rt.canon("x\n")) + b"junk"
        r = rt.submit_raw(env.socket, "", [], b"", stream=stream)
        assert r.startswith("554 "), r

        n = env.query("SELECT count(*) FROM messages")[0][0]
        assert n == 1, n
        # every refused connection was closed: only the status request
        # itself is open
        objs, code, _ = env.ctl("status")
        assert code == 200 and objs[0]["connections"] == 1, objs


def test_relayctl_errors_and_mailq():
    with rt.Env() as env:
        env.start()
        r = env.relayctl(["show", "NOTANID"])
        assert r.returncode == 2, r
        r = env.relayctl(["show", "0" * 14])
        assert r.returncode == 2 and b"no such message" in r.stderr, r
        r = env.relayctl(["list", "--state", "bogus"])
        assert r.returncode == 2, r
        r = env.relayctl(["frobnicate"])
        assert r.returncode == 2, r
        r = env.relayctl(["list", "--state", "queued", "--json"])
        assert r.returncode == 0 and r.stdout == b"", r
        objs, code, _ = env.ctl("list state=sent")
        assert code == 200 and objs == []

        # mailq through the control protocol and the C client
        objs, code, text = env.ctl("flush")
        assert code == 200, text
        reply = env.submit("", ["bob@example.org"], "Subject: x\n\nhi\n")
        assert reply.startswith("250 ")
        qid = reply.split()[1]
        mq = env.sendmail(["-bp"])
        assert mq.returncode == 0, mq
        out = mq.stdout.decode()
        lines = out.split("\n")
        assert lines[0] == ("-Queue ID-  --Size-- ----Arrival Time---- "
                            "-Sender/Recipient-------"), lines[0]
        assert lines[1].startswith(qid + " "), lines[1]
        assert lines[1].endswith("  MAILER-DAEMON"), lines[1]
        assert lines[2] == " " * 41 + "bob@example.org", lines[2]
        assert lines[3] == "" and lines[4] == "-- 0 Kbytes in 1 Request.", out

        env.stop()
        mq = env.sendmail(["-bp"])
        assert mq.returncode == 75, mq
        assert b"relayd is not running" in mq.stderr, mq.stderr


def test_second_instance_and_signals():
    with rt.Env() as env:
        env.start()
        r = rt.run([rt.bin_path("relayd"), "-C", env.conf_path], timeout=30)
        assert r.returncode == 75, r
        assert b"another relayd is already running" in r.stderr, r.stderr
        # the first one still answers
        _, code, _ = env.ctl("ping")
        assert code == 200

        # a broken configuration on SIGHUP is refused, relayd keeps going
        with open(env.conf_path, "a") as f:
            f.write("no_such_key = 1\n")
        env.reload()
        deadline = time.monotonic() + 20
        while "keeping the running configuration" not in env.log():
            assert time.monotonic() < deadline, env.log()
            time.sleep(0.05)
        r = env.submit("a@example.org", ["b@example.org"], "x\n")
        assert r.startswith("250 "), r

        # a good one is taken
        env.write_conf(hop_limit=7)
        env.reload()
        deadline = time.monotonic() + 20
        while "reloaded" not in env.log():
            assert time.monotonic() < deadline, env.log()
            time.sleep(0.05)
        assert env.stop() == 0
        assert not os.path.exists(env.socket)

        # a stale socket file (nobody answering) is replaced
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(env.socket)
        s.close()
        os.chmod(env.socket, 0o666)
        env.start()
        assert env.submit("a@example.org", ["b@example.org"],
                          "y\n").startswith("250 ")
        env.kill(signal.SIGINT)
        assert env.proc.wait(20) == 0


def test_silent_client_dropped():
    with rt.Env(data_timeout="2s") as env:
        env.start()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(env.socket)
        stream = rt.subproto("a@example.org", ["b@example.org"],
                             rt.canon("x\n"))
        s.sendall(stream[:len(stream) // 2])
        # relayd closes the connection without an answer (nothing queued)
        assert s.recv(100) == b""
        s.close()
        assert "silent for 2s, dropped" in env.log(), env.log()
        assert env.query("SELECT count(*) FROM messages") == [(0,)]
        objs, code, _ = env.ctl("status")
        assert code == 200 and objs[0]["connections"] == 1, objs


def test_sigterm_mid_submission():
    with rt.Env() as env:
        env.start()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(env.socket)
        stream = rt.subproto("a@example.org", ["b@example.org"],
                             rt.canon("Subject: cut\n\nx\n"))
        s.sendall(stream[:-5])
        deadline = time.monotonic() + 20
        while True:  # relayd has read the half stream
            objs, code, _ = env.ctl("status")
            if objs and objs[0]["connections"] == 2:
                break
            assert time.monotonic() < deadline, objs
            time.sleep(0.05)
        env.kill(signal.SIGTERM)
        assert env.proc.wait(20) == 0
        assert s.recv(100) == b""  # no answer: never a 250
        s.close()
        assert "1 submission in progress dropped" in env.log(), env.log()
        assert env.query("SELECT count(*) FROM messages") == [(0,)]


def test_out_of_descriptors():
    with rt.Env() as env:
        env.start(prefix=["prlimit", "--nofile=24:24", "--"])
        socks = []
        try:
            for _ in range(40):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(30)
                s.connect(env.socket)
                socks.append(s)
            deadline = time.monotonic() + 30
            while "pausing" not in env.log():
                assert time.monotonic() < deadline, env.log()
                time.sleep(0.05)
            time.sleep(1.5)
            # a pause per second, not a busy loop over the socket
            assert env.log().count("pausing") <= 5, env.log()
        finally:
            for s in socks:
                s.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                if env.ctl("ping")[1] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, env.log()
            time.sleep(0.1)
        r = env.submit("a@example.org", ["b@example.org"], "x\n")
        assert r.startswith("250 "), r


if __name__ == "__main__":
    rt.main([test_submit_and_list, test_refusals,
             test_relayctl_errors_and_mailq,
             test_second_instance_and_signals,
             test_silent_client_dropped, test_sigterm_mid_submission,
             test_out_of_descriptors])
