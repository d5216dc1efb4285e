"""test_tls_certs.py - certificate verification: untrusted, expired and
wrong-host certificates fail with their named reason and no other mode is
tried; address literals are checked against IP SANs (IPv4 and IPv6);
trust never comes from SSL_CERT_FILE / SSL_CERT_DIR; fingerprint pins,
client certificates and tls_min.
"""

import ssl

from nettest import NetTest, check, run

BAD = [("untrusted", "unable to get local issuer certificate"),
       ("expired", "certificate has expired"),
       ("wronghost", "hostname mismatch")]


def test_bad_certificates_implicit_and_starttls():
    with NetTest("certs") as t:
        for name, why in BAD:
            cert = getattr(t.certs, name)
            imp = t.fake.listen("implicit", cert=cert)
            st = t.fake.listen("starttls", cert=cert)
            t.fake.start()
            ports = ["%d:implicit" % imp.port, "%d:starttls" % st.port]
            for l in (imp, st):
                r = t.send(t.conf(port=l.port, auto_ports=ports))
                check(r.rc == 1, "%s accepted on %s" % (name, l.kind), r)
                check(r.open["reason"] == "certificate_rejected",
                      "%s: reason" % name, r)
                check(r.open["class"] == "relay_fault", "class", r)
                check(why in r.open["msg"], "%s: X509 reason" % name, r)
                check(l.connections == 1, "%s on %s: %d connections; no "
                      "other mode may be tried" % (name, l.kind,
                                                   l.connections))
                check(not any(s.rx_tls for s in l.sessions),
                      "nothing sent inside a rejected TLS session")
                check(r.open["connections"] == 1, "client count", r)
            # No port: the first port's certificate failure ends it.
            r = t.send(t.conf(port=0, auto_ports=ports))
            check(r.open["reason"] == "certificate_rejected", "no port", r)
            check(imp.connections == 2 and st.connections == 1,
                  "no port: nothing else tried after a certificate "
                  "failure")
        check(t.tls_cache() == [], "a failed session is never cached")
        check(not t.fake.messages, "nothing delivered")


def test_ip_literals():
    with NetTest("certs") as t:
        l4 = t.fake.listen("implicit")
        l6 = t.fake.listen("starttls", host="::1")
        bad = t.fake.listen("implicit", cert=t.certs.wronghost)
        t.fake.start()
        r = t.send(t.conf(host="127.0.0.1", port=l4.port))
        check(r.rc == 0 and r.open["relay"].startswith("127.0.0.1["),
              "IPv4 literal", r)
        r = t.send(t.conf(host="::1", port=l6.port,
                          auto_ports=["%d:starttls" % l6.port]))
        check(r.rc == 0 and r.open["mode"] == "starttls", "IPv6", r)
        check("[::1]" in r.open["relay"], "relay text", r)
        r = t.send(t.conf(host="127.0.0.1", port=bad.port))
        check(r.open["reason"] == "certificate_rejected" and
              "IP address mismatch" in r.open["msg"], "IP SAN checked", r)


def test_trust_never_from_environment():
    with NetTest("certs") as t:
        l = t.fake.listen("implicit")
        t.fake.start()
        env = {"SSL_CERT_FILE": t.certs.ca,
               "SSL_CERT_DIR": t.path("certs")}
        r = t.send(t.conf(port=l.port, ca=False), env=env)
        check(r.open["reason"] == "certificate_rejected",
              "the test CA in SSL_CERT_FILE must not be trusted", r)
        check(r.open["connections"] == 1, "one try", r)
        r = t.send(t.conf(port=l.port), env=env)
        check(r.rc == 0, "ca_file trusts it", r)


def test_fingerprint_pin():
    with NetTest("certs") as t:
        l = t.fake.listen("implicit")
        t.fake.start()
        fp = t.certs.fingerprint(t.certs.good[0])
        spki = t.certs.spki_fingerprint(t.certs.good[0])
        for pin in (fp, spki, fp.upper().replace("SHA256:", "sha256:")):
            r = t.send(t.conf(port=l.port,
                              extra='fingerprint = "%s"' % pin))
            check(r.rc == 0, "pin %s" % pin, r)
        other = t.certs.fingerprint(t.certs.expired[0])
        r = t.send(t.conf(port=l.port, extra='fingerprint = "%s"' % other))
        check(r.open["reason"] == "certificate_rejected" and
              "fingerprint" in r.open["msg"], "wrong pin", r)
        r = t.send(t.conf(port=l.port, extra='fingerprint = "sha256:zz"'))
        check(r.open["reason"] == "config_error", "malformed pin", r)
        check(l.connections == 4, "a config error never connects")


def test_client_certificate():
    with NetTest("certs") as t:
        l = t.fake.listen("implicit")
        l.behave(client_ca=t.certs.ca)
        t.fake.start()
        r = t.send(t.conf(port=l.port))
        check(r.rc == 1 and r.open["reason"] in
              ("tls_handshake_failed", "connection_lost"),
              "no client certificate", r)
        cert, key = t.certs.client
        r = t.send(t.conf(port=l.port, extra='client_cert = "%s"\n'
                          'client_key = "%s"' % (cert, key)))
        check(r.rc == 0, "with the client certificate", r)
        r = t.send(t.conf(port=l.port, extra='client_cert = "%s"\n'
                          'client_key = "%s"' % (cert, t.certs.good[1])))
        check(r.open["reason"] == "config_error" and
              "client_key" in r.open["msg"], "mismatched key", r)


def test_tls_min():
    with NetTest("certs") as t:
        l = t.fake.listen("implicit")
        l.behave(tls_max=ssl.TLSVersion.TLSv1_2)
        t.fake.start()
        r = t.send(t.conf(port=l.port))
        check(r.rc == 0 and "TLSv1.2" in r.open["tls"], "1.2 allowed", r)
        r = t.send(t.conf(port=l.port, extra='tls_min = "1.3"'))
        check(r.open["reason"] == "tls_handshake_failed", "1.3 required", r)
        check(r.open["class"] == "relay_fault", "class", r)
        r = t.send(t.conf(port=l.port, ca=t.path("missing.pem")))
        check(r.open["reason"] == "config_error" and
              "ca_file" in r.open["msg"], "missing ca_file", r)


run([test_bad_certificates_implicit_and_starttls, test_ip_literals,
     test_trust_never_from_environment, test_fingerprint_pin,
     test_client_certificate, test_tls_min])
