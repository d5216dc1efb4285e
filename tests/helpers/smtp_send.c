/*
 * smtp_send.c - send one message file to a configured smarthost through
 * the SMTP client, with the spool's TLS mode cache, and print what
 * happened as JSON lines.  The integration tests use it to drive
 * src/smtp and src/net without the delivery runner.
 *
 *   smtp_send -C CONF [-s NAME] [-f FROM] [-n COUNT] [-k CHUNK]
 *             [--no-cache] [--no-auth] [--8bit] [--smtputf8]
 *             [--ret R] [--envid E] [--notify N] [--fail-body N] [-v]
 *             FILE RCPT...
 *   smtp_send --reasons
 *
 * Output (stdout), one JSON object per line:
 *   {"kind":"open", "reason", "class", "stage", "code", "mode", "cached",
 *    "redetected", "connections", "relay", "tls", "msg", ...}
 *   {"kind":"rcpt", "n", "index", "rcpt", "reason", "class", "code",
 *    "enh", "stage", "text", "msg"}          one per recipient, as decided
 *   {"kind":"message", "n", "reason", "class", "code", "stage", "msg",
 *    "broken"}
 * --fail-body N makes the body callback fail after N bytes (a spool read
 * error).  --reasons prints every reason of the taxonomy, one JSON object
 * per line, and exits.
 * With -v, the session's steps and its protocol trace go to stderr.
 * Exit 0 when every recipient of every copy was accepted, 1 otherwise,
 * 2 on a usage or local error.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mail/conf.h"
#include "runner/runner_tlscache.h"
#include "smtp/smtp.h"
#include "spool/spool.h"

struct opts {
	const char *conf, *name, *from, *file;
	const char *ret, *envid, *notify;
	long long count, chunk, fail_body;
	bool no_cache, no_auth, eightbit, smtputf8, verbose;
	char **rcpts;
	size_t nrcpts;
};

struct body {
	const struct buf *data;
	size_t chunk;
	long long fail_after; /* -1: never */
};

static void
json_kv(struct buf *b, const char *k, const char *v, bool first)
{
	(void)buf_appendf(b, "%s\"%s\":", first ? "{" : ",", k);
	(void)str_json(b, v, strlen(v));
}

static void
json_outcome(struct buf *b, const struct smtp_outcome *o)
{
	json_kv(b, "reason", smtp_reason_name(o->reason), false);
	json_kv(b, "class", smtp_class_name(o->cls), false);
	json_kv(b, "stage", smtp_stage_name(o->stage), false);
	(void)buf_appendf(b, ",\"code\":%d", o->code);
	json_kv(b, "enh", o->enh, false);
	json_kv(b, "text", o->text, false);
	json_kv(b, "relay", o->relay, false);
	json_kv(b, "tls", o->tls, false);
	json_kv(b, "msg", o->msg, false);
}

static void
print_line(struct buf *b)
{
	(void)buf_puts(b, "}\n");
	(void)fwrite(b->data, 1, b->len, stdout);
	(void)fflush(stdout);
	buf_free(b);
}

static void
on_event(void *ctx, enum smtp_event ev, long long ms, const char *text)
{
	(void)ctx;
	fprintf(stderr, "%6lld ms  %-11s %s\n", ms, smtp_event_name(ev), text);
}

static void
on_trace(void *ctx, bool sent, const char *line, size_t n)
{
	(void)ctx;
	fprintf(stderr, "%s %.*s\n", sent ? ">>>" : "<<<", (int)n, line);
}

struct done_ctx {
	const struct opts *o;
	long long n;
};

static void
on_rcpt_done(void *ctx, size_t i, const struct smtp_outcome *oc)
{
	struct done_ctx *d = ctx;
	struct buf b;

	buf_init(&b, 1 << 20);
	json_kv(&b, "kind", "rcpt", true);
	(void)buf_appendf(&b, ",\"n\":%lld,\"index\":%zu", d->n, i);
	json_kv(&b, "rcpt", d->o->rcpts[i], false);
	json_outcome(&b, oc);
	print_line(&b);
}

static int
body_fn(void *ctx, int (*emit)(const char *, size_t, void *), void *ectx,
    struct err *err)
{
	const struct body *bd = ctx;
	size_t off = 0;

