/*
 * runner_listen.c - the loopback SMTP listener (design in runner_listen.h).
 *
 * Owns the listening sockets and the sessions: per session the socket,
 * the smtpd state machine, the submission being received (runner_sub),
 * the input not yet consumed and the replies not yet written.
 * Invariants: a session is read from only while smtpd can consume (not
 * while a commit is pending) and while its unwritten replies stay under
 * RUNNER_LISTEN_OUT_HIGH; a message is answered 250 only after
 * runner_enqueue_batch committed it; nothing blocks on a client.
 *
 * RFCs: 5321 (via mail/smtpd); 5735 / 4291 (127.0.0.0/8 and ::1 are the
 * loopback addresses).
 *
 * Security: the configuration may name loopback addresses only; every
 * accepted peer is checked again and closed unanswered unless it is
 * loopback.  The submitter recorded is relayd's own uid.  Clients are
 * bounded in number, time and memory (see runner_listen.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mail/smtpd.h"
#include "runner/runner_listen.h"

#define RUNNER_LISTEN_BACKLOG 64
#define RUNNER_LISTEN_READ 65536
/* Unwritten reply bytes above which a client is not read from. */
#define RUNNER_LISTEN_OUT_HIGH 65536
#define RUNNER_LISTEN_OUT_MAX (4 * 1024 * 1024)

struct runner_lconn {
	struct runner_listen *l;
	int fd;
	char peer[80];
	struct smtpd *sd;
	struct runner_sub *sub; /* the message being received */
	bool ready; /* sub complete, waiting for the commit */
	bool dead; /* write failed or peer gone: free it */
	struct buf in; /* read, not yet consumed by smtpd */
	struct buf out; /* replies not yet written */
	time_t started, last;
};

struct runner_listen {
	int fds[RUNNER_LISTEN_MAX_ADDRS];
	char names[RUNNER_LISTEN_MAX_ADDRS][80];
	size_t nfds;
	struct runner_lconn **conns;
	size_t nconns;
	const struct conf *conf; /* relayd's current one, for callbacks */
};

static char runner_listen_chunk[RUNNER_LISTEN_READ];

/* --- addresses ------------------------------------------------------------ */

/* runner_listen_loopback - is sa a loopback address? */
static bool
runner_listen_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;
		const unsigned char *b = in6->sin6_addr.s6_addr;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127);
	}
	return false;
}

/* runner_listen_name - "addr:port" / "[addr]:port" of sa into out. */
static void
runner_listen_name(const struct sockaddr *sa, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)) ==
		    NULL)
			(void)str_copy(host, sizeof(host), "?");
		(void)str_fmt(out, size, "[%s]:%u", host,
		    (unsigned)ntohs(in6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)) ==
		    NULL)
			(void)str_copy(host, sizeof(host), "?");
		(void)str_fmt(
		    out, size, "%s:%u", host, (unsigned)ntohs(in->sin_port));
	} else {
		(void)str_copy(out, size, "(unknown)");
	}
}

/* runner_listen_split - "host:port" or "[host]:port" into host and the
 * port number; -1 when the shape is wrong. */
static int
runner_listen_split(const char *spec, char *host, size_t size, long long *port)
{
	const char *colon = strrchr(spec, ':');
	size_t n;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - spec);
	if (spec[0] == '[') {
		if (n < 2 || spec[n - 1] != ']')
			return -1;
		spec++;
		n -= 2;
	}
	if (n == 0 || n >= size)
		return -1;
	memcpy(host, spec, n);
	host[n] = '\0';
	return str_to_ll(colon + 1, 1, 65535, port);
}

int
runner_listen_parse(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len, struct err *err)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	long long port;

	memset(ss, 0, sizeof(*ss));
	if (runner_listen_split(spec, host, sizeof(host), &port) == -1)
		return err_set(err, ERR_CONFIG,
		    "listen: \"%.80s\" is not ADDRESS:PORT (e.g. "
		    "\"127.0.0.1:25\" or \"[::1]:25\", port 1-65535)",
		    spec);
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)port);
		*len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*in6);
	} else {
		return err_set(err, ERR_CONFIG,
		    "listen: \"%.80s\" is not a numeric address (use "
		    "127.0.0.1 or [::1])",
		    spec);
	}
	if (!runner_listen_loopback((struct sockaddr *)ss))
		return err_set(err, ERR_CONFIG,
		    "listen: %.80s is not a loopback address; the listener "
		    "accepts mail only on 127.0.0.0/8 and [::1]",
		    spec);
	return 0;
}

