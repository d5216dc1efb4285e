"""test_deliver_pipeline.py - the next message's commands behind the final
dot (RFC 2920 3.1): over a PIPELINING smarthost the worker sends message
k+1's RSET MAIL RCPT DATA before it has read the reply to message k's dot,
so a batch costs one round trip per message.  Each message still gets its
own outcome (250, 450, 550 on consecutive dots), a connection lost while
a dot's reply is pending defers that message alone and loses nothing, a
421 to the dot ends the session without counting the message behind it,
and without PIPELINING nothing is sent before the dot's reply.
"""

import re

import delivertest as dt
import relaytest as rt

BODY = b"From: %s\nSubject: pipeline %d\n\nhi\n"
NO_PIPELINING = ["SIZE 10240000", "8BITMIME", "SMTPUTF8", "DSN",
                 "ENHANCEDSTATUSCODES"]


def _queue(lab, n):
    dt.queue_numbered(lab, n, BODY)


def _go(lab, tls="auto"):
    return dt.use_listener(lab, tls)


_verbs = dt.count_verbs
_rcpt = dt.sole_rcpt


def _behind(msg):
    """The sender whose MAIL came in behind msg's dot, or None."""
    m = re.search(rb"MAIL FROM:<([^>]*)>", msg["after_dot"])
    return m.group(1).decode() if m else None


def test_next_mail_behind_dot():
    n = 6
    with dt.Lab(["starttls"], auth=True, hosts=[], max_connections=1) as lab:
        lab.env.start()
        _queue(lab, n)
        l = lab.listeners[0]
        # the fake answers a dot only once the next MAIL came in (or 1 s
        # passed): a client that waits for the reply shows up here
        l.behave(dot_hold=1.0)
        _go(lab, tls="starttls")
        lab.wait(lambda: len(lab.fake.messages) == n, "all %d" % n)
        lab.wait(lambda: all(s.closed for s in l.sessions), "QUIT")
        assert l.connections == 1, l.connections
        s = l.sessions[0]
        assert s.tls and len(s.auth) == 1 and s.auth[0][2], s.auth
        assert _verbs(s, "STARTTLS") == 1
        assert _verbs(s, "RSET") == _verbs(s, "MAIL") - 1 == n - 1
        behind = [m["after_dot"] for m in lab.fake.messages]
        print("%d messages, one session; bytes received behind each dot "
              "when it was answered: %s" % (n, [b[:30] for b in behind]))
        for b in behind[:-1]:
            assert b.startswith(b"RSET\r\nMAIL FROM:<"), b
        # the last dot's reply is read before QUIT is sent
        assert behind[-1] == b"", behind[-1]
        lab.wait(lambda: lab.states() == {"sent": n}, "all sent")


def test_mixed_dot_replies():
    replies = ["250 2.0.0 first ok", "450 4.3.0 try again later",
               "550 5.7.1 content refused", "250 2.0.0 fourth ok"]
    verdict = {"2": ("sent", "2.0.0"), "4": ("deferred", "4.3.0"),
               "5": ("failed", "5.7.1")}
    with dt.Lab(["implicit"], hosts=[], max_connections=1,
                retry=("60s", "120s", "1h")) as lab:
        lab.env.start()
        _queue(lab, 4)
        l = lab.listeners[0]
        l.behave(dot_replies=replies, dot_hold=0.5)
        _go(lab)
        lab.wait(lambda: len(lab.fake.messages) >= 4, "four dots")
        first = lab.fake.messages[:4]
        senders = [m["mail_from"] for m in first]
        assert sorted(senders) == ["s%d@example.net" % i for i in range(4)]

        def decided():
            return all(_rcpt(lab, s)[0] != "pending" for s in senders)
        lab.wait(decided, "four results")
        for m, r in zip(first, replies):
            state, attempts, status = _rcpt(lab, m["mail_from"])
            print("dot answered %r: %s %s" % (r, state, status))
            assert (state, status) == verdict[r[0]], (r, state, status)
            assert attempts == 1, attempts
        for m in first[:3]:
            assert _behind(m) is not None, m["after_dot"]
        # the refused one's report goes to its sender from <>
        refused = first[2]["mail_from"]
        lab.wait(lambda: any(m["mail_from"] == "" and m["rcpts"] == [refused]
                             for m in lab.fake.messages), "the bounce")
        # the 450 and the 550 did not disturb the session
        assert _verbs(l.sessions[0], "MAIL") >= 4
        assert _verbs(l.sessions[0], "QUIT") <= 1