	while (off < bd->data->len) {
		size_t n = bd->data->len - off;

		if (n > bd->chunk)
			n = bd->chunk;
		if (bd->fail_after >= 0 && off >= (size_t)bd->fail_after)
			return err_set(
			    err, ERR_TEMP, "cannot read the message");
		if (emit(bd->data->data + off, n, ectx) != 0)
			return err_set(err, ERR_TEMP, "emit stopped");
		off += n;
	}
	return 0;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: smtp_send -C CONF [-s NAME] [-f FROM] [-n COUNT] "
	    "[-k CHUNK] [--no-cache] [--no-auth] [--8bit] [--smtputf8] "
	    "[--ret R] [--envid E] [--notify N] [-v] FILE RCPT...\n");
	return 2;
}

static int
parse_num(const char *s, long long *out)
{
	return s == NULL ? -1 : str_to_ll(s, 1, 1000000, out);
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->from = "sender@example.org";
	o->count = 1;
	o->chunk = 4096;
	o->fail_body = -1;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-C") == 0 && v != NULL)
			o->conf = argv[++i];
		else if (strcmp(a, "-s") == 0 && v != NULL)
			o->name = argv[++i];
		else if (strcmp(a, "-f") == 0 && v != NULL)
			o->from = argv[++i];
		else if (strcmp(a, "-n") == 0 && parse_num(v, &o->count) == 0)
			i++;
		else if (strcmp(a, "-k") == 0 && parse_num(v, &o->chunk) == 0)
			i++;
		else if (strcmp(a, "--fail-body") == 0 && v != NULL &&
		    str_to_ll(v, 0, 1000000000, &o->fail_body) == 0)
			i++;
		else if (strcmp(a, "--ret") == 0 && v != NULL)
			o->ret = argv[++i];
		else if (strcmp(a, "--envid") == 0 && v != NULL)
			o->envid = argv[++i];
		else if (strcmp(a, "--notify") == 0 && v != NULL)
			o->notify = argv[++i];
		else if (strcmp(a, "--no-cache") == 0)
			o->no_cache = true;
		else if (strcmp(a, "--no-auth") == 0)
			o->no_auth = true;
		else if (strcmp(a, "--8bit") == 0)
			o->eightbit = true;
		else if (strcmp(a, "--smtputf8") == 0)
			o->smtputf8 = true;
		else if (strcmp(a, "-v") == 0)
			o->verbose = true;
		else
			return -1;
	}
	if (o->conf == NULL || argc - i < 2)
		return -1;
	o->file = argv[i++];
	o->rcpts = argv + i;
	o->nrcpts = (size_t)(argc - i);
	return 0;
}

static const struct conf_smarthost *
pick_smarthost(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nsmarthosts; i++)
		if (name == NULL || strcmp(c->smarthosts[i].name, name) == 0)
			return &c->smarthosts[i];
	return NULL;
}

static void
print_open(const struct smtp_info *ip, const struct smtp_outcome *oc)
{
	const struct smtp_info info = *ip;
	struct buf b;

	buf_init(&b, 1 << 20);
	json_kv(&b, "kind", "open", true);
	json_outcome(&b, oc);
	{
		json_kv(&b, "mode", tlsmode_name(info.mode), false);
		(void)buf_appendf(&b,
		    ",\"cached\":%s,\"redetected\":%s,\"cache_written\":%s,"
		    "\"port\":%d,\"connections\":%u",
		    info.from_cache ? "true" : "false",
		    info.redetected ? "true" : "false",
		    info.cache_written ? "true" : "false", info.port,
		    info.connections);
		json_kv(&b, "auth", info.auth, false);
		json_kv(&b, "auth_mech", info.auth_mech, false);
		json_kv(&b, "caps", info.caps.keywords, false);
		json_kv(&b, "session_relay", info.relay, false);
		json_kv(&b, "session_tls", info.tls, false);
	}
	print_line(&b);
}

