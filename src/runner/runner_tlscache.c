/*
 * runner_tlscache.c - tlsmode's cache interface over the spool's
 * tls_cache rows (see runner_tlscache.h).
 *
 * Owns nothing: the spool handle is the caller's.  Mode names are the
 * tlsmode names ("implicit", "starttls"); an unknown name or a plaintext
 * mode in a row is ignored rather than trusted, so a damaged row can only
 * cause a new detection, never a downgrade.
 */
#include "config.h"

#include <string.h>

#include "base/str.h"
#include "runner/runner_tlscache.h"

static int runner_tlscache_get(void *ctx, const char *host, int port,
    struct tlsmode_entry *out, bool *found, struct err *err);
static int runner_tlscache_put(void *ctx, const char *host, int port,
    const struct tlsmode_entry *e, struct err *err);

static int
runner_tlscache_get(void *ctx, const char *host, int port,
    struct tlsmode_entry *out, bool *found, struct err *err)
{
	struct spool_tls_entry e;

	if (spool_tls_get(ctx, host, port, &e, found, err) == -1)
		return -1;
	if (!*found)
		return 0;
	if (tlsmode_from_name(e.mode, &out->mode) == -1 ||
	    out->mode == TLSMODE_NONE) {
		*found = false;
		return 0;
	}
	out->tls_seen = e.tls_seen;
	out->verified_at = e.verified_at;
	return 0;
}

static int
runner_tlscache_put(void *ctx, const char *host, int port,
    const struct tlsmode_entry *e, struct err *err)
{
	struct spool_tls_entry se;

	memset(&se, 0, sizeof(se));
	if (str_copy(se.host, sizeof(se.host), host) == -1)
		return err_set(err, ERR_CONFIG, "host name too long");
	se.port = port;
	(void)str_copy(se.mode, sizeof(se.mode), tlsmode_name(e->mode));
	se.verified_at = e->verified_at;
	se.tls_seen = e->tls_seen;
	return spool_tls_put(ctx, &se, err);
}

void
runner_tls_cache(struct spool *sp, struct tlsmode_cache *out)
{
	out->get = runner_tlscache_get;
	out->put = runner_tlscache_put;
	out->ctx = sp;
}
