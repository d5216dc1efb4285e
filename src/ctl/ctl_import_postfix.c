/*
 * ctl_import_postfix.c - `relayctl import postfix`: a Postfix null client
 * (relayhost, SASL credentials, TLS policy, limits) as a relay.conf.
 *
 * Reads main.cf the way postconf does (continuation lines start with white
 * space, '#' comments, $name and ${name} expanded from the file itself) and
 * the smtp_sasl_password_maps source file (the text file postmap reads:
 * "[host]:port user:password"), looking up the relayhost as written, then
 * its bare host name.  Parameters relay has no use for are ignored; those
 * that change where or how mail goes, and that relay cannot do, are noted.
 *
 * Security: the password goes only to imp_host_password().
 */
#include "config.h"

#include <string.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "ctl/ctl_import_priv.h"

#define IMP_PF_MAX_PARAMS 512
#define IMP_PF_MAX_DEPTH 8

struct imp_pf {
	char *name[IMP_PF_MAX_PARAMS];
	struct buf val[IMP_PF_MAX_PARAMS];
	size_t n;
	bool last_ok; /* the previous line started a parameter */
};

/* Parameters that route or rewrite mail in ways relay does not. */
static const char *const imp_pf_unsupported[] = { "transport_maps",
	"sender_dependent_relayhost_maps", "smtp_generic_maps",
	"sender_canonical_maps", "recipient_canonical_maps", "canonical_maps",
	"virtual_alias_maps", "masquerade_domains", "relay_domains",
	"relay_transport", "default_transport", "header_checks",
	"smtp_header_checks", "content_filter" };

static int
imp_pf_line(struct imp *im, const char *path, int lineno, char *line, void *arg,
    struct err *err)
{
	struct imp_pf *pf = arg;
	char *t = str_trim(line), *eq;

	(void)im;
	(void)err;
	if (*t == '\0' || *t == '#')
		return 0;
	if (line[0] == ' ' || line[0] == '\t') {
		/* a continuation of the previous value */
		if (pf->last_ok &&
		    (buf_putc(&pf->val[pf->n - 1], ' ') == -1 ||
			buf_puts(&pf->val[pf->n - 1], t) == -1))
			imp_note(im, "%s:%d: value too long", path, lineno);
		return 0;
	}
	pf->last_ok = false;
	eq = strchr(t, '=');
	if (eq == NULL || pf->n == IMP_PF_MAX_PARAMS) {
		imp_note(im, "%s:%d: not a parameter line", path, lineno);
		return 0;
	}
	*eq = '\0';
	pf->name[pf->n] = xstrdup(str_trim(t));
	buf_init(&pf->val[pf->n], 65536);
	(void)buf_puts(&pf->val[pf->n], str_trim(eq + 1));
	pf->n++;
	pf->last_ok = true;
	return 0;
}

/* imp_pf_raw - the last value of name as written, or NULL. */
static const char *
imp_pf_raw(const struct imp_pf *pf, const char *name, size_t len)
{
	size_t i;

	for (i = pf->n; i > 0; i--)
		if (strlen(pf->name[i - 1]) == len &&
		    strncmp(pf->name[i - 1], name, len) == 0)
			return pf->val[i - 1].data;
	return NULL;
}

/* imp_pf_expand - append v to out with $name, ${name} and $(name)
 * replaced by their values; unknown names stay as written. */
static void
imp_pf_expand(
    const struct imp_pf *pf, const char *v, int depth, struct buf *out)
{
	const char *p, *end, *sub;
	size_t len;

	for (p = v; *p != '\0'; p++) {
		if (*p != '$' || depth > IMP_PF_MAX_DEPTH) {
			(void)buf_putc(out, *p);
			continue;
		}
		if (p[1] == '{' || p[1] == '(') {
			end = strchr(p + 2, p[1] == '{' ? '}' : ')');
			if (end == NULL) {
				(void)buf_putc(out, *p);
				continue;
			}
			len = (size_t)(end - p - 2);
			sub = imp_pf_raw(pf, p + 2, len);
		} else {
			for (end = p + 1;
			     *end == '_' || (*end >= 'a' && *end <= 'z') ||
			     (*end >= '0' && *end <= '9');
			     end++)
				;
			len = (size_t)(end - p - 1);
			sub = len > 0 ? imp_pf_raw(pf, p + 1, len) : NULL;
			end--;
		}
		if (sub == NULL) {
			(void)buf_append(out, p, (size_t)(end - p) + 1);
		} else {
			imp_pf_expand(pf, sub, depth + 1, out);
		}
		p = end;
	}
}