static bool
send_copies(struct smtp_session *s, const struct opts *o, struct body *bd)
{
	struct smtp_outcome *ro = xcalloc(o->nrcpts, sizeof(*ro));
	struct smtp_outcome mo;
	struct done_ctx dc = { o, 0 };
	struct smtp_msg m;
	bool all_ok = true;
	long long n;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.sender = o->from;
	m.rcpts = (const char *const *)o->rcpts;
	m.nrcpts = o->nrcpts;
	m.size = bd->data->len;
	m.eightbit = o->eightbit;
	m.smtputf8 = o->smtputf8;
	m.ret = o->ret;
	m.envid = o->envid;
	m.notify = o->notify;
	m.body = body_fn;
	m.body_ctx = bd;
	m.rcpt_done = on_rcpt_done;
	m.done_ctx = &dc;
	for (n = 1; n <= o->count; n++) {
		struct buf b;
		int rc;

		dc.n = n;
		rc = smtp_send(s, &m, ro, &mo);
		buf_init(&b, 1 << 20);
		json_kv(&b, "kind", "message", true);
		(void)buf_appendf(&b, ",\"n\":%lld,\"broken\":%s", n,
		    rc == -1 ? "true" : "false");
		json_outcome(&b, &mo);
		print_line(&b);
		for (i = 0; i < o->nrcpts; i++)
			all_ok = all_ok && ro[i].reason == SMTP_R_OK;
		if (rc == -1) {
			all_ok = false;
			break;
		}
	}
	xfree(ro);
	return all_ok;
}

static int
print_reasons(void)
{
	int r;

	for (r = 0; r < SMTP_R_COUNT; r++) {
		struct buf b;

		buf_init(&b, 4096);
		json_kv(
		    &b, "reason", smtp_reason_name((enum smtp_reason)r), true);
		json_kv(&b, "class",
		    smtp_class_name(smtp_reason_class((enum smtp_reason)r)),
		    false);
		json_kv(
		    &b, "text", smtp_reason_text((enum smtp_reason)r), false);
		print_line(&b);
	}
	return 0;
}

static struct spool *
open_cache(const struct conf *c, struct tlsmode_cache *cache)
{
	char *db = conf_db_path(c);
	struct spool *sp;
	struct err err;

	(void)fs_mkdir_p(c->spool_dir, 0750, &err);
	sp = spool_open(db, SPOOL_CREATE, &err);
	xfree(db);
	if (sp == NULL) {
		fprintf(stderr, "smtp_send: spool: %s\n", err.msg);
		return NULL;
	}
	runner_tls_cache(sp, cache);
	return sp;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct conf *c;
	struct err err;
	struct buf data;
	struct body bd;
	struct tlsmode_cache cache;
	struct smtp_opts so;
	struct smtp_outcome oc;
	struct smtp_info info;
	struct smtp_session *s;
	struct spool *sp = NULL;
	int rc = 2;

	log_init("smtp_send", LOG_TO_STDERR);
	if (argc == 2 && strcmp(argv[1], "--reasons") == 0)
		return print_reasons();
	if (parse_args(argc, argv, &o) == -1)
		return usage();
	c = conf_load(o.conf, &err);
	if (c == NULL) {
		fprintf(stderr, "smtp_send: %s\n", err.msg);
		return 2;
	}
	buf_init(&data, 256 * 1024 * 1024);
	memset(&so, 0, sizeof(so));
	so.conf = c;
	so.sh = pick_smarthost(c, o.name);
	if (so.sh == NULL || fs_read_file(o.file, &data, &err) == -1) {
		fprintf(stderr, "smtp_send: no such smarthost or message\n");
		goto out_free;
	}
	if (!o.no_cache && (sp = open_cache(c, &cache)) == NULL)
		goto out_free;
	so.cache = sp != NULL ? &cache : NULL;
	so.flags = o.no_auth ? SMTP_NO_AUTH : 0;
	if (o.verbose) {
		so.event = on_event;
		so.trace = on_trace;
	}
	memset(&info, 0, sizeof(info));
	so.report = &info;
	s = smtp_open(&so, &oc);
	print_open(&info, &oc);
	rc = 1;
	if (s != NULL) {
		bd.data = &data;
		bd.chunk = (size_t)o.chunk;
		bd.fail_after = o.fail_body;
		rc = send_copies(s, &o, &bd) ? 0 : 1;
		smtp_close(s);
	}
out_free:
	spool_close(sp);
	buf_free(&data);
	conf_free(c);
	return rc;
}
