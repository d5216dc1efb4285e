/*
 * tlsmode.c - the TLS attempt plan for a smarthost and the mode cache
 * decisions (see the table and the state diagram in tlsmode.h).
 *
 * Part of net, below smtp: smtp_open() asks tlsmode_lookup for a cached
 * entry, builds the plan with tlsmode_plan_build, walks it with
 * tlsmode_plan_next, and records the verified result with tlsmode_store.
 *
 * Data: none of its own; the cache is reached only through the caller's
 * struct tlsmode_cache.  Invariant: a plan never contains a plaintext try
 * unless tls = none; no transition leaves a try on a certificate or
 * network error.
 *
 * Implements: the port conventions of RFC 8314 (465 implicit TLS) and
 * RFC 6409 / RFC 3207 (587 and 25 with STARTTLS).
 *
 * Security: nothing here weakens verification; a cache entry can only
 * make a session stricter (tls_seen forbids plaintext).
 */
#include "config.h"

#include <string.h>

#include "base/str.h"
#include "net/tlsmode.h"

/* Write an unchanged entry again only after this long (seconds). */
#define TLSMODE_REFRESH 600

static void tlsmode_add_port(struct tlsmode_plan *out,
    const struct tlsmode_policy *p, int port, enum tlsmode cached);
static int tlsmode_forced_port(const struct tlsmode_policy *p);

/* tlsmode_forced_port - the port of a forced mode: the configured one,
 * else 465 (implicit), 587 (starttls) or 25 (none). */
static int
tlsmode_forced_port(const struct tlsmode_policy *p)
{
	if (p->port != 0)
		return p->port;
	switch (p->tls) {
	case CONF_TLS_IMPLICIT:
		return 465;
	case CONF_TLS_STARTTLS:
		return 587;
	case CONF_TLS_NONE:
	case CONF_TLS_AUTO:
		break;
	}
	return 25;
}

const char *
tlsmode_name(enum tlsmode m)
{
	switch (m) {
	case TLSMODE_NONE:
		return "none";
	case TLSMODE_IMPLICIT:
		return "implicit";
	case TLSMODE_STARTTLS:
		return "starttls";
	}
	return "unknown";
}

int
tlsmode_from_name(const char *s, enum tlsmode *out)
{
	if (str_eq_ci(s, "implicit"))
		*out = TLSMODE_IMPLICIT;
	else if (str_eq_ci(s, "starttls"))
		*out = TLSMODE_STARTTLS;
	else if (str_eq_ci(s, "none"))
		*out = TLSMODE_NONE;
	else
		return -1;
	return 0;
}

const char *
tlsmode_how_name(enum tlsmode_how h)
{
	switch (h) {
	case TLSMODE_HOW_IMPLICIT:
		return "implicit";
	case TLSMODE_HOW_STARTTLS:
		return "starttls";
	case TLSMODE_HOW_GREET_OR_TLS:
		return "greet-or-tls";
	case TLSMODE_HOW_PLAIN:
		return "plain";
	}
	return "unknown";
}

int
tlsmode_policy_init(struct tlsmode_policy *p, const struct conf *c,
    const struct conf_smarthost *sh, struct err *err)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->tls = sh->tls;
	p->port = sh->port;
	if (c->ntls_auto_ports > TLSMODE_MAX_PORTS)
		return err_set(err, ERR_CONFIG, "tls_auto_ports: too many");
	for (i = 0; i < c->ntls_auto_ports; i++) {
		p->ports[i].port = c->tls_auto_ports[i].port;
		p->ports[i].expect =
		    c->tls_auto_ports[i].expect == CONF_TLS_IMPLICIT
		    ? TLSMODE_IMPLICIT
		    : TLSMODE_STARTTLS;
	}
	p->nports = c->ntls_auto_ports;
	if (p->tls == CONF_TLS_AUTO && p->port == 0 && p->nports == 0)
		return err_set(err, ERR_CONFIG,
		    "smarthost %s has no port and tls_auto_ports is empty",
		    sh->host);
	return 0;
}

enum tlsmode
tlsmode_expect(const struct tlsmode_policy *p, int port)
{
	size_t i;

	for (i = 0; i < p->nports; i++)
		if (p->ports[i].port == port)
			return p->ports[i].expect;
	if (port == 25)
		return TLSMODE_STARTTLS;
	return TLSMODE_NONE;
}

int
tlsmode_lookup(const struct tlsmode_cache *cache, const char *host,
    const struct tlsmode_policy *p, struct tlsmode_entry *e, int *port,
    bool *found, struct err *err)
{
	size_t i;

	*found = false;
	*port = 0;
	if (cache == NULL || cache->get == NULL)
		return 0;
	if (p->port != 0 || p->tls != CONF_TLS_AUTO) {
		*port = tlsmode_forced_port(p);
		return cache->get(cache->ctx, host, *port, e, found, err);
	}
	for (i = 0; i < p->nports; i++) {
		if (cache->get(cache->ctx, host, p->ports[i].port, e, found,
			err) == -1)
			return -1;
		if (*found) {
			*port = p->ports[i].port;
			return 0;
		}
	}
	return 0;
}

