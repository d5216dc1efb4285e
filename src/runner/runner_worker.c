/*
 * runner_worker.c - the delivery worker (loop and lifecycle in
 * runner_worker.h).
 *
 * Part of the runner: started by runner_sched (or run in-process by
 * relayd --once); talks SMTP through smtp_open / smtp_send / smtp_sync
 * and hands every outcome to runner_trouble, which alone writes results,
 * ends claims and changes smarthost health.
 *
 * Data: its own spool connection, the smarthosts' health as last read,
 * the current claim batch, and the messages on their way, each owned from
 * smtp_send until its results are written: with DATA at most two (one
 * whose final reply is pending, one being sent), with BDAT the smtp
 * window's worth, and the accepted ones whose results are held.
 * Invariants: a message is sent only while this worker holds its claim
 * (checked by spool_get_claimed, renewed before the lease runs out);
 * every claim is either ended by a result, given back untried, or (if
 * the worker dies) released by relayd or taken over after the lease; a
 * message's results are written right after its final reply was read:
 * in its msg_done, or for an accepted message with the others accepted
 * before it, in one transaction before smtp waits for the server again
 * (the settle hook, runner_worker_settle) or, with one message in flight
 * (DATA), when smtp_send returns; in a BDAT window at most
 * RUNNER_HELD_MAX are held while the next messages go out; nothing is
 * in flight or held while the worker lingers or closes (smtp_sync), so
 * no result waits on anything but the smarthost.
 * Claiming the next batch is a local query and goes on while messages
 * are in flight.
 *
 * RFC 5321 (one session, RSET between transactions), RFC 2920
 * (pipelining, in smtp; 3.1: the next message's commands follow the
 * final dot), RFC 3030 (CHUNKING, in smtp: a window of transactions in
 * flight), RFC 3461 (RET, ENVID, NOTIFY passed on).
 *
 * Security: runs as relayd's user; reads the credentials only through
 * smtp_open; the TLS mode cache is the spool's tls_cache table.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "runner/runner_bounce.h"
#include "runner/runner_tlscache.h"
#include "runner/runner_trouble.h"
#include "runner/runner_worker.h"
#include "smtp/smtp.h"

/* Accepted messages whose results may be held in a window of
 * transactions before they are written (runner_worker_deliver). */
#define RUNNER_HELD_MAX 64

static volatile sig_atomic_t runner_worker_stop;

struct runner_worker {
	const struct conf *conf;
	const struct aliases *aliases;
	struct runner_trouble t;
	struct tlsmode_cache cache;
	struct smtp_opts opts; /* outlives each session */
	struct smtp_info info;
	struct runner_host *hosts;
	size_t nhosts;
	int flags;
	int notify_fd;
	bool notified;
	time_t lease_at; /* when the current claims were taken/renewed */
	struct runner_worker_stats st;
	/* the current session: the worst next step its messages asked for
	 * (the enum is ordered by severity), and whether one of them already
	 * reported the session's end */
	enum runner_next next;
	bool session_ended;
	size_t in_flight; /* messages sent whose msg_done has not come */
	/* accepted messages whose results wait to be written together
	 * (runner_worker_settle), owned */
	struct runner_wmsg **held;
	size_t nheld, held_cap;
};

/* One message on its way, from smtp_send until its msg_done: the
 * envelope, the outcome arrays smtp fills and what the callbacks need. */
struct runner_wmsg {
	struct runner_worker *w;
	struct runner_host *h;
	struct spool_msg_info *mi;
	struct runner_attempt a;
	struct smtp_msg m;
	const char **rcpts;
	struct smtp_outcome *rout, mout;
	int (*emit)(const char *p, size_t n, void *ectx);
	void *ectx;
	bool emit_failed;
	struct buf body; /* the whole body, read with the envelope */
	bool body_loaded; /* until it is sent; else read chunk by chunk */
};

static void
runner_worker_on_signal(int sig)
{
	(void)sig;
	runner_worker_stop = 1;
}

void
runner_worker_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = runner_worker_on_signal;
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		log_warn("sigaction");
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGPIPE, SIG_IGN);
}

/* --- sessions ------------------------------------------------------------- */

/* runner_worker_give_back - release claims qids[0..*n) untried. */
static void
runner_worker_give_back(
    struct runner_worker *w, char (*qids)[SPOOL_QID_SIZE], size_t *n)
{
	size_t k;

