"""test_probe_cli.py - relayctl probe and relayctl tls against the fake
smarthost: every step shown with its time, the JSON fields of
INTERFACES.md, the cache written by a verified, successful probe (and
used by the next one), HOST:PORT with and without a matching smarthost
block, --no-auth, failures with their reason and exit code 1, every
configured smarthost by default, probing without the cache when the spool
is not accessible, tls listing and forgetting, and usage errors.
"""

import json
import os
import pwd
import subprocess

from nettest import NetTest, check, free_port, run

USER = "relayprobe"


def setup(t, extra=""):
    l = t.fake.listen("implicit")
    t.fake.start()
    pw = t.secret()
    conf = t.conf(port=l.port, extra='username = "user"\n'
                  'password_file = "%s"\n%s' % (pw, extra))
    return l, conf


def make_spool(t, conf):
    """relayd creates the spool; here smtp_send does (then forget)."""
    r = t.send(conf, args=["--no-auth"])
    check(r.rc == 0, "spool created", r)
    rc, out, err = t.relayctl(conf, "tls", "forget", "localhost")
    check(rc == 0, "forget: %s %s" % (out, err))


def probe_json(t, conf, *args):
    rc, out, err = t.relayctl(conf, "probe", "--json", *args)
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    return rc, lines, out, err


def test_human_steps_and_cache():
    with NetTest("probe") as t:
        l, conf = setup(t)
        rc, out, err = t.relayctl(conf, "probe")
        check(rc == 0, "probe without a spool: %s %s" % (out, err))
        check("probing without it" in out, "says so: %s" % out)
        for step in ("plan", "resolve", "connect", "certificate", "tls",
                     "greeting", "ehlo", "mode", "auth"):
            check(" %s " % step in out, "step %s shown: %s" % (step, out))
        check("ms  " in out, "timings shown")
        check("subject=CN=localhost" in out and
              "issuer=CN=relay test CA" in out and "expires=" in out and
              "verify=ok" in out, "certificate details: %s" % out)
        check("TLSv1." in out and "auth mechanisms: PLAIN" in out,
              "TLS and AUTH mechanisms: %s" % out)
        check("result: ok, mode implicit (detected)" in out and
              "auth=ok (PLAIN)" in out, "result line: %s" % out)
        check(t.tls_cache() == [], "nothing cached without a spool")
        make_spool(t, conf)
        rc, out, err = t.relayctl(conf, "probe")
        check(rc == 0 and "cache:" not in out, "with the cache: %s" % out)
        check(t.tls_cache() == [("localhost", l.port, "implicit", 1)],
              "the probe wrote the cache: %r" % t.tls_cache())
        rc, out, err = t.relayctl(conf, "probe")
        check("mode implicit (from cache)" in out, "cached next time")


def test_json():
    with NetTest("probe") as t:
        l, conf = setup(t)
        make_spool(t, conf)
        rc, lines, out, err = probe_json(t, conf)
        check(rc == 0 and len(lines) == 1, "one object: %s %s" % (out, err))
        j = lines[0]
        for k in ("host", "port", "mode", "cached", "ok", "reason"):
            check(k in j, "field %s: %r" % (k, j))
        check(j["host"] == "localhost" and j["port"] == l.port and
              j["mode"] == "implicit" and j["ok"] is True and
              j["cached"] is False and j["reason"] is None, "values %r" % j)
        check(j["tls_version"].startswith("TLSv1.") and
              j["cert_subject"] == "CN=localhost" and
              j["cert_verify"] == "ok" and j["auth"] == "ok" and
              j["auth_mech"] == "PLAIN" and "PIPELINING" in
              j["capabilities"] and "LOGIN" in j["auth_mechanisms"],
              "details %r" % j)
        check([s["step"] for s in j["steps"]][:3] ==
              ["plan", "resolve", "connect"], "steps %r" % j["steps"])
        check(j["cache_written"] is True, "written")
        rc, lines, out, err = probe_json(t, conf, "--no-auth")
        j = lines[0]
        check(j["cached"] is True and j["connections"] == 1 and
              j["auth"] == "skipped", "cached, no auth %r" % j)
        check(not l.sessions[-1].auth, "no AUTH sent with --no-auth")


def test_failures():
    with NetTest("probe") as t:
        l = t.fake.listen("implicit")
        t.fake.start()
        bad = t.secret("wrong")
        conf = t.conf(port=l.port, extra='username = "user"\n'
                      'password_file = "%s"' % bad)
        make_spool(t, conf)
        rc, lines, out, err = probe_json(t, conf)
        j = lines[0]
        check(rc == 1 and j["ok"] is False and
              j["reason"] == "auth_failed" and j["auth"] == "failed",
              "auth failed %r" % j)
        check(j["reason_text"] and "password" in j["reason_text"],
              "sentence with the fix")
        check(t.tls_cache() == [], "a failed probe writes no cache")
        rc, out, err = t.relayctl(conf, "probe")
        check(rc == 1 and "result: FAILED (auth_failed, relay_fault)" in
              out and "relay: smarthost localhost:" in out, out)


