/*
 * test_ctlclient.c - the control protocol's client side: the JSON reader
 * (values, escapes, errors, depth), message decoding, status lines and
 * exit codes, reading a response from a real socket, and the "relayd is
 * not running" error of a missing socket.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "base/str.h"
#include "mail/conf.h"
#include "mail/ctlclient.h"

static struct ctlclient_json *
parse(const char *s)
{
	struct err err;

	return ctlclient_json_parse(s, strlen(s), &err);
}

static void
test_json_values(void **state)
{
	struct ctlclient_json *j;
	const struct ctlclient_json *a;

	(void)state;
	j = parse(" {\"s\":\"a\\\"b\\\\c\\n\",\"n\":-42,\"t\":true,"
		  "\"f\":false,\"z\":null,\"a\":[1,{\"k\":\"v\"},[]],"
		  "\"e\":{}} ");
	assert_non_null(j);
	assert_int_equal(ctlclient_json_type(j), CTLCLIENT_JSON_OBJECT);
	assert_string_equal(
	    ctlclient_json_str(ctlclient_json_get(j, "s")), "a\"b\\c\n");
	assert_int_equal(
	    ctlclient_json_int(ctlclient_json_get(j, "n"), 0), -42);
	assert_true(ctlclient_json_bool(ctlclient_json_get(j, "t")));
	assert_false(ctlclient_json_bool(ctlclient_json_get(j, "f")));
	assert_int_equal(ctlclient_json_type(ctlclient_json_get(j, "z")),
	    CTLCLIENT_JSON_NULL);
	assert_null(ctlclient_json_get(j, "missing"));
	assert_null(ctlclient_json_str(ctlclient_json_get(j, "n")));
	assert_int_equal(ctlclient_json_int(ctlclient_json_get(j, "s"), 7), 7);
	a = ctlclient_json_get(j, "a");
	assert_int_equal(ctlclient_json_len(a), 3);
	assert_int_equal(ctlclient_json_int(ctlclient_json_at(a, 0), 0), 1);
	assert_string_equal(ctlclient_json_str(ctlclient_json_get(
				ctlclient_json_at(a, 1), "k")),
	    "v");
	assert_int_equal(ctlclient_json_len(ctlclient_json_at(a, 2)), 0);
	assert_null(ctlclient_json_at(a, 3));
	assert_int_equal(ctlclient_json_len(ctlclient_json_get(j, "e")), 0);
	ctlclient_json_free(j);
	ctlclient_json_free(NULL);
}

static void
test_json_escapes(void **state)
{
	struct ctlclient_json *j;

	(void)state;
	/* str_json writes bytes >= 0x80 as \u00XX: they come back as bytes */
	j = parse("\"jos\\u00c3\\u00a9\\t\\/\\b\\f\\r\"");
	assert_non_null(j);
	assert_string_equal(ctlclient_json_str(j), "jos\xc3\xa9\t/\b\f\r");
	ctlclient_json_free(j);
	j = parse("\"\\u0101\\u20ac\"");
	assert_non_null(j);
	assert_string_equal(ctlclient_json_str(j), "\xc4\x81\xe2\x82\xac");
	ctlclient_json_free(j);
}

static void
test_json_errors(void **state)
{
	static const char *bad[] = { "", "{", "{\"a\"}", "{\"a\":}",
		"{\"a\":1,}", "[1 2]", "\"abc", "\"\\x\"", "\"\\u12\"", "tru",
		"nul", "1 2", "{\"a\":1}x", "\"a\nb\"", "-", "{1:2}",
		"99999999999999999999" };
	char deep[200];
	struct err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&err);
		assert_null(ctlclient_json_parse(bad[i], strlen(bad[i]), &err));
		assert_int_equal(err.cls, ERR_INTERNAL);
	}
	memset(deep, '[', sizeof(deep));
	assert_null(ctlclient_json_parse(deep, sizeof(deep), &err));
	assert_non_null(strstr(err.msg, "deep"));
}