	for (k = 0; k < *n; k++)
		runner_trouble_release(&w->t, qids[k]);
	*n = 0;
}

/* runner_worker_connect - the first smarthost that may be tried and
 * opens; NULL when none does.  OUT *hi: its index.  The batch claimed
 * before connecting (pre[0..*npre)) is given back before an open failure
 * is recorded, so the smarthost's trouble (a hold, a backoff) finds those
 * messages waiting like the others. */
static struct smtp_session *
runner_worker_connect(struct runner_worker *w, size_t *hi,
    char (*pre)[SPOOL_QID_SIZE], size_t *npre)
{
	bool force = (w->flags & RUNNER_WORKER_FORCE) != 0;
	struct smtp_session *s = NULL;
	struct smtp_outcome out;
	struct err err;
	size_t i;
	int rc;

	w->flags &= ~RUNNER_WORKER_FORCE; /* one forced round per worker */
	for (i = 0; i < w->nhosts && s == NULL; i++) {
		struct runner_host *h = &w->hosts[i];
		struct conn_tls_ctx *tls = h->tls;
		int lost = h->lost_in_row;

		err_clear(&err);
		rc = runner_trouble_host_load(
		    &w->t, &w->conf->smarthosts[i], h, &err);
		h->lost_in_row = lost;
		h->tls = tls; /* the worker's, not the spool's */
		if (rc == -1) {
			log_warnx("smarthost %s: %s",
			    w->conf->smarthosts[i].name, err.msg);
			return NULL;
		}
		if (!runner_trouble_host_usable(h, sys_time(), force))
			continue;
		w->opts.sh = h->sh;
		w->opts.tls_keep = &h->tls;
		memset(&w->info, 0, sizeof(w->info));
		s = smtp_open(&w->opts, &out);
		if (s == NULL) {
			runner_worker_give_back(w, pre, npre);
			(void)runner_trouble_host_fail(
			    &w->t, h, &out, sys_time());
			continue;
		}
		w->st.sessions++;
		runner_trouble_open_ok(&w->t, h, sys_time());
		log_debug("smarthost %s: session open (%s, tls=%s)",
		    h->sh->name, w->info.relay, w->info.tls);
		*hi = i;
	}
	return s;
}

/* runner_worker_renew - extend the leases of qids[0..n) when half of
 * the lease has passed. */
static void
runner_worker_renew(
    struct runner_worker *w, char (*qids)[SPOOL_QID_SIZE], size_t n)
{
	time_t now = sys_time();
	struct err err;
	size_t i;

	if (now - w->lease_at < w->conf->lease_time / 2)
		return;
	for (i = 0; i < n; i++) {
		err_clear(&err);
		if (spool_renew(w->t.sp, qids[i], w->t.owner, now,
			w->conf->lease_time, &err) == -1)
			log_debug(
			    "%s: lease not renewed: %s", qids[i], err.msg);
	}
	w->lease_at = now;
}

/* --- one message ---------------------------------------------------------- */

static int
runner_wmsg_chunk(const char *p, size_t n, void *arg)
{
	struct runner_wmsg *m = arg;

	if (m->emit(p, n, m->ectx) != 0) {
		m->emit_failed = true;
		return 1;
	}
	return 0;
}

/* runner_wmsg_body - smtp_body_fn: the stored message, chunk by chunk. */
static int
runner_wmsg_body(void *ctx, int (*emit)(const char *p, size_t n, void *ectx),
    void *ectx, struct err *err)
{
	struct runner_wmsg *m = ctx;

	m->emit = emit;
	m->ectx = ectx;
	m->emit_failed = false;
	if (m->body_loaded) {
		/* sent once: no copy stays in memory while in flight */
		m->body_loaded = false;
		if (m->body.len > 0)
			(void)runner_wmsg_chunk(m->body.data, m->body.len, m);
		buf_free(&m->body);
	} else if (spool_body_read_sized(m->w->t.sp, m->mi->qid, m->mi->size,
		       runner_wmsg_chunk, m, err) == -1) {
		return -1;
	}
	if (m->emit_failed)
		return err_set(err, ERR_TEMP, "sending the message failed");
	return 0;
}