/* tlsmode_add_port - the detection tries of one port under tls = auto:
 * the first as the convention (or the cached mode) says, then STARTTLS
 * with a full greeting wait when the first met plaintext. */
static void
tlsmode_add_port(struct tlsmode_plan *out, const struct tlsmode_policy *p,
    int port, enum tlsmode cached)
{
	struct tlsmode_try *first = &out->t[out->n];
	struct tlsmode_try *second = &out->t[out->n + 1];
	enum tlsmode want =
	    cached != TLSMODE_NONE ? cached : tlsmode_expect(p, port);

	first->port = port;
	first->how = want == TLSMODE_STARTTLS ? TLSMODE_HOW_GREET_OR_TLS
					      : TLSMODE_HOW_IMPLICIT;
	first->on_plaintext = (int)out->n + 1;
	first->on_unreachable = -1;
	second->port = port;
	second->how = TLSMODE_HOW_STARTTLS;
	second->on_plaintext = -1;
	second->on_unreachable = -1;
	out->n += 2;
}

static void
tlsmode_plan_forced(const struct tlsmode_policy *p, struct tlsmode_plan *out)
{
	struct tlsmode_try *t = &out->t[0];

	t->on_plaintext = -1;
	t->on_unreachable = -1;
	t->port = tlsmode_forced_port(p);
	t->how = p->tls == CONF_TLS_IMPLICIT ? TLSMODE_HOW_IMPLICIT
	    : p->tls == CONF_TLS_STARTTLS    ? TLSMODE_HOW_STARTTLS
					     : TLSMODE_HOW_PLAIN;
	out->n = 1;
}

void
tlsmode_plan_build(const struct tlsmode_policy *p,
    const struct tlsmode_entry *cached, int cached_port,
    struct tlsmode_plan *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (cached != NULL) {
		out->cached = *cached;
		out->cached_port = cached_port;
		out->tls_seen =
		    cached->tls_seen || cached->mode != TLSMODE_NONE;
	}
	if (p->tls != CONF_TLS_AUTO) {
		tlsmode_plan_forced(p, out);
		return;
	}
	if (cached != NULL && cached->mode != TLSMODE_NONE) {
		/* Cached: that port and mode directly; one re-detection on
		 * a mode-shaped failure, never another port. */
		out->from_cache = true;
		tlsmode_add_port(out, p, cached_port, cached->mode);
		return;
	}
	if (p->port != 0) {
		tlsmode_add_port(out, p, p->port, TLSMODE_NONE);
		return;
	}
	for (i = 0; i < p->nports && out->n + 2 <= TLSMODE_MAX_TRIES; i++) {
		size_t first = out->n;

		tlsmode_add_port(out, p, p->ports[i].port, TLSMODE_NONE);
		if (i + 1 < p->nports)
			out->t[first].on_unreachable = (int)out->n;
	}
}

int
tlsmode_plan_next(const struct tlsmode_plan *plan, int i, enum tlsmode_result r)
{
	if (i < 0 || (size_t)i >= plan->n)
		return -1;
	switch (r) {
	case TLSMODE_R_PLAINTEXT:
		return plan->t[i].on_plaintext;
	case TLSMODE_R_UNREACHABLE:
		return plan->t[i].on_unreachable;
	case TLSMODE_R_OK:
	case TLSMODE_R_OTHER:
		break;
	}
	return -1;
}

bool
tlsmode_should_store(
    const struct tlsmode_plan *plan, int port, enum tlsmode mode, time_t now)
{
	if (mode == TLSMODE_NONE)
		return false;
	if (!plan->from_cache && plan->cached_port == 0)
		return true;
	if (plan->cached_port != port || plan->cached.mode != mode ||
	    !plan->cached.tls_seen)
		return true;
	return now - plan->cached.verified_at >= TLSMODE_REFRESH ||
	    now < plan->cached.verified_at;
}

int
tlsmode_store(const struct tlsmode_cache *cache, const char *host,
    const struct tlsmode_plan *plan, int port, enum tlsmode mode, bool *stored,
    struct err *err)
{
	struct tlsmode_entry e;
	time_t now = time(NULL);

	if (stored != NULL)
		*stored = false;
	if (cache == NULL || cache->put == NULL ||
	    !tlsmode_should_store(plan, port, mode, now))
		return 0;
	memset(&e, 0, sizeof(e));
	e.mode = mode;
	e.tls_seen = true;
	e.verified_at = now;
	if (cache->put(cache->ctx, host, port, &e, err) == -1)
		return -1;
	if (stored != NULL)
		*stored = true;
	return 0;
}