int
runner_listen_check(const struct conf *c, struct err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	if (c->nlisten > RUNNER_LISTEN_MAX_ADDRS)
		return err_set(err, ERR_CONFIG,
		    "listen: %zu addresses; at most %d", c->nlisten,
		    RUNNER_LISTEN_MAX_ADDRS);
	for (i = 0; i < c->nlisten; i++)
		if (runner_listen_parse(c->listen[i], &ss, &len, err) == -1)
			return -1;
	if (c->nlisten > 0 && c->listen_max_connections < 1)
		return err_set(err, ERR_CONFIG,
		    "listen_max_connections must be at least 1");
	return 0;
}

/* runner_listen_bind - one listening socket for spec; -1 with err. */
static int
runner_listen_bind(const char *spec, struct err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	if (runner_listen_parse(spec, &ss, &len, err) == -1)
		return -1;
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return err_sys(err, ERR_TEMP, "listen: socket for %s", spec);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(
		    fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) == 0 &&
	    listen(fd, RUNNER_LISTEN_BACKLOG) == 0)
		return fd;
	if (errno == EACCES || errno == EPERM)
		(void)err_sys(err, ERR_CONFIG,
		    "listen: cannot bind %s (ports below 1024 need relayd "
		    "started as root or CAP_NET_BIND_SERVICE)",
		    spec);
	else if (errno == EADDRINUSE)
		(void)err_sys(err, ERR_TEMP,
		    "listen: cannot bind %s (another program listens there)",
		    spec);
	else
		(void)err_sys(err, ERR_CONFIG, "listen: cannot bind %s", spec);
	(void)close(fd);
	return -1;
}

int
runner_listen_open(
    const struct conf *c, struct runner_listen **out, struct err *err)
{
	struct runner_listen *l;
	size_t i;

	*out = NULL;
	if (runner_listen_check(c, err) == -1)
		return -1;
	if (c->nlisten == 0)
		return 0;
	l = xcalloc(1, sizeof(*l));
	for (i = 0; i < c->nlisten; i++) {
		int fd = runner_listen_bind(c->listen[i], err);

		if (fd == -1) {
			runner_listen_free(l);
			return -1;
		}
		l->fds[l->nfds] = fd;
		(void)str_copy(
		    l->names[l->nfds], sizeof(l->names[0]), c->listen[i]);
		l->nfds++;
		log_info("SMTP listener on %s (loopback only)", c->listen[i]);
	}
	*out = l;
	return 0;
}

/* --- one session ---------------------------------------------------------- */

static void
runner_lconn_reply(void *arg, const char *p, size_t n)
{
	struct runner_lconn *cn = arg;

	if (buf_append(&cn->out, p, n) == -1) {
		log_warnx("smtp %s: client does not read its replies; closed",
		    cn->peer);
		cn->dead = true;
	}
}

static int
runner_lconn_open(void *arg, struct err *err)
{
	struct runner_lconn *cn = arg;

	(void)err;
	runner_sub_free(cn->sub);
	cn->sub = runner_sub_new(cn->l->conf, getuid());
	cn->ready = false;
	return 0;
}

/* runner_lconn_sub_err - err for a submission refused with its reply
 * "CODE ENH text". */
static void
runner_lconn_sub_err(const struct runner_sub *sub, struct err *err)
{
	const char *p = sub->reply;
	size_t n;

	err_clear(err);
	p += strcspn(p, " ");
	p += strspn(p, " ");
	n = strcspn(p, " ");
	if (n > 0 && n < sizeof(err->enh) && p[1] == '.') {
		memcpy(err->enh, p, n);
		err->enh[n] = '\0';
		p += n;
		p += strspn(p, " ");
	}
	(void)err_set(err, sub->code >= 500 ? ERR_PERM : ERR_TEMP, "%s", p);
	err->smtp_code = sub->code;
}

