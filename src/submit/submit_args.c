/*
 * submit_args.c - sendmail's command line (SENDMAIL.md 1.1, 1.2 and 1.4
 * item 1) and the one mapping of errors to exit codes.
 *
 * Parsing is sendmail 8's: its getopt letter set plus Postfix's -I and -x,
 * Berkeley getopt rules (clusters, a value attached or in the next
 * argument, stop at the first operand, "--" ends the options), and the
 * obsolete() fixups for a bare -q (run the queue once, unless an interval
 * follows) and a bare -C (the default file).  Deliberate deviations:
 * an operand starting with '-' before "--" is refused (both references
 * would queue mail to a junk address such as "-t@domain"), and -n is
 * accepted.
 *
 * Owns: the validated -R/-V/-B/-N values; everything else is borrowed
 * from argv.
 *
 * Security: argv is untrusted.  -C is refused for non-root before any
 * file is opened; option values are checked before they reach the
 * envelope; values shown in messages are bounded.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "submit/submit.h"

/* sendmail 8.17's letters, plus -I and -x (Postfix). */
static const char submit_optstring[] =
    "A:B:b:C:cD:d:e:F:f:Gh:IiL:M:mN:nO:o:p:Q:q:R:r:sTtUV:vX:x";

static int submit_opt(struct submit_args *a, char c, const char *v,
    bool is_root, struct err *err);

int
submit_err_usage(struct err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)err_vset(err, ERR_PERM, fmt, ap);
	va_end(ap);
	if (err != NULL) {
		err->sys_errno = 0;
		err->smtp_code = 0;
		err->reason = SUBMIT_R_USAGE;
	}
	return -1;
}

int
submit_exit_code(const struct err *err)
{
	switch (err->cls) {
	case ERR_NONE:
		return EX_OK;
	case ERR_TEMP:
		return EX_TEMPFAIL;
	case ERR_CONFIG:
		return EX_CONFIG;
	case ERR_INTERNAL:
		return EX_SOFTWARE;
	case ERR_PERM:
		break;
	}
	switch (err->reason) {
	case SUBMIT_R_USAGE:
		return EX_USAGE;
	case SUBMIT_R_DATA:
		return EX_DATAERR;
	case SUBMIT_R_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case SUBMIT_R_NOPERM:
		return EX_NOPERM;
	default:
		break;
	}
	if (err->smtp_code == 553)
		return EX_DATAERR;
	if (err->smtp_code >= 500 && err->smtp_code <= 599)
		return EX_UNAVAILABLE;
	return EX_DATAERR;
}

const char *
submit_prog_name(const char *argv0)
{
	const char *base;

	if (argv0 == NULL)
		return "sendmail";
	base = strrchr(argv0, '/');
	base = base != NULL ? base + 1 : argv0;
	if (strcmp(base, "mailq") == 0)
		return "mailq";
	if (strcmp(base, "newaliases") == 0)
		return "newaliases";
	return "sendmail";
}

void
submit_args_free(struct submit_args *a)
{
	xfree(a->ret);
	xfree(a->envid);
	xfree(a->body_type);
	xfree(a->notify);
	a->ret = a->envid = a->body_type = a->notify = NULL;
}

/* submit_warn - keep a warning for main to print. */
static void
submit_warn(struct submit_args *a, const char *what, const char *v)
{
	char shown[64];
	size_t i;

	if (a->nwarn >= SUBMIT_MAX_WARN)
		return;
	for (i = 0; i < sizeof(shown) - 1 && v[i] != '\0'; i++)
		shown[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
	shown[i] = '\0';
	(void)str_fmt(a->warn[a->nwarn++], sizeof(a->warn[0]), "%s '%s%s'",
	    what, shown, v[i] != '\0' ? "..." : "");
}

/* submit_set - replace an owned string with an upper-case copy of v. */
static void
submit_set(char **slot, const char *v)
{
	char *p;

	xfree(*slot);
	*slot = xstrdup(v);
	for (p = *slot; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	}
}

/* submit_notify - -N: "never" or a list of success, failure, delay. */
static bool
submit_notify(const char *v)
{
	static const char *const words[] = { "success", "failure", "delay" };
	const char *p = v;
	unsigned seen = 0;

	if (str_eq_ci(v, "never"))
		return true;
	while (*p != '\0') {
		size_t len = strcspn(p, ","), k;

		for (k = 0; k < 3; k++) {
			if (strlen(words[k]) == len &&
			    strncasecmp(p, words[k], len) == 0)
				break;
		}
		if (k == 3 || (seen & (1u << k)))
			return false;
		seen |= 1u << k;
		p += len;
		if (*p == ',' && *++p == '\0')
			return false;
	}
	return seen != 0;
}

/* submit_xtext - -V: RFC 3461 xtext, at most 100 characters. */
static bool
submit_xtext(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > 100)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '+') {
			if (!isxdigit((unsigned char)v[i + 1]) ||
			    !isxdigit((unsigned char)v[i + 2]))
				return false;
			i += 2;
			continue;
		}
		if (c < 0x21 || c > 0x7e || c == '=')
			return false;
	}
	return true;
}

