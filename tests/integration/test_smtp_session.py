"""test_smtp_session.py - mail transactions on one session: pipelining,
per-recipient outcomes, RSET between transactions, MAIL/RCPT parameters,
DATA encoding on the wire (dot-stuffing, CRLF only, folding), server
refusals, dropped connections, slow, trickled, malformed and huge replies.
"""

from nettest import NetTest, check, run


def session(t, **behave):
    l = t.fake.listen("implicit")
    l.behave(**behave)
    t.fake.start()
    return l, t.conf(port=l.port)


def test_per_recipient_outcomes_pipelined():
    with NetTest("sess") as t:
        l, conf = session(t, replies={
            "RCPT:later@example.net": "450 4.2.1 mailbox busy",
            "RCPT:nobody@example.net": "550 5.1.1 no such user"})
        rcpts = ["a@example.net", "later@example.net", "nobody@example.net"]
        r = t.send(conf, rcpts=rcpts)
        check(r.rc == 1, "not all accepted", r)
        by = {x["rcpt"]: x for x in r.rcpts}
        check(by["a@example.net"]["reason"] == "ok" and
              by["a@example.net"]["code"] == 250, "accepted", r)
        b = by["later@example.net"]
        check(b["reason"] == "recipient_rejected" and
              b["class"] == "temporary" and b["code"] == 450 and
              b["enh"] == "4.2.1" and "mailbox busy" in b["text"],
              "450", r)
        n = by["nobody@example.net"]
        check(n["reason"] == "recipient_rejected" and
              n["class"] == "permanent" and n["enh"] == "5.1.1", "550", r)
        check([x["rcpt"] for x in r.rcpts][:2] ==
              ["later@example.net", "nobody@example.net"],
              "refusals reported as soon as known, before the dot", r)
        check(t.fake.messages[0]["rcpts"] == ["a@example.net"],
              "delivered to the accepted one only")
        chunks = [c for p, c in l.sessions[0].chunks if b"MAIL FROM" in c]
        check(chunks and b"RCPT TO:<nobody@example.net>" in chunks[0] and
              b"DATA\r\n" in chunks[0], "MAIL, RCPTs and DATA in one "
              "write: %r" % chunks)


def test_without_pipelining():
    with NetTest("sess") as t:
        l, conf = session(t, caps=["SIZE 1000000", "8BITMIME"],
                          replies={"RCPT:b@example.net": "550 5.1.1 no"})
        r = t.send(conf, rcpts=["a@example.net", "b@example.net"])
        by = {x["rcpt"]: x["reason"] for x in r.rcpts}
        check(by == {"a@example.net": "ok",
                     "b@example.net": "recipient_rejected"}, "outcomes", r)
        mail = [c for p, c in l.sessions[0].chunks if b"MAIL FROM" in c]
        check(mail and b"RCPT" not in mail[0], "one command per write "
              "without PIPELINING")


def test_several_transactions_one_session():
    with NetTest("sess") as t:
        l, conf = session(t)
        r = t.send(conf, args=["-n", "3"])
        check(r.rc == 0 and len(r.messages) == 3, "three messages", r)
        check(l.connections == 1, "one connection")
        cmds = [c.split(" ")[0] for p, c in l.sessions[0].commands]
        check(cmds.count("RSET") == 2 and cmds.count("MAIL") == 3 and
              cmds.count("EHLO") == 1, "RSET between: %r" % cmds)
        check(cmds.index("RSET") > cmds.index("DATA"), "RSET after the "
              "first transaction")
        check(len(t.fake.messages) == 3, "delivered")


def test_parameters():
    with NetTest("sess") as t:
        l, conf = session(t)
        r = t.send(conf, args=["--8bit", "--smtputf8", "--ret", "HDRS",
                               "--envid", "QID123", "--notify",
                               "FAILURE,DELAY"])
        check(r.rc == 0, "sent", r)
        m = t.fake.messages[0]
        for p in ("SIZE=73", "BODY=8BITMIME", "SMTPUTF8", "RET=HDRS",
                  "ENVID=QID123"):
            check(p in m["mail_params"].split(), "MAIL %s: %r" %
                  (p, m["mail_params"]))
        check(m["rcpt_params"] == ["NOTIFY=FAILURE,DELAY"], "NOTIFY")
    with NetTest("sess") as t:
        l, conf = session(t, caps=["PIPELINING"])
        r = t.send(conf, args=["--8bit", "--ret", "HDRS", "--notify",
                               "NEVER"])
        check(r.rc == 0, "sent", r)
        m = t.fake.messages[0]
        check(m["mail_params"] == "" and m["rcpt_params"] == [""],
              "no parameters the server does not offer: %r" % m)


