/*
 * test_runner_ctl.c - the control server on a real spool (a queue.db in a
 * temp dir): request parsing and its refusals, list with state filters,
 * who sees what (privileged or the owner only), show and its errors, the
 * objects decoded back by the client, verbs that need relayd, and the
 * group commit through runner_enqueue_batch (Received: header, aliases,
 * hop limit, bad addresses).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "mail/aliases.h"
#include "mail/ctlclient.h"
#include "runner/runner_ctl.h"
#include "runner/runner_enqueue.h"
#include "spool/spool.h"

struct fixture {
	char dir[64];
	char db[128];
	struct conf conf;
	struct spool *sp;
	char qid[3][SPOOL_QID_SIZE];
};

/* The collected output of one request. */
struct out {
	int n;
	char *lines[16];
};

static int
collect(void *arg, const char *line, size_t n, struct err *err)
{
	struct out *o = arg;

	(void)err;
	assert_true(o->n < 16);
	o->lines[o->n++] = xstrndup(line, n);
	return 0;
}

static void
out_free(struct out *o)
{
	int i;

	for (i = 0; i < o->n; i++)
		xfree(o->lines[i]);
	o->n = 0;
}

static ssize_t
read_str(void *ctx, char *p, size_t n, struct err *err)
{
	const char **s = ctx;
	size_t len = strlen(*s);

	(void)err;
	if (len > n)
		len = n;
	memcpy(p, *s, len);
	*s += len;
	return (ssize_t)len;
}

static void
add(struct fixture *fx, int i, uid_t uid, const char *rcpt)
{
	const char *rcpts[] = { rcpt };
	const char *body = "Subject: t\r\n\r\nbody\r\n";
	struct spool_newmsg m;
	struct err err;

	memset(&m, 0, sizeof(m));
	m.sender = i == 2 ? "" : "s@example.org";
	m.rcpts = rcpts;
	m.nrcpts = 1;
	m.uid = uid;
	m.created = 1700000000 + i;
	assert_int_equal(spool_begin(fx->sp, &err), 0);
	assert_int_equal(
	    spool_add_message(fx->sp, &m, read_str, &body, fx->qid[i], &err),
	    0);
	assert_int_equal(spool_commit(fx->sp, &err), 0);
}

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	struct err err;

	(void)str_copy(fx->dir, sizeof(fx->dir), "/tmp/relay-ctl-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	(void)str_fmt(fx->db, sizeof(fx->db), "%s/queue.db", fx->dir);
	fx->conf.group = xstrdup("no-such-group-relaytest");
	fx->conf.hostname = xstrdup("h.example");
	fx->conf.domain = xstrdup("example.org");
	fx->conf.spool_dir = xstrdup(fx->dir);
	fx->conf.hop_limit = 2;
	fx->conf.max_message_size = 1 << 20;
	fx->sp = spool_open(fx->db, SPOOL_CREATE, &err);
	if (fx->sp == NULL)
		return -1;
	add(fx, 0, 1000, "a@example.net");
	add(fx, 1, 1001, "b@example.net");
	add(fx, 2, 1000, "c@example.net");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char path[160];

	spool_close(fx->sp);
	(void)unlink(fx->db);
	(void)str_fmt(path, sizeof(path), "%s-wal", fx->db);
	(void)unlink(path);
	(void)str_fmt(path, sizeof(path), "%s-shm", fx->db);
	(void)unlink(path);
	(void)rmdir(fx->dir);
	xfree(fx->conf.group);
	xfree(fx->conf.hostname);
	xfree(fx->conf.domain);
	xfree(fx->conf.spool_dir);
	xfree(fx);
	return 0;
}

static int
serve(struct fixture *fx, uid_t uid, bool priv, const char *req, struct out *o)
{
	struct ctlclient_status st;
	char line[256];

	(void)str_fmt(line, sizeof(line), "RELAY-CTL 1 %s", req);
	memset(&st, 0, sizeof(st));
	runner_ctl_serve(
	    &fx->conf, fx->sp, uid, priv, NULL, line, collect, o, &st);
	return st.code;
}

