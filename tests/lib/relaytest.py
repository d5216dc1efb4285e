"""relaytest - the shared harness of relay's script tests (python3 stdlib only).

A test makes an Env (a temp dir with relay.conf, spool and socket inside),
starts relayd, drives sendmail / relayctl / the socket, inspects the spool
with sqlite3 and stops everything again, also when it fails:

    import relaytest as rt

    with rt.Env() as env:                 # temp dir + relay.conf
        env.start()                       # relayd running, socket answers
        r = env.sendmail(["-i", "bob@example.org"], b"Subject: x\\n\\nhi\\n")
        assert r.returncode == 0, r.stderr
        msgs = env.relayctl_json(["list"])
        rows = env.query("SELECT qid FROM messages")

The environment (set by ctest): RELAY_BIN (build/bin), RELAY_SRC, RELAY_BUILD,
RELAY_CONF_FILE (the compiled-in config path non-root sendmail reads).

Module functions:
    skip(why)                 print and exit 77 (ctest counts it as skipped;
                              raises SystemExit, so cleanup still runs)
    need_root()               skip unless running as root
    sanitized()               is this an ASan/UBSan build? (memory figures
                              are then not meaningful)
    bin_path(name)            path of a built program (bin/ or tests/helpers/)
    canon(text)               str/bytes with every line ending CRLF
    subproto(sender, rcpts, body, chunk=65536, extra=())
                              the submission stream bytes (subproto.h)
    submit_raw(sock, sender, rcpts, body, ...)
                              talk the stream to relayd, return its reply line
    ctl_raw(sock, request)    one control request: (objects, code, text)
    ensure_user(tag)          an ordinary user made with useradd once per
                              process; removed (userdel) at exit
    as_user(user, argv)       argv wrapped to run as that user (setpriv)
    with_conf(conf, argv, scratch)
                              argv wrapped in `unshare -m` so that the
                              compiled-in config path shows conf (bind
                              mount; a missing parent directory appears
                              through an overlay inside the namespace only,
                              nothing on the host changes)
    run(argv, input=b"", timeout=60)
                              subprocess with bytes in, captured output and
                              a timeout; returns CompletedProcess
    run_rss(argv, input=b"", timeout=60)
                              the same, plus .maxrss_kb: the child's peak
                              RSS (wait4)
    peak_rss_kb(pid)          VmHWM of a running process

Env(smarthosts="", extra="", user=None, start=False, **keys)
    dir, conf_path, spool_dir, socket, db_path, maildrop, log_path
    keys override relay.conf keys (e.g. max_message_size="1M"); extra and
    smarthosts are appended verbatim (smarthost blocks given by the test).
    As root relayd drops to a per-process user made by ensure_user("d");
    user=NAME picks another.
    write_conf(**keys)        rewrite relay.conf (then env.reload())
    start(args=(), wait=10, prefix=())
                              start relayd in the foreground (prefix: a
                              wrapper command, e.g. prlimit); wait until
                              its socket answers "ping"; returns the Popen
    stop(timeout=10)          SIGTERM, then SIGKILL; returns the exit code
    kill(sig)                 send a signal to relayd
    reload()                  SIGHUP
    once()                    relayd --once, returns CompletedProcess
    log()                     what relayd wrote to stderr so far
    sendmail(args, input, user=None, timeout=60)
                              root: sendmail -C conf; a user: through
                              with_conf + as_user
    relayctl(args, user=None) relayctl -C conf (as user when given)
    relayctl_json(args, user=None)
                              run with --json, parse each line
    db()                      sqlite3 connection to queue.db (read-only)
    query(sql, args=())       fetch all rows
    cleanup()                 stop relayd, remove the temp dir (the context
                              manager does it)
"""

import atexit
import grp
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("RELAY_BIN", "")
SRC = os.environ.get("RELAY_SRC", "")
BUILD = os.environ.get("RELAY_BUILD", "")
CONF_FILE = os.environ.get("RELAY_CONF_FILE", "/etc/relay/relay.conf")

SKIP = 77


