"""debroot.py - a throwaway Debian 12 root for the package tests (python3
standard library; needs root, debootstrap, chroot, mount and tar).

    import debroot

    mirror = debroot.host_mirror()          # the host's own Debian mirror
    root = debroot.Root(parent_dir)         # an empty directory
    root.bootstrap(mirror, cache_dir)       # debootstrap, or the day's cache
    with root.mounted():                    # /proc and /dev inside
        r = root.run(["apt-get", "install", "-y", "/tmp/x.deb"])
        r = root.run_as("alice", ["mail", "-s", "test", "root"], b"hi\\n")
    root.remove()                           # refuses while anything is
                                            # still mounted below it

The mirror is read at run time from the host's apt sources (one-line
sources.list files and deb822 .sources files), so the tests name no mirror
themselves.  The bootstrapped root (debootstrap --variant=minbase plus
`apt-get update`) is kept as a tarball in cache_dir, keyed by the date, the
architecture and the mirror: later runs the same day unpack it in seconds.

Every run of a program prints nothing; callers print what they need.
Skip is raised when a prerequisite cannot work on this machine.
"""

import glob
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse

SUITE = "bookworm"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Skip(Exception):
    """A prerequisite that cannot work here (exit 77 with the reason)."""


class Failed(AssertionError):
    pass


def run(argv, input=b"", timeout=600, env=None, check=True, what=None):
    """argv with input on stdin, output captured; on a non-zero exit (with
    check) raise Failed showing the command and the tail of its output."""
    try:
        r = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise Failed("%s: timed out after %ss\n%s" % (
            what or " ".join(argv), timeout,
            tail((e.stdout or b"") + (e.stderr or b""))))
    if check and r.returncode != 0:
        raise Failed("%s: exit %d\n%s" % (what or " ".join(argv),
                                          r.returncode,
                                          tail(r.stdout + r.stderr)))
    return r


def tail(data, lines=40):
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) \
        else data
    rows = text.rstrip("\n").split("\n")
    if len(rows) > lines:
        rows = ["[... %d lines before]" % (len(rows) - lines)] + \
            rows[-lines:]
    return "\n".join("    | " + r for r in rows)


# --- the host's mirror -------------------------------------------------------


def _one_line_sources(path):
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words or words[0] != "deb":
                continue
            words = words[1:]
            opts = {}
            if words and words[0].startswith("["):
                text = []
                while words:
                    w = words.pop(0)
                    text.append(w)
                    if w.endswith("]"):
                        break
                for kv in " ".join(text).strip("[]").split():
                    k, _, v = kv.partition("=")
                    opts[k.lower()] = v
            if len(words) < 2:
                continue
            out.append({"uris": [words[0]], "suites": [words[1]],
                        "signed_by": opts.get("signed-by")})
    return out


def _deb822_sources(path):
    out = []
    with open(path, errors="replace") as f:
        text = f.read()
    for para in text.split("\n\n"):
        fields = {}
        key = None
        for line in para.split("\n"):
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key is not None:
                fields[key] += "\n" + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        signed = fields.get("signed-by", "")
        out.append({"uris": fields.get("uris", "").split(),
                    "suites": fields.get("suites", "").split(),
                    "signed_by": signed if signed.startswith("/") else None})
    return out


def host_sources(etc="/etc/apt"):
    """Every enabled "deb" entry of the host's apt sources."""
    entries = []
    files = [os.path.join(etc, "sources.list")]
    files += sorted(glob.glob(os.path.join(etc, "sources.list.d", "*.list")))
    deb822 = sorted(glob.glob(os.path.join(etc, "sources.list.d",
                                           "*.sources")))
    for path in files:
        if os.path.isfile(path):
            entries += _one_line_sources(path)
    for path in deb822:
        entries += _deb822_sources(path)
    return entries


