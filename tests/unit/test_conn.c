/*
 * test_conn.c - connections on loopback: resolving, Happy Eyeballs past a
 * dead address (a listener whose accept queue is full drops SYNs), refused
 * and timed-out connects, deadlines on reads and writes, a peer that
 * closes, failing system calls through sysops, TLS settings that cannot
 * work, and a plaintext answer to the ClientHello.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/str.h"
#include "base/sysops.h"
#include "net/conn.h"

/* listener - a loopback listener; OUT *port. */
static int
listener(int backlog, int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* dead_listener - a listener that answers no SYN: its queue is full. */
static int
dead_listener(int *port, int fill[3])
{
	struct sockaddr_in sa;
	int fd = listener(0, port), i;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)*port);
	for (i = 0; i < 3; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fill[i] >= 0);
		(void)connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	(void)poll(NULL, 0, 200);
	return fd;
}

static void
addr_for(struct conn_addrs *a, size_t i, int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->v[i].sa;

	memset(&a->v[i], 0, sizeof(a->v[i]));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons((uint16_t)port);
	a->v[i].len = sizeof(*sin);
	a->v[i].family = AF_INET;
	(void)str_copy(a->v[i].text, sizeof(a->v[i].text), "127.0.0.1");
}

static int attempts_ok, attempts_failed;

static void
on_attempt(void *ctx, const struct conn_addr *a, int err_no, long long ms)
{
	(void)ctx;
	(void)a;
	(void)ms;
	if (err_no == 0)
		attempts_ok++;
	else
		attempts_failed++;
}

static void
test_resolve(void **state)
{
	struct conn_addrs a;
	struct err err;

	(void)state;
	assert_int_equal(conn_resolve("127.0.0.1", 25, &a, &err), 0);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.v[0].text, "127.0.0.1");
	conn_addrs_free(&a);
	assert_int_equal(conn_resolve("::1", 25, &a, &err), 0);
	assert_int_equal(a.v[0].family, AF_INET6);
	conn_addrs_free(&a);
	assert_int_equal(conn_resolve("localhost", 25, &a, &err), 0);
	assert_true(a.n >= 1);
	conn_addrs_free(&a);
	err_clear(&err);
	assert_int_equal(conn_resolve("", 25, &a, &err), -1);
	assert_int_equal(err.cls, ERR_CONFIG);
	err_clear(&err);
	assert_int_equal(conn_resolve("nonexistent.invalid", 25, &a, &err), -1);
	assert_int_equal(err.reason, CONN_F_DNS);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_true(conn_host_is_literal("::1"));
	assert_true(conn_host_is_literal("10.0.0.1"));
	assert_false(conn_host_is_literal("mail.example.com"));
}

static void
test_happy_eyeballs_past_dead_address(void **state)
{
	struct conn_addrs a;
	struct conn_connect_opts o;
	struct conn *c;
	struct err err;
	int fill[3], dport, gport, i;
	int dead = dead_listener(&dport, fill);
	int good = listener(8, &gport);

	(void)state;
	a.v = calloc(2, sizeof(*a.v));
	assert_non_null(a.v);
	a.n = 2;
	a.port = gport;
	addr_for(&a, 0, dport);
	addr_for(&a, 1, gport);
	memset(&o, 0, sizeof(o));
	/* A sequential client would spend the whole 2 s on the dead one. */
	o.timeout_ms = 2000;
	o.stagger_ms = 100;
	o.on_attempt = on_attempt;
	attempts_ok = attempts_failed = 0;
	c = conn_connect(&a, &o, &err);
	assert_non_null(c);
	assert_int_equal(conn_port(c), gport);
	assert_string_equal(conn_peer(c), "127.0.0.1");
	assert_int_equal(attempts_ok, 1);
	assert_int_equal(attempts_failed, 1); /* the dead one, abandoned */
	conn_close(c);
	/* Only the dead address: a connect timeout. */
	a.n = 1;
	err_clear(&err);
	o.timeout_ms = 300;
	assert_null(conn_connect(&a, &o, &err));
	assert_int_equal(err.reason, CONN_F_TIMEOUT);
	free(a.v);
	for (i = 0; i < 3; i++)
		(void)close(fill[i]);
	(void)close(dead);
	(void)close(good);
}

