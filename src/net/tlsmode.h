/*
 * tlsmode.h - implicit TLS or STARTTLS: which one to try, in what order,
 * and the cache of what worked per host:port.
 *
 * net and smtp never touch the spool.  The cache is an interface: a
 * struct tlsmode_cache of two function pointers and a context, which the
 * runner, relayctl probe and the test helper wire to spool_tls_get/put.
 * A NULL cache means "no cache" (first contact every time).
 *
 * tls = auto (the default): implicit TLS or STARTTLS, always verified,
 * never plaintext.
 *   - Port conventions (conf tls_auto_ports, default 465:implicit and
 *     587:starttls; 25 expects STARTTLS unless listed otherwise).  A port
 *     without a convention is detected: the ClientHello is sent at once
 *     and a plaintext "220" makes the handshake fail at once.
 *   - No port: the tls_auto_ports are tried in order (465, then 587); the
 *     next port is tried only when one is unreachable.
 *   - Where implicit TLS is expected (or unknown): ClientHello at once
 *     (TLSMODE_HOW_IMPLICIT); a plaintext answer -> reconnect with STARTTLS.
 *   - Where STARTTLS is expected: wait greeting_wait for the greeting
 *     (TLSMODE_HOW_GREET_OR_TLS); "220" -> EHLO, STARTTLS; silence ->
 *     ClientHello on the same connection.
 *
 * The attempt plan is data (tlsmode_plan_build), one row per connection:
 *
 *   situation                     tries (-> on plaintext, => on unreachable)
 *   ----------------------------  ---------------------------------------
 *   auto, port P, implicit/none   [P IMPLICIT] -> [P STARTTLS]
 *   auto, port P, starttls conv.  [P GREET_OR_TLS] -> [P STARTTLS]
 *   auto, no port                 per tls_auto_ports entry as above,
 *                                 first try => next entry's first try
 *   auto, cached P implicit       [P IMPLICIT] -> [P STARTTLS] (re-detect)
 *   auto, cached P starttls       [P GREET_OR_TLS] -> [P STARTTLS]
 *                                 (silence: TLS on the same connection)
 *   implicit (forced)             [P|465 IMPLICIT]
 *   starttls (forced)             [P|587 STARTTLS]
 *   none (forced)                 [P|25 PLAIN]
 *
 * Only mode-shaped failures move along "->" (plaintext where TLS was
 * expected; silence where a greeting was expected is handled inside
 * GREET_OR_TLS on the same connection).  Network errors never re-detect;
 * certificate errors never switch modes.  "STARTTLS not offered" is
 * mode-shaped too, but on a host seen with TLS (tls_seen) the only thing
 * left to find is plaintext, which such a host never gets: it ends the
 * plan as downgrade_suspected.
 *
 * Cache lifecycle (per host:port; who performs each transition):
 *
 *            smtp_open: verified session, AUTH ok        relayctl tls forget
 *   (absent) ----------------------------------> CACHED ------------------> (absent)
 *                     tlsmode_store                |  ^      spool_tls_forget
 *                                                  |  | smtp_open: re-detected
 *          smtp_open: plan from the entry          |  | mode, verified -> tlsmode_store
 *          (tlsmode_lookup)                        v  |
 *                                             USED DIRECTLY --- cert error,
 *                                                               network error,
 *                                                               downgrade: entry
 *                                                               kept unchanged
 *
 * An entry is written only after a verified, successful session (TLS
 * verified, EHLO and, when configured, AUTH accepted); never for
 * tls = none.  It keeps tls_seen forever (until forgotten), so a host once
 * seen with TLS is never used without it, not even with tls = none.
 */
#ifndef RELAY_TLSMODE_H
#define RELAY_TLSMODE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/err.h"
#include "mail/conf.h"

enum tlsmode {
	TLSMODE_NONE = 0, /* plaintext (tls = none only) */
	TLSMODE_IMPLICIT, /* TLS from the first byte (RFC 8314) */
	TLSMODE_STARTTLS, /* plaintext greeting, then STARTTLS (RFC 3207) */
};

/* tlsmode_name - "none", "implicit", "starttls". */
const char *tlsmode_name(enum tlsmode m);

/* tlsmode_from_name - parse a name; 0, or -1 if unknown. */
int tlsmode_from_name(const char *s, enum tlsmode *out);

/* --- the cache interface ------------------------------------------------- */

struct tlsmode_entry {
	enum tlsmode mode; /* TLSMODE_IMPLICIT or TLSMODE_STARTTLS */
	bool tls_seen; /* this host:port was seen with TLS */
	time_t verified_at; /* last verified, successful session */
};

