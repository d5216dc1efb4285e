/*
 * conn.c - connection I/O with deadlines over plain TCP or TLS.
 *
 * Part of net (base <- mail <- net <- smtp): the SMTP client reads replies
 * and writes commands through here; conn_connect.c makes the socket and
 * conn_tls.c puts TLS on it.
 *
 * Data: the socket (non-blocking), the SSL object once TLS started, and
 * the output queue.  Invariant: nothing is written to the socket except by
 * conn_flush, which sends the whole queue, so a pipelined batch of
 * commands or a DATA block leaves in one write (one TLS record run).
 *
 * Every wait is a poll() bounded by conn_op_deadline(): the per-operation
 * timeout, capped by the session deadline.
 *
 * Security: bytes read are untrusted and only appended to the caller's
 * buffer, bounded by its maximum.  Plain reads and writes go through
 * base/sysops so tests can make them fail.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "net/conn_priv.h"

#define CONN_READ_CHUNK (16 * 1024)
#define CONN_OUT_MAX ((size_t)64 * 1024 * 1024)

static ssize_t conn_read_plain(
    struct conn *c, char *p, size_t n, long long deadline, struct err *err);
static ssize_t conn_read_tls(
    struct conn *c, char *p, size_t n, long long deadline, struct err *err);
static int conn_flush_plain(
    struct conn *c, long long deadline, struct err *err);
static int conn_flush_tls(struct conn *c, long long deadline, struct err *err);
static int conn_fail(struct err *err, enum conn_fail f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *
conn_fail_name(enum conn_fail f)
{
	switch (f) {
	case CONN_F_NONE:
		return "none";
	case CONN_F_DNS:
		return "dns";
	case CONN_F_REFUSED:
		return "refused";
	case CONN_F_TIMEOUT:
		return "timeout";
	case CONN_F_LOST:
		return "lost";
	case CONN_F_IO:
		return "io";
	case CONN_F_PLAINTEXT:
		return "plaintext";
	case CONN_F_HANDSHAKE:
		return "handshake";
	case CONN_F_CERT:
		return "certificate";
	case CONN_F_CONFIG:
		return "config";
	}
	return "unknown";
}

long long
conn_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* conn_fail - ERR_TEMP with the failure kind in err->reason. */
static int
conn_fail(struct err *err, enum conn_fail f, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	(void)err_vset(err, ERR_TEMP, fmt, ap);
	va_end(ap);
	err->sys_errno = 0;
	err->reason = (int)f;
	return -1;
}

struct conn *
conn_new_fd(int fd, const struct conn_addr *a, int port)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->port = port;
	c->op_ms = 30000;
	buf_init(&c->out, CONN_OUT_MAX);
	if (a != NULL)
		(void)str_copy(c->peer, sizeof(c->peer), a->text);
	return c;
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* Send close_notify if we can without waiting; the peer's
		 * answer does not matter to us. */
		if (c->tls_done) {
			conn_tls_remember(c);
			(void)SSL_shutdown(c->ssl);
		}
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->fd != -1)
		(void)close(c->fd);
	buf_free(&c->out);
	xfree(c);
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

int
conn_port(const struct conn *c)
{
	return c->port;
}

void
conn_set_timeout(struct conn *c, long long ms)
{
	c->op_ms = ms > 0 ? ms : 1;
}

void
conn_set_deadline(struct conn *c, long long at_ms)
{
	c->deadline = at_ms;
}

long long
conn_op_deadline(const struct conn *c)
{
	long long d = conn_now_ms() + c->op_ms;

	if (c->deadline != 0 && c->deadline < d)
		d = c->deadline;
	return d;
}

int
conn_poll(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		long long left = deadline - conn_now_ms();
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (rc > 0)
			return 1;
	}
}

int
conn_wait_input(struct conn *c, long long ms, bool *ready, struct err *err)
{
	long long d = conn_now_ms() + ms;
	int rc;

	*ready = false;
	if (c->ssl != NULL && SSL_pending(c->ssl) > 0) {
		*ready = true;
		return 0;
	}
	if (c->deadline != 0 && c->deadline < d)
		d = c->deadline;
	rc = conn_poll(c->fd, POLLIN, d);
	if (rc == -1) {
		(void)err_sys(err, ERR_TEMP, "poll");
		err->reason = CONN_F_IO;
		return -1;
	}
	*ready = rc == 1;
	return 0;
}

static ssize_t
conn_read_plain(
    struct conn *c, char *p, size_t n, long long deadline, struct err *err)
{
	for (;;) {
		ssize_t r = sys_read(c->fd, p, n);
		int rc;

		if (r > 0)
			return r;
		if (r == 0)
			return conn_fail(err, CONN_F_LOST,
			    "connection closed by %s", c->peer);
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET || errno == EPIPE)
			return conn_fail(err, CONN_F_LOST,
			    "connection reset by %s", c->peer);
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			(void)err_sys(err, ERR_TEMP, "read from %s", c->peer);
			err->reason = CONN_F_IO;
			return -1;
		}
		rc = conn_poll(c->fd, POLLIN, deadline);
		if (rc == 0)
			return conn_fail(err, CONN_F_TIMEOUT,
			    "timed out reading from %s", c->peer);
		if (rc == -1) {
			(void)err_sys(err, ERR_TEMP, "poll");
			err->reason = CONN_F_IO;
			return -1;
		}
	}
}

