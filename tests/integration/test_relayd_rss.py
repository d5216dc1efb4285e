"""Memory stays flat in the message size: a 50 MB message through sendmail
into relayd; the peak resident set (VmHWM of relayd, wait4's ru_maxrss of
sendmail) of each is measured, printed, and must stay under 16 MB (a
sanitizer build only prints the figures and reports the test skipped).  The
stored message is checked byte for byte."""

import hashlib
import os

import relaytest as rt

LIMIT_KB = 16 * 1024
SIZE = 50 * 1024 * 1024


def test_50mb():
    with rt.Env(max_message_size="60M") as env:
        env.start()
        before = rt.peak_rss_kb(env.proc.pid)
        line = b"x" * 998 + b"\n"
        path = os.path.join(env.dir, "big")
        with open(path, "wb") as f:
            f.write(b"Subject: fifty megabytes\n\n")
            for _ in range(SIZE // len(line)):
                f.write(line)
        with open(path, "rb") as f:
            r = rt.run_rss(env.sendmail_argv(["-i", "big@example.org"]), f,
                           timeout=300)
        assert r.returncode == 0, r.stderr
        relayd_kb = rt.peak_rss_kb(env.proc.pid)
        print("relayd peak RSS: %d KiB (%d KiB before the message)" %
              (relayd_kb, before))
        print("sendmail peak RSS: %d KiB" % r.maxrss_kb)

        rows = env.query("SELECT qid, size FROM messages")
        assert len(rows) == 1, rows
        qid, size = rows[0]
        crlf = line.replace(b"\n", b"\r\n")
        want = hashlib.sha256()
        for _ in range(SIZE // len(line)):
            want.update(crlf)
        got = hashlib.sha256()
        head = b""
        con = env.db()
        for (data,) in con.execute("SELECT data FROM chunks WHERE qid = ? "
                                   "ORDER BY seq", (qid,)):
            if head is not None:
                head += data
                if b"\r\n\r\n" in head:
                    data = head.split(b"\r\n\r\n", 1)[1]
                    head = None
                else:
                    continue
            got.update(data)
        con.close()
        assert got.hexdigest() == want.hexdigest(), "body differs"
        assert size > SIZE

        if rt.sanitized():
            rt.skip("sanitizer build: peak RSS includes shadow memory")
        assert relayd_kb < LIMIT_KB, relayd_kb
        assert r.maxrss_kb < LIMIT_KB, r.maxrss_kb

        # the same through the raw socket: relayd alone
        reply = rt.submit_raw(env.socket, "a@example.org", ["b@example.org"],
                              b"", stream=rt.subproto(
                                  "a@example.org", ["b@example.org"],
                                  rt.canon(b"Subject: raw\n\n" +
                                           line * (SIZE // len(line)))),
                              timeout=300)
        assert reply.startswith("250 "), reply
        relayd_kb = rt.peak_rss_kb(env.proc.pid)
        print("relayd peak RSS after a second 50 MB message: %d KiB" %
              relayd_kb)
        assert relayd_kb < LIMIT_KB, relayd_kb


if __name__ == "__main__":
    rt.main([test_50mb])
