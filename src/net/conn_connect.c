/*
 * conn_connect.c - resolving a smarthost and connecting to the first of
 * its addresses that answers.
 *
 * Part of net: smtp_open() calls conn_resolve() then conn_connect().
 *
 * Addresses are tried Happy Eyeballs style (RFC 8305): IPv6 and IPv4
 * interleaved, the next attempt started stagger_ms after the previous one
 * or at once when one fails, all racing until the first connects or the
 * overall connect deadline passes.  A blackholed address therefore costs
 * at most one stagger interval, never the whole timeout.
 *
 * Data: a small array of in-flight sockets, all closed except the winner.
 * Security: none beyond bounded waits; addresses come from the resolver.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "net/conn_priv.h"

#define CONN_MAX_ADDRS 32
#define CONN_STAGGER_MS 250

struct conn_race {
	const struct conn_addrs *a;
	const struct conn_connect_opts *o;
	long long start, deadline;
	int fds[CONN_MAX_ADDRS]; /* -1: not started or finished */
	size_t next; /* next address to start */
	size_t pending;
	int winner; /* index, -1 none yet */
	bool any_timeout, any_refused;
	bool kick; /* an attempt failed: start the next one now */
	int last_errno;
};

static int conn_start_one(struct conn_race *r, size_t i);
static void conn_report(struct conn_race *r, size_t i, int e);
static int conn_race_poll(struct conn_race *r, long long until);
static void conn_add_sorted(struct conn_addrs *out, struct addrinfo *res);

bool
conn_host_is_literal(const char *host)
{
	unsigned char tmp[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, tmp) == 1 ||
	    inet_pton(AF_INET6, host, tmp) == 1;
}

/* conn_add_sorted - copy res into out, families interleaved, no dupes. */
static void
conn_add_sorted(struct conn_addrs *out, struct addrinfo *res)
{
	struct addrinfo *ai;
	int fam[2];
	size_t k[2] = { 0, 0 }, nf[2] = { 0, 0 }, total = 0, i;
	struct addrinfo *lists[2][CONN_MAX_ADDRS];

	fam[0] = res->ai_family;
	fam[1] = fam[0] == AF_INET6 ? AF_INET : AF_INET6;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int f = ai->ai_family == fam[0] ? 0 : 1;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(struct sockaddr_storage) ||
		    nf[f] >= CONN_MAX_ADDRS)
			continue;
		lists[f][nf[f]++] = ai;
		total++;
	}
	out->v = xcalloc(total + 1, sizeof(*out->v));
	while (k[0] < nf[0] || k[1] < nf[1]) {
		int f;

		for (f = 0; f < 2; f++) {
			struct conn_addr *d;
			bool dup = false;

			if (k[f] >= nf[f] || out->n >= CONN_MAX_ADDRS)
				continue;
			ai = lists[f][k[f]++];
			d = &out->v[out->n];
			memcpy(&d->sa, ai->ai_addr, ai->ai_addrlen);
			d->len = ai->ai_addrlen;
			d->family = ai->ai_family;
			if (getnameinfo(ai->ai_addr, ai->ai_addrlen, d->text,
				sizeof(d->text), NULL, 0, NI_NUMERICHOST) != 0)
				(void)str_copy(d->text, sizeof(d->text), "?");
			for (i = 0; i < out->n; i++)
				dup = dup ||
				    (out->v[i].len == d->len &&
					memcmp(&out->v[i].sa, &d->sa, d->len) ==
					    0);
			if (!dup)
				out->n++;
		}
	}
}