static void
runner_wmsg_rcpt_done(void *ctx, size_t i, const struct smtp_outcome *o)
{
	struct runner_wmsg *m = ctx;

	runner_trouble_rcpt_early(&m->w->t, &m->a, i, o);
}

/* runner_worker_bounce - queue the report for failures just written. */
static void
runner_worker_bounce(struct runner_worker *w, const char *qid)
{
	char bqid[SPOOL_QID_SIZE];
	struct err err;

	err_clear(&err);
	if (runner_bounce_one(w->t.sp, w->conf, w->aliases, qid, sys_time(),
		bqid, &err) == -1)
		log_warnx("%s: bounce not queued yet (relayd retries): %s", qid,
		    err.msg);
}

static void
runner_wmsg_free(struct runner_wmsg *wm)
{
	xfree(wm->rout);
	xfree(wm->rcpts);
	xfree(wm->a.recorded);
	buf_free(&wm->body);
	spool_msg_info_free(wm->mi);
	xfree(wm);
}

/* runner_worker_settle - write the held results, in one spool
 * transaction (runner_trouble_batch), and be done with those messages. */
static void
runner_worker_settle(struct runner_worker *w)
{
	struct runner_batch b;
	enum runner_next next;
	size_t k, n = w->nheld;

	if (n == 0)
		return;
	b.a = xcalloc(n, sizeof(*b.a));
	b.rcpt_out = xcalloc(n, sizeof(*b.rcpt_out));
	b.msg_out = xcalloc(n, sizeof(*b.msg_out));
	b.n = n;
	for (k = 0; k < n; k++) {
		b.a[k] = &w->held[k]->a;
		b.rcpt_out[k] = w->held[k]->rout;
		b.msg_out[k] = &w->held[k]->mout;
	}
	next = runner_trouble_batch(&w->t, &b, w->held[0]->h);
	if (next > w->next)
		w->next = next;
	for (k = 0; k < n; k++) {
		if (w->held[k]->a.nfailed > 0)
			runner_worker_bounce(w, w->held[k]->mi->qid);
		runner_wmsg_free(w->held[k]);
	}
	w->nheld = 0;
	xfree(b.a);
	xfree(b.rcpt_out);
	xfree(b.msg_out);
}

/* runner_worker_settle_cb - smtp's settle: about to wait for the
 * smarthost, so nothing held may wait with it. */
static void
runner_worker_settle_cb(void *ctx)
{
	runner_worker_settle(ctx);
}

/* runner_wmsg_hold - keep an accepted message's results to be written
 * with the others of its window. */
static void
runner_wmsg_hold(struct runner_worker *w, struct runner_wmsg *wm)
{
	if (w->nheld == w->held_cap) {
		w->held_cap = w->held_cap > 0 ? 2 * w->held_cap : 32;
		w->held = xreallocarray(w->held, w->held_cap, sizeof(*w->held));
	}
	w->held[w->nheld++] = wm;
}

/* runner_wmsg_done - smtp's msg_done: the transaction ended.  An accepted
 * message's results are held until smtp returns or waits (then written
 * with the others in one transaction: runner_worker_settle); any other
 * outcome goes to runner_trouble now, after the held ones. */
static void
runner_wmsg_done(void *ctx, int rc, const struct smtp_outcome *rout,
    const struct smtp_outcome *mout)
{
	struct runner_wmsg *wm = ctx;
	struct runner_worker *w = wm->w;
	enum runner_next next;

	w->in_flight--;
	if (rc == 0 && mout->reason == SMTP_R_OK) {
		runner_wmsg_hold(w, wm);
		return;
	}
	runner_worker_settle(w);
	wm->a.behind_loss = rc == -1 && w->session_ended;
	next = runner_trouble_message(&w->t, &wm->a, wm->h, rc, rout, mout);
	if (rc == -1)
		w->session_ended = true;
	if (wm->a.nfailed > 0)
		runner_worker_bounce(w, wm->mi->qid);
	if (next > w->next)
		w->next = next;
	runner_wmsg_free(wm);
}

/* runner_wmsg_new - the message on its way for a claimed envelope. */
static struct runner_wmsg *
runner_wmsg_new(
    struct runner_worker *w, struct runner_host *h, struct spool_msg_info *mi)
{
	struct runner_wmsg *wm = xcalloc(1, sizeof(*wm));
	struct smtp_msg *m = &wm->m;
	size_t i;

