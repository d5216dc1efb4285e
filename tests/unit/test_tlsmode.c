/*
 * test_tlsmode.c - the TLS attempt plans of tlsmode.h as data: auto with
 * and without a port, port conventions, cached modes, forced modes; the
 * transitions (only plaintext and, between ports, unreachable); the
 * cache lookup order and when the cache is written; the taxonomy table.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/tlsmode.h"
#include "smtp/smtp_reason.h"

static void
policy(struct tlsmode_policy *p, enum conf_tls tls, int port)
{
	memset(p, 0, sizeof(*p));
	p->tls = tls;
	p->port = port;
	p->ports[0].port = 465;
	p->ports[0].expect = TLSMODE_IMPLICIT;
	p->ports[1].port = 587;
	p->ports[1].expect = TLSMODE_STARTTLS;
	p->nports = 2;
}

static void
test_conventions(void **state)
{
	struct tlsmode_policy p;

	(void)state;
	policy(&p, CONF_TLS_AUTO, 0);
	assert_int_equal(tlsmode_expect(&p, 465), TLSMODE_IMPLICIT);
	assert_int_equal(tlsmode_expect(&p, 587), TLSMODE_STARTTLS);
	assert_int_equal(tlsmode_expect(&p, 25), TLSMODE_STARTTLS);
	assert_int_equal(tlsmode_expect(&p, 2525), TLSMODE_NONE);
	p.ports[0].port = 25;
	p.ports[0].expect = TLSMODE_IMPLICIT;
	assert_int_equal(tlsmode_expect(&p, 25), TLSMODE_IMPLICIT);
}

static void
test_auto_with_port(void **state)
{
	struct tlsmode_policy p;
	struct tlsmode_plan plan;

	(void)state;
	policy(&p, CONF_TLS_AUTO, 465);
	tlsmode_plan_build(&p, NULL, 0, &plan);
	assert_int_equal(plan.n, 2);
	assert_int_equal(plan.t[0].how, TLSMODE_HOW_IMPLICIT);
	assert_int_equal(plan.t[1].how, TLSMODE_HOW_STARTTLS);
	assert_int_equal(tlsmode_plan_next(&plan, 0, TLSMODE_R_PLAINTEXT), 1);
	assert_int_equal(
	    tlsmode_plan_next(&plan, 0, TLSMODE_R_UNREACHABLE), -1);
	assert_int_equal(tlsmode_plan_next(&plan, 0, TLSMODE_R_OTHER), -1);
	assert_int_equal(tlsmode_plan_next(&plan, 1, TLSMODE_R_PLAINTEXT), -1);
	policy(&p, CONF_TLS_AUTO, 587);
	tlsmode_plan_build(&p, NULL, 0, &plan);
	assert_int_equal(plan.t[0].how, TLSMODE_HOW_GREET_OR_TLS);
	assert_int_equal(plan.t[0].port, 587);
	policy(&p, CONF_TLS_AUTO, 2525);
	tlsmode_plan_build(&p, NULL, 0, &plan);
	assert_int_equal(plan.t[0].how, TLSMODE_HOW_IMPLICIT);
	assert_false(plan.from_cache);
	assert_false(plan.tls_seen);
}

static void
test_auto_without_port(void **state)
{
	struct tlsmode_policy p;
	struct tlsmode_plan plan;
	int i;

	(void)state;
	policy(&p, CONF_TLS_AUTO, 0);
	tlsmode_plan_build(&p, NULL, 0, &plan);
	assert_int_equal(plan.n, 4);
	assert_int_equal(plan.t[0].port, 465);
	assert_int_equal(plan.t[0].how, TLSMODE_HOW_IMPLICIT);
	assert_int_equal(plan.t[2].port, 587);
	assert_int_equal(plan.t[2].how, TLSMODE_HOW_GREET_OR_TLS);
	/* 465 unreachable -> 587; plaintext on 465 -> STARTTLS on 465 */
	i = tlsmode_plan_next(&plan, 0, TLSMODE_R_UNREACHABLE);
	assert_int_equal(i, 2);
	assert_int_equal(tlsmode_plan_next(&plan, 0, TLSMODE_R_PLAINTEXT), 1);
	assert_int_equal(plan.t[1].port, 465);
	/* nothing after the last port */
	assert_int_equal(
	    tlsmode_plan_next(&plan, 2, TLSMODE_R_UNREACHABLE), -1);
	assert_int_equal(
	    tlsmode_plan_next(&plan, 1, TLSMODE_R_UNREACHABLE), -1);
}

