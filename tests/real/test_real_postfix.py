"""test_real_postfix.py - relay's SMTP client against a real Postfix from
Debian's packages, started by this test on loopback in its own config and
queue directory, with three listeners:

    implicit TLS (smtpd_tls_wrappermode) with AUTH,
    STARTTLS submission with AUTH required (Cyrus SASL, sasldb),
    plaintext (clients on 127.0.0.0/8 may relay to the test domain).

tls = auto must find implicit TLS and STARTTLS (conventions given with
tls_auto_ports for the high ports, and without them, by detection), AUTH
must succeed with PLAIN and LOGIN and fail with a wrong password, and each
message must turn up in Postfix's mailbox (a Maildir under the test
directory).  Postfix is stopped afterwards.  Skips (77) only when Postfix
itself is not installed.
"""

import glob
import os
import pwd
import shutil
import subprocess
import sys
import time

from nettest import NetTest, check, free_port, run

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SASLPASSWD = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"
REALM = "relay-test.localdomain"
DOMAIN = "example.test"

if not os.path.exists(POSTFIX):
    print("postfix not installed: skipped")
    sys.exit(77)


class Postfix:
    def __init__(self, t):
        self.t = t
        self.dir = t.path("postfix")
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.mail = os.path.join(self.dir, "mail")
        self.log = os.path.join(self.dir, "maillog")
        self.ports = {"implicit": free_port(), "submission": free_port(),
                      "plain": free_port()}
        self.started = False

    def write(self):
        for d in (self.conf, self.queue, self.data, self.mail):
            os.makedirs(d, exist_ok=True)
        pf = pwd.getpwnam("postfix")
        nobody = pwd.getpwnam("nobody")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        cert, key = self.t.certs.good
        sasl = os.path.join(self.conf, "sasl")
        os.makedirs(sasl, exist_ok=True)
        db = os.path.join(sasl, "sasldb2")
        with open(os.path.join(sasl, "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                    "mech_list: PLAIN LOGIN\nsasldb_path: %s\n" % db)
        subprocess.run([SASLPASSWD, "-p", "-c", "-f", db, "-u", REALM,
                        "user"], input=b"secret", check=True, timeout=30)
        os.chown(db, 0, pf.pw_gid)
        os.chmod(db, 0o640)
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
            "smtpd_tls_cert_file": cert,
            "smtpd_tls_key_file": key,
            "smtpd_tls_security_level": "may",
            "smtpd_sasl_type": "cyrus",
            "cyrus_sasl_config_path": sasl,
            "smtpd_sasl_local_domain": REALM,
            "smtpd_sasl_path": "smtpd",
            "smtpd_relay_restrictions":
                "permit_mynetworks, permit_sasl_authenticated, "
                "reject_unauth_destination",
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
        for name, kind, extra in [
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
                ("showq", "unix", "n - n - - showq")]:
            services.append("%s %s %s" % (name, kind, extra))
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

    def start(self):
        self.write()
        self.postfix("start")
        self.started = True
        for _ in range(100):
            if all(self.listening(p) for p in self.ports.values()):
                return
            time.sleep(0.1)
        raise AssertionError("postfix did not listen:\n" + self.maillog())

    def listening(self, port):
        import socket
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()

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

    def delivered(self, marker, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            for p in glob.glob(os.path.join(self.mail, "rcpt", "new", "*")):
                with open(p, "rb") as f:
                    if marker in f.read():
                        return True
            time.sleep(0.2)
        return False


def message(marker):
    return (b"From: sender@" + DOMAIN.encode() + b"\r\nTo: rcpt@" +
            DOMAIN.encode() + b"\r\nSubject: relay interop " + marker +
            b"\r\n\r\nHello from relay.\r\n.a line with a dot\r\n" + marker +
            b"\r\n")


def test_postfix_interop():
    with NetTest("postfix") as t:
        pf = Postfix(t)
        try:
            pf.start()
            pw = t.secret()
            auth = 'username = "user"\npassword_file = "%s"' % pw
            conventions = ["%d:implicit" % pf.ports["implicit"],
                           "%d:starttls" % pf.ports["submission"]]
            cases = [
                ("implicit", pf.ports["implicit"], conventions,
                 auth + '\nauth_mechanisms = "PLAIN"', "implicit"),
                ("submission", pf.ports["submission"], conventions,
                 auth + '\nauth_mechanisms = "LOGIN"', "starttls"),
                ("detected", pf.ports["submission"], None, auth,
                 "starttls"),
                ("plain", pf.ports["plain"], None, "", "none"),
            ]
            for name, port, ports, extra, mode in cases:
                marker = ("marker-%s-%d" % (name, time.time_ns())).encode()
                conf = t.conf(port=port, auto_ports=ports, extra=extra,
                              tls="none" if mode == "none" else "auto",
                              spool=t.path("spool-" + name))
                r = t.send(conf, rcpts=["rcpt@" + DOMAIN],
                           data=message(marker),
                           args=["-f", "sender@" + DOMAIN])
                check(r.rc == 0, "%s: send failed\n%s" % (name,
                                                          pf.maillog()), r)
                check(r.open["mode"] == mode, "%s: mode" % name, r)
                if extra:
                    check(r.open["auth"] == "ok", "%s: auth" % name, r)
                check(r.rcpts[0]["code"] == 250, "%s: 250" % name, r)
                check(pf.delivered(marker), "%s: not in the mailbox\n%s" %
                      (name, pf.maillog()))
            # Wrong password: auth_failed, a relay fault, nothing sent.
            bad = t.secret("wrong", name="bad")
            r = t.send(t.conf(port=pf.ports["submission"],
                              auto_ports=conventions,
                              extra='username = "user"\n'
                              'password_file = "%s"' % bad),
                       rcpts=["rcpt@" + DOMAIN])
            check(r.open["reason"] == "auth_failed" and
                  r.open["class"] == "relay_fault", "wrong password", r)
            # The submission port requires AUTH: without credentials the
            # recipient is refused by Postfix.
            r = t.send(t.conf(port=pf.ports["submission"],
                              auto_ports=conventions),
                       rcpts=["rcpt@" + DOMAIN])
            check(r.rc == 1 and r.rcpts and
                  r.rcpts[0]["code"] >= 500, "AUTH required", r)
        finally:
            pf.stop()


run([test_postfix_interop])