/* imp_pf_get - the expanded value of name (owned by the caller), or
 * NULL when it is not set (or set empty). */
static char *
imp_pf_get(const struct imp_pf *pf, const char *name)
{
	const char *raw = imp_pf_raw(pf, name, strlen(name));
	struct buf b;
	char *out;

	if (raw == NULL || *raw == '\0')
		return NULL;
	buf_init(&b, 65536);
	imp_pf_expand(pf, raw, 0, &b);
	out = buf_steal(&b);
	buf_free(&b);
	return out;
}

/* imp_pf_map_path - "type:/path" (the first of a list) as the path of its
 * source text file; NULL for a type without one. */
static char *
imp_pf_map_path(const char *v)
{
	const char *colon = strchr(v, ':');
	size_t n = strcspn(v, ", \t");

	if (colon == NULL || (size_t)(colon - v) >= n || colon[1] != '/')
		return NULL;
	if (strncmp(v, "hash:", 5) != 0 && strncmp(v, "lmdb:", 5) != 0 &&
	    strncmp(v, "btree:", 6) != 0 && strncmp(v, "cdb:", 4) != 0 &&
	    strncmp(v, "texthash:", 9) != 0 && strncmp(v, "dbm:", 4) != 0)
		return NULL;
	return xstrndup(colon + 1, n - (size_t)(colon + 1 - v));
}

/* Looking up the relayhost in the SASL password file. */
struct imp_pf_sasl {
	const char *key1, *key2; /* relayhost as written, its bare host */
	struct imp_host *h;
	int prio; /* 1: matched key1, 2: key2, 0: none yet */
};

static int
imp_pf_sasl_line(struct imp *im, const char *path, int lineno, char *line,
    void *arg, struct err *err)
{
	struct imp_pf_sasl *s = arg;
	char *p = str_trim(line), *key = p, *cred, *colon;
	int prio;

	(void)path;
	(void)lineno;
	(void)err;
	if (*p == '#' || *p == '\0')
		return 0;
	p += strcspn(p, " \t");
	if (*p == '\0')
		return 0;
	*p++ = '\0';
	cred = str_trim(p);
	prio = strcmp(key, s->key1) == 0 ? 1 : str_eq_ci(key, s->key2) ? 2 : 0;
	if (prio == 0 || (s->prio != 0 && s->prio <= prio))
		return 0;
	colon = strchr(cred, ':');
	if (colon == NULL)
		return 0;
	*colon = '\0';
	s->prio = prio;
	imp_host_set_str(s->h, IMP_H_USERNAME, cred);
	imp_host_password(im, s->h, colon + 1);
	return 0;
}

/* imp_pf_tls - smtp_tls_security_level and smtp_tls_wrappermode. */
static const char *
imp_pf_tls(struct imp *im, const struct imp_pf *pf, const char *host)
{
	char *level = imp_pf_get(pf, "smtp_tls_security_level");
	char *wrap = imp_pf_get(pf, "smtp_tls_wrappermode");
	char *use = imp_pf_get(pf, "smtp_use_tls");
	char *enforce = imp_pf_get(pf, "smtp_enforce_tls");
	const char *tls = "starttls";

	if (level == NULL && enforce != NULL && imp_is_yes(enforce))
		level = xstrdup("encrypt");
	else if (level == NULL && use != NULL && imp_is_yes(use))
		level = xstrdup("may");
	else if (level == NULL)
		level = xstrdup("none");
	if (strcmp(level, "none") == 0) {
		tls = "none";
		imp_note(im,
		    "Postfix sent mail to %s in plaintext "
		    "(smtp_tls_security_level = none); so does this "
		    "configuration; prefer tls = auto",
		    host);
	} else if (strcmp(level, "may") == 0) {
		imp_note(im,
		    "smtp_tls_security_level = may: relay never "
		    "falls back to plaintext; TLS is now required");
	} else if (strncmp(level, "dane", 4) == 0) {
		imp_note(im,
		    "smtp_tls_security_level = %s: relay verifies "
		    "with certificate authorities, not DANE",
		    level);
	}
	if (strcmp(tls, "none") != 0 && wrap != NULL && imp_is_yes(wrap))
		tls = "implicit";
	xfree(level);
	xfree(wrap);
	xfree(use);
	xfree(enforce);
	return tls;
}