static void
test_cached(void **state)
{
	struct tlsmode_policy p;
	struct tlsmode_plan plan;
	struct tlsmode_entry e = { TLSMODE_IMPLICIT, true, 1000 };

	(void)state;
	policy(&p, CONF_TLS_AUTO, 0);
	tlsmode_plan_build(&p, &e, 587, &plan);
	assert_true(plan.from_cache);
	assert_true(plan.tls_seen);
	assert_int_equal(plan.n, 2);
	assert_int_equal(plan.t[0].port, 587);
	/* cached implicit on a STARTTLS port: no greeting wait */
	assert_int_equal(plan.t[0].how, TLSMODE_HOW_IMPLICIT);
	/* network errors never re-detect, not even another port */
	assert_int_equal(
	    tlsmode_plan_next(&plan, 0, TLSMODE_R_UNREACHABLE), -1);
	assert_int_equal(tlsmode_plan_next(&plan, 0, TLSMODE_R_PLAINTEXT), 1);
	e.mode = TLSMODE_STARTTLS;
	tlsmode_plan_build(&p, &e, 465, &plan);
	assert_int_equal(plan.t[0].how, TLSMODE_HOW_GREET_OR_TLS);
	assert_int_equal(plan.t[0].port, 465);
}

static void
test_forced(void **state)
{
	struct tlsmode_policy p;
	struct tlsmode_plan plan;
	struct tlsmode_entry e = { TLSMODE_STARTTLS, true, 1000 };

	(void)state;
	policy(&p, CONF_TLS_IMPLICIT, 0);
	tlsmode_plan_build(&p, NULL, 0, &plan);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.t[0].port, 465);
	assert_int_equal(tlsmode_plan_next(&plan, 0, TLSMODE_R_PLAINTEXT), -1);
	policy(&p, CONF_TLS_STARTTLS, 0);
	tlsmode_plan_build(&p, NULL, 0, &plan);
	assert_int_equal(plan.t[0].port, 587);
	assert_int_equal(plan.t[0].how, TLSMODE_HOW_STARTTLS);
	policy(&p, CONF_TLS_NONE, 2525);
	tlsmode_plan_build(&p, &e, 2525, &plan);
	assert_int_equal(plan.t[0].how, TLSMODE_HOW_PLAIN);
	assert_true(plan.tls_seen); /* smtp_open refuses: downgrade */
	assert_false(plan.from_cache);
	policy(&p, CONF_TLS_NONE, 0);
	tlsmode_plan_build(&p, NULL, 0, &plan);
	assert_int_equal(plan.t[0].port, 25);
}

static int nget, nput;
static int get_port_found;
static struct tlsmode_entry stored;

static int
fake_get(void *ctx, const char *host, int port, struct tlsmode_entry *out,
    bool *found, struct err *err)
{
	(void)ctx;
	(void)host;
	(void)err;
	nget++;
	*found = port == get_port_found;
	if (*found) {
		out->mode = TLSMODE_STARTTLS;
		out->tls_seen = true;
		out->verified_at = time(NULL);
	}
	return 0;
}

static int
fake_put(void *ctx, const char *host, int port, const struct tlsmode_entry *e,
    struct err *err)
{
	(void)ctx;
	(void)host;
	(void)port;
	nput++;
	stored = *e;
	return port == 9999 ? err_set(err, ERR_TEMP, "disk full") : 0;
}

