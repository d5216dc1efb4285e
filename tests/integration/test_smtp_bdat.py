"""test_smtp_bdat.py - mail transactions with BDAT (RFC 3030 CHUNKING)
through tests/helpers/smtp_send: the octets on the wire (not dot-stuffed,
CRLF only, folded as DATA folds them, each chunk's size exact), several
chunks for a message larger than one, an empty message, refusals at
MAIL, RCPT, a chunk and LAST, a message that cannot be read (abandoned
without LAST, the session goes on), a dropped connection, and DATA as
before when the server offers CHUNKING without PIPELINING.
"""

import re

from nettest import NetTest, check, run

LONG = b"x" * 2000
BODY = (b"From: a@example.org\r\nSubject: bdat\r\n\r\n"
        b".starts with a dot\r\n..two dots\r\n.\r\n" + LONG + b"\r\n"
        b"bare lf\nbare cr\rend")


def session(t, **behave):
    l = t.fake.listen("implicit")
    l.behave(**behave)
    t.fake.start()
    return l, t.conf(port=l.port)


def bdats(l):
    """The BDAT commands of every session, in order."""
    return [c for s in l.sessions for _, c in s.commands
            if c.startswith("BDAT")]


def verbs(l, verb):
    return sum(1 for s in l.sessions for _, c in s.commands
               if c.upper().startswith(verb))


def test_wire_octets():
    with NetTest("bdat") as t:
        l, conf = session(t, chunking=True)
        for chunk in ("1", "7", "4096"):
            r = t.send(conf, data=BODY, args=["-k", chunk])
            check(r.rc == 0, "sent", r)
        check(verbs(l, "DATA") == 0, "no DATA command")
        d = NetTest("data")
        with d:
            ld, confd = session(d)
            r = d.send(confd, data=BODY)
            check(r.rc == 0, "sent with DATA", r)
            want = d.fake.messages[0]["data"]
        for m, cmd in zip(t.fake.messages, bdats(l)):
            wire = m["wire"]
            print("%s: %d octets, %r" % (cmd, len(wire), wire[-20:]))
            check(cmd == "BDAT %d LAST" % len(wire), "size %r" % cmd)
            check(m["bdat"] == [len(wire)], "one chunk: %r" % m["bdat"])
            check(b"\r\n.starts with a dot\r\n..two dots\r\n.\r\n" in wire,
                  "no dot-stuffing: %r" % wire[:120])
            check(b"\n" not in wire.replace(b"\r\n", b"") and
                  b"\r" not in wire.replace(b"\r\n", b""), "CRLF only")
            lines = wire.split(b"\r\n")
            check(max(len(x) for x in lines) <= 998, "no line over 998")
            check(wire.endswith(b"bare lf\r\nbare cr\r\nend\r\n"),
                  "the last line ended: %r" % wire[-30:])
            check(wire == want, "the same message DATA delivers, folded "
                  "the same way")
            check(LONG not in wire and
                  wire.replace(b"\r\n", b"").count(LONG) == 1,
                  "the 2000-octet line folded, nothing lost")


def test_several_chunks_and_empty():
    big = b"Subject: big\r\n\r\n" + b"".join(
        b"line %06d " % i + b"y" * 60 + b"\r\n" for i in range(3000))
    with NetTest("bdat") as t:
        l, conf = session(t, chunking=True)
        r = t.send(conf, data=big, args=["-k", "65536"])
        check(r.rc == 0, "sent", r)
        m = t.fake.messages[0]
        print("%d octets in chunks %r" % (len(m["wire"]), m["bdat"]))
        check(len(m["bdat"]) >= 3, "several chunks: %r" % m["bdat"])
        check(all(n >= 65536 for n in m["bdat"][:-1]), "full chunks")
        check(m["data"] == big, "the message intact")
        cmds = bdats(l)
        check(cmds == ["BDAT %d" % n for n in m["bdat"][:-1]] +
              ["BDAT %d LAST" % m["bdat"][-1]], "chunk commands %r" % cmds)
        r = t.send(conf, data=b"")
        check(r.rc == 0, "empty message sent", r)
        check(bdats(l)[-1] == "BDAT 0 LAST", "BDAT 0 LAST: %r" % bdats(l))
        check(t.fake.messages[1]["data"] == b"", "empty")