static int
runner_lconn_write(void *arg, const char *p, size_t n, struct err *err)
{
	struct runner_lconn *cn = arg;
	size_t used;

	if (runner_sub_feed(cn->sub, p, n, &used) != RUNNER_SUB_FAILED &&
	    used == n)
		return 0;
	if (cn->sub->state != RUNNER_SUB_FAILED)
		(void)err_set(err, ERR_INTERNAL, "submission stream overrun");
	else
		runner_lconn_sub_err(cn->sub, err);
	runner_sub_free(cn->sub);
	cn->sub = NULL;
	return -1;
}

static int
runner_lconn_commit(void *arg, char *qid, size_t qid_size, struct err *err)
{
	struct runner_lconn *cn = arg;

	(void)qid;
	(void)qid_size;
	if (cn->sub == NULL || cn->sub->state != RUNNER_SUB_READY) {
		runner_sub_free(cn->sub);
		cn->sub = NULL;
		return err_set(err, ERR_INTERNAL, "incomplete submission");
	}
	cn->ready = true;
	return 1;
}

static void
runner_lconn_abort(void *arg)
{
	struct runner_lconn *cn = arg;

	runner_sub_free(cn->sub);
	cn->sub = NULL;
	cn->ready = false;
}

static const struct smtpd_ops runner_lconn_ops = {
	runner_lconn_reply,
	runner_lconn_open,
	runner_lconn_write,
	runner_lconn_commit,
	runner_lconn_abort,
};

static struct runner_lconn *
runner_lconn_new(struct runner_listen *l, int fd, const char *peer, time_t now)
{
	struct runner_lconn *cn = xcalloc(1, sizeof(*cn));

	cn->l = l;
	cn->fd = fd;
	(void)str_copy(cn->peer, sizeof(cn->peer), peer);
	buf_init(&cn->in, RUNNER_LISTEN_READ);
	buf_init(&cn->out, RUNNER_LISTEN_OUT_MAX);
	cn->started = now;
	cn->last = now;
	cn->sd = smtpd_new(l->conf, &runner_lconn_ops, cn);
	smtpd_start(cn->sd);
	return cn;
}

static void
runner_lconn_free(struct runner_lconn *cn)
{
	if (cn == NULL)
		return;
	smtpd_free(cn->sd);
	runner_sub_free(cn->sub);
	if (cn->fd != -1 && close(cn->fd) == -1)
		log_debug("smtp %s: close", cn->peer);
	buf_free(&cn->in);
	buf_free(&cn->out);
	xfree(cn);
}

/* runner_lconn_flush - write replies without blocking. */
static void
runner_lconn_flush(struct runner_lconn *cn)
{
	while (cn->out.len > 0 && !cn->dead) {
		ssize_t w = send(cn->fd, cn->out.data, cn->out.len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			cn->dead = true;
			return;
		}
		buf_consume(&cn->out, (size_t)w);
	}
}

/* runner_lconn_feed - give smtpd the input read so far. */
static void
runner_lconn_feed(struct runner_lconn *cn)
{
	size_t used;

	if (cn->in.len == 0)
		return;
	used = smtpd_feed(cn->sd, cn->in.data, cn->in.len);
	if (smtpd_phase(cn->sd) == SMTPD_CLOSED)
		buf_reset(&cn->in);
	else
		buf_consume(&cn->in, used);
}

/* runner_lconn_wants_read - may the session take more input now? */
static bool
runner_lconn_wants_read(const struct runner_lconn *cn)
{
	enum smtpd_phase ph = smtpd_phase(cn->sd);

	return !cn->dead && cn->in.len == 0 &&
	    cn->out.len < RUNNER_LISTEN_OUT_HIGH &&
	    (ph == SMTPD_COMMAND || ph == SMTPD_DATA);
}