	wm->w = w;
	wm->h = h;
	wm->mi = mi;
	wm->a.mi = mi;
	wm->a.recorded = xcalloc(mi->nrcpts, sizeof(bool));
	wm->rcpts = xcalloc(mi->nrcpts, sizeof(*wm->rcpts));
	wm->rout = xcalloc(mi->nrcpts, sizeof(*wm->rout));
	for (i = 0; i < mi->nrcpts; i++)
		wm->rcpts[i] = mi->rcpts[i].address;
	m->sender = mi->sender != NULL ? mi->sender : "";
	m->rcpts = wm->rcpts;
	m->nrcpts = mi->nrcpts;
	m->size = mi->size;
	m->eightbit =
	    mi->body_type != NULL && str_eq_ci(mi->body_type, "8BITMIME");
	m->smtputf8 = mi->smtputf8;
	m->ret = mi->ret;
	m->envid = mi->envid;
	m->notify = mi->notify;
	m->body = runner_wmsg_body;
	m->body_ctx = wm;
	m->rcpt_done = runner_wmsg_rcpt_done;
	m->msg_done = runner_wmsg_done;
	m->done_ctx = wm;
	m->flags = SMTP_MSG_PIPELINE_DOT;
	return wm;
}

/* runner_worker_deliver - send one claimed message on session s; its
 * results are written by runner_wmsg_done, which may run later (its
 * final reply read when the next message's commands went out, when the
 * window of transactions in flight is full, or at smtp_sync). */
static void
runner_worker_deliver(struct runner_worker *w, struct smtp_session *s,
    struct runner_host *h, const char *qid)
{
	struct spool_msg_info *mi = NULL;
	struct runner_wmsg *wm;
	struct buf body;
	struct err err;
	bool loaded;

	err_clear(&err);
	buf_init(&body, SPOOL_CHUNK_SIZE);
	if (spool_get_claimed_body(w->t.sp, qid, w->t.owner, sys_time(),
		SPOOL_CHUNK_SIZE, &mi, &body, &loaded, &err) == -1) {
		log_debug("%s: skipped: %s", qid, err.msg);
		buf_free(&body);
		return;
	}
	if (mi->nrcpts == 0) {
		runner_trouble_release(&w->t, qid);
		spool_msg_info_free(mi);
		buf_free(&body);
		return;
	}
	wm = runner_wmsg_new(w, h, mi);
	wm->body = body;
	wm->body_loaded = loaded;
	w->st.messages++;
	w->in_flight++;
	(void)smtp_send(s, &wm->m, wm->rout, &wm->mout);
	/* In a window the held results wait for the settle hook, which
	 * runs before smtp would wait for the server: the worker sends the
	 * next messages first and writes while the server works on them.
	 * Otherwise (one message in flight) they are written now. */
	if (!smtp_windowed(s) || w->nheld >= RUNNER_HELD_MAX)
		runner_worker_settle(w);
}

/* runner_worker_tell - one byte to relayd (it may be gone: ignored). */
static void
runner_worker_tell(struct runner_worker *w, char c)
{
	if (w->notify_fd != -1)
		(void)!write(w->notify_fd, &c, 1);
}

/* runner_worker_linger - nothing is due: say so, keep the session and
 * wait up to RUNNER_LINGER_MS for relayd's "go".  True when told to go
 * on (the "more" notice is armed again). */
static bool
runner_worker_linger(struct runner_worker *w, struct smtp_session *s)
{
	struct pollfd pfd = { w->notify_fd, POLLIN, 0 };
	char buf[16];
	ssize_t r, i;

	if (w->notify_fd == -1 || !smtp_is_ready(s) || runner_worker_stop)
		return false;
	runner_worker_tell(w, RUNNER_WORKER_IDLE);
	if (poll(&pfd, 1, RUNNER_LINGER_MS) <= 0 || runner_worker_stop)
		return false;
	r = read(w->notify_fd, buf, sizeof(buf));
	for (i = 0; i < r; i++) {
		if (buf[i] == RUNNER_WORKER_GO) {
			w->notified = false;
			return true;
		}
	}
	return false;
}

/* runner_worker_claim - up to want due messages; 0 claimed is "none". */
static size_t
runner_worker_claim(
    struct runner_worker *w, char (*qids)[SPOOL_QID_SIZE], size_t want)
{
	struct err err;
	size_t n = 0;

