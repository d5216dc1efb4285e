"""test_real_postfix.py - relay's SMTP client against a real Postfix from
Debian's packages, started by this test on loopback in its own config and
queue directory, with three listeners:

    implicit TLS (smtpd_tls_wrappermode) with AUTH,
    STARTTLS submission with AUTH required (Cyrus SASL, sasldb),
    plaintext (clients on 127.0.0.0/8 may relay to the test domain).

tls = auto must find implicit TLS and STARTTLS (conventions given with
tls_auto_ports for the high ports, and without them, by detection), AUTH
must succeed with PLAIN and LOGIN and fail with a wrong password, and each
message must turn up in Postfix's mailbox (a Maildir under the test
directory).  Postfix is stopped afterwards.  Skips (77) only when Postfix
itself is not installed.
"""

import sys
import time

import postfixlab
from nettest import NetTest, check, run

DOMAIN = postfixlab.DOMAIN

if not postfixlab.available():
    print("postfix or saslpasswd2 not installed, or not root: skipped")
    sys.exit(77)


def delivered(pf, marker, timeout=30):
    """Did a message containing marker arrive in Postfix's mailbox?"""
    end = time.time() + timeout
    while time.time() < end:
        for p in pf.mailbox_files():
            with open(p, "rb") as f:
                if marker in f.read():
                    return True
        time.sleep(0.2)
    return False


def message(marker):
    return (b"From: sender@" + DOMAIN.encode() + b"\r\nTo: rcpt@" +
            DOMAIN.encode() + b"\r\nSubject: relay interop " + marker +
            b"\r\n\r\nHello from relay.\r\n.a line with a dot\r\n" + marker +
            b"\r\n")


def test_postfix_interop():
    with NetTest("postfix") as t:
        pf = postfixlab.Postfix(t.path("postfix"), *t.certs.good)
        try:
            pf.start()
            pw = t.secret()
            auth = 'username = "user"\npassword_file = "%s"' % pw
            conventions = ["%d:implicit" % pf.ports["implicit"],
                           "%d:starttls" % pf.ports["submission"]]
            cases = [
                ("implicit", pf.ports["implicit"], conventions,
                 auth + '\nauth_mechanisms = "PLAIN"', "implicit"),
                ("submission", pf.ports["submission"], conventions,
                 auth + '\nauth_mechanisms = "LOGIN"', "starttls"),
                ("detected", pf.ports["submission"], None, auth,
                 "starttls"),
                ("plain", pf.ports["plain"], None, "", "none"),
            ]
            for name, port, ports, extra, mode in cases:
                marker = ("marker-%s-%d" % (name, time.time_ns())).encode()
                conf = t.conf(port=port, auto_ports=ports, extra=extra,
                              tls="none" if mode == "none" else "auto",
                              spool=t.path("spool-" + name))
                r = t.send(conf, rcpts=["rcpt@" + DOMAIN],
                           data=message(marker),
                           args=["-f", "sender@" + DOMAIN])
                check(r.rc == 0, "%s: send failed\n%s" % (name,
                                                          pf.maillog()), r)
                check(r.open["mode"] == mode, "%s: mode" % name, r)
                if extra:
                    check(r.open["auth"] == "ok", "%s: auth" % name, r)
                check(r.rcpts[0]["code"] == 250, "%s: 250" % name, r)
                check(delivered(pf, marker), "%s: not in the mailbox\n%s" %
                      (name, pf.maillog()))
            # Wrong password: auth_failed, a relay fault, nothing sent.
            bad = t.secret("wrong", name="bad")
            r = t.send(t.conf(port=pf.ports["submission"],
                              auto_ports=conventions,
                              extra='username = "user"\n'
                              'password_file = "%s"' % bad),
                       rcpts=["rcpt@" + DOMAIN])
            check(r.open["reason"] == "auth_failed" and
                  r.open["class"] == "relay_fault", "wrong password", r)
            # The submission port requires AUTH: without credentials the
            # recipient is refused by Postfix.
            r = t.send(t.conf(port=pf.ports["submission"],
                              auto_ports=conventions),
                       rcpts=["rcpt@" + DOMAIN])
            check(r.rc == 1 and r.rcpts and
                  r.rcpts[0]["code"] >= 500, "AUTH required", r)
        finally:
            pf.stop()


run([test_postfix_interop])
