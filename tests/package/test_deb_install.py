"""test_deb_install.py - the Debian package, installed like a real MTA into a
throwaway Debian 12 root, so the machine's own packages (and the MTA other
tests use as a smarthost, which the package's Conflicts would remove) stay
untouched.

 1. build the .deb from the working tree with packaging/build-deb.sh (kept
    in BUILD/tests/package-deb/ and reused while no source file is newer);
 2. bootstrap a Debian 12 root (debootstrap --variant=minbase from the
    host's own Debian mirror; cached per day in BUILD/tests/package-cache/)
    and mount /proc and /dev inside it;
 3. `apt-get install ./relay_*.deb bsd-mailx` inside it; check the modes
    the package promises; point /etc/relay/relay.conf at a fake STARTTLS
    smarthost with AUTH on 127.0.0.1 (run by this script on the host; the
    root shares its network) and write its password into /etc/relay/secret;
 4. with relayd down, an ordinary user (made with useradd in the root)
    sends a message: set-group-ID sendmail leaves it in the maildrop;
    then start relayd by hand as root in the root (no systemd); it must
    drop to user relay (checked in /proc);
 5. as that user: `echo hi | mail -s test root` (bsd-mailx) and a
    cron-style `sendmail -FCronDaemon -i -B8BITMIME -oem root`; both, and
    the maildrop's message, arrive at the smarthost, over TLS, AUTH only
    after TLS, the recipient qualified;
 6. that user cannot read /etc/relay/secret, queue.db (and -wal, -shm),
    another user's message (relayctl show refused, mailq shows only their
    own, a direct SQLite open refused);
 7. stop relayd; `apt-get purge relay` leaves nothing behind: no user or
    group relay, no spool, no /etc/relay, no file of the package, no
    dangling sendmail/mailq/newaliases link, no new unowned file.

The script runs itself again inside `unshare --pid --mount` so that every
process it starts in the root dies with it and no mount outlives it, even
when it is killed.  Every step prints its duration.  A failed check shows
relayd's stderr and the smarthost's transcript.  Exit 77 (skipped) only
when a prerequisite cannot work on this machine (not root, debootstrap or
the Debian build tools missing, no namespaces, no Debian mirror).
"""

import base64
import glob
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import debroot  # noqa: E402
from debroot import Failed, Skip  # noqa: E402