	err_clear(&err);
	if (spool_claim(w->t.sp, w->t.owner, sys_time(), w->conf->lease_time,
		want, qids, &n, &err) == -1) {
		log_warnx("delivery: claiming messages: %s", err.msg);
		return 0;
	}
	w->lease_at = sys_time();
	if (n == want && !w->notified) {
		w->notified = true;
		runner_worker_tell(w, RUNNER_WORKER_MORE);
	}
	return n;
}

static size_t runner_worker_first_want(const struct runner_worker *w);

/* runner_worker_session - send the batch claimed before connecting
 * (qids[0..npre)), then claim and send on s until nothing is due, the
 * per-connection limit is reached, or the session ends.  Returns
 * RUNNER_NEXT_GO_ON when the worker is done, else what to do next.  OUT
 * *nnext: at the per-connection limit, the next session's batch, claimed
 * into qids while the last replies were on their way (given back unless
 * the result is RUNNER_NEXT_RECONNECT). */
static enum runner_next
runner_worker_session(struct runner_worker *w, struct smtp_session *s,
    struct runner_host *h, char (*qids)[SPOOL_QID_SIZE], size_t npre,
    size_t *nnext)
{
	size_t max = h->sh->max_messages_per_connection > 0
	    ? (size_t)h->sh->max_messages_per_connection
	    : 1;
	enum runner_next next;
	size_t done = 0, n, k;

	w->next = RUNNER_NEXT_GO_ON;
	w->session_ended = false;
	while (!runner_worker_stop && done < max) {
		if (w->next != RUNNER_NEXT_GO_ON || !smtp_is_ready(s))
			break;
		if (npre > 0) {
			n = npre;
			npre = 0;
			if (n > max) {
				size_t extra = n - max;

				runner_worker_give_back(w, qids + max, &extra);
				n = max;
			}
		} else {
			n = runner_worker_claim(w, qids,
			    max - done < RUNNER_CLAIM_MAX ? max - done
							  : RUNNER_CLAIM_MAX);
		}
		if (n == 0 && w->in_flight > 0) {
			/* the last messages' results first (they may make
			 * more due: a bounce), then claim again; nothing stays
			 * in flight while the worker lingers */
			(void)smtp_sync(s);
			runner_worker_settle(w);
			continue;
		}
		if (n == 0 && runner_worker_linger(w, s))
			continue;
		if (n == 0)
			break;
		for (k = 0; k < n; k++) {
			if (w->next != RUNNER_NEXT_GO_ON ||
			    runner_worker_stop || !smtp_is_ready(s)) {
				runner_trouble_release(&w->t, qids[k]);
				continue;
			}
			runner_worker_renew(w, qids + k, n - k);
			runner_worker_deliver(w, s, h, qids[k]);
			done++;
		}
	}
	runner_worker_give_back(w, qids, &npre); /* stopped before it began */
	*nnext = 0;
	if (w->next == RUNNER_NEXT_GO_ON && done >= max &&
	    !runner_worker_stop && smtp_is_ready(s))
		*nnext =
		    runner_worker_claim(w, qids, runner_worker_first_want(w));
	(void)smtp_sync(s);
	runner_worker_settle(w);
	next = w->next;
	if (next == RUNNER_NEXT_GO_ON && done >= max && !runner_worker_stop)
		next = RUNNER_NEXT_RECONNECT;
	if (next != RUNNER_NEXT_RECONNECT)
		runner_worker_give_back(w, qids, nnext);
	return next;
}

/* runner_worker_first_want - how many to claim before connecting: a
 * session's worth for the first smarthost. */
static size_t
runner_worker_first_want(const struct runner_worker *w)
{
	int per = w->conf->smarthosts[0].max_messages_per_connection;
	size_t want = per > 0 ? (size_t)per : 1;

	return want < RUNNER_CLAIM_MAX ? want : RUNNER_CLAIM_MAX;
}

