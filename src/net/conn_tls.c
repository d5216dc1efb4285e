/*
 * conn_tls.c - TLS on a conn: the client context, the verified handshake
 * and what it showed (OpenSSL 3).
 *
 * Part of net: smtp_open() builds a conn_tls_ctx (or reuses the one a
 * delivery worker keeps for the smarthost) and calls conn_start_tls()
 * right after connecting (implicit TLS), after the server's "220" to
 * STARTTLS, or after a silent greeting_wait.
 *
 * Data: the SSL_CTX (trust store, minimum version, client certificate),
 * the parsed fingerprint pin, and the last resumable TLS session with the
 * host name it was verified for (conn_close keeps it: conn_tls_remember).
 * Invariants: SSL_VERIFY_PEER is always on; a host name or IP address is
 * always checked; a handshake that has not passed chain, name and pin is
 * never reported as done; a session is offered again only for the host
 * name it was verified for, and the pin is checked on a resumed session
 * as on a full one (the certificate is the session's).
 *
 * Implements: TLS 1.2/1.3 client (RFC 8446, RFC 5246) with SNI (RFC 6066)
 * for DNS names only; RFC 6125 name checks by OpenSSL (no partial
 * wildcards); RFC 8314 implicit TLS.
 *
 * Security: trust comes from ca_file or from the compiled-in default file
 * and directory of OpenSSL, loaded by explicit path: SSL_CERT_FILE and
 * SSL_CERT_DIR are never consulted (SSL_CTX_set_default_verify_paths would
 * honour them).  A plaintext answer to the ClientHello is recognised from
 * the first bytes the socket delivered (a BIO callback keeps them), so
 * detection can fall back to STARTTLS at once instead of waiting.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "mail/conf.h"
#include "net/conn_priv.h"

/* conf.h spells the versions of tls_min without OpenSSL's headers. */
_Static_assert(CONF_TLS1_2 == TLS1_2_VERSION, "CONF_TLS1_2");
_Static_assert(CONF_TLS1_3 == TLS1_3_VERSION, "CONF_TLS1_3");

struct conn_tls_ctx {
	SSL_CTX *ctx;
	unsigned char pin[32];
	bool has_pin;
	/* the last resumable session, and the host it was verified for */
	SSL_SESSION *resume;
	char resume_host[256];
};

static int conn_tls_fail(struct err *err, enum err_class cls, enum conn_fail f,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int conn_parse_pin(const char *s, unsigned char pin[32]);
static int conn_load_trust(SSL_CTX *ctx, const char *ca_file, struct err *err);
static int conn_verify_cb(int ok, X509_STORE_CTX *xs);
static long conn_bio_cb(BIO *b, int oper, const char *argp, size_t len,
    int argi, long argl, int ret, size_t *processed);
static void conn_cert_info(struct conn_tls_info *info, X509 *x);
static bool conn_pin_matches(const struct conn_tls_ctx *t, X509 *x);
static int conn_handshake_failed(
    struct conn *c, int sslerr, bool timed_out, struct err *err);

static const char conn_hex[] = "0123456789abcdef";

static int
conn_tls_fail(
    struct err *err, enum err_class cls, enum conn_fail f, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	(void)err_vset(err, cls, fmt, ap);
	va_end(ap);
	err->sys_errno = 0;
	err->reason = (int)f;
	return -1;
}

/* conn_ssl_reason - the last OpenSSL error as text, and clear the queue. */
static const char *
conn_ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

/* conn_parse_pin - "sha256:AB:CD..." or 64 hex digits: 0, or -1. */
static int
conn_parse_pin(const char *s, unsigned char pin[32])
{
	size_t n = 0;
	int hi = -1;

	if (str_has_prefix_ci(s, "sha256:"))
		s += 7;
	for (; *s != '\0'; s++) {
		const char *d;
		int v;

		if (*s == ':')
			continue;
		d = strchr(conn_hex, tolower((unsigned char)*s));
		if (d == NULL || *s == '\0' || n >= 32)
			return -1;
		v = (int)(d - conn_hex);
		if (hi == -1) {
			hi = v;
			continue;
		}
		pin[n++] = (unsigned char)(hi * 16 + v);
		hi = -1;
	}
	return n == 32 && hi == -1 ? 0 : -1;
}

/* conn_load_trust - ca_file alone, or OpenSSL's compiled-in store by
 * explicit path (never the environment's SSL_CERT_FILE/SSL_CERT_DIR). */
static int
conn_load_trust(SSL_CTX *ctx, const char *ca_file, struct err *err)
{
	const char *file = X509_get_default_cert_file();
	const char *dir = X509_get_default_cert_dir();
	struct stat st;
	bool loaded = false;

	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_file(ctx, ca_file) != 1)
			return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
			    "cannot load ca_file %s: %s", ca_file,
			    conn_ssl_reason());
		return 0;
	}
	if (file != NULL && stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
		if (SSL_CTX_load_verify_file(ctx, file) != 1)
			return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
			    "cannot load the system CA file %s: %s", file,
			    conn_ssl_reason());
		loaded = true;
	}
	if (dir != NULL && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (SSL_CTX_load_verify_dir(ctx, dir) != 1)
			return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
			    "cannot use the system CA directory %s: %s", dir,
			    conn_ssl_reason());
		loaded = true;
	}
	if (!loaded)
		return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
		    "no system CA store (%s, %s); install ca-certificates "
		    "or set ca_file",
		    file != NULL ? file : "-", dir != NULL ? dir : "-");
	return 0;
}

