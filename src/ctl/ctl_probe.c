/*
 * ctl_probe.c - relayctl probe (a smarthost, step by step) and relayctl
 * tls (the TLS mode cache).  See ctl_probe.h for the commands.
 *
 * Part of ctl: relayctl's dispatch table calls ctl_probe_main and
 * ctl_tls_main.  The probe runs the same smtp_open() as the runner, with
 * an event callback that prints each step; the cache is the spool's
 * tls_cache, wired to smtp's struct tlsmode_cache here (smtp never
 * touches the spool itself).
 *
 * Data: the spool handle (when relayctl may open it) and, with --json,
 * the steps collected for one smarthost.  Invariant: a probe never
 * writes the cache unless the session verified and succeeded (smtp_open
 * decides); a read-only spool is used for reading only.
 *
 * Security: credentials are read by smtp_auth only, never printed; server
 * text is printed escaped (control bytes shown as \xHH) so a server cannot
 * forge output lines.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "ctl/ctl_probe.h"
#include "runner/runner_tlscache.h"
#include "smtp/smtp.h"
#include "spool/spool.h"

#define CTL_JSON_MAX (1024 * 1024)

struct ctl_cache {
	struct spool *sp;
	struct tlsmode_cache ops;
	bool writable;
	bool denied; /* the spool exists but we may not read it */
	bool missing; /* there is no spool yet */
	char why[300]; /* why there is no cache, or "" */
};

struct ctl_probe {
	bool json, no_auth;
	struct buf steps; /* JSON array items, comma separated */
};

/* ctl_cache_open - the spool for the cache: read-write if we may,
 * read-only else, or none (with the reason). */
static void
ctl_cache_open(const struct conf *c, struct ctl_cache *cc, bool want_write)
{
	char *db = conf_db_path(c);
	struct err err;

	memset(cc, 0, sizeof(*cc));
	err_clear(&err);
	if (access(db, F_OK) == -1) {
		cc->missing = errno == ENOENT;
		cc->denied = !cc->missing;
		(void)str_fmt(cc->why, sizeof(cc->why), "%s %s", db,
		    cc->denied ? "is not accessible (root or group relay only)"
			       : "does not exist");
		goto out_free;
	}
	if (want_write && access(db, R_OK | W_OK) == 0)
		cc->sp = spool_open(db, 0, &err);
	cc->writable = cc->sp != NULL;
	if (cc->sp == NULL && access(db, R_OK) == 0)
		cc->sp = spool_open(db, SPOOL_READONLY, &err);
	else if (cc->sp == NULL)
		cc->denied = errno == EACCES || errno == EPERM;
	if (cc->sp == NULL) {
		(void)str_fmt(cc->why, sizeof(cc->why), "cannot open %s: %s",
		    db,
		    err.msg[0] != '\0' ? err.msg
				       : "not permitted (root or group relay "
					 "only)");
		goto out_free;
	}
	runner_tls_cache(cc->sp, &cc->ops);
out_free:
	xfree(db);
}

/* ctl_print_text - untrusted text, escaped, to f. */
static void
ctl_print_text(FILE *f, const char *s)
{
	struct buf b;

	buf_init(&b, 8192);
	(void)str_escape(&b, s, strlen(s));
	(void)fputs(b.data != NULL ? b.data : "", f);
	buf_free(&b);
}

static void
ctl_json_str(struct buf *b, const char *key, const char *v, bool comma)
{
	(void)buf_appendf(b, "%s\"%s\":", comma ? "," : "", key);
	if (v == NULL)
		(void)buf_puts(b, "null");
	else
		(void)str_json(b, v, strlen(v));
}

static void
ctl_probe_event(void *ctx, enum smtp_event ev, long long ms, const char *text)
{
	struct ctl_probe *p = ctx;

	if (p->json) {
		(void)buf_appendf(&p->steps, "%s{\"ms\":%lld",
		    p->steps.len > 0 ? "," : "", ms);
		ctl_json_str(&p->steps, "step", smtp_event_name(ev), true);
		ctl_json_str(&p->steps, "detail", text, true);
		(void)buf_putc(&p->steps, '}');
		return;
	}
	printf("  %6lld ms  %-12s ", ms, smtp_event_name(ev));
	ctl_print_text(stdout, text);
	(void)putchar('\n');
}

/* ctl_json_words - a space separated list as a JSON array. */
static void
ctl_json_words(struct buf *b, const char *key, const char *list)
{
	const char *p = list;
	bool first = true;

	(void)buf_appendf(b, ",\"%s\":[", key);
	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n > 0) {
			if (!first)
				(void)buf_putc(b, ',');
			(void)str_json(b, p, n);
			first = false;
		}
		p += n;
		p += strspn(p, " ");
	}
	(void)buf_putc(b, ']');
}

