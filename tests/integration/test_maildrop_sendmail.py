"""sendmail while relayd is down: a setgid sendmail (installed the way the
package does it) run by an ordinary user writes the offline maildrop and
exits 0; relayd, once started, imports the file with that user's uid and
removes it."""

import os
import pwd

import relaytest as rt


def setgid_sendmail(env):
    """A copy of sendmail installed the way the package does it."""
    path = os.path.join(env.dir, "sendmail")
    with open(rt.bin_path("sendmail"), "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    gid = pwd.getpwnam(env.user).pw_gid
    os.chown(path, 0, gid)
    os.chmod(path, 0o2755)
    return path


def test_sendmail_down_then_start():
    rt.need_root()
    with rt.Env() as env:
        assert env.once().returncode == 0
        alice = rt.ensure_user("a")
        sm = setgid_sendmail(env)
        argv = rt.with_conf(env.conf_path,
                            rt.as_user(alice, [sm, "-i", "bob@example.org"]),
                            env.scratch())
        r = rt.run(argv, b"Subject: while down\n\nhello\n")
        assert r.returncode == 0, r.stderr
        names = os.listdir(env.maildrop)
        assert len(names) == 1 and names[0].startswith("msg."), names
        st = os.stat(os.path.join(env.maildrop, names[0]))
        assert st.st_uid == alice.pw_uid

        env.start()  # imports at start
        msgs = env.relayctl_json(["list"], user=alice)
        assert len(msgs) == 1 and msgs[0]["uid"] == alice.pw_uid, msgs
        assert os.listdir(env.maildrop) == []


def test_root_sendmail_down_then_start():
    """root's sendmail (not setgid, so running with group root) hands its
    maildrop file to the spool's group, or relayd's user could not read
    it to import it."""
    rt.need_root()
    with rt.Env() as env:
        assert env.once().returncode == 0  # relayd makes the spool dirs
        r = env.sendmail(["-i", "bob@example.org"],
                         b"Subject: root while down\n\nhello\n")
        assert r.returncode == 0, r.stderr
        names = os.listdir(env.maildrop)
        assert len(names) == 1 and names[0].startswith("msg."), names
        st = os.stat(os.path.join(env.maildrop, names[0]))
        assert st.st_uid == 0
        assert st.st_gid == os.stat(env.maildrop).st_gid, (st, env.maildrop)
        assert st.st_gid != 0

        env.start()  # imports at start, as the unprivileged relayd user
        rows = env.query("SELECT uid FROM messages")
        assert rows == [(0,)], rows
        assert os.listdir(env.maildrop) == []


if __name__ == "__main__":
    rt.main([test_sendmail_down_then_start, test_root_sendmail_down_then_start])
