/*
 * submit_ident.c - who is sending: the envelope sender and the full name
 * for a generated From (SENDMAIL.md 1.3.3 and 1.4 items 5 and 6).
 *
 * The sender is -f/-r parsed as an address (the first of a list; '' and
 * '<>' mean the null sender), else the login name of the real uid from
 * the password database, qualified with the configured domain.  When the
 * C library finds no entry (the musl build reads /etc/passwd and nscd
 * only, and the account may come from an NSS module such as sss), relayd
 * is asked: its lookup goes through NSS, for the uid the kernel gives it.
 * The environment is never consulted for the sender (it is cleared anyway);
 * only $NAME, captured before clearing, may give the full name.  relayd
 * learns the real submitter from the kernel, whatever -f says.
 */
#include "config.h"

#include <ctype.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mail/ctlclient.h"
#include "submit/submit.h"

int
submit_sender_from_arg(const char *arg, const char *domain, char **out,
    bool *several, struct err *err)
{
	char *first, *q;

	*out = NULL;
	addr_parse_sender(arg, &first, several);
	if (*first == '\0') {
		*out = first;
		return 0;
	}
	q = addr_qualify(first, domain);
	xfree(first);
	if (addr_check_envelope(q, err) == -1) {
		char why[sizeof(err->msg)];

		(void)str_copy(why, sizeof(why), err->msg);
		xfree(q);
		return submit_err_usage(err, "-f: %s", why);
	}
	*out = q;
	return 0;
}

/* submit_gecos_name - the GECOS full name: the first comma-separated
 * field, '&' replaced by the login name with its first letter capitalised
 * (as sendmail 8 and Postfix do).  NULL when empty. */
static char *
submit_gecos_name(const char *gecos, const char *login)
{
	struct buf b;
	const char *p;
	char *stolen;

	buf_init(&b, 1024);
	for (p = gecos; *p != '\0' && *p != ','; p++) {
		if (*p != '&') {
			(void)buf_putc(&b, *p);
			continue;
		}
		if (login[0] != '\0') {
			(void)buf_putc(
			    &b, (char)toupper((unsigned char)login[0]));
			(void)buf_puts(&b, login + 1);
		}
	}
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	stolen = buf_steal(&b);
	buf_free(&b); /* buf_steal leaves an empty, allocated buf */
	return stolen;
}

int
submit_ident_load(struct submit_ident *id, const struct submit_args *a,
    const char *env_name, const struct conf *c, struct err *err)
{
	struct passwd *pw;
	char *gecos = NULL;
	struct err why;
	int rc = -1;

	memset(id, 0, sizeof(*id));
	id->uid = getuid();
	err_clear(&why);
	pw = getpwuid(id->uid);
	if (pw != NULL) {
		id->login = xstrdup(pw->pw_name);
		if (pw->pw_gecos != NULL)
			gecos = xstrdup(pw->pw_gecos);
	} else {
		/* on failure both stay NULL and why says what went wrong */
		(void)ctlclient_whoami(c, &id->login, &gecos, &why);
	}
	if (a->sender != NULL) {
		if (submit_sender_from_arg(a->sender, c->domain, &id->sender,
			&id->several_senders, err) == -1)
			goto out;
	} else if (id->login == NULL) {
		(void)err_set(err, ERR_CONFIG,
		    "user id %lu has no entry in the password database (add "
		    "one, or give the sender with -f)%s%s",
		    (unsigned long)id->uid, why.msg[0] != '\0' ? "; " : "",
		    why.msg);
		goto out;
	} else {
		id->sender = addr_qualify(id->login, c->domain);
		if (addr_check_envelope(id->sender, err) == -1) {
			(void)err_set(err, ERR_CONFIG,
			    "login name %.64s is not usable in an address "
			    "(give the sender with -f)",
			    id->login);
			goto out;
		}
	}
	if (a->full_name != NULL)
		id->full_name = xstrdup(a->full_name);
	else if (env_name != NULL)
		id->full_name = xstrdup(env_name);
	else if (gecos != NULL && id->login != NULL)
		id->full_name = submit_gecos_name(gecos, id->login);
	rc = 0;
out:
	xfree(gecos);
	return rc;
}

void
submit_ident_free(struct submit_ident *id)
{
	xfree(id->login);
	xfree(id->sender);
	xfree(id->full_name);
	memset(id, 0, sizeof(*id));
}
