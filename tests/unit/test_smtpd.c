/*
 * test_smtpd.c - the SMTP server state machine (mail/smtpd) with a sink
 * that records replies and submission streams: reply codes in order for
 * whole sessions fed in every split, the stream relayd would receive
 * (envelope, header policy, unstuffed canonical body), pending commits,
 * refusals from the driver, end of input and timeouts in every phase.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/str.h"
#include "mail/smtpd.h"
#include "mail/subproto.h"

struct sink {
	struct buf replies;
	struct buf stream; /* the current message's stream */
	struct buf last; /* the last committed stream */
	int opens, commits, aborts;
	int fail_open, fail_write, fail_commit; /* smtp codes, 0: no */
	bool pend; /* commit returns 1 */
	bool open;
};

static void
sink_reply(void *arg, const char *p, size_t n)
{
	struct sink *k = arg;

	assert_int_equal(buf_append(&k->replies, p, n), 0);
}

static int
sink_open(void *arg, struct err *err)
{
	struct sink *k = arg;

	assert_false(k->open);
	k->opens++;
	if (k->fail_open) {
		(void)err_set(err, ERR_TEMP, "relayd is down");
		err->smtp_code = k->fail_open;
		return -1;
	}
	k->open = true;
	buf_reset(&k->stream);
	return 0;
}

static int
sink_write(void *arg, const char *p, size_t n, struct err *err)
{
	struct sink *k = arg;

	assert_true(k->open);
	if (k->fail_write) {
		k->open = false;
		(void)err_set(err, ERR_PERM, "too large for relayd");
		err->smtp_code = k->fail_write;
		return -1;
	}
	assert_int_equal(buf_append(&k->stream, p, n), 0);
	return 0;
}

static int
sink_commit(void *arg, char *qid, size_t size, struct err *err)
{
	struct sink *k = arg;

	assert_true(k->open);
	k->open = false;
	k->commits++;
	buf_reset(&k->last);
	assert_int_equal(
	    buf_append(&k->last, k->stream.data, k->stream.len), 0);
	if (k->fail_commit) {
		(void)err_set(err, ERR_PERM, "hop limit at relayd");
		err->smtp_code = k->fail_commit;
		return -1;
	}
	if (k->pend)
		return 1;
	(void)str_fmt(qid, size, "Q%d", k->commits);
	return 0;
}

static void
sink_abort(void *arg)
{
	struct sink *k = arg;

	assert_true(k->open);
	k->open = false;
	k->aborts++;
}

static const struct smtpd_ops ops = { sink_reply, sink_open, sink_write,
	sink_commit, sink_abort };

static struct conf conf;

static struct smtpd *
start(struct sink *k)
{
	struct smtpd *s;

	memset(k, 0, sizeof(*k));
	buf_init(&k->replies, 1 << 20);
	buf_init(&k->stream, 1 << 20);
	buf_init(&k->last, 1 << 20);
	conf.hostname = (char *)(uintptr_t) "mx.example.com";
	conf.domain = (char *)(uintptr_t) "example.com";
	conf.hop_limit = 3;
	conf.max_message_size = 4096;
	s = smtpd_new(&conf, &ops, k);
	smtpd_start(s);
	return s;
}

static void
finish(struct smtpd *s, struct sink *k)
{
	smtpd_free(s);
	assert_false(k->open);
	buf_free(&k->replies);
	buf_free(&k->stream);
	buf_free(&k->last);
}

/* codes - the final lines' codes of all replies, "220 250 ...". */
static void
codes(const struct sink *k, char *out, size_t size)
{
	const char *p = k->replies.data;
	size_t len = 0;

	out[0] = '\0';
	while (*p != '\0') {
		const char *nl = strstr(p, "\r\n");

		assert_non_null(nl);
		if (p[3] == ' ') {
			assert_true(len + 4 < size);
			memcpy(out + len, p, 3);
			len += 3;
			out[len++] = ' ';
			out[len] = '\0';
		}
		p = nl + 2;
	}
	if (len > 0)
		out[len - 1] = '\0';
}

/* feedn - p[0..n), in pieces of step bytes; a pending commit is
 * completed at once. */
static void
feedn(struct smtpd *s, const char *p, size_t n, size_t step)
{
	size_t pos = 0;

	while (pos < n && smtpd_phase(s) != SMTPD_CLOSED) {
		size_t take = n - pos < step ? n - pos : step;
		size_t used = smtpd_feed(s, p + pos, take);

		assert_true(used <= take);
		pos += used;
		if (smtpd_phase(s) == SMTPD_WAIT)
			smtpd_commit_done(s, "PENDING", NULL);
	}
}

