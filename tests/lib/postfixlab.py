"""postfixlab.py - a real Postfix from Debian's packages, started on
loopback in its own configuration and queue directory, for relay's
interop, delivery tests and benchmarks.

    pf = Postfix(directory, cert, key)
    pf.start()
    pf.ports["implicit"]     implicit TLS (wrappermode) with AUTH
    pf.ports["submission"]   STARTTLS, AUTH required (user / secret)
    pf.ports["plain"]        plaintext, relaying for 127.0.0.0/8
    pf.mailbox_files()       delivered files of rcpt@example.test
    pf.wait_delivered(n)     until n files arrived
    pf.log_count(text)       lines of Postfix's log containing text
    pf.stop()

available() says whether Postfix and saslpasswd2 are installed.  Must run
as root (Postfix drops to its own users).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SASLPASSWD = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"
REALM = "relay-test.localdomain"
DOMAIN = "example.test"


def available():
    return os.path.exists(POSTFIX) and os.path.exists(SASLPASSWD) and \
        os.geteuid() == 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


SERVICES = [
    ("pickup", "unix", "n - n 60 1 pickup"),
    ("cleanup", "unix", "n - n - 0 cleanup"),
    ("qmgr", "unix", "n - n 300 1 qmgr"),
    ("tlsmgr", "unix", "- - n 1000? 1 tlsmgr"),
    ("rewrite", "unix", "- - n - - trivial-rewrite"),
    ("bounce", "unix", "- - n - 0 bounce"),
    ("defer", "unix", "- - n - 0 bounce"),
    ("trace", "unix", "- - n - 0 bounce"),
    ("verify", "unix", "- - n - 1 verify"),
    ("flush", "unix", "n - n 1000? 0 flush"),
    ("proxymap", "unix", "- - n - - proxymap"),
    ("smtp", "unix", "- - n - - smtp"),
    ("relay", "unix", "- - n - - smtp"),
    ("error", "unix", "- - n - - error"),
    ("retry", "unix", "- - n - - error"),
    ("discard", "unix", "- - n - - discard"),
    ("local", "unix", "- n n - - local"),
    ("virtual", "unix", "- n n - - virtual"),
    ("anvil", "unix", "- - n - 1 anvil"),
    ("scache", "unix", "- - n - 1 scache"),
    ("postlog", "unix-dgram", "n - n - 1 postlogd"),
    ("showq", "unix", "n - n - - showq")]


class Postfix:
    def __init__(self, directory, cert, key):
        self.dir = directory
        self.cert, self.key = cert, key
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.mail = os.path.join(self.dir, "mail")
        self.log = os.path.join(self.dir, "maillog")
        self.ports = {"implicit": free_port(), "submission": free_port(),
                      "plain": free_port()}
        self.started = False

    def _sasl(self):
        sasl = os.path.join(self.conf, "sasl")
        os.makedirs(sasl, exist_ok=True)
        db = os.path.join(sasl, "sasldb2")
        with open(os.path.join(sasl, "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                    "mech_list: PLAIN LOGIN\nsasldb_path: %s\n" % db)
        subprocess.run([SASLPASSWD, "-p", "-c", "-f", db, "-u", REALM,
                        "user"], input=b"secret", check=True, timeout=30)
        pf = pwd.getpwnam("postfix")
        os.chown(db, 0, pf.pw_gid)
        os.chmod(db, 0o640)
        return sasl

    def write(self):
        for d in (self.conf, self.queue, self.data, self.mail):
            os.makedirs(d, exist_ok=True)
        pf = pwd.getpwnam("postfix")
        nobody = pwd.getpwnam("nobody")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        sasl = self._sasl()
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": REALM,
            "mydomain": "localdomain",
            "myorigin": REALM,
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "maillog_file": self.log,
            "maillog_file_prefixes": self.dir,
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "inline:{ {rcpt@%s = rcpt/} }" % DOMAIN,
            "virtual_uid_maps": "static:%d" % nobody.pw_uid,
            "virtual_gid_maps": "static:%d" % nobody.pw_gid,
            "virtual_minimum_uid": "1",
            "smtpd_tls_cert_file": self.cert,
            "smtpd_tls_key_file": self.key,
            "smtpd_tls_security_level": "may",
            "smtpd_tls_loglevel": "1",
            "smtpd_sasl_type": "cyrus",
            "cyrus_sasl_config_path": sasl,
            "smtpd_sasl_local_domain": REALM,
            "smtpd_sasl_path": "smtpd",
            "smtpd_relay_restrictions":
                "permit_mynetworks, permit_sasl_authenticated, "
                "reject_unauth_destination",
            "smtpd_client_connection_rate_limit": "0",
            "smtpd_client_message_rate_limit": "0",
            "alias_maps": "", "alias_database": "",
            "biff": "no",
            "smtputf8_enable": "yes",
        }
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write("%s = %s\n" % (k, v))
        auth = "-o smtpd_sasl_auth_enable=yes"
        services = [
            "%d inet n - n - - smtpd" % self.ports["plain"],
            "%d inet n - n - - smtpd -o smtpd_tls_security_level=encrypt "
            "%s -o smtpd_client_restrictions=permit_sasl_authenticated,"
            "reject -o smtpd_tls_auth_only=yes" % (self.ports["submission"],
                                                   auth),
            "%d inet n - n - - smtpd -o smtpd_tls_wrappermode=yes %s" %
            (self.ports["implicit"], auth),
        ]
        services += ["%s %s %s" % s for s in SERVICES]
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write("\n".join(services) + "\n")

    def postfix(self, *args, check_rc=True):
        env = dict(os.environ, MAIL_CONFIG=self.conf)
        r = subprocess.run([POSTFIX, "-c", self.conf] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60, env=env)
        if check_rc and r.returncode != 0:
            raise AssertionError("postfix %s: %s" %
                                 (" ".join(args), r.stdout.decode()))
        return r

    def _listening(self, port):
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def start(self):
        self.write()
        self.postfix("start")
        self.started = True
        for _ in range(100):
            if all(self._listening(p) for p in self.ports.values()):
                return
            time.sleep(0.1)
        raise AssertionError("postfix did not listen:\n" + self.maillog())

    def stop(self):
        if self.started:
            self.postfix("stop", check_rc=False)
            self.started = False

    def maillog(self):
        try:
            with open(self.log) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def log_count(self, text):
        try:
            with open(self.log, errors="replace") as f:
                return sum(1 for l in f if text in l)
        except OSError:
            return 0

    def mailbox_files(self):
        return sorted(glob.glob(os.path.join(self.mail, "rcpt", "new", "*")))

    def wait_delivered(self, n, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.mailbox_files()) >= n:
                return True
            time.sleep(0.05)
        return False
