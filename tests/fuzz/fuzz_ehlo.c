/*
 * fuzz_ehlo.c - libFuzzer harness for the EHLO capability parser: the
 * input is parsed as a reply, or, when it is not one, each of its lines
 * becomes a "250-" line of an EHLO reply, so the keyword parser sees
 * arbitrary keywords and parameters.  Checks that every string in the
 * capabilities is NUL-terminated inside its array, that mechanisms are
 * only the known ones and that flags without AUTH carry no mechanism.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "smtp/smtp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check(const struct smtp_caps *c)
{
	unsigned known = SMTP_MECH_PLAIN | SMTP_MECH_LOGIN |
	    SMTP_MECH_CRAM_MD5 | SMTP_MECH_XOAUTH2;

	if (memchr(c->domain, '\0', sizeof(c->domain)) == NULL ||
	    memchr(c->keywords, '\0', sizeof(c->keywords)) == NULL ||
	    memchr(c->auth_list, '\0', sizeof(c->auth_list)) == NULL)
		abort();
	if ((c->mechs & ~known) != 0)
		abort();
	if (c->mechs != 0 && !(c->flags & SMTP_CAP_AUTH))
		abort();
	if (c->size_max != 0 && !(c->flags & SMTP_CAP_SIZE))
		abort();
}

/* fuzz_wrap - "250-" before each line of the input, "250 " before the
 * last, CRLF endings; CR, LF and NUL inside lines are dropped. */
static void
fuzz_wrap(const char *p, size_t size, struct buf *out)
{
	size_t i = 0;

	(void)buf_puts(out, "250-fuzz.example greets you\r\n");
	while (i < size) {
		const char *nl = memchr(p + i, '\n', size - i);
		size_t end = nl != NULL ? (size_t)(nl - p) : size, k;
		bool last = nl == NULL || end + 1 >= size;

		(void)buf_puts(out, last ? "250 " : "250-");
		for (k = i; k < end; k++)
			if (p[k] != '\r' && p[k] != '\0')
				(void)buf_putc(out, p[k]);
		(void)buf_puts(out, "\r\n");
		i = end + 1;
	}
	if (size == 0)
		(void)buf_puts(out, "250 OK\r\n");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct smtp_reply r;
	struct smtp_caps caps;
	struct err err;
	struct buf wrapped;
	size_t used;

	smtp_reply_init(&r);
	err_clear(&err);
	if (smtp_reply_parse(p, size, &r, &used, &err) == 1) {
		smtp_ehlo_parse(&r, &caps);
		fuzz_check(&caps);
	}
	buf_init(&wrapped, 2 * size + 256);
	fuzz_wrap(p, size, &wrapped);
	err_clear(&err);
	if (smtp_reply_parse(wrapped.data, wrapped.len, &r, &used, &err) == 1) {
		smtp_ehlo_parse(&r, &caps);
		fuzz_check(&caps);
		if (r.code != 250)
			abort();
	}
	buf_free(&wrapped);
	smtp_reply_free(&r);
	return 0;
}