def test_targets():
    with NetTest("probe") as t:
        l, conf = setup(t)
        # The block's settings (ca_file) apply to its host and port.
        rc, lines, out, err = probe_json(t, conf, "localhost:%d" % l.port)
        check(rc == 0 and lines[0]["ok"], "matching block %s" % out)
        rc, lines, out, err = probe_json(t, conf, "localhost")
        check(rc == 0 and lines[0]["port"] == l.port, "host only %s" % out)
        # No block for 127.0.0.1: defaults (system CAs) reject the test CA
        # and no other mode is tried.
        n = l.connections
        rc, lines, out, err = probe_json(t, conf, "127.0.0.1:%d" % l.port)
        j = lines[0]
        check(rc == 1 and j["reason"] == "certificate_rejected" and
              j["cert_verify"] != "ok" and j["auth"] is None,
              "defaults %r" % j)
        check(l.connections == n + 1, "one connection only")
        rc, lines, out, err = probe_json(t, conf, "[::1]:%d" % free_port())
        check(rc == 1 and lines[0]["reason"] == "connect_refused" and
              lines[0]["host"] == "::1", "IPv6 target %r" % lines)
        for bad in (["a", "b"], ["--bogus"], ["host:99999"], ["[::1"]):
            rc, out, err = t.relayctl(conf, "probe", *bad)
            check(rc == 2, "usage error for %r: %d %s" % (bad, rc, err))


def test_every_smarthost():
    with NetTest("probe") as t:
        l = t.fake.listen("implicit")
        t.fake.start()
        conf = t.conf(port=l.port)
        with open(conf, "a") as f:
            f.write('smarthost "dead" {\n host = "127.0.0.1"\n port = %d\n'
                    ' ca_file = "%s"\n}\n' % (free_port(), t.certs.ca))
        rc, lines, out, err = probe_json(t, conf)
        check(rc == 1 and len(lines) == 2, "two probes %s" % out)
        check(lines[0]["ok"] and lines[0]["name"] == "main", "first ok")
        check(lines[1]["reason"] == "connect_refused" and
              lines[1]["name"] == "dead", "second refused")


def ensure_user():
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-r", "-s", "/bin/sh", USER],
                       check=True, timeout=60)


def test_tls_command_and_privileges():
    with NetTest("probe") as t:
        l, conf = setup(t)
        make_spool(t, conf)
        rc, out, err = t.relayctl(conf, "tls")
        check(rc == 0 and "no TLS modes cached yet" in out, out)
        t.relayctl(conf, "probe")
        rc, out, err = t.relayctl(conf, "tls", "--json")
        rows = [json.loads(x) for x in out.splitlines()]
        check(rc == 0 and rows == [{"host": "localhost", "port": l.port,
                                    "mode": "implicit", "tls_seen": True,
                                    "verified_at": rows[0]["verified_at"]}],
              "tls --json %r" % rows)
        rc, out, err = t.relayctl(conf, "tls")
        check(rc == 0 and "localhost" in out and "implicit" in out, out)
        if os.geteuid() == 0:
            ensure_user()
            os.chmod(t.spool, 0o700)
            rc, out, err = t.relayctl(conf, "probe", "--no-auth", user=USER)
            check(rc == 0 and "probing without it" in out,
                  "unprivileged probe: %d %s %s" % (rc, out, err))
            rc, out, err = t.relayctl(conf, "tls", user=USER)
            check(rc == 77, "unprivileged tls: %d %s" % (rc, err))
            rc, out, err = t.relayctl(conf, "tls", "forget", "localhost",
                                      user=USER)
            check(rc == 77, "unprivileged forget: %d %s" % (rc, err))
            check(len(t.tls_cache()) == 1, "still cached")
        rc, out, err = t.relayctl(conf, "tls", "forget",
                                  "localhost:%d" % l.port)
        check(rc == 0 and t.tls_cache() == [], "forgotten %s" % err)
        rc, out, err = t.relayctl(conf, "tls", "forget")
        check(rc == 2, "usage")
        rc, out, err = t.relayctl(conf, "tls", "--bogus")
        check(rc == 2, "usage")


run([test_human_steps_and_cache, test_json, test_failures, test_targets,
     test_every_smarthost, test_tls_command_and_privileges])
