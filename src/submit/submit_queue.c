/*
 * submit_queue.c - the queue operations sendmail offers: -q (run the
 * queue now) and -bp / mailq (list it).  Both ask relayd over its socket
 * through the control client; sendmail never opens the spool.
 */
#include "config.h"

#include "mail/ctlclient.h"
#include "mail/mailq.h"
#include "submit/submit.h"

int
submit_queue_flush(const struct conf *c, struct err *err)
{
	return ctlclient_flush(c, err);
}

int
submit_queue_print(const struct conf *c, FILE *out, struct err *err)
{
	return mailq_print(c, out, err);
}