SRC = os.environ.get("RELAY_SRC") or os.path.normpath(
    os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("RELAY_BUILD") or os.path.join(SRC, "build")
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
sys.path.insert(0, os.path.join(SRC, "tests", "fake"))
import certs  # noqa: E402
import fakesmtpd  # noqa: E402
import relaytest  # noqa: E402

NS_MARK = "RELAY_PKGTEST_NS"
OWNER = "RELAY_PKGTEST_OWNER"
T0_VAR = "RELAY_PKGTEST_T0"

DEB_OUT = os.path.join(BUILD, "tests", "package-deb")
CACHE = os.path.join(BUILD, "tests", "package-cache")
WORK = os.path.join(BUILD, "tests", "tmp")

USER = "pkguser"            # the ordinary user who sends
OTHER = "pkgother"          # another ordinary user
SMARTHOST_USER = "pkgtest"
PASSWORD = "pkg-Secret-4711"
DOMAIN = "example.org"
CA_IN_ROOT = "/usr/local/share/pkgtest-ca.pem"

CRON_MESSAGE = (
    "From: root (Cron Daemon)\n"
    "To: root\n"
    "Subject: Cron <%s@pkgtest> /usr/local/bin/nightly-report\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "X-Cron-Env: <SHELL=/bin/sh>\n"
    "X-Cron-Env: <HOME=/home/%s>\n"
    "X-Cron-Env: <PATH=/usr/bin:/bin>\n"
    "X-Cron-Env: <LOGNAME=%s>\n"
    "\n"
    "nightly report: caf\u00e9 ok\n") % (USER, USER, USER)

T0 = float(os.environ.get(T0_VAR) or time.monotonic())


def say(text):
    print("[%6.1fs] %s" % (time.monotonic() - T0, text), flush=True)


def skip(why):
    print("SKIP: " + why, file=sys.stderr, flush=True)
    print("SKIP: " + why, flush=True)
    sys.exit(77)


def check(cond, what):
    if not cond:
        raise Failed(what)


# --- outside the namespace: prerequisites, then run again inside -------------


def outer():
    if os.geteuid() != 0:
        skip("needs root (debootstrap, chroot and mount)")
    need = {"debootstrap": "debootstrap",
            "dpkg-buildpackage": "dpkg-dev", "dh": "debhelper",
            "dpkg-deb": "dpkg", "chroot": "coreutils", "tar": "tar",
            "mount": "mount", "umount": "mount", "unshare": "util-linux"}
    missing = sorted("%s (package %s)" % (c, p) for c, p in need.items()
                     if shutil.which(c) is None)
    if missing:
        skip("missing: %s; run packaging/install-deps.sh" %
             ", ".join(missing))
    ns = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
          "--propagation", "private"]
    r = subprocess.run(ns + ["true"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        skip("cannot make a private pid and mount namespace here (%s): "
             "the test needs it to keep the root's processes and mounts "
             "contained" % r.stdout.decode(errors="replace").strip())
    remove_stale_roots()
    env = dict(os.environ)
    env[NS_MARK] = "1"
    env[OWNER] = str(os.getpid())
    env[T0_VAR] = repr(T0)
    sys.stdout.flush()
    os.execvpe("unshare", ns + ["--", sys.executable,
                                os.path.abspath(__file__)], env)


def remove_stale_roots():
    """Roots left by a run that was killed: its owner process is gone and
    its mounts died with its namespace."""
    for top in glob.glob(os.path.join(WORK, "relay-pkgtest-*")):
        try:
            with open(os.path.join(top, "owner")) as f:
                pid = int(f.read().strip() or "0")
        except (OSError, ValueError):
            pid = 0
        if pid > 0:
            try:
                os.kill(pid, 0)
                continue
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        if not debroot.mounts_below(top):
            say("removing a stale root " + top)
            debroot.rmtree_unmounted(top)


# --- the steps ---------------------------------------------------------------


def newest_source_mtime():
    newest = 0.0
    for dirpath, dirnames, filenames in os.walk(SRC):
        if dirpath == SRC:
            # What build-deb.sh leaves out, and the tests (not packaged).
            dirnames[:] = [d for d in dirnames if d not in
                           (".git", "debian", "tests") and
                           not d.startswith("build")]
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            try:
                newest = max(newest, os.lstat(
                    os.path.join(dirpath, name)).st_mtime)
            except OSError:
                pass
    return newest


class PackageTest:
    def __init__(self):
        self.results = []           # (step, seconds, "ok" | "FAILED")
        self.failures = []
        self.top = None
        self.root = None
        self.fake = None
        self.listener = None
        self.relayd = None
        self.relayd_log = None
        self.deb = None
        self.installed = False
        self.before = None
        self.dangling_before = None
        self.qids = {}

    # --- running the steps ---------------------------------------------------

    def step(self, name, fn, fatal):
        say("step %s ..." % name)
        t = time.monotonic()
        try:
            fn()
        except Skip:
            raise
        except Exception as e:
            dt = time.monotonic() - t
            self.results.append((name, dt, "FAILED"))
            self.failures.append(name)
            say("step %s FAILED after %.1fs:" % (name, dt))
            if isinstance(e, (Failed, AssertionError)):
                print(str(e), flush=True)
            else:
                traceback.print_exc(file=sys.stdout)
            self.explain()
            if fatal:
                raise Failed("stopping after step %s" % name)
            return False
        dt = time.monotonic() - t
        self.results.append((name, dt, "ok"))
        say("step %s done in %.1fs" % (name, dt))
        return True

    def explain(self):
        """What helps most to understand a failure."""
        if self.relayd_log is not None and os.path.exists(self.relayd_log):
            print("--- relayd's stderr:", flush=True)
            print(debroot.tail(self.read_log(), 200), flush=True)
        if self.fake is not None:
            print("--- the fake smarthost's transcript:", flush=True)
            print(self.transcript(), flush=True)
        sys.stdout.flush()

    def read_log(self):
        try:
            with open(self.relayd_log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def transcript(self):
        out = []
        for l in self.fake.listeners:
            out.append("listener %s on 127.0.0.1:%d, %d connection(s)" %
                       (l.kind, l.port, l.connections))
            for i, s in enumerate(list(l.sessions)):
                out.append("  session %d: tls=%s tls_error=%s auth=%s" %
                           (i, s.tls, s.tls_error, s.auth))
                for phase, line in list(s.commands):
                    if line.upper().startswith("AUTH "):
                        line = " ".join(line.split(" ")[:2] + ["..."])
                    line = "".join(c if c.isprintable() else "."
                                   for c in line)
                    if len(line) > 100:
                        line = line[:100] + "..."
                    out.append("    %-5s C: %s" % (phase, line))
        for i, m in enumerate(list(self.fake.messages)):
            head = m["data"].split(b"\r\n\r\n", 1)[0]
            out.append("message %d: MAIL FROM:<%s> %s, RCPT %s, tls=%s" %
                       (i, m["mail_from"], m["mail_params"], m["rcpts"],
                        m["tls"]))
            out += ["    " + l for l in head.decode("utf-8", "replace")
                    .split("\r\n")]
        if not out:
            out.append("(nothing)")
        return "\n".join(out)

    def run(self):
        # Everything of this run lives in one directory (a run that is
        # killed leaves it to the next run's remove_stale_roots).
        os.makedirs(WORK, exist_ok=True)
        self.top = tempfile.mkdtemp(prefix="relay-pkgtest-", dir=WORK)
        with open(os.path.join(self.top, "owner"), "w") as f:
            f.write(os.environ.get(OWNER, "0") + "\n")
        self.step("1 build the .deb", self.build_deb, True)
        self.step("2 bootstrap a Debian 12 root", self.bootstrap, True)
        try:
            self.root.mount()
            ready = self.step("3 install the package and configure it",
                              self.install, False)
            if ready and self.step("4 maildrop while down; relayd as relay",
                                   self.start_relayd, False):
                self.step("5 mail, cron mail, maildrop arrive by TLS",
                          self.send_and_deliver, False)
                self.step("6 what an ordinary user cannot read",
                          self.privileges, False)
            if self.installed:
                self.step("7 stop relayd; apt-get purge leaves nothing",
                          self.purge, False)
        finally:
            self.stop_relayd()
            problems = self.root.unmount()
            if problems:
                self.failures.append("unmount")
                say("unmounting failed: " + "; ".join(problems))

    def cleanup(self):
        self.stop_relayd()
        if self.fake is not None:
            self.fake.stop()
        try:
            if self.root is not None:
                self.root.remove()
            elif self.top is not None:
                debroot.rmtree_unmounted(self.top)
        except Failed as e:
            self.failures.append("cleanup")
            say("cleanup: %s" % e)

    def summary(self):
        say("summary:")
        for name, dt, status in self.results:
            print("    %-50s %7.1fs  %s" % (name, dt, status))
        print("    %-50s %7.1fs" % ("total", time.monotonic() - T0),
              flush=True)

    # --- 1: the package ------------------------------------------------------

    def build_deb(self):
        os.makedirs(DEB_OUT, exist_ok=True)
        debs = sorted(glob.glob(os.path.join(DEB_OUT, "relay_*.deb")))
        newest = newest_source_mtime()
        if len(debs) == 1 and os.stat(debs[0]).st_mtime > newest:
            self.deb = debs[0]
            say("reusing %s (no source file is newer)" % self.deb)
            return
        for old in glob.glob(os.path.join(DEB_OUT, "relay*")):
            os.unlink(old)
        env = dict(os.environ, TMPDIR=self.top)
        if "DEB_BUILD_OPTIONS" not in env:
            env["DEB_BUILD_OPTIONS"] = "parallel=%d" % min(
                4, os.cpu_count() or 1)
        debroot.run(["sh", os.path.join(SRC, "packaging", "build-deb.sh"),
                     DEB_OUT], env=env, timeout=900,
                    what="packaging/build-deb.sh")
        debs = glob.glob(os.path.join(DEB_OUT, "relay_*.deb"))
        check(len(debs) == 1, "build-deb.sh made %r" % debs)
        self.deb = debs[0]
        say("built %s" % self.deb)

    # --- 2: the root ---------------------------------------------------------

    def bootstrap(self):
        mirror = debroot.host_mirror()
        say("Debian mirror from the host's apt sources: %s" % mirror[0])
        self.root = debroot.Root(top=self.top)
        self.relayd_log = os.path.join(self.top, "relayd.stderr")
        self.root.bootstrap(mirror, CACHE)
        if self.root.cache_hit:
            say("root unpacked from the cache %s" % self.root.cache_hit)
        else:
            say("root bootstrapped; cached for today in %s" % CACHE)

    # --- 3: install ----------------------------------------------------------

    def snapshot(self):
        """Every path of the root (relative), mounts left out."""
        paths = set()
        top = self.root.path
        for dirpath, dirnames, filenames in os.walk(top):
            rel = os.path.relpath(dirpath, top)
            if rel == ".":
                dirnames[:] = [d for d in dirnames
                               if d not in ("proc", "dev", "sys")]
                rel = ""
            for name in dirnames + filenames:
                paths.add(os.path.join(rel, name))
        return paths

    def dangling(self):
        r = self.root.run(["find", "/", "-xdev", "-xtype", "l"])
        return set(r.stdout.decode("utf-8", "replace").split("\n")) - {""}

    def install(self):
        root = self.root
        c = certs.make(os.path.join(root.top, "certs"))
        shutil.copyfile(c.ca, root.p(CA_IN_ROOT))
        os.chmod(root.p(CA_IN_ROOT), 0o644)
        inside = "/tmp/" + os.path.basename(self.deb)
        shutil.copyfile(self.deb, root.p(inside))
        self.before = self.snapshot()
        self.dangling_before = self.dangling()

        r = root.run(["apt-get", "install", "-y", "-q", inside, "bsd-mailx"],
                     timeout=600)
        self.installed = True
        out = r.stdout.decode("utf-8", "replace")
        say("apt-get installed: " + " ".join(re.findall(
            r"^Setting up (\S+)", out, re.M)))
        os.unlink(root.p(inside))
        st = root.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}",
                       "relay"]).stdout.decode().strip()
        check(st == "ii", "dpkg says relay is %r, not installed" % st)

        relay = root.passwd("relay")
        check(relay is not None, "the package made no user relay")
        rgid = root.group("relay")
        check(rgid is not None and relay[1] == rgid,
              "user relay's group is not group relay")
        expect = [("/usr/sbin/sendmail", 0o2755, 0, rgid),
                  ("/var/spool/relay", 0o750, relay[0], rgid),
                  ("/var/spool/relay/maildrop", 0o1730, relay[0], rgid),
                  ("/etc/relay/secret", 0o600, relay[0], rgid),
                  ("/etc/relay/relay.conf", 0o644, 0, 0)]
        for path, mode, uid, gid in expect:
            s = os.lstat(root.p(path))
            got = (s.st_mode & 0o7777, s.st_uid, s.st_gid)
            check(got == (mode, uid, gid),
                  "%s is mode %o uid %d gid %d; the package promises "
                  "mode %o uid %d gid %d" % ((path,) + got +
                                             (mode, uid, gid)))
        for link in ("/usr/bin/mailq", "/usr/bin/newaliases",
                     "/usr/lib/sendmail"):
            target = os.path.join(os.path.dirname(link),
                                  os.readlink(root.p(link)))
            check(os.path.normpath(target) == "/usr/sbin/sendmail",
                  "%s points to %s" % (link, target))

        self.fake = fakesmtpd.FakeSMTPD(*c.good)
        self.fake.users = {SMARTHOST_USER: PASSWORD}
        self.listener = self.fake.listen("starttls")
        # Mail for hold-*@example.net stays in the queue (451), so the
        # privilege checks always have queued messages to look at.
        self.listener.behave(replies={
            "RCPT:hold-1@example.net": "451 4.3.0 held for the test",
            "RCPT:hold-2@example.net": "451 4.3.0 held for the test"})
        self.fake.start()
        say("fake STARTTLS smarthost with AUTH on 127.0.0.1:%d" %
            self.listener.port)

        # The shipped configuration, as an administrator edits it: the
        # commented example stays, the settings are appended.
        with open(root.p("/etc/relay/relay.conf"), "a") as f:
            f.write("\n# Added by the package test.\n"
                    'hostname = "pkgtest.%s"\n'
                    'domain = "%s"\n'
                    "connect_timeout = 10s\n"
                    "greeting_wait = 1s\n"
                    "command_timeout = 30s\n"
                    "data_timeout = 30s\n"
                    "retry {\n\tbase = 1h\n\tmax = 1h\n\tlifetime = 5d\n}\n"
                    'smarthost "fake" {\n'
                    '\thost = "127.0.0.1"\n'
                    "\tport = %d\n"
                    "\ttls = auto\n"
                    '\tusername = "%s"\n'
                    '\tpassword_file = "/etc/relay/secret"\n'
                    '\tca_file = "%s"\n'
                    "}\n" % (DOMAIN, DOMAIN, self.listener.port,
                             SMARTHOST_USER, CA_IN_ROOT))
        # The secret file keeps the owner and mode the package gave it.
        with open(root.p("/etc/relay/secret"), "w") as f:
            f.write(PASSWORD + "\n")
        s = os.stat(root.p("/etc/relay/secret"))
        check(s.st_mode & 0o777 == 0o600 and s.st_uid == relay[0],
              "/etc/relay/secret changed owner or mode")

        for name in (USER, OTHER):
            root.run(["useradd", "-m", "-U", "-s", "/bin/sh", name])

    # --- 4: relayd -----------------------------------------------------------

    def submit_offline(self):
        """sendmail with relayd down: set-group-ID relay by the package's
        statoverride, it leaves the message in the maildrop."""
        drop = self.root.p("/var/spool/relay/maildrop")
        before = set(os.listdir(drop))
        self.send(USER, ["/usr/sbin/sendmail", "-i", "root"],
                  b"Subject: offline\n\nsent while relayd was down\n",
                  "sendmail with relayd down")
        new = sorted(set(os.listdir(drop)) - before)
        check(len(new) == 1, "sendmail with relayd down left %s in the "
              "maildrop" % new)
        st = os.lstat(os.path.join(drop, new[0]))
        uid = self.root.passwd(USER)[0]
        gid = self.root.group("relay")
        check(st.st_uid == uid and st.st_gid == gid,
              "the maildrop file is %d:%d, expected %d:%d (%s, group "
              "relay by set-group-ID sendmail)" % (st.st_uid, st.st_gid,
                                                   uid, gid, USER))
        say("relayd down: sendmail left %s in the maildrop (uid %d, group "
            "relay)" % (new[0], uid))

    def start_relayd(self):
        self.submit_offline()
        root = self.root
        log = open(self.relayd_log, "ab")
        try:
            self.relayd = subprocess.Popen(
                root.argv(["/usr/sbin/relayd", "-v"]),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        # A short path to the socket, whatever the length of the root's.
        dirfd = os.open(root.p("/run/relay"), os.O_RDONLY | os.O_DIRECTORY)
        try:
            sock = "/proc/self/fd/%d/relayd.sock" % dirfd
            deadline = time.monotonic() + 20
            while True:
                check(self.relayd.poll() is None,
                      "relayd exited with %s" % self.relayd.returncode)
                try:
                    _, code, _ = relaytest.ctl_raw(sock, "ping", timeout=2)
                    if code == 200:
                        break
                except OSError:
                    pass
                check(time.monotonic() < deadline,
                      "relayd's socket /run/relay/relayd.sock did not "
                      "answer within 20s")
                time.sleep(0.05)
        finally:
            os.close(dirfd)
        say("relayd (pid %d) answers on /run/relay/relayd.sock" %
            self.relayd.pid)

        uid, gid, _ = root.passwd("relay")
        procs = self.processes_in_root()
        check(self.relayd.pid in procs,
              "relayd (pid %d) does not run inside the root" %
              self.relayd.pid)
        for pid, (name, uids, gids, groups) in sorted(procs.items()):
            say("  pid %d %s: uid %s gid %s groups %s" %
                (pid, name, uids, gids, groups))
            check(set(uids) == {uid} and set(gids) == {gid} and
                  set(groups) <= {gid},
                  "%s (pid %d) runs with uids %s gids %s groups %s, not "
                  "as relay (%d:%d)" % (name, pid, uids, gids, groups,
                                        uid, gid))

    def processes_in_root(self):
        """{pid: (name, uids, gids, groups)} of every process whose root
        directory is the test root."""
        found = {}
        real = os.path.realpath(self.root.path)
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/root" % d) != real:
                    continue
                with open("/proc/%s/status" % d) as f:
                    st = dict(l.rstrip("\n").split(":\t", 1) for l in f
                              if ":\t" in l)
            except OSError:
                continue
            found[int(d)] = (st.get("Name", "?"),
                             [int(x) for x in st["Uid"].split()],
                             [int(x) for x in st["Gid"].split()],
                             [int(x) for x in st.get("Groups", "").split()])
        return found

    # --- 5: mail arrives -----------------------------------------------------

    def send(self, user, argv, data, what):
        r = self.root.run_as(user, argv, data)
        check(r.returncode == 0, "%s as %s: exit %d\n%s" % (
            what, user, r.returncode,
            debroot.tail(r.stdout + r.stderr)))
        return r

    def send_and_deliver(self):
        self.send(USER, ["sh", "-c", "echo hi | mail -s test root"], b"",
                  "mail -s test root")
        self.send(USER, ["/usr/sbin/sendmail", "-FCronDaemon", "-i",
                         "-B8BITMIME", "-oem", "root"],
                  CRON_MESSAGE.encode(), "cron-style sendmail")
        # Messages for the privilege checks (they stay queued).
        self.send(USER, ["/usr/sbin/sendmail", "-i", "hold-1@example.net"],
                  b"Subject: held 1\n\nmine\n", "sendmail hold-1")
        self.send(OTHER, ["/usr/sbin/sendmail", "-i", "hold-2@example.net"],
                  b"Subject: held 2\n\nnot yours\n", "sendmail hold-2")
        say("4 messages submitted; waiting for 3 at the smarthost (with "
            "the one from the maildrop)")

        wanted = {"mail -s test root": b"Subject: test\r\n",
                  "the cron message": b"Subject: Cron <",
                  "the maildrop's message": b"Subject: offline\r\n"}
        got = {}
        wait = 90
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and len(got) < len(wanted):
            for m in list(self.fake.messages):
                for what, subject in wanted.items():
                    if b"\r\n" + subject in b"\r\n" + m["data"]:
                        got[what] = m
            time.sleep(0.2)
        missing = sorted(set(wanted) - set(got))
        check(not missing, "within %ds the smarthost did not receive: %s" %
              (wait, ", ".join(missing)))
        say("all 3 arrived")
        mailx, cron = got["mail -s test root"], got["the cron message"]

        sender = "%s@%s" % (USER, DOMAIN)
        qualified = ["root@%s" % DOMAIN]
        for what, m in sorted(got.items()):
            check(m["tls"], "%s was sent without TLS" % what)
            check(m["mail_from"] == sender,
                  "%s: MAIL FROM:<%s>, expected <%s>" % (
                      what, m["mail_from"], sender))
            check(m["rcpts"] == qualified,
                  "%s: RCPT TO %s, expected the qualified %s" % (
                      what, m["rcpts"], qualified))
        body = mailx["data"].split(b"\r\n\r\n", 1)
        check(len(body) == 2 and body[1] == b"hi\r\n",
              "mail(1)'s body arrived as %r" % body[-1:])
        head, _, cbody = cron["data"].partition(b"\r\n\r\n")
        check(b"(Cron Daemon)" in head,
              "the cron message lost its From: root (Cron Daemon)")
        check(cbody == "nightly report: caf\u00e9 ok\r\n".encode(),
              "the cron message's 8-bit body arrived as %r" % cbody)
        check("BODY=8BITMIME" in cron["mail_params"].upper(),
              "the 8-bit cron message was sent without BODY=8BITMIME "
              "(MAIL FROM parameters: %r)" % cron["mail_params"])

        self.check_auth_after_tls()

    def check_auth_after_tls(self):
        secrets = [PASSWORD.encode(), base64.b64encode(
            ("\0%s\0%s" % (SMARTHOST_USER, PASSWORD)).encode())]
        sent = 0
        for i, s in enumerate(list(self.listener.sessions)):
            plain = [c for p, c in s.commands if p == "plain"]
            check(not any(c.upper().startswith("AUTH") for c in plain),
                  "session %d: AUTH before TLS: %s" % (i, plain))
            for sec in secrets:
                check(sec not in s.rx_plain,
                      "session %d: the password crossed in plaintext" % i)
            if any(c.upper().startswith("MAIL") for p, c in s.commands):
                sent += 1
                check(s.tls, "session %d sent mail without TLS" % i)
                check(s.auth and s.auth[-1][1:] == (SMARTHOST_USER, True),
                      "session %d sent mail without a good AUTH: %s" %
                      (i, s.auth))
        check(sent > 0, "no session sent MAIL")
        for i, s in enumerate(list(self.listener.sessions)):
            verbs = [c.split(" ", 1)[0].upper() for _, c in s.commands]
            say("  smarthost session %d: %s, auth %s, %d MAIL" % (
                i, "STARTTLS" if "STARTTLS" in verbs else "no TLS",
                s.auth, verbs.count("MAIL")))
        check(PASSWORD not in self.read_log(),
              "relayd's log shows the password")

    # --- 6: privileges -------------------------------------------------------

    def privileges(self):
        root = self.root
        # The queue ids, as root sees them.
        r = root.run(["relayctl", "list", "--json"])
        msgs = [json.loads(l) for l in r.stdout.decode().splitlines()
                if l.startswith("{")]
        uid_user = root.passwd(USER)[0]
        uid_other = root.passwd(OTHER)[0]
        mine = [m["id"] for m in msgs if m.get("uid") == uid_user]
        theirs = [m["id"] for m in msgs if m.get("uid") == uid_other]
        check(theirs and mine,
              "the queue lacks the held messages (root's list: %s)" % msgs)
        other_id = theirs[0]

        # The secret and the spool, as files.
        spool = "/var/spool/relay"
        files = ["/etc/relay/secret", spool + "/queue.db"]
        for side in ("-wal", "-shm"):
            if os.path.exists(root.p(spool + "/queue.db" + side)):
                files.append(spool + "/queue.db" + side)
        check(os.path.exists(root.p(spool + "/queue.db")),
              "no %s/queue.db" % spool)
        say("  spool files: %s" % ", ".join(files[1:]))
        for path in files:
            rr = root.run_as(USER, ["cat", path])
            check(rr.returncode != 0 and rr.stdout == b"" and
                  b"Permission denied" in rr.stderr,
                  "%s could read %s: exit %d %r" % (
                      USER, path, rr.returncode, rr.stderr))
        rr = root.run_as(USER, ["ls", spool + "/maildrop"])
        check(rr.returncode != 0, "%s could list the maildrop" % USER)

        # A direct SQLite open, with the host's python confined to the
        # root as that user (the root has no python).
        probe = self.sqlite_probe(USER, files[1:])
        say("  %s opening the spool directly: %s" % (USER, probe))
        for path in files[1:]:
            check(probe[path] == "EACCES",
                  "%s opening %s: %s" % (USER, path, probe[path]))
        check(probe["sqlite"] != "opened",
              "%s opened queue.db with SQLite" % USER)

        # relayctl and mailq.
        rr = root.run_as(USER, ["relayctl", "show", other_id])
        check(rr.returncode != 0 and other_id.encode() not in rr.stdout and
              b"hold-2" not in rr.stdout,
              "relayctl show of %s's message as %s: exit %d\n%s" % (
                  OTHER, USER, rr.returncode,
                  debroot.tail(rr.stdout + rr.stderr)))
        say("  relayctl show %s as %s: exit %d: %s" % (
            other_id, USER, rr.returncode,
            rr.stderr.decode(errors="replace").strip()))
        rr = root.run_as(USER, ["relayctl", "show", mine[0]])
        check(rr.returncode == 0 and mine[0].encode() in rr.stdout,
              "%s cannot show their own message %s: exit %d %r" % (
                  USER, mine[0], rr.returncode, rr.stderr))
        rr = root.run_as(USER, ["relayctl", "list", "--json"])
        check(rr.returncode == 0, "relayctl list as %s: %r" % (
            USER, rr.stderr))
        seen = [json.loads(l) for l in rr.stdout.decode().splitlines()
                if l.startswith("{")]
        check(seen and all(m.get("uid") == uid_user for m in seen),
              "relayctl list as %s shows %s" % (USER, seen))
        rr = root.run_as(USER, ["mailq"])
        out = rr.stdout.decode("utf-8", "replace")
        check(rr.returncode == 0 and mine[0] in out and
              "hold-1@example.net" in out,
              "mailq as %s does not show their message %s: exit %d\n%s" %
              (USER, mine[0], rr.returncode, debroot.tail(out)))
        check(other_id not in out and "hold-2" not in out,
              "mailq as %s shows %s's message:\n%s" % (USER, OTHER,
                                                       debroot.tail(out)))
        rr = root.run(["mailq"])
        check(other_id in rr.stdout.decode(),
              "mailq as root does not show %s" % other_id)

    def sqlite_probe(self, user, paths):
        uid, gid, _ = self.root.passwd(user)
        groups = [gid]
        with open(self.root.p("/etc/group")) as f:
            for line in f:
                g = line.rstrip("\n").split(":")
                if len(g) >= 4 and user in g[3].split(","):
                    groups.append(int(g[2]))
        code = (
            "import errno, json, os, sqlite3, sys\n"
            "root, uid, gid, groups = sys.argv[1:5]\n"
            "os.chroot(root)\n"
            "os.chdir('/')\n"
            "os.setgroups([int(g) for g in groups.split(',')])\n"
            "os.setgid(int(gid))\n"
            "os.setuid(int(uid))\n"
            "out = {}\n"
            "for p in sys.argv[5:]:\n"
            "    try:\n"
            "        os.close(os.open(p, os.O_RDONLY))\n"
            "        out[p] = 'opened'\n"
            "    except OSError as e:\n"
            "        out[p] = errno.errorcode.get(e.errno, str(e))\n"
            "try:\n"
            "    con = sqlite3.connect('file:%s?mode=ro' % sys.argv[5],\n"
            "                          uri=True)\n"
            "    con.execute('SELECT count(*) FROM sqlite_master')\n"
            "    out['sqlite'] = 'opened'\n"
            "except sqlite3.Error as e:\n"
            "    out['sqlite'] = 'refused: %s' % e\n"
            "print(json.dumps(out))\n")
        r = debroot.run([sys.executable, "-c", code, self.root.path,
                         str(uid), str(gid),
                         ",".join(str(g) for g in groups)] + list(paths),
                        timeout=60, what="the SQLite probe")
        return json.loads(r.stdout.decode())

    # --- 7: stop and purge ---------------------------------------------------

    def stop_relayd(self):
        p, self.relayd = self.relayd, None
        if p is None or p.poll() is not None:
            return p.returncode if p is not None else None
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        return p.returncode

    def purge(self):
        check(self.installed, "the package was never installed")
        root = self.root
        if self.relayd is not None:
            rc = self.stop_relayd()
            check(rc == 0, "relayd ended with %s on SIGTERM" % rc)
            say("relayd stopped (exit 0)")
        left = self.processes_in_root()
        check(not left, "processes left in the root: %s" % left)

        with tarfile.open(fileobj=self.deb_tar()) as tf:
            members = [(m.name.lstrip("."), m.isdir())
                       for m in tf.getmembers()]
        r = root.run(["apt-get", "purge", "-y", "-q", "relay"], timeout=300)
        out = r.stdout.decode("utf-8", "replace")
        say("apt-get purged: " + " ".join(re.findall(
            r"^Purging configuration files for (\S+)", out, re.M)))
        problems = []
        r = root.run(["dpkg-query", "-W", "relay"], check=False)
        if r.returncode == 0:
            problems.append("dpkg still knows relay: %s" %
                            r.stdout.decode().strip())
        for db in ("passwd", "group", "shadow", "gshadow"):
            with open(root.p("/etc/" + db)) as f:
                for line in f:
                    if line.split(":", 1)[0] == "relay":
                        problems.append("/etc/%s still has relay" % db)
        for path in ("/var/spool/relay", "/etc/relay", "/run/relay",
                     "/var/log/relay"):
            if os.path.lexists(root.p(path)):
                problems.append("%s is still there" % path)
        owned = self.owned()
        for path, isdir in members:
            if not path or path == "/":
                continue
            rel = self.canon(path)
            if isdir and (rel in self.before or rel in owned):
                continue
            if os.path.lexists(root.p(path)):
                problems.append("%s of the package is still there" % path)
        r = root.run(["dpkg-statoverride", "--list"], check=False)
        if b"/usr/sbin/sendmail" in r.stdout:
            problems.append("a statoverride for /usr/sbin/sendmail stays: "
                            + r.stdout.decode().strip())
        for link in ("/usr/sbin/sendmail", "/usr/lib/sendmail",
                     "/usr/bin/mailq", "/usr/bin/newaliases"):
            if os.path.islink(root.p(link)):
                problems.append("%s is a link left behind" % link)
        dangling = sorted(self.dangling() - self.dangling_before)
        if dangling:
            problems.append("dangling links: %s" % dangling)
        leftovers = self.leftovers()
        if leftovers:
            problems.append("new files owned by no package: %s" % leftovers)
        check(not problems, "after apt-get purge relay:\n  " +
              "\n  ".join(problems))

    def deb_tar(self):
        r = debroot.run(["dpkg-deb", "--fsys-tarfile", self.deb])
        return io.BytesIO(r.stdout)

    # Paths that change in any Debian root while packages come and go, or
    # that this test made itself.
    IGNORED = ("var/lib/dpkg/", "var/lib/apt/", "var/cache/", "var/log/",
               "tmp/", "var/tmp/", "home/", "var/mail/", "root/",
               "etc/ssl/certs/", "etc/ca-certificates.conf",
               "usr/local/share/ca-certificates", "run/adduser",
               "etc/passwd-", "etc/group-", "etc/shadow-", "etc/gshadow-",
               "etc/subuid", "etc/subgid", "etc/ld.so.cache")

    def canon(self, path):
        """path relative to the root, through the root's top-level links
        (/lib -> usr/lib on a merged-/usr system), as snapshot() has it."""
        first, _, rest = path.strip("/").partition("/")
        link = self.root.p("/" + first)
        if os.path.islink(link):
            first = os.path.normpath(os.readlink(link)).lstrip("/")
        return os.path.join(first, rest) if rest else first

    def owned(self):
        """Every path of every installed package (canonical)."""
        owned = set()
        for lst in glob.glob(self.root.p("/var/lib/dpkg/info/*.list")):
            with open(lst, errors="replace") as f:
                owned.update(self.canon(l.rstrip("\n")) for l in f
                             if l.strip("/\n"))
        return owned

    def leftovers(self):
        """Paths that appeared since before the install, are owned by no
        installed package and are not ordinary churn."""
        owned = self.owned()
        found = []
        for p in sorted(self.snapshot() - self.before):
            if p in owned:
                continue
            if any(p == i.rstrip("/") or p.startswith(i)
                   for i in self.IGNORED):
                continue
            found.append("/" + p)
        return found


def inner():
    t = PackageTest()
    skipped = None
    try:
        t.run()
    except Skip as e:
        skipped = str(e)
    except Failed as e:
        say(str(e))
    finally:
        t.cleanup()
        t.summary()
    if skipped is not None:
        skip(skipped)
    if t.failures:
        say("FAILED: %s" % ", ".join(t.failures))
        return 1
    say("all steps passed")
    return 0


def main():
    if os.environ.get(NS_MARK) != "1":
        outer()
        return 1            # not reached: outer() execs or exits
    return inner()


if __name__ == "__main__":
    sys.exit(main())
