"""A real -bs client: Symfony Mailer (Debian's php-symfony-mailer) with its
sendmail transport in the default -bs mode, pointed at the built
sendmail.  A tiny PHP script sends two messages in one process (Symfony
starts one sendmail -bs per message); both must be acknowledged, sit in
the spool intact, and reach the fake smarthost with the same bodies
(lines starting with dots included).  Skipped (77) without php-cli and
php-symfony-mailer.
"""

import email
import email.policy
import os
import shutil

import delivertest as dt
import relaytest as rt

AUTOLOAD = "/usr/share/php/Symfony/Component/Mailer/autoload.php"

SCRIPT = r"""<?php
require_once '%s';

use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mime\Email;

$mailer = new Mailer(new SendmailTransport($argv[1]));
for ($i = 1; $i <= 2; $i++) {
    $email = (new Email())
        ->from('App <app@example.com>')
        ->to('bob@example.net')
        ->bcc('audit@example.net')
        ->subject("Symfony message $i")
        ->text("Hello $i\n.\n..two dots\nend of message $i\n");
    $mailer->send($email);
    echo "sent $i\n";
}
"""


def texts(data):
    """The message and its decoded text part with LF line ends.  Symfony
    writes "\r\n.\r\n" after a message that already ends in CRLF, so a
    received copy ends with one more empty line (Postfix stores the same);
    trailing line ends are therefore compared as one."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return msg, text.rstrip("\n") + "\n"


def test_symfony_mailer():
    if shutil.which("php") is None or not os.path.exists(AUTOLOAD):
        rt.skip("php-cli and php-symfony-mailer are not installed")
    with dt.Lab(["implicit"]) as lab:
        env = lab.env
        script = os.path.join(env.dir, "send.php")
        with open(script, "w") as f:
            f.write(SCRIPT % AUTOLOAD)
        env.start()
        cmd = "%s -C %s -bs" % (rt.bin_path("sendmail"), env.conf_path)
        r = rt.run(["php", script, cmd], timeout=120)
        out = r.stdout.decode(errors="replace")
        assert r.returncode == 0, (out, r.stderr.decode(errors="replace"))
        assert out.splitlines() == ["sent 1", "sent 2"], out

        rows = env.query("SELECT qid, sender FROM messages ORDER BY qid")
        assert len(rows) == 2, rows
        for i, (qid, sender) in enumerate(rows, 1):
            assert sender == "app@example.com", sender
            rcpts = sorted(a for (a,) in env.query(
                "SELECT address FROM recipients WHERE qid = ?", (qid,)))
            assert rcpts == ["audit@example.net", "bob@example.net"], rcpts
            stored = env.body(qid)
            assert b"Bcc:" not in stored.split(b"\r\n\r\n")[0], stored
            msg, text = texts(stored)
            assert msg["Subject"] == "Symfony message %d" % i
            assert text == \
                "Hello %d\n.\n..two dots\nend of message %d\n" % (i, i), text

        lab.wait(lambda: len(lab.fake.messages) == 2, "both delivered")
        got = sorted(lab.fake.messages, key=lambda m: m["data"])
        for i, m in enumerate(got, 1):
            assert m["mail_from"] == "app@example.com", m
            assert sorted(m["rcpts"]) == ["audit@example.net",
                                          "bob@example.net"], m
            msg, text = texts(m["data"])
            assert msg["Subject"] == "Symfony message %d" % i
            assert text == \
                "Hello %d\n.\n..two dots\nend of message %d\n" % (i, i), text
        lab.wait(lambda: lab.states() == {"sent": 2}, "both sent")


if __name__ == "__main__":
    rt.main([test_symfony_mailer])