/* runner_lconn_read - one read: feed it, answer. */
static void
runner_lconn_read(struct runner_lconn *cn, time_t now)
{
	ssize_t r;

	do
		r = recv(cn->fd, runner_listen_chunk,
		    sizeof(runner_listen_chunk), MSG_DONTWAIT);
	while (r == -1 && errno == EINTR);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r <= 0) {
		if (smtpd_in_data(cn->sd))
			log_info("smtp %s: connection lost inside DATA; "
				 "the message was not queued",
			    cn->peer);
		smtpd_eof(cn->sd);
		return;
	}
	cn->last = now;
	(void)buf_append(&cn->in, runner_listen_chunk, (size_t)r);
	runner_lconn_feed(cn);
	runner_lconn_flush(cn);
}

/* runner_lconn_deadline - when this session times out (0: not now). */
static time_t
runner_lconn_deadline(const struct runner_lconn *cn, const struct conf *c)
{
	time_t idle, whole;

	if (smtpd_phase(cn->sd) == SMTPD_WAIT || cn->ready)
		return 0;
	idle = cn->last +
	    (time_t)(smtpd_in_data(cn->sd) ? c->data_timeout
					   : c->command_timeout);
	whole = cn->started + (time_t)c->session_timeout;
	return idle < whole ? idle : whole;
}

/* --- the listener ----------------------------------------------------------- */

void
runner_listen_free(struct runner_listen *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nconns; i++)
		runner_lconn_free(l->conns[i]);
	xfree(l->conns);
	for (i = 0; i < l->nfds; i++)
		(void)close(l->fds[i]);
	xfree(l);
}

size_t
runner_listen_nfds(const struct runner_listen *l)
{
	return l == NULL ? 0 : l->nfds + l->nconns;
}

size_t
runner_listen_pollfds(
    const struct runner_listen *l, struct pollfd *p, size_t max)
{
	bool accepting;
	size_t i, n = 0;

	if (l == NULL)
		return 0;
	accepting = l->conf == NULL ||
	    l->nconns < (size_t)l->conf->listen_max_connections;
	for (i = 0; i < l->nfds && n < max && accepting; i++)
		p[n++] = (struct pollfd){ l->fds[i], POLLIN, 0 };
	for (i = 0; i < l->nconns && n < max; i++) {
		const struct runner_lconn *cn = l->conns[i];
		short ev = 0;

		if (runner_lconn_wants_read(cn))
			ev |= POLLIN;
		if (cn->out.len > 0)
			ev |= POLLOUT;
		if (ev != 0)
			p[n++] = (struct pollfd){ cn->fd, ev, 0 };
	}
	return n;
}

/* runner_listen_accept - take the waiting clients of listening socket
 * fd, up to listen_max_connections. */
static void
runner_listen_accept(struct runner_listen *l, int fd, time_t now)
{
	while (l->nconns < (size_t)l->conf->listen_max_connections) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char peer[80];
		int cfd = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("smtp: accept");
			return;
		}
		runner_listen_name((struct sockaddr *)&ss, peer, sizeof(peer));
		if (!runner_listen_loopback((struct sockaddr *)&ss)) {
			log_warnx("smtp: connection from %s refused: not a "
				  "loopback address",
			    peer);
			(void)close(cfd);
			continue;
		}
		log_debug("smtp: connection from %s", peer);
		l->conns =
		    xreallocarray(l->conns, l->nconns + 1, sizeof(*l->conns));
		l->conns[l->nconns] = runner_lconn_new(l, cfd, peer, now);
		runner_lconn_flush(l->conns[l->nconns]);
		l->nconns++;
	}
}

/* runner_listen_use - relayd's current configuration for everything. */
static void
runner_listen_use(struct runner_listen *l, const struct conf *c)
{
	size_t i;

	l->conf = c;
	for (i = 0; i < l->nconns; i++)
		smtpd_set_conf(l->conns[i]->sd, c);
}

/* runner_listen_find - the session on fd, or NULL. */
static struct runner_lconn *
runner_listen_find(const struct runner_listen *l, int fd)
{
	size_t i;

	for (i = 0; i < l->nconns; i++)
		if (l->conns[i]->fd == fd)
			return l->conns[i];
	return NULL;
}

