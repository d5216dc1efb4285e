"""Every relayctl command as root, as a member of the spool group and as
ordinary users (created with useradd), with relayd running and stopped:
show --body, why, stats, flush, retry, hold, release, delete, bounce,
health and check.  --json output is parsed; refusals are checked with
their exit codes (2 bad or foreign id, 77 not permitted, 1 relayd down
for a change); health's exit code at each threshold.

No smarthost is configured (or a dead one), so nothing leaves the queue
unless a test says so.
"""

import json
import os
import pwd
import re
import subprocess
import time

import delivertest as dt
import relaytest as rt

IDS = "0HOS00000000AA"  # well-formed, never issued


def submit_as(env, user, rcpt, subject, body=b"hi\n"):
    r = env.sendmail(["-i", rcpt], b"Subject: %s\n\n%s" % (
        subject.encode(), body), user=user)
    assert r.returncode == 0, r.stderr
    return env.query("SELECT qid FROM messages ORDER BY qid DESC "
                     "LIMIT 1")[0][0]


def ctl(env, args, user=None, code=0, json_out=False):
    """relayctl args; asserts the exit code; returns stdout (str) or the
    parsed JSON Lines."""
    argv = list(args) + (["--json"] if json_out else [])
    r = env.relayctl(argv, user=user)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == code, (args, user and user.pw_name, r.returncode,
                                  out, r.stderr.decode(errors="replace"))
    if json_out:
        return [json.loads(l) for l in out.splitlines() if l]
    return out + r.stderr.decode(errors="replace")


def states(env):
    return {q: s for q, s in env.query("SELECT qid, state FROM messages")}


