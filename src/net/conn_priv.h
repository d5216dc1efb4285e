/*
 * conn_priv.h - the inside of struct conn, shared by conn.c (sockets,
 * deadlines, I/O), conn_connect.c (resolving, Happy Eyeballs) and
 * conn_tls.c (OpenSSL).  Nothing outside src/net includes it.
 */
#ifndef RELAY_CONN_PRIV_H
#define RELAY_CONN_PRIV_H

#include <openssl/ssl.h>

#include "net/conn.h"

struct conn {
	int fd; /* non-blocking, TCP_NODELAY */
	SSL *ssl; /* NULL until conn_start_tls */
	bool tls_done; /* handshake completed */
	struct conn_tls_ctx *tls_ctx; /* the context ssl came from */
	char tls_host[256]; /* the name the server was verified for */
	struct buf out; /* queued by conn_write */
	long long op_ms; /* per-operation timeout */
	long long deadline; /* session deadline, 0: none */
	char peer[48];
	int port;
	unsigned long long nin, nout;
	unsigned char first[8]; /* first bytes read during the handshake */
	size_t nfirst;
	struct conn_tls_info info;
};

/* conn_new_fd - wrap a connected socket (takes ownership of fd). */
struct conn *conn_new_fd(int fd, const struct conn_addr *a, int port);

/* conn_op_deadline - now + the operation timeout, bounded by the session
 * deadline. */
long long conn_op_deadline(const struct conn *c);

/* conn_tls_remember - keep c's TLS session in its context for the next
 * handshake to the same host, when it is resumable (conn_close). */
void conn_tls_remember(struct conn *c);

/* conn_poll - wait until fd is readable (events POLLIN) or writable
 * (POLLOUT) or deadline passes.  1 ready, 0 timed out, -1 errno set. */
int conn_poll(int fd, short events, long long deadline);

#endif
