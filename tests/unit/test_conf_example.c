/*
 * test_conf_example.c - the documented configuration is loadable: the
 * shipped etc/relay.conf as it is, the same file with every example setting
 * switched on, and each "Example:" of man/relay.conf.5 on its own.
 *
 * etc/relay.conf marks a switched-off setting by a '#' followed directly by
 * a lower-case letter, a tab or '}' (prose comments use "# ").  The source
 * tree is found from this file's own path.
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

#include "base/buf.h"
#include "base/err.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mail/conf.h"

#define TEXT_MAX (1024 * 1024)

static char src_dir[4096];

/* source_path - OUT: path of rel inside the source tree (owned by the
 * caller). */
static char *
source_path(const char *rel)
{
	return xasprintf("%s/%s", src_dir, rel);
}

/* read_text - the whole file into b (initialised by this function). */
static void
read_text(const char *path, struct buf *b)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		fail_msg("cannot open %s", path);
	buf_init(b, TEXT_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_append(b, chunk, n), 0);
	assert_int_equal(ferror(f), 0);
	assert_int_equal(fclose(f), 0);
}

/* load_text - conf_load on text written to a temporary file. */
static struct conf *
load_text(const char *text, struct err *err)
{
	char path[] = "/tmp/relay-conf-example-XXXXXX";
	struct conf *c;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	c = conf_load(path, err);
	assert_int_equal(unlink(path), 0);
	return c;
}

/* is_switched_off - a "#key = value", "#<tab>..." or "#}" line? */
static bool
is_switched_off(const char *line)
{
	return line[0] == '#' &&
	    ((line[1] >= 'a' && line[1] <= 'z') || line[1] == '\t' ||
		line[1] == '}');
}

/* uncomment_all - OUT: text with every switched-off setting switched on. */
static void
uncomment_all(const char *text, struct buf *out)
{
	const char *p = text;

	buf_init(out, TEXT_MAX);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);

		if (is_switched_off(p))
			assert_int_equal(buf_append(out, p + 1, len - 1), 0);
		else
			assert_int_equal(buf_append(out, p, len), 0);
		p += len;
	}
}

static void
test_shipped_file_loads(void **state)
{
	struct err err;
	char *path = source_path("etc/relay.conf");
	struct conf *c = conf_load(path, &err);

	(void)state;
	if (c == NULL)
		fail_msg("etc/relay.conf: %s", err.msg);
	assert_int_equal(c->nsmarthosts, 0);
	assert_string_equal(c->spool_dir, "/var/spool/relay");
	assert_int_equal(c->nlisten, 0);
	conf_free(c);
	xfree(path);
}

static void
check_examples(const struct conf *c)
{
	const struct conf_smarthost *h = &c->smarthosts[0];

	assert_string_equal(c->hostname, "web1.example.org");
	assert_string_equal(c->domain, "example.org");
	assert_string_equal(c->default_recipient, "admin@example.org");
	assert_true(c->undisclosed_recipients);
	assert_int_equal(c->max_message_size, 50 * 1024 * 1024);
	assert_int_equal(c->retry_base, 60);
	assert_int_equal(c->retry_max, 3600);
	assert_int_equal(c->retry_lifetime, 5 * 86400);
	assert_int_equal(c->greeting_wait, 3);
	assert_int_equal(c->bounce_return_size, 100 * 1024);
	assert_int_equal(c->tls_min, TLS1_2_VERSION);
	assert_int_equal(c->nlisten, 2);
	assert_string_equal(c->listen[1], "[::1]:25");
	assert_int_equal(c->nsmarthosts, 1);
	assert_string_equal(h->name, "smtp.example.net");
	assert_int_equal(h->port, 465);
	assert_int_equal(h->tls, CONF_TLS_AUTO);
	assert_string_equal(h->password_file, "/etc/relay/secret");
	assert_non_null(h->password_command);
	assert_non_null(h->fingerprint);
	assert_non_null(h->client_key);
	assert_string_equal(h->helo, "web1.example.org");
}

static void
test_every_example_setting_loads(void **state)
{
	struct err err;
	struct buf text, on;
	char *path = source_path("etc/relay.conf");
	struct conf *c;

	(void)state;
	read_text(path, &text);
	uncomment_all(text.data, &on);
	c = load_text(on.data, &err);
	if (c == NULL)
		fail_msg("etc/relay.conf uncommented: %s", err.msg);
	check_examples(c);
	conf_free(c);
	buf_free(&on);
	buf_free(&text);
	xfree(path);
}