int
runner_worker_run(const struct conf *c, struct spool *sp,
    const struct aliases *a, const char *owner, int flags, int notify_fd,
    struct runner_worker_stats *st, struct err *err)
{
	struct runner_worker w;
	struct smtp_session *s;
	char(*qids)[SPOOL_QID_SIZE];
	enum runner_next next;
	size_t hi = 0, npre;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.conf = c;
	w.aliases = a;
	w.t.sp = sp;
	w.t.conf = c;
	w.t.owner = owner;
	runner_tls_cache(sp, &w.cache);
	w.opts.conf = c;
	w.opts.cache = &w.cache;
	w.opts.report = &w.info;
	w.opts.settle = runner_worker_settle_cb;
	w.opts.ctx = &w;
	w.flags = flags;
	w.notify_fd = notify_fd;
	w.nhosts = c->nsmarthosts;
	w.hosts = xcalloc(w.nhosts + 1, sizeof(*w.hosts));
	qids = xcalloc(RUNNER_CLAIM_MAX, sizeof(*qids));
	/* Claim first, connect second: a worker that finds nothing left
	 * (the other one took it) opens no session, so no TLS handshake and
	 * no AUTH is spent on an empty connection. */
	npre = 0;
	while (!runner_worker_stop && w.nhosts > 0) {
		if (npre == 0)
			npre = runner_worker_claim(
			    &w, qids, runner_worker_first_want(&w));
		if (npre == 0)
			break;
		s = runner_worker_connect(&w, &hi, qids, &npre);
		if (s == NULL) {
			runner_worker_give_back(&w, qids, &npre);
			break;
		}
		next = runner_worker_session(
		    &w, s, &w.hosts[hi], qids, npre, &npre);
		smtp_close(s);
		if (next == RUNNER_NEXT_LOCAL) {
			rc = err_set(err, ERR_TEMP,
			    "the spool failed while recording results");
			break;
		}
		if (next == RUNNER_NEXT_GO_ON)
			break;
	}
	runner_worker_give_back(&w, qids, &npre); /* stopped in between */
	if (st != NULL)
		*st = w.st;
	for (hi = 0; hi < w.nhosts; hi++)
		conn_tls_ctx_free(w.hosts[hi].tls);
	xfree(qids);
	xfree(w.held);
	xfree(w.hosts);
	return rc;
}

/* runner_worker_flags - parse the FLAGS argument. */
static int
runner_worker_flags(const char *s)
{
	int f = 0;

	for (; *s != '\0'; s++) {
		if (*s == 'f')
			f |= RUNNER_WORKER_FORCE;
		else if (*s == 'v')
			f |= RUNNER_WORKER_VERBOSE;
	}
	return f;
}

int
runner_worker_main(int argc, char **argv)
{
	struct aliases *a = NULL;
	struct spool *sp = NULL;
	struct conf *c = NULL;
	struct err err;
	int flags, rc = 75;
	char *db;

	if (argc != 5)
		return 64;
	flags = runner_worker_flags(argv[4]);
	log_init("relayd",
	    LOG_TO_SYSLOG | LOG_TO_STDERR |
		((flags & RUNNER_WORKER_VERBOSE) ? LOG_VERBOSE : 0));
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		log_warn("prctl");
	runner_worker_signals();
	if (fs_set_cloexec(RUNNER_WORKER_FD) == -1 ||
	    fs_set_nonblock(RUNNER_WORKER_FD, 1) == -1)
		return 64;
	err_clear(&err);
	c = conf_load(argv[2], &err);
	if (c == NULL) {
		log_errx("delivery worker: %s", err.msg);
		return 78;
	}
	if (c->log_file != NULL && log_set_file(c->log_file) == -1)
		log_warn("cannot open %s", c->log_file);
	db = conf_db_path(c);
	/* results need no fsync of their own: losing one to a power cut
	 * means a resend, never a loss (spool.h, SPOOL_RELAXED_SYNC) */
	sp = spool_open(db, SPOOL_RELAXED_SYNC, &err);
	xfree(db);
	if (sp == NULL)
		goto out_fail;
	a = aliases_load(c->aliases, &err);
	if (a == NULL)
		log_warnx(
		    "aliases: %s (bounces go to senders as they are)", err.msg);
	if (runner_worker_run(
		c, sp, a, argv[3], flags, RUNNER_WORKER_FD, NULL, &err) == 0)
		rc = 0;
out_fail:
	if (rc != 0)
		log_errx("delivery worker: %s", err.msg);
	aliases_free(a);
	spool_close(sp);
	conf_free(c);
	return rc;
}
