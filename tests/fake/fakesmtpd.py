#!/usr/bin/env python3
"""fakesmtpd.py - a scriptable fake smarthost for relay's tests (Python
standard library and its ssl module only).

As a module:

    srv = FakeSMTPD(certfile, keyfile)
    l = srv.listen("starttls")            # or "plain", "implicit"
    l.behave(starttls_reply="454 4.7.0 TLS not available")
    srv.start()
    ... l.port, l.connections, l.sessions[i].rx_plain, srv.messages ...
    srv.stop()

As a program (for benchmarks and manual runs):

    fakesmtpd.py --cert C --key K --listen implicit:0 --listen starttls:0
                 [--behave JSON] [--users JSON] [--save DIR]

prints "LISTEN <kind> <port>" for each listener and "READY", then serves
until SIGTERM or stdin closes, and prints a JSON summary.  With --save,
each message received is also written to DIR/N.eml as it arrives (N from
1), with its envelope in DIR/N.env ("MAIL FROM", "RCPT TO" lines and the
listener).

Listener kinds: "plain" (no TLS offered), "starttls" (EHLO offers STARTTLS)
and "implicit" (TLS from the first byte).  The kind of a listener may be
changed while it runs (l.kind = "implicit"), to play a server that
switched modes.

Behaviour keys (l.behave(**kw); all optional):
    greeting            greeting line, default "220 fake.test ESMTP"
    greeting_delay      seconds before the greeting
    silent              never greet (read and discard)
    offer_starttls      default: kind == "starttls"
    starttls_reply      reply to STARTTLS, default "220 2.0.0 ready"
    inject              bytes sent right after the 220 to STARTTLS
    ehlo_reply          replace the whole EHLO reply (str or bytes)
    caps                EHLO keywords, default PIPELINING SIZE 10240000
                        8BITMIME SMTPUTF8 DSN ENHANCEDSTATUSCODES
    chunking            offer CHUNKING too (RFC 3030; off by default, so
                        clients use DATA): "BDAT n [LAST]" takes exactly
                        n octets, a chunk is answered "250 2.0.0 ok" (or
                        replies["BDAT"]), LAST like a final dot (dot_hold,
                        dot_replies, drop_at_dot, replies["DOT"] apply);
                        BDAT without MAIL or RCPT gets 503 or 554, its
                        octets read and dropped; RSET drops the chunks
    auth_mechs          offered after TLS (or always with auth_plaintext)
    auth_plaintext      offer AUTH before TLS too
    auth_reply          reply to any AUTH instead of checking
    reply_delay         seconds before every reply
    trickle             seconds between the bytes of every reply
    replies             {"MAIL": "553 ...", "RCPT": ..., "RCPT:addr": ...,
                         "DATA": ..., "DOT": ..., "BDAT": ..., "RSET": ...,
                         "EHLO": ...};
                        a value may be bytes (sent raw, e.g. malformed)
    huge_reply_at       verb answered with a 100000-line reply
    drop_at             verb at which the connection is closed
    drop_in_data_after  close after this many bytes of message data
    drop_if_data_contains  bytes: close, without a reply, any message
                        whose data contains them (a "poison" message)
    dot_hold            seconds: before answering a final dot, wait up to
                        this long for the next MAIL command (a client
                        pipelining behind the dot, RFC 2920 3.1, sends it
                        without waiting for the reply)
    dot_hold_mails      how many MAIL commands dot_hold waits for (1)
    dot_replies         list: the replies to the listener's 1st, 2nd, ...
                        final dots; later dots get replies["DOT"] or 250
    drop_at_dot         n: close, without a reply, at the listener's n-th
                        final dot (after dot_hold); the message goes to
                        srv.dropped, not srv.messages

Recording: srv.messages (dicts: mail_from, mail_params, rcpts,
rcpt_params, data, wire, listener, tls, at = time.monotonic() when the
final dot (or BDAT LAST) was answered, after_dot = the bytes already
received behind the dot when it was answered, bdat = the sizes of the
BDAT chunks, or None for DATA; with BDAT, wire is the chunks' octets as
received and data the same); srv.dropped (the same, for messages
dropped by drop_at_dot); srv.mail_at (time.monotonic() of every MAIL
command received, in order); each listener's connections count and
sessions; each session's opened_at / closed_at (time.monotonic(); closed
at QUIT, or when the connection closed),
rx_plain / rx_tls (every byte received before and after TLS), chunks [(phase, bytes)] as each recv() returned them,
commands [(phase, line)], auth [(mech, user, ok)], tls (handshake done),
resumed (the client resumed an earlier TLS session), tls_error.
"""

