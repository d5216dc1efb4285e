"""relayctl why on staged failures: relayd delivers a real message through
a smarthost set up to fail in one way (the fake smarthost, a dead port, a
name that does not resolve), and "why ID" must name the stage the failure
belongs to, the reason, a sentence with the fix, and exit 1 (stuck);
"why" alone must explain the queue and the failing smarthost.  At the
end, a message that was delivered is not stuck (exit 0).
"""

import json
import os
import pwd
import ssl

import delivertest as dt
import relaytest as rt

BODY = b"From: alice@example.net\nTo: bob@example.net\nSubject: why\n\nhi\n"


def scenarios(lab):
    """(name, expected reason, stage, words of the fix, block factory)."""
    f = lab.fake
    plain = f.listen("plain")
    silent = f.listen("plain")
    silent.behave(silent=True)
    expired = f.listen("implicit", cert=lab.certs.expired)
    old = f.listen("implicit")
    old.behave(tls_max=ssl.TLSVersion.TLSv1_2)

    def fresh(**behave):
        l = f.listen("implicit")
        l.behave(**behave)
        return l

    good = fresh()
    mail = fresh(replies={"MAIL": "553 5.7.1 not your address"})
    rcpt = fresh(replies={"RCPT": "450 4.2.1 mailbox busy"})
    data = fresh(replies={"DOT": "554 5.7.1 looks like spam"})
    size = fresh(caps=["PIPELINING", "SIZE 10", "8BITMIME"])
    lost = fresh(drop_at="DATA")
    slow = fresh(reply_delay=1.5)
    f.start()
    bad_pw = lab.dir + "/wrong-password"
    with open(bad_pw, "w") as fh:
        fh.write("wrong\n")
    os.chmod(bad_pw, 0o600)
    auth = 'username = "user"\n  password_file = "%s"' % bad_pw
    return [
        ("connect_refused", "connect", "check host and port",
         lambda n: lab.block(n, lab.dead_port())),
        ("dns_failure", "DNS", "resolver",
         lambda n: lab.block(n, 465).replace('"127.0.0.1"',
                                            '"relay-test.invalid"')),
        ("greeting_timeout", "connect", "speaks SMTP",
         lambda n: lab.block(n, silent.port, tls="starttls")),
        ("plaintext_on_tls_port", "TLS", "STARTTLS",
         lambda n: lab.block(n, plain.port, tls="implicit")),
        ("certificate_rejected", "TLS", "ca_file",
         lambda n: lab.block(n, expired.port)),
        ("tls_handshake_failed", "TLS", "tls_min",
         lambda n: lab.block(n, old.port, extra='  tls_min = "1.3"')),
        ("starttls_not_offered", "TLS", "enable TLS",
         lambda n: lab.block(n, plain.port, tls="starttls")),
        ("auth_failed", "AUTH", "password_file",
         lambda n: lab.block(n, good.port, extra="  " + auth)),
        ("sender_rejected", "MAIL", "may send as",
         lambda n: lab.block(n, mail.port)),
        ("recipient_rejected", "RCPT", "server's reply",
         lambda n: lab.block(n, rcpt.port)),
        ("data_rejected", "DATA", "server's reply",
         lambda n: lab.block(n, data.port)),
        ("size_exceeded", "MAIL", "smaller message",
         lambda n: lab.block(n, size.port)),
        ("connection_lost", "DATA", "retries",
         lambda n: lab.block(n, lost.port)),
        ("timeout", "connect", "command_timeout",
         lambda n: lab.block(n, slow.port)),
    ], good, bad_pw


def why(env, args=()):
    r = env.relayctl(["why"] + list(args) + ["--json"])
    lines = [json.loads(l) for l in r.stdout.decode().splitlines() if l]
    return r.returncode, lines


