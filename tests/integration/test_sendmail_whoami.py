"""sendmail whose C library finds no password entry for its caller asks
relayd (whose lookup goes through NSS: sss, ldap, ...) for the login name
and GECOS full name; the musl build of sendmail reads /etc/passwd only.

The account is made invisible to sendmail alone: it runs in a private
mount namespace where /etc/passwd is a copy without the user's line, and
relayd, outside, still sees it.

- relayd running: exit 0, the envelope sender is the login name at the
  configured domain, the generated From carries the GECOS name;
- relayd asked for a uid it has no entry for either: exit 78 naming the
  uid and relayd's answer; -f still works;
- relayd down: exit 78 with the password-database message, and the
  reason relayd could not be asked.
"""

import os

import relaytest as rt

HIDE = r"""
set -e
fake=$1 uid=$2 gid=$3
shift 3
mount --bind "$fake" /etc/passwd
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
"""


def hidden(env, uid, gid, args):
    """sendmail args run as uid:gid where /etc/passwd lacks uid's line."""
    fake = os.path.join(env.dir, "passwd-%d" % uid)
    with open("/etc/passwd") as src, open(fake, "w") as dst:
        for line in src:
            fields = line.split(":")
            if len(fields) > 2 and fields[2] != str(uid):
                dst.write(line)
    os.chmod(fake, 0o644)
    argv = ["sh", "-c", HIDE, "sh", fake, str(uid), str(gid),
            rt.bin_path("sendmail")] + list(args)
    return rt.with_conf(env.conf_path, argv, env.scratch())


def test_whoami():
    rt.need_root()
    with rt.Env() as env:
        env.start()
        user = rt.ensure_user("w")
        rt.run(["usermod", "-c", "Wanda Whoami,Room 1", user.pw_name])
        msg = b"Subject: who\n\nhello\n"

        r = rt.run(hidden(env, user.pw_uid, user.pw_gid,
                          ["-i", "rcpt@example.net"]), msg)
        assert r.returncode == 0, r.stderr
        rows = env.query("SELECT qid, sender, uid FROM messages")
        assert len(rows) == 1, rows
        qid, sender, uid = rows[0]
        assert sender == user.pw_name + "@example.org", sender
        assert uid == user.pw_uid, uid
        head = env.body(qid)
        assert b"\r\nFrom: Wanda Whoami <%s@example.org>" % \
            user.pw_name.encode() in head, head

        # a uid nobody knows: relayd says so, and sendmail says both
        r = rt.run(hidden(env, 54321, 54321, ["-i", "rcpt@example.net"]),
                   msg)
        assert r.returncode == 78, (r.returncode, r.stderr)
        assert b"user id 54321 has no entry in the password database" \
            in r.stderr, r.stderr
        assert b"relayd: uid 54321 has no entry" in r.stderr, r.stderr
        r = rt.run(hidden(env, 54321, 54321,
                          ["-i", "-f", "robot@example.org",
                           "rcpt@example.net"]), msg)
        assert r.returncode == 0, r.stderr

        # relayd down: nobody to ask
        assert env.stop() == 0
        r = rt.run(hidden(env, user.pw_uid, user.pw_gid,
                          ["-i", "rcpt@example.net"]), msg)
        assert r.returncode == 78, (r.returncode, r.stderr)
        assert b"no entry in the password database" in r.stderr, r.stderr
        assert b"relayd is not running" in r.stderr, r.stderr


if __name__ == "__main__":
    rt.main([test_whoami])