/* imp_pf_host_tls - certificates, pins and protocol limits. */
static void
imp_pf_host_tls(struct imp *im, const struct imp_pf *pf, struct imp_host *h)
{
	static const struct {
		const char *param;
		enum imp_hkey key;
	} files[] = { { "smtp_tls_CAfile", IMP_H_CA_FILE },
		{ "smtp_tls_cert_file", IMP_H_CLIENT_CERT },
		{ "smtp_tls_key_file", IMP_H_CLIENT_KEY },
		{ "smtp_helo_name", IMP_H_HELO } };
	char *v, *digest;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		v = imp_pf_get(pf, files[i].param);
		if (v != NULL)
			imp_host_set_str(h, files[i].key, v);
		xfree(v);
	}
	v = imp_pf_get(pf, "smtp_tls_mandatory_protocols");
	if (v != NULL &&
	    (strstr(v, "!TLSv1.2") != NULL || strstr(v, ">=TLSv1.3") != NULL))
		imp_host_set(h, IMP_H_TLS_MIN, "1.3");
	xfree(v);
	v = imp_pf_get(pf, "smtp_tls_fingerprint_cert_match");
	digest = imp_pf_get(pf, "smtp_tls_fingerprint_digest");
	if (v != NULL && digest != NULL && str_eq_ci(digest, "sha256")) {
		char *pin;

		v[strcspn(v, ", \t")] = '\0';
		pin = xasprintf("sha256:%s", v);
		imp_host_set_str(h, IMP_H_FINGERPRINT, pin);
		xfree(pin);
	} else if (v != NULL) {
		imp_note(im,
		    "smtp_tls_fingerprint_cert_match: only SHA-256 "
		    "pins carry over (smtp_tls_fingerprint_digest)");
	}
	xfree(v);
	xfree(digest);
}

/* imp_pf_sasl - smtp_sasl_auth_enable and the password map. */
static int
imp_pf_auth(struct imp *im, const struct imp_pf *pf, struct imp_host *h,
    const char *relayhost, const char *file, struct err *err)
{
	char *enable = imp_pf_get(pf, "smtp_sasl_auth_enable");
	char *maps = imp_pf_get(pf, "smtp_sasl_password_maps");
	char *mech = imp_pf_get(pf, "smtp_sasl_mechanism_filter");
	char *path = NULL;
	struct imp_pf_sasl s = { relayhost, h->title, h, 0 };
	bool found = false;
	int rc = 0;

	if (enable == NULL || !imp_is_yes(enable))
		goto out;
	if (file != NULL)
		path = xstrdup(file);
	else if (maps != NULL)
		path = imp_pf_map_path(maps);
	if (path == NULL) {
		imp_note(im,
		    "smtp_sasl_password_maps %s: only a file map "
		    "carries over; set username and password_file",
		    maps != NULL ? maps : "(not set)");
		goto out;
	}
	rc = imp_read_lines(im, path, false, &found, imp_pf_sasl_line, &s, err);
	if (rc == 0 && !found)
		imp_note(
		    im, "%s not found: set username and password_file", path);
	else if (rc == 0 && s.prio == 0)
		imp_note(im, "%s has no entry for %s", path, relayhost);
	if (mech != NULL && h->val[IMP_H_USERNAME] != NULL)
		imp_host_set_str(h, IMP_H_AUTH_MECHANISMS, mech);
	if (h->val[IMP_H_USERNAME] != NULL &&
	    strcmp(h->val[IMP_H_TLS], "none") == 0)
		imp_host_set(h, IMP_H_AUTH_WITHOUT_TLS, "true");
out:
	xfree(enable);
	xfree(maps);
	xfree(mech);
	xfree(path);
	return rc;
}

