/*
 * fuzz_addr.c - libFuzzer harness for the RFC 5322 address-list parser:
 * parse the input as a list, qualify it as a header field, parse it as a
 * -f value, and check each address.  Checks that a field with nothing to
 * qualify comes back byte for byte, that every qualified address has a
 * domain, and that the walk and the list agree.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "mail/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_count(void *arg, const char *addr, size_t len, size_t end)
{
	size_t *n = arg;

	if (len == 0 || strlen(addr) != len)
		abort();
	(void)end;
	(*n)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct addr_list l = { 0 };
	struct buf out;
	struct err err;
	size_t i, walked = 0;
	char *s, *sender;
	bool several;
	int count;

	if (addr_parse_list(p, size, &l) != l.n)
		abort();
	(void)addr_foreach(p, size, fuzz_count, &walked);
	if (walked != l.n)
		abort();
	for (i = 0; i < l.n; i++) {
		char *q = addr_qualify(l.v[i], "example.com");

		if (!addr_has_domain(q) || addr_domain(q) == NULL)
			abort();
		(void)addr_check_envelope(q, &err);
		if (!addr_same(q, q))
			abort();
		xfree(q);
	}
	buf_init(&out, 4 * size + 1024);
	count = addr_qualify_field(p, size, "example.com", &out, &err);
	if (count == 0 && (out.len != size || memcmp(out.data, p, size) != 0))
		abort();
	buf_free(&out);
	s = xstrndup(p, size);
	addr_parse_sender(s, &sender, &several);
	if (*sender != '\0' && l.n == 0 && strlen(s) == size)
		abort();
	xfree(sender);
	xfree(s);
	addr_list_free(&l);
	return 0;
}