static int
refuse_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	(void)fd;
	(void)sa;
	(void)len;
	errno = ENETUNREACH;
	return -1;
}

static void
test_refused(void **state)
{
	struct conn_addrs a;
	struct conn_connect_opts o;
	struct err err;
	int p1, p2;
	int l1 = listener(1, &p1), l2 = listener(1, &p2);

	(void)state;
	(void)close(l1); /* both ports closed now */
	(void)close(l2);
	a.v = calloc(2, sizeof(*a.v));
	assert_non_null(a.v);
	a.n = 2;
	a.port = p1;
	addr_for(&a, 0, p1);
	addr_for(&a, 1, p2);
	memset(&o, 0, sizeof(o));
	o.timeout_ms = 5000;
	err_clear(&err);
	assert_null(conn_connect(&a, &o, &err));
	assert_int_equal(err.reason, CONN_F_REFUSED);
	assert_int_equal(err.sys_errno, ECONNREFUSED);
	sysops.connect = refuse_connect;
	err_clear(&err);
	assert_null(conn_connect(&a, &o, &err));
	assert_int_equal(err.reason, CONN_F_REFUSED);
	assert_int_equal(err.sys_errno, ENETUNREACH);
	sysops_reset();
	free(a.v);
}

/* pair - a connected conn and the server's accepted fd. */
static struct conn *
pair(int *server_fd, int *lfd)
{
	struct conn_addrs a;
	struct conn_connect_opts o;
	struct err err;
	struct conn *c;
	int port;

	*lfd = listener(4, &port);
	a.v = calloc(1, sizeof(*a.v));
	assert_non_null(a.v);
	a.n = 1;
	a.port = port;
	addr_for(&a, 0, port);
	memset(&o, 0, sizeof(o));
	o.timeout_ms = 2000;
	c = conn_connect(&a, &o, &err);
	assert_non_null(c);
	*server_fd = accept(*lfd, NULL, NULL);
	assert_true(*server_fd >= 0);
	free(a.v);
	return c;
}

static ssize_t
eio_read(int fd, void *p, size_t n)
{
	(void)fd;
	(void)p;
	(void)n;
	errno = EIO;
	return -1;
}

static void
test_io_deadlines(void **state)
{
	struct buf in;
	struct err err;
	bool ready = true;
	int sfd, lfd;
	struct conn *c = pair(&sfd, &lfd);
	char big[200000];

	(void)state;
	buf_init(&in, 1024);
	conn_set_timeout(c, 100);
	err_clear(&err);
	assert_int_equal(conn_read(c, &in, &err), -1);
	assert_int_equal(err.reason, CONN_F_TIMEOUT);
	assert_int_equal(conn_wait_input(c, 50, &ready, &err), 0);
	assert_false(ready);
	assert_false(conn_has_input(c));
	assert_int_equal(write(sfd, "220 hi\r\n", 8), 8);
	assert_int_equal(conn_wait_input(c, 1000, &ready, &err), 0);
	assert_true(ready);
	assert_true(conn_has_input(c));
	assert_int_equal(conn_read(c, &in, &err), 8);
	assert_memory_equal(in.data, "220 hi\r\n", 8);
	/* a failing read() is an I/O error */
	assert_int_equal(write(sfd, "x", 1), 1);
	sysops.read = eio_read;
	err_clear(&err);
	assert_int_equal(conn_read(c, &in, &err), -1);
	assert_int_equal(err.reason, CONN_F_IO);
	sysops_reset();
	buf_reset(&in);
	assert_int_equal(conn_read(c, &in, &err), 1);
	/* the server never reads: the write deadline passes */
	memset(big, 'x', sizeof(big));
	conn_set_timeout(c, 200);
	err_clear(&err);
	for (int i = 0; i < 200; i++) {
		conn_write(c, big, sizeof(big));
		if (conn_flush(c, &err) == -1)
			break;
	}
	assert_int_equal(err.reason, CONN_F_TIMEOUT);
	/* the session deadline caps every operation */
	conn_set_timeout(c, 60000);
	conn_set_deadline(c, conn_now_ms() + 100);
	err_clear(&err);
	assert_int_equal(conn_read(c, &in, &err), -1);
	assert_int_equal(err.reason, CONN_F_TIMEOUT);
	conn_set_deadline(c, 0);
	/* the peer closes */
	(void)close(sfd);
	err_clear(&err);
	conn_set_timeout(c, 1000);
	assert_int_equal(conn_read(c, &in, &err), -1);
	assert_int_equal(err.reason, CONN_F_LOST);
	buf_free(&in);
	conn_close(c);
	(void)close(lfd);
}

