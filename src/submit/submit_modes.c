/*
 * submit_modes.c - the modes that queue nothing: -bv (show where each
 * recipient goes) and -bi / -I / newaliases (check the aliases file).
 *
 * relay is a null client: there is no alias database to rebuild, the
 * aliases file is read by relayd as it is.  newaliases therefore checks
 * it with the same parser relayd uses, so an error shows up when the
 * admin edits the file, with its file and line, not later in relayd's
 * log.
 */
#include "config.h"

#include <stdio.h>

#include "base/xalloc.h"
#include "mail/aliases.h"
#include "submit/submit.h"

int
submit_newaliases(const struct conf *c, FILE *out, struct err *err)
{
	struct aliases *al = aliases_load(c->aliases, err);

	if (al == NULL)
		return -1;
	(void)fprintf(out, "%s: %zu aliases\n",
	    *c->aliases != '\0' ? c->aliases : "(no aliases file)",
	    aliases_count(al));
	aliases_free(al);
	return 0;
}

/* submit_verify_one - print the final addresses of one recipient. */
static int
submit_verify_one(const struct aliases *al, const struct conf *c,
    const char *rcpt, const char *via, FILE *out, struct err *err)
{
	char **final = NULL;
	size_t n = 0, k;
	int rc;

	rc = aliases_expand(al, c, rcpt, &final, &n, err);
	for (k = 0; k < n; k++) {
		if (rc == 0)
			(void)fprintf(out, "%s... deliverable: relay via %s\n",
			    final[k], via);
		xfree(final[k]);
	}
	xfree(final);
	return rc;
}

int
submit_verify(const struct conf *c, const struct submit_args *a, FILE *out,
    struct err *err)
{
	struct addr_list rcpts = { 0 };
	struct aliases *al = NULL;
	const char *via = c->nsmarthosts > 0 ? c->smarthosts[0].name
					     : "(no smarthost configured)";
	size_t k;
	int rc = -1;

	if (submit_rcpts_from_args(a, c->domain, &rcpts, err) == -1)
		goto out_free;
	al = aliases_load(c->aliases, err);
	if (al == NULL)
		goto out_free;
	for (k = 0; k < rcpts.n; k++) {
		if (submit_verify_one(al, c, rcpts.v[k], via, out, err) == -1)
			goto out_free;
	}
	rc = 0;
out_free:
	aliases_free(al);
	addr_list_free(&rcpts);
	return rc;
}
