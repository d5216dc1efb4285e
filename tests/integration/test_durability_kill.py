"""kill -9, of a submitter and of relayd.

- sendmail killed with SIGKILL in the middle of a 20 MB submission (and a
  raw client killed the same way): nothing of the message is queued, no
  file is left in the spool directory, relayd holds no temp file open for
  it, and the next submission works.
- relayd killed with SIGKILL while 8 clients submit as fast as they can
  (so commits are in flight), five times over: after each restart every
  message that was answered 250 is in the spool with its exact body,
  PRAGMA integrity_check is ok, and no message is half-queued (every row
  has its recipients and all of its chunks).
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time

import relaytest as rt

SPOOL_FILES = {"queue.db", "queue.db-wal", "queue.db-shm", "maildrop",
               "corrupt"}


def open_temp_files(pid):
    """Deleted files relayd still holds open (its body temp files)."""
    out = []
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            target = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if target.endswith("(deleted)") or "/.body." in target or \
                target.startswith("/memfd:"):
            out.append(target)
    return out


def wait_for(cond, what, env, timeout=30):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what + "\n" + env.log()
        time.sleep(0.05)


def test_submitter_killed():
    with rt.Env() as env:
        env.start()
        chunk = (b"0123456789" * 100 + b"\n") * 1024  # about 1 MB
        # real sendmail: 10 MB of a 20 MB message, then SIGKILL
        p = subprocess.Popen(env.sendmail_argv(["-i", "big@example.org"]),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdin.write(b"Subject: big\n\n")
        for _ in range(10):
            p.stdin.write(chunk)
        p.stdin.flush()
        wait_for(lambda: open_temp_files(env.proc.pid), "no temp file", env)
        p.kill()
        p.wait()
        p.stdin.close()
        wait_for(lambda: "submission abandoned" in env.log(),
                 "relayd did not notice", env)
        wait_for(lambda: not open_temp_files(env.proc.pid),
                 "temp file still open", env)

        # a raw client killed halfway through a 20 MB stream
        stream = os.path.join(env.dir, "stream")
        with open(stream, "wb") as f:
            f.write(rt.subproto("a@example.org", ["b@example.org"],
                                rt.canon(b"Subject: raw\n\n" + chunk * 20)))
        code = ("import socket,sys,os\n"
                "s=socket.socket(socket.AF_UNIX)\n"
                "s.connect(sys.argv[1])\n"
                "d=open(sys.argv[2],'rb').read()\n"
                "s.sendall(d[:len(d)//2])\n"
                "print('half',flush=True)\n"
                "sys.stdin.read()\n")
        raw = subprocess.Popen([sys.executable, "-c", code, env.socket,
                                stream], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
        assert raw.stdout.readline() == b"half\n"
        raw.kill()
        raw.wait()
        wait_for(lambda: env.log().count("submission abandoned") >= 2,
                 "relayd did not notice the raw client", env)
        wait_for(lambda: not open_temp_files(env.proc.pid),
                 "temp file still open", env)

        assert env.query("SELECT count(*) FROM messages") == [(0,)]
        assert env.query("SELECT count(*) FROM chunks") == [(0,)]
        extra = set(os.listdir(env.spool_dir)) - SPOOL_FILES
        assert not extra, extra
        r = env.sendmail(["-i", "after@example.org"], b"Subject: ok\n\nok\n")
        assert r.returncode == 0, r.stderr
        assert env.query("SELECT count(*) FROM messages") == [(1,)]


def check_spool(env, acked):
    assert env.query("PRAGMA integrity_check") == [("ok",)]
    bad = env.query(
        "SELECT m.qid FROM messages m WHERE "
        "NOT EXISTS (SELECT 1 FROM recipients r WHERE r.qid = m.qid) OR "
        "m.size != (SELECT coalesce(sum(length(data)), 0) FROM chunks c "
        "WHERE c.qid = m.qid)")
    assert bad == [], bad
    stored = {}
    for qid, data in env.query("SELECT qid, data FROM chunks "
                               "ORDER BY qid, seq"):
        stored[qid] = stored.get(qid, b"") + data
    for qid, body in acked.items():
        got = stored.get(qid, b"")
        assert got.endswith(b"\r\n" + body), (qid, got[-100:])
        assert got.startswith(b"Received: by relaytest.example")


def test_relayd_killed():
    with rt.Env() as env:
        acked = {}
        lock = threading.Lock()
        rounds = 5
        for rnd in range(rounds):
            env.start()
            stop = threading.Event()

            def client(n):
                i = 0
                while not stop.is_set():
                    body = rt.canon("Subject: r%d c%d m%d\n\n%s\n" % (
                        rnd, n, i, ("payload %d " % i) * (50 + 400 * (
                            i % 3))))
                    try:
                        reply = rt.submit_raw(env.socket, "k@example.org",
                                              ["r%d@example.net" % n], body,
                                              timeout=10)
                    except OSError:
                        return
                    if reply.startswith("250 "):
                        with lock:
                            acked[reply.split()[1]] = body
                    elif reply == "":
                        return
                    i += 1

            threads = [threading.Thread(target=client, args=(n,))
                       for n in range(8)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.2, 0.6))
            env.kill(signal.SIGKILL)
            env.proc.wait()
            stop.set()
            for t in threads:
                t.join(30)
            env.stop()
            check_spool(env, acked)
        assert len(acked) > rounds * 10, len(acked)
        env.start()
        msgs = env.relayctl_json(["list"])
        ids = {m["id"] for m in msgs}
        assert set(acked) <= ids, set(acked) - ids
        print("%d acknowledged messages, %d in the spool after %d kills" %
              (len(acked), len(ids), rounds))


if __name__ == "__main__":
    rt.main([test_submitter_killed, test_relayd_killed])
