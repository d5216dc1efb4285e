"""test_deliver_trouble.py - the queue runner when things go wrong, against
the fake smarthost: a smarthost that is down (the backoff schedule, then the
whole queue over one connection at the next wake), failover to a second
smarthost with one attempt per pass on the dead one, a poison message that
kills the connection whenever it is sent, and lifetime expiry.
"""

import email
import email.policy
import re
import time

import delivertest as dt
import relaytest as rt

BODY = b"From: alice@example.net\nSubject: trouble\n\nhi\n"


def test_down_then_back():
    with dt.Lab(["implicit"], retry=("1s", "4s", "1h")) as lab:
        l = lab.listeners[0]
        l.close()
        lab.env.start()
        for i in range(5):
            lab.send(["r%d@example.net" % i], BODY)
        seen = {}

        def failures():
            for line in lab.log_lines("backing off"):
                m = re.search(r"backing off (\d+)s \(failure (\d+)\)", line)
                if m and int(m.group(2)) not in seen:
                    seen[int(m.group(2))] = (int(m.group(1)),
                                             time.monotonic())
            return len(seen) >= 3
        lab.wait(failures, "three failed attempts", timeout=20)
        delays = [seen[k][0] for k in sorted(seen)][:3]
        print("backoff after failures 1, 2, 3: %s s (configured base 1s, "
              "max 4s)" % delays)
        print("observed gaps between attempts: %s s" % [
            round(seen[k + 1][1] - seen[k][1], 2) for k in (1, 2)])
        assert delays == [1, 2, 4], delays
        # the smarthost waits, not each message: no attempt recorded on
        # the messages, all still queued
        assert lab.states() == {"queued": 5}, lab.states()
        assert lab.env.query("SELECT sum(attempts) FROM messages") == [(0,)]
        h = lab.health("main")
        assert h["state"] == 1 and h["failures"] >= 3, h
        wake = h["next_try"]
        l = lab.revive(0)
        lab.wait(lambda: len(lab.fake.messages) == 5, "the drain",
                 timeout=15)
        done = time.time()
        print("smarthost back: 5 queued messages delivered %.2f s after "
              "the next wake" % (done - wake))
        assert l.connections == 1, l.connections
        assert lab.log_lines("smarthost main answers again")
        lab.wait(lambda: lab.states() == {"sent": 5}, "all sent")


def test_failover():
    with dt.Lab(["implicit", "implicit"], retry=("30s", "60s", "1h")) as lab:
        dead, good = lab.listeners
        dead.behave(greeting="421 4.3.2 service not available")
        lab.set_hosts([lab.block("first", dead.port),
                       lab.block("refused", lab.dead_port()),
                       lab.block("second", good.port)])
        lab.env.start()
        for i in range(10):
            lab.send(["f%d@example.net" % i], BODY)
        lab.wait(lambda: len(lab.fake.messages) == 10, "ten via second")
        assert all(m["listener"] == good.name for m in lab.fake.messages)
        assert dead.connections == 1, dead.connections
        assert lab.health("first")["failures"] == 1
        assert lab.health("refused")["failures"] == 1
        assert lab.health("second")["state"] == 0
        print("failover: 10 messages, %d connections to the dead first "
              "smarthost, %d to the second" % (dead.connections,
                                               good.connections))
        # a flush tries every smarthost once more, in order
        r = lab.env.sendmail(["-q"])
        assert r.returncode == 0, r.stderr
        lab.send(["g@example.net"], BODY)
        lab.wait(lambda: len(lab.fake.messages) == 11, "after flush")
        lab.wait(lambda: lab.health("first")["failures"] == 2, "one more")
        assert dead.connections == 2, dead.connections


def test_poison():
    with dt.Lab(["implicit"]) as lab:
        l = lab.listeners[0]
        l.behave(drop_if_data_contains=b"POISON-MARK")
        # queue six while the only smarthost is unreachable, the poison
        # first, so one worker meets them all in one batch
        lab.set_hosts([lab.block("wait", lab.dead_port())])
        lab.env.start()
        lab.send(["p@example.net"], b"Subject: p\n\nPOISON-MARK\n")
        for i in range(5):
            lab.send(["n%d@example.net" % i], BODY)
        lab.set_hosts([lab.block("main", l.port)])
        lab.env.reload()
        lab.wait(lambda: len(lab.fake.messages) == 5, "the other five")
        # the fake counts a message at its final dot; the spool records it
        # a moment later, after the reply: wait for the recorded states
        lab.wait(lambda: lab.states() == {"sent": 5, "deferred": 1},
                 "five sent and the poison deferred in the spool")
        assert l.connections == 2, l.connections  # lost once, reconnected
        poison = lab.qids()[0]
        rows = lab.rcpt_rows(poison)
        assert rows[0][1] == "deferred" and rows[0][4] == \
            "connection_lost", rows
        assert lab.health("main")["state"] == 0
        # the server is fixed: the poison message goes out on its retry
        l.behave(drop_if_data_contains=None)
        lab.wait(lambda: len(lab.fake.messages) == 6, "the poison, later")


def test_expiry():
    with dt.Lab(["implicit"], retry=("1s", "1s", "3s")) as lab:
        l = lab.listeners[0]
        l.close()
        lab.env.start()
        lab.send(["late@example.net"], BODY, sender="alice@example.net")
        lab.send(["late2@example.net"], BODY, sender="<>")
        lab.wait(lambda: lab.states().get("failed") == 2, "expiry",
                 timeout=20)
        orig = lab.qids("alice@example.net")[0]
        assert lab.rcpt_rows(orig)[0][4] == "lifetime_expired"
        lab.wait(lambda: len(lab.qids("")) == 2, "the bounce queued")
        lab.wait(lambda: lab.log_lines("no bounce for 1 failed recipient: "
                                       "the sender is the null sender"),
                 "the null sender's failure logged")
        assert lab.log_lines("status=bounced (lifetime_expired")
        lab.revive(0)
        lab.wait(lambda: len(lab.fake.messages) == 1, "the bounce sent")
        m = lab.fake.messages[0]
        assert m["mail_from"] == "" and m["rcpts"] == ["alice@example.net"]
        msg = email.message_from_bytes(m["data"],
                                       policy=email.policy.compat32)
        assert msg.get_content_type() == "multipart/report"
        per = msg.get_payload()[1].get_payload()[1]
        assert per["Final-Recipient"] == "rfc822; late@example.net"
        assert per["Action"] == "failed"
        assert per["Status"] == "4.4.7", per["Status"]


rt.main([test_down_then_back, test_failover, test_poison, test_expiry])