int
conn_resolve(
    const char *host, int port, struct conn_addrs *out, struct err *err)
{
	struct addrinfo hints, *res = NULL;
	char portstr[16];
	int rc;

	memset(out, 0, sizeof(*out));
	out->port = port;
	if (host == NULL || *host == '\0') {
		(void)err_set(err, ERR_CONFIG, "empty smarthost name");
		err->reason = CONN_F_CONFIG;
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	if (conn_host_is_literal(host))
		hints.ai_flags |= AI_NUMERICHOST;
	(void)str_fmt(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || res == NULL) {
		(void)err_set(err, ERR_TEMP, "cannot resolve %s: %s", host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		err->reason = CONN_F_DNS;
		if (res != NULL)
			freeaddrinfo(res);
		return -1;
	}
	conn_add_sorted(out, res);
	freeaddrinfo(res);
	if (out->n == 0) {
		conn_addrs_free(out);
		(void)err_set(
		    err, ERR_TEMP, "%s has no IPv4 or IPv6 address", host);
		err->reason = CONN_F_DNS;
		return -1;
	}
	return 0;
}

void
conn_addrs_free(struct conn_addrs *a)
{
	xfree(a->v);
	a->v = NULL;
	a->n = 0;
}

static void
conn_report(struct conn_race *r, size_t i, int e)
{
	if (e == ETIMEDOUT)
		r->any_timeout = true;
	else if (e != 0)
		r->any_refused = true;
	if (e != 0)
		r->last_errno = e;
	if (r->o->on_attempt != NULL)
		r->o->on_attempt(
		    r->o->ctx, &r->a->v[i], e, conn_now_ms() - r->start);
}

/* conn_start_one - begin connecting address i: 1 connected at once,
 * 0 in progress, -1 failed at once (reported). */
static int
conn_start_one(struct conn_race *r, size_t i)
{
	const struct conn_addr *ad = &r->a->v[i];
	int fd = socket(ad->family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	int one = 1;

	if (fd == -1) {
		conn_report(r, i, errno);
		return -1;
	}
	if (fs_set_nonblock(fd, 1) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
		conn_report(r, i, errno);
		(void)close(fd);
		return -1;
	}
	if (sys_connect(fd, (const struct sockaddr *)&ad->sa, ad->len) == 0) {
		r->fds[i] = fd;
		return 1;
	}
	if (errno != EINPROGRESS && errno != EINTR) {
		conn_report(r, i, errno);
		(void)close(fd);
		return -1;
	}
	r->fds[i] = fd;
	r->pending++;
	return 0;
}

/* conn_race_poll - wait for any pending socket until `until`; sets
 * r->winner when one connects.  -1 only on a poll failure. */
static int
conn_race_poll(struct conn_race *r, long long until)
{
	struct pollfd pfd[CONN_MAX_ADDRS];
	size_t idx[CONN_MAX_ADDRS], np = 0, i;
	long long left = until - conn_now_ms();
	int rc;

	for (i = 0; i < r->next; i++) {
		if (r->fds[i] == -1)
			continue;
		pfd[np].fd = r->fds[i];
		pfd[np].events = POLLOUT;
		pfd[np].revents = 0;
		idx[np++] = i;
	}
	rc = poll(pfd, (nfds_t)np, left < 0 ? 0 : (int)left);
	if (rc == -1)
		return errno == EINTR ? 0 : -1;
	for (i = 0; i < np && r->winner == -1; i++) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (pfd[i].revents == 0)
			continue;
		if (getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) ==
		    -1)
			soerr = errno;
		if (soerr == 0) {
			r->winner = (int)idx[i];
			continue;
		}
		conn_report(r, idx[i], soerr);
		(void)close(pfd[i].fd);
		r->fds[idx[i]] = -1;
		r->pending--;
		r->kick = true;
	}
	return 0;
}

/* conn_race_finish - close the losers, wrap the winner. */
static struct conn *
conn_race_finish(struct conn_race *r, struct err *err)
{
	struct conn *c = NULL;
	size_t i;

	for (i = 0; i < r->next; i++) {
		if (r->fds[i] == -1 || (int)i == r->winner)
			continue;
		conn_report(r, i, ETIMEDOUT);
		(void)close(r->fds[i]);
	}
	if (r->winner >= 0) {
		conn_report(r, (size_t)r->winner, 0);
		c = conn_new_fd(
		    r->fds[r->winner], &r->a->v[r->winner], r->a->port);
		return c;
	}
	if (r->any_timeout)
		(void)err_set(err, ERR_TEMP, "connection to port %d timed out",
		    r->a->port);
	else
		(void)err_set(err, ERR_TEMP, "connection to port %d failed: %s",
		    r->a->port, strerror(r->last_errno));
	err->sys_errno = r->any_timeout ? ETIMEDOUT : r->last_errno;
	err->reason = r->any_timeout ? CONN_F_TIMEOUT : CONN_F_REFUSED;
	return NULL;
}

/* conn_ignore_sigpipe - a peer that closes while we write must be an
 * EPIPE error, not the end of the process.  OpenSSL writes with write(2),
 * so MSG_NOSIGNAL cannot help; a handler the program installed stays. */
static void
conn_ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		(void)sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGPIPE, &sa, NULL);
	}
}

struct conn *
conn_connect(const struct conn_addrs *a, const struct conn_connect_opts *o,
    struct err *err)
{
	struct conn_race r;
	long long stagger = o->stagger_ms > 0 ? o->stagger_ms : CONN_STAGGER_MS;
	long long next_at;
	size_t i, n = a->n < CONN_MAX_ADDRS ? a->n : CONN_MAX_ADDRS;

	conn_ignore_sigpipe();
	memset(&r, 0, sizeof(r));
	r.a = a;
	r.o = o;
	r.winner = -1;
	r.start = conn_now_ms();
	r.deadline = r.start + (o->timeout_ms > 0 ? o->timeout_ms : 30000);
	for (i = 0; i < CONN_MAX_ADDRS; i++)
		r.fds[i] = -1;
	next_at = r.start;
	while (r.winner == -1) {
		long long now = conn_now_ms();

		if (now >= r.deadline) {
			r.any_timeout = r.any_timeout || r.pending > 0;
			break;
		}
		if (r.next < n && (now >= next_at || r.pending == 0)) {
			int rc = conn_start_one(&r, r.next);

			if (rc == 1)
				r.winner = (int)r.next;
			r.next++;
			next_at = rc == -1 ? now : now + stagger;
			continue;
		}
		if (r.pending == 0)
			break; /* every address failed */
		if (conn_race_poll(&r,
			r.next < n && next_at < r.deadline ? next_at
							   : r.deadline) == -1)
			break;
		if (r.kick) {
			next_at = conn_now_ms();
			r.kick = false;
		}
	}
	return conn_race_finish(&r, err);
}