def skip(why):
    """Report a missing prerequisite and exit 77 (ctest: skipped); with
    blocks and atexit handlers still clean up."""
    print("SKIP: " + why)
    sys.stdout.flush()
    sys.exit(SKIP)


def need_root():
    if os.geteuid() != 0:
        skip("needs root")


def sanitized():
    """True when the build under test uses the sanitizers."""
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            return any(l.strip() == "RELAY_SANITIZE:BOOL=ON" for l in f)
    except OSError:
        return False


def bin_path(name):
    """A built program: build/bin/NAME or build/tests/helpers/NAME."""
    for d in (BIN, os.path.join(BUILD, "tests", "helpers")):
        p = os.path.join(d, name)
        if d and os.access(p, os.X_OK):
            return p
    skip("program %s not built (RELAY_BIN=%r)" % (name, BIN))
    return None


def canon(text):
    """text with every line ending CRLF (the canonical stored form)."""
    if isinstance(text, str):
        text = text.encode()
    text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return text.replace(b"\n", b"\r\n")


def subproto(sender, rcpts, body, chunk=65536, extra=()):
    """The submission stream for sender, rcpts and canonical body."""
    out = [b"RELAY-SUBMIT 1\n", b"FROM " + sender.encode() + b"\n"]
    out += [b"RCPT " + r.encode() + b"\n" for r in rcpts]
    out += [e.encode() + b"\n" for e in extra]
    out.append(b"DATA\n")
    for i in range(0, len(body), chunk):
        piece = body[i:i + chunk]
        out.append(b"%d\n" % len(piece) + piece)
    out.append(b"0\n")
    return b"".join(out)


