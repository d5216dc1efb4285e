/*
 * smtp_open.c - opening a session: the TLS mode plan walked connection by
 * connection, the greeting, STARTTLS, EHLO, AUTH and the mode cache.
 *
 * Part of smtp: smtp_open() is called by the runner (once per batch of
 * messages) and by relayctl probe.  The order of tries is data, built by
 * net/tlsmode (see the table in tlsmode.h); this file performs one try
 * per connection and reports how it ended, and tlsmode decides what
 * comes next.
 *
 * Data: the session being opened.  Invariants: under tls = auto,
 * implicit or starttls nothing but EHLO and STARTTLS is ever sent before
 * a verified handshake; the capabilities seen before TLS are forgotten
 * after it; bytes received after the 220 to STARTTLS abort the session
 * (RFC 3207 section 5, the command injection attack); a certificate
 * failure ends the plan (never another mode); a host the cache saw with
 * TLS never continues without it (downgrade_suspected).
 *
 * Implements RFC 5321 (greeting, EHLO), RFC 3207 (STARTTLS), RFC 8314
 * (implicit TLS).
 *
 * Security: see the invariants; the cache is written only after the
 * whole open (TLS verified, EHLO, AUTH) succeeded.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "smtp/smtp_priv.h"

#define SMTP_IN_MAX (256 * 1024)

static enum tlsmode_result smtp_try(struct smtp_session *s,
    const struct tlsmode_try *t, struct smtp_outcome *out);
static int smtp_check_config(struct smtp_session *s, struct smtp_outcome *out);

/* smtp_on_attempt - conn_connect's report of each address. */
static void
smtp_on_attempt(void *ctx, const struct conn_addr *a, int err_no, long long ms)
{
	struct smtp_session *s = ctx;
	bool v6 = a->family == AF_INET6;

	smtp_event_emit(s, SMTP_EV_CONNECT, "%s%s%s:%d %s (%lld ms)",
	    v6 ? "[" : "", a->text, v6 ? "]" : "", s->port,
	    err_no == 0 ? "connected" : strerror(err_no), ms);
}

/* smtp_connect - a new TCP connection to s->port. */
static int
smtp_connect(struct smtp_session *s, struct smtp_outcome *out)
{
	struct conn_connect_opts co;
	struct err err;
	size_t i;

	for (i = 0; i < s->addrs.n; i++) {
		struct sockaddr_storage *ss = &s->addrs.v[i].sa;

		if (ss->ss_family == AF_INET6)
			((struct sockaddr_in6 *)ss)->sin6_port =
			    htons((uint16_t)s->port);
		else
			((struct sockaddr_in *)ss)->sin_port =
			    htons((uint16_t)s->port);
	}
	s->addrs.port = s->port;
	memset(&co, 0, sizeof(co));
	co.timeout_ms = smtp_ms(s->conf->connect_timeout);
	co.on_attempt = smtp_on_attempt;
	co.ctx = s;
	err_clear(&err);
	s->conn = conn_connect(&s->addrs, &co, &err);
	smtp_set_relay(s);
	if (s->conn == NULL)
		return smtp_fail_conn(s, out, &err, SMTP_STAGE_CONNECT);
	s->connections++;
	conn_set_deadline(s->conn, s->t0 + smtp_ms(s->conf->session_timeout));
	buf_reset(&s->in);
	memset(&s->caps, 0, sizeof(s->caps));
	return 0;
}

static void
smtp_disconnect(struct smtp_session *s)
{
	conn_close(s->conn);
	s->conn = NULL;
	buf_reset(&s->in);
}

/* smtp_tls - handshake now; report what it showed. */
static int
smtp_tls(struct smtp_session *s, long long ms, enum smtp_stage stage,
    struct smtp_outcome *out)
{
	struct conn_tls_info ti;
	struct err err;
	int rc;

