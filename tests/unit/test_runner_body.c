/*
 * test_runner_body.c - a submission's body store and its replay: small
 * bodies stay in memory, large ones move to an unlinked temp file (none
 * visible in the directory), Received: fields are counted across chunk
 * boundaries only in the header section, the replay puts relayd's
 * Received: header in front of the exact body, and a replay without a
 * queue id fails.  Also the submission object: a full stream becomes
 * READY, trailing garbage and an oversized envelope are refused.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "mail/conf.h"
#include "runner/runner_body.h"
#include "runner/runner_intake.h"

static char tmpdir[] = "/tmp/relay-body-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

static size_t
dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	assert_int_equal(closedir(d), 0);
	return n;
}

/* replay_all - the whole replay, read in odd-sized pieces. */
static void
replay_all(struct runner_replay *rp, struct buf *out)
{
	char piece[777];
	struct err err;
	ssize_t r;

	while ((r = runner_replay_read(rp, piece, sizeof(piece), &err)) > 0)
		assert_int_equal(buf_append(out, piece, (size_t)r), 0);
	assert_int_equal(r, 0);
}

static void
test_small_in_memory(void **state)
{
	static const char msg[] = "Subject: x\r\n\r\nhello\r\n";
	struct runner_body b;
	struct runner_replay rp;
	struct buf out;
	struct err err;
	const char *qid = "0ABCDEFGHIJKLM";

	(void)state;
	runner_body_init(&b, tmpdir);
	assert_int_equal(runner_body_append(&b, msg, strlen(msg), &err), 0);
	assert_false(runner_body_in_file(&b));
	assert_int_equal(runner_body_mem_total(), strlen(msg));
	runner_replay_init(&rp, &b, "host.example", 1000, 0, qid);
	buf_init(&out, 1 << 20);
	replay_all(&rp, &out);
	assert_true(strncmp(out.data,
			"Received: by host.example (relay, from userid 1000)"
			"\r\n\tid 0ABCDEFGHIJKLM; ",
			70) == 0);
	assert_int_equal(
	    memcmp(out.data + out.len - strlen(msg), msg, strlen(msg)), 0);
	assert_string_equal(strstr(out.data, "\r\nSubject"),
	    "\r\nSubject: x"
	    "\r\n\r\nhello\r\n");
	runner_replay_free(&rp);
	buf_free(&out);
	runner_body_free(&b);
	assert_int_equal(runner_body_mem_total(), 0);
}

static void
test_large_in_file(void **state)
{
	struct runner_body b;
	struct runner_replay rp;
	struct buf out;
	struct err err;
	char *chunk = xmalloc(100000);
	size_t i;

	(void)state;
	for (i = 0; i < 100000; i++)
		chunk[i] = (char)('a' + i % 26);
	runner_body_init(&b, tmpdir);
	for (i = 0; i < 5; i++)
		assert_int_equal(
		    runner_body_append(&b, chunk, 100000, &err), 0);
	assert_true(runner_body_in_file(&b));
	assert_int_equal(b.size, 500000);
	assert_int_equal(runner_body_mem_total(), 0);
	assert_int_equal(dir_entries(), 0); /* unlinked from the start */
	runner_replay_init(&rp, &b, "h", 0, 0, "0ABCDEFGHIJKLM");
	buf_init(&out, 1 << 20);
	replay_all(&rp, &out);
	assert_true(out.len > 500000);
	for (i = 0; i < 5; i++)
		assert_int_equal(
		    memcmp(out.data + out.len - 500000 + i * 100000, chunk,
			100000),
		    0);
	runner_replay_free(&rp);
	buf_free(&out);
	runner_body_free(&b);
	xfree(chunk);
}

static void
test_hop_count(void **state)
{
	static const char msg[] =
	    "Received: one\r\nreceived: two\r\nX-Received: no\r\n"
	    "Subject: Received: no\r\nRECEIVED:three\r\n\r\n"
	    "Received: in the body\r\n";
	struct runner_body b;
	struct err err;
	size_t i;

	(void)state;
	runner_body_init(&b, tmpdir);
	for (i = 0; i < strlen(msg); i++) /* one byte at a time */
		assert_int_equal(runner_body_append(&b, msg + i, 1, &err), 0);
	assert_int_equal(b.received, 3);
	assert_true(b.hdr_done);
	runner_body_free(&b);

	runner_body_init(&b, tmpdir);
	assert_int_equal(
	    runner_body_append(&b, "Received: a\n\nReceived: b\n", 25, &err),
	    0);
	assert_int_equal(b.received, 1);
	runner_body_free(&b);
}

static void
test_replay_needs_qid(void **state)
{
	struct runner_body b;
	struct runner_replay rp;
	struct err err;
	char piece[64];
	char qid[16] = "";

	(void)state;
	runner_body_init(&b, tmpdir);
	runner_replay_init(&rp, &b, "h", 0, 0, qid);
	err_clear(&err);
	assert_int_equal(
	    runner_replay_read(&rp, piece, sizeof(piece), &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	runner_replay_free(&rp);
	runner_body_free(&b);
}

static void
test_sub_states(void **state)
{
	static const char stream[] = "RELAY-SUBMIT 1\nFROM a@b\nRCPT c@d\n"
				     "DATA\n5\nx\r\ny\n0\n";
	struct conf c;
	struct runner_sub *s;
	size_t used;
	char *big;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.max_message_size = 1000;
	c.spool_dir = tmpdir;
	s = runner_sub_new(&c, 42);
	assert_int_equal(runner_sub_feed(s, stream, strlen(stream), &used),
	    RUNNER_SUB_READY);
	assert_int_equal(used, strlen(stream));
	assert_string_equal(runner_sub_env(s)->rcpts[0], "c@d");
	assert_int_equal(s->body.size, 5);
	assert_int_equal(s->uid, 42);
	runner_sub_free(s);

	s = runner_sub_new(&c, 42);
	assert_int_equal(
	    runner_sub_feed(s, "BOGUS\n", 6, &used), RUNNER_SUB_FAILED);
	assert_int_equal(s->code, 554);
	assert_non_null(strstr(s->reply, "554 5.6.0 malformed"));
	runner_sub_free(s);

	/* an endless envelope is cut off */
	big = xmalloc(RUNNER_MAX_ENVELOPE + 100000);
	memcpy(big, "RELAY-SUBMIT 1\nFROM a@b\n", 24);
	for (used = 24; used + 900 < RUNNER_MAX_ENVELOPE + 100000;
	     used += 900) {
		/* "RCPT aaa...a@x.yz\n", 900 bytes */
		memcpy(big + used, "RCPT ", 5);
		memset(big + used + 5, 'a', 889);
		memcpy(big + used + 894, "@x.yz\n", 6);
	}
	s = runner_sub_new(&c, 1);
	{
		size_t off = 0, u;

		while (off < used &&
		    runner_sub_feed(s, big + off,
			65536 < used - off ? 65536 : used - off,
			&u) == RUNNER_SUB_READING)
			off += u;
	}
	assert_int_equal(s->state, RUNNER_SUB_FAILED);
	assert_int_equal(s->code, 552);
	runner_sub_free(s);
	xfree(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_in_memory),
		cmocka_unit_test(test_large_in_file),
		cmocka_unit_test(test_hop_count),
		cmocka_unit_test(test_replay_needs_qid),
		cmocka_unit_test(test_sub_states),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
