/*
 * fuzz_smtpd.c - libFuzzer harness for the SMTP server (mail/smtpd, the
 * code behind "sendmail -bs" and relayd's loopback listener): the input
 * is what a client sends, fed in pieces whose sizes come from the input
 * itself.  The sink discards each message after checking it.
 *
 * Checks: every reply line is "DDD" then ' ' or '-', printable ASCII and
 * CRLF; each message's submission stream parses (subproto reader) to its
 * end marker, with a body that is canonical (every CR before an LF and
 * every LF after a CR, no NUL) and within max_message_size; open, write,
 * commit and abort come in a legal order.  Every third message's commit
 * is left pending and completed after the feed, as relayd does.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "mail/smtpd.h"
#include "mail/subproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_sink {
	struct subproto_reader *rd;
	bool open, pending, last_cr;
	unsigned long messages;
	uint64_t max;
};

static int
fuzz_body(void *arg, const char *p, size_t n, struct err *err)
{
	struct fuzz_sink *k = arg;
	size_t i;

	(void)err;
	for (i = 0; i < n; i++) {
		if (p[i] == '\0' || (p[i] == '\n') != k->last_cr)
			abort();
		k->last_cr = p[i] == '\r';
	}
	return 0;
}

static void
fuzz_reply(void *arg, const char *p, size_t n)
{
	size_t i, start = 0;

	(void)arg;
	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i - start < 5 || p[i - 1] != '\r' ||
		    (p[start + 3] != ' ' && p[start + 3] != '-') ||
		    p[start] < '2' || p[start] > '5')
			abort();
		start = i + 1;
	}
	if (start != n)
		abort();
	for (i = 0; i < n; i++)
		if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\r' &&
		    p[i] != '\n')
			abort();
}

static int
fuzz_open(void *arg, struct err *err)
{
	struct fuzz_sink *k = arg;

	(void)err;
	if (k->open || k->pending)
		abort();
	k->open = true;
	k->last_cr = false;
	k->rd = subproto_reader_new(k->max, fuzz_body, k);
	return 0;
}

static int
fuzz_write(void *arg, const char *p, size_t n, struct err *err)
{
	struct fuzz_sink *k = arg;
	size_t used;

	if (!k->open)
		abort();
	if (subproto_feed(k->rd, p, n, &used, err) == SUBPROTO_ERROR ||
	    used != n)
		abort();
	return 0;
}

static void
fuzz_close(struct fuzz_sink *k)
{
	subproto_reader_free(k->rd);
	k->rd = NULL;
	k->open = false;
}

static int
fuzz_commit(void *arg, char *qid, size_t qid_size, struct err *err)
{
	struct fuzz_sink *k = arg;
	size_t used;

	(void)err;
	if (!k->open || k->last_cr ||
	    subproto_feed(k->rd, "", 0, &used, err) != SUBPROTO_DONE ||
	    subproto_body_size(k->rd) > k->max)
		abort();
	fuzz_close(k);
	if (++k->messages % 3 == 0) {
		k->pending = true;
		return 1;
	}
	(void)str_fmt(qid, qid_size, "FUZZ%lu", k->messages);
	return 0;
}

static void
fuzz_abort(void *arg)
{
	struct fuzz_sink *k = arg;

	if (!k->open)
		abort();
	fuzz_close(k);
}

static const struct smtpd_ops fuzz_ops = {
	fuzz_reply,
	fuzz_open,
	fuzz_write,
	fuzz_commit,
	fuzz_abort,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf conf;
	struct fuzz_sink k;
	struct smtpd *s;
	size_t pos = 0, step;

	conf.hostname = (char *)(uintptr_t) "mx.example.com";
	conf.domain = (char *)(uintptr_t) "example.com";
	conf.hop_limit = 5;
	conf.max_message_size = 4096;
	memset(&k, 0, sizeof(k));
	k.max = conf.max_message_size;
	s = smtpd_new(&conf, &fuzz_ops, &k);
	smtpd_set_defaults(s, size % 2 ? "Fuzz Name" : NULL, "8bitmime");
	smtpd_start(s);
	step = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	while (pos < size && smtpd_phase(s) != SMTPD_CLOSED) {
		size_t n = size - pos < step ? size - pos : step;

		pos += smtpd_feed(s, (const char *)data + pos, n);
		if (smtpd_phase(s) == SMTPD_WAIT) {
			k.pending = false;
			smtpd_commit_done(
			    s, k.messages % 2 ? "PENDING" : NULL, NULL);
		}
		step = step * 7 % 61 + 1;
	}
	if (size % 5 == 0)
		smtpd_timeout(s);
	else
		smtpd_eof(s);
	smtpd_free(s);
	if (k.open)
		abort();
	return 0;
}