static void
test_parse(void **state)
{
	struct fixture *fx = *state;
	struct runner_ctl_req req;
	struct ctlclient_status st;
	struct out o = { 0 };

	assert_int_equal(runner_ctl_parse(&req, "RELAY-CTL 1 list", &st), 0);
	assert_string_equal(req.verb->name, "list");
	runner_ctl_req_free(&req);
	assert_int_equal(runner_ctl_parse(&req, "RELAY-CTL 2 list", &st), -1);
	assert_int_equal(st.code, CTLCLIENT_USAGE);
	runner_ctl_req_free(&req);
	assert_int_equal(
	    runner_ctl_verb_flags("RELAY-CTL 1 show x"), RUNNER_CTL_SPOOL);
	assert_int_equal(runner_ctl_verb_flags("RELAY-CTL 1 nope"), -1);
	assert_int_equal(serve(fx, 0, true, "nope", &o), CTLCLIENT_USAGE);
	assert_int_equal(serve(fx, 0, true, "", &o), CTLCLIENT_USAGE);
	assert_int_equal(serve(fx, 0, true, "list  x", &o), CTLCLIENT_USAGE);
	assert_int_equal(serve(fx, 0, true, "show", &o), CTLCLIENT_USAGE);
	assert_int_equal(serve(fx, 0, true, "list a b", &o), CTLCLIENT_USAGE);
	assert_int_equal(serve(fx, 0, true, "list \x01", &o), CTLCLIENT_USAGE);
	assert_int_equal(serve(fx, 0, true, "ping", &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 0);
	/* verbs that need relayd, without relayd */
	assert_int_equal(serve(fx, 0, true, "flush", &o), CTLCLIENT_TEMP);
	assert_int_equal(serve(fx, 0, true, "status", &o), CTLCLIENT_TEMP);
}

static void
test_list(void **state)
{
	struct fixture *fx = *state;
	struct ctlclient_msg m;
	struct out o = { 0 };
	struct err err;

	assert_int_equal(serve(fx, 0, true, "list", &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 3);
	assert_int_equal(
	    ctlclient_msg_parse(o.lines[0], strlen(o.lines[0]), &m, &err), 0);
	assert_string_equal(m.id, fx->qid[0]);
	assert_string_equal(m.state, "queued");
	assert_int_equal(m.uid, 1000);
	assert_int_equal(m.created, 1700000000);
	assert_int_equal(m.nrcpts, 1);
	assert_string_equal(m.rcpts[0].address, "a@example.net");
	assert_string_equal(m.rcpts[0].state, "pending");
	ctlclient_msg_free(&m);
	assert_non_null(strstr(o.lines[2], "\"sender\":\"\""));
	assert_non_null(strstr(o.lines[0], "\"reason\":null"));
	out_free(&o);

	/* an ordinary user sees only their own */
	assert_int_equal(serve(fx, 1000, false, "list", &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 2);
	out_free(&o);
	assert_int_equal(serve(fx, 1001, false, "list", &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 1);
	assert_non_null(strstr(o.lines[0], fx->qid[1]));
	out_free(&o);
	assert_int_equal(serve(fx, 4242, false, "list", &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 0);

	/* state filters */
	assert_int_equal(
	    serve(fx, 0, true, "list state=queued", &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 3);
	out_free(&o);
	assert_int_equal(
	    serve(fx, 0, true, "list state=deferred", &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 0);
	assert_int_equal(
	    serve(fx, 0, true, "list state=all", &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 3);
	out_free(&o);
	assert_int_equal(
	    serve(fx, 0, true, "list state=sent", &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 0);
	assert_int_equal(
	    serve(fx, 0, true, "list state=bogus", &o), CTLCLIENT_BADARG);
	assert_int_equal(
	    serve(fx, 0, true, "list queued", &o), CTLCLIENT_BADARG);
}

static void
test_show(void **state)
{
	struct fixture *fx = *state;
	struct out o = { 0 };
	char req[64];

	(void)str_fmt(req, sizeof(req), "show %s", fx->qid[1]);
	assert_int_equal(serve(fx, 0, true, req, &o), CTLCLIENT_OK);
	assert_int_equal(o.n, 1);
	assert_non_null(strstr(o.lines[0], "\"history\":[]"));
	assert_non_null(strstr(o.lines[0], "\"smtputf8\":false"));
	out_free(&o);
	assert_int_equal(serve(fx, 1001, false, req, &o), CTLCLIENT_OK);
	out_free(&o);
	/* someone else's message looks exactly like a missing one */
	assert_int_equal(serve(fx, 1000, false, req, &o), CTLCLIENT_NOMSG);
	assert_int_equal(o.n, 0);
	assert_int_equal(
	    serve(fx, 0, true, "show 00000000000000", &o), CTLCLIENT_NOMSG);
	assert_int_equal(serve(fx, 0, true, "show abc", &o), CTLCLIENT_BADARG);
	assert_int_equal(
	    serve(fx, 0, true, "show 0abcdefghijklm", &o), CTLCLIENT_BADARG);
}

static void
test_enqueue_batch(void **state)
{
	static const char *streams[] = {
		"RELAY-SUBMIT 1\nFROM x@example.org\nRCPT postmaster\n"
		"RCPT y@example.net\nDATA\n9\nSubject:\n0\n",
		"RELAY-SUBMIT 1\nFROM x@example.org\nRCPT y@example.net\n"
		"DATA\n41\nReceived: a\r\nReceived: b\r\nReceived: "
		"c\r\n\r\n0\n",
		"RELAY-SUBMIT 1\nFROM x@example.org\nRCPT bad@@example.net\n"
		"DATA\n3\nx\r\n0\n",
	};
	struct fixture *fx = *state;
	struct runner_sub *subs[3];
	struct runner_enqueue ex;
	struct aliases *al;
	struct spool_msg_info *mi;
	struct err err;
	size_t i, used;
	char path[160];
	FILE *f;

	(void)str_fmt(path, sizeof(path), "%s/aliases", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs("postmaster: boss\n", f) >= 0);
	assert_int_equal(fclose(f), 0);
	al = aliases_load(path, &err);
	assert_non_null(al);
	ex.sp = fx->sp;
	ex.conf = &fx->conf;
	ex.aliases = al;
	for (i = 0; i < 3; i++) {
		subs[i] = runner_sub_new(&fx->conf, 77);
		assert_int_equal(runner_sub_feed(subs[i], streams[i],
				     strlen(streams[i]), &used),
		    RUNNER_SUB_READY);
	}
	runner_enqueue_batch(&ex, subs, 3);
	assert_int_equal(subs[0]->code, 250);
	assert_int_equal(subs[1]->code, 554); /* 3 Received: > hop_limit 2 */
	assert_int_equal(subs[2]->code, 553);
	assert_int_equal(subs[0]->state, RUNNER_SUB_DONE);
	assert_int_equal(spool_get(fx->sp, subs[0]->qid, &mi, &err), 0);
	assert_int_equal(mi->uid, 77);
	assert_int_equal(mi->nrcpts, 2);
	assert_string_equal(mi->rcpts[0].address, "boss@example.org");
	assert_int_equal(mi->size, subs[0]->stored);
	spool_msg_info_free(mi);
	for (i = 0; i < 3; i++)
		runner_sub_free(subs[i]);
	aliases_free(al);
	assert_int_equal(unlink(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_enqueue_batch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