def host_mirror():
    """(uri, keyring or None): the Debian mirror the host's apt uses for
    SUITE, else the first plain "debian" archive it uses.  Raises Skip when
    the host names none."""
    entries = host_sources()
    for e in entries:
        if SUITE in e["suites"] and e["uris"]:
            return e["uris"][0], _keyring(e)
    for e in entries:
        for uri in e["uris"]:
            path = urllib.parse.urlparse(uri).path.rstrip("/")
            if path.endswith("/debian"):
                return uri, _keyring(e)
    raise Skip("the host's apt sources (/etc/apt/sources.list, "
               "/etc/apt/sources.list.d/) name no Debian archive to "
               "bootstrap %s from" % SUITE)


def _keyring(entry):
    k = entry.get("signed_by")
    return k if k and os.path.isfile(k) else None


def check_reachable(uri, timeout=15):
    """Skip when the mirror's host cannot be reached at all (an offline
    machine); a proxy in the environment is trusted to work."""
    if any(os.environ.get(v) for v in ("http_proxy", "https_proxy",
                                       "HTTP_PROXY", "HTTPS_PROXY")):
        return
    u = urllib.parse.urlparse(uri)
    if u.scheme not in ("http", "https") or not u.hostname:
        return
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        socket.create_connection((u.hostname, port), timeout=timeout).close()
    except OSError as e:
        raise Skip("the host's Debian mirror %s cannot be reached (%s); "
                   "this test needs it to bootstrap a root" % (uri, e))


# --- mounts ------------------------------------------------------------------


