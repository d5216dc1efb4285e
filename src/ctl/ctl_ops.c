/*
 * ctl_ops.c - relayctl why, flush, retry, hold, release, delete, bounce,
 * stats and health (see ctl_ops.h; check is in ctl_check.c).
 *
 * Every command is one control request (runner_ctlops.h); relayd decides
 * what the caller may see and change.  --json prints relayd's objects as
 * they come; the human forms decode them with ctlclient_json.
 *
 * Security: text from mail and servers (replies, addresses, reasons) is
 * printed through str_escape; queue ids are checked before they are sent.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/str.h"
#include "ctl/ctl.h"
#include "ctl/ctl_ops.h"
#include "spool/spool.h"

#define CTL_WRAP 76
/* Queue ids in one request at most (the protocol's argument limit). */
#define CTL_OPS_MAX_IDS 15

/* What a command collects from relayd's objects. */
struct ctl_ops_out {
	const struct ctl_env *e;
	bool json;
	const char *verb;
	unsigned long objects;
	bool stuck; /* why: some object said so */
	bool unchanged; /* a change touched nothing */
	struct ctlclient_json *last; /* stats, health: the object */
};

/* ctl_ops_args - the common flags: --json, --all; the rest are operands
 * collected in ops[0..*nops).  -1 after a usage error. */
static int
ctl_ops_args(const struct ctl_env *e, const char *usage, int argc, char **argv,
    bool *json, bool *all, char **ops, int *nops)
{
	int i;

	*nops = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			*json = true;
		else if (all != NULL && strcmp(argv[i], "--all") == 0)
			*all = true;
		else if (argv[i][0] == '-' || *nops >= CTL_OPS_MAX_IDS) {
			(void)ctl_usage_error(e, usage, "%s %s",
			    argv[i][0] == '-' ? "unknown option"
					      : "too many ids:",
			    argv[i]);
			return -1;
		} else {
			ops[(*nops)++] = argv[i];
		}
	}
	return 0;
}

/* ctl_ops_wrap - print text escaped and wrapped at CTL_WRAP columns. */
static void
ctl_ops_wrap(FILE *out, const char *text)
{
	struct buf b;
	size_t col = 0, i = 0;

	buf_init(&b, 1 << 20);
	if (str_escape(&b, text, strlen(text)) == -1)
		(void)buf_puts(&b, "...");
	while (i < b.len) {
		size_t w = strcspn(b.data + i, " ");

		if (col > 0 && col + 1 + w > CTL_WRAP) {
			(void)fputc('\n', out);
			col = 0;
		} else if (col > 0) {
			(void)fputc(' ', out);
			col++;
		}
		(void)fwrite(b.data + i, 1, w, out);
		col += w;
		i += w;
		while (i < b.len && b.data[i] == ' ')
			i++;
	}
	(void)fputc('\n', out);
	buf_free(&b);
}

/* ctl_ops_parse - decode one object; NULL (and err) when malformed. */
static struct ctlclient_json *
ctl_ops_parse(const char *line, size_t n, struct err *err)
{
	struct ctlclient_json *j = ctlclient_json_parse(line, n, err);

	if (j != NULL && ctlclient_json_type(j) != CTLCLIENT_JSON_OBJECT) {
		ctlclient_json_free(j);
		(void)err_set(err, ERR_INTERNAL, "relayd sent a non-object");
		return NULL;
	}
	return j;
}

/* ctl_ops_str - a string member, or dflt. */
static const char *
ctl_ops_str(const struct ctlclient_json *j, const char *key, const char *dflt)
{
	const char *s = ctlclient_json_str(ctlclient_json_get(j, key));

	return s != NULL ? s : dflt;
}

/* ctl_ops_int - an integer member, or 0. */
static long long
ctl_ops_int(const struct ctlclient_json *j, const char *key)
{
	return ctlclient_json_int(ctlclient_json_get(j, key), 0);
}

/* --- why ------------------------------------------------------------------ */

static int
ctl_ops_why_line(void *arg, const char *line, size_t n, struct err *err)
{
	struct ctl_ops_out *o = arg;
	struct ctlclient_json *j = ctl_ops_parse(line, n, err);

	if (j == NULL)
		return -1;
	o->stuck =
	    o->stuck || ctlclient_json_bool(ctlclient_json_get(j, "stuck"));
	if (o->json) {
		(void)fwrite(line, 1, n, o->e->out);
		(void)fputc('\n', o->e->out);
	} else {
		ctl_ops_wrap(o->e->out, ctl_ops_str(j, "text", ""));
	}
	o->objects++;
	ctlclient_json_free(j);
	return 0;
}