def test_users_and_changes():
    rt.need_root()
    with rt.Env() as env:
        env.start()
        alice = rt.ensure_user("a")
        bob = rt.ensure_user("b")
        staff = rt.ensure_user("s")
        subprocess.run(["usermod", "-a", "-G", env.user, staff.pw_name],
                       check=True)
        a1 = submit_as(env, alice, "x1@example.net", "alice one",
                       b"secret body line\n")
        a2 = submit_as(env, alice, "x2@example.net", "alice two")
        b1 = submit_as(env, bob, "y@example.net", "bob one")

        # show: headers for who may see the message, body for owner/root
        out = ctl(env, ["show", a1], user=alice)
        assert "Subject: alice one" in out and "Headers:" in out, out
        assert "secret body line" not in out
        out = ctl(env, ["show", a1, "--body"], user=alice)
        assert "Body:\nsecret body line\n" in out, out
        js = ctl(env, ["show", a1, "--body"], user=alice, json_out=True)
        assert js[0]["id"] == a1 and "Subject: alice one" in \
            js[0]["headers"], js
        assert "".join(o["data"] for o in js[1:]).endswith(
            "\r\n\r\nsecret body line\r\n"), js
        ctl(env, ["show", a1, "--body"], user=staff, code=77)
        assert "Subject: alice one" in ctl(env, ["show", a1], user=staff)
        ctl(env, ["show", a1, "--body"])
        ctl(env, ["show", b1], user=alice, code=2)
        ctl(env, ["show", b1, "--body"], user=alice, code=2)

        # why: no smarthost, so every message is stuck
        js = ctl(env, ["why", a1], user=alice, code=1, json_out=True)
        assert js[0]["stuck"] and js[0]["reason"] == "config_error", js
        assert "smarthost" in js[0]["advice"], js
        assert "No smarthost" in ctl(env, ["why", a1], user=alice, code=1)
        ctl(env, ["why", b1], user=alice, code=2)
        ctl(env, ["why", "nonsense"], user=alice, code=2)
        js = ctl(env, ["why"], user=bob, code=1, json_out=True)
        assert js[0]["active"] == 3 and js[0]["queued"] == 3, js

        # stats: the whole queue's figures for everyone
        for u in (None, alice, staff):
            js = ctl(env, ["stats"], user=u, json_out=True)
            assert js[0]["queued"] == 3 and js[0]["active"] == 3, js
            assert js[0]["last_day"]["received"] == 3, js
            assert js[0]["smarthosts"] == [] and js[0]["relayd"], js
        assert "queued 3" in ctl(env, ["stats"], user=bob)
        out = ctl(env, ["health"], user=bob)
        assert out.startswith("RELAY OK - 3 queued"), out

        # text from mail is shown escaped
        stream = rt.subproto("jos\u00e9@example.org", ["z@example.net"],
                             rt.canon("x\n"), extra=["SMTPUTF8"])
        odd = rt.submit_raw(env.socket, "", [], b"", stream=stream)
        assert odd.startswith("250 "), odd
        odd = odd.split()[1]
        out = ctl(env, ["why", odd], code=1)
        assert "<jos\\xc3\\xa9@example.org>" in out, out
        ctl(env, ["delete", odd])

        # hold / release: own messages; --all for root and group only
        js = ctl(env, ["hold", a1], user=alice, json_out=True)
        assert js == [{"id": a1, "changed": 1}], js
        assert states(env)[a1] == 2  # held
        ctl(env, ["hold", a1], user=alice, code=1)  # already held
        ctl(env, ["hold", b1], user=alice, code=2)
        ctl(env, ["hold", "--all"], user=alice, code=77)
        ctl(env, ["release", "--all"], user=bob, code=77)
        ctl(env, ["delete", "--all"], user=bob, code=77)
        js = ctl(env, ["hold", "--all"], user=staff, json_out=True)
        assert js == [{"id": None, "changed": 2}], js
        assert "released" in ctl(env, ["release", b1], user=bob)
        js = ctl(env, ["release", "--all"], json_out=True)
        assert js == [{"id": None, "changed": 2}], js
        ctl(env, ["release", a1], user=alice, code=1)  # not held
        assert set(states(env).values()) == {0}

        # retry, flush
        assert "due now" in ctl(env, ["retry", a2], user=alice)
        ctl(env, ["retry", b1], user=alice, code=2)
        ctl(env, ["retry", "--all"], code=2)
        js = ctl(env, ["flush", a1, a2], user=alice, json_out=True)
        assert [o["id"] for o in js] == [a1, a2], js
        ctl(env, ["flush", a1, b1], user=alice, code=2)
        ctl(env, ["flush", "bad"], code=2)
        assert "queue run started" in ctl(env, ["flush"], user=bob)

        # bounce: the message fails, its sender gets a report
        ctl(env, ["bounce", b1], user=alice, code=2)
        js = ctl(env, ["bounce", a2], user=alice, json_out=True)
        assert js == [{"id": a2, "changed": 1}], js
        assert states(env)[a2] == 5  # failed
        reports = env.query("SELECT qid FROM messages WHERE sender = ''")
        assert len(reports) == 1, reports
        rcpts = env.query("SELECT address FROM recipients WHERE qid = ?",
                          (reports[0][0],))
        assert rcpts == [("%s@example.org" % alice.pw_name,)], rcpts
        js = ctl(env, ["why", a2], user=alice, code=1, json_out=True)
        assert js[0]["reason"] == "returned_by_admin", js
        ctl(env, ["bounce", a2], user=alice, code=1)  # nothing left

        # delete
        ctl(env, ["delete", b1], user=alice, code=2)
        assert "deleted" in ctl(env, ["delete", b1], user=bob)
        assert b1 not in states(env)
        ctl(env, ["delete", "--all"])
        assert [s for s in states(env).values() if s < 4] == []

        # usage errors
        for args in (["hold"], ["hold", a1, a2], ["retry", "x" * 14],
                     ["bounce", "--all"], ["why", a1, a2],
                     ["stats", "extra"], ["frobnicate"], ["show"],
                     ["hold", "--bogus"]):
            ctl(env, args, code=2)


def test_relayd_down():
    rt.need_root()
    with rt.Env() as env:
        env.start()
        alice = rt.ensure_user("a")
        q = submit_as(env, alice, "x@example.net", "down")
        assert env.stop() == 0
        # reading works for root, straight from the spool
        assert ctl(env, ["list"], json_out=True)[0]["id"] == q
        assert ctl(env, ["show", q], json_out=True)[0]["id"] == q
        assert ctl(env, ["why", q], code=1, json_out=True)[0]["stuck"]
        js = ctl(env, ["stats"], json_out=True)
        assert js[0]["queued"] == 1 and js[0]["relayd"] is False, js
        out = ctl(env, ["health"], code=2)
        assert out.startswith("RELAY CRITICAL - relayd is not running"), out
        # changes need relayd
        for args in (["hold", q], ["release", q], ["delete", q],
                     ["retry", q], ["bounce", q], ["flush"]):
            out = ctl(env, args, code=1)
            assert "needs relayd" in out and "running" in out, out
        assert states(env)[q] == 0
        # an ordinary user can read nothing without relayd
        ctl(env, ["list"], user=alice, code=1)
        ctl(env, ["why", q], user=alice, code=1)
        out = ctl(env, ["health"], user=alice, code=3)
        assert out.startswith("RELAY UNKNOWN - "), out
        js = ctl(env, ["health"], user=alice, code=3, json_out=True)
        assert js[0]["status"] == "UNKNOWN" and js[0]["code"] == 3, js