/* submit_opt_b - -bX: the operation mode. */
static int
submit_opt_b(struct submit_args *a, const char *v, struct err *err)
{
	switch (v[0]) {
	case 'm':
		a->mode = SUBMIT_MODE_DELIVER;
		return 0;
	case 'p':
		a->mode = SUBMIT_MODE_PRINTQ;
		return 0;
	case 'i':
		a->mode = SUBMIT_MODE_ALIASES;
		return 0;
	case 'v':
		a->mode = SUBMIT_MODE_VERIFY;
		return 0;
	case 'h':
	case 'H':
		a->mode = SUBMIT_MODE_NOOP;
		return 0;
	case 'd':
	case 'D':
	case 'l':
		return submit_err_usage(err,
		    "-b%c: daemon mode is not supported (relayd is the daemon; "
		    "start it with systemctl start relay)",
		    v[0]);
	case 's':
		a->mode = SUBMIT_MODE_SMTP;
		return 0;
	default:
		return submit_err_usage(err,
		    "-b%s: unsupported mode (use -bm, "
		    "-bp, -bi, -bv or -q)",
		    v[0] != '\0' ? v : "''");
	}
}

/* submit_opt_q - -q[VALUE]: run the queue, or accept an interval. */
static int
submit_opt_q(struct submit_args *a, const char *v, struct err *err)
{
	const char *sel = v[0] == '!' ? v + 1 : v;
	long long secs;

	if (v[0] == '\0') {
		a->mode = SUBMIT_MODE_FLUSH;
		return 0;
	}
	if (sel[0] == 'R' || sel[0] == 'S' || sel[0] == 'I') {
		a->mode = SUBMIT_MODE_FLUSH;
		a->queue_select = v;
		return 0;
	}
	if (v[0] >= '0' && v[0] <= '9' && str_parse_duration(v, &secs) == 0) {
		/* -q0 runs the queue once; a daemon interval is a no-op */
		a->mode = secs == 0 ? SUBMIT_MODE_FLUSH : SUBMIT_MODE_NOOP;
		return 0;
	}
	return submit_err_usage(err,
	    "-q%s: unsupported (use -q, -qINTERVAL, -qRsite, -qSsender or "
	    "-qIqueueid)",
	    v);
}

/* submit_opt_value - options whose value is checked and kept. */
static int
submit_opt_value(struct submit_args *a, char c, const char *v, struct err *err)
{
	switch (c) {
	case 'B':
		if (!str_eq_ci(v, "7BIT") && !str_eq_ci(v, "8BITMIME"))
			return submit_err_usage(err,
			    "-B %s: unknown body type (use 7BIT or 8BITMIME)",
			    v);
		submit_set(&a->body_type, v);
		return 0;
	case 'N':
		if (!submit_notify(v))
			submit_warn(a, "ignored -N value", v);
		else
			submit_set(&a->notify, v);
		return 0;
	case 'R':
		if (str_eq_ci(v, "full") || str_eq_ci(v, "hdrs"))
			submit_set(&a->ret, v);
		else if (str_eq_ci(v, "headers"))
			submit_set(&a->ret, "HDRS");
		else
			submit_warn(
			    a, "ignored -R value (use full or hdrs)", v);
		return 0;
	case 'V':
		if (!submit_xtext(v))
			return submit_err_usage(err,
			    "-V: the envelope id must be xtext (printable "
			    "ASCII, no '=' or spaces, at most 100 characters)");
		xfree(a->envid);
		a->envid = xstrdup(v);
		return 0;
	default:
		return 0;
	}
}

/* submit_opt_misc - flags and values that set a field or are ignored. */
static void
submit_opt_misc(struct submit_args *a, char c, const char *v)
{
	long long n;

	switch (c) {
	case 'd':
		a->print_version = a->print_version || strcmp(v, "0.1") == 0;
		break;
	case 'F':
		a->full_name = v;
		break;
	case 'f':
	case 'r':
		if (a->sender != NULL)
			submit_warn(a, "more than one -f/-r; using", v);
		a->sender = v;
		break;
	case 'G':
		a->gateway = true;
		break;
	case 'h':
		if (str_to_ll(v, 0, 1000000, &n) == -1)
			submit_warn(a, "ignored non-numeric -h value", v);
		break;
	case 'I':
		a->mode = SUBMIT_MODE_ALIASES;
		break;
	case 'i':
		a->ignore_dots = true;
		break;
	case 'L':
		a->log_tag = v;
		break;
	case 'o':
		/* -oi... (first character, as Postfix); the rest: no-ops */
		if (v[0] == 'i')
			a->ignore_dots = true;
		break;
	case 't':
		a->extract = true;
		break;
	case 'v':
		a->verbose = true;
		break;
	default:
		/* -A -c -D -e -M -m -n -O -p -Q -s -T -U -X -x: ignored */
		break;
	}
}