int
ctl_ops_why(const struct conf *c, int argc, char **argv)
{
	static const char usage[] = "why [ID] [--json]";
	struct ctl_env env = { c, stdout, "relayctl" };
	struct ctl_ops_out o;
	char *ops[CTL_OPS_MAX_IDS];
	char req[64];
	int nops, rc;

	memset(&o, 0, sizeof(o));
	o.e = &env;
	if (ctl_ops_args(&env, usage, argc, argv, &o.json, NULL, ops, &nops) ==
	    -1)
		return CTL_EXIT_USAGE;
	if (nops > 1)
		return ctl_usage_error(&env, usage, "one id at most");
	if (nops == 1 && !spool_qid_valid(ops[0]))
		return ctl_usage_error(
		    &env, usage, "bad queue id (14 of 0-9 A-Z)");
	if (nops == 1)
		(void)str_fmt(req, sizeof(req), "why %s", ops[0]);
	else
		(void)str_copy(req, sizeof(req), "why");
	rc = ctl_call(&env, req, ctl_ops_why_line, &o);
	if (rc == CTL_EXIT_OK && o.stuck)
		rc = CTL_EXIT_PROBLEM;
	return rc;
}

/* --- changes -------------------------------------------------------------- */

/* The past participle printed for each changing command. */
static const char *
ctl_ops_done(const char *verb)
{
	static const char *const words[][2] = { { "flush", "due now" },
		{ "retry", "due now" }, { "hold", "held" },
		{ "release", "released" }, { "delete", "deleted" },
		{ "bounce", "returned to the sender" } };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i][0], verb) == 0)
			return words[i][1];
	return "changed";
}

static int
ctl_ops_change_line(void *arg, const char *line, size_t n, struct err *err)
{
	struct ctl_ops_out *o = arg;
	struct ctlclient_json *j = ctl_ops_parse(line, n, err);
	long long changed;
	const char *id;

	if (j == NULL)
		return -1;
	changed = ctl_ops_int(j, "changed");
	id = ctl_ops_str(j, "id", NULL);
	if (id != NULL && changed == 0)
		o->unchanged = true;
	if (o->json) {
		(void)fwrite(line, 1, n, o->e->out);
		(void)fputc('\n', o->e->out);
	} else if (id == NULL) {
		(void)fprintf(o->e->out, "%lld message%s %s\n", changed,
		    changed == 1 ? "" : "s", ctl_ops_done(o->verb));
	} else if (changed == 0) {
		(void)fprintf(o->e->out,
		    "%s: not %s (its state does not "
		    "allow it; see relayctl show %s)\n",
		    id, ctl_ops_done(o->verb), id);
	} else {
		(void)fprintf(o->e->out, "%s: %s\n", id, ctl_ops_done(o->verb));
	}
	o->objects++;
	ctlclient_json_free(j);
	return 0;
}

/* ctl_ops_request - "verb arg arg..." into req; -1 when too long. */
static int
ctl_ops_request(
    char *req, size_t size, const char *verb, char **ops, int nops, bool all)
{
	size_t len;
	int i;

	if (str_copy(req, size, verb) == -1)
		return -1;
	for (i = 0; i < nops; i++) {
		len = strlen(req);
		if (str_fmt(req + len, size - len, " %s", ops[i]) == -1)
			return -1;
	}
	len = strlen(req);
	return all ? str_fmt(req + len, size - len, " all") : 0;
}

/* ctl_ops_run_change - send the request and report. */
static int
ctl_ops_run_change(const struct ctl_env *e, struct ctl_ops_out *o,
    const char *req, bool flush_all)
{
	int rc = ctl_call(e, req, ctl_ops_change_line, o);

	if (rc == CTL_EXIT_OK && flush_all && !o->json)
		(void)fputs("queue run started\n", e->out);
	if (rc == CTL_EXIT_OK && o->unchanged)
		rc = CTL_EXIT_PROBLEM;
	return rc;
}