/* feed - the string p, in pieces of step bytes. */
static void
feed(struct smtpd *s, const char *p, size_t step)
{
	feedn(s, p, strlen(p), step);
}

static const char session[] =
    "EHLO c\r\nMAIL FROM:<me> SIZE=100 BODY=8bitmime\r\n"
    "RCPT TO:<you@example.net>\r\nRCPT TO:<you@example.net>\r\n"
    "RCPT TO:<@r:other>\r\nDATA\r\n"
    "Subject: t\r\nBcc: hidden@example.net\r\n\r\n"
    "..dot\r\nbare\nlf\rcr\x00nul\r\n.\nstill data\r\n.\r\n"
    "NOOP\r\nQUIT\r\n";

static void
test_session_every_split(void **state)
{
	static const size_t steps[] = { 1, 2, 3, 7, 64, 4096 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct sink k;
		struct smtpd *s = start(&k);
		char got[256];
		const char *body;

		feedn(s, session, sizeof(session) - 1, steps[i]);
		codes(&k, got, sizeof(got));
		assert_string_equal(
		    got, "220 250 250 250 250 250 354 250 250 221");
		assert_non_null(strstr(k.replies.data,
		    "250 2.0.0 Ok: queued "
		    "as Q1\r\n"));
		assert_non_null(
		    strstr(k.replies.data, "250-SIZE 4096\r\n250-8BITMIME"));
		assert_int_equal(smtpd_phase(s), SMTPD_CLOSED);
		assert_int_equal(smtpd_accepted(s), 1);
		assert_false(smtpd_abandoned(s));
		/* the stream relayd gets */
		assert_non_null(strstr(k.last.data,
		    "RELAY-SUBMIT 1\nFROM me@example.com\n"
		    "RCPT you@example.net\nRCPT other@example.com\n"
		    "BODY 8BITMIME\nDATA\n"));
		assert_null(strstr(k.last.data, "hidden"));
		assert_non_null(strstr(k.last.data, "Message-ID: <"));
		body = strstr(k.last.data, "\r\n\r\n");
		assert_non_null(body);
		assert_non_null(strstr(body,
		    "\r\n\r\n.dot\r\nbare\r\nlf\r\ncrnul\r\n.\r\n"
		    "still data\r\n0\n"));
		finish(s, &k);
	}
}

static void
test_sequence_and_syntax(void **state)
{
	struct sink k;
	struct smtpd *s = start(&k);
	char got[512], line[SMTPD_MAX_LINE + 100];

	(void)state;
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	line[sizeof(line) - 3] = '\r';
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	feed(s,
	    "MAIL FROM:<a@b.c>\r\nHELO\r\nHELO h\r\nMAIL FROM:<a@b.c> "
	    "SIZE=1\r\nRCPT TO:<a@b.c>\r\nDATA\r\nMAIL FROM:<a@b.c>\r\n"
	    "MAIL FROM:<a@b.c>\r\nDATA\r\nRCPT TO:<>\r\nRCPT TO:<x\r\n"
	    "VRFY\r\nVRFY y\r\nEXPN y\r\nHELP\r\nbogus\r\nRSET\r\n"
	    "DATA\r\n",
	    5);
	feed(s, line, 100);
	feedn(s, "NOOP\r\nNOOP\r\n\x00\r\n", 15, 1);
	codes(&k, got, sizeof(got));
	assert_string_equal(got,
	    "220 503 501 250 555 503 503 250 503 503 553 "
	    "501 501 252 502 214 500 250 503 500 250 250 "
	    "500");
	assert_int_equal(k.opens, 0);
	finish(s, &k);
}

static void
test_too_many_errors(void **state)
{
	struct sink k;
	struct smtpd *s = start(&k);
	int i;

	(void)state;
	for (i = 0; i < SMTPD_MAX_ERRORS - 1; i++)
		feed(s, "X\r\n", 10);
	assert_int_equal(smtpd_phase(s), SMTPD_COMMAND);
	feed(s, "X\r\nNOOP\r\n", 10);
	assert_int_equal(smtpd_phase(s), SMTPD_CLOSED);
	assert_non_null(strstr(k.replies.data, "421 4.7.0 "));
	assert_null(strstr(k.replies.data, "250"));
	finish(s, &k);
}

static const char one[] = "HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n"
			  "DATA\r\nSubject: s\r\n\r\nbody\r\n.\r\n";