def mounts_below(path):
    """Mount points at or below path, deepest first (from mountinfo)."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            mp = mp.replace("\\040", " ").replace("\\011", "\t") \
                .replace("\\012", "\n").replace("\\134", "\\")
            if mp == path or mp.startswith(path + "/"):
                found.append(mp)
    return sorted(found, key=len, reverse=True)


def rmtree_unmounted(path):
    """Remove path, but never while anything is mounted below it (a bind
    mount of /dev would otherwise lose the host's device nodes)."""
    left = mounts_below(path)
    if left:
        raise Failed("not removing %s: still mounted: %s" % (path, left))
    shutil.rmtree(path, ignore_errors=True)


class Root:
    """A Debian root: top/root, top being an existing directory that the
    Root owns (remove() deletes it) or a fresh one made below parent."""

    def __init__(self, parent=None, top=None):
        if top is None:
            os.makedirs(parent, exist_ok=True)
            top = tempfile.mkdtemp(prefix="relay-pkgtest-", dir=parent)
        self.top = top
        self.path = os.path.join(self.top, "root")
        self.mounted_points = []
        self.cache_hit = None

    def p(self, inside):
        """The host path of a path inside the root."""
        return os.path.join(self.path, inside.lstrip("/"))

    # --- creation ------------------------------------------------------------

    def bootstrap(self, mirror, cache_dir, timeout=900):
        """Fill the root: from the day's cache tarball, else with
        debootstrap and `apt-get update` (then saved as that tarball)."""
        uri, keyring = mirror
        arch = run(["dpkg", "--print-architecture"]).stdout.decode().strip()
        key = hashlib.sha256(uri.encode()).hexdigest()[:8]
        name = "%s-minbase-%s-%s-%s.tar" % (SUITE, arch, key,
                                            time.strftime("%Y%m%d"))
        os.makedirs(cache_dir, exist_ok=True)
        cached = os.path.join(cache_dir, name)
        os.makedirs(self.path)
        if os.path.isfile(cached):
            self.cache_hit = cached
            run(["tar", "-C", self.path, "--numeric-owner", "-xpf", cached],
                what="unpacking the cached root " + cached)
            self._host_files()
            return
        self.cache_hit = None
        check_reachable(uri)
        argv = ["debootstrap", "--variant=minbase"]
        if keyring:
            argv.append("--keyring=" + keyring)
        argv += [SUITE, self.path, uri]
        env = dict(os.environ, LC_ALL="C", PATH=PATH)
        run(argv, timeout=timeout, env=env, what="debootstrap")
        self._host_files()
        with self.mounted():
            self.run(["apt-get", "update", "-q"], timeout=300)
            self.run(["apt-get", "clean"])
        # Keep only today's tarball; write it under a temporary name first
        # so a run that stops half-way leaves no truncated cache.
        for old in glob.glob(os.path.join(cache_dir, "%s-minbase-*.tar*" %
                                          SUITE)):
            os.unlink(old)
        tmp = cached + ".%d.part" % os.getpid()
        run(["tar", "-C", self.path, "--numeric-owner", "--one-file-system",
             "-cf", tmp, "."], what="saving the root as " + cached)
        os.replace(tmp, cached)

    def _host_files(self):
        """The host's name resolution (the root shares its network), and no
        service started by maintainer scripts inside the root."""
        for name in ("resolv.conf", "hosts"):
            src = os.path.join("/etc", name)
            dst = self.p("/etc/" + name)
            if os.path.exists(src):
                if os.path.lexists(dst):
                    os.unlink(dst)
                shutil.copyfile(src, dst)
        rc = self.p("/usr/sbin/policy-rc.d")
        with open(rc, "w") as f:
            f.write("#!/bin/sh\n# no services in a test root\nexit 101\n")
        os.chmod(rc, 0o755)

    # --- mounts --------------------------------------------------------------

    def mount(self):
        for args, point in ((["-t", "proc", "proc"], "/proc"),
                            (["--bind", "/dev"], "/dev")):
            target = self.p(point)
            os.makedirs(target, exist_ok=True)
            run(["mount"] + args + [target])
            self.mounted_points.append(target)

    def unmount(self):
        """Unmount everything below the root (lazily as a last resort);
        returns a list of problems (empty when all is gone)."""
        problems = []
        for target in mounts_below(self.path):
            r = run(["umount", target], check=False)
            if r.returncode != 0:
                r2 = run(["umount", "-l", target], check=False)
                problems.append("umount %s: %s%s" % (
                    target, r.stderr.decode(errors="replace").strip(),
                    " (lazily unmounted)" if r2.returncode == 0 else ""))
        self.mounted_points = []
        left = mounts_below(self.path)
        if left:
            problems.append("still mounted: %s" % left)
        return problems

    def mounted(self):
        root = self

        class _Ctx:
            def __enter__(self):
                root.mount()
                return root

            def __exit__(self, *exc):
                problems = root.unmount()
                if problems and exc[0] is None:
                    raise Failed("; ".join(problems))
                return False

        return _Ctx()

    def remove(self):
        problems = self.unmount()
        if problems:
            raise Failed("; ".join(problems))
        rmtree_unmounted(self.top)

    # --- running programs inside ---------------------------------------------

    def env(self, **extra):
        e = {"PATH": PATH, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive",
             "HOME": "/root"}
        e.update(extra)
        return ["env", "-i"] + ["%s=%s" % kv for kv in sorted(e.items())]

    def argv(self, argv, **env):
        """argv run as root inside the root, with a clean environment."""
        return ["chroot", self.path] + self.env(**env) + list(argv)

    def run(self, argv, input=b"", timeout=600, check=True, **env):
        return run(self.argv(argv, **env), input=input, timeout=timeout,
                   check=check, what="(in the root) " + " ".join(argv))

    def passwd(self, name):
        """(uid, gid, home) of a user of the root, or None."""
        with open(self.p("/etc/passwd")) as f:
            for line in f:
                f_ = line.rstrip("\n").split(":")
                if len(f_) >= 6 and f_[0] == name:
                    return int(f_[2]), int(f_[3]), f_[5]
        return None

    def group(self, name):
        """gid of a group of the root, or None."""
        with open(self.p("/etc/group")) as f:
            for line in f:
                f_ = line.rstrip("\n").split(":")
                if len(f_) >= 3 and f_[0] == name:
                    return int(f_[2])
        return None

    def argv_as(self, user, argv):
        """argv run inside the root as user (its uid, gid and groups, a
        login-like environment), with setpriv from the root itself."""
        uid, gid, home = self.passwd(user)
        return ["chroot", self.path, "setpriv", "--reuid=%d" % uid,
                "--regid=%d" % gid, "--init-groups", "--"] + \
            self.env(HOME=home, USER=user, LOGNAME=user, SHELL="/bin/sh") + \
            list(argv)

    def run_as(self, user, argv, input=b"", timeout=120, check=False):
        return run(self.argv_as(user, argv), input=input, timeout=timeout,
                   check=check,
                   what="(in the root, as %s) %s" % (user, " ".join(argv)))