/* imp_pf_relayhost - the smarthost block. */
static int
imp_pf_relayhost(
    struct imp *im, const struct imp_pf *pf, const char *file, struct err *err)
{
	char *relayhost = imp_pf_get(pf, "relayhost"), *host = NULL;
	struct imp_host *h;
	int port, rc = 0;

	if (relayhost == NULL) {
		imp_note(im,
		    "relayhost is empty: Postfix delivered directly "
		    "to each recipient's mail server");
		goto out;
	}
	relayhost[strcspn(relayhost, ", \t")] = '\0';
	if (imp_split_hostport(relayhost, &host, &port) == -1) {
		rc = err_set(
		    err, ERR_CONFIG, "relayhost %s: bad port", relayhost);
		goto out;
	}
	if (relayhost[0] != '[')
		imp_note(im,
		    "relayhost %s: Postfix looked up its MX records; "
		    "relay connects to the host itself",
		    relayhost);
	h = imp_host_add(im, host);
	if (h == NULL)
		goto out;
	imp_set_port_tls(h, port, 25, imp_pf_tls(im, pf, relayhost));
	imp_pf_host_tls(im, pf, h);
	rc = imp_pf_auth(im, pf, h, relayhost, file, err);
out:
	xfree(relayhost);
	xfree(host);
	return rc;
}

/* imp_pf_time - a Postfix time ("5d", "300s", or a bare number in the
 * parameter's default unit) as a relay duration. */
static void
imp_pf_time(struct imp *im, const struct imp_pf *pf, const char *param,
    char unit, enum imp_key k)
{
	char *v = imp_pf_get(pf, param), *dur;
	long long n;

	if (v == NULL)
		return;
	if (str_to_ll(v, 0, 1LL << 40, &n) == 0)
		dur = xasprintf("%lld%c", n, unit);
	else
		dur = xstrdup(v);
	if (str_parse_duration(dur, &n) == 0)
		imp_set(im, k, dur);
	else
		imp_note(im, "%s = %s: not a duration relay reads", param, v);
	xfree(dur);
	xfree(v);
}

/* imp_pf_names - myhostname, myorigin (a file name means its content). */
static int
imp_pf_names(struct imp *im, const struct imp_pf *pf, struct err *err)
{
	char *v = imp_pf_get(pf, "myhostname"), *origin;
	int rc = 0;

	if (v != NULL)
		imp_set_str(im, IMP_HOSTNAME, v);
	xfree(v);
	v = imp_pf_get(pf, "myorigin");
	if (v != NULL && v[0] == '/') {
		rc = imp_first_line(im, v, &origin, err);
		xfree(v);
		v = origin;
	}
	if (v != NULL && rc == 0)
		imp_set_str(im, IMP_DOMAIN, v);
	xfree(v);
	return rc;
}