def test_refusals():
    cases = [({"MAIL": "553 5.7.1 not your address"}, "sender_rejected",
              "permanent", 553),
             ({"RCPT": "550 5.1.1 no"}, "recipient_rejected",
              "permanent", 550),
             ({"DOT": "451 4.3.0 queue full"}, "data_rejected",
              "temporary", 451),
             ({"DOT": "552 5.3.4 too big"}, "size_exceeded", "permanent",
              552)]
    for replies, reason, cls, code in cases:
        with NetTest("bdat") as t:
            l, conf = session(t, chunking=True, replies=replies)
            r = t.send(conf, rcpts=["a@example.net", "b@example.net"],
                       args=["-n", "2"])
            check(len(r.rcpts) == 4, "each recipient reported", r)
            for x in r.rcpts:
                check(x["reason"] == reason and x["class"] == cls and
                      x["code"] == code, "%r -> %s" % (replies, reason), r)
            check(len(r.messages) == 2 and
                  not any(m["broken"] for m in r.messages),
                  "the session goes on", r)
            check(verbs(l, "RSET") == 1, "RSET between")
    # a chunk before LAST refused: the server dropped the message
    big = b"Subject: big\r\n\r\n" + b"z" * 70 + b"\r\n" * 2000 + \
        (b"w" * 70 + b"\r\n") * 2000
    with NetTest("bdat") as t:
        l, conf = session(t, chunking=True,
                          replies={"BDAT": "554 5.7.1 content refused"})
        r = t.send(conf, data=big, args=["-n", "2"])
        check(all(x["reason"] == "data_rejected" and x["code"] == 554
                  for x in r.rcpts), "the first chunk's refusal", r)
        check(not t.fake.messages, "nothing delivered")
        check(not any(m["broken"] for m in r.messages), "session on", r)
    # one recipient refused, the other delivered
    with NetTest("bdat") as t:
        l, conf = session(t, chunking=True, replies={
            "RCPT:nobody@example.net": "550 5.1.1 no such user"})
        r = t.send(conf, rcpts=["a@example.net", "nobody@example.net"])
        by = {x["rcpt"]: x["reason"] for x in r.rcpts}
        check(by == {"a@example.net": "ok",
                     "nobody@example.net": "recipient_rejected"}, "per "
              "recipient", r)
        check(t.fake.messages[0]["rcpts"] == ["a@example.net"], "to a")


def test_local_body_failure():
    with NetTest("bdat") as t:
        l, conf = session(t, chunking=True)
        data = b"Subject: x\r\n\r\n" + b"z" * 150000
        r = t.send(conf, data=data, args=["--fail-body", "100000", "-k",
                                          "1000", "-n", "2"])
        check(all(x["reason"] == "local_error" for x in r.rcpts) and
              len(r.rcpts) == 2, "local error", r)
        check(not any(m["broken"] for m in r.messages), "no LAST sent, "
              "and the session goes on", r)
        check(not t.fake.messages, "nothing delivered")
        cmds = bdats(l)
        check(cmds and not any(c.endswith("LAST") for c in cmds),
              "chunks but no LAST: %r" % cmds)
        check(verbs(l, "RSET") == 1 and verbs(l, "QUIT") == 1,
              "RSET discards the chunks, QUIT at the end")


def test_drop_mid_data():
    with NetTest("bdat") as t:
        l, conf = session(t, chunking=True, drop_in_data_after=1000)
        r = t.send(conf, data=b"Subject: x\r\n\r\n" + b"y" * 200000 +
                   b"\r\n", args=["-n", "2"])
        check(r.rc == 1, "failed", r)
        check(r.rcpts[0]["reason"] == "connection_lost", "lost", r)
        check(r.messages[0]["broken"] and len(r.messages) == 1,
              "session broken, no second transaction", r)
        check(not t.fake.messages, "nothing delivered")


def test_chunking_without_pipelining():
    with NetTest("bdat") as t:
        l, conf = session(t, chunking=True, caps=["SIZE 1000000",
                                                   "8BITMIME"])
        r = t.send(conf, data=BODY)
        check(r.rc == 0, "sent", r)
        check(verbs(l, "DATA") == 1 and not bdats(l), "DATA without "
              "PIPELINING")
        check(re.search(rb"\r\n\.\.starts with a dot",
                        t.fake.messages[0]["wire"]), "dot-stuffed")


run([test_wire_octets, test_several_chunks_and_empty, test_refusals,
     test_local_body_failure, test_drop_mid_data,
     test_chunking_without_pipelining])
