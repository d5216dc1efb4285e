/*
 * msgid.c - Message-ID generation (see msgid.h).
 *
 * RFC 5322 section 3.6.4: msg-id = "<" id-left "@" id-right ">", with a
 * dot-atom on both sides.  Owns no state.  The random part comes from
 * getrandom(2), never from the time or the pid alone, so ids cannot be
 * predicted or collide across hosts that share a name.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "base/str.h"
#include "mail/msgid.h"

/* msgid_host_ok - is h usable as the id-right dot-atom? */
static bool
msgid_host_ok(const char *h)
{
	size_t n = strlen(h), i;

	if (n == 0 || n > 255 || h[0] == '.' || h[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.' ||
			c == '_'))
			return false;
	}
	return true;
}

int
msgid_make(
    char *out, size_t size, time_t now, const char *hostname, struct err *err)
{
	unsigned char rnd[8];
	char stamp[32];
	struct tm tm;
	ssize_t got;

	do
		got = getrandom(rnd, sizeof(rnd), 0);
	while (got == -1 && errno == EINTR);
	if (got != (ssize_t)sizeof(rnd))
		return err_sys(
		    err, ERR_TEMP, "no random bytes for a Message-ID");
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
		return err_set(err, ERR_INTERNAL, "cannot format the time");
	if (str_fmt(out, size, "<%s.%02X%02X%02X%02X%02X%02X%02X%02X@%s>",
		stamp, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		rnd[7], msgid_host_ok(hostname) ? hostname : "localhost") == -1)
		return err_set(
		    err, ERR_INTERNAL, "Message-ID buffer too small");
	return 0;
}