def test_local_refusals():
    with NetTest("sess") as t:
        l, conf = session(t, caps=["PIPELINING", "SIZE 10"])
        r = t.send(conf)
        check(r.rcpts[0]["reason"] == "size_exceeded" and
              r.rcpts[0]["class"] == "permanent", "SIZE limit", r)
        r = t.send(conf, args=["--smtputf8"])
        check(r.rcpts[0]["reason"] == "smtputf8_not_offered", "utf8", r)
        cmds = [c for s in l.sessions for p, c in s.commands]
        check(not any(c.startswith("MAIL") for c in cmds),
              "nothing sent for refused messages: %r" % cmds)
    with NetTest("sess") as t:
        l, conf = session(t)
        r = t.send(conf, rcpts=["bad>addr@example.net", "ok@example.net"])
        by = {x["rcpt"]: x["reason"] for x in r.rcpts}
        check(by == {"bad>addr@example.net": "recipient_rejected",
                     "ok@example.net": "ok"}, "unusable address", r)
        r = t.send(conf, args=["-f", "a\r\nRSET@example.org"])
        check(r.rcpts[0]["reason"] == "sender_rejected", "sender", r)
        cmds = [c for s in l.sessions for p, c in s.commands]
        check(not any("bad>addr" in c for c in cmds) and
              not any(c.startswith("RSET@") for c in cmds),
              "unusable addresses never sent: %r" % cmds)


def test_server_refusals():
    cases = [({"MAIL": "553 5.7.1 not your address"}, "sender_rejected",
              "permanent", 553),
             ({"MAIL": "451 4.3.0 try later"}, "sender_rejected",
              "temporary", 451),
             ({"DATA": "554 5.7.1 no data"}, "data_rejected", "permanent",
              554),
             ({"DOT": "552 5.3.4 too big"}, "size_exceeded", "permanent",
              552),
             ({"DOT": "451 4.3.0 queue full"}, "data_rejected",
              "temporary", 451)]
    for replies, reason, cls, code in cases:
        with NetTest("sess") as t:
            l, conf = session(t, replies=replies)
            r = t.send(conf, rcpts=["a@example.net", "b@example.net"])
            for x in r.rcpts:
                check(x["reason"] == reason and x["class"] == cls and
                      x["code"] == code, "%r -> %s" % (replies, reason), r)
            check(len(r.rcpts) == 2, "each recipient reported", r)
            check(r.messages[0]["reason"] == reason, "message", r)
            check(not r.messages[0]["broken"], "session still usable", r)


def test_all_recipients_refused():
    with NetTest("sess") as t:
        l, conf = session(t, replies={"RCPT": "550 5.1.1 no"})
        r = t.send(conf, rcpts=["a@example.net", "b@example.net"],
                   args=["-n", "2"])
        check(all(x["reason"] == "recipient_rejected" for x in r.rcpts),
              "refused", r)
        check(r.messages[0]["reason"] == "recipient_rejected", "msg", r)
        check(len(r.messages) == 2, "session continues", r)
        check(not t.fake.messages, "no message")


def test_data_encoding_on_the_wire():
    long_header = "Subject: " + " ".join(["word%03d" % i for i in range(250)])
    body = (b"From: a@example.org\r\n" + long_header.encode() + b"\r\n\r\n" +
            b".starts with a dot\r\n..two dots\r\n.\r\n" +
            b"x" * 3000 + b"\r\n" +
            b"bare lf\nbare cr\rend" )
    with NetTest("sess") as t:
        l, conf = session(t)
        for chunk in ("1", "7", "4096"):
            r = t.send(conf, data=body, args=["-k", chunk])
            check(r.rc == 0, "sent", r)
        for m in t.fake.messages:
            wire = m["wire"] + b"\r\n"
            check(b"\n" not in wire.replace(b"\r\n", b"") and
                  b"\r" not in wire.replace(b"\r\n", b""),
                  "CRLF only on the wire")
            lines = wire.split(b"\r\n")
            check(max(len(x) for x in lines) <= 998, "no line over 998")
            data = m["data"]
            hdr, _, rest = data.partition(b"\r\n\r\n")
            unfolded = hdr.replace(b"\r\n ", b" ").replace(b"\r\n\t", b"\t")
            check(long_header.encode() in unfolded,
                  "the folded header unfolds to the original")
            check(rest.startswith(b".starts with a dot\r\n..two dots\r\n"
                                  b".\r\n"), "dots restored: %r" % rest[:60])
            check(rest.replace(b"\r\n", b"").count(b"x") == 3000,
                  "the long body line kept its content")
            check(rest.endswith(b"bare lf\r\nbare cr\r\nend\r\n"),
                  "bare LF/CR became CRLF, last line ended: %r" % rest[-30:])
        check(t.fake.messages[0]["data"] == t.fake.messages[1]["data"] ==
              t.fake.messages[2]["data"], "same result whatever the chunks")