	err_clear(&err);
	conn_set_timeout(s->conn, ms);
	rc = conn_start_tls(s->conn, s->tls, s->sh->host, &err);
	conn_get_tls_info(s->conn, &ti);
	s->last_tls = ti;
	if (ti.subject[0] != '\0')
		smtp_event_emit(s, SMTP_EV_CERT,
		    "subject=%s issuer=%s expires=%s verify=%s", ti.subject,
		    ti.issuer, ti.not_after,
		    ti.verify[0] != '\0' ? ti.verify : "failed");
	if (rc == -1) {
		if (err.reason == CONN_F_CERT)
			return smtp_fail(s, out, SMTP_R_CERTIFICATE_REJECTED,
			    stage, "%s", err.msg);
		return smtp_fail_conn(s, out, &err, stage);
	}
	smtp_set_relay(s);
	smtp_event_emit(s, SMTP_EV_TLS, "%s %s", ti.version, ti.cipher);
	return 0;
}

/* smtp_greeting - the 220 (any other code ends the try). */
static int
smtp_greeting(struct smtp_session *s, struct smtp_outcome *out)
{
	char line[256];

	if (smtp_read(s, smtp_ms(s->conf->greeting_timeout),
		SMTP_STAGE_GREETING, out) == -1)
		return -1;
	smtp_event_emit(s, SMTP_EV_GREETING, "%s",
	    smtp_reply_line(&s->reply, line, sizeof(line)));
	if (s->reply.code == 220)
		return 0;
	if (s->reply.code >= 400)
		return smtp_fail_reply(
		    s, out, SMTP_R_GREETING_REJECTED, SMTP_STAGE_GREETING);
	return smtp_fail_reply(
	    s, out, SMTP_R_PROTOCOL_ERROR, SMTP_STAGE_GREETING);
}

/* smtp_starttls - after a plaintext greeting: EHLO, STARTTLS, TLS, EHLO.
 * TLSMODE_R_OK, or TLSMODE_R_OTHER with out filled. */
static enum tlsmode_result
smtp_starttls(struct smtp_session *s, struct smtp_outcome *out)
{
	long long ms = smtp_ms(s->conf->command_timeout);

	s->mode = TLSMODE_STARTTLS;
	if (smtp_ehlo(s, out) == -1)
		return TLSMODE_R_OTHER;
	if (!(s->caps.flags & SMTP_CAP_STARTTLS)) {
		if (s->plan.tls_seen)
			(void)smtp_fail(s, out, SMTP_R_DOWNGRADE_SUSPECTED,
			    SMTP_STAGE_STARTTLS,
			    "STARTTLS not offered; this host was seen with "
			    "TLS");
		else
			(void)smtp_fail(s, out, SMTP_R_STARTTLS_NOT_OFFERED,
			    SMTP_STAGE_STARTTLS, NULL);
		return TLSMODE_R_OTHER;
	}
	smtp_cmd(s, "STARTTLS");
	if (smtp_flush(s, ms, SMTP_STAGE_STARTTLS, out) == -1 ||
	    smtp_read(s, ms, SMTP_STAGE_STARTTLS, out) == -1)
		return TLSMODE_R_OTHER;
	if (s->reply.code != 220) {
		(void)smtp_fail_reply(
		    s, out, SMTP_R_STARTTLS_REFUSED, SMTP_STAGE_STARTTLS);
		return TLSMODE_R_OTHER;
	}
	smtp_event_emit(s, SMTP_EV_STARTTLS, "%03d accepted", s->reply.code);
	if (s->in.len > 0 || conn_has_input(s->conn)) {
		(void)smtp_fail(s, out, SMTP_R_PROTOCOL_ERROR,
		    SMTP_STAGE_STARTTLS,
		    "the server sent data after its 220 to STARTTLS "
		    "(possible command injection); session aborted");
		return TLSMODE_R_OTHER;
	}
	if (smtp_tls(s, ms, SMTP_STAGE_TLS, out) == -1) {
		if (out->reason == SMTP_R_PLAINTEXT_ON_TLS_PORT)
			(void)smtp_fail(s, out, SMTP_R_PROTOCOL_ERROR,
			    SMTP_STAGE_TLS,
			    "the server sent plaintext after its 220 to "
			    "STARTTLS (possible command injection); session "
			    "aborted");
		return TLSMODE_R_OTHER;
	}
	memset(&s->caps, 0, sizeof(s->caps)); /* forget pre-TLS EHLO */
	return smtp_ehlo(s, out) == -1 ? TLSMODE_R_OTHER : TLSMODE_R_OK;
}

