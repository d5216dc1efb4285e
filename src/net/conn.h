/*
 * conn.h - one connection to a smarthost, over plain TCP or TLS.
 *
 * A conn is a connected, non-blocking TCP socket (TCP_NODELAY) with an
 * output queue and, after conn_start_tls(), an OpenSSL session on top.
 * Callers read into their own struct buf and queue output with
 * conn_write(); conn_flush() sends the whole queue in as few writes (and
 * TLS records) as possible, because small-record stalls cost some peers
 * ~40 ms per exchange.
 *
 * Deadlines: every read, write, connect and handshake waits at most the
 * per-operation timeout (conn_set_timeout, e.g. command_timeout) and never
 * past the session deadline (conn_set_deadline).  Times are milliseconds
 * of CLOCK_MONOTONIC (conn_now_ms).
 *
 * Signals: the first conn_connect sets SIGPIPE to SIG_IGN if it is still
 * SIG_DFL (a closed peer must be an error, not the end of the process;
 * OpenSSL writes with write(2)).  A handler the program set stays.
 *
 * Errors: every failing function fills struct err with class ERR_TEMP
 * (network trouble), ERR_CONFIG (unusable TLS settings, certificate
 * problems) or ERR_INTERNAL, and err->reason holds an enum conn_fail so
 * that the SMTP layer can name the failure precisely.
 *
 * Security: trust comes only from the settings passed in (ca_file, or
 * OpenSSL's compiled-in default store, loaded by path, so SSL_CERT_FILE and
 * SSL_CERT_DIR in the environment change nothing).  A host name is always
 * verified (SSL_set1_host, or the IP address for literals); SNI is sent for
 * DNS names only.
 */
#ifndef RELAY_CONN_H
#define RELAY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/err.h"

/* What went wrong, in err->reason after a conn_* failure. */
enum conn_fail {
	CONN_F_NONE = 0,
	CONN_F_DNS, /* the name does not resolve */
	CONN_F_REFUSED, /* every address refused or was unreachable */
	CONN_F_TIMEOUT, /* a deadline passed */
	CONN_F_LOST, /* the peer closed or reset the connection */
	CONN_F_IO, /* another socket error */
	CONN_F_PLAINTEXT, /* the TLS handshake met a plaintext SMTP reply */
	CONN_F_HANDSHAKE, /* the TLS handshake failed otherwise */
	CONN_F_CERT, /* chain, host name, expiry or pin rejected */
	CONN_F_CONFIG, /* unusable TLS settings (ca_file, pin, client cert) */
};

/* conn_fail_name - "dns", "refused", ... for logs and tests. */
const char *conn_fail_name(enum conn_fail f);

/* conn_now_ms - CLOCK_MONOTONIC in milliseconds. */
long long conn_now_ms(void);

/* --- addresses ----------------------------------------------------------- */

struct conn_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	int family; /* AF_INET or AF_INET6 */
	char text[48]; /* "127.0.0.1", "::1" */
};

struct conn_addrs {
	struct conn_addr *v;
	size_t n;
	int port;
};

/* conn_host_is_literal - is host an IPv4 or IPv6 address (no brackets)? */
bool conn_host_is_literal(const char *host);

/* conn_resolve - every address of host:port, IPv6 and IPv4 interleaved
 * (RFC 8305 order: the resolver's first family first).  OUT *out, owned by
 * the caller (conn_addrs_free).  An empty host is ERR_CONFIG; a name that
 * does not resolve is ERR_TEMP with CONN_F_DNS. */
int conn_resolve(
    const char *host, int port, struct conn_addrs *out, struct err *err);

/* conn_addrs_free - release out's memory; safe on a zeroed struct. */
void conn_addrs_free(struct conn_addrs *a);

/* --- connecting ---------------------------------------------------------- */

struct conn;

struct conn_connect_opts {
	long long timeout_ms; /* all addresses together */
	long long stagger_ms; /* start the next address after this; 0: 250 */
	/* on_attempt - optional: called when an address connects (err_no 0),
	 * fails (its errno) or is abandoned (ETIMEDOUT); ms since start. */
	void (*on_attempt)(
	    void *ctx, const struct conn_addr *a, int err_no, long long ms);
	void *ctx;
};

/* conn_connect - connect to the first address of a that answers, Happy
 * Eyeballs style: the next address is started after stagger_ms, or at once
 * when one fails, so a dead address never stalls the others.  Every socket
 * but the winner is closed.  Returns the conn (owned by the caller,
 * conn_close) or NULL with ERR_TEMP and CONN_F_REFUSED / CONN_F_TIMEOUT. */
struct conn *conn_connect(const struct conn_addrs *a,
    const struct conn_connect_opts *o, struct err *err);

/* conn_close - shut TLS down without waiting, close, free; NULL no-op.
 * A resumable TLS session is kept in the context it came from, which
 * must still be alive. */
