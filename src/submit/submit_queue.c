/*
 * submit_queue.c - the queue operations sendmail offers: -q (run the
 * queue now) and -bp / mailq (list it).  Both ask relayd over its socket
 * through the control client; sendmail never opens the spool.
 *
 * relayd down is ERR_TEMP (75).  relayd refusing a request it answers
 * for every user can only mean the caller may not do it, so a refusal
 * (ERR_PERM) maps to EX_NOPERM (77).
 */
#include "config.h"

#include "mail/ctlclient.h"
#include "mail/mailq.h"
#include "submit/submit.h"

/* submit_queue_refused - mark a refusal by relayd as "not permitted". */
static int
submit_queue_refused(struct err *err)
{
	if (err != NULL && err->cls == ERR_PERM)
		err->reason = SUBMIT_R_NOPERM;
	return -1;
}

int
submit_queue_flush(const struct conf *c, struct err *err)
{
	if (ctlclient_flush(c, err) == -1)
		return submit_queue_refused(err);
	return 0;
}

int
submit_queue_print(const struct conf *c, FILE *out, struct err *err)
{
	if (mailq_print(c, out, err) == -1)
		return submit_queue_refused(err);
	return 0;
}
