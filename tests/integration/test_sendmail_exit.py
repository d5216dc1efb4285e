"""sendmail's exit codes for every error class, through the real binary with
relayd stopped: usage 64 (unknown option, no recipients, -bd, -bs with
recipients, dash recipient, bad address, -t without header recipients), data error 65,
too large 69, hop limit 69, -C as non-root 77 (the file is not read), bad
configuration 78, maildrop missing or not writable 75, disk full 75
(ulimit -f), and the modes that queue nothing: -bv, -bi / newaliases
(valid and broken aliases), -bh, -qINTERVAL, -d0.1.  Every failure prints
exactly one line on stderr and leaves no file in the maildrop."""

import os
import resource
import subprocess

import relaytest as rt


def one_line(r):
    err = r.stderr.decode(errors="replace")
    assert err.count("\n") == 1 and err.endswith("\n"), repr(err)
    assert err.startswith(("sendmail: ", "newaliases: ", "mailq: ")), err
    return err


def setup_drop(env):
    os.makedirs(env.maildrop, exist_ok=True)
    os.chmod(env.maildrop, 0o1730)


def expect(env, args, data, rc, words=(), user=None):
    r = env.sendmail(args, data, user=user)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == rc, (args, r.returncode, err)
    if rc != 0:
        line = one_line(r)
        for w in words:
            assert w in line, (w, line)
    if os.path.isdir(env.maildrop):
        assert os.listdir(env.maildrop) == [], os.listdir(env.maildrop)
    return r


def test_usage_errors():
    with rt.Env() as env:
        setup_drop(env)
        msg = b"Subject: s\n\nbody\n"
        expect(env, ["-K", "x"], msg, 64, ["unknown option -K"])
        expect(env, [], msg, 64, ["no recipients"])
        expect(env, ["-i"], msg, 64, ["no recipients"])
        expect(env, ["-bd"], msg, 64, ["daemon mode"])
        expect(env, ["-bs", "x@example.net"], msg, 64, ["no recipients"])
        expect(env, ["-bt"], msg, 64)
        expect(env, ["root", "-t"], msg, 64, ["starts with '-'"])
        expect(env, ["-f"], msg, 64, ["needs a value"])
        expect(env, ["-B", "binary", "x"], msg, 64, ["-B"])
        expect(env, ["-V", "a b", "x"], msg, 64, ["-V"])
        expect(env, ["bad address@"], msg, 64, ["recipient"])
        expect(env, ["-f", "x@", "y"], msg, 64, ["-f"])
        expect(env, ["-qX"], msg, 64)
        expect(env, ["-t"], b"Subject: nobody\n\nb\n", 64,
               ["no recipient addresses found"])
        expect(env, ["-t"], b"To: undisclosed-recipients:;\n\nb\n", 64)


def test_data_and_size_errors():
    with rt.Env(max_message_size="1K", hop_limit=2) as env:
        setup_drop(env)
        expect(env, ["-t"], b"To: ok@x.test, -bad@x.test\n\nb\n", 65,
               ["To header", "invalid address"])
        big = b"Subject: big\n\n" + b"x" * 2000 + b"\n"
        expect(env, ["-i", "x"], big, 69,
               ["message too large (limit 1024 bytes)"])
        # the limit counts canonical bytes: LF -> CRLF adds one per line
        lines = b"Subject: s\n\n" + b"a\n" * 400
        expect(env, ["-i", "x"], lines, 69, ["too large"])
        hops = b"Received: 1\nReceived: 2\nReceived: 3\n\nloop\n"
        expect(env, ["-i", "x"], hops, 69, ["too many hops"])
        ok = b"Received: 1\nReceived: 2\n\nfine\n"
        r = env.sendmail(["-i", "x"], ok)
        assert r.returncode == 0, r.stderr
        assert len(os.listdir(env.maildrop)) == 1