/* smtp_try_tls_first - ClientHello at once (or after silence), then the
 * greeting and EHLO inside TLS. */
static enum tlsmode_result
smtp_try_tls_first(struct smtp_session *s, long long ms, bool after_silence,
    struct smtp_outcome *out)
{
	s->mode = TLSMODE_IMPLICIT;
	if (smtp_tls(s, ms, SMTP_STAGE_TLS, out) == -1) {
		if (out->reason == SMTP_R_PLAINTEXT_ON_TLS_PORT)
			return TLSMODE_R_PLAINTEXT;
		if (after_silence && out->reason == SMTP_R_TIMEOUT)
			(void)smtp_fail(s, out, SMTP_R_GREETING_TIMEOUT,
			    SMTP_STAGE_GREETING,
			    "no greeting within greeting_wait and no answer "
			    "to TLS either");
		return TLSMODE_R_OTHER;
	}
	if (smtp_greeting(s, out) == -1 || smtp_ehlo(s, out) == -1)
		return TLSMODE_R_OTHER;
	return TLSMODE_R_OK;
}

/* smtp_try_greet_or_tls - STARTTLS expected: a greeting within
 * greeting_wait means STARTTLS, silence means the server waits for our
 * ClientHello (implicit TLS), on this same connection. */
static enum tlsmode_result
smtp_try_greet_or_tls(struct smtp_session *s, struct smtp_outcome *out)
{
	struct err err;
	bool ready = false;

	err_clear(&err);
	if (conn_wait_input(
		s->conn, smtp_ms(s->conf->greeting_wait), &ready, &err) == -1) {
		(void)smtp_fail_conn(s, out, &err, SMTP_STAGE_GREETING);
		return TLSMODE_R_OTHER;
	}
	if (!ready) {
		smtp_event_emit(s, SMTP_EV_SILENCE,
		    "no greeting within greeting_wait (%llds): starting TLS "
		    "on this connection",
		    (long long)s->conf->greeting_wait);
		return smtp_try_tls_first(
		    s, smtp_ms(s->conf->command_timeout), true, out);
	}
	if (smtp_greeting(s, out) == -1)
		return TLSMODE_R_OTHER;
	return smtp_starttls(s, out);
}

/* smtp_try - one connection of the plan.  TLSMODE_R_OK with the session
 * past EHLO (inside TLS unless tls = none), or the kind of failure with
 * out filled and the connection closed. */
static enum tlsmode_result
smtp_try(struct smtp_session *s, const struct tlsmode_try *t,
    struct smtp_outcome *out)
{
	enum tlsmode_result r = TLSMODE_R_OTHER;

	s->port = t->port;
	/* The mode this try aims at (reported if it fails). */
	s->mode = t->how == TLSMODE_HOW_IMPLICIT ? TLSMODE_IMPLICIT
	    : t->how == TLSMODE_HOW_PLAIN	 ? TLSMODE_NONE
						 : TLSMODE_STARTTLS;
	if (smtp_connect(s, out) == -1)
		return TLSMODE_R_UNREACHABLE;
	switch (t->how) {
	case TLSMODE_HOW_IMPLICIT:
		r = smtp_try_tls_first(
		    s, smtp_ms(s->conf->command_timeout), false, out);
		break;
	case TLSMODE_HOW_GREET_OR_TLS:
		r = smtp_try_greet_or_tls(s, out);
		break;
	case TLSMODE_HOW_STARTTLS:
		if (smtp_greeting(s, out) == 0)
			r = smtp_starttls(s, out);
		break;
	case TLSMODE_HOW_PLAIN:
		if (smtp_greeting(s, out) == 0 && smtp_ehlo(s, out) == 0)
			r = TLSMODE_R_OK;
		break;
	}
	if (r != TLSMODE_R_OK)
		smtp_disconnect(s);
	return r;
}

