"""A full file system under the spool (root: a 4 MB tmpfs mounted as
spool_dir): a message that does not fit is refused with 451 and sendmail
exits 75 with a clear one-line reason; with the disk completely full small
messages are refused the same way (after any that still fit in space
SQLite already holds); mail queued before stays intact
and PRAGMA integrity_check is ok; once space is freed, submissions work
again."""

import os
import pwd
import subprocess

import relaytest as rt


def test_full_disk():
    rt.need_root()
    with rt.Env() as env:
        pw = pwd.getpwnam(env.user)
        os.mkdir(env.spool_dir)
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0750,uid=%d,gid=%d"
             % (pw.pw_uid, pw.pw_gid), "tmpfs", env.spool_dir],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            rt.skip("cannot mount a tmpfs: " + r.stdout.decode())
        try:
            env.start()
            first = env.sendmail(["-i", "a@example.org"],
                                 b"Subject: early\n\nearly mail\n")
            assert first.returncode == 0, first.stderr

            big = b"Subject: big\n\n" + (b"y" * 999 + b"\n") * 6000
            r = env.sendmail(["-i", "b@example.org"], big, timeout=120)
            assert r.returncode == 75, (r.returncode, r.stderr)
            err = r.stderr.decode()
            assert err.count("\n") == 1 and "No space left" in err, err

            # fill what is left, then even a small message is refused
            filler = os.path.join(env.spool_dir, "filler")
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            # a small message may still fit in space SQLite already holds
            # (its WAL is reused); keep sending until the disk says no
            ok = 0
            for i in range(500):
                r = env.sendmail(["-i", "c%d@example.org" % i],
                                 b"Subject: small\n\n" + b"z" * 20000 +
                                 b"\n")
                if r.returncode != 0:
                    break
                ok += 1
            assert r.returncode == 75, (r.returncode, r.stderr)
            assert r.stderr.decode().count("\n") == 1, r.stderr
            reply = env.submit("d@example.org", ["e@example.org"],
                               b"Subject: raw\n\n" + b"w" * 300000 + b"\n")
            assert reply.startswith("451 4.3.0 "), reply

            rows = env.query("SELECT qid FROM messages ORDER BY qid")
            assert len(rows) == 1 + ok, (rows, ok)
            assert env.body(rows[0][0]).endswith(b"\r\n\r\nearly mail\r\n")
            for (qid,) in rows[1:]:
                assert env.body(qid).endswith(b"z" * 20000 + b"\r\n")
            assert env.query("PRAGMA integrity_check") == [("ok",)]

            os.unlink(filler)
            r = env.sendmail(["-i", "f@example.org"],
                             b"Subject: later\n\nlater\n")
            assert r.returncode == 0, r.stderr
            assert len(env.relayctl_json(["list"])) == 2 + ok
            env.stop()
        finally:
            env.stop()
            subprocess.run(["umount", "-l", env.spool_dir], check=False)


if __name__ == "__main__":
    rt.main([test_full_disk])