def test_config_and_permission():
    with rt.Env() as env:
        setup_drop(env)
        user = rt.ensure_user("x")
        sm = rt.bin_path("sendmail")
        # -C as non-root: 77, and the named file is never opened
        missing = os.path.join(env.dir, "does-not-exist.conf")
        for args in (["-C", missing, "x"], ["-tiC" + missing],
                     ["-C", "-t"]):
            r = rt.run(rt.as_user(user, [sm] + args), b"Subject: s\n\nb\n")
            assert r.returncode == 77, (args, r.returncode, r.stderr)
            line = one_line(r)
            assert "only root" in line and "does-not-exist" not in line
        # a broken configuration: 78 with file and line
        bad = os.path.join(env.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write('domain = "example.org"\nno_such_key = 1\n')
        r = rt.run([sm, "-C", bad, "x"], b"Subject: s\n\nb\n")
        assert r.returncode == 78, (r.returncode, r.stderr)
        assert bad in one_line(r)
        with open(bad, "w") as f:
            f.write('max_message_size = "lots"\n')
        r = rt.run([sm, "-C", bad, "x"], b"Subject: s\n\nb\n")
        assert r.returncode == 78, (r.returncode, r.stderr)
        assert "bad.conf:1" in one_line(r)
        r = rt.run([sm, "-C", missing, "x"], b"Subject: s\n\nb\n")
        assert r.returncode == 78, (r.returncode, r.stderr)


def test_maildrop_unusable():
    with rt.Env() as env:
        user = rt.ensure_user("w")
        msg = b"Subject: s\n\nb\n"
        # relayd down and no maildrop directory at all
        os.makedirs(env.spool_dir, exist_ok=True)
        expect(env, ["-i", "x"], msg, 75,
               ["relayd is not running", "does not exist"])
        # a maildrop the user may not write (sendmail not setgid relay)
        setup_drop(env)
        r = expect(env, ["-i", "x"], msg, 75, user=user.pw_name)
        assert one_line(r) == (
            "sendmail: cannot queue the message: relayd is not running "
            "and the maildrop %s is not writable (start relayd, or check "
            "that sendmail is setgid relay)\n" % env.maildrop), r.stderr


def test_disk_full():
    with rt.Env() as env:
        setup_drop(env)

        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024,
                                                       64 * 1024))
        argv = env.sendmail_argv(["-i", "x"])
        p = subprocess.run(argv, input=b"Subject: s\n\n" + b"z" * 300000,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=limit, timeout=60, check=False)
        assert p.returncode == 75, (p.returncode, p.stderr)
        line = one_line(p)
        assert "is full" in line, line
        assert os.listdir(env.maildrop) == [], os.listdir(env.maildrop)


def test_modes_without_queueing():
    with rt.Env(smarthosts='smarthost "mail.example.net" { port = 587 }') \
            as env:
        setup_drop(env)
        with open(env.aliases, "w") as f:
            f.write("# aliases\npostmaster: root\n"
                    "root: ops@example.net, admin\n")
        r = expect(env, ["-bv", "postmaster", "bob@example.net"], b"", 0)
        assert r.stdout.decode() == (
            "ops@example.net... deliverable: relay via mail.example.net\n"
            "admin@example.org... deliverable: relay via mail.example.net\n"
            "bob@example.net... deliverable: relay via mail.example.net\n"
        ), r.stdout
        r = expect(env, ["-bi"], b"", 0)
        assert r.stdout.decode() == "%s: 2 aliases\n" % env.aliases
        r = expect(env, ["-I"], b"", 0)
        # newaliases by name
        link = os.path.join(env.dir, "newaliases")
        os.symlink(rt.bin_path("sendmail"), link)
        r = rt.run([link, "-C", env.conf_path])
        assert r.returncode == 0 and b"2 aliases" in r.stdout, r
        with open(env.aliases, "a") as f:
            f.write("prog: |/usr/bin/procmail\n")
        r = rt.run([link, "-C", env.conf_path])
        assert r.returncode == 78, r
        assert "%s:4:" % env.aliases in one_line(r)
        expect(env, ["-bi"], b"", 78, ["%s:4:" % env.aliases, "command"])
        expect(env, ["-bv", "x"], b"", 78, ["%s:4:" % env.aliases])
        for args in (["-bh"], ["-bH"], ["-q30m"], ["-q", "1h"]):
            r = expect(env, args, b"", 0)
            assert r.stdout == b"" and r.stderr == b"", (args, r)
        r = expect(env, ["-d0.1"], b"", 0)
        assert r.stdout.startswith(b"relay sendmail ")
    with rt.Env() as env:
        r = expect(env, ["-bv", "someone"], b"", 0)
        assert r.stdout == (b"someone@example.org... deliverable: relay "
                            b"via (no smarthost configured)\n"), r.stdout


def test_closed_stdio():
    """fds 0-2 closed by the caller: sendmail reopens them on /dev/null
    before opening anything, so the message file cannot become stdout."""
    with rt.Env() as env:
        setup_drop(env)
        argv = env.sendmail_argv(["-i", "x"])
        r = subprocess.run(["sh", "-c", 'exec "$@" <&- >&- 2>&-', "sh"] +
                           argv, timeout=60, check=False)
        assert r.returncode == 0, r.returncode
        names = os.listdir(env.maildrop)
        assert len(names) == 1, names
        with open(os.path.join(env.maildrop, names[0]), "rb") as f:
            data = f.read()
        assert data.startswith(b"RELAY-SUBMIT 1\n") and data.endswith(
            b"\r\n\r\n0\n"), data


def main():
    rt.need_root()
    for t in (test_usage_errors, test_data_and_size_errors,
              test_config_and_permission, test_maildrop_unusable,
              test_disk_full, test_modes_without_queueing,
              test_closed_stdio):
        t()
        print("ok", t.__name__)


if __name__ == "__main__":
    main()
