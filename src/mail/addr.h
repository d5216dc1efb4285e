/*
 * addr.h - RFC 5322 address lists: parse them into addr-specs, qualify
 * unqualified addresses (also inside header fields, keeping display names
 * and comments), check an address for use in the envelope, deduplicate.
 *
 * Addresses are C strings in their external form ("user@example.com",
 * "\"odd user\"@example.com"); "" is the null sender.  The parser is
 * lenient like the reference MTAs (an unterminated quote, comment or
 * angle bracket ends at the end of the input) and never fails; what it
 * returns is checked strictly by addr_check_envelope() before it is used
 * in an envelope.
 */
#ifndef RELAY_ADDR_H
#define RELAY_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Longest envelope address accepted (local part, '@', domain). */
#define ADDR_MAX_LEN 512
/* Longest domain accepted (RFC 5321 section 4.5.3.1.2). */
#define ADDR_MAX_DOMAIN 255

/* A growable list of owned address strings. Zero-initialise before use. */
struct addr_list {
	char **v;
	size_t n;
};

/* addr_list_free - free every string and the array; the list is empty
 * (and reusable) afterwards.  NULL is a no-op. */
void addr_list_free(struct addr_list *l);

/* addr_list_contains - is an address addr_same() as a in the list? */
bool addr_list_contains(const struct addr_list *l, const char *a);

/* addr_list_add_unique - append a copy of a unless the list already holds
 * the same address.  Returns true when it was appended. */
bool addr_list_add_unique(struct addr_list *l, const char *a);

/* addr_same - same address?  The local part is compared exactly, the
 * domain ignoring ASCII case (RFC 5321 section 2.4). */
bool addr_same(const char *a, const char *b);

/* addr_found_cb - receives one addr-spec: addr[0..len) (NUL-terminated,
 * borrowed until the callback returns) and end, the offset in the parsed
 * input just past the addr-spec's last token.  Returns 0 to go on, -1 to
 * stop the walk. */
typedef int (*addr_found_cb)(
    void *arg, const char *addr, size_t len, size_t end);

/* addr_foreach - the streaming form of addr_parse_list: call cb for each
 * addr-spec of p[0..n) in order.  Memory stays one address long whatever
 * the input size.  Returns 0, or -1 when cb stopped the walk. */
int addr_foreach(const char *p, size_t n, addr_found_cb cb, void *arg);

/* addr_parse_list - parse the address-list p[0..n) (a header field value
 * or one argv element; folded lines and comments allowed) and append
 * every addr-spec found to out, in order, as new strings.  Group members
 * are extracted ("name: a, b;"), an empty group and "<>" give nothing,
 * "Name <a@b>" gives "a@b", a source route "<@x,@y:a@b>" gives "a@b".
 * Words separated only by white space outside angle brackets are
 * separate addresses (sendmail 8).  Returns the number appended. */
size_t addr_parse_list(const char *p, size_t n, struct addr_list *out);

/* addr_parse_sender - parse a -f/-r value: the first address of the list;
 * "" and "<>" (or a list with no address) give the null sender "".
 * OUT: *out a new string (caller frees); *several true when the value
 * held more than one address (the caller warns).  Never fails. */
void addr_parse_sender(const char *s, char **out, bool *several);

/* addr_has_domain - does a contain an '@' outside quoted strings? */
bool addr_has_domain(const char *a);

/* addr_domain - the domain part of a (after its last unquoted '@'), or
 * NULL when a has none.  Borrowed from a. */
const char *addr_domain(const char *a);

/* addr_qualify - a new copy of a with "@domain" appended when a has no
 * domain; "" (the null sender) stays "".  Caller frees. */
char *addr_qualify(const char *a, const char *domain);

/* addr_qualify_field - rewrite a header field value p[0..n), appending
 * "@domain" to every addr-spec that has none.  Everything else (display
 * names, comments, folding, groups) is copied byte for byte.  The result
 * is appended to out.  Returns the number of addresses qualified (0: out
 * holds an identical copy), or -1 (ERR_PERM) when out would grow past
 * its maximum. */
int addr_qualify_field(const char *p, size_t n, const char *domain,
    struct buf *out, struct err *err);

/* addr_check_envelope - may a (already qualified) be used as an envelope
 * address?  It must be local@domain with a dot-atom or quoted local part
 * and a domain name or address literal, no white space, control
 * characters or NUL, at most ADDR_MAX_LEN bytes, and must not start with
 * '-' (it could be taken for an option).  Bytes >= 0x80 are allowed (UTF-8
 * mail; the caller asks for SMTPUTF8).  Errors: ERR_PERM, smtp_code 553,
 * err->msg names the address (escaped) and the problem. */
int addr_check_envelope(const char *a, struct err *err);

/* addr_is_8bit - does a contain bytes >= 0x80? */
bool addr_is_8bit(const char *a);

#endif
