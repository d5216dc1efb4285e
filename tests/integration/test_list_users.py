"""Who sees what: relayctl list/show and mailq run by two ordinary users
(created for the test), by a member of the spool group and by root, with
relayd running and with relayd down.

- each user sees only their own messages (list, show, mailq); another
  user's queue id is answered like a missing one (exit 2);
- root and a member of the spool group see every message;
- relayd down: root reads the spool directly (same output), an ordinary
  user gets a clear error and exit 1, mailq says the mail system is down
  (exit 75);
- bytes outside printable ASCII in addresses are shown escaped.
"""

import subprocess

import relaytest as rt


def submit_as(env, user, rcpt, subject):
    r = env.sendmail(["-i", rcpt], b"Subject: %s\n\nhi\n" % subject.encode(),
                     user=user)
    assert r.returncode == 0, r.stderr
    return r


def test_users_see_their_own():
    rt.need_root()
    with rt.Env() as env:
        env.start()
        alice = rt.ensure_user("a")
        bob = rt.ensure_user("b")
        staff = rt.ensure_user("s")
        subprocess.run(["usermod", "-a", "-G", env.user, staff.pw_name],
                       check=True)
        for i in range(2):
            submit_as(env, alice, "x%d@example.net" % i, "alice %d" % i)
        submit_as(env, bob, "y@example.net", "bob")

        mine = env.relayctl_json(["list"], user=alice)
        assert len(mine) == 2, mine
        assert all(m["uid"] == alice.pw_uid for m in mine), mine
        theirs = env.relayctl_json(["list"], user=bob)
        assert len(theirs) == 1 and theirs[0]["uid"] == bob.pw_uid, theirs
        assert len(env.relayctl_json(["list"])) == 3
        assert len(env.relayctl_json(["list"], user=staff)) == 3

        bob_id = theirs[0]["id"]
        r = env.relayctl(["show", bob_id], user=alice)
        assert r.returncode == 2 and b"no such message" in r.stderr, r
        assert r.stdout == b""
        shown = env.relayctl_json(["show", bob_id], user=bob)
        assert shown[0]["id"] == bob_id

        mq = env.sendmail(["-bp"], user=alice)
        assert mq.returncode == 0, mq.stderr
        out = mq.stdout.decode()
        assert out.count("example.net") == 2 and bob_id not in out, out
        assert "-- 0 Kbytes in 2 Requests." in out, out
        mq = env.sendmail(["-bp"], user=staff)
        assert "in 3 Requests." in mq.stdout.decode(), mq.stdout

        # bytes outside printable ASCII are shown escaped
        stream = rt.subproto("jos\u00e9@example.org", ["z@example.net"],
                             rt.canon("x\n"), extra=["SMTPUTF8"])
        r = rt.submit_raw(env.socket, "", [], b"", stream=stream)
        assert r.startswith("250 "), r
        human = env.relayctl(["list"]).stdout
        assert b"jos\\xc3\\xa9@example.org" in human, human
        odd = r.split()[1]
        js = [m for m in env.relayctl_json(["list"]) if m["id"] == odd]
        # --json carries valid UTF-8 as it is, so any JSON reader sees
        # the real address
        assert js[0]["sender"] == "jos\u00e9@example.org", js

        # relayd down
        assert env.stop() == 0
        down = env.relayctl_json(["list"])
        assert sorted(m["id"] for m in down) == sorted(
            [m["id"] for m in mine + theirs] + [odd]), down
        r2 = env.relayctl(["show", bob_id])
        assert r2.returncode == 0 and bob_id.encode() in r2.stdout, r2
        r2 = env.relayctl(["list"], user=alice)
        assert r2.returncode == 1, r2
        assert b"relayd is not running" in r2.stderr, r2.stderr
        assert b"only root and group" in r2.stderr, r2.stderr
        mq = env.sendmail(["-bp"], user=alice)
        assert mq.returncode == 75, mq
        assert b"relayd is not running" in mq.stderr, mq.stderr


if __name__ == "__main__":
    rt.main([test_users_see_their_own])
