#!/usr/bin/env python3
"""test_docs_lint.py - the documentation and the unit file stay correct and
in step with the code.

1. `mandoc -T lint` on the four man pages prints nothing.  The one kind of
   message accepted is about a cross reference (.Xr) to a page that is not
   installed on this machine: whether sendmail(8) or relayd(8) is in the
   man path says something about the machine, not the page.
2. `systemd-analyze verify` accepts packaging/systemd/relayd.service (with
   ExecStart pointed at the built relayd, since verify wants the program
   to exist).  Skipped (exit 77) only when systemd-analyze is missing.
3. Every key of the libconfuse tables in src/mail/conf.c appears in
   etc/relay.conf (as a setting line) and in man/relay.conf.5 (as an
   `.It Ic key` entry), in the table's order, with nothing extra: the three
   cannot drift apart.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("RELAY_SRC",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("RELAY_BIN", "")
PAGES = ["man/sendmail.8", "man/relayd.8", "man/relayctl.8",
         "man/relay.conf.5"]
OWN_PAGES = {"sendmail 8", "relayd 8", "relayctl 8", "relay.conf 5"}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


# --- 1. mandoc -T lint ------------------------------------------------------

XR_MISSING = re.compile(
    r"STYLE: referenced manual not found: Xr (\S+ \d)( \(\d+ times\))?$")
XR_OUTDATED_DB = re.compile(r"outdated mandoc\.db lacks (\S+)\((\d)\) entry")


def xref_only(line):
    """Is this mandoc line only about a page missing from this machine?"""
    m = XR_MISSING.search(line)
    if m:
        return m.group(1) in OWN_PAGES
    m = XR_OUTDATED_DB.search(line)
    return m is not None


def check_mandoc():
    if shutil.which("mandoc") is None:
        fail("mandoc is missing (packaging/install-deps.sh installs it)")
        return
    for page in PAGES:
        path = os.path.join(SRC, page)
        r = subprocess.run(["mandoc", "-T", "lint", path],
                           capture_output=True, text=True, timeout=60)
        lines = (r.stdout + r.stderr).splitlines()
        bad = [ln for ln in lines if not xref_only(ln)]
        if bad:
            fail("mandoc -T lint %s:\n  %s" % (page, "\n  ".join(bad)))
        else:
            print("ok: mandoc -T lint %s" % page)
        # The page must also render: some text, its name in the header.
        r = subprocess.run(["mandoc", "-T", "ascii", path],
                           capture_output=True, text=True, timeout=60)
        name = os.path.basename(page).rsplit(".", 1)[0].upper()
        if r.returncode != 0 or name not in r.stdout.splitlines()[0]:
            fail("mandoc -T ascii %s does not render" % page)


# --- 2. systemd-analyze verify ----------------------------------------------

def check_unit(tmp):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return False
    unit = read("packaging/systemd/relayd.service")
    if "ExecStart=/usr/sbin/relayd" not in unit:
        fail("relayd.service: ExecStart is not /usr/sbin/relayd")
    for want in ["User=relay", "RuntimeDirectory=relay", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ReadWritePaths=/var/spool/relay",
                 "CapabilityBoundingSet=\n",
                 "SystemCallFilter=@system-service",
                 "ExecReload=/bin/kill -HUP $MAINPID"]:
        if want not in unit:
            fail("relayd.service lacks %r" % want)
    relayd = os.path.join(BIN, "relayd")
    if not os.access(relayd, os.X_OK):
        fail("built relayd not found at %s (RELAY_BIN)" % relayd)
        return True
    path = os.path.join(tmp, "relayd.service")
    with open(path, "w", encoding="utf-8") as f:
        f.write(unit.replace("/usr/sbin/relayd", relayd))
    # --man=no: the pages are not installed here; they are linted above.
    r = subprocess.run([tool, "verify", "--man=no", path],
                       capture_output=True, text=True, timeout=120)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0 or out:
        fail("systemd-analyze verify relayd.service (exit %d):\n%s"
             % (r.returncode, out))
    else:
        print("ok: systemd-analyze verify relayd.service")
    return True


# --- 3. conf.c <-> etc/relay.conf <-> relay.conf.5 --------------------------

def conf_tables():
    """{array name: [(key, section array or None)]} from conf.c."""
    text = read("src/mail/conf.c")
    tables = {}
    for m in re.finditer(r"static cfg_opt_t (\w+)\[\]\s*=\s*\{(.*?)CFG_END\(\)",
                         text, re.S):
        entries = []
        for e in re.finditer(r'CFG_(\w+)\(\s*"(\w+)"\s*,\s*(\w+)?',
                             m.group(2)):
            kind, key, arg = e.groups()
            entries.append((key, arg if kind == "SEC" else None))
        tables[m.group(1)] = entries
    return tables


def flatten(tables, name, depth=0):
    """The keys in documentation order: a section, then its keys."""
    out = []
    for key, sub in tables[name]:
        out.append((depth, key))
        if sub is not None:
            out.extend(flatten(tables, sub, depth + 1))
    return out


def example_keys():
    """(depth, key) of every setting line of etc/relay.conf, in order:
    "#key = v", "#key {", "#key "title" {" and the same after "#<tab>"."""
    out, depth, blocks = [], 0, 0
    setting = re.compile(r'^#(\t*)([a-z_]+)\s*(=|("[^"]*")?\s*\{\s*$)')
    for line in read("etc/relay.conf").splitlines():
        if re.match(r"^#\t*\}\s*$", line):
            depth -= 1
            continue
        m = setting.match(line)
        if not m:
            continue
        if len(m.group(1)) != depth:
            fail("etc/relay.conf: %r is indented wrongly" % line)
        out.append((depth, m.group(2)))
        if m.group(3) != "=":
            depth += 1
            blocks += 1
    if depth != 0:
        fail("etc/relay.conf: unbalanced braces in the example settings")
    return out


def man_keys():
    """(depth, key) of every `.It Ic key` entry of relay.conf.5."""
    out, depth = [], -1
    for line in read("man/relay.conf.5").splitlines():
        if line.startswith(".Bl"):
            depth += 1
        elif line.startswith(".El"):
            depth -= 1
        m = re.match(r"^\.It Ic (\w+)", line)
        if m:
            out.append((depth, m.group(1)))
    return out


def compare(what, got, want):
    if got == want:
        print("ok: %s lists every conf.c key in order" % what)
        return
    gk, wk = [k for _, k in got], [k for _, k in want]
    missing = [k for k in wk if k not in gk]
    extra = [k for k in gk if k not in wk]
    msg = "%s does not match conf.c's table" % what
    if missing:
        msg += "; missing: " + ", ".join(missing)
    if extra:
        msg += "; not in conf.c: " + ", ".join(extra)
    if not missing and not extra:
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                msg += "; first difference at entry %d: %s, expected %s" % (
                    i + 1, g, w)
                break
    fail(msg)


def check_keys():
    tables = conf_tables()
    if "conf_opts" not in tables:
        fail("conf.c: no conf_opts table found")
        return
    want = flatten(tables, "conf_opts")
    if len(want) < 40:
        fail("conf.c: only %d keys parsed; the parser is out of date"
             % len(want))
    compare("etc/relay.conf", example_keys(), want)
    # The man page's lists: the settings list is depth 1 in the file's
    # .Bl nesting only inside DESCRIPTION; normalise to relative depth.
    got = man_keys()
    if got:
        base = min(d for d, _ in got)
        got = [(d - base, k) for d, k in got]
    # In the page the smarthost keys are a list of their own (depth 0),
    # after the smarthost entry; in the table they are nested (depth 1).
    fixed, after_smarthost = [], False
    for d, k in got:
        if after_smarthost and d == 0:
            d = 1
        fixed.append((d, k))
        if k == "smarthost" and d == 0:
            after_smarthost = True
    compare("man/relay.conf.5", fixed, want)


def main():
    tmp = tempfile.mkdtemp(prefix="relay-docs-")
    try:
        check_mandoc()
        check_keys()
        had_unit_check = check_unit(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d problem(s) found" % len(failures))
        return 1
    if not had_unit_check:
        print("SKIP: systemd-analyze is missing; the man pages and keys "
              "were checked")
        return 77
    print("docs lint: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