def _connect(sock_path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    return s


def _readline(s):
    data = b""
    while not data.endswith(b"\n"):
        piece = s.recv(65536)
        if not piece:
            break
        data += piece
    return data.decode(errors="replace").rstrip("\n")


def submit_raw(sock_path, sender, rcpts, body, timeout=60, stream=None):
    """Send one submission over relayd's socket; return its reply line
    ("250 QID", "451 ..."), or "" when relayd closed without one."""
    data = stream if stream is not None else subproto(sender, rcpts, body)
    s = _connect(sock_path, timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # relayd refused early; its reply is still readable
        return _readline(s)
    finally:
        s.close()


def ctl_raw(sock_path, request, timeout=60):
    """One control request; returns (objects, code, text)."""
    s = _connect(sock_path, timeout)
    try:
        s.sendall(b"RELAY-CTL 1 " + request.encode() + b"\n")
        data = b""
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            data += piece
    finally:
        s.close()
    lines = data.decode(errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    objs = [json.loads(l) for l in lines if l.startswith("{")]
    status = [l for l in lines if not l.startswith("{")]
    if not status:
        return objs, 0, "no status line"
    code, _, text = status[-1].partition(" ")
    return objs, int(code), text


_users = []


def _remove_users():
    # userdel keeps a user's own group while other users are members of
    # it (tests add staff users to relayd's group): remove the groups too,
    # or a later process with the same pid finds its group taken
    for name in _users:
        subprocess.run(["userdel", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    for name in _users:
        subprocess.run(["groupdel", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)


def ensure_user(tag="u"):
    """An ordinary user (with its own group) for this process, created once
    with useradd and removed at exit.  Returns the pwd entry."""
    need_root()
    name = "rt%s%d" % (tag, os.getpid() % 1000000)
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    try:
        # a group of that name left by an earlier run whose user is gone:
        # join it instead of failing on "group exists"
        grp.getgrnam(name)
        group_opt = ["-g", name]
    except KeyError:
        group_opt = ["-U"]
    r = subprocess.run(["useradd", "-M"] + group_opt +
                       ["-s", "/usr/sbin/nologin", "-d", "/nonexistent",
                        name],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       check=False)
    if r.returncode != 0:
        raise AssertionError("useradd %s failed: %s" %
                             (name, r.stdout.decode(errors="replace")))
    if not _users:
        atexit.register(_remove_users)
    _users.append(name)
    return pwd.getpwnam(name)


def as_user(user, argv):
    """argv run as user (name or pwd entry), with its groups, no PAM."""
    pw = user if isinstance(user, pwd.struct_passwd) else pwd.getpwnam(user)
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
            "--init-groups", "--"] + list(argv)


_WITH_CONF = r"""
set -e
conf=$1 target=$2 scratch=$3
shift 3
if [ ! -e "$target" ]; then
	dir=$(dirname "$target")
	base=$dir
	while [ ! -d "$base" ]; do base=$(dirname "$base"); done
	mkdir -p "$scratch"
	mount -t tmpfs tmpfs "$scratch"
	mkdir "$scratch/upper" "$scratch/work"
	mount -t overlay overlay \
		-o "lowerdir=$base,upperdir=$scratch/upper,workdir=$scratch/work" \
		"$base"
	mkdir -p "$dir"
	: > "$target"
fi
mount --bind "$conf" "$target"
exec "$@"
"""


def with_conf(conf, argv, scratch):
    """argv run in a private mount namespace where the compiled-in config
    path (RELAY_CONF_FILE) shows conf.  scratch: an empty path in the test's
    temp dir for the overlay's upper layer (only mounted in the namespace)."""
    need_root()
    return ["unshare", "-m", "--propagation", "private", "--", "sh", "-c",
            _WITH_CONF, "sh", conf, CONF_FILE, scratch] + list(argv)


def run(argv, input=b"", timeout=60, env=None, cwd=None):
    """Run argv with input on stdin; returns CompletedProcess with bytes
    stdout/stderr and .maxrss_kb, the child's peak RSS."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=cwd)
    try:
        out, err = p.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("timed out after %ss: %s\n%s" %
                             (timeout, shlex.join(argv), err.decode(
                                 errors="replace")))
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def run_rss(argv, input=b"", timeout=60):
    """Like run, but measures the child's peak RSS (KiB) with wait4.
    input (bytes or a binary file) is passed through a temp file."""
    with tempfile.TemporaryFile() as inp, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err:
        if isinstance(input, (bytes, bytearray)):
            inp.write(input)
        else:
            shutil.copyfileobj(input, inp)
        inp.seek(0)
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(inp.fileno(), 0)
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        deadline = time.monotonic() + timeout
        while True:
            wpid, status, ru = os.wait4(pid, os.WNOHANG)
            if wpid == pid:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.wait4(pid, 0)
                raise AssertionError("timed out: " + shlex.join(argv))
            time.sleep(0.01)
        out.seek(0)
        err.seek(0)
        r = subprocess.CompletedProcess(argv, os.waitstatus_to_exitcode(
            status), out.read(), err.read())
        r.maxrss_kb = ru.ru_maxrss
        return r


def peak_rss_kb(pid):
    """VmHWM (peak resident set) of a live process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Env:
    """A relay installation in a temp dir (see the module docstring)."""

    DEFAULTS = {
        "hostname": "relaytest.example",
        "domain": "example.org",
        "max_message_size": "60M",
        "connect_timeout": "5s",
        "greeting_timeout": "5s",
        "greeting_wait": "1s",
        "command_timeout": "10s",
        "data_timeout": "20s",
        "session_timeout": "60s",
        "lease_time": "30s",
    }

    def __init__(self, smarthosts="", extra="", user=None, start=False,
                 **keys):
        self.dir = tempfile.mkdtemp(prefix="relaytest-")
        os.chmod(self.dir, 0o755)
        self.conf_path = os.path.join(self.dir, "relay.conf")
        self.spool_dir = os.path.join(self.dir, "spool")
        self.socket = os.path.join(self.dir, "run", "relayd.sock")
        self.db_path = os.path.join(self.spool_dir, "queue.db")
        self.maildrop = os.path.join(self.spool_dir, "maildrop")
        self.log_path = os.path.join(self.dir, "relayd.stderr")
        self.aliases = os.path.join(self.dir, "aliases")
        self.smarthosts = smarthosts
        self.extra = extra
        self.proc = None
        self._log = None
        self._scratch = 0
        if user is None and os.geteuid() == 0:
            pw = ensure_user("d")
            user = pw.pw_name
        self.user = user
        self.keys = dict(self.DEFAULTS)
        self.keys.update(keys)
        with open(self.aliases, "w") as f:
            f.write("# test aliases\n")
        os.chmod(self.aliases, 0o644)
        self.write_conf()
        if start:
            self.start()

    # --- configuration -------------------------------------------------

    def write_conf(self, **keys):
        self.keys.update(keys)
        lines = ['spool_dir = "%s"' % self.spool_dir,
                 'socket = "%s"' % self.socket,
                 'aliases = "%s"' % self.aliases]
        if self.user is not None:
            gid = pwd.getpwnam(self.user).pw_gid
            lines.append('user = "%s"' % self.user)
            lines.append('group = "%s"' % grp.getgrgid(gid).gr_name)
        for k, v in self.keys.items():
            if v is None:
                continue
            if isinstance(v, bool):
                lines.append("%s = %s" % (k, "true" if v else "false"))
            elif isinstance(v, int):
                lines.append("%s = %d" % (k, v))
            else:
                lines.append('%s = "%s"' % (k, v))
        text = "\n".join(lines) + "\n" + self.extra + "\n" + \
            self.smarthosts + "\n"
        tmp = self.conf_path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.conf_path)

    # --- relayd --------------------------------------------------------

    def start(self, args=(), wait=10, prefix=()):
        """Start relayd -C conf in the foreground and wait until its socket
        answers; returns the Popen."""
        assert self.proc is None, "relayd already started"
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            list(prefix) +
            [bin_path("relayd"), "-C", self.conf_path, "-v"] + list(args),
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("relayd exited with %d:\n%s" %
                                     (self.proc.returncode, self.log()))
            try:
                _, code, _ = ctl_raw(self.socket, "ping", timeout=2)
                if code == 200:
                    return self.proc
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError("relayd did not answer within %ss:\n%s" %
                             (wait, self.log()))

    def kill(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def reload(self):
        self.kill(signal.SIGHUP)

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after timeout; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return rc

    def once(self, timeout=120):
        return run([bin_path("relayd"), "-C", self.conf_path, "--once",
                    "-v"], timeout=timeout)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # --- clients -------------------------------------------------------

    def scratch(self):
        self._scratch += 1
        return os.path.join(self.dir, "ns%d" % self._scratch)

    def sendmail_argv(self, args, user=None):
        sm = bin_path("sendmail")
        if user is None:
            return [sm, "-C", self.conf_path] + list(args)
        return with_conf(self.conf_path, as_user(user, [sm] + list(args)),
                         self.scratch())

    def sendmail(self, args, input=b"", user=None, timeout=60):
        return run(self.sendmail_argv(args, user), input, timeout)

    def relayctl(self, args, user=None, timeout=60):
        argv = [bin_path("relayctl"), "-C", self.conf_path] + list(args)
        if user is not None:
            argv = as_user(user, argv)
        return run(argv, b"", timeout)

    def relayctl_json(self, args, user=None, timeout=60):
        r = self.relayctl(list(args) + ["--json"], user, timeout)
        assert r.returncode == 0, "relayctl %s: %d %s" % (
            args, r.returncode, r.stderr.decode(errors="replace"))
        return [json.loads(l) for l in r.stdout.decode().splitlines() if l]

    def submit(self, sender, rcpts, body, **kw):
        """submit_raw on this relayd's socket."""
        return submit_raw(self.socket, sender, rcpts, canon(body), **kw)

    def ctl(self, request):
        return ctl_raw(self.socket, request)

    # --- the spool -----------------------------------------------------

    def db(self):
        return sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True,
                               timeout=10)

    def query(self, sql, args=()):
        con = self.db()
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def body(self, qid):
        """The stored message (all chunks) as bytes."""
        rows = self.query("SELECT data FROM chunks WHERE qid = ? "
                          "ORDER BY seq", (qid,))
        return b"".join(r[0] for r in rows)

    # --- lifetime ------------------------------------------------------

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


def main(tests):
    """Run test functions in order; print each name; exit 1 on the first
    failure (after cleanup by the functions' own with-blocks)."""
    for t in tests:
        print("--- " + t.__name__)
        sys.stdout.flush()
        t()
    print("all %d passed" % len(tests))
