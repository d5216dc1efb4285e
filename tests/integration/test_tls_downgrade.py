"""test_tls_downgrade.py - relay never falls back to plaintext: STARTTLS
stripped on a cached host is a suspected downgrade (and not one byte of
AUTH or MAIL goes out in plaintext); STARTTLS missing or refused on first
contact are named; bytes injected after "220 ready" abort the session;
credentials are sent only inside verified TLS.
"""

from nettest import NetTest, check, run


def plaintext_bytes(listener):
    return b"".join(s.rx_plain for s in listener.sessions)


def test_stripped_starttls_on_cached_host():
    with NetTest("down") as t:
        st = t.fake.listen("starttls")
        st.behave(auth_plaintext=True)
        t.fake.start()
        pw = t.secret()
        conf = t.conf(port=st.port, auto_ports=["%d:starttls" % st.port],
                      extra='username = "user"\npassword_file = "%s"' % pw)
        r = t.send(conf)
        check(r.rc == 0 and r.open["mode"] == "starttls", "first send", r)
        check(r.open["auth"] == "ok", "authenticated inside TLS", r)
        st.behave(offer_starttls=False)     # an attacker strips STARTTLS
        r = t.send(conf)
        check(r.rc == 1 and r.open["reason"] == "downgrade_suspected",
              "downgrade", r)
        check(r.open["class"] == "relay_fault", "held, not bounced", r)
        check("relayctl tls forget" in r.open["msg"], "fix named", r)
        check(st.connections == 2, "no other connection tried")
        plain = plaintext_bytes(st)
        for word in (b"AUTH", b"MAIL", b"RCPT", b"DATA"):
            check(word not in plain, "%r sent in plaintext: %r" %
                  (word, plain))
        s = st.sessions[1]
        check([c for p, c in s.commands] == ["EHLO client.test", "QUIT"] or
              [c for p, c in s.commands] == ["EHLO client.test"],
              "only EHLO before giving up: %r" % s.commands)
        check(len(t.fake.messages) == 1, "nothing delivered in plaintext")
        check(t.tls_cache() == [("localhost", st.port, "starttls", 1)],
              "cache kept")


def test_tls_none_on_host_seen_with_tls():
    with NetTest("down") as t:
        st = t.fake.listen("starttls")
        t.fake.start()
        r = t.send(t.conf(port=st.port))
        check(r.rc == 0, "first send", r)
        before = st.connections
        r = t.send(t.conf(port=st.port, tls="none"))
        check(r.open["reason"] == "downgrade_suspected", "tls = none", r)
        check(st.connections == before and r.open["connections"] == 0,
              "no connection made")


def test_starttls_not_offered_first_contact():
    with NetTest("down") as t:
        plain = t.fake.listen("plain")
        t.fake.start()
        r = t.send(t.conf(port=plain.port,
                          auto_ports=["%d:starttls" % plain.port]))
        check(r.rc == 1 and r.open["reason"] == "starttls_not_offered",
              "reason", r)
        check(r.open["class"] == "relay_fault", "class", r)
        check(b"MAIL" not in plaintext_bytes(plain), "no MAIL in plaintext")
        # On a port without convention: ClientHello, 220, STARTTLS, none.
        r = t.send(t.conf(port=plain.port))
        check(r.open["reason"] == "starttls_not_offered", "detected", r)
        check(plain.connections == 3, "3 connections in all: %d" %
              plain.connections)


def test_starttls_refused():
    with NetTest("down") as t:
        st = t.fake.listen("starttls")
        t.fake.start()
        conf = t.conf(port=st.port, auto_ports=["%d:starttls" % st.port])
        st.behave(starttls_reply="454 4.7.0 TLS not available")
        r = t.send(conf)
        check(r.open["reason"] == "starttls_refused" and
              r.open["class"] == "temporary" and r.open["code"] == 454,
              "454", r)
        st.behave(starttls_reply="502 5.5.1 no")
        r = t.send(conf)
        check(r.open["reason"] == "starttls_refused" and
              r.open["class"] == "relay_fault", "502", r)
        check(b"MAIL" not in plaintext_bytes(st), "no MAIL in plaintext")


def test_injection_after_starttls():
    with NetTest("down") as t:
        st = t.fake.listen("starttls")
        st.behave(inject=b"250-injected\r\n250 ok\r\n")
        t.fake.start()
        r = t.send(t.conf(port=st.port, auto_ports=["%d:starttls" %
                                                    st.port]))
        check(r.rc == 1 and r.open["reason"] == "protocol_error", "abort", r)
        check("injection" in r.open["msg"], "named", r)
        s = st.sessions[0]
        check(not s.tls, "no TLS session started after the injection")
        check([c for p, c in s.commands] == ["EHLO client.test",
                                             "STARTTLS"],
              "nothing after STARTTLS: %r" % s.commands)
        check(st.connections == 1, "not retried")


def test_no_credentials_before_tls():
    with NetTest("down") as t:
        st = t.fake.listen("starttls")
        st.behave(auth_plaintext=True)
        plain = t.fake.listen("plain")
        plain.behave(auth_plaintext=True)
        t.fake.start()
        pw = t.secret()
        auth = 'username = "user"\npassword_file = "%s"' % pw
        r = t.send(t.conf(port=st.port, extra=auth))
        check(r.rc == 0 and r.open["auth"] == "ok", "auth", r)
        check(b"AUTH" not in plaintext_bytes(st), "AUTH only inside TLS")
        check(st.sessions[-1].auth[0][2], "fake accepted")
        r = t.send(t.conf(port=plain.port, tls="none", ca=False,
                          extra=auth))
        check(r.open["reason"] == "config_error" and
              "auth_without_tls" in r.open["msg"], "needs the switch", r)
        check(plain.connections == 0, "refused before connecting")
        r = t.send(t.conf(port=plain.port, tls="none", ca=False,
                          extra=auth + "\nauth_without_tls = true"))
        check(r.rc == 0 and r.open["auth"] == "ok", "explicit plaintext "
              "AUTH", r)


run([test_stripped_starttls_on_cached_host,
     test_tls_none_on_host_seen_with_tls,
     test_starttls_not_offered_first_contact, test_starttls_refused,
     test_injection_after_starttls, test_no_credentials_before_tls])