static ssize_t
conn_read_tls(
    struct conn *c, char *p, size_t n, long long deadline, struct err *err)
{
	for (;;) {
		size_t got = 0;
		int rc, e;

		ERR_clear_error();
		if (SSL_read_ex(c->ssl, p, n, &got) == 1)
			return (ssize_t)got;
		e = SSL_get_error(c->ssl, 0);
		if (e == SSL_ERROR_WANT_READ)
			rc = conn_poll(c->fd, POLLIN, deadline);
		else if (e == SSL_ERROR_WANT_WRITE)
			rc = conn_poll(c->fd, POLLOUT, deadline);
		else if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
			return conn_fail(err, CONN_F_LOST,
			    "connection closed by %s", c->peer);
		else
			return conn_fail(err, CONN_F_LOST,
			    "TLS error reading from %s: %s", c->peer,
			    ERR_reason_error_string(ERR_peek_last_error())
				? ERR_reason_error_string(ERR_peek_last_error())
				: "unknown");
		if (rc == 0)
			return conn_fail(err, CONN_F_TIMEOUT,
			    "timed out reading from %s", c->peer);
		if (rc == -1) {
			(void)err_sys(err, ERR_TEMP, "poll");
			err->reason = CONN_F_IO;
			return -1;
		}
	}
}

ssize_t
conn_read(struct conn *c, struct buf *in, struct err *err)
{
	char tmp[CONN_READ_CHUNK];
	size_t room = in->max - in->len;
	ssize_t r;

	if (room == 0) {
		(void)err_set(err, ERR_INTERNAL, "input buffer full");
		err->reason = CONN_F_IO;
		return -1;
	}
	if (room > sizeof(tmp))
		room = sizeof(tmp);
	if (c->tls_done)
		r = conn_read_tls(c, tmp, room, conn_op_deadline(c), err);
	else
		r = conn_read_plain(c, tmp, room, conn_op_deadline(c), err);
	if (r <= 0)
		return -1;
	if (buf_append(in, tmp, (size_t)r) == -1) {
		(void)err_set(err, ERR_INTERNAL, "input buffer full");
		err->reason = CONN_F_IO;
		return -1;
	}
	c->nin += (unsigned long long)r;
	return r;
}

bool
conn_has_input(struct conn *c)
{
	char b;
	ssize_t r;

	if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
		return true;
	r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r > 0)
		return true;
	if (r == 0)
		return false;
	return errno != EAGAIN && errno != EWOULDBLOCK;
}

void
conn_write(struct conn *c, const void *p, size_t n)
{
	if (buf_append(&c->out, p, n) == -1)
		log_panic("conn: output queue over %zu bytes", c->out.max);
}

size_t
conn_queued(const struct conn *c)
{
	return c->out.len;
}

void
conn_bytes(
    const struct conn *c, unsigned long long *in, unsigned long long *out)
{
	*in = c->nin;
	*out = c->nout;
}

static int
conn_flush_plain(struct conn *c, long long deadline, struct err *err)
{
	size_t off = 0;

	while (off < c->out.len) {
		ssize_t w =
		    sys_write(c->fd, c->out.data + off, c->out.len - off);
		int rc;

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EPIPE || errno == ECONNRESET))
			return conn_fail(err, CONN_F_LOST,
			    "connection reset by %s", c->peer);
		if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			(void)err_sys(err, ERR_TEMP, "write to %s", c->peer);
			err->reason = CONN_F_IO;
			return -1;
		}
		rc = conn_poll(c->fd, POLLOUT, deadline);
		if (rc == 0)
			return conn_fail(err, CONN_F_TIMEOUT,
			    "timed out writing to %s", c->peer);
		if (rc == -1) {
			(void)err_sys(err, ERR_TEMP, "poll");
			err->reason = CONN_F_IO;
			return -1;
		}
	}
	return 0;
}

static int
conn_flush_tls(struct conn *c, long long deadline, struct err *err)
{
	for (;;) {
		size_t done = 0;
		int rc, e;

		ERR_clear_error();
		if (SSL_write_ex(c->ssl, c->out.data, c->out.len, &done) == 1)
			return 0;
		e = SSL_get_error(c->ssl, 0);
		if (e == SSL_ERROR_WANT_WRITE)
			rc = conn_poll(c->fd, POLLOUT, deadline);
		else if (e == SSL_ERROR_WANT_READ)
			rc = conn_poll(c->fd, POLLIN, deadline);
		else
			return conn_fail(err, CONN_F_LOST,
			    "connection to %s lost while writing", c->peer);
		if (rc == 0)
			return conn_fail(err, CONN_F_TIMEOUT,
			    "timed out writing to %s", c->peer);
		if (rc == -1) {
			(void)err_sys(err, ERR_TEMP, "poll");
			err->reason = CONN_F_IO;
			return -1;
		}
	}
}

int
conn_flush(struct conn *c, struct err *err)
{
	int rc;

	if (c->out.len == 0)
		return 0;
	if (c->tls_done)
		rc = conn_flush_tls(c, conn_op_deadline(c), err);
	else
		rc = conn_flush_plain(c, conn_op_deadline(c), err);
	if (rc == 0)
		c->nout += c->out.len;
	buf_reset(&c->out);
	return rc;
}