int
ctl_ops_flush(const struct conf *c, int argc, char **argv)
{
	static const char usage[] = "flush [ID...] [--json]";
	struct ctl_env env = { c, stdout, "relayctl" };
	struct ctl_ops_out o;
	char *ops[CTL_OPS_MAX_IDS];
	char req[CTLCLIENT_MAX_LINE];
	int i, nops;

	memset(&o, 0, sizeof(o));
	o.e = &env;
	o.verb = "flush";
	if (ctl_ops_args(&env, usage, argc, argv, &o.json, NULL, ops, &nops) ==
	    -1)
		return CTL_EXIT_USAGE;
	for (i = 0; i < nops; i++)
		if (!spool_qid_valid(ops[i]))
			return ctl_usage_error(&env, usage,
			    "bad queue id %.40s (14 of 0-9 A-Z)", ops[i]);
	if (ctl_ops_request(req, sizeof(req), "flush", ops, nops, false) == -1)
		return ctl_usage_error(&env, usage, "too many ids");
	return ctl_ops_run_change(&env, &o, req, nops == 0);
}

int
ctl_ops_change(const struct conf *c, int argc, char **argv)
{
	struct ctl_env env = { c, stdout, "relayctl" };
	const char *verb = argv[0];
	bool may_all =
	    strcmp(verb, "retry") != 0 && strcmp(verb, "bounce") != 0;
	bool all = false;
	struct ctl_ops_out o;
	char usage[64], req[128];
	char *ops[CTL_OPS_MAX_IDS];
	int nops;

	(void)str_fmt(usage, sizeof(usage), "%s ID%s [--json]", verb,
	    may_all ? "|--all" : "");
	memset(&o, 0, sizeof(o));
	o.e = &env;
	o.verb = verb;
	if (ctl_ops_args(&env, usage, argc, argv, &o.json,
		may_all ? &all : NULL, ops, &nops) == -1)
		return CTL_EXIT_USAGE;
	if ((nops != 1 && !all) || (all && nops != 0))
		return ctl_usage_error(&env, usage,
		    may_all ? "give one queue id or --all"
			    : "give one queue id");
	if (!all && !spool_qid_valid(ops[0]))
		return ctl_usage_error(
		    &env, usage, "bad queue id (14 of 0-9 A-Z)");
	if (ctl_ops_request(req, sizeof(req), verb, ops, nops, all) == -1)
		return ctl_usage_error(&env, usage, "bad arguments");
	return ctl_ops_run_change(&env, &o, req, false);
}

/* --- stats ---------------------------------------------------------------- */

static int
ctl_ops_keep_line(void *arg, const char *line, size_t n, struct err *err)
{
	struct ctl_ops_out *o = arg;
	struct ctlclient_json *j = ctl_ops_parse(line, n, err);

	if (j == NULL)
		return -1;
	if (o->json) {
		(void)fwrite(line, 1, n, o->e->out);
		(void)fputc('\n', o->e->out);
	}
	ctlclient_json_free(o->last);
	o->last = j;
	o->objects++;
	return 0;
}

/* ctl_ops_age - "45s", "12m", "3h", "2d". */
static void
ctl_ops_age(long long s, char *out, size_t size)
{
	if (s < 120)
		(void)str_fmt(out, size, "%llds", s < 0 ? 0 : s);
	else if (s < 7200)
		(void)str_fmt(out, size, "%lldm", s / 60);
	else if (s < 172800)
		(void)str_fmt(out, size, "%lldh", s / 3600);
	else
		(void)str_fmt(out, size, "%lldd", s / 86400);
}

/* ctl_ops_events - "received 3, sent 2, deferred 0, bounced 1". */
static void
ctl_ops_events(FILE *out, const char *title, const struct ctlclient_json *ev)
{
	static const char *const names[] = { "received", "sent", "deferred",
		"bounced" };
	size_t i;

	(void)fprintf(out, "%-12s", title);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		(void)fprintf(out, "%s%s %lld", i > 0 ? ", " : "", names[i],
		    ctl_ops_int(ev, names[i]));
	(void)fputc('\n', out);
}