def test_drop_mid_data():
    with NetTest("sess") as t:
        l, conf = session(t, drop_in_data_after=1000)
        r = t.send(conf, data=b"Subject: x\r\n\r\n" + b"y" * 200000 +
                   b"\r\n", args=["-n", "2"])
        check(r.rc == 1, "failed", r)
        check(r.rcpts[0]["reason"] == "connection_lost" and
              r.rcpts[0]["stage"] == "body", "lost in body", r)
        check(r.messages[0]["broken"] and len(r.messages) == 1,
              "session broken, no second transaction", r)
        check(not t.fake.messages, "nothing delivered")


def test_slow_and_trickled_replies():
    with NetTest("sess") as t:
        l, conf = session(t, trickle=0.003)
        r = t.send(conf, rcpts=["a@example.net", "b@example.net"])
        check(r.rc == 0, "trickled replies parsed", r)
    with NetTest("sess") as t:
        l = t.fake.listen("implicit")
        t.fake.start()
        conf = t.conf(port=l.port, timeouts={"command_timeout": "1s"})
        r = t.send(conf)
        check(r.rc == 0, "fast enough", r)
        l.behave(reply_delay=2.5)   # greeting_timeout is 5s
        r = t.send(conf)
        check(r.open["reason"] == "timeout" and r.open["stage"] == "ehlo",
              "timeout with its stage", r)
        check("(stage ehlo)" in r.open["msg"], "stage named", r)
        # Bytes trickling in one by one cannot stretch a reply's deadline:
        # the EHLO reply (~170 bytes at 20 ms each) takes over 3 s.
        l.behave(reply_delay=0, trickle=0.02)
        r = t.send(conf)
        check(r.open["reason"] == "timeout" and r.open["stage"] == "ehlo",
              "one deadline per reply", r)


def test_malformed_replies():
    cases = [("greeting", b"22O fake\r\n"),
             ("greeting", b"220 bare lf\n"),
             ("greeting", b"220-one\r\n221 two\r\n"),
             ("greeting", b"220\x00nul\r\n")]
    for where, raw in cases:
        with NetTest("sess") as t:
            l = t.fake.listen("implicit")
            l.behave(greeting=raw)
            t.fake.start()
            r = t.send(t.conf(port=l.port))
            check(r.open["reason"] == "protocol_error" and
                  r.open["stage"] == where, "%r" % raw, r)
    with NetTest("sess") as t:
        l = t.fake.listen("implicit")
        l.behave(replies={"MAIL": b"250 ok\r\nx"})
        t.fake.start()
        r = t.send(t.conf(port=l.port))
        check(r.rcpts[0]["reason"] == "protocol_error", "garbage", r)
    with NetTest("sess") as t:
        l = t.fake.listen("implicit")
        l.behave(huge_reply_at="EHLO")
        t.fake.start()
        r = t.send(t.conf(port=l.port))
        check(r.open["reason"] == "protocol_error" and
              r.open["stage"] == "ehlo", "huge reply bounded", r)


def test_greetings_and_ehlo():
    for greet, cls in (("421 4.3.2 busy", "temporary"),
                       ("554 5.7.1 go away", "relay_fault")):
        with NetTest("sess") as t:
            l = t.fake.listen("implicit")
            l.behave(greeting=greet)
            t.fake.start()
            r = t.send(t.conf(port=l.port))
            check(r.open["reason"] == "greeting_rejected" and
                  r.open["class"] == cls and greet[4:] in r.open["text"],
                  greet, r)
    with NetTest("sess") as t:
        l = t.fake.listen("implicit")
        l.behave(ehlo_reply="550 5.7.1 not you")
        t.fake.start()
        r = t.send(t.conf(port=l.port))
        check(r.open["reason"] == "ehlo_refused" and r.open["code"] == 550,
              "EHLO refused", r)


def test_local_body_failure():
    with NetTest("sess") as t:
        l, conf = session(t)
        r = t.send(conf, data=b"Subject: x\r\n\r\n" + b"z" * 50000,
                   args=["--fail-body", "20000", "-k", "1000"])
        check(r.rcpts[0]["reason"] == "local_error", "local error", r)
        check(r.messages[0]["broken"], "connection dropped without a dot")
        check(not t.fake.messages, "nothing delivered")


run([test_per_recipient_outcomes_pipelined, test_without_pipelining,
     test_several_transactions_one_session, test_parameters,
     test_local_refusals, test_server_refusals, test_all_recipients_refused,
     test_data_encoding_on_the_wire, test_drop_mid_data,
     test_slow_and_trickled_replies, test_malformed_replies,
     test_greetings_and_ehlo, test_local_body_failure])
