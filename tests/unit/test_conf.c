/*
 * test_conf.c - relay.conf loading: defaults, every value syntax, smarthost
 * blocks, and errors that name file, line and key.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "base/err.h"
#include "base/str.h"
#include "mail/conf.h"

static char tmpl[64];

static const char *
write_conf(const char *text)
{
	FILE *f;
	int fd;

	(void)str_copy(tmpl, sizeof(tmpl), "/tmp/relay-conf-XXXXXX");
	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return tmpl;
}

static struct conf *
load(const char *text, struct err *err)
{
	struct conf *c = conf_load(write_conf(text), err);

	(void)unlink(tmpl);
	return c;
}

static void
test_defaults(void **state)
{
	struct err err;
	struct conf *c = load("", &err);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->spool_dir, "/var/spool/relay");
	assert_string_equal(c->socket, "/run/relay/relayd.sock");
	assert_string_equal(c->user, "relay");
	assert_string_equal(c->aliases, "/etc/aliases");
	assert_null(c->default_recipient);
	assert_int_equal(c->max_message_size, 50 * 1024 * 1024);
	assert_int_equal(c->hop_limit, 50);
	assert_int_equal(c->retry_base, 60);
	assert_int_equal(c->retry_max, 3600);
	assert_int_equal(c->retry_lifetime, 5 * 86400);
	assert_int_equal(c->max_messages_per_connection, 100);
	assert_int_equal(c->max_connections, 2);
	assert_int_equal(c->tls_min, TLS1_2_VERSION);
	assert_int_equal(c->nsmarthosts, 0);
	assert_non_null(c->hostname);
	assert_string_equal(c->domain, c->hostname);
	assert_true(conf_is_local_domain(c, "LOCALHOST"));
	conf_free(c);
}

static void
test_values(void **state)
{
	struct err err;
	struct conf *c = load(
	    "hostname = \"mx.example.org\"\n"
	    "max_message_size = 512K\n"
	    "retry { base = 1s  max = 2h  lifetime = 1d }\n"
	    "tls_min = 1.3\n"
	    "listen = { \"127.0.0.1:25\", \"[::1]:25\" }\n"
	    "smarthost \"primary\" { host = \"smtp.example.com\" port = 465\n"
	    "  tls = implicit username = \"u\" password_file = \"/s\" }\n"
	    "smarthost \"backup.example.com\" { tls = STARTTLS\n"
	    "  max_connections = 5 }\n",
	    &err);
	char *p;

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->domain, "mx.example.org");
	assert_true(conf_is_local_domain(c, "MX.example.org"));
	assert_false(conf_is_local_domain(c, "example.org"));
	assert_int_equal(c->max_message_size, 524288);
	assert_int_equal(c->retry_base, 1);
	assert_int_equal(c->retry_max, 7200);
	assert_int_equal(c->retry_lifetime, 86400);
	assert_int_equal(c->tls_min, TLS1_3_VERSION);
	assert_int_equal(c->nlisten, 2);
	assert_string_equal(c->listen[1], "[::1]:25");
	assert_int_equal(c->nsmarthosts, 2);
	assert_string_equal(c->smarthosts[0].host, "smtp.example.com");
	assert_int_equal(c->smarthosts[0].port, 465);
	assert_int_equal(c->smarthosts[0].tls, CONF_TLS_IMPLICIT);
	assert_int_equal(c->smarthosts[0].tls_min, TLS1_3_VERSION);
	assert_string_equal(c->smarthosts[1].host, "backup.example.com");
	assert_int_equal(c->smarthosts[1].tls, CONF_TLS_STARTTLS);
	assert_int_equal(c->smarthosts[1].max_connections, 5);
	assert_int_equal(c->smarthosts[1].max_messages_per_connection, 100);
	assert_string_equal(conf_tls_name(c->smarthosts[1].tls), "starttls");
	p = conf_db_path(c);
	assert_string_equal(p, "/var/spool/relay/queue.db");
	free(p);
	p = conf_maildrop_dir(c);
	assert_string_equal(p, "/var/spool/relay/maildrop");
	free(p);
	conf_free(c);
}

/* expect_error - loading text fails with a message containing each of
 * the given fragments. */
static void
expect_error(const char *text, const char *frag1, const char *frag2)
{
	struct err err;
	struct conf *c = load(text, &err);

	assert_null(c);
	assert_int_equal(err.cls, ERR_CONFIG);
	if (strstr(err.msg, frag1) == NULL || strstr(err.msg, frag2) == NULL)
		fail_msg(
		    "error '%s' lacks '%s' or '%s'", err.msg, frag1, frag2);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("bogus_key = 1\n", "bogus_key", ":1:");
	expect_error("\n\nretry { base = 5x }\n", "base", ":3:");
	expect_error("max_message_size = 12Q\n", "max_message_size", "12Q");
	expect_error("smarthost \"a\" { tls = maybe }\n", "tls", "maybe");
	expect_error("tls_min = 1.0\n", "tls_min", "1.0");
	expect_error("hop_limit = 0\n", "hop_limit", "out of range");
	expect_error("smarthost \"a\" { port = 70000 }\n", "port", "70000");
	expect_error("smarthost \"a\" { username = \"u\" }\n", "username",
	    "password_file");
	expect_error("smarthost \"a\" { client_cert = \"/c\" }\n",
	    "client_cert", "client_key");
	expect_error("smarthost \"a\" {}\nsmarthost \"a\" {}\n", "a", ":");
	expect_error("retry { base = 1h max = 1m }\n", "retry", "base");
	expect_error("hostname = \n", "relay-conf-", "end of file");
}

static void
test_missing_file(void **state)
{
	struct err err;

	(void)state;
	assert_null(conf_load("/nonexistent/relay.conf", &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "/nonexistent/relay.conf"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