/* ctl_ops_host - one smarthost line of stats. */
static void
ctl_ops_host(FILE *out, const struct ctlclient_json *h)
{
	const char *state = ctl_ops_str(h, "state", "?");
	const char *mode = ctl_ops_str(h, "tls_mode", NULL);
	char when[32];

	(void)fputs("Smarthost   ", out);
	ctl_put_escaped(out, ctl_ops_str(h, "name", "?"));
	(void)fputs(" (", out);
	ctl_put_escaped(out, ctl_ops_str(h, "host", "?"));
	(void)fprintf(out, ":%lld): %s", ctl_ops_int(h, "port"), state);
	if (strcmp(state, "backoff") == 0 || strcmp(state, "fault") == 0) {
		(void)fprintf(out, " after %lld failure%s (",
		    ctl_ops_int(h, "failures"),
		    ctl_ops_int(h, "failures") == 1 ? "" : "s");
		ctl_put_escaped(out, ctl_ops_str(h, "reason", "?"));
		(void)fprintf(out, "), next try %s",
		    ctl_time(when, sizeof(when),
			(time_t)ctl_ops_int(h, "next_try")));
	} else if (ctl_ops_int(h, "last_ok") != 0) {
		(void)fprintf(out, ", last success %s",
		    ctl_time(
			when, sizeof(when), (time_t)ctl_ops_int(h, "last_ok")));
	}
	(void)fprintf(
	    out, "; TLS mode %s\n", mode != NULL ? mode : "not known yet");
}

/* ctl_ops_stats_human - the human form of the stats object. */
static void
ctl_ops_stats_human(FILE *out, const struct ctlclient_json *j)
{
	const struct ctlclient_json *hosts =
	    ctlclient_json_get(j, "smarthosts");
	char age[32];
	size_t i;

	(void)fprintf(out,
	    "Messages    queued %lld, deferred %lld, held %lld, sending "
	    "%lld, sent %lld, failed %lld\n",
	    ctl_ops_int(j, "queued"), ctl_ops_int(j, "deferred"),
	    ctl_ops_int(j, "held"), ctl_ops_int(j, "sending"),
	    ctl_ops_int(j, "sent"), ctl_ops_int(j, "failed"));
	ctl_ops_age(ctl_ops_int(j, "oldest_age"), age, sizeof(age));
	(void)fprintf(out, "Waiting     %lld (%lld bytes), oldest %s",
	    ctl_ops_int(j, "active"), ctl_ops_int(j, "active_bytes"), age);
	if (ctl_ops_int(j, "oldest") != 0) {
		char when[32];

		(void)fprintf(out, " (since %s)",
		    ctl_time(
			when, sizeof(when), (time_t)ctl_ops_int(j, "oldest")));
	}
	(void)fputc('\n', out);
	ctl_ops_events(out, "Last hour", ctlclient_json_get(j, "last_hour"));
	ctl_ops_events(out, "Last day", ctlclient_json_get(j, "last_day"));
	if (ctlclient_json_len(hosts) == 0)
		(void)fputs("Smarthost   none configured\n", out);
	for (i = 0; i < ctlclient_json_len(hosts); i++)
		ctl_ops_host(out, ctlclient_json_at(hosts, i));
	if (!ctlclient_json_bool(ctlclient_json_get(j, "relayd")))
		(void)fputs(
		    "relayd      not running (read from the spool)\n", out);
}

int
ctl_ops_stats(const struct conf *c, int argc, char **argv)
{
	static const char usage[] = "stats [--json]";
	struct ctl_env env = { c, stdout, "relayctl" };
	struct ctl_ops_out o;
	char *ops[CTL_OPS_MAX_IDS];
	int nops, rc;

	memset(&o, 0, sizeof(o));
	o.e = &env;
	if (ctl_ops_args(&env, usage, argc, argv, &o.json, NULL, ops, &nops) ==
	    -1)
		return CTL_EXIT_USAGE;
	if (nops > 0)
		return ctl_usage_error(&env, usage, "no arguments expected");
	rc = ctl_call(&env, "stats", ctl_ops_keep_line, &o);
	if (rc == CTL_EXIT_OK && o.last != NULL && !o.json)
		ctl_ops_stats_human(env.out, o.last);
	ctlclient_json_free(o.last);
	return rc;
}

/* --- health --------------------------------------------------------------- */

struct ctl_health {
	long long warn_age, crit_age, warn_count, crit_count;
	bool json;
};

/* ctl_health_opt - one threshold option; 1 used, 0 not ours, -1 bad. */
static int
ctl_health_opt(struct ctl_health *h, int argc, char **argv, int *i)
{
	static const char *const names[] = { "--warn-age", "--crit-age",
		"--warn-count", "--crit-count" };
	long long *vals[] = { &h->warn_age, &h->crit_age, &h->warn_count,
		&h->crit_count };
	size_t k;

	for (k = 0; k < 4; k++) {
		if (strcmp(argv[*i], names[k]) != 0)
			continue;
		if (*i + 1 >= argc)
			return -1;
		(*i)++;
		if (k < 2)
			return str_parse_duration(argv[*i], vals[k]) == 0 ? 1
									  : -1;
		return str_to_ll(argv[*i], 0, 1000000000, vals[k]) == 0 ? 1
									: -1;
	}
	return 0;
}