/* smtp_check_config - what must hold before any connection. */
static int
smtp_check_config(struct smtp_session *s, struct smtp_outcome *out)
{
	const struct conf_smarthost *sh = s->sh;
	struct conn_tls_opts to;
	struct err err;

	err_clear(&err);
	if (sh->host == NULL || *sh->host == '\0')
		return smtp_fail(s, out, SMTP_R_CONFIG_ERROR, SMTP_STAGE_NONE,
		    "empty host name");
	if (tlsmode_policy_init(&s->policy, s->conf, sh, &err) == -1)
		return smtp_fail(s, out, SMTP_R_CONFIG_ERROR, SMTP_STAGE_NONE,
		    "%s", err.msg);
	if (sh->username != NULL && !(s->o.flags & SMTP_NO_AUTH)) {
		if (sh->tls == CONF_TLS_NONE && !sh->auth_without_tls)
			return smtp_fail(s, out, SMTP_R_CONFIG_ERROR,
			    SMTP_STAGE_NONE,
			    "tls = none with credentials: set "
			    "auth_without_tls = true to send them in "
			    "plaintext, or use TLS");
		if (smtp_check_secret(sh, &err) == -1)
			return smtp_fail(s, out, SMTP_R_CONFIG_ERROR,
			    SMTP_STAGE_NONE, "%s", err.msg);
	}
	if (sh->tls == CONF_TLS_NONE)
		return 0;
	if (s->o.tls_keep != NULL && *s->o.tls_keep != NULL) {
		s->tls = *s->o.tls_keep;
		return 0;
	}
	memset(&to, 0, sizeof(to));
	to.ca_file = sh->ca_file;
	to.tls_min = sh->tls_min;
	to.fingerprint = sh->fingerprint;
	to.client_cert = sh->client_cert;
	to.client_key = sh->client_key;
	s->tls = conn_tls_ctx_new(&to, &err);
	if (s->tls == NULL)
		return smtp_fail(s, out, SMTP_R_CONFIG_ERROR, SMTP_STAGE_NONE,
		    "%s", err.msg);
	if (s->o.tls_keep != NULL)
		*s->o.tls_keep = s->tls;
	return 0;
}

/* smtp_plan - look the cache up and build the plan. */
static void
smtp_plan(struct smtp_session *s)
{
	struct tlsmode_entry e;
	struct err err;
	bool found = false;
	int port = 0;

	err_clear(&err);
	if (tlsmode_lookup(s->o.cache, s->sh->host, &s->policy, &e, &port,
		&found, &err) == -1) {
		smtp_event_emit(s, SMTP_EV_PLAN,
		    "cache not readable (%s); detecting", err.msg);
		found = false;
	}
	tlsmode_plan_build(&s->policy, found ? &e : NULL, port, &s->plan);
	if (s->plan.from_cache)
		smtp_event_emit(s, SMTP_EV_PLAN, "cached %s on port %d",
		    tlsmode_name(e.mode), port);
	else
		smtp_event_emit(s, SMTP_EV_PLAN, "tls = %s: %s on port %d%s",
		    conf_tls_name(s->policy.tls),
		    tlsmode_how_name(s->plan.t[0].how), s->plan.t[0].port,
		    s->plan.n > 2 ? " first" : "");
}

/* smtp_resolved - the addresses, for the probe. */
static void
smtp_resolved(struct smtp_session *s)
{
	char list[512];
	size_t i, o = 0;

	list[0] = '\0';
	for (i = 0; i < s->addrs.n && o + 2 < sizeof(list); i++) {
		if (str_fmt(list + o, sizeof(list) - o, "%s%s",
			i > 0 ? " " : "", s->addrs.v[i].text) == -1)
			break;
		o = strlen(list);
	}
	smtp_event_emit(s, SMTP_EV_RESOLVE, "%s", list);
}