/* unroff - OUT: the text of a ".Ql" argument with roff escapes resolved. */
static void
unroff(const char *s, struct buf *out)
{
	buf_reset(out);
	while (*s != '\0' && *s != '\n') {
		if (strncmp(s, "\\(dq", 4) == 0) {
			assert_int_equal(buf_putc(out, '"'), 0);
			s += 4;
		} else if (strncmp(s, "\\&", 2) == 0) {
			s += 2;
		} else {
			assert_int_equal(buf_putc(out, *s), 0);
			s++;
		}
	}
}

/* Where an example of the page belongs. */
enum example_scope {
	SCOPE_TOP,
	SCOPE_RETRY,
	SCOPE_SMARTHOST,
};

/* example_conf - OUT: a whole file around one example line; retry and
 * smarthost keys go in their block, with any key that must accompany
 * them. */
static void
example_conf(const char *ex, enum example_scope scope, struct buf *out)
{
	const char *extra = "";

	buf_reset(out);
	if (scope == SCOPE_TOP) {
		assert_int_equal(buf_appendf(out, "%s\n", ex), 0);
		return;
	}
	if (scope == SCOPE_RETRY) {
		assert_int_equal(buf_appendf(out, "retry {\n%s\n}\n", ex), 0);
		return;
	}
	if (strncmp(ex, "username", 8) == 0)
		extra = "password_file = \"/s\"";
	else if (strncmp(ex, "client_cert", 11) == 0)
		extra = "client_key = \"/k\"";
	else if (strncmp(ex, "client_key", 10) == 0)
		extra = "client_cert = \"/c\"";
	assert_int_equal(
	    buf_appendf(out, "smarthost \"x\" {\n%s\n%s\n}\n", ex, extra), 0);
}

static void
test_man_page_examples_load(void **state)
{
	struct err err;
	struct buf page, ex, conf_text;
	char *path = source_path("man/relay.conf.5");
	const char *p;
	enum example_scope scope = SCOPE_TOP;
	bool prev_example = false, literal;
	int n = 0;

	(void)state;
	read_text(path, &page);
	buf_init(&ex, 4096);
	buf_init(&conf_text, 8192);
	for (p = page.data; p != NULL && *p != '\0';) {
		literal = false;
		if (strncmp(p, ".It Ic retry", 12) == 0)
			scope = SCOPE_RETRY;
		else if (scope == SCOPE_RETRY && strncmp(p, ".El", 3) == 0)
			scope = SCOPE_TOP;
		else if (strncmp(p, ".Ss Smarthost blocks", 20) == 0)
			scope = SCOPE_SMARTHOST;
		else if (strncmp(p, ".Ss Secret files", 16) == 0)
			scope = SCOPE_TOP;
		if (prev_example && strncmp(p, ".Bd -literal", 12) == 0) {
			/* the example is the display's first line */
			p = strchr(p, '\n');
			assert_non_null(p);
			p++;
			prev_example = false;
			literal = true;
		}
		if (prev_example && !literal && strncmp(p, ".Ql ", 4) != 0)
			fail_msg("relay.conf.5: \"Example:\" without .Ql");
		if (prev_example || literal) {
			struct conf *c;

			unroff(p + (literal ? 0 : 4), &ex);
			example_conf(ex.data, scope, &conf_text);
			c = load_text(conf_text.data, &err);
			if (c == NULL)
				fail_msg("relay.conf.5 example '%s': %s",
				    ex.data, err.msg);
			conf_free(c);
			n++;
		}
		prev_example = strncmp(p, "Example:\n", 9) == 0;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	assert_true(n >= 40);
	buf_free(&conf_text);
	buf_free(&ex);
	buf_free(&page);
	xfree(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_file_loads),
		cmocka_unit_test(test_every_example_setting_loads),
		cmocka_unit_test(test_man_page_examples_load),
	};
	const char *slash;

	/* __FILE__ is SRC/tests/unit/test_conf_example.c */
	if (str_copy(src_dir, sizeof(src_dir), __FILE__) == -1)
		return 1;
	slash = strstr(src_dir, "/tests/unit/");
	if (slash == NULL)
		return 1;
	src_dir[slash - src_dir] = '\0';
	return cmocka_run_group_tests(tests, NULL, NULL);
}
