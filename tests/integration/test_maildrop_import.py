"""The offline maildrop: what sendmail writes while relayd is down, and how
relayd imports it.

- relayd --once creates the directories (maildrop 1730, group relay) and
  imports: a good file becomes a message owned by the file's owner and the
  file is removed; malformed ones (garbage, truncated, data after the end
  marker, a symlink, a hard link) are moved to corrupt/ and never crash
  relayd; a young tmp.* file is left alone, an old one is removed.
- A running relayd imports a new file when asked to flush (sendmail -q).
"""

import grp
import os
import pwd
import stat
import time

import relaytest as rt


def drop(env, name, data, owner, mode=0o640):
    """Write a maildrop file as a setgid sendmail would: owner's uid, the
    spool group, mode 0640."""
    path = os.path.join(env.maildrop, name)
    with open(path, "wb") as f:
        f.write(data)
    gid = grp.getgrnam(pwd.getpwnam(env.user).pw_name).gr_gid
    os.chown(path, owner.pw_uid, gid)
    os.chmod(path, mode)
    return path


def msg_stream(sender, rcpt, text):
    return rt.subproto(sender, [rcpt], rt.canon(text))


def test_once_import():
    rt.need_root()
    with rt.Env() as env:
        r = env.once()
        assert r.returncode == 0, r.stderr
        st = os.stat(env.maildrop)
        assert stat.S_IMODE(st.st_mode) == 0o1730, oct(st.st_mode)
        assert st.st_uid == pwd.getpwnam(env.user).pw_uid
        assert stat.S_IMODE(os.stat(env.spool_dir).st_mode) == 0o750

        alice = rt.ensure_user("a")
        good = msg_stream("alice@example.org", "bob@example.org",
                          "Subject: offline\n\nqueued while down\n")
        drop(env, "msg.good", good, alice)
        drop(env, "msg.garbage", b"this is not a submission\n", alice)
        drop(env, "msg.truncated", good[:-2], alice)
        drop(env, "msg.trailing", good + b"extra", alice)
        drop(env, "tmp.young", good[:50], alice)
        old = drop(env, "tmp.old", good[:50], alice)
        then = time.time() - 7200
        os.utime(old, (then, then))
        target = drop(env, "victim", good, alice)
        os.symlink(target, os.path.join(env.maildrop, "msg.symlink"))
        os.link(target, os.path.join(env.maildrop, "msg.hardlink"))

        r = env.once()
        assert r.returncode == 0, r.stderr
        log = r.stderr.decode()

        left = sorted(os.listdir(env.maildrop))
        assert left == ["tmp.young", "victim"], left
        corrupt = sorted(os.listdir(os.path.join(env.spool_dir, "corrupt")))
        assert corrupt == ["msg.garbage", "msg.hardlink", "msg.symlink",
                           "msg.trailing", "msg.truncated"], corrupt
        assert "moved to corrupt/" in log and "removed tmp.old" in log, log
        with open(target, "rb") as f:
            assert f.read() == good  # a symlink's target is never touched

        rows = env.query("SELECT qid, uid, sender FROM messages")
        assert len(rows) == 1, rows
        qid, uid, sender = rows[0]
        assert uid == alice.pw_uid and sender == "alice@example.org"
        body = env.body(qid)
        assert body.endswith(b"\r\nqueued while down\r\n"), body
        assert b"from userid %d)" % alice.pw_uid in body.split(b"\r\n")[0]

        # alice sees it as hers, relayd being down: root reads the spool
        msgs = env.relayctl_json(["list"])
        assert [m["uid"] for m in msgs] == [alice.pw_uid], msgs


def test_running_relayd_flush():
    rt.need_root()
    with rt.Env() as env:
        env.start()
        alice = rt.ensure_user("a")
        # a file appearing while relayd runs is imported on flush
        drop(env, "msg.late", msg_stream("alice@example.org",
                                         "carol@example.org", "late\n"),
             alice)
        r = env.sendmail(["-q"])
        assert r.returncode == 0, r.stderr
        deadline = time.monotonic() + 30
        while os.listdir(env.maildrop):
            assert time.monotonic() < deadline, env.log()
            time.sleep(0.05)
        msgs = env.relayctl_json(["list"], user=alice)
        assert len(msgs) == 1 and msgs[0]["uid"] == alice.pw_uid, msgs
        assert "imported from maildrop msg.late" in env.log()


if __name__ == "__main__":
    rt.main([test_once_import, test_running_relayd_flush])