static int
conn_ctx_client_cert(
    SSL_CTX *ctx, const struct conn_tls_opts *o, struct err *err)
{
	if (o->client_cert == NULL && o->client_key == NULL)
		return 0;
	if (o->client_cert == NULL || o->client_key == NULL)
		return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
		    "client_cert and client_key go together");
	if (SSL_CTX_use_certificate_chain_file(ctx, o->client_cert) != 1)
		return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
		    "cannot load client_cert %s: %s", o->client_cert,
		    conn_ssl_reason());
	if (SSL_CTX_use_PrivateKey_file(ctx, o->client_key, SSL_FILETYPE_PEM) !=
	    1)
		return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
		    "cannot load client_key %s: %s", o->client_key,
		    conn_ssl_reason());
	if (SSL_CTX_check_private_key(ctx) != 1)
		return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
		    "client_key %s does not match client_cert %s",
		    o->client_key, o->client_cert);
	return 0;
}

struct conn_tls_ctx *
conn_tls_ctx_new(const struct conn_tls_opts *o, struct err *err)
{
	struct conn_tls_ctx *t = xcalloc(1, sizeof(*t));
	int min = o->tls_min >= TLS1_2_VERSION ? o->tls_min : TLS1_2_VERSION;

	if (o->fingerprint != NULL) {
		if (conn_parse_pin(o->fingerprint, t->pin) == -1) {
			(void)conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
			    "fingerprint \"%s\" is not sha256:<64 hex digits>",
			    o->fingerprint);
			goto out_free;
		}
		t->has_pin = true;
	}
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL) {
		(void)conn_tls_fail(err, ERR_INTERNAL, CONN_F_CONFIG,
		    "SSL_CTX_new: %s", conn_ssl_reason());
		goto out_free;
	}
	if (SSL_CTX_set_min_proto_version(t->ctx, min) != 1) {
		(void)conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
		    "tls_min: unsupported version");
		goto out_free;
	}
	(void)SSL_CTX_set_options(
	    t->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	(void)SSL_CTX_set_mode(t->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	(void)SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, conn_verify_cb);
	if (conn_load_trust(t->ctx, o->ca_file, err) == -1 ||
	    conn_ctx_client_cert(t->ctx, o, err) == -1)
		goto out_free;
	return t;
out_free:
	conn_tls_ctx_free(t);
	return NULL;
}

void
conn_tls_ctx_free(struct conn_tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_SESSION_free(t->resume);
	SSL_CTX_free(t->ctx);
	OPENSSL_cleanse(t->pin, sizeof(t->pin));
	xfree(t);
}

/* conn_name_text - an X509 name in RFC 2253 form. */
static void
conn_name_text(X509_NAME *n, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int len;

	out[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_read(b, out, (int)size - 1);
		out[len > 0 ? len : 0] = '\0';
	}
	BIO_free(b);
}