def test_health_thresholds():
    with rt.Env() as env:
        env.start()
        out = ctl(env, ["health"])
        assert out.splitlines()[0] == ("RELAY OK - 0 queued, oldest 0s | "
                                       "queued=0;10;100 "
                                       "oldest=0s;3600;86400"), out
        for i in range(3):
            r = env.sendmail(["-i", "x%d@example.net" % i], b"S: x\n\nb\n")
            assert r.returncode == 0, r.stderr
        cases = [
            ([], 0, "OK"),
            (["--warn-count", "4"], 0, "OK"),
            (["--warn-count", "3"], 1, "WARNING"),
            (["--warn-count", "2", "--crit-count", "3"], 2, "CRITICAL"),
            (["--crit-count", "3"], 2, "CRITICAL"),
        ]
        for args, code, word in cases:
            out = ctl(env, ["health"] + args, code=code)
            assert out.startswith("RELAY %s - 3 queued" % word), (args, out)
            js = ctl(env, ["health"] + args, code=code, json_out=True)
            assert js[0]["status"] == word and js[0]["code"] == code, js
            assert js[0]["queued"] == 3, js
        out = ctl(env, ["health", "--warn-count", "5", "--crit-count", "9"],
                  code=0)
        assert "queued=3;5;9 " in out, out
        time.sleep(2.2)  # the oldest message is now older than 1s
        out = ctl(env, ["health", "--warn-age", "1s"], code=1)
        assert re.match(r"RELAY WARNING - 3 queued, oldest \d+s \| "
                        r"queued=3;10;100 oldest=\d+s;1;86400$", out), out
        ctl(env, ["health", "--warn-age", "1s", "--crit-age", "1s"], code=2)
        ctl(env, ["health", "--crit-age", "1h"], code=0)
        for bad in (["--warn-age", "soon"], ["--warn-count"], ["--bogus"]):
            out = ctl(env, ["health"] + bad, code=3)
            assert out.startswith("RELAY UNKNOWN"), out


def test_check():
    rt.need_root()
    port = dt.free_port()
    with rt.Env() as env:
        secret = os.path.join(env.dir, "secret")
        with open(secret, "w") as f:
            f.write("pw\n")
        pw = pwd.getpwnam(env.user)
        os.chown(secret, pw.pw_uid, pw.pw_gid)
        os.chmod(secret, 0o600)
        env.smarthosts = ('smarthost "main" {\n host = "127.0.0.1"\n'
                          ' port = %d\n username = "u"\n'
                          ' password_file = "%s"\n}\n' % (port, secret))
        env.write_conf()
        env.start()
        out = ctl(env, ["check"])
        assert out.rstrip().endswith("all well"), out
        js = ctl(env, ["check"], json_out=True)
        assert js[0]["ok"] is True and js[0]["problems"] == [], js
        staff = rt.ensure_user("s")
        subprocess.run(["usermod", "-a", "-G", env.user, staff.pw_name],
                       check=True)
        ctl(env, ["check"], user=staff)
        ctl(env, ["check"], user=rt.ensure_user("a"), code=77)

        os.chmod(secret, 0o644)
        js = ctl(env, ["check"], code=1, json_out=True)
        assert js[0]["ok"] is False and len(js[0]["problems"]) == 1, js
        assert "chmod 600 %s" % secret in js[0]["problems"][0], js
        os.chmod(secret, 0o600)
        os.chown(secret, 0, 0)
        out = ctl(env, ["check"], code=1)
        assert "PROBLEM" in out and "chown %s" % env.user in out, out
        os.chown(secret, pw.pw_uid, pw.pw_gid)

        os.chmod(env.maildrop, 0o755)
        out = ctl(env, ["check"], code=1)
        assert "expected 1730" in out, out
        os.chmod(env.maildrop, 0o1730)

        env.write_conf(listen="0.0.0.0:2525")
        out = ctl(env, ["check"], code=1)
        assert "not a loopback address" in out, out
        env.write_conf(listen=None)
        env.smarthosts = ""
        env.write_conf()
        out = ctl(env, ["check"], code=1)
        assert "no smarthost is configured" in out, out
        with open(env.conf_path, "a") as f:
            f.write("no_such_key = 1\n")
        out = ctl(env, ["check"], code=1)
        assert "no_such_key" in out, out


if __name__ == "__main__":
    rt.main([test_users_and_changes, test_relayd_down,
             test_health_thresholds, test_check])