static void
test_pending_commit(void **state)
{
	struct sink k;
	struct smtpd *s = start(&k);
	char script[512], got[128];
	size_t used;

	(void)state;
	k.pend = true;
	(void)str_fmt(script, sizeof(script), "%sNOOP\r\nQUIT\r\n", one);
	used = smtpd_feed(s, script, strlen(script));
	assert_int_equal(smtpd_phase(s), SMTPD_WAIT);
	assert_int_equal(used, strlen(one)); /* stops after the dot */
	assert_int_equal(smtpd_feed(s, script + used, 6), 0);
	smtpd_commit_done(s, "LATER", NULL);
	assert_int_equal(smtpd_phase(s), SMTPD_COMMAND);
	used += smtpd_feed(s, script + used, strlen(script) - used);
	assert_int_equal(used, strlen(script));
	codes(&k, got, sizeof(got));
	assert_string_equal(got, "220 250 250 250 354 250 250 221");
	assert_non_null(strstr(k.replies.data, "queued as LATER"));
	finish(s, &k);

	/* a pending commit that fails */
	s = start(&k);
	k.pend = true;
	(void)smtpd_feed(s, one, strlen(one));
	{
		struct err err;

		err_clear(&err);
		(void)err_set(&err, ERR_TEMP, "spool busy");
		err.smtp_code = 451;
		smtpd_commit_done(s, NULL, &err);
	}
	assert_non_null(strstr(k.replies.data, "451 4.3.0 spool busy\r\n"));
	smtpd_commit_done(s, "IGNORED", NULL); /* not waiting: no reply */
	assert_null(strstr(k.replies.data, "IGNORED"));
	finish(s, &k);
}

static void
test_driver_refusals(void **state)
{
	struct sink k;
	struct smtpd *s = start(&k);

	(void)state;
	k.fail_open = 451;
	feed(s, one, 4096);
	assert_non_null(strstr(k.replies.data, "451 4.3.0 relayd is down"));
	k.fail_open = 0;
	k.fail_write = 552;
	feed(s, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n",
	    4096);
	assert_non_null(strstr(k.replies.data, "552 5.3.4 too large"));
	k.fail_write = 0;
	k.fail_commit = 554;
	feed(s, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n",
	    4096);
	assert_non_null(strstr(k.replies.data, "554 5.6.0 hop limit"));
	k.fail_commit = 0;
	feed(s, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n",
	    4096);
	assert_int_equal(smtpd_accepted(s), 1);
	finish(s, &k);
}

static void
test_limits_in_data(void **state)
{
	struct sink k;
	struct smtpd *s = start(&k);
	char big[6000];

	(void)state;
	memset(big, 'y', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	feed(s, "HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n",
	    4096);
	feed(s, big, 1000);
	feed(s, "\r\n.\r\n", 1);
	assert_non_null(strstr(k.replies.data, "552 5.3.4 message too large"));
	assert_int_equal(k.aborts, 1);
	feed(s,
	    "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"
	    "Received: 1\r\nReceived: 2\r\nReceived: 3\r\nReceived: 4\r\n"
	    "\r\nloop\r\n.\r\n",
	    7);
	assert_non_null(strstr(k.replies.data, "554 5.4.6 "));
	assert_int_equal(k.commits, 0);
	finish(s, &k);
}

static void
test_eof_and_timeout(void **state)
{
	struct sink k;
	struct smtpd *s = start(&k);

	(void)state;
	feed(s,
	    "HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"
	    "Subject: x\r\n\r\nhalf",
	    4096);
	assert_true(smtpd_in_data(s));
	smtpd_eof(s);
	assert_int_equal(smtpd_phase(s), SMTPD_CLOSED);
	assert_true(smtpd_abandoned(s));
	assert_int_equal(k.aborts, 1);
	assert_int_equal(k.commits, 0);
	finish(s, &k);

	s = start(&k);
	feed(s,
	    "HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"
	    "Subject: x\r\n\r\n",
	    4096);
	smtpd_timeout(s);
	assert_non_null(strstr(k.replies.data,
	    "421 4.4.2 mx.example.com "
	    "timeout"));
	assert_true(smtpd_abandoned(s));
	assert_int_equal(smtpd_feed(s, "NOOP\r\n", 6), 0);
	finish(s, &k);

	s = start(&k);
	feed(s, "HELO c\r\n", 4096);
	smtpd_shutdown(s);
	assert_non_null(strstr(k.replies.data, "421 4.3.2 "));
	assert_false(smtpd_abandoned(s));
	finish(s, &k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_every_split),
		cmocka_unit_test(test_sequence_and_syntax),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_pending_commit),
		cmocka_unit_test(test_driver_refusals),
		cmocka_unit_test(test_limits_in_data),
		cmocka_unit_test(test_eof_and_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