struct tlsmode_cache {
	/* get - 0 with *found set (out filled when found), or -1 + err. */
	int (*get)(void *ctx, const char *host, int port,
	    struct tlsmode_entry *out, bool *found, struct err *err);
	/* put - insert or replace; 0, or -1 + err. */
	int (*put)(void *ctx, const char *host, int port,
	    const struct tlsmode_entry *e, struct err *err);
	void *ctx;
};

/* --- port conventions and the attempt plan -------------------------------- */

#define TLSMODE_MAX_PORTS 8
#define TLSMODE_MAX_TRIES (2 * TLSMODE_MAX_PORTS)

struct tlsmode_port {
	int port;
	enum tlsmode expect; /* TLSMODE_IMPLICIT or TLSMODE_STARTTLS */
};

struct tlsmode_policy {
	enum conf_tls tls; /* the smarthost's tls setting */
	int port; /* 0: not set */
	struct tlsmode_port ports[TLSMODE_MAX_PORTS]; /* tls_auto_ports */
	size_t nports;
};

/* tlsmode_policy_init - from the configuration: tls, port and the
 * tls_auto_ports table.  A malformed table entry is ERR_CONFIG. */
int tlsmode_policy_init(struct tlsmode_policy *p, const struct conf *c,
    const struct conf_smarthost *sh, struct err *err);

/* tlsmode_expect - what port is expected to speak: TLSMODE_IMPLICIT,
 * TLSMODE_STARTTLS, or TLSMODE_NONE when it has no convention. */
enum tlsmode tlsmode_expect(const struct tlsmode_policy *p, int port);

enum tlsmode_how {
	TLSMODE_HOW_IMPLICIT, /* ClientHello at once */
	TLSMODE_HOW_STARTTLS, /* wait for the greeting, EHLO, STARTTLS */
	TLSMODE_HOW_GREET_OR_TLS, /* greeting_wait: 220 -> STARTTLS,
				     silence -> ClientHello, same conn */
	TLSMODE_HOW_PLAIN, /* tls = none */
};

/* tlsmode_how_name - "implicit", "starttls", "greet-or-tls", "plain". */
const char *tlsmode_how_name(enum tlsmode_how h);

/* How one try ended, as far as the plan cares. */
enum tlsmode_result {
	TLSMODE_R_OK = 0,
	TLSMODE_R_PLAINTEXT, /* plaintext where TLS was expected */
	TLSMODE_R_UNREACHABLE, /* connect refused or timed out */
	TLSMODE_R_OTHER, /* anything else: the plan ends */
};

struct tlsmode_try {
	int port;
	enum tlsmode_how how;
	int on_plaintext; /* index of the next try, -1: stop */
	int on_unreachable; /* index of the next try, -1: stop */
};

struct tlsmode_plan {
	struct tlsmode_try t[TLSMODE_MAX_TRIES];
	size_t n;
	bool from_cache; /* t[0] comes from a cached entry */
	bool tls_seen; /* the cache saw TLS on this host */
	struct tlsmode_entry cached; /* valid when from_cache */
	int cached_port;
};

/* tlsmode_lookup - the cached entry that applies to p: host:port, or with
 * no port the first tls_auto_ports entry found.  OUT *e, *port, *found.
 * A NULL cache is "not found".  0, or -1 + err from the cache. */
int tlsmode_lookup(const struct tlsmode_cache *cache, const char *host,
    const struct tlsmode_policy *p, struct tlsmode_entry *e, int *port,
    bool *found, struct err *err);

/* tlsmode_plan_build - the tries for p, given the cached entry for
 * cached_port (NULL: none).  Never fails. */
void tlsmode_plan_build(const struct tlsmode_policy *p,
    const struct tlsmode_entry *cached, int cached_port,
    struct tlsmode_plan *out);

/* tlsmode_plan_next - the try after try i ended with r: an index, or -1
 * to stop (success, or a failure that must not change the mode). */
int tlsmode_plan_next(
    const struct tlsmode_plan *plan, int i, enum tlsmode_result r);

/* tlsmode_should_store - after a verified session in mode on port: does
 * the cache need writing (new, changed, or last written long ago)? */
bool tlsmode_should_store(
    const struct tlsmode_plan *plan, int port, enum tlsmode mode, time_t now);

/* tlsmode_store - write host:port = mode (tls_seen, verified now) if
 * tlsmode_should_store says so.  NULL cache or TLSMODE_NONE: nothing.
 * OUT *stored (may be NULL).  0, or -1 + err from the cache. */
int tlsmode_store(const struct tlsmode_cache *cache, const char *host,
    const struct tlsmode_plan *plan, int port, enum tlsmode mode, bool *stored,
    struct err *err);

#endif
