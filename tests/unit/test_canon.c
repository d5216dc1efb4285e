/*
 * test_canon.c - canonical form of sendmail's input: bare CR, bare LF,
 * CRLF and CR runs, the lone dot with and without -i (also ".\r" and at
 * EOF), no unstuffing, no trailing newline, NUL removal, the leading
 * From_ line, and a 1 MB line returned in bounded pieces.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "mail/canon.h"

struct result {
	struct buf out; /* pieces, CRLF after each line */
	size_t pieces, max_piece;
	uint64_t nuls;
	bool dot, from;
};

/* run - feed in[0..n) through a canon reader (via a temporary file). */
static void
run(const char *in, size_t n, int flags, struct result *r)
{
	FILE *f = tmpfile();
	struct canon *c;
	struct canon_piece pc;
	struct err err;
	bool at_bol = true;
	int rc;

	assert_non_null(f);
	assert_int_equal(fwrite(in, 1, n, f), n);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(lseek(fileno(f), 0, SEEK_SET), 0);
	memset(r, 0, sizeof(*r));
	buf_init(&r->out, 4 * 1024 * 1024);
	c = canon_new(fileno(f), flags);
	while ((rc = canon_next(c, &pc, &err)) == 1) {
		assert_int_equal(pc.bol, at_bol);
		assert_null(memchr(pc.p, '\r', pc.n));
		assert_null(memchr(pc.p, '\n', pc.n));
		assert_null(memchr(pc.p, '\0', pc.n));
		assert_true(pc.n <= CANON_PIECE_MAX);
		assert_int_equal(buf_append(&r->out, pc.p, pc.n), 0);
		if (pc.eol)
			assert_int_equal(buf_append(&r->out, "\r\n", 2), 0);
		at_bol = pc.eol;
		r->pieces++;
		if (pc.n > r->max_piece)
			r->max_piece = pc.n;
	}
	assert_int_equal(rc, 0);
	assert_true(at_bol); /* the last line was completed */
	assert_int_equal(canon_next(c, &pc, &err), 0); /* stays ended */
	r->nuls = canon_nul_count(c);
	r->dot = canon_ended_by_dot(c);
	r->from = canon_dropped_from_line(c);
	canon_free(c);
	assert_int_equal(fclose(f), 0);
}

static void
expect(const char *in, size_t n, int flags, const char *want)
{
	struct result r;

	run(in, n, flags, &r);
	assert_int_equal(r.out.len, strlen(want));
	assert_memory_equal(r.out.data, want, r.out.len);
	buf_free(&r.out);
}

#define EXPECT(in, flags, want) expect(in, sizeof(in) - 1, flags, want)
#define RUN(in, flags, r) run(in, sizeof(in) - 1, flags, r)

static void
test_line_endings(void **state)
{
	(void)state;
	EXPECT("a\nb\r\nc\rd\r\r\ne", 0, "a\r\nb\r\nc\r\nd\r\ne\r\n");
	EXPECT("a\r\r\r\r\nb\r\n", 0, "a\r\nb\r\n");
	/* every bare CR ends a line; a CR run before LF ends one */
	EXPECT("a\r\rb", 0, "a\r\n\r\nb\r\n");
	EXPECT("a\r", 0, "a\r\n");
	EXPECT("\n\n", 0, "\r\n\r\n");
	EXPECT("", 0, "");
	EXPECT("x", 0, "x\r\n");
	/* LF CR: the CR is a line end of its own */
	EXPECT("a\n\rb\n", 0, "a\r\n\r\nb\r\n");
}

static void
test_lone_dot(void **state)
{
	struct result r;

	(void)state;
	RUN("a\n.\nb\n", 0, &r);
	assert_string_equal(r.out.data, "a\r\n");
	assert_true(r.dot);
	buf_free(&r.out);
	EXPECT("a\n.\r\nb\n", 0, "a\r\n");
	EXPECT("a\n.\rb\n", 0, "a\r\n");
	EXPECT("a\n.\r\r\r\nb\n", 0, "a\r\n");
	EXPECT("a\n.", 0, "a\r\n");
	EXPECT(".\n", 0, "");
	/* -i / -oi: the dot is data */
	EXPECT("a\n.\nb\n", CANON_IGNORE_DOTS, "a\r\n.\r\nb\r\n");
	EXPECT("a\n.\r\nb", CANON_IGNORE_DOTS, "a\r\n.\r\nb\r\n");
	/* no unstuffing, and only a lone dot counts */
	EXPECT("..x\n..\n.x\n x\n", 0, "..x\r\n..\r\n.x\r\n x\r\n");
	RUN("a\nb\n", 0, &r);
	assert_false(r.dot);
	buf_free(&r.out);
}

static void
test_nul(void **state)
{
	struct result r;
	static const char in[] = "a\0b\n\0\0c\r\0\nd\0";

	(void)state;
	run(in, sizeof(in) - 1, 0, &r);
	assert_string_equal(r.out.data, "ab\r\nc\r\nd\r\n");
	assert_int_equal(r.nuls, 5);
	buf_free(&r.out);
}

static void
test_from_line(void **state)
{
	struct result r;

	(void)state;
	RUN("From alice Wed Dec  4 19:31:00 2024\nSubject: x\n\nbody\n", 0, &r);
	assert_string_equal(r.out.data, "Subject: x\r\n\r\nbody\r\n");
	assert_true(r.from);
	buf_free(&r.out);
	EXPECT(">From x\nb\n", 0, "b\r\n");
	/* only the first line */
	EXPECT("a\nFrom b\n", 0, "a\r\nFrom b\r\n");
	EXPECT("From:x\n", 0, "From:x\r\n");
	EXPECT("Fro\n", 0, "Fro\r\n");
}

static void
test_long_line(void **state)
{
	size_t n = 1024 * 1024 + 7, i;
	char *in = xmalloc(n + 3);
	struct result r;

	(void)state;
	for (i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	memcpy(in + n, "\nz", 2);
	run(in, n + 2, 0, &r);
	assert_int_equal(r.out.len, n + 2 + 3);
	assert_memory_equal(r.out.data, in, n);
	assert_memory_equal(r.out.data + n, "\r\nz\r\n", 5);
	assert_true(r.max_piece <= CANON_PIECE_MAX);
	assert_true(r.pieces >= n / CANON_PIECE_MAX + 1);
	buf_free(&r.out);
	/* a long From_ first line is dropped whole */
	memcpy(in, "From ", 5);
	run(in, n + 2, 0, &r);
	assert_string_equal(r.out.data, "z\r\n");
	buf_free(&r.out);
	xfree(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_lone_dot),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_from_line),
		cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
