/*
 * test_mailq.c - the Postfix mailq format byte for byte: heading, row
 * widths, '*' and '!' markers, the right-aligned reason line (only when
 * it changes, "reason unavailable" after a reason), finished recipients
 * left out, MAILER-DAEMON for the null sender, escaping, the summary's
 * Kbytes and plural, and the empty queue.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mail/mailq.h"

static char *
msg_line(const char *id, const char *state, const char *sender, unsigned size,
    const char *rcpts)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	assert_true(
	    fprintf(f,
		"{\"id\":\"%s\",\"created\":1733340660,\"sender\":\"%s\","
		"\"size\":%u,\"state\":\"%s\",\"uid\":0,\"attempts\":0,"
		"\"next_attempt\":null,\"reason\":null,"
		"\"reason_text\":null,\"recipients\":[%s]}",
		id, sender, size, state, rcpts) > 0);
	assert_int_equal(fclose(f), 0);
	return s;
}

static void
print_msg(struct mailq_state *st, const char *line)
{
	struct ctlclient_msg m;
	struct err err;

	assert_int_equal(ctlclient_msg_parse(line, strlen(line), &m, &err), 0);
	assert_int_equal(mailq_format_msg(st, &m, &err), 0);
	ctlclient_msg_free(&m);
}

/* arrival - what %20.20s of asctime prints for the fixed test time. */
static void
arrival(char *buf, size_t size)
{
	time_t t = 1733340660;
	struct tm tm;

	assert_non_null(localtime_r(&t, &tm));
	assert_true(strftime(buf, size, "%a %b %e %H:%M:%S ", &tm) > 0);
}

static void
test_format(void **state)
{
	char *out = NULL, *l1, *l2, *l3, want[4096], when[32];
	size_t n = 0;
	struct mailq_state st;
	struct err err;
	FILE *f = open_memstream(&out, &n);
	const char *why = "connect to smarthost[192.0.2.1]:25: "
			  "Connection refused";

	(void)state;
	assert_non_null(f);
	memset(&st, 0, sizeof(st));
	st.out = f;
	l1 = msg_line("0AAAAAAAAAAAAA", "deferred", "tester@example.net", 1234,
	    "{\"address\":\"root@example.net\",\"state\":\"deferred\","
	    "\"last_reply\":\"connect to smarthost[192.0.2.1]:25: "
	    "Connection refused\"},"
	    "{\"address\":\"two@example.net\",\"state\":\"deferred\","
	    "\"last_reply\":\"connect to smarthost[192.0.2.1]:25: "
	    "Connection refused\"},"
	    "{\"address\":\"done@example.net\",\"state\":\"sent\"},"
	    "{\"address\":\"new@example.net\",\"state\":\"pending\"}");
	l2 = msg_line("0BBBBBBBBBBBBB", "sending", "", 100000,
	    "{\"address\":\"a\\u0007b@example.net\",\"state\":\"pending\"}");
	l3 = msg_line("0CCCCCCCCCCCCC", "held", "x@y", 10, "");
	print_msg(&st, l1);
	print_msg(&st, l2);
	print_msg(&st, l3);
	assert_int_equal(mailq_format_end(&st, &err), 0);
	assert_int_equal(fclose(f), 0);
	arrival(when, sizeof(when));
	assert_true(snprintf(want, sizeof(want),
			"-Queue ID-  --Size-- ----Arrival Time---- "
			"-Sender/Recipient-------\n"
			"0AAAAAAAAAAAAA     1234 %s tester@example.net\n"
			"%*s(%s)\n"
			"%41sroot@example.net\n"
			"%41stwo@example.net\n"
			"%*s(reason unavailable)\n"
			"%41snew@example.net\n"
			"\n"
			"0BBBBBBBBBBBBB*  100000 %s MAILER-DAEMON\n"
			"%41sa\\x07b@example.net\n"
			"\n"
			"0CCCCCCCCCCCCC!      10 %s x@y\n"
			"\n"
			"-- 98 Kbytes in 3 Requests.\n",
			when, (int)(76 - strlen(why)), "", why, "", "", 76 - 18,
			"", "", when, "", when) > 0);
	assert_string_equal(out, want);
	free(out);
	free(l1);
	free(l2);
	free(l3);
}

static void
test_one_and_none(void **state)
{
	char *out = NULL, *l;
	size_t n = 0;
	struct mailq_state st;
	struct err err;
	FILE *f = open_memstream(&out, &n);

	(void)state;
	memset(&st, 0, sizeof(st));
	st.out = f;
	assert_int_equal(mailq_format_end(&st, &err), 0);
	l = msg_line("0DDDDDDDDDDDDD", "queued", "a@b", 2048,
	    "{\"address\":\"c@d\",\"state\":\"pending\"}");
	print_msg(&st, l);
	assert_int_equal(mailq_format_end(&st, &err), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(out, "Mail queue is empty\n-Queue ID-"));
	assert_non_null(strstr(out, "0DDDDDDDDDDDDD     2048 "));
	assert_non_null(strstr(out, "\n\n-- 2 Kbytes in 1 Request.\n"));
	free(out);
	free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_one_and_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
