/*
 * fuzz_reply.c - libFuzzer harness for the SMTP reply parser: parse the
 * input as a stream of pipelined replies (as smtp_read does, one reply at
 * a time from the front of the buffer), and check what a parsed reply
 * promises: it used some bytes and no more than given, its code is a valid
 * SMTP code, its text is bounded and NUL-terminated, and the one-line
 * form fits.  Also feed the input through the DATA encoder and check the
 * wire form: CRLF only, no line over 998 octets, ending in ".".
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "smtp/smtp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_sink(void *ctx, const char *p, size_t n)
{
	return buf_append(ctx, p, n);
}

static void
fuzz_dot(const char *p, size_t size)
{
	struct smtp_dot d;
	struct buf w;
	size_t i, line = 0, half = size / 2;

	buf_init(&w, 4 * size + 64);
	smtp_dot_init(&d, fuzz_sink, &w);
	if (smtp_dot_feed(&d, p, half) == -1 ||
	    smtp_dot_feed(&d, p + half, size - half) == -1 ||
	    smtp_dot_end(&d) == -1)
		abort();
	for (i = 0; i < w.len; i++) {
		if (w.data[i] == '\r') {
			if (i + 1 >= w.len || w.data[i + 1] != '\n' ||
			    line > SMTP_LINE_MAX)
				abort();
			line = 0;
			i++;
			continue;
		}
		if (w.data[i] == '\n')
			abort();
		line++;
	}
	if (line != 0 || w.len < 3 || memcmp(w.data + w.len - 3, ".\r\n", 3))
		abort();
	buf_free(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct smtp_reply r;
	char line[600];
	size_t off = 0;

	smtp_reply_init(&r);
	while (off < size) {
		struct err err;
		size_t used = 0;
		int rc;

		err_clear(&err);
		rc = smtp_reply_parse(p + off, size - off, &r, &used, &err);
		if (rc != 1) {
			if (rc == -1 && err.cls != ERR_TEMP)
				abort();
			break;
		}
		if (used == 0 || used > size - off || r.code < 200 ||
		    r.code > 599 || r.nlines == 0 ||
		    r.nlines > SMTP_REPLY_LINES_MAX ||
		    r.text.len > SMTP_REPLY_MAX ||
		    (r.text.data != NULL && r.text.data[r.text.len] != '\0'))
			abort();
		if (strlen(smtp_reply_line(&r, line, sizeof(line))) >=
		    sizeof(line))
			abort();
		off += used;
	}
	smtp_reply_free(&r);
	fuzz_dot(p, size);
	return 0;
}
