"""test_deliver_postfix.py - relayd's queue runner against a real Postfix
on loopback (tests/lib/postfixlab.py): messages submitted with sendmail go
out at once over STARTTLS with AUTH (the mode found by tls = auto, then
cached), several over one connection, each lands in Postfix's mailbox, and
a recipient Postfix refuses with 550 comes back to the sender as an
RFC 3464 report that Postfix delivers too.  Skips (77) when Postfix is not
installed or not running as root.
"""

import email
import email.policy
import os

import delivertest as dt
import postfixlab
import relaytest as rt

if not postfixlab.available():
    rt.skip("postfix and saslpasswd2 needed, as root")

SENDER = "rcpt@" + postfixlab.DOMAIN


def test_postfix_delivery():
    with dt.Lab([], auth=True) as lab:
        pf = postfixlab.Postfix(os.path.join(lab.dir, "postfix"),
                                *lab.certs.good)
        try:
            pf.start()
            lab.set_hosts([lab.block("postfix", pf.ports["submission"])])
            lab.env.start()
            for i in range(5):
                lab.send(["rcpt@" + postfixlab.DOMAIN],
                         b"Subject: real %d\n\nhello %d\n" % (i, i),
                         sender=SENDER)
            assert pf.wait_delivered(5), pf.maillog()
            lab.wait(lambda: lab.states() == {"sent": 5}, "all sent")
            # "Ok: queued as" after DATA, "Ok: N bytes queued as" after
            # BDAT (Postfix offers CHUNKING)
            sent = [l for l in lab.log_lines("status=sent (250 2.0.0 Ok: ")
                    if " queued as " in l]
            assert len(sent) == 5, lab.env.log()
            assert all("tls=TLSv1.3 starttls" in l or
                       "tls=TLSv1.2 starttls" in l for l in sent), sent
            assert lab.env.query(
                "SELECT mode FROM tls_cache") == [("starttls",)]
            handshakes = pf.log_count("TLS connection established from")
            print("real Postfix: 5 messages, %d TLS handshake(s)" %
                  handshakes)
            assert 1 <= handshakes <= 5, handshakes
            # a recipient Postfix refuses: bounced back to the sender
            lab.send(["nobody@" + postfixlab.DOMAIN],
                     b"Subject: refused\n\nx\n", sender=SENDER)
            assert pf.wait_delivered(6), pf.maillog()
            reports = []
            for path in pf.mailbox_files():
                with open(path, "rb") as f:
                    data = f.read()
                if b"multipart/report" in data:
                    reports.append(data)
            assert len(reports) == 1, len(reports)
            data = reports[0]
            msg = email.message_from_bytes(data,
                                           policy=email.policy.compat32)
            assert msg.get_content_type() == "multipart/report", data[:500]
            per = msg.get_payload()[1].get_payload()[1]
            assert per["Final-Recipient"] == "rfc822; nobody@" + \
                postfixlab.DOMAIN
            assert per["Status"].startswith("5."), per["Status"]
            assert per["Diagnostic-Code"].startswith("smtp; 550"), \
                per["Diagnostic-Code"]
            assert msg["Return-Path"] == "<>", msg["Return-Path"]
        finally:
            pf.stop()


rt.main([test_postfix_delivery])
