"""test_deliver_fault.py - a relay fault holds the queue: with a wrong
password 20 queued messages wait (no bounce, nothing failed), relayd logs
the fault once however often it retries, and AUTH is tried once per
attempt, not once per message.  Fixed credentials and SIGHUP: all 20 go
out over one connection.  The same again with sendmail -q instead of
SIGHUP.
"""

import delivertest as dt
import relaytest as rt

BODY = b"From: alice@example.net\nSubject: fault %d\n\nhi\n"


def _auth_attempts(l):
    return sum(len(s.auth) for s in l.sessions)


def test_auth_fault():
    with dt.Lab(["implicit"], auth=True, retry=("1s", "2s", "1h")) as lab:
        l = lab.listeners[0]
        lab.secret("wrong")
        lab.env.start()
        for i in range(20):
            lab.send(["r%d@example.net" % i], BODY % i,
                     sender="alice@example.net")
        lab.wait(lambda: (lab.health("main") or {}).get("state") == 2,
                 "the fault")
        # it is retried at retry.max (2s here) without a new log line
        lab.wait(lambda: lab.health("main")["failures"] >= 3,
                 "two more tries", timeout=20)
        assert lab.states() == {"queued": 20}, lab.states()
        assert lab.qids("") == [], "a bounce was queued"
        assert lab.env.query(
            "SELECT count(*) FROM recipients WHERE state != 0") == [(0,)]
        faults = lab.log_lines("auth_failed")
        assert len(faults) == 1, faults
        assert "queue held" in faults[0], faults
        fails = lab.health("main")["failures"]
        assert _auth_attempts(l) == l.connections == fails, (
            _auth_attempts(l), l.connections, fails)
        assert "secret" not in lab.env.log() and "wrong" not in \
            lab.env.log()
        print("relay fault: %d attempts, %d AUTH tries, %d log line, "
              "0 bounces for 20 queued" % (fails, _auth_attempts(l),
                                            len(faults)))
        # fixed credentials and SIGHUP: everything goes out at once
        before = l.connections
        lab.secret("secret")
        lab.env.reload()
        lab.wait(lambda: len(lab.fake.messages) == 20, "all 20 sent")
        assert l.connections == before + 1, l.connections
        lab.wait(lambda: lab.states() == {"sent": 20}, "all sent")
        assert len(lab.log_lines("smarthost main answers again")) == 1

        # again, fixed with sendmail -q (flush) instead
        lab.secret("wrong")
        lab.send(["again@example.net"], BODY % 99, sender="alice@example.net")
        lab.wait(lambda: len(lab.log_lines("auth_failed")) == 2,
                 "the fault again, logged")
        lab.secret("secret")
        r = lab.env.sendmail(["-q"])
        assert r.returncode == 0, r.stderr
        lab.wait(lambda: len(lab.fake.messages) == 21, "sent after -q")
        assert lab.qids("") == []


rt.main([test_auth_fault])
