/*
 * prepare.h - the header policy for locally submitted mail (SENDMAIL.md
 * section 1.4 items 2, 4 and 5), shared by every local submission path
 * (sendmail's command line now; "sendmail -bs" and the loopback listener
 * later).
 *
 * prepare_headers() applies, in this order:
 *   1. loop check: more Received fields than hop_limit is refused;
 *   2. -t: recipients from To/Cc/Bcc, or only from Resent-To/Cc/Bcc when
 *      any of those exists, qualified, checked and added (deduplicated);
 *   3. Bcc, Resent-Bcc, Return-Path and Content-Length are removed;
 *   4. unqualified addresses in From, Sender, Reply-To, To, Cc and their
 *      Resent- forms get "@domain" (display names and comments kept);
 *   5. Message-ID, Date and From are appended when missing, or their
 *      Resent- forms when any Resent- field is present;
 *   6. with undisclosed_recipients, "To: undisclosed-recipients:;" is
 *      appended when there is no To, Cc, Resent-To or Resent-Cc.
 * No Received field is added here: relayd prepends its own when it
 * commits the message (it knows the queue id and the verified uid).
 */
#ifndef RELAY_PREPARE_H
#define RELAY_PREPARE_H

#include <stddef.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/addr.h"
#include "mail/conf.h"
#include "mail/hdr.h"

enum prepare_flags {
	PREPARE_EXTRACT = 1 << 0, /* -t: add the header recipients */
	PREPARE_NO_QUALIFY = 1 << 1, /* -G: leave header addresses alone */
};

struct prepare_ctx {
	const struct conf *conf; /* domain, hostname, hop_limit, knobs */
	const char *sender; /* envelope sender, qualified; "" = null */
	const char *full_name; /* for a generated From; NULL/"": none */
	time_t now;
	int flags;
};

/* prepare_headers - apply the policy above to h.  With PREPARE_EXTRACT
 * the header recipients are appended to rcpts (unless already there).
 * Errors: ERR_PERM with smtp_code 554 (hop limit), 553 (a bad header
 * address under -t; err->msg names the field) or 552 (too many
 * recipients, header section too large); ERR_TEMP when no random bytes
 * are available for a Message-ID. */
int prepare_headers(struct hdr *h, const struct prepare_ctx *px,
    struct addr_list *rcpts, struct err *err);

/* prepare_check_hops - ERR_PERM (554) when h has more than limit
 * Received fields. */
int prepare_check_hops(const struct hdr *h, int limit, struct err *err);

/* prepare_extract - the -t step alone (see above); rcpts holds at most
 * SUBPROTO_MAX_RCPTS addresses. */
int prepare_extract(const struct hdr *h, const char *domain,
    struct addr_list *rcpts, struct err *err);

/* prepare_qualify - the qualification step alone; returns the number of
 * fields changed, or -1. */
int prepare_qualify(struct hdr *h, const char *domain, struct err *err);

/* prepare_date - the Date value for t in Postfix's layout, local time:
 * "Wed,  4 Dec 2024 19:31:00 +0000 (UTC)".  -1 if size is too small. */
int prepare_date(time_t t, char *out, size_t size);

/* prepare_from - append a generated From value to out: "Full Name
 * <sender>" (the phrase quoted when it has specials; control characters
 * dropped), just "sender" without a name, or "MAILER-DAEMON@domain" for
 * the null sender.  -1 when out is full. */
int prepare_from(const char *full_name, const char *sender, const char *domain,
    struct buf *out);

#endif