void conn_close(struct conn *c);

/* conn_peer - the address connected to ("127.0.0.1"); borrowed. */
const char *conn_peer(const struct conn *c);

/* conn_port - the port connected to. */
int conn_port(const struct conn *c);

/* --- deadlines ----------------------------------------------------------- */

/* conn_set_timeout - the limit of each following operation (ms > 0). */
void conn_set_timeout(struct conn *c, long long ms);

/* conn_set_deadline - no operation waits past this CLOCK_MONOTONIC time
 * (ms); 0 removes it. */
void conn_set_deadline(struct conn *c, long long at_ms);

/* --- I/O ----------------------------------------------------------------- */

/* conn_wait_input - wait up to ms (bounded by the session deadline) for
 * bytes to read.  OUT *ready.  0, or -1 on a socket error. */
int conn_wait_input(struct conn *c, long long ms, bool *ready, struct err *err);

/* conn_read - append at least one byte to in, waiting up to the operation
 * timeout; reads whatever is available in one go (up to 16 KiB, and never
 * past in->max).  Returns the number of bytes appended, or -1: a closed
 * connection is CONN_F_LOST, a full buffer ERR_INTERNAL. */
ssize_t conn_read(struct conn *c, struct buf *in, struct err *err);

/* conn_has_input - are unread bytes waiting (socket or TLS layer)?
 * Used before STARTTLS: anything the server sent after its 220 is an
 * attack.  Predicate: never fails (errors read as "yes"). */
bool conn_has_input(struct conn *c);

/* conn_write - queue n bytes; nothing is sent until conn_flush.  Never
 * fails (memory is x*alloc). */
void conn_write(struct conn *c, const void *p, size_t n);

/* conn_queued - bytes queued and not yet flushed. */
size_t conn_queued(const struct conn *c);

/* conn_flush - send the whole queue, waiting up to the operation timeout.
 * 0, or -1 (CONN_F_LOST, CONN_F_TIMEOUT, CONN_F_IO). */
int conn_flush(struct conn *c, struct err *err);

/* conn_bytes - bytes read and written so far (for traces and tests). */
void conn_bytes(
    const struct conn *c, unsigned long long *in, unsigned long long *out);

/* --- TLS ----------------------------------------------------------------- */

struct conn_tls_ctx;

struct conn_tls_opts {
	const char *ca_file; /* NULL: OpenSSL's compiled-in default store */
	int tls_min; /* TLS1_2_VERSION, TLS1_3_VERSION; 0: 1.2 */
	const char *fingerprint; /* "sha256:HEX" of cert or SPKI; NULL none */
	const char *client_cert, *client_key; /* both or neither */
};

/* conn_tls_ctx_new - a client context with verification on.  Unusable
 * settings (missing ca_file, malformed fingerprint, bad client cert) are
 * ERR_CONFIG with CONN_F_CONFIG.  Owned by the caller, and must outlive
 * every conn started on it.  It keeps the last resumable session of
 * those conns, and conn_start_tls offers it again (RFC 8446 2.2, RFC
 * 5077) to the same host name: one context serves one smarthost. */
struct conn_tls_ctx *conn_tls_ctx_new(
    const struct conn_tls_opts *o, struct err *err);

/* conn_tls_ctx_free - NULL is a no-op. */
void conn_tls_ctx_free(struct conn_tls_ctx *t);

/* conn_start_tls - TLS handshake on c now (implicit TLS: right after
 * connecting; STARTTLS: after the server's 220), verifying the chain, the
 * host name (or IP address for a literal) and the pin.  host is the name
 * from the configuration, never empty.  Failures: CONN_F_PLAINTEXT (the
 * server answered in plaintext SMTP), CONN_F_CERT (ERR_CONFIG, err->msg
 * holds the X509 reason), CONN_F_HANDSHAKE, CONN_F_TIMEOUT, CONN_F_LOST.
 * After a failure c can only be closed. */
int conn_start_tls(
    struct conn *c, struct conn_tls_ctx *t, const char *host, struct err *err);

/* conn_is_tls - has a handshake completed on c? */
bool conn_is_tls(const struct conn *c);

struct conn_tls_info {
	char version[16]; /* "TLSv1.3", "" before a handshake */
	char cipher[64];
	char subject[256]; /* the server certificate, "" if none seen */
	char issuer[256];
	char not_after[32]; /* "2027-01-31 12:00:00 UTC" */
	char verify[128]; /* "ok" or the X509 reason */
	char fingerprint[72]; /* sha256 of the certificate, hex */
	bool verified; /* chain, host and pin all passed */
};

/* conn_get_tls_info - what the last handshake on c showed, also after a
 * failed one (certificate fields are filled once the server sent it). */
void conn_get_tls_info(const struct conn *c, struct conn_tls_info *out);

#endif