static int
submit_opt(
    struct submit_args *a, char c, const char *v, bool is_root, struct err *err)
{
	switch (c) {
	case 'b':
		return submit_opt_b(a, v, err);
	case 'q':
		return submit_opt_q(a, v, err);
	case 'B':
	case 'N':
	case 'R':
	case 'V':
		return submit_opt_value(a, c, v, err);
	case 'C':
		if (!is_root) {
			(void)err_set(err, ERR_PERM,
			    "-C: only root may choose another configuration "
			    "file");
			if (err != NULL)
				err->reason = SUBMIT_R_NOPERM;
			return -1;
		}
		a->conf_path = v;
		return 0;
	default:
		submit_opt_misc(a, c, v);
		return 0;
	}
}

/* submit_takes_next - may a bare -q / -C take the next argument? */
static bool
submit_takes_next(int i, int argc, char *const *argv)
{
	return i + 1 < argc && argv[i + 1][0] != '-';
}

/* submit_cluster - parse the option cluster argv[*i]; advances *i past a
 * value taken from the next argument. */
static int
submit_cluster(struct submit_args *a, int argc, char *const *argv, int *i,
    bool is_root, struct err *err)
{
	const char *arg = argv[*i];
	size_t j;

	if (strcmp(arg, "-q") == 0 && !submit_takes_next(*i, argc, argv))
		return submit_opt(a, 'q', "", is_root, err);
	if (strcmp(arg, "-C") == 0 && !submit_takes_next(*i, argc, argv))
		return submit_opt(a, 'C', RELAY_CONF_FILE, is_root, err);
	for (j = 1; arg[j] != '\0'; j++) {
		char c = arg[j];
		const char *spec =
		    c != ':' ? strchr(submit_optstring, c) : NULL;

		if (spec == NULL)
			return submit_err_usage(err,
			    isprint((unsigned char)c)
				? "unknown option -%c (see sendmail(8))"
				: "unknown option -\\x%02x (see sendmail(8))",
			    (unsigned char)c);
		if (spec[1] != ':') {
			if (submit_opt(a, c, "", is_root, err) == -1)
				return -1;
			continue;
		}
		if (arg[j + 1] != '\0')
			return submit_opt(a, c, arg + j + 1, is_root, err);
		if (*i + 1 >= argc)
			return submit_err_usage(
			    err, "option -%c needs a value", c);
		return submit_opt(a, c, argv[++*i], is_root, err);
	}
	return 0;
}

/* submit_check_operands - refuse dash operands before "--" and a mode
 * that needs recipients without any. */
static int
submit_check_operands(
    struct submit_args *a, bool after_dashdash, struct err *err)
{
	size_t k;

	for (k = 0; k < a->nrcpts && !after_dashdash; k++) {
		if (a->rcpts[k][0] == '-')
			return submit_err_usage(err,
			    "recipient %.64s starts with '-'; options go "
			    "before the recipients (put -- before a recipient "
			    "that really starts with '-')",
			    a->rcpts[k]);
	}
	if (a->nrcpts > 0 && a->mode == SUBMIT_MODE_SMTP)
		return submit_err_usage(
		    err, "-bs takes no recipients: they come with RCPT TO");
	if (a->nrcpts > 0)
		return 0;
	if (a->mode == SUBMIT_MODE_VERIFY)
		return submit_err_usage(err, "-bv: no addresses to verify");
	if (a->mode == SUBMIT_MODE_DELIVER && !a->extract && !a->print_version)
		return submit_err_usage(err,
		    "no recipients: give addresses on the command line or use "
		    "-t to read them from the message");
	return 0;
}

int
submit_args_parse(struct submit_args *a, int argc, char *const *argv,
    bool is_root, struct err *err)
{
	const char *prog = submit_prog_name(argc > 0 ? argv[0] : NULL);
	bool after_dashdash = false;
	int i = 1;

	memset(a, 0, sizeof(*a));
	if (strcmp(prog, "mailq") == 0)
		a->mode = SUBMIT_MODE_PRINTQ;
	else if (strcmp(prog, "newaliases") == 0)
		a->mode = SUBMIT_MODE_ALIASES;
	while (i < argc) {
		const char *arg = argv[i];

		if (arg[0] != '-' || arg[1] == '\0')
			break;
		if (strcmp(arg, "--") == 0) {
			after_dashdash = true;
			i++;
			break;
		}
		if (submit_cluster(a, argc, argv, &i, is_root, err) == -1)
			return -1;
		i++;
	}
	a->rcpts = argv + i;
	a->nrcpts = i < argc ? (size_t)(argc - i) : 0;
	return submit_check_operands(a, after_dashdash, err);
}