def test_lost_behind_dot():
    n = 5
    with dt.Lab(["implicit"], hosts=[], max_connections=1,
                retry=("1s", "4s", "1h")) as lab:
        lab.env.start()
        _queue(lab, n)
        l = lab.listeners[0]
        l.behave(drop_at_dot=2, dot_hold=1.0)
        _go(lab)
        want = ["s%d@example.net" % i for i in range(n)]
        lab.wait(lambda: sorted(m["mail_from"] for m in lab.fake.messages)
                 == want, "every message once", timeout=30)
        lab.wait(lambda: lab.states() == {"sent": n}, "all sent")
        assert len(lab.fake.dropped) == 1
        lost = lab.fake.dropped[0]["mail_from"]
        behind = _behind(lab.fake.dropped[0])
        assert behind is not None, lab.fake.dropped[0]["after_dot"]
        print("connection dropped at %s's dot with %s's envelope behind "
              "it; %d connections" % (lost, behind, l.connections))
        # the message in flight was deferred once (it may have been a
        # duplicate), the one behind it was not counted as an attempt
        assert _rcpt(lab, lost)[:2] == ("sent", 2), _rcpt(lab, lost)
        assert _rcpt(lab, behind)[:2] == ("sent", 1), _rcpt(lab, behind)
        assert [ln for ln in lab.log_lines("status=deferred")
                if lab.qids(lost)[0] in ln], lab.env.log()[-3000:]
        assert l.connections >= 2, l.connections
        # one lost session is not the smarthost's fault yet
        assert lab.health("main")["state"] == 0, lab.health("main")


def test_421_at_dot():
    with dt.Lab(["implicit"], hosts=[], max_connections=1,
                retry=("1s", "4s", "1h")) as lab:
        lab.env.start()
        _queue(lab, 3)
        l = lab.listeners[0]
        l.behave(dot_replies=["421 4.3.2 shutting down"], dot_hold=1.0)
        _go(lab)
        lab.wait(lambda: lab.states() == {"sent": 3}, "all sent",
                 timeout=30)
        first = lab.fake.messages[0]
        behind = _behind(first)
        assert behind is not None, first["after_dot"]
        # the 421 is the smarthost's: the message is given back untried
        # (the host backs off), and so is the one behind it
        assert _rcpt(lab, first["mail_from"])[:2] == ("sent", 1)
        assert _rcpt(lab, behind)[:2] == ("sent", 1)
        assert l.sessions[0].closed and _verbs(l.sessions[0], "QUIT") == 0
        assert lab.log_lines("backing off")


def test_without_pipelining():
    n = 3
    with dt.Lab(["implicit"], hosts=[], max_connections=1) as lab:
        lab.env.start()
        _queue(lab, n)
        l = lab.listeners[0]
        l.behave(caps=NO_PIPELINING, dot_hold=0.3)
        _go(lab)
        lab.wait(lambda: len(lab.fake.messages) == n, "all %d" % n)
        lab.wait(lambda: all(s.closed for s in l.sessions), "QUIT")
        assert l.connections == 1, l.connections
        s = l.sessions[0]
        assert _verbs(s, "RSET") == _verbs(s, "MAIL") - 1 == n - 1
        # nothing is sent before a dot's reply is read
        assert [m["after_dot"] for m in lab.fake.messages] == [b""] * n
        lab.wait(lambda: lab.states() == {"sent": n}, "all sent")


rt.main([test_next_mail_behind_dot, test_mixed_dot_replies,
         test_lost_behind_dot, test_421_at_dot, test_without_pipelining])
