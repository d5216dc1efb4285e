"""relayd's identity and its files.

- Started as root it creates spool_dir (0750), maildrop (1730), corrupt/
  and the socket's directory, owned by user:group, then runs with the
  user's uid and gid only (real, effective, saved; no root group); the
  socket is mode 0666 and queue.db is not readable by others.
- Started as an ordinary user it runs as that user and creates the same
  directories with the same modes.
- A missing user is a configuration error (exit 78) naming the user.
"""

import os
import pwd
import stat
import subprocess
import time

import relaytest as rt


def proc_ids(pid):
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                ids[key] = [int(x) for x in val.split()]
    return ids


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_root_drops():
    rt.need_root()
    with rt.Env() as env:
        env.start()
        pw = pwd.getpwnam(env.user)
        ids = proc_ids(env.proc.pid)
        assert ids["Uid"] == [pw.pw_uid] * 4, ids
        assert ids["Gid"] == [pw.pw_gid] * 4, ids
        assert 0 not in ids["Groups"], ids
        for path, want in ((env.spool_dir, 0o750), (env.maildrop, 0o1730),
                           (os.path.join(env.spool_dir, "corrupt"), 0o750),
                           (os.path.dirname(env.socket), 0o755)):
            st = os.stat(path)
            assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid), path
            assert mode(path) == want, (path, oct(mode(path)))
        assert stat.S_ISSOCK(os.stat(env.socket).st_mode)
        assert mode(env.socket) == 0o666
        assert mode(env.db_path) & 0o007 == 0, oct(mode(env.db_path))
        assert os.stat(env.db_path).st_uid == pw.pw_uid


def test_ordinary_user():
    rt.need_root()
    with rt.Env() as env:
        alice = rt.ensure_user("a")
        os.chown(env.dir, alice.pw_uid, alice.pw_gid)
        p = subprocess.Popen(rt.as_user(alice, [rt.bin_path("relayd"), "-C",
                                                env.conf_path]),
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while True:
                assert p.poll() is None, p.stderr.read()
                try:
                    _, code, _ = env.ctl("ping")
                    if code == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline
                time.sleep(0.05)
            ids = proc_ids(p.pid)
            assert ids["Uid"] == [alice.pw_uid] * 4, ids
            assert os.stat(env.spool_dir).st_uid == alice.pw_uid
            assert mode(env.maildrop) == 0o1730
            r = env.submit("a@example.org", ["b@example.org"], "hi\n")
            assert r.startswith("250 "), r
            # alice owns the spool: she sees everything
            msgs = env.relayctl_json(["list"], user=alice)
            assert len(msgs) == 1 and msgs[0]["uid"] == 0, msgs
        finally:
            p.terminate()
            assert p.wait(20) == 0


def test_missing_user():
    rt.need_root()
    with rt.Env() as env:
        with open(env.conf_path) as f:
            text = f.read()
        line = [l for l in text.splitlines() if l.startswith("user =")]
        text = text.replace(line[0], 'user = "no-such-user-relaytest"')
        with open(env.conf_path, "w") as f:
            f.write(text)
        r = rt.run([rt.bin_path("relayd"), "-C", env.conf_path, "--once"])
        assert r.returncode == 78, r
        assert b"no-such-user-relaytest does not exist" in r.stderr


if __name__ == "__main__":
    rt.main([test_root_drops, test_ordinary_user, test_missing_user])
