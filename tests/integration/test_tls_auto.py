"""test_tls_auto.py - tls = auto finds implicit TLS and STARTTLS, given the
port and given none, counts the connections each first contact used, uses
the cache the second time, re-detects a server that switched modes once,
and never re-detects on network errors.  Forced modes behave as forced.

The fake's listeners run on high loopback ports, so the port conventions
(465 implicit, 587 STARTTLS) are given to relay with tls_auto_ports; a port
with no convention is detected (ClientHello at once).
"""

import os

from nettest import NetTest, check, free_port, run


def setup(t):
    imp = t.fake.listen("implicit")
    st = t.fake.listen("starttls")
    t.fake.start()
    ports = ["%d:implicit" % imp.port, "%d:starttls" % st.port]
    return imp, st, ports


def events(r, name):
    return [l for l in r.stderr.splitlines()
            if l.split()[2:3] == [name]]


def test_implicit_given_port():
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        r = t.send(t.conf(port=imp.port, auto_ports=ports))
        check(r.rc == 0 and r.open["reason"] == "ok", "send failed", r)
        check(r.open["mode"] == "implicit", "mode", r)
        check(imp.connections == 1, "implicit first contact used %d "
              "connections" % imp.connections)
        check(r.open["connections"] == 1, "client counted", r)
        check(r.open["tls"].startswith("TLSv1.") and
              r.open["tls"].endswith(" implicit"), "tls text", r)
        check(not events(r, "silence"), "no greeting wait expected", r)
        check(t.tls_cache() == [("localhost", imp.port, "implicit", 1)],
              "cache %r" % t.tls_cache())
        check(len(t.fake.messages) == 1 and t.fake.messages[0]["tls"],
              "message not delivered inside TLS")


def test_starttls_given_port():
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        r = t.send(t.conf(port=st.port, auto_ports=ports))
        check(r.rc == 0 and r.open["mode"] == "starttls", "mode", r)
        check(st.connections == 1, "STARTTLS first contact used %d "
              "connections" % st.connections)
        check(r.open["tls"].endswith(" starttls"), "tls text", r)
        check(t.tls_cache() == [("localhost", st.port, "starttls", 1)],
              "cache %r" % t.tls_cache())
        s = st.sessions[0]
        plain_cmds = [c for p, c in s.commands if p == "plain"]
        check(plain_cmds == ["EHLO client.test", "STARTTLS"],
              "only EHLO and STARTTLS before TLS: %r" % plain_cmds)
        tls_cmds = [c for p, c in s.commands if p == "tls"]
        check(tls_cmds[0] == "EHLO client.test", "EHLO again after TLS")


def test_no_port_finds_implicit_first():
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        r = t.send(t.conf(port=0, auto_ports=ports))
        check(r.rc == 0 and r.open["mode"] == "implicit", "mode", r)
        check(r.open["port"] == imp.port, "port", r)
        check(imp.connections == 1 and st.connections == 0,
              "connections %d/%d" % (imp.connections, st.connections))


def test_no_port_falls_to_starttls_port():
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        dead = free_port()
        r = t.send(t.conf(port=0, auto_ports=["%d:implicit" % dead,
                                              "%d:starttls" % st.port]))
        check(r.rc == 0 and r.open["mode"] == "starttls", "mode", r)
        check(r.open["port"] == st.port, "port", r)
        check(st.connections == 1, "STARTTLS port: %d connections" %
              st.connections)
        check(t.tls_cache() == [("localhost", st.port, "starttls", 1)],
              "cache %r" % t.tls_cache())
        # Second send: straight to the cached port, nothing else tried.
        r = t.send(t.conf(port=0, auto_ports=["%d:implicit" % dead,
                                              "%d:starttls" % st.port]))
        check(r.rc == 0 and r.open["cached"], "cached", r)
        check(st.connections == 2 and r.open["connections"] == 1,
              "one connection when cached", r)
        check(not events(r, "retry"), "no detection when cached", r)


def test_plaintext_on_implicit_port_then_starttls():
    # A STARTTLS server on the port where implicit TLS is expected: the
    # ClientHello meets its 220 at once, then STARTTLS on a new connection.
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        r = t.send(t.conf(port=0, auto_ports=["%d:implicit" % st.port]))
        check(r.rc == 0 and r.open["mode"] == "starttls", "mode", r)
        check(st.connections == 2, "two connections: %d" % st.connections)
        check(len(events(r, "retry")) == 1, "one retry", r)
        check(st.sessions[0].tls_error is None and
              not st.sessions[0].tls, "first connection had no TLS")


def test_unknown_port_is_detected():
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        # No conventions for these ports at all.
        r = t.send(t.conf(port=imp.port))
        check(r.rc == 0 and r.open["mode"] == "implicit", "implicit", r)
        check(imp.connections == 1, "implicit: one connection")
        r = t.send(t.conf(port=st.port))
        check(r.rc == 0 and r.open["mode"] == "starttls", "starttls", r)
        check(st.connections == 2, "STARTTLS on an unknown port: one "
              "extra connection, got %d" % st.connections)
        r = t.send(t.conf(port=st.port))
        check(r.open["cached"] and st.connections == 3,
              "cached: one connection", r)