static void
test_lookup_and_store(void **state)
{
	struct tlsmode_cache c = { fake_get, fake_put, NULL };
	struct tlsmode_policy p;
	struct tlsmode_plan plan;
	struct tlsmode_entry e;
	struct err err;
	bool found, stored_now;
	int port;

	(void)state;
	policy(&p, CONF_TLS_AUTO, 0);
	nget = 0;
	get_port_found = 587;
	assert_int_equal(
	    tlsmode_lookup(&c, "h", &p, &e, &port, &found, &err), 0);
	assert_true(found);
	assert_int_equal(port, 587);
	assert_int_equal(nget, 2); /* 465 first, then 587 */
	get_port_found = 0;
	assert_int_equal(
	    tlsmode_lookup(NULL, "h", &p, &e, &port, &found, &err), 0);
	assert_false(found);
	/* new entry: stored; same again right away: not */
	tlsmode_plan_build(&p, NULL, 0, &plan);
	nput = 0;
	assert_int_equal(tlsmode_store(&c, "h", &plan, 465, TLSMODE_IMPLICIT,
			     &stored_now, &err),
	    0);
	assert_true(stored_now);
	assert_int_equal(nput, 1);
	assert_true(stored.tls_seen);
	e = stored;
	tlsmode_plan_build(&p, &e, 465, &plan);
	assert_false(tlsmode_should_store(
	    &plan, 465, TLSMODE_IMPLICIT, e.verified_at + 5));
	assert_true(tlsmode_should_store(
	    &plan, 465, TLSMODE_STARTTLS, e.verified_at + 5));
	assert_true(tlsmode_should_store(
	    &plan, 465, TLSMODE_IMPLICIT, e.verified_at + 100000));
	assert_false(
	    tlsmode_should_store(&plan, 465, TLSMODE_NONE, e.verified_at));
	tlsmode_plan_build(&p, NULL, 0, &plan);
	assert_int_equal(tlsmode_store(&c, "h", &plan, 9999, TLSMODE_IMPLICIT,
			     &stored_now, &err),
	    -1);
	assert_false(stored_now);
}

static void
test_names(void **state)
{
	enum tlsmode m;
	enum smtp_reason r;
	int i;

	(void)state;
	assert_int_equal(tlsmode_from_name("STARTTLS", &m), 0);
	assert_int_equal(m, TLSMODE_STARTTLS);
	assert_int_equal(tlsmode_from_name("tls", &m), -1);
	assert_string_equal(tlsmode_name(TLSMODE_IMPLICIT), "implicit");
	assert_string_equal(
	    tlsmode_how_name(TLSMODE_HOW_GREET_OR_TLS), "greet-or-tls");
	for (i = 0; i < SMTP_R_COUNT; i++) {
		const char *name = smtp_reason_name((enum smtp_reason)i);

		assert_int_equal(smtp_reason_from_name(name, &r), 0);
		assert_int_equal(r, i);
		assert_true(strlen(smtp_reason_text(r)) > 20);
		if (smtp_reason_class(r) == SMTP_CLASS_RELAY_FAULT)
			assert_int_not_equal(
			    smtp_reason_class_for(r, 550), SMTP_CLASS_PERM);
	}
	assert_int_equal(smtp_reason_from_name("nonsense", &r), -1);
	assert_int_equal(smtp_reason_class_for(SMTP_R_RECIPIENT_REJECTED, 450),
	    SMTP_CLASS_TEMP);
	assert_int_equal(smtp_reason_class_for(SMTP_R_RECIPIENT_REJECTED, 550),
	    SMTP_CLASS_PERM);
	assert_int_equal(smtp_reason_class_for(SMTP_R_AUTH_FAILED, 535),
	    SMTP_CLASS_RELAY_FAULT);
	assert_int_equal(
	    smtp_reason_class_for(SMTP_R_AUTH_FAILED, 454), SMTP_CLASS_TEMP);
	assert_int_equal(smtp_class_err(SMTP_CLASS_RELAY_FAULT), ERR_CONFIG);
	assert_int_equal(
	    smtp_reason_scope(SMTP_R_RECIPIENT_REJECTED), SMTP_SCOPE_RECIPIENT);
	assert_int_equal(
	    smtp_reason_scope(SMTP_R_CONNECT_REFUSED), SMTP_SCOPE_SESSION);
	assert_string_equal(smtp_stage_name(SMTP_STAGE_RCPT), "rcpt");
	assert_string_equal(smtp_reason_name(SMTP_R_COUNT), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conventions),
		cmocka_unit_test(test_auto_with_port),
		cmocka_unit_test(test_auto_without_port),
		cmocka_unit_test(test_cached),
		cmocka_unit_test(test_forced),
		cmocka_unit_test(test_lookup_and_store),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