/* imp_pf_limits - sizes, hops, times, aliases, undisclosed recipients. */
static void
imp_pf_limits(struct imp *im, const struct imp_pf *pf)
{
	char *v;
	long long n;

	v = imp_pf_get(pf, "message_size_limit");
	if (v != NULL && str_to_ll(v, 1, 1LL << 40, &n) == 0)
		imp_set(im, IMP_MAX_MESSAGE_SIZE, v);
	xfree(v);
	v = imp_pf_get(pf, "hopcount_limit");
	if (v != NULL && str_to_ll(v, 1, 1000, &n) == 0)
		imp_set(im, IMP_HOP_LIMIT, v);
	xfree(v);
	imp_pf_time(im, pf, "minimal_backoff_time", 's', IMP_RETRY_BASE);
	imp_pf_time(im, pf, "maximal_backoff_time", 's', IMP_RETRY_MAX);
	imp_pf_time(im, pf, "maximal_queue_lifetime", 'd', IMP_RETRY_LIFETIME);
	imp_pf_time(im, pf, "smtp_connect_timeout", 's', IMP_CONNECT_TIMEOUT);
	imp_pf_time(im, pf, "smtp_helo_timeout", 's', IMP_GREETING_TIMEOUT);
	imp_pf_time(im, pf, "smtp_data_done_timeout", 's', IMP_DATA_TIMEOUT);
	v = imp_pf_get(pf, "alias_maps");
	if (v != NULL) {
		char *path = imp_pf_map_path(v);

		if (path != NULL && strcmp(path, "/etc/aliases") != 0)
			imp_set_str(im, IMP_ALIASES, path);
		xfree(path);
	}
	xfree(v);
	v = imp_pf_get(pf, "undisclosed_recipients_header");
	if (v != NULL)
		imp_set(im, IMP_UNDISCLOSED_RECIPIENTS, "true");
	xfree(v);
}

/* imp_pf_listen - a loopback-only SMTP server becomes relay's listener. */
static void
imp_pf_listen(struct imp *im, const struct imp_pf *pf)
{
	char *v = imp_pf_get(pf, "inet_interfaces");
	char *proto = imp_pf_get(pf, "inet_protocols");

	if (v == NULL || strcmp(v, "all") == 0) {
		imp_note(im,
		    "Postfix accepted SMTP on every interface "
		    "(inet_interfaces); relay accepts it on loopback "
		    "only, when listen is set");
	} else if (strcmp(v, "loopback-only") == 0 ||
	    strcmp(v, "localhost") == 0 || strcmp(v, "127.0.0.1") == 0) {
		imp_set(im, IMP_LISTEN,
		    proto != NULL && strcmp(proto, "ipv4") == 0
			? "{\"127.0.0.1:25\"}"
			: "{\"127.0.0.1:25\", \"[::1]:25\"}");
		imp_note(im,
		    "listen on port 25: relayd must be started as "
		    "root, or given CAP_NET_BIND_SERVICE");
	}
	xfree(v);
	xfree(proto);
}

static void
imp_pf_unsupported_notes(struct imp *im, const struct imp_pf *pf)
{
	size_t i;
	char *v;

	for (i = 0;
	     i < sizeof(imp_pf_unsupported) / sizeof(imp_pf_unsupported[0]);
	     i++) {
		v = imp_pf_get(pf, imp_pf_unsupported[i]);
		if (v != NULL)
			imp_note(im,
			    "%s is not carried over: relay sends all "
			    "mail, unchanged, to its smarthost",
			    imp_pf_unsupported[i]);
		xfree(v);
	}
	v = imp_pf_get(pf, "mydestination");
	if (v != NULL)
		imp_note(im,
		    "mydestination: relay delivers nothing locally; "
		    "local names go through aliases to "
		    "default_recipient");
	xfree(v);
}

int
imp_postfix(struct imp *im, char **files, size_t nfiles, struct err *err)
{
	const char *conf = nfiles > 0 ? files[0] : "/etc/postfix/main.cf";
	struct imp_pf pf;
	size_t i;
	int rc = -1;

	memset(&pf, 0, sizeof(pf));
	if (nfiles > 2)
		return err_set(err, ERR_CONFIG,
		    "give main.cf and the SASL password file, no more");
	if (imp_read_lines(im, conf, true, NULL, imp_pf_line, &pf, err) == -1)
		goto out;
	if (imp_pf_names(im, &pf, err) == -1 ||
	    imp_pf_relayhost(im, &pf, nfiles > 1 ? files[1] : NULL, err) == -1)
		goto out;
	imp_pf_limits(im, &pf);
	imp_pf_listen(im, &pf);
	imp_pf_unsupported_notes(im, &pf);
	rc = 0;
out:
	for (i = 0; i < pf.n; i++) {
		xfree(pf.name[i]);
		buf_free(&pf.val[i]);
	}
	return rc;
}