static void
conn_cert_info(struct conn_tls_info *info, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	struct tm tm;
	char *p;

	conn_name_text(
	    X509_get_subject_name(x), info->subject, sizeof(info->subject));
	conn_name_text(
	    X509_get_issuer_name(x), info->issuer, sizeof(info->issuer));
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 ||
	    strftime(info->not_after, sizeof(info->not_after),
		"%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)str_copy(info->not_after, sizeof(info->not_after), "?");
	info->fingerprint[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
		return;
	(void)str_copy(info->fingerprint, sizeof(info->fingerprint), "sha256:");
	p = info->fingerprint + 7;
	for (i = 0; i < mdlen; i++) {
		*p++ = conn_hex[md[i] >> 4];
		*p++ = conn_hex[md[i] & 15];
	}
	*p = '\0';
}

/* conn_verify_cb - keep the leaf's details and the first error; the
 * verdict itself stays OpenSSL's. */
static int
conn_verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
	    xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct conn *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);

	if (c == NULL)
		return ok;
	if (leaf != NULL && c->info.subject[0] == '\0')
		conn_cert_info(&c->info, leaf);
	if (!ok && c->info.verify[0] == '\0')
		(void)str_copy(c->info.verify, sizeof(c->info.verify),
		    X509_verify_cert_error_string(
			X509_STORE_CTX_get_error(xs)));
	return ok;
}

/* conn_bio_cb - remember the first bytes read under the handshake. */
static long
conn_bio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
    int ret, size_t *processed)
{
	struct conn *c = (struct conn *)BIO_get_callback_arg(b);
	size_t n;

	(void)len;
	(void)argi;
	(void)argl;
	if (c == NULL || oper != (BIO_CB_READ | BIO_CB_RETURN) || ret <= 0 ||
	    processed == NULL || argp == NULL)
		return ret;
	n = *processed;
	if (n > sizeof(c->first) - c->nfirst)
		n = sizeof(c->first) - c->nfirst;
	memcpy(c->first + c->nfirst, argp, n);
	c->nfirst += n;
	return ret;
}

static bool
conn_pin_matches(const struct conn_tls_ctx *t, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	int len;
	bool ok = false;

	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32 &&
	    CRYPTO_memcmp(md, t->pin, 32) == 0)
		return true;
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (len > 0 &&
	    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == 32 && CRYPTO_memcmp(md, t->pin, 32) == 0)
		ok = true;
	OPENSSL_free(der);
	return ok;
}

/* conn_looks_plaintext - do the first bytes read look like "220"? */
static bool
conn_looks_plaintext(const struct conn *c)
{
	return c->nfirst >= 3 && isdigit(c->first[0]) && isdigit(c->first[1]) &&
	    isdigit(c->first[2]);
}

static int
conn_handshake_failed(
    struct conn *c, int sslerr, bool timed_out, struct err *err)
{
	long v = SSL_get_verify_result(c->ssl);

	if (conn_looks_plaintext(c)) {
		char shown[sizeof(c->first) + 1];
		size_t i;

		for (i = 0; i < c->nfirst && i < sizeof(c->first); i++)
			shown[i] =
			    isprint(c->first[i]) ? (char)c->first[i] : '.';
		shown[i] = '\0';
		ERR_clear_error();
		return conn_tls_fail(err, ERR_TEMP, CONN_F_PLAINTEXT,
		    "got \"%s\" instead of a TLS record", shown);
	}
	if (v != X509_V_OK) {
		if (c->info.verify[0] == '\0')
			(void)str_copy(c->info.verify, sizeof(c->info.verify),
			    X509_verify_cert_error_string(v));
		ERR_clear_error();
		return conn_tls_fail(
		    err, ERR_CONFIG, CONN_F_CERT, "%s", c->info.verify);
	}
	if (timed_out) {
		ERR_clear_error();
		return conn_tls_fail(err, ERR_TEMP, CONN_F_TIMEOUT,
		    "TLS handshake with %s timed out", c->peer);
	}
	if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN ||
	    (sslerr == SSL_ERROR_SSL && ERR_peek_last_error() == 0) ||
	    ERR_GET_REASON(ERR_peek_last_error()) ==
		SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		return conn_tls_fail(err, ERR_TEMP, CONN_F_LOST,
		    "%s closed the connection during the TLS handshake",
		    c->peer);
	}
	return conn_tls_fail(err, ERR_TEMP, CONN_F_HANDSHAKE,
	    "TLS handshake with %s failed: %s", c->peer, conn_ssl_reason());
}

/* conn_handshake - SSL_connect until done, failed or past the deadline. */
static int
conn_handshake(struct conn *c, struct err *err)
{
	long long deadline = conn_op_deadline(c);

	for (;;) {
		int rc, e;

		ERR_clear_error();
		rc = SSL_connect(c->ssl);
		if (rc == 1)
			return 0;
		e = SSL_get_error(c->ssl, rc);
		if (e == SSL_ERROR_WANT_READ)
			rc = conn_poll(c->fd, POLLIN, deadline);
		else if (e == SSL_ERROR_WANT_WRITE)
			rc = conn_poll(c->fd, POLLOUT, deadline);
		else
			return conn_handshake_failed(c, e, false, err);
		if (rc == 0)
			return conn_handshake_failed(c, e, true, err);
		if (rc == -1) {
			(void)err_sys(err, ERR_TEMP, "poll");
			err->reason = CONN_F_IO;
			return -1;
		}
	}
}