static void
ctl_probe_json(struct ctl_probe *p, const struct conf_smarthost *sh,
    const struct smtp_info *info, const struct smtp_outcome *oc,
    const struct ctl_cache *cc, long long ms)
{
	struct buf b;
	const struct conn_tls_info *t = &info->tlsinfo;
	bool ok = oc->reason == SMTP_R_OK;

	buf_init(&b, CTL_JSON_MAX);
	(void)buf_putc(&b, '{');
	ctl_json_str(&b, "name", sh->name, false);
	ctl_json_str(&b, "host", sh->host, true);
	(void)buf_appendf(&b, ",\"port\":%d", info->port);
	ctl_json_str(&b, "mode", tlsmode_name(info->mode), true);
	(void)buf_appendf(&b, ",\"cached\":%s,\"redetected\":%s,\"ok\":%s",
	    info->from_cache ? "true" : "false",
	    info->redetected ? "true" : "false", ok ? "true" : "false");
	ctl_json_str(
	    &b, "reason", ok ? NULL : smtp_reason_name(oc->reason), true);
	ctl_json_str(
	    &b, "reason_text", ok ? NULL : smtp_reason_text(oc->reason), true);
	ctl_json_str(&b, "class", smtp_class_name(oc->cls), true);
	ctl_json_str(&b, "stage", smtp_stage_name(oc->stage), true);
	ctl_json_str(&b, "message", ok ? NULL : oc->msg, true);
	ctl_json_str(&b, "reply", oc->text[0] != '\0' ? oc->text : NULL, true);
	ctl_json_str(&b, "relay", info->relay, true);
	(void)buf_appendf(&b, ",\"connections\":%u,\"elapsed_ms\":%lld",
	    info->connections, ms);
	ctl_json_str(&b, "cache",
	    cc->sp == NULL ? "none"
			   : (cc->writable ? "read-write" : "read-only"),
	    true);
	(void)buf_appendf(&b, ",\"cache_written\":%s",
	    info->cache_written ? "true" : "false");
	ctl_json_str(
	    &b, "tls_version", t->version[0] ? t->version : NULL, true);
	ctl_json_str(&b, "tls_cipher", t->cipher[0] ? t->cipher : NULL, true);
	ctl_json_str(
	    &b, "cert_subject", t->subject[0] ? t->subject : NULL, true);
	ctl_json_str(&b, "cert_issuer", t->issuer[0] ? t->issuer : NULL, true);
	ctl_json_str(
	    &b, "cert_expires", t->not_after[0] ? t->not_after : NULL, true);
	ctl_json_str(&b, "cert_verify", t->verify[0] ? t->verify : NULL, true);
	ctl_json_str(&b, "cert_fingerprint",
	    t->fingerprint[0] ? t->fingerprint : NULL, true);
	ctl_json_words(&b, "capabilities", info->caps.keywords);
	ctl_json_words(&b, "auth_mechanisms", info->caps.auth_list);
	ctl_json_str(&b, "auth",
	    ok ? info->auth : (oc->stage == SMTP_STAGE_AUTH ? "failed" : NULL),
	    true);
	ctl_json_str(
	    &b, "auth_mech", info->auth_mech[0] ? info->auth_mech : NULL, true);
	(void)buf_appendf(&b, ",\"steps\":[%s]}\n",
	    p->steps.data != NULL ? p->steps.data : "");
	(void)fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void
ctl_probe_human(const struct smtp_info *info, const struct smtp_outcome *oc)
{
	if (oc->reason != SMTP_R_OK) {
		printf("  result: FAILED (%s, %s)\n  ",
		    smtp_reason_name(oc->reason), smtp_class_name(oc->cls));
		ctl_print_text(stdout, oc->msg);
		printf("\n");
		return;
	}
	printf("  capabilities: ");
	ctl_print_text(stdout, info->caps.keywords);
	printf("\n  auth mechanisms: ");
	ctl_print_text(
	    stdout, info->caps.auth_list[0] ? info->caps.auth_list : "(none)");
	printf(
	    "\n  result: ok, mode %s (%s), relay=%s, tls=%s, auth=%s%s%s%s\n",
	    tlsmode_name(info->mode),
	    info->redetected ? "re-detected"
			     : (info->from_cache ? "from cache" : "detected"),
	    info->relay, info->tls, info->auth, info->auth_mech[0] ? " (" : "",
	    info->auth_mech, info->auth_mech[0] ? ")" : "");
}

/* ctl_probe_one - probe one smarthost; 0 ok, 1 failed. */
static int
ctl_probe_one(const struct conf *c, const struct conf_smarthost *sh,
    struct ctl_probe *p, struct ctl_cache *cc)
{
	struct smtp_opts so;
	struct smtp_info info;
	struct smtp_outcome oc;
	struct smtp_session *s;
	long long t0 = conn_now_ms();

	memset(&so, 0, sizeof(so));
	memset(&info, 0, sizeof(info));
	so.conf = c;
	so.sh = sh;
	so.cache = cc->sp != NULL ? &cc->ops : NULL;
	so.flags = (p->no_auth ? SMTP_NO_AUTH : 0) |
	    (cc->writable ? 0 : SMTP_NO_CACHE_WRITE);
	so.event = ctl_probe_event;
	so.ctx = p;
	so.report = &info;
	buf_reset(&p->steps);
	if (!p->json) {
		printf("smarthost \"");
		ctl_print_text(stdout, sh->name);
		if (sh->port != 0)
			printf("\": %s, port %d, tls = %s\n", sh->host,
			    sh->port, conf_tls_name(sh->tls));
		else
			printf("\": %s, port auto, tls = %s\n", sh->host,
			    conf_tls_name(sh->tls));
		if (cc->sp == NULL)
			printf("  cache: none (%s); probing without it\n",
			    cc->why);
		else if (!cc->writable)
			printf("  cache: read-only; a result will not be "
			       "stored\n");
	}
	s = smtp_open(&so, &oc);
	smtp_close(s);
	if (p->json)
		ctl_probe_json(p, sh, &info, &oc, cc, conn_now_ms() - t0);
	else
		ctl_probe_human(&info, &oc);
	(void)fflush(stdout);
	return oc.reason == SMTP_R_OK ? 0 : 1;
}

/* ctl_parse_target - "host", "host:port", "[v6]:port", "v6". */
static int
ctl_parse_target(const char *arg, char *host, size_t size, int *port)
{
	const char *colon = strrchr(arg, ':');
	long long v;
	char num[8];

	*port = 0;
	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (end == NULL || (size_t)(end - arg - 1) >= size)
			return -1;
		memcpy(host, arg + 1, (size_t)(end - arg - 1));
		host[end - arg - 1] = '\0';
		if (end[1] == '\0')
			return host[0] != '\0' ? 0 : -1;
		if (end[1] != ':')
			return -1;
		colon = end + 1;
	} else if (colon == NULL || strchr(arg, ':') != colon) {
		/* no port, or a bare IPv6 literal */
		return arg[0] != '\0' && str_copy(host, size, arg) == 0 ? 0
									: -1;
	} else {
		if ((size_t)(colon - arg) >= size || colon == arg)
			return -1;
		memcpy(host, arg, (size_t)(colon - arg));
		host[colon - arg] = '\0';
	}
	if (str_copy(num, sizeof(num), colon + 1) == -1 ||
	    str_to_ll(num, 1, 65535, &v) == -1)
		return -1;
	*port = (int)v;
	return 0;
}