def wait_reason(lab, env, qid, reason):
    """Poll why ID until it names reason; returns (exit code, object)."""
    got = []

    def named():
        rc, objs = why(env, [qid])
        got[:] = [(rc, objs[0] if objs else None)]
        # a message still being sent may have its reason recorded before
        # its state settles: wait for both
        return (objs and objs[0]["reason"] == reason
                and objs[0]["state"] != "sending")

    try:
        lab.wait(named, "why %s naming %s" % (qid, reason), timeout=40)
    except AssertionError:
        raise AssertionError("last answer: %r\n%s" % (got, env.log()[-3000:]))
    return got[0]


def run_scenario(lab, i, reason, stage, fix, block, secret):
    with rt.Env(extra="retry {\n  base = 1s\n  max = 30s\n  lifetime = 1h\n}\n",
                command_timeout="1s", greeting_timeout="2s",
                connect_timeout="3s", greeting_wait="1s") as env:
        if env.user is not None:  # relayd's user reads the password file
            pw = pwd.getpwnam(env.user)
            os.chown(secret, pw.pw_uid, pw.pw_gid)
        env.smarthosts = block("s%d" % i)
        env.write_conf()
        env.start()
        r = env.sendmail(["-i", "bob@example.net"], BODY)
        assert r.returncode == 0, r.stderr
        qid = env.query("SELECT qid FROM messages")[0][0]
        rc, o = wait_reason(lab, env, qid, reason)
        assert rc == 1 and o["stuck"] is True, (reason, rc, o)
        if stage is not None:
            assert o["stage"] == stage, (reason, o)
        else:
            assert o["stage"], o
        assert o["reason_text"] and o["advice"], o
        assert fix in o["advice"] or fix in o["text"], (reason, fix, o)
        assert qid in o["text"] and reason in o["text"], o
        # the human form says the same in one paragraph
        h = env.relayctl(["why", qid])
        text = h.stdout.decode()
        assert h.returncode == 1, h
        flat = " ".join(text.split())
        assert "stage" in flat and reason in flat, text
        # the queue as a whole: the failing smarthost, or the deferral,
        # once no transaction (e.g. a bounce being sent) is in flight
        settled = []

        def idle():
            settled[:] = [why(env)]
            return settled[0][1] and settled[0][1][0]["sending"] == 0

        lab.wait(idle, "no message being sent", timeout=40)
        rc, q = settled[0]
        host = q[0]["smarthosts"][0]
        assert host["name"] == "s%d" % i, host
        if o["state"] == "failed":  # returned to the sender: done
            assert q[0]["active"] == 0, q
        else:
            assert rc == 1 and q[0]["stuck"] is True, q
            assert q[0]["active"] == 1, q
        if o["smarthost"] is not None:
            assert host["state"] in ("backoff", "fault"), host
            assert host["reason"] == reason, host
            assert reason in q[0]["text"], q
        elif o["state"] == "deferred":
            assert q[0]["reasons"] == {reason: 1}, q
        print("%-22s stage %-8s %s" % (reason, o["stage"],
                                        o["advice"][:60]))


def test_staged_failures():
    with dt.Lab(["implicit"]) as lab:
        cases, good, secret = scenarios(lab)
        assert len(cases) >= 10
        for i, (reason, stage, fix, block) in enumerate(cases):
            run_scenario(lab, i, reason, stage, fix, block, secret)

        # a delivered message is not stuck
        with rt.Env() as env:
            env.smarthosts = lab.block("ok", good.port)
            env.write_conf()
            env.start()
            r = env.sendmail(["-i", "bob@example.net"], BODY)
            assert r.returncode == 0, r.stderr
            qid = env.query("SELECT qid FROM messages")[0][0]
            lab.wait(lambda: why(env, [qid])[1][0]["state"] == "sent",
                     "delivered")
            rc, o = why(env, [qid])
            assert rc == 0 and o[0]["stuck"] is False, o
            rc, q = why(env)
            assert rc == 0 and q[0]["stuck"] is False, q
            assert q[0]["smarthosts"][0]["state"] == "ok", q


if __name__ == "__main__":
    rt.main([test_staged_failures])
