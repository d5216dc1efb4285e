/*
 * fuzz_hdr.c - libFuzzer harness for the header section parser and the
 * submission header policy: parse the input as a message, apply
 * prepare_headers with -t, write the section back.  Checks that the
 * output is canonical (every LF preceded by CR, no NUL added), that
 * extracted recipients pass the envelope check, and that the written
 * size matches hdr_size.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mail/prepare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check_crlf - abort on an LF not preceded by CR. */
static void
fuzz_check_crlf(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf conf;
	struct addr_list rcpts = { 0 };
	struct prepare_ctx px;
	struct hdr *h;
	struct buf out;
	struct err err;
	size_t body = 0, i;

	conf.hostname = (char *)(uintptr_t) "mx.example.com";
	conf.domain = (char *)(uintptr_t) "example.com";
	conf.hop_limit = 30;
	conf.undisclosed_recipients = size % 2 == 0;
	memset(&px, 0, sizeof(px));
	px.conf = &conf;
	px.sender = size % 3 == 0 ? "" : "me@example.com";
	px.full_name = "Fuzz \"Q\" Name";
	px.now = 1733340660;
	px.flags = PREPARE_EXTRACT;
	h = hdr_new(64 * 1024);
	if (hdr_parse(h, (const char *)data, size, &body, &err) == 0 &&
	    prepare_headers(h, &px, &rcpts, &err) == 0) {
		buf_init(&out, 1 << 22);
		if (hdr_write(h, &out, &err) == 0) {
			if (out.len != hdr_size(h) + 2)
				abort();
			fuzz_check_crlf(&out);
		}
		buf_free(&out);
		for (i = 0; i < rcpts.n; i++) {
			if (addr_check_envelope(rcpts.v[i], &err) != 0)
				abort();
		}
	}
	if (body > size)
		abort();
	addr_list_free(&rcpts);
	hdr_free(h);
	return 0;
}