static void
test_msg_parse(void **state)
{
	static const char line[] =
	    "{\"id\":\"0ABCDEFGHIJKLM\",\"created\":1700000000,\"sender\":\"\","
	    "\"size\":1234,\"state\":\"deferred\",\"uid\":1000,"
	    "\"attempts\":3,\"next_attempt\":1700000600,"
	    "\"reason\":\"connect_refused\",\"reason_text\":\"no answer\","
	    "\"recipients\":[{\"address\":\"a@x\",\"state\":\"deferred\","
	    "\"attempts\":3,\"next_attempt\":1700000600,"
	    "\"last_reply\":\"451 later\",\"reason\":\"rcpt_deferred\"},"
	    "{\"address\":\"b@x\",\"state\":\"sent\",\"attempts\":1,"
	    "\"next_attempt\":null,\"last_reply\":null,\"reason\":null},"
	    "{\"state\":\"sent\"}],\"ret\":\"HDRS\",\"envid\":null,"
	    "\"body_type\":\"8BITMIME\",\"notify\":null,\"smtputf8\":true,"
	    "\"history\":[{\"at\":1700000100,\"recipient\":null,"
	    "\"reason\":\"connect_refused\",\"reply\":null,"
	    "\"relay\":\"h[1.2.3.4]:587\"}]}";
	struct ctlclient_msg m;
	struct err err;

	(void)state;
	assert_int_equal(ctlclient_msg_parse(line, strlen(line), &m, &err), 0);
	assert_string_equal(m.id, "0ABCDEFGHIJKLM");
	assert_string_equal(m.sender, "");
	assert_int_equal(m.created, 1700000000);
	assert_int_equal(m.size, 1234);
	assert_string_equal(m.state, "deferred");
	assert_int_equal(m.uid, 1000);
	assert_int_equal(m.attempts, 3);
	assert_int_equal(m.next_attempt, 1700000600);
	assert_string_equal(m.reason, "connect_refused");
	assert_string_equal(m.reason_text, "no answer");
	assert_int_equal(m.nrcpts, 2); /* the one without address is dropped */
	assert_string_equal(m.rcpts[0].last_reply, "451 later");
	assert_null(m.rcpts[1].last_reply);
	assert_int_equal(m.rcpts[1].next_attempt, 0);
	assert_string_equal(m.ret, "HDRS");
	assert_null(m.envid);
	assert_true(m.smtputf8);
	assert_int_equal(m.nhist, 1);
	assert_null(m.hist[0].recipient);
	assert_string_equal(m.hist[0].relay, "h[1.2.3.4]:587");
	ctlclient_msg_free(&m);

	assert_int_equal(
	    ctlclient_msg_parse("{\"id\":\"x\"}", 10, &m, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_int_equal(ctlclient_msg_parse("[1]", 3, &m, &err), -1);
	assert_int_equal(ctlclient_msg_parse("{", 1, &m, &err), -1);
}

static void
test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(ctlclient_exit_code(CTLCLIENT_OK), 0);
	assert_int_equal(ctlclient_exit_code(CTLCLIENT_TEMP), 1);
	assert_int_equal(ctlclient_exit_code(CTLCLIENT_USAGE), 2);
	assert_int_equal(ctlclient_exit_code(CTLCLIENT_BADARG), 2);
	assert_int_equal(ctlclient_exit_code(CTLCLIENT_NOMSG), 2);
	assert_int_equal(ctlclient_exit_code(CTLCLIENT_DENIED), 77);
}

struct lines {
	int n;
	int fail_at;
	char last[256];
};

static int
count_line(void *arg, const char *line, size_t n, struct err *err)
{
	struct lines *l = arg;

	l->n++;
	assert_true(n < sizeof(l->last));
	memcpy(l->last, line, n);
	l->last[n] = '\0';
	assert_int_equal(line[n], '\0');
	if (l->n == l->fail_at)
		return err_set(err, ERR_TEMP, "stop here");
	return 0;
}

/* respond - feed text through a socketpair to ctlclient_read_response. */
static int
respond(const char *text, struct lines *l, struct ctlclient_status *st,
    struct err *err)
{
	int sv[2], rc;
	struct err werr;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fs_write_all(sv[1], text, strlen(text), &werr), 0);
	assert_int_equal(close(sv[1]), 0);
	err_clear(err);
	rc = ctlclient_read_response(sv[0], count_line, l, st, err);
	assert_int_equal(close(sv[0]), 0);
	return rc;
}