static void
test_tls_settings(void **state)
{
	struct conn_tls_opts o;
	struct conn_tls_ctx *t;
	struct err err;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.ca_file = "/nonexistent/ca.pem";
	err_clear(&err);
	assert_null(conn_tls_ctx_new(&o, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_int_equal(err.reason, CONN_F_CONFIG);
	memset(&o, 0, sizeof(o));
	o.fingerprint = "sha256:1234";
	err_clear(&err);
	assert_null(conn_tls_ctx_new(&o, &err));
	assert_int_equal(err.reason, CONN_F_CONFIG);
	o.fingerprint = "sha256:00112233445566778899aabbccddeeff00112233445566"
			"778899aabbccddeeff";
	o.client_cert = "/nonexistent.pem";
	err_clear(&err);
	assert_null(conn_tls_ctx_new(&o, &err));
	assert_non_null(strstr(err.msg, "client_cert"));
	o.client_cert = NULL;
	t = conn_tls_ctx_new(&o, &err);
	assert_non_null(t);
	conn_tls_ctx_free(t);
	conn_tls_ctx_free(NULL);
}

static void
test_plaintext_answer(void **state)
{
	struct conn_tls_opts o;
	struct conn_tls_ctx *t;
	struct conn_tls_info ti;
	struct err err;
	int sfd, lfd;
	struct conn *c = pair(&sfd, &lfd);

	(void)state;
	memset(&o, 0, sizeof(o));
	t = conn_tls_ctx_new(&o, &err);
	assert_non_null(t);
	assert_int_equal(write(sfd, "220 plain ESMTP\r\n", 17), 17);
	conn_set_timeout(c, 2000);
	err_clear(&err);
	assert_int_equal(conn_start_tls(c, t, "", &err), -1);
	assert_int_equal(err.reason, CONN_F_CONFIG);
	err_clear(&err);
	assert_int_equal(conn_start_tls(c, t, "localhost", &err), -1);
	assert_int_equal(err.reason, CONN_F_PLAINTEXT);
	assert_non_null(strstr(err.msg, "220"));
	assert_false(conn_is_tls(c));
	conn_get_tls_info(c, &ti);
	assert_false(ti.verified);
	conn_close(c);
	(void)close(sfd);
	(void)close(lfd);
	/* a peer that just closes during the handshake */
	c = pair(&sfd, &lfd);
	(void)close(sfd);
	err_clear(&err);
	assert_int_equal(conn_start_tls(c, t, "localhost", &err), -1);
	assert_int_equal(err.reason, CONN_F_LOST);
	conn_close(c);
	conn_tls_ctx_free(t);
	(void)close(lfd);
	assert_string_equal(conn_fail_name(CONN_F_PLAINTEXT), "plaintext");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_happy_eyeballs_past_dead_address),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_io_deadlines),
		cmocka_unit_test(test_tls_settings),
		cmocka_unit_test(test_plaintext_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