import base64
import hashlib
import hmac
import json
import os
import select
import socket
import ssl
import sys
import threading
import time

DEFAULT_CAPS = ["PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8", "DSN",
                "ENHANCEDSTATUSCODES"]


class Closed(Exception):
    pass


class Session:
    def __init__(self, listener, sock, peer):
        self.listener = listener
        self.sock = sock
        self.peer = peer
        # what was received and sent, kept as lists of pieces and joined
        # on demand: growing one bytes object per recv() copies the whole
        # transcript each time, which made a long session quadratic
        self._rx = {"plain": [], "tls": []}
        self._tx = []
        self.out = []  # replies held while more commands wait (send)
        self.commands = []
        self.chunks = []
        self.auth = []
        self.tls = False
        self.resumed = False
        self.tls_error = None
        self.closed = False
        self.buf = b""  # received, not yet parsed from self.pos on
        self.pos = 0
        self.opened_at = time.monotonic()
        self.closed_at = None

    @property
    def rx_plain(self):
        return b"".join(self._rx["plain"])

    @property
    def rx_tls(self):
        return b"".join(self._rx["tls"])

    @property
    def tx(self):
        return b"".join(self._tx)

    # --- I/O ---------------------------------------------------------
    def phase(self):
        return "tls" if self.tls else "plain"

    def recv(self):
        try:
            data = self.sock.recv(65536)
        except (OSError, ssl.SSLError):
            data = b""
        if not data:
            raise Closed()
        self.chunks.append((self.phase(), data))
        self._rx[self.phase()].append(data)
        return data

    def more(self):
        """Append one recv() to what is left unparsed (replies held back
        go out first: the client may be waiting for them)."""
        self.flush()
        self.buf = self.buf[self.pos:] + self.recv()
        self.pos = 0

    def readline(self, limit=100000):
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i != -1:
                break
            if len(self.buf) - self.pos > limit:
                raise Closed()
            self.more()
        line = self.buf[self.pos:i]
        self.pos = i + 1
        return line.rstrip(b"\r")

    def send(self, data):
        """Queue a reply; it goes out at once unless another command is
        already waiting in the input.  Like a real server with PIPELINING
        (RFC 2920), the fake holds its replies while the client keeps
        sending and writes them together before it waits for more input
        (flush), so a pipelined group is answered with one write."""
        b = self.listener.b
        if b.get("reply_delay") or b.get("trickle"):
            self.flush()
            if b.get("reply_delay"):
                time.sleep(b["reply_delay"])
            self.write(data)
            return
        self.out.append(data)
        if self.buf.find(b"\n", self.pos) == -1:
            self.flush()

    def flush(self):
        if self.out:
            data, self.out = b"".join(self.out), []
            self.write(data)

    def write(self, data):
        b = self.listener.b
        try:
            if b.get("trickle"):
                for i in range(len(data)):
                    self.sock.sendall(data[i:i + 1])
                    time.sleep(b["trickle"])
            else:
                self.sock.sendall(data)
        except (OSError, ssl.SSLError):
            raise Closed()
        self._tx.append(data)

    def reply(self, text):
        if isinstance(text, bytes):
            self.send(text)
            return
        lines = text.split("\n")
        self.send("".join(l + "\r\n" for l in lines).encode())

    def override(self, verb, default):
        r = self.listener.b.get("replies", {})
        return r.get(verb, default)

    # --- the SMTP dialogue -------------------------------------------
    def run(self):
        b = self.listener.b
        try:
            if self.listener.kind == "implicit":
                self.start_tls()
            if b.get("silent"):
                while True:
                    self.recv()
            if b.get("greeting_delay"):
                time.sleep(b["greeting_delay"])
            self.reply(b.get("greeting", "220 fake.test ESMTP"))
            self.dialogue()
        except Closed:
            pass
        finally:
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        try:
            self.flush()
        except Closed:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def start_tls(self):
        ctx = self.listener.server.ssl_context(self.listener)
        self.flush()
        try:
            self.sock.settimeout(30)
            self.sock = ctx.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.tls_error = str(e)
            raise Closed()
        self.tls = True
        self.resumed = self.sock.session_reused
        self.buf, self.pos = b"", 0

    def caps(self):
        b = self.listener.b
        caps = list(b.get("caps", DEFAULT_CAPS))
        offer = b.get("offer_starttls", self.listener.kind == "starttls")
        if b.get("chunking") and "CHUNKING" not in caps:
            caps.append("CHUNKING")
        if offer and not self.tls:
            caps.append("STARTTLS")
        mechs = b.get("auth_mechs", ["PLAIN", "LOGIN", "CRAM-MD5"])
        if mechs and (self.tls or b.get("auth_plaintext")):
            caps.append("AUTH " + " ".join(mechs))
        return caps

    def dialogue(self):
        while True:
            line = self.readline()
            text = line.decode("utf-8", "replace")
            self.commands.append((self.phase(), text))
            verb = text.split(" ", 1)[0].upper() if text else ""
            b = self.listener.b
            if b.get("drop_at") == verb:
                raise Closed()
            if b.get("huge_reply_at") == verb:
                self.reply("\n".join(["250-" + "x" * 60] * 100000 +
                                     ["250 end"]))
                continue
            handler = getattr(self, "cmd_" + verb.lower(), None)
            if handler is None:
                self.reply("502 5.5.2 command not recognized")
                continue
            if handler(text) == "quit":
                return

    def cmd_ehlo(self, text):
        r = self.listener.b.get("ehlo_reply") or self.override("EHLO", None)
        if r is not None:
            self.reply(r)
            return
        caps = self.caps()
        lines = ["250-fake.test hello"] + ["250-" + c for c in caps[:-1]]
        lines.append("250 " + caps[-1] if caps else "250 fake.test")
        if not caps:
            lines = ["250 fake.test hello"]
        self.reply("\n".join(lines))
        self.reset()

    def cmd_helo(self, text):
        self.reply("250 fake.test")

    def cmd_starttls(self, text):
        b = self.listener.b
        offer = b.get("offer_starttls", self.listener.kind == "starttls")
        if self.tls or not offer:
            self.reply("502 5.5.1 STARTTLS not available")
            return
        r = b.get("starttls_reply", "220 2.0.0 ready")
        if not r.startswith("220"):
            self.reply(r)
            return
        data = (r + "\r\n").encode() + b.get("inject", b"")
        self.send(data)
        self.buf, self.pos = b"", 0
        self.start_tls()

    def reset(self):
        self.mail_from = None
        self.mail_params = ""
        self.rcpts = []
        self.rcpt_params = []
        self.bdat = []  # chunks of the message being received
        self.bdat_failed = False

    def cmd_rset(self, text):
        self.reset()
        self.reply(self.override("RSET", "250 2.0.0 ok"))

    def cmd_noop(self, text):
        self.reply("250 2.0.0 ok")

    def cmd_quit(self, text):
        self.closed_at = time.monotonic()
        self.reply("221 2.0.0 bye")
        return "quit"

    def cmd_mail(self, text):
        rest = text[5:]
        if not rest.upper().startswith("FROM:"):
            self.reply("501 5.5.4 syntax")
            return
        addr, _, params = rest[5:].partition(" ")
        with self.listener.server.lock:
            self.listener.server.mail_at.append(time.monotonic())
        r = self.override("MAIL", "250 2.1.0 ok")
        if (r.encode() if isinstance(r, str) else r).startswith(b"250"):
            self.reset()
            self.mail_from = addr.strip("<>")
            self.mail_params = params
        self.reply(r)

    def cmd_rcpt(self, text):
        rest = text[5:]
        if getattr(self, "mail_from", None) is None:
            self.reply("503 5.5.1 need MAIL")
            return
        addr, _, params = rest[3:].partition(" ")
        addr = addr.strip("<>")
        r = self.override("RCPT:" + addr, self.override("RCPT", "250 2.1.5 ok"))
        if isinstance(r, str) and r.startswith("2"):
            self.rcpts.append(addr)
            self.rcpt_params.append(params)
        self.reply(r)

    def read_data(self):
        limit = self.listener.b.get("drop_in_data_after")
        # the body ends at CRLF "." CRLF, or is empty when "." CRLF comes
        # first; searched where the message starts, without copying
        while True:
            if self.buf.startswith(b".\r\n", self.pos):
                self.pos += 3
                return b""
            idx = self.buf.find(b"\r\n.\r\n", self.pos)
            if idx != -1:
                break
            if limit is not None and len(self.buf) - self.pos >= limit:
                raise Closed()
            self.more()
        body = self.buf[self.pos:idx]
        self.pos = idx + 5
        return body

    def cmd_data(self, text):
        if not getattr(self, "rcpts", None):
            self.reply(self.override("DATA", "554 5.5.1 no valid recipients"))
            return
        r = self.override("DATA", "354 go ahead")
        self.reply(r)
        if not (isinstance(r, str) and r.startswith("354")):
            return
        raw = self.read_data()
        lines = raw.split(b"\r\n") if raw else []
        body = b"".join((l[1:] if l.startswith(b".") else l) + b"\r\n"
                        for l in lines)
        self.take(raw, body, None)

    def read_bytes(self, n):
        """Exactly n octets of BDAT data (drop_in_data_after counts the
        message's octets so far)."""
        limit = self.listener.b.get("drop_in_data_after")
        before = sum(len(c) for c in self.bdat)
        while len(self.buf) - self.pos < n:
            if limit is not None and \
                    before + len(self.buf) - self.pos >= limit:
                raise Closed()
            self.more()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def cmd_bdat(self, text):
        parts = text.split()
        if len(parts) not in (2, 3) or not parts[1].isdigit() or \
                (len(parts) == 3 and parts[2].upper() != "LAST"):
            self.reply("501 5.5.4 syntax: BDAT size [LAST]")
            return
        data = self.read_bytes(int(parts[1]))
        last = len(parts) == 3
        if not self.listener.b.get("chunking"):
            self.reply("502 5.5.2 command not recognized")
            return
        if getattr(self, "mail_from", None) is None:
            self.reply("503 5.5.1 need MAIL")
            return
        if not self.rcpts:
            self.reply("554 5.5.1 no valid recipients")
            return
        if self.bdat_failed:
            self.reply("503 5.5.1 message already refused")
            return
        self.bdat.append(data)
        if not last:
            r = self.override("BDAT", "250 2.0.0 ok")
            self.bdat_failed = not (isinstance(r, str) and
                                    r.startswith("250"))
            self.reply(r)
            return
        raw = b"".join(self.bdat)
        self.take(raw, raw, [len(c) for c in self.bdat])

    def take(self, raw, body, bdat):
        """The message is complete (final dot or BDAT LAST): record it
        and answer."""
        poison = self.listener.b.get("drop_if_data_contains")
        if poison and poison in raw:
            raise Closed()
        self.hold_for_next()
        srv = self.listener.server
        b = self.listener.b
        with srv.lock:
            self.listener.dots += 1
            ndot = self.listener.dots
            msg = {
                "mail_from": self.mail_from, "mail_params": self.mail_params,
                "rcpts": list(self.rcpts),
                "rcpt_params": list(self.rcpt_params),
                "data": body, "wire": raw, "bdat": bdat,
                "listener": self.listener.name,
                "tls": self.tls, "at": time.monotonic(),
                "after_dot": self.buf[self.pos:]}
            if b.get("drop_at_dot") == ndot:
                srv.dropped.append(msg)
                raise Closed()
            srv.messages.append(msg)
            n = len(srv.messages)
            if srv.save_dir:
                srv.save(n, msg)
        replies = b.get("dot_replies") or []
        if ndot <= len(replies):
            r = replies[ndot - 1]
        else:
            r = self.override("DOT", "250 2.0.0 Ok: queued as FAKE%d" % n)
        self.reply(r)
        self.reset()

    def hold_for_next(self):
        """dot_hold: wait for the next MAIL before the dot is answered."""
        hold = self.listener.b.get("dot_hold")
        if not hold:
            return
        want = self.listener.b.get("dot_hold_mails", 1)
        end = time.monotonic() + hold
        self.flush()
        while self.buf[self.pos:].upper().count(b"MAIL FROM:") < want:
            left = end - time.monotonic()
            if left <= 0:
                return
            pending = self.tls and self.sock.pending() > 0
            if not pending:
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    return
            self.more()

    # --- AUTH --------------------------------------------------------
    def auth_line(self):
        line = self.readline()
        self.commands.append((self.phase(), "<auth data>"))
        return line

    def b64(self, data):
        try:
            return base64.b64decode(data, validate=True)
        except Exception:
            return None

    def auth_done(self, mech, user, ok):
        self.auth.append((mech, user, ok))
        if ok:
            self.reply("235 2.7.0 authenticated")
        else:
            self.reply("535 5.7.8 authentication failed")

    def cmd_auth(self, text):
        b = self.listener.b
        parts = text.split(" ")
        mech = parts[1].upper() if len(parts) > 1 else ""
        users = self.listener.server.users
        if b.get("auth_reply"):
            if mech == "PLAIN" and len(parts) == 2:
                self.reply("334 ")
                self.auth_line()
            self.auth.append((mech, None, False))
            self.reply(b["auth_reply"])
            return
        if mech == "PLAIN":
            data = parts[2] if len(parts) > 2 else None
            if data is None:
                self.reply("334 ")
                data = self.auth_line().decode()
            raw = self.b64(data) or b""
            f = raw.split(b"\0")
            ok = len(f) == 3 and users.get(f[1].decode()) == f[2].decode()
            self.auth_done("PLAIN", f[1].decode() if len(f) == 3 else None,
                           ok)
        elif mech == "LOGIN":
            self.reply("334 VXNlcm5hbWU6")
            user = (self.b64(self.auth_line()) or b"").decode()
            self.reply("334 UGFzc3dvcmQ6")
            pw = (self.b64(self.auth_line()) or b"").decode()
            self.auth_done("LOGIN", user, users.get(user) == pw)
        elif mech == "CRAM-MD5":
            chal = ("<%d.%d@fake.test>" % (os.getpid(), time.time_ns()))
            self.reply("334 " + base64.b64encode(chal.encode()).decode())
            resp = (self.b64(self.auth_line()) or b"").decode()
            user, _, digest = resp.rpartition(" ")
            pw = users.get(user)
            ok = pw is not None and hmac.compare_digest(
                digest, hmac.new(pw.encode(), chal.encode(),
                                 hashlib.md5).hexdigest())
            self.auth_done("CRAM-MD5", user, ok)
        elif mech == "XOAUTH2":
            raw = (self.b64(parts[2]) if len(parts) > 2 else b"") or b""
            f = raw.split(b"\x01")
            user = f[0][5:].decode() if f and f[0].startswith(b"user=") \
                else None
            tok = f[1][12:].decode() if len(f) > 1 and \
                f[1].startswith(b"auth=Bearer ") else None
            ok = user is not None and \
                self.listener.server.tokens.get(user) == tok
            if not ok:
                self.reply("334 " + base64.b64encode(
                    b'{"status":"401"}').decode())
                self.auth_line()
            self.auth_done("XOAUTH2", user, ok)
        else:
            self.reply("504 5.5.4 mechanism not supported")


