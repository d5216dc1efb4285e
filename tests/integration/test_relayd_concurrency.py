"""Many submitters at once, and one that stops.

- 16 concurrent sendmail processes x 50 messages each: all 800 exit 0 and
  are queued intact (every body and recipient checked in the spool).
- A submitter stopped with SIGSTOP in the middle of its stream (a raw
  socket client, and a real sendmail run by another user) does not hold
  up another user's submission: that one completes while the first is
  still stopped; after SIGCONT the first completes too.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import relaytest as rt

WRITERS = 16
PER_WRITER = 50


def body_for(w, i):
    return ("Subject: msg %d/%d\n\nwriter %d message %d\n%s\n" %
            (w, i, w, i, "line of text " * 20)).encode()


def test_800_concurrent():
    with rt.Env() as env:
        env.start()
        failures = []

        def writer(w):
            for i in range(PER_WRITER):
                r = env.sendmail(["-i", "-f", "w%d@example.org" % w,
                                  "rcpt%d-%d@example.net" % (w, i)],
                                 body_for(w, i), timeout=120)
                if r.returncode != 0:
                    failures.append((w, i, r.returncode, r.stderr))

        threads = [threading.Thread(target=writer, args=(w,))
                   for w in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, failures[:3]

        rows = env.query("SELECT m.qid, m.sender, r.address, m.size "
                         "FROM messages m JOIN recipients r USING (qid)")
        assert len(rows) == WRITERS * PER_WRITER, len(rows)
        seen = set()
        for qid, sender, rcpt, size in rows:
            w, i = (int(x) for x in rcpt[4:].split("@")[0].split("-"))
            assert sender == "w%d@example.org" % w, (sender, w)
            body = env.body(qid)
            assert len(body) == size, (qid, len(body), size)
            assert body.startswith(b"Received: by relaytest.example")
            want = rt.canon(body_for(w, i).split(b"\n\n", 1)[1])
            assert body.endswith(b"\r\n\r\n" + want), (qid, body[-200:])
            seen.add((w, i))
        assert len(seen) == WRITERS * PER_WRITER
        ok = env.query("PRAGMA integrity_check")
        assert ok == [("ok",)], ok


SLOW_CLIENT = r"""
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
data = open(sys.argv[2], "rb").read()
half = len(data) // 2
s.sendall(data[:half])
sys.stdout.write("half\n")
sys.stdout.flush()
sys.stdin.readline()
s.sendall(data[half:])
reply = b""
while not reply.endswith(b"\n"):
    piece = s.recv(4096)
    if not piece:
        break
    reply += piece
sys.stdout.write(reply.decode())
sys.stdout.flush()
"""


def test_stopped_submitter():
    with rt.Env() as env:
        env.start()
        alice = rt.ensure_user("a")
        bob = rt.ensure_user("b")

        # a raw client stopped halfway through its stream
        stream = os.path.join(env.dir, "stream")
        with open(stream, "wb") as f:
            f.write(rt.subproto("slow@example.org", ["x@example.org"],
                                rt.canon(b"Subject: slow\n\n" +
                                         b"y" * 300000 + b"\n")))
        os.chmod(stream, 0o644)
        client = os.path.join(env.dir, "slow.py")
        with open(client, "w") as f:
            f.write(SLOW_CLIENT)
        slow = subprocess.Popen(
            [sys.executable, client, env.socket, stream],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert slow.stdout.readline() == b"half\n"
        slow.send_signal(signal.SIGSTOP)

        # a real sendmail of alice, stopped in the middle of its stdin
        argv = env.sendmail_argv(["-i", "carol@example.org"], user=alice)
        stopped = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        stopped.stdin.write(b"Subject: stopped\n\n" + b"z" * 200000)
        stopped.stdin.flush()
        time.sleep(0.2)
        stopped.send_signal(signal.SIGSTOP)

        try:
            # bob's mail goes through while both are stopped
            r = env.sendmail(["-i", "dave@example.org"],
                             b"Subject: quick\n\nhello\n", user=bob,
                             timeout=60)
            assert r.returncode == 0, r
            assert slow.poll() is None and stopped.poll() is None
            queued = env.relayctl_json(["list"], user=bob)
            assert [m["recipients"][0]["address"] for m in queued] == \
                ["dave@example.org"], queued
        finally:
            slow.send_signal(signal.SIGCONT)
            stopped.send_signal(signal.SIGCONT)

        slow.stdin.write(b"go\n")
        slow.stdin.flush()
        reply = slow.stdout.readline().decode()
        assert reply.startswith("250 "), reply
        slow.wait(30)
        out, err = stopped.communicate(b"\n", timeout=60)
        assert stopped.returncode == 0, err
        assert len(env.relayctl_json(["list"])) == 3


if __name__ == "__main__":
    rt.main([test_800_concurrent, test_stopped_submitter])