static void
test_read_response(void **state)
{
	struct ctlclient_status st;
	struct lines l = { 0, 0, "" };
	struct err err;

	(void)state;
	assert_int_equal(
	    respond("{\"a\":1}\n{\"b\":2}\n200 ok fine\n", &l, &st, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.last, "{\"b\":2}");
	assert_int_equal(st.code, 200);
	assert_string_equal(st.text, "ok fine");

	memset(&l, 0, sizeof(l));
	assert_int_equal(respond("550\n", &l, &st, &err), 0);
	assert_int_equal(st.code, 550);
	assert_string_equal(st.text, "");

	assert_int_equal(respond("{\"a\":1}\n", &l, &st, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_int_equal(respond("2x0 bad\n", &l, &st, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_int_equal(respond("200x\n", &l, &st, &err), -1);
	assert_int_equal(respond("", &l, &st, &err), -1);
	assert_non_null(strstr(err.msg, "without an answer"));

	memset(&l, 0, sizeof(l));
	l.fail_at = 1;
	assert_int_equal(respond("{}\n{}\n200 ok\n", &l, &st, &err), -1);
	assert_string_equal(err.msg, "stop here");
}

static void
test_relayd_down(void **state)
{
	struct conf c;
	struct ctlclient_status st;
	struct err err;
	char path[] = "/nonexistent-relay-test/relayd.sock";

	(void)state;
	memset(&c, 0, sizeof(c));
	c.socket = path;
	err_clear(&err);
	assert_int_equal(ctlclient_connect(&c, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_non_null(strstr(err.msg,
	    "mail system is down: relayd is not "
	    "running"));
	assert_int_equal(ctlclient_flush(&c, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_int_equal(ctlclient_call(&c, "ping", NULL, NULL, &st, &err), -1);
	assert_int_equal(ctlclient_request(-1, "a\nb", &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
}

/* serve_once - a one-shot server: accept, read the request, answer. */
static pid_t
serve_once(const char *path, const char *answer)
{
	struct sockaddr_un sun;
	int lfd;
	pid_t pid;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd != -1);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		char req[256];
		struct err err;
		int fd = accept(lfd, NULL, NULL);
		ssize_t r = fd == -1 ? -1 : read(fd, req, sizeof(req) - 1);

		if (r <= 0 || strncmp(req, "RELAY-CTL 1 flush\n", 18) != 0)
			_exit(1);
		_exit(fs_write_all(fd, answer, strlen(answer), &err) == 0 ? 0
									  : 1);
	}
	(void)close(lfd);
	return pid;
}

static void
test_flush(void **state)
{
	char dir[] = "/tmp/relay-ctlclient-XXXXXX";
	char path[128];
	struct conf c;
	struct err err;
	int status;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(str_fmt(path, sizeof(path), "%s/s", dir), 0);
	memset(&c, 0, sizeof(c));
	c.socket = path;

	pid = serve_once(path, "200 queue run started\n");
	err_clear(&err);
	assert_int_equal(ctlclient_flush(&c, &err), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_int_equal(unlink(path), 0);

	pid = serve_once(path, "554 not permitted\n");
	assert_int_equal(ctlclient_flush(&c, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_non_null(strstr(err.msg, "not permitted"));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(unlink(path), 0);

	pid = serve_once(path, "451 busy\n");
	assert_int_equal(ctlclient_flush(&c, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_values),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_msg_parse),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_read_response),
		cmocka_unit_test(test_relayd_down),
		cmocka_unit_test(test_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