class Listener:
    def __init__(self, server, kind, port=0, host="127.0.0.1", cert=None,
                 name=None):
        self.server = server
        self.kind = kind
        self.name = name or kind
        self.cert = cert
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.host = host
        self.connections = 0
        self.dots = 0
        self.sessions = []
        self.b = {}
        self.thread = None
        self.closed = False

    def behave(self, **kw):
        self.b.update(kw)

    def reset(self, **kw):
        self.b = dict(kw)

    def close(self):
        """Stop listening: later connections are refused."""
        self.closed = True
        if self.thread is not None:
            self.thread.join(5)
        self.sock.close()

    def serve(self):
        while not self.server.stopping and not self.closed:
            try:
                r, _, _ = select.select([self.sock], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not r:
                continue
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(30)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s = Session(self, conn, peer)
            with self.server.lock:
                self.connections += 1
                self.sessions.append(s)
            t = threading.Thread(target=s.run, daemon=True)
            self.server.threads.append(t)
            t.start()


class FakeSMTPD:
    def __init__(self, certfile=None, keyfile=None):
        self.certfile = certfile
        self.keyfile = keyfile
        self.listeners = []
        self.messages = []
        self.dropped = []
        self.mail_at = []
        self.contexts = {}  # ssl_context's, by settings
        self.save_dir = None
        self.users = {"user": "secret"}
        self.tokens = {"user": "token123"}
        self.lock = threading.Lock()
        self.threads = []
        self.stopping = False

    def listen(self, kind, port=0, host="127.0.0.1", cert=None, name=None):
        l = Listener(self, kind, port, host, cert, name)
        self.listeners.append(l)
        return l

    def save(self, n, msg):
        """Write message n to save_dir (program mode --save)."""
        base = os.path.join(self.save_dir, "%d" % n)
        with open(base + ".env", "w") as f:
            f.write("MAIL FROM:<%s>\n" % msg["mail_from"])
            f.write("".join("RCPT TO:<%s>\n" % r for r in msg["rcpts"]))
            f.write("listener: %s, tls: %s\n" % (msg["listener"],
                                                 msg["tls"]))
        with open(base + ".eml", "wb") as f:
            f.write(msg["data"])

    def ssl_context(self, listener):
        """The server context for listener's current settings: one per
        settings, kept, as a real server keeps its context (its session
        ticket keys too, so a client can resume a session)."""
        cert = listener.cert or (self.certfile, self.keyfile)
        b = listener.b
        try:  # a certificate rewritten in place is a new setting
            stamp = tuple(os.stat(f).st_mtime_ns for f in cert)
        except OSError:
            stamp = None
        key = (tuple(cert), stamp, b.get("tls_min"), b.get("tls_max"),
               b.get("client_ca"))
        with self.lock:
            ctx = self.contexts.get(key)
        if ctx is None:
            ctx = self.new_ssl_context(listener, cert)
            with self.lock:
                ctx = self.contexts.setdefault(key, ctx)
        return ctx

    def new_ssl_context(self, listener, cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = listener.b.get("tls_min",
                                             ssl.TLSVersion.TLSv1_2)
        if listener.b.get("tls_max"):
            ctx.maximum_version = listener.b["tls_max"]
        ctx.load_cert_chain(cert[0], cert[1])
        if listener.b.get("client_ca"):
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(listener.b["client_ca"])
        return ctx

    def start(self):
        for l in self.listeners:
            if l.thread is None:
                l.thread = threading.Thread(target=l.serve, daemon=True)
                l.thread.start()
        return self

    def stop(self):
        self.stopping = True
        for l in self.listeners:
            if l.thread is not None:
                l.thread.join(5)
            if not l.closed:
                l.sock.close()
            for s in l.sessions:
                s.close()
        for t in self.threads:
            t.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="fake smarthost")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--listen", action="append", default=[],
                    help="KIND:PORT[:HOST]")
    ap.add_argument("--behave", default="{}", help="JSON for every listener")
    ap.add_argument("--users", default=None, help='JSON {"user": "pass"}')
    ap.add_argument("--save", default=None, help="write messages here")
    a = ap.parse_args(argv)
    srv = FakeSMTPD(a.cert, a.key)
    srv.save_dir = a.save
    if a.users:
        srv.users = json.loads(a.users)
    beh = json.loads(a.behave)
    for spec in a.listen:
        kind, _, rest = spec.partition(":")
        port, _, host = rest.partition(":")
        l = srv.listen(kind, int(port or 0), host or "127.0.0.1")
        l.behave(**beh)
        print("LISTEN %s %d" % (kind, l.port), flush=True)
    srv.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    srv.stop()
    print(json.dumps({"connections": {l.name: l.connections
                                      for l in srv.listeners},
                      "messages": len(srv.messages)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