/* ctl_probe_target - probe HOST[:PORT] with its block's settings, or
 * the defaults. */
static int
ctl_probe_target(const struct conf *c, const char *arg, struct ctl_probe *p,
    struct ctl_cache *cc)
{
	struct conf_smarthost sh;
	char host[256];
	int port = 0;
	size_t i;

	if (ctl_parse_target(arg, host, sizeof(host), &port) == -1) {
		fprintf(stderr,
		    "relayctl: probe: bad target \"%s\" (write "
		    "HOST, HOST:PORT or [IPv6]:PORT)\n",
		    arg);
		return 2;
	}
	for (i = 0; i < c->nsmarthosts; i++) {
		const struct conf_smarthost *b = &c->smarthosts[i];

		if (!str_eq_ci(b->host, host) ||
		    (port != 0 && b->port != 0 && b->port != port))
			continue;
		sh = *b;
		if (port != 0)
			sh.port = port;
		return ctl_probe_one(c, &sh, p, cc);
	}
	memset(&sh, 0, sizeof(sh));
	sh.name = host;
	sh.host = host;
	sh.port = port;
	sh.tls = CONF_TLS_AUTO;
	sh.tls_min = c->tls_min;
	sh.max_messages_per_connection = c->max_messages_per_connection;
	sh.max_connections = c->max_connections;
	return ctl_probe_one(c, &sh, p, cc);
}

static int
ctl_probe_usage(void)
{
	fprintf(stderr,
	    "usage: relayctl probe [HOST[:PORT]] [--no-auth] [--json]\n");
	return 2;
}