void
runner_listen_io(struct runner_listen *l, const struct pollfd *p, size_t n,
    const struct conf *c, time_t now)
{
	size_t i, k;

	if (l == NULL)
		return;
	runner_listen_use(l, c);
	for (i = 0; i < n; i++) {
		struct runner_lconn *cn;

		if (p[i].fd < 0 || p[i].revents == 0)
			continue;
		for (k = 0; k < l->nfds; k++)
			if (p[i].fd == l->fds[k])
				runner_listen_accept(l, l->fds[k], now);
		cn = runner_listen_find(l, p[i].fd);
		if (cn == NULL)
			continue;
		if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    runner_lconn_wants_read(cn))
			runner_lconn_read(cn, now);
		if (p[i].revents & (POLLOUT | POLLERR))
			runner_lconn_flush(cn);
	}
}

/* runner_listen_answer - the commit of cn's message is done. */
static void
runner_listen_answer(struct runner_lconn *cn)
{
	struct runner_sub *sub = cn->sub;
	struct err err;

	if (sub->state == RUNNER_SUB_DONE && sub->code == 250) {
		smtpd_commit_done(cn->sd, sub->qid, NULL);
	} else {
		runner_lconn_sub_err(sub, &err);
		smtpd_commit_done(cn->sd, NULL, &err);
	}
	runner_sub_log(sub);
	runner_sub_free(sub);
	cn->sub = NULL;
	cn->ready = false;
	runner_lconn_feed(cn); /* what the client pipelined after the dot */
	runner_lconn_flush(cn);
}

size_t
runner_listen_commit(struct runner_listen *l, const struct runner_enqueue *ex)
{
	struct runner_sub **subs;
	size_t i, n = 0, queued = 0;

	if (l == NULL)
		return 0;
	runner_listen_use(l, ex->conf);
	for (i = 0; i < l->nconns; i++)
		n += l->conns[i]->ready;
	if (n == 0)
		return 0;
	subs = xcalloc(n, sizeof(*subs));
	n = 0;
	for (i = 0; i < l->nconns; i++)
		if (l->conns[i]->ready)
			subs[n++] = l->conns[i]->sub;
	runner_enqueue_batch(ex, subs, n);
	xfree(subs);
	for (i = 0; i < l->nconns; i++) {
		struct runner_lconn *cn = l->conns[i];

		if (!cn->ready)
			continue;
		queued += cn->sub->code == 250;
		runner_listen_answer(cn);
	}
	return queued;
}

void
runner_listen_sweep(struct runner_listen *l, const struct conf *c, time_t now)
{
	size_t i, j = 0;

	if (l == NULL)
		return;
	runner_listen_use(l, c);
	for (i = 0; i < l->nconns; i++) {
		struct runner_lconn *cn = l->conns[i];
		time_t dl = runner_lconn_deadline(cn, c);

		if (dl != 0 && now >= dl &&
		    smtpd_phase(cn->sd) != SMTPD_CLOSED) {
			log_info(
			    "smtp %s: silent for too long, closed", cn->peer);
			smtpd_timeout(cn->sd);
		}
		if (smtpd_phase(cn->sd) == SMTPD_CLOSED && !cn->ready)
			runner_lconn_flush(cn); /* the last reply, if it fits */
		if (cn->dead ||
		    (smtpd_phase(cn->sd) == SMTPD_CLOSED && !cn->ready))
			runner_lconn_free(cn);
		else
			l->conns[j++] = cn;
	}
	l->nconns = j;
}

time_t
runner_listen_next(const struct runner_listen *l, const struct conf *c)
{
	time_t next = 0;
	size_t i;

	for (i = 0; l != NULL && i < l->nconns; i++) {
		time_t dl = runner_lconn_deadline(l->conns[i], c);

		if (l->conns[i]->ready)
			return 1; /* a message waits for its commit: now */

		if (dl != 0 && (next == 0 || dl < next))
			next = dl;
	}
	return next;
}

void
runner_listen_stop(struct runner_listen *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nconns; i++) {
		struct runner_lconn *cn = l->conns[i];

		runner_sub_free(cn->sub);
		cn->sub = NULL;
		cn->ready = false;
		smtpd_shutdown(cn->sd);
		runner_lconn_flush(cn);
	}
}