/* smtp_walk - the tries of the plan until one succeeds or the plan ends. */
static int
smtp_walk(struct smtp_session *s, struct smtp_outcome *out)
{
	int i = 0;

	while (i >= 0) {
		enum tlsmode_result r = smtp_try(s, &s->plan.t[i], out);
		int next;

		if (r == TLSMODE_R_OK)
			return 0;
		next = tlsmode_plan_next(&s->plan, i, r);
		if (next < 0)
			return -1;
		if (s->plan.from_cache)
			s->redetected = true;
		smtp_event_emit(s, SMTP_EV_RETRY, "%s; trying %s on port %d",
		    out->msg, tlsmode_how_name(s->plan.t[next].how),
		    s->plan.t[next].port);
		i = next;
	}
	return -1;
}

/* smtp_finish_open - AUTH, then the cache. */
static int
smtp_finish_open(struct smtp_session *s, struct smtp_outcome *out)
{
	struct err err;

	if (s->plan.from_cache && s->mode != s->plan.cached.mode)
		s->redetected = true; /* e.g. silence, TLS on the same conn */
	smtp_event_emit(s, SMTP_EV_MODE, "%s%s", tlsmode_name(s->mode),
	    s->plan.from_cache
		? (s->redetected ? " (re-detected; cache was stale)"
				 : " (from cache)")
		: " (detected)");
	if (smtp_auth(s, out) == -1)
		return -1;
	err_clear(&err);
	if (s->o.flags & SMTP_NO_CACHE_WRITE || s->o.cache == NULL)
		return 0;
	if (tlsmode_store(s->o.cache, s->sh->host, &s->plan, s->port, s->mode,
		&s->cache_written, &err) == -1)
		smtp_event_emit(s, SMTP_EV_CACHE, "not written: %s", err.msg);
	else if (s->cache_written)
		smtp_event_emit(s, SMTP_EV_CACHE, "%s:%d = %s", s->sh->host,
		    s->port, tlsmode_name(s->mode));
	return 0;
}

struct smtp_session *
smtp_open(const struct smtp_opts *opts, struct smtp_outcome *out)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	struct err err;

	s->o = *opts;
	s->conf = opts->conf;
	s->sh = opts->sh;
	s->t0 = conn_now_ms();
	s->port = s->sh->port;
	s->auth = "none";
	buf_init(&s->in, SMTP_IN_MAX);
	smtp_reply_init(&s->reply);
	smtp_outcome_clear(out);
	smtp_set_relay(s);
	if (smtp_check_config(s, out) == -1)
		goto out_fail;
	smtp_plan(s);
	s->port = s->plan.t[0].port;
	smtp_set_relay(s);
	if (s->policy.tls == CONF_TLS_NONE && s->plan.tls_seen) {
		(void)smtp_fail(s, out, SMTP_R_DOWNGRADE_SUSPECTED,
		    SMTP_STAGE_CONNECT,
		    "tls = none but this host was seen with TLS");
		goto out_fail;
	}
	err_clear(&err);
	if (conn_resolve(s->sh->host, s->port, &s->addrs, &err) == -1) {
		(void)smtp_fail_conn(s, out, &err, SMTP_STAGE_RESOLVE);
		goto out_fail;
	}
	smtp_resolved(s);
	if (smtp_walk(s, out) == -1 || smtp_finish_open(s, out) == -1)
		goto out_fail;
	s->state = SMTP_ST_READY;
	smtp_outcome_clear(out);
	out->stage = SMTP_STAGE_NONE;
	(void)str_copy(out->relay, sizeof(out->relay), s->relay);
	(void)str_copy(out->tls, sizeof(out->tls), s->tlsdesc);
	if (s->o.report != NULL)
		smtp_get_info(s, s->o.report);
	return s;
out_fail:
	s->state = SMTP_ST_BROKEN;
	if (s->o.report != NULL)
		smtp_get_info(s, s->o.report);
	smtp_close(s);
	return NULL;
}