def test_implicit_on_starttls_port_same_connection():
    # An implicit TLS server where STARTTLS is expected stays silent; after
    # greeting_wait relay starts TLS on the same connection.
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        r = t.send(t.conf(port=imp.port, auto_ports=["%d:starttls" %
                                                     imp.port]))
        check(r.rc == 0 and r.open["mode"] == "implicit", "mode", r)
        check(imp.connections == 1, "same connection: %d" %
              imp.connections)
        check(len(events(r, "silence")) == 1, "silence seen", r)
        check(t.tls_cache() == [("localhost", imp.port, "implicit", 1)],
              "cache %r" % t.tls_cache())
        # Cached implicit: no greeting wait any more.
        r = t.send(t.conf(port=imp.port, auto_ports=["%d:starttls" %
                                                     imp.port]))
        check(r.open["cached"] and not events(r, "silence"),
              "no silence when cached", r)
        check(imp.connections == 2, "one connection when cached")


def test_second_send_uses_cache():
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        for l in (imp, st):
            conf = t.conf(port=l.port, auto_ports=ports)
            r1 = t.send(conf)
            r2 = t.send(conf)
            check(r1.rc == 0 and r2.rc == 0, "sends", r2)
            check(not r1.open["cached"] and r2.open["cached"],
                  "second from cache", r2)
            check(r2.open["connections"] == 1 and l.connections == 2,
                  "one connection on the second send", r2)
            check(not events(r2, "retry") and not events(r2, "silence"),
                  "no detection on the second send", r2)


def test_switched_server_redetected_once():
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        port = imp.port
        conf = t.conf(port=port)
        r = t.send(conf)
        check(r.open["mode"] == "implicit", "implicit first", r)
        imp.kind = "starttls"        # the server switched to STARTTLS
        r = t.send(conf)
        check(r.rc == 0 and r.open["mode"] == "starttls", "re-detected", r)
        check(r.open["redetected"] and not r.open["cached"], "flags", r)
        check(r.open["connections"] == 2, "one re-detection", r)
        check(len(events(r, "retry")) == 1, "one retry", r)
        check(t.tls_cache() == [("localhost", port, "starttls", 1)],
              "cache updated %r" % t.tls_cache())
        r = t.send(conf)
        check(r.open["cached"] and r.open["connections"] == 1,
              "then cached", r)
        imp.kind = "implicit"        # and back to implicit TLS
        r = t.send(conf)
        check(r.rc == 0 and r.open["mode"] == "implicit", "back", r)
        check(r.open["redetected"] and r.open["connections"] == 1,
              "silence: TLS on the same connection", r)
        check(t.tls_cache() == [("localhost", port, "implicit", 1)],
              "cache updated %r" % t.tls_cache())


def test_network_error_never_redetects():
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        port = imp.port
        conf = t.conf(port=0, auto_ports=["%d:implicit" % port,
                                          "%d:starttls" % st.port])
        r = t.send(conf)
        check(r.open["mode"] == "implicit" and r.open["port"] == port,
              "cached implicit", r)
        imp.close()                  # the cached port goes dead
        r = t.send(conf)
        check(r.rc == 1 and r.open["reason"] == "connect_refused",
              "refused", r)
        check(r.open["class"] == "temporary", "temporary", r)
        check(st.connections == 0, "no other port or mode tried")
        check(t.tls_cache() == [("localhost", port, "implicit", 1)],
              "cache unchanged %r" % t.tls_cache())


def test_forced_modes():
    with NetTest("auto") as t:
        imp, st, ports = setup(t)
        plain = t.fake.listen("plain")
        plain.thread = None
        t.fake.start()
        r = t.send(t.conf(port=st.port, tls="implicit"))
        check(r.rc == 1 and r.open["reason"] == "plaintext_on_tls_port",
              "forced implicit on a STARTTLS port", r)
        check("answered in plaintext" in r.open["msg"] and
              "it expects STARTTLS" in r.open["msg"], "message", r)
        check(r.open["class"] == "relay_fault", "relay fault", r)
        check(st.connections == 1, "no second try when forced")
        r = t.send(t.conf(port=imp.port, tls="starttls",
                          timeouts={"greeting_timeout": "2s"}))
        check(r.open["reason"] == "greeting_timeout",
              "forced STARTTLS on an implicit port", r)
        check(imp.connections == 1, "one connection")
        r = t.send(t.conf(port=st.port, tls="starttls"))
        check(r.rc == 0 and r.open["mode"] == "starttls", "starttls", r)
        r = t.send(t.conf(port=imp.port, tls="implicit"))
        check(r.rc == 0 and r.open["mode"] == "implicit", "implicit", r)
        r = t.send(t.conf(port=plain.port, tls="none", ca=False))
        check(r.rc == 0 and r.open["mode"] == "none", "none", r)
        check(r.open["tls"] == "none", "tls none", r)
        check(not t.fake.messages[-1]["tls"], "sent in plaintext")
        check(("localhost", plain.port, "none", 1) not in t.tls_cache(),
              "tls = none is never cached")


run([test_implicit_given_port, test_starttls_given_port,
     test_no_port_finds_implicit_first, test_no_port_falls_to_starttls_port,
     test_plaintext_on_implicit_port_then_starttls,
     test_unknown_port_is_detected,
     test_implicit_on_starttls_port_same_connection,
     test_second_send_uses_cache, test_switched_server_redetected_once,
     test_network_error_never_redetects, test_forced_modes])