/* ctl_health_args - parse the options; -1 on a usage error. */
static int
ctl_health_args(struct ctl_health *h, int argc, char **argv)
{
	int i, r;

	h->warn_age = 3600;
	h->crit_age = 86400;
	h->warn_count = 10;
	h->crit_count = 100;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			h->json = true;
			continue;
		}
		r = ctl_health_opt(h, argc, argv, &i);
		if (r != 1) {
			(void)fprintf(stderr,
			    "relayctl: health: bad or unknown argument %s\n"
			    "usage: relayctl health [--warn-age D] [--crit-age "
			    "D] [--warn-count N] [--crit-count N] [--json]\n",
			    argv[i]);
			return -1;
		}
	}
	return 0;
}

/* ctl_health_reachable - does relayd answer on its socket? */
static bool
ctl_health_reachable(const struct conf *c)
{
	struct err err;
	int fd;

	err_clear(&err);
	fd = ctlclient_connect(c, &err);
	if (fd == -1)
		return false;
	(void)close(fd);
	return true;
}

/* ctl_health_report - print the status line (or object); returns the
 * exit code. */
static int
ctl_health_report(
    const struct ctl_health *h, const struct ctlclient_json *j, bool relayd)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL",
		"UNKNOWN" };
	long long n = ctl_ops_int(j, "active"),
		  age = ctl_ops_int(j, "oldest_age");
	int code = CTL_HEALTH_OK;
	char text[512], ages[32];
	struct buf b;

	if (n >= h->warn_count || age > h->warn_age)
		code = CTL_HEALTH_WARNING;
	if (n >= h->crit_count || age > h->crit_age || !relayd)
		code = CTL_HEALTH_CRITICAL;
	ctl_ops_age(age, ages, sizeof(ages));
	(void)str_fmt(text, sizeof(text),
	    "RELAY %s - %s%lld queued, oldest %s | queued=%lld;%lld;%lld "
	    "oldest=%llds;%lld;%lld",
	    names[code], relayd ? "" : "relayd is not running; ", n, ages, n,
	    h->warn_count, h->crit_count, age, h->warn_age, h->crit_age);
	if (!h->json) {
		(void)printf("%s\n", text);
		return code;
	}
	buf_init(&b, 2048);
	if (buf_appendf(&b,
		"{\"status\":\"%s\",\"code\":%d,\"queued\":%lld,"
		"\"oldest\":%lld,\"relayd\":%s,\"warn_count\":%lld,"
		"\"crit_count\":%lld,\"warn_age\":%lld,\"crit_age\":%lld,"
		"\"text\":",
		names[code], code, n, age, relayd ? "true" : "false",
		h->warn_count, h->crit_count, h->warn_age, h->crit_age) == 0 &&
	    str_json(&b, text, strlen(text)) == 0 && buf_putc(&b, '}') == 0)
		(void)printf("%s\n", b.data);
	buf_free(&b);
	return code;
}

int
ctl_ops_health(const struct conf *c, int argc, char **argv)
{
	struct ctl_env env = { c, stdout, "relayctl" };
	struct ctl_health h;
	struct ctl_ops_out o;
	bool relayd;
	int rc;

	memset(&h, 0, sizeof(h));
	if (ctl_health_args(&h, argc, argv) == -1) {
		(void)printf("RELAY UNKNOWN - usage error\n");
		return CTL_HEALTH_UNKNOWN;
	}
	memset(&o, 0, sizeof(o));
	o.e = &env;
	relayd = ctl_health_reachable(c);
	rc = ctl_call(&env, "stats", ctl_ops_keep_line, &o);
	if (rc != CTL_EXIT_OK || o.last == NULL) {
		ctlclient_json_free(o.last);
		if (h.json)
			(void)printf("{\"status\":\"UNKNOWN\",\"code\":3,"
				     "\"relayd\":%s}\n",
			    relayd ? "true" : "false");
		else
			(void)printf("RELAY UNKNOWN - %s\n",
			    relayd ? "relayd did not answer"
				   : "relayd is not running and the spool "
				     "cannot be read");
		return CTL_HEALTH_UNKNOWN;
	}
	rc = ctl_health_report(&h, o.last, relayd);
	ctlclient_json_free(o.last);
	return rc;
}
