"""test_deliver_batch.py - how the queue runner uses connections: a queue
goes over as few sessions as max_messages_per_connection allows, each with
one TLS handshake and one AUTH and RSET between its transactions, a
worker's later sessions resuming the TLS session of its earlier ones; a large
queue uses up to max_connections sessions at once, never more; and a
smarthost that answers slowly never delays sendmail.
"""

import time

import delivertest as dt
import relaytest as rt

BODY = b"From: alice@example.net\nSubject: batch %d\n\nhi\n"


def _queue(lab, n):
    """n messages queued while no smarthost is configured."""
    for i in range(n):
        r = rt.submit_raw(lab.env.socket, "alice@example.net",
                          ["r%d@example.net" % i], rt.canon(BODY % i))
        assert r.startswith("250"), r


def _verbs(session, verb):
    return sum(1 for _, c in session.commands if c.upper().startswith(verb))


def test_per_connection_limit():
    with dt.Lab(["implicit"], auth=True, hosts=[], max_connections=1,
                max_messages_per_connection=10) as lab:
        l = lab.listeners[0]
        lab.env.start()
        _queue(lab, 25)
        lab.set_hosts([lab.block("main", l.port)])
        lab.env.reload()
        lab.wait(lambda: len(lab.fake.messages) == 25, "all 25")
        lab.wait(lambda: all(s.closed for s in l.sessions), "QUIT")
        mails = [_verbs(s, "MAIL") for s in l.sessions]
        print("25 messages, max_messages_per_connection 10: sessions "
              "carried %s" % mails)
        assert mails == [10, 10, 5], mails
        for s in l.sessions:
            assert s.tls and len(s.auth) == 1 and s.auth[0][2], s.auth
            assert _verbs(s, "RSET") == _verbs(s, "MAIL") - 1
            assert _verbs(s, "QUIT") == 1
        # one worker: a full handshake first, then resumption (the
        # worker keeps its TLS context and last session)
        resumed = [s.resumed for s in l.sessions]
        assert resumed == [False, True, True], resumed
        lab.wait(lambda: lab.states() == {"sent": 25}, "all sent")


def test_parallel_connections():
    with dt.Lab(["implicit"], hosts=[], max_connections=2,
                max_messages_per_connection=100) as lab:
        l = lab.listeners[0]
        l.behave(reply_delay=0.001)
        lab.env.start()
        _queue(lab, 250)
        lab.set_hosts([lab.block("main", l.port)])
        lab.env.reload()
        lab.wait(lambda: len(lab.fake.messages) == 250, "all 250",
                 timeout=60)
        lab.wait(lambda: all(s.closed for s in l.sessions), "QUIT")
        spans = [(s.opened_at, s.closed_at) for s in l.sessions]
        most = max(sum(1 for a, b in spans if a <= t < b)
                   for t, _ in spans)
        mails = [_verbs(s, "MAIL") for s in l.sessions]
        print("250 messages, max_connections 2: %d sessions carrying %s, "
              "at most %d at once" % (len(spans), mails, most))
        assert most == 2, spans
        assert max(mails) <= 100 and len(spans) <= 4, mails


def test_slow_smarthost_does_not_block():
    with dt.Lab(["implicit"]) as lab:
        l = lab.listeners[0]
        lab.env.start()
        l.behave(replies={"DOT": "250 2.0.0 slow"}, reply_delay=0.5)
        lab.send(["first@example.net"], BODY % 0)
        lab.wait(lambda: lab.fake.mail_at, "the slow transaction begun")
        # the worker waits for the smarthost; submissions do not
        for i in range(1, 4):
            lab.send(["r%d@example.net" % i], BODY % i)
        assert lab.fake.messages == [], "the smarthost answered too soon"
        assert len(lab.qids()) == 4
        l.behave(reply_delay=0)
        lab.wait(lambda: lab.states() == {"sent": 4}, "all sent")


def test_burst_shares_session():
    with dt.Lab(["implicit"]) as lab:
        l = lab.listeners[0]
        lab.env.start()
        for i in range(5):
            lab.send(["r%d@example.net" % i], BODY % i)
            lab.wait(lambda: len(lab.fake.messages) == i + 1, "delivery")
            time.sleep(0.1)
        # one worker kept its session between the submissions
        assert l.connections == 1, l.connections
        assert len(lab.log_lines("delivery worker")) >= 1
        assert len(lab.log_lines("started (relayd:")) == 1
        lab.wait(lambda: lab.states() == {"sent": 5}, "all sent")


rt.main([test_per_connection_limit, test_parallel_connections,
         test_slow_smarthost_does_not_block, test_burst_shares_session])
