"""certs.py - a test CA and server certificates made by the openssl command
at test time (nothing secret or long-lived is checked in).

    c = certs.make(tmpdir)
    c.ca            trusted CA certificate (PEM) - put it in ca_file
    c.good          (cert, key) for localhost, 127.0.0.1 and ::1
    c.untrusted     same names, signed by a CA nobody trusts
    c.expired       same names, signed by the CA, expired in 2020
    c.wronghost     signed by the CA for wrong.example.invalid only
    c.client        (cert, key) of a client certificate signed by the CA
    c.fingerprint(cert)       "sha256:<hex>" of the certificate
    c.spki_fingerprint(cert)  "sha256:<hex>" of its public key

Keys are P-256 (fast to generate).  Certificates are made once per
directory: make() on the same directory again reuses them.
"""

import os
import subprocess

_CA_CNF = """
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
certificate = {d}/{name}.pem
private_key = {d}/{name}.key
serial = {d}/serial
default_md = sha256
policy = policy_any
copy_extensions = none
unique_subject = no
email_in_dn = no
[ policy_any ]
commonName = supplied
"""


def _run(*args, cwd=None):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" %
                           (args[0], r.stderr.decode(errors="replace")))
    return r.stdout


class Certs:
    def __init__(self, d):
        self.dir = d
        self.ca = os.path.join(d, "ca.pem")
        self.other_ca = os.path.join(d, "otherca.pem")
        self.good = self._pair("good")
        self.untrusted = self._pair("untrusted")
        self.expired = self._pair("expired")
        self.wronghost = self._pair("wronghost")
        self.client = self._pair("client")

    def _pair(self, name):
        return (os.path.join(self.dir, name + ".pem"),
                os.path.join(self.dir, name + ".key"))

    def fingerprint(self, cert):
        out = _run("x509", "-in", cert, "-noout", "-fingerprint", "-sha256")
        hexpart = out.decode().strip().split("=", 1)[1].replace(":", "")
        return "sha256:" + hexpart.lower()

    def spki_fingerprint(self, cert):
        pub = _run("x509", "-in", cert, "-noout", "-pubkey")
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                             input=pub, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=60,
                             check=True).stdout
        dig = subprocess.run(["openssl", "dgst", "-sha256", "-hex"],
                             input=der, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=60,
                             check=True).stdout
        return "sha256:" + dig.decode().strip().split()[-1].lower()


def _make_ca(d, name, cn):
    key = os.path.join(d, name + ".key")
    cert = os.path.join(d, name + ".pem")
    _run("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
         "-days", "3650", "-subj", "/CN=" + cn,
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    cadir = os.path.join(d, name + ".db")
    os.makedirs(os.path.join(cadir, "newcerts"), exist_ok=True)
    with open(os.path.join(cadir, "index.txt"), "w"):
        pass
    with open(os.path.join(cadir, "serial"), "w") as f:
        f.write("1000\n")
    cnf = os.path.join(cadir, "ca.cnf")
    with open(cnf, "w") as f:
        f.write(_CA_CNF.format(d=cadir, name="../" + name))
    return cnf


def _make_leaf(d, name, ca_cnf, cn, sans, dates=None, client=False):
    key = os.path.join(d, name + ".key")
    csr = os.path.join(d, name + ".csr")
    cert = os.path.join(d, name + ".pem")
    ext = os.path.join(d, name + ".ext")
    _run("req", "-new", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=" + cn)
    with open(ext, "w") as f:
        f.write("[ v3 ]\nbasicConstraints = CA:FALSE\n")
        f.write("keyUsage = critical,digitalSignature\n")
        f.write("extendedKeyUsage = %s\n" %
                ("clientAuth" if client else "serverAuth"))
        if sans:
            f.write("subjectAltName = %s\n" % ",".join(sans))
    args = ["ca", "-batch", "-config", ca_cnf, "-in", csr, "-out", cert,
            "-extfile", ext, "-extensions", "v3", "-notext"]
    if dates:
        args += ["-startdate", dates[0], "-enddate", dates[1]]
    else:
        args += ["-days", "825"]
    _run(*args)
    os.chmod(key, 0o600)
    return cert, key


def make(d):
    """Create (or reuse) the test certificates in directory d."""
    os.makedirs(d, exist_ok=True)
    if os.path.exists(os.path.join(d, "client.pem")):
        return Certs(d)
    names = ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    ca = _make_ca(d, "ca", "relay test CA")
    other = _make_ca(d, "otherca", "untrusted test CA")
    _make_leaf(d, "good", ca, "localhost", names)
    _make_leaf(d, "untrusted", other, "localhost", names)
    _make_leaf(d, "expired", ca, "localhost", names,
               dates=("20200101000000Z", "20200201000000Z"))
    _make_leaf(d, "wronghost", ca, "wrong.example.invalid",
               ["DNS:wrong.example.invalid"])
    _make_leaf(d, "client", ca, "relay test client", [], client=True)
    return Certs(d)