static int
conn_tls_setup(
    struct conn *c, struct conn_tls_ctx *t, const char *host, struct err *err)
{
	char sni[256];
	BIO *rbio;

	c->ssl = SSL_new(t->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return conn_tls_fail(err, ERR_INTERNAL, CONN_F_HANDSHAKE,
		    "cannot set up TLS: %s", conn_ssl_reason());
	(void)SSL_set_app_data(c->ssl, c);
	SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (conn_host_is_literal(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(
			SSL_get0_param(c->ssl), host) != 1)
			return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
			    "cannot verify address %s", host);
	} else if (str_copy(sni, sizeof(sni), host) == -1 ||
	    SSL_set1_host(c->ssl, host) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, sni) != 1)
		return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
		    "cannot verify host name \"%s\"", host);
	/* resume only a session verified for this very host name */
	if (t->resume != NULL && strcmp(t->resume_host, host) == 0 &&
	    SSL_set_session(c->ssl, t->resume) != 1)
		ERR_clear_error(); /* a full handshake then */
	c->tls_ctx = t;
	(void)str_copy(c->tls_host, sizeof(c->tls_host), host);
	rbio = SSL_get_rbio(c->ssl);
	BIO_set_callback_ex(rbio, conn_bio_cb);
	BIO_set_callback_arg(rbio, (char *)c);
	return 0;
}

void
conn_tls_remember(struct conn *c)
{
	struct conn_tls_ctx *t = c->tls_ctx;
	SSL_SESSION *sess;

	if (t == NULL || !c->tls_done || c->ssl == NULL)
		return;
	sess = SSL_get1_session(c->ssl);
	if (sess == NULL)
		return;
	if (!SSL_SESSION_is_resumable(sess) ||
	    str_copy(t->resume_host, sizeof(t->resume_host), c->tls_host) ==
		-1) {
		SSL_SESSION_free(sess);
		return;
	}
	SSL_SESSION_free(t->resume);
	t->resume = sess;
}

int
conn_start_tls(
    struct conn *c, struct conn_tls_ctx *t, const char *host, struct err *err)
{
	BIO *rbio;
	X509 *peer;

	if (host == NULL || *host == '\0')
		return conn_tls_fail(err, ERR_CONFIG, CONN_F_CONFIG,
		    "empty host name: refusing TLS without verification");
	if (c->ssl != NULL)
		return conn_tls_fail(
		    err, ERR_INTERNAL, CONN_F_HANDSHAKE, "TLS already started");
	memset(&c->info, 0, sizeof(c->info));
	c->nfirst = 0;
	if (conn_tls_setup(c, t, host, err) == -1 ||
	    conn_handshake(c, err) == -1)
		return -1;
	rbio = SSL_get_rbio(c->ssl);
	BIO_set_callback_ex(rbio, NULL);
	BIO_set_callback_arg(rbio, NULL);
	(void)str_copy(
	    c->info.version, sizeof(c->info.version), SSL_get_version(c->ssl));
	(void)str_copy(c->info.cipher, sizeof(c->info.cipher),
	    SSL_get_cipher_name(c->ssl));
	peer = SSL_get0_peer_certificate(c->ssl);
	if (peer == NULL)
		return conn_tls_fail(err, ERR_CONFIG, CONN_F_CERT,
		    "the server sent no certificate");
	conn_cert_info(&c->info, peer);
	if (t->has_pin && !conn_pin_matches(t, peer)) {
		(void)str_copy(c->info.verify, sizeof(c->info.verify),
		    "fingerprint does not match the pinned one");
		return conn_tls_fail(err, ERR_CONFIG, CONN_F_CERT,
		    "certificate fingerprint %s does not match the pinned "
		    "fingerprint",
		    c->info.fingerprint);
	}
	(void)str_copy(c->info.verify, sizeof(c->info.verify), "ok");
	c->info.verified = true;
	c->tls_done = true;
	return 0;
}

bool
conn_is_tls(const struct conn *c)
{
	return c->tls_done;
}

void
conn_get_tls_info(const struct conn *c, struct conn_tls_info *out)
{
	*out = c->info;
}
