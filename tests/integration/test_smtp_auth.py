"""test_smtp_auth.py - AUTH PLAIN, LOGIN, CRAM-MD5 and XOAUTH2 against the
fake smarthost; wrong and temporarily refused credentials; no usable
mechanism; password_file permissions; password_command; and the secret
never showing in the protocol trace.
"""

import base64

from nettest import NetTest, check, run


def auth_conf(t, l, extra="", secret="secret", mode=0o600):
    pw = t.secret(secret, mode=mode)
    return t.conf(port=l.port, extra='username = "user"\n'
                  'password_file = "%s"\n%s' % (pw, extra))


def no_secret_in(text, secret="secret"):
    for form in (secret, base64.b64encode(("\0user\0" + secret).encode())
                 .decode(), base64.b64encode(secret.encode()).decode()):
        check(form not in text, "secret %r in the trace" % form)


def test_mechanisms():
    with NetTest("auth") as t:
        l = t.fake.listen("implicit")
        l.behave(auth_mechs=["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"])
        t.fake.start()
        for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
            r = t.send(auth_conf(t, l, 'auth_mechanisms = "%s"' % mech))
            check(r.rc == 0 and r.open["auth"] == "ok" and
                  r.open["auth_mech"] == mech, mech, r)
            check(l.sessions[-1].auth == [(mech, "user", True)],
                  "fake saw %r" % l.sessions[-1].auth)
            check("<redacted>" in r.stderr, "trace redacted", r)
            no_secret_in(r.stderr)
        # Default preference: PLAIN first.
        r = t.send(auth_conf(t, l))
        check(r.open["auth_mech"] == "PLAIN", "default", r)
        # XOAUTH2 with a token from password_command.
        r = t.send(t.conf(port=l.port, extra='username = "user"\n'
                          'password_command = "echo token123"\n'
                          'auth_mechanisms = "XOAUTH2"'))
        check(r.rc == 0 and r.open["auth_mech"] == "XOAUTH2", "xoauth2", r)
        no_secret_in(r.stderr, "token123")
        r = t.send(t.conf(port=l.port, extra='username = "user"\n'
                          'password_command = "echo expired"\n'
                          'auth_mechanisms = "XOAUTH2"'))
        check(r.open["reason"] == "auth_failed", "bad token", r)


def test_failures():
    with NetTest("auth") as t:
        l = t.fake.listen("implicit")
        t.fake.start()
        r = t.send(auth_conf(t, l, secret="wrong"))
        check(r.rc == 1 and r.open["reason"] == "auth_failed" and
              r.open["class"] == "relay_fault" and r.open["code"] == 535,
              "535 holds mail", r)
        no_secret_in(r.stderr, "wrong")
        check(not t.fake.messages, "nothing sent")
        l.behave(auth_reply="454 4.7.0 temporary authentication failure")
        r = t.send(auth_conf(t, l))
        check(r.open["reason"] == "auth_failed" and
              r.open["class"] == "temporary", "454 is temporary", r)
        l.reset(auth_mechs=[])
        r = t.send(auth_conf(t, l))
        check(r.open["reason"] == "auth_unavailable" and
              r.open["class"] == "relay_fault", "no AUTH offered", r)
        l.reset(auth_mechs=["LOGIN"])
        r = t.send(auth_conf(t, l, 'auth_mechanisms = "CRAM-MD5"'))
        check(r.open["reason"] == "auth_unavailable" and
              "LOGIN" in r.open["msg"], "configured mechanism missing", r)
        r = t.send(auth_conf(t, l, 'auth_mechanisms = "NTLM"'))
        check(r.open["reason"] == "config_error", "unknown mechanism", r)


def test_secrets():
    with NetTest("auth") as t:
        l = t.fake.listen("implicit")
        t.fake.start()
        before = l.connections
        for mode in (0o640, 0o604, 0o644, 0o620):
            r = t.send(auth_conf(t, l, mode=mode))
            check(r.open["reason"] == "config_error" and
                  "chmod 600" in r.open["msg"], "mode %o refused" % mode, r)
        check(l.connections == before, "refused before connecting")
        r = t.send(auth_conf(t, l, mode=0o400))
        check(r.rc == 0, "0400 is fine", r)
        r = t.send(t.conf(port=l.port, extra='username = "user"\n'
                          'password_file = "%s"' % t.path("missing")))
        check(r.open["reason"] == "config_error", "missing file", r)
        r = t.send(t.conf(port=l.port, extra='username = "user"\n'
                          'password_command = "exit 3"'))
        check(r.open["reason"] == "config_error" and
              "exit status 3" in r.open["msg"], "failing command", r)
        r = t.send(t.conf(port=l.port, extra='username = "user"\n'
                          'password_command = "echo secret; echo more"'))
        check(r.rc == 0, "command output, first line", r)
        r = t.send(t.conf(port=l.port, extra='username = "user"\n'
                          'password_command = "sleep 30"',
                          timeouts={"command_timeout": "1s"}))
        check(r.open["reason"] == "config_error" and
              "in time" in r.open["msg"], "slow command killed", r)


def test_no_auth_flag():
    with NetTest("auth") as t:
        l = t.fake.listen("implicit")
        t.fake.start()
        r = t.send(auth_conf(t, l), args=["--no-auth"])
        check(r.rc == 0 and r.open["auth"] == "skipped", "skipped", r)
        check(not l.sessions[-1].auth, "no AUTH sent")


run([test_mechanisms, test_failures, test_secrets, test_no_auth_flag])
