"""test_deliver_bdat.py - relayd over a smarthost that offers CHUNKING
(RFC 3030): a window of transactions in flight.  The worker sends the
next messages' RSET MAIL RCPT BDAT..LAST before it has read the replies
of the first, on one session; each message still gets its own outcome
(a refused recipient, a 451 to LAST, 250s around them); a connection
dropped at a LAST with more in flight loses nothing (the message at the
drop and those whose LAST went out are deferred once, the rest given back
untried, all delivered on a new connection, the loss counted once
against the smarthost); a 421 to LAST gives back every message.
"""

import re

import delivertest as dt
import relaytest as rt

BODY = b"From: %s\nSubject: window %d\n\n.dot\nhi\n"


def _queue(lab, n):
    dt.queue_numbered(lab, n, BODY)


def _go(lab, tls="auto", **behave):
    return dt.use_listener(lab, tls, chunking=True, **behave)


_verbs = dt.count_verbs
_rcpt = dt.sole_rcpt


def _behind(msg):
    """The senders whose MAIL had come in behind msg's LAST."""
    return [m.decode() for m in
            re.findall(rb"MAIL FROM:<([^>]*)>", msg["after_dot"])]


def test_window():
    n = 30
    with dt.Lab(["starttls"], auth=True, hosts=[], max_connections=1) as lab:
        lab.env.start()
        _queue(lab, n)
        # the fake answers the first LAST only once five more MAIL
        # commands came in (or 2 s passed): a client that waits for
        # each message's reply shows up here
        l = _go(lab, tls="starttls", dot_hold=2.0, dot_hold_mails=5)
        lab.wait(lambda: len(lab.fake.messages) == n, "all %d" % n)
        lab.wait(lambda: all(s.closed for s in l.sessions), "QUIT")
        assert l.connections == 1, l.connections
        s = l.sessions[0]
        assert s.tls and len(s.auth) == 1 and s.auth[0][2], s.auth
        assert _verbs(s, "STARTTLS") == 1
        assert _verbs(s, "DATA") == 0
        assert _verbs(s, "RSET") == _verbs(s, "MAIL") - 1 == n - 1
        behind = _behind(lab.fake.messages[0])
        print("%d messages on one session; MAIL commands already received "
              "behind the first LAST when it was answered: %d" %
              (n, len(behind)))
        assert len(behind) >= 5, lab.fake.messages[0]["after_dot"][:300]
        for m in lab.fake.messages:
            assert m["bdat"] == [len(m["data"])], m["bdat"]
            assert b"\r\n.dot\r\nhi\r\n" in m["data"], m["data"]
        # the last reply is read before QUIT is sent
        assert lab.fake.messages[-1]["after_dot"] == b""
        lab.wait(lambda: lab.states() == {"sent": n}, "all sent")


def test_mixed_outcomes():
    n = 8
    with dt.Lab(["implicit"], hosts=[], max_connections=1,
                retry=("60s", "120s", "1h")) as lab:
        lab.env.start()
        _queue(lab, n)
        refused = "r2@example.net"
        l = _go(lab, dot_hold=1.0, dot_hold_mails=3,
                dot_replies=["250 2.0.0 first ok", "451 4.3.0 try later"],
                replies={"RCPT:" + refused: "550 5.1.1 no such user"})
        senders = ["s%d@example.net" % i for i in range(n)]
        lab.wait(lambda: all(_rcpt(lab, s)[0] != "pending"
                             for s in senders), "%d results" % n)
        later = lab.fake.messages[1]["mail_from"]
        assert _behind(lab.fake.messages[1]), "pipelined behind the 451"
        for s in senders:
            state, attempts, status = _rcpt(lab, s)
            print("%s: %s %s" % (s, state, status))
            assert attempts == 1, (s, attempts)
            if s == later:
                assert (state, status) == ("deferred", "4.3.0"), s
            elif s == "s2@example.net":
                assert (state, status) == ("failed", "5.1.1"), s
            else:
                assert state == "sent", (s, state)
        # the refused one's report goes to its sender from <>
        lab.wait(lambda: any(m["mail_from"] == "" and
                             m["rcpts"] == ["s2@example.net"]
                             for m in lab.fake.messages), "the bounce")
        assert l.connections == 1 and _verbs(l.sessions[0], "QUIT") <= 1


def test_drop_in_window():
    n = 24
    with dt.Lab(["implicit"], hosts=[], max_connections=1,
                retry=("1s", "4s", "1h")) as lab:
        lab.env.start()
        _queue(lab, n)
        l = _go(lab, drop_at_dot=3, dot_hold=1.0, dot_hold_mails=3)
        want = ["s%d@example.net" % i for i in range(n)]
        lab.wait(lambda: sorted(m["mail_from"] for m in lab.fake.messages)
                 == sorted(want), "every message once", timeout=40)
        lab.wait(lambda: lab.states() == {"sent": n}, "all sent")
        assert len(lab.fake.dropped) == 1
        lost = lab.fake.dropped[0]["mail_from"]
        behind = _behind(lab.fake.dropped[0])
        attempts = {s: _rcpt(lab, s)[1] for s in want}
        first = [m["mail_from"] for m in lab.fake.messages[:2]]
        print("dropped at %s's LAST with %d MAIL behind it; attempts %s; "
              "%d connections" % (lost, len(behind), attempts,
                                  l.connections))
        assert len(behind) >= 3, behind
        # the two answered before the drop: one attempt
        assert all(attempts[s] == 1 for s in first), first
        # the one at the drop, and those whose LAST went out behind it,
        # may have been delivered: deferred once
        assert attempts[lost] == 2, attempts
        assert all(attempts[s] == 2 for s in behind if s != lost), behind
        # the others were given back untried
        assert all(a in (1, 2) for a in attempts.values()), attempts
        assert [ln for ln in lab.log_lines("status=deferred")
                if lab.qids(lost)[0] in ln]
        assert l.connections >= 2, l.connections
        # one lost session is not the smarthost's fault yet
        assert lab.health("main")["state"] == 0, lab.health("main")


def test_421_at_last():
    with dt.Lab(["implicit"], hosts=[], max_connections=1,
                retry=("1s", "4s", "1h")) as lab:
        lab.env.start()
        _queue(lab, 4)
        l = _go(lab, dot_replies=["421 4.3.2 shutting down"], dot_hold=1.0,
                dot_hold_mails=3)
        lab.wait(lambda: lab.states() == {"sent": 4}, "all sent",
                 timeout=30)
        first = lab.fake.messages[0]
        assert len(_behind(first)) >= 3, first["after_dot"]
        # the 421 is the smarthost's: every message is given back
        # untried (the host backs off), those behind it too
        for i in range(4):
            assert _rcpt(lab, "s%d@example.net" % i)[:2] == ("sent", 1)
        assert l.sessions[0].closed and _verbs(l.sessions[0], "QUIT") == 0
        assert lab.log_lines("backing off")


rt.main([test_window, test_mixed_outcomes, test_drop_in_window,
         test_421_at_last])
