"""test_deliver_crash.py - at-least-once delivery under crashes and with
several runners on one spool.

kill -9: 50 runs, each starting relayd, submitting a few messages and
killing relayd with SIGKILL at a random moment while it delivers (every
fifth run its delivery workers are killed too, so their claims can only
come back through the lease).  Afterwards one relayd delivers what is left.
No message may be lost; a message may arrive twice only when a transaction
was in flight at a hard kill (at most one per killed worker).

Two relayd on the same spool (different sockets) plus relayd --once runs
beside them: every message arrives exactly once (the claims with leases
keep them apart).
"""

import collections
import os
import random
import re
import signal
import subprocess
import time

import delivertest as dt
import relaytest as rt

RUNS = 50
PER_RUN = 3


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _markers(fake):
    out = collections.Counter()
    for m in fake.messages:
        found = re.search(rb"Subject: (m[0-9-]+)", m["data"])
        if found:
            out[found.group(1).decode()] += 1
    return out


def test_kill9():
    seed = int(os.environ.get("RELAY_TEST_SEED", time.time_ns() % 100000))
    rng = random.Random(seed)
    print("seed %d (set RELAY_TEST_SEED to repeat)" % seed, flush=True)
    with dt.Lab(["implicit"], lease="2s", max_connections=2,
                max_messages_per_connection=4) as lab:
        lab.listeners[0].behave(reply_delay=0.003)
        markers, hard = [], 0
        for run in range(RUNS):
            p = lab.env.start()
            for k in range(PER_RUN):
                mk = "m%03d-%d" % (run, k)
                lab.send(["c%d@example.net" % k],
                         b"Subject: " + mk.encode() + b"\n\nbody\n")
                markers.append(mk)
            time.sleep(rng.uniform(0, 0.06))
            if run % 5 == 4:
                workers = _children(p.pid)
                for w in workers:
                    try:
                        os.kill(w, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                hard += len(workers)
            lab.env.kill(signal.SIGKILL)
            lab.env.stop()
        lab.env.start()
        lab.wait(lambda: lab.states() == {"sent": len(markers)},
                 "everything sent after the crashes", timeout=90)
        got = _markers(lab.fake)
        lost = [m for m in markers if got[m] == 0]
        dups = sum(n - 1 for n in got.values() if n > 1)
        print("kill -9: %d runs, %d messages, %d workers killed hard, "
              "%d lost, %d delivered twice" % (
                  RUNS, len(markers), hard, len(lost), dups))
        assert not lost, lost
        assert dups <= hard, (dups, hard)
        assert lab.env.query("SELECT count(*) FROM messages WHERE "
                             "lease_owner IS NOT NULL") == [(0,)]


def test_two_relayd():
    with dt.Lab(["implicit"], max_connections=2,
                max_messages_per_connection=5) as lab:
        lab.listeners[0].behave(reply_delay=0.002)
        other = rt.Env(user=lab.env.user, smarthosts=lab.env.smarthosts,
                       extra=lab.env.extra, **lab.env.keys)
        try:
            other.spool_dir = lab.env.spool_dir
            other.db_path = lab.env.db_path
            other.write_conf()
            lab.env.start()
            other.start()
            once = []
            markers = []
            for i in range(60):
                mk = "m%03d" % i
                env = lab.env if i % 2 == 0 else other
                r = env.sendmail(["-i", "t%d@example.net" % i],
                                 b"Subject: " + mk.encode() + b"\n\nx\n")
                assert r.returncode == 0, r.stderr
                markers.append(mk)
                if i % 20 == 10:
                    once.append(subprocess.Popen(
                        [rt.bin_path("relayd"), "-C", other.conf_path,
                         "--once"], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL))
            for p in once:
                assert p.wait(60) == 0
            lab.wait(lambda: lab.states() == {"sent": 60}, "all sent")
            got = _markers(lab.fake)
            assert sorted(got) == markers, sorted(got)
            dups = [m for m, n in got.items() if n > 1]
            print("two relayd and relayd --once on one spool: 60 messages,"
                  " %d duplicates" % len(dups))
            assert not dups, dups
        finally:
            other.stop()
            other.cleanup()


rt.main([test_kill9, test_two_relayd])