int
ctl_probe_main(const struct conf *c, int argc, char **argv)
{
	struct ctl_probe p;
	struct ctl_cache cc;
	const char *target = NULL;
	int i, rc = 0;
	size_t k;

	memset(&p, 0, sizeof(p));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			p.json = true;
		else if (strcmp(argv[i], "--no-auth") == 0)
			p.no_auth = true;
		else if (argv[i][0] == '-' || target != NULL)
			return ctl_probe_usage();
		else
			target = argv[i];
	}
	if (target == NULL && c->nsmarthosts == 0) {
		fprintf(stderr,
		    "relayctl: probe: no smarthost configured in "
		    "%s; name one: relayctl probe HOST[:PORT]\n",
		    c->path);
		return 2;
	}
	buf_init(&p.steps, CTL_JSON_MAX);
	ctl_cache_open(c, &cc, true);
	if (target != NULL)
		rc = ctl_probe_target(c, target, &p, &cc);
	else
		for (k = 0; k < c->nsmarthosts; k++)
			if (ctl_probe_one(c, &c->smarthosts[k], &p, &cc) != 0)
				rc = 1;
	spool_close(cc.sp);
	buf_free(&p.steps);
	return rc;
}

/* --- relayctl tls --------------------------------------------------------- */

struct ctl_tls_list {
	bool json;
	size_t n;
};

static int
ctl_tls_row(const struct spool_tls_entry *e, void *arg)
{
	struct ctl_tls_list *l = arg;
	char when[32];
	struct tm tm;

	if (gmtime_r(&e->verified_at, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		(void)str_copy(when, sizeof(when), "?");
	if (l->json) {
		struct buf b;

		buf_init(&b, 4096);
		(void)buf_putc(&b, '{');
		ctl_json_str(&b, "host", e->host, false);
		(void)buf_appendf(&b, ",\"port\":%d", e->port);
		ctl_json_str(&b, "mode", e->mode, true);
		(void)buf_appendf(&b,
		    ",\"tls_seen\":%s,\"verified_at\":%lld}\n",
		    e->tls_seen ? "true" : "false", (long long)e->verified_at);
		(void)fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
	} else {
		if (l->n == 0)
			printf("%-32s %5s  %-9s %-8s %s\n", "HOST", "PORT",
			    "MODE", "TLS_SEEN", "VERIFIED (UTC)");
		printf("%-32s %5d  %-9s %-8s %s\n", e->host, e->port, e->mode,
		    e->tls_seen ? "yes" : "no", when);
	}
	l->n++;
	return 0;
}

static int
ctl_tls_forget(const struct conf *c, const char *arg)
{
	char host[256], *db = conf_db_path(c);
	struct spool *sp;
	struct err err;
	int port = 0, rc = 0;

	err_clear(&err);
	if (ctl_parse_target(arg, host, sizeof(host), &port) == -1) {
		fprintf(
		    stderr, "relayctl: tls forget: bad target \"%s\"\n", arg);
		rc = 2;
		goto out_free;
	}
	if (access(db, F_OK) == -1 && errno == ENOENT) {
		printf("nothing cached (%s does not exist)\n", db);
		goto out_free;
	}
	if (access(db, R_OK | W_OK) == -1) {
		fprintf(stderr,
		    "relayctl: tls forget: not permitted to write %s (root or "
		    "group relay only)\n",
		    db);
		rc = 77;
		goto out_free;
	}
	sp = spool_open(db, 0, &err);
	if (sp == NULL || spool_tls_forget(sp, host, port, &err) == -1) {
		fprintf(stderr, "relayctl: tls forget: %s\n", err.msg);
		rc = 1;
	} else if (port != 0)
		printf("forgot the TLS mode of %s:%d\n", host, port);
	else
		printf("forgot the TLS modes of %s (every port)\n", host);
	spool_close(sp);
out_free:
	xfree(db);
	return rc;
}

int
ctl_tls_main(const struct conf *c, int argc, char **argv)
{
	struct ctl_tls_list l;
	struct ctl_cache cc;
	struct err err;
	int i;

	memset(&l, 0, sizeof(l));
	if (argc >= 2 && strcmp(argv[1], "forget") == 0) {
		if (argc != 3) {
			fprintf(stderr,
			    "usage: relayctl tls forget "
			    "HOST[:PORT]\n");
			return 2;
		}
		return ctl_tls_forget(c, argv[2]);
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr,
			    "usage: relayctl tls [--json] | "
			    "relayctl tls forget HOST[:PORT]\n");
			return 2;
		}
		l.json = true;
	}
	ctl_cache_open(c, &cc, false);
	if (cc.sp == NULL) {
		if (cc.missing) {
			if (!l.json)
				printf(
				    "no TLS modes cached yet (%s)\n", cc.why);
			return 0;
		}
		fprintf(stderr, "relayctl: tls: %s\n", cc.why);
		return cc.denied ? 77 : 1;
	}
	err_clear(&err);
	if (spool_tls_list(cc.sp, ctl_tls_row, &l, &err) == -1) {
		fprintf(stderr, "relayctl: tls: %s\n", err.msg);
		spool_close(cc.sp);
		return 1;
	}
	if (l.n == 0 && !l.json)
		printf("no TLS modes cached yet\n");
	spool_close(cc.sp);
	return 0;
}
