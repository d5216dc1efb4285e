"""test_smtp_taxonomy.py - every reason of the failure taxonomy is produced
by a real session against the fake smarthost (or a dead port, a full
listen queue, a name that does not resolve), with the class the taxonomy
gives it; relay faults never carry the permanent class.  The list of
reasons comes from the build itself (smtp_send --reasons), so a reason
added without a scenario here fails this test.
"""

import json
import socket
import ssl
import subprocess
import time

from nettest import SMTP_SEND, NetTest, check, free_port, run


def all_reasons():
    out = subprocess.run([SMTP_SEND, "--reasons"], stdout=subprocess.PIPE,
                         timeout=30, check=True).stdout.decode()
    return {json.loads(l)["reason"]: json.loads(l) for l in out.splitlines()}


def full_listen_queue():
    """A listener whose accept queue is full: SYNs go unanswered."""
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(0)
    port = l.getsockname()[1]
    fill = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(c)
    time.sleep(0.2)
    return port, [l] + fill


def outcome_reasons(r):
    got = [(r.open["reason"], r.open["class"])]
    got += [(x["reason"], x["class"]) for x in r.rcpts]
    return got


def scenarios(t):
    """(expected reason, function returning a Result)."""
    plain = t.fake.listen("plain")
    silent = t.fake.listen("plain")
    silent.behave(silent=True)
    imp = t.fake.listen("implicit")
    st = t.fake.listen("starttls")
    expired = t.fake.listen("implicit", cert=t.certs.expired)
    old = t.fake.listen("implicit")
    old.behave(tls_max=ssl.TLSVersion.TLSv1_2)
    t.fake.start()
    pw = t.secret()
    badpw = t.secret("wrong", name="bad")
    auth = 'username = "user"\npassword_file = "%s"' % pw
    short = {"connect_timeout": "1s", "greeting_timeout": "1s",
             "command_timeout": "1s"}

    def fresh(**behave):
        l = t.fake.listen("implicit")
        l.behave(**behave)
        t.fake.start()
        return t.conf(port=l.port, timeouts=short)

    def connect_timeout():
        port, socks = full_listen_queue()
        try:
            return t.send(t.conf(port=port, timeouts=short))
        finally:
            for s in socks:
                s.close()

    def downgrade():
        c = t.conf(port=st.port)
        t.send(c)
        return t.send(t.conf(port=st.port, tls="none"))

    return [
        ("ok", lambda: t.send(t.conf(port=imp.port))),
        ("connect_refused", lambda: t.send(t.conf(port=free_port()))),
        ("connect_timeout", connect_timeout),
        ("dns_failure", lambda: t.send(t.conf(host="nonexistent.invalid",
                                              port=465))),
        ("greeting_timeout", lambda: t.send(t.conf(
            port=silent.port, tls="starttls", timeouts=short))),
        ("greeting_rejected", lambda: t.send(fresh(
            greeting="421 4.3.2 busy"))),
        ("plaintext_on_tls_port", lambda: t.send(t.conf(
            port=plain.port, tls="implicit"))),
        ("tls_handshake_failed", lambda: t.send(t.conf(
            port=old.port, extra='tls_min = "1.3"'))),
        ("certificate_rejected", lambda: t.send(t.conf(
            port=expired.port))),
        ("starttls_not_offered", lambda: t.send(t.conf(
            port=plain.port, tls="starttls"))),
        ("starttls_refused", lambda: starttls_refused(t)),
        ("downgrade_suspected", downgrade),
        ("ehlo_refused", lambda: t.send(fresh(ehlo_reply="550 5.7.1 no"))),
        ("auth_unavailable", lambda: t.send(t.conf(
            port=plain.port, tls="none", ca=False,
            extra=auth + "\nauth_without_tls = true"))),
        ("auth_failed", lambda: t.send(t.conf(
            port=imp.port, extra='username = "user"\n'
            'password_file = "%s"' % badpw))),
        ("sender_rejected", lambda: t.send(fresh(
            replies={"MAIL": "553 5.7.1 not yours"}))),
        ("recipient_rejected", lambda: t.send(fresh(
            replies={"RCPT": "550 5.1.1 no such user"}))),
        ("data_rejected", lambda: t.send(fresh(
            replies={"DOT": "554 5.7.1 spam"}))),
        ("size_exceeded", lambda: t.send(fresh(caps=["SIZE 10"]))),
        ("smtputf8_not_offered", lambda: t.send(fresh(caps=["PIPELINING"]),
                                                args=["--smtputf8"])),
        ("connection_lost", lambda: t.send(fresh(drop_at="MAIL"))),
        ("protocol_error", lambda: t.send(fresh(greeting=b"2x0 hi\r\n"))),
        ("timeout", lambda: slow(t, short)),
        ("config_error", lambda: t.send(t.conf(
            port=imp.port, extra='fingerprint = "sha256:00"'))),
        ("local_error", lambda: t.send(t.conf(port=imp.port),
                                       data=b"x" * 10000,
                                       args=["--fail-body", "10",
                                             "-k", "100"])),
    ]


def starttls_refused(t):
    l = t.fake.listen("starttls")
    l.behave(starttls_reply="454 4.7.0 TLS not available")
    t.fake.start()
    return t.send(t.conf(port=l.port, tls="starttls"))


def slow(t, short):
    """Replies 1.6s late with command_timeout = 1s (greeting_timeout 5s)."""
    l = t.fake.listen("implicit")
    l.behave(reply_delay=1.6)
    t.fake.start()
    return t.send(t.conf(port=l.port, timeouts=dict(
        short, greeting_timeout="5s")))


def test_every_reason_produced():
    reasons = all_reasons()
    seen = {}
    with NetTest("taxo") as t:
        for want, fn in scenarios(t):
            r = fn()
            got = outcome_reasons(r)
            names = [g[0] for g in got]
            check(want in names, "expected %s, got %r" % (want, got), r)
            for name, cls in got:
                seen.setdefault(name, set()).add(cls)
    missing = set(reasons) - set(seen)
    check(not missing, "reasons never produced: %s" % sorted(missing))
    for name, classes in seen.items():
        default = reasons[name]["class"]
        if default == "relay_fault":
            check("permanent" not in classes, "%s bounced" % name)
        check(default in classes or name in (
            "greeting_rejected", "ehlo_refused", "auth_failed",
            "starttls_refused", "sender_rejected", "recipient_rejected",
            "data_rejected", "size_exceeded"),
            "%s had classes %r, taxonomy says %s" % (name, classes,
                                                     default))


def test_texts():
    reasons = all_reasons()
    check(len(reasons) >= 25, "taxonomy size %d" % len(reasons))
    for name, r in reasons.items():
        check(r["text"].endswith(".") and len(r["text"]) > 20,
              "%s has a sentence with the fix" % name)
    check(reasons["plaintext_on_tls_port"]["text"] ==
          "The smarthost answered in plaintext; it expects STARTTLS "
          "(set port = 587 or leave tls = auto).", "plaintext sentence")
    for name in ("auth_failed", "certificate_rejected",
                 "downgrade_suspected", "config_error", "auth_unavailable"):
        check(reasons[name]["class"] == "relay_fault",
              "%s is a relay fault" % name)


run([test_every_reason_produced, test_texts])
