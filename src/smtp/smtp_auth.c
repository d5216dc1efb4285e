/*
 * smtp_auth.c - SMTP AUTH: PLAIN, LOGIN, CRAM-MD5 and XOAUTH2.
 *
 * Part of smtp: smtp_open() calls smtp_auth() once per session, after the
 * last EHLO, inside verified TLS (or with tls = none only when
 * auth_without_tls is set, which smtp_open checks before connecting).
 *
 * Data: the secret and the encoded responses, each wiped before it is
 * freed.  Invariant: credentials are sent only on a connection whose TLS
 * handshake verified, or under the explicit plaintext switch.
 *
 * Implements RFC 4954 (AUTH), RFC 4616 (PLAIN), RFC 2195 (CRAM-MD5), the
 * LOGIN and XOAUTH2 conventions (draft-murchison-sasl-login, Google's
 * XOAUTH2 with a bearer token from password_command).
 *
 * Security: every line that carries a secret is queued with
 * smtp_cmd_secret, so traces show "<redacted>"; outcomes carry only the
 * server's reply; the secret never reaches a log.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "smtp/smtp_priv.h"

#define SMTP_AUTH_DEFAULT \
	{ \
		SMTP_MECH_PLAIN, SMTP_MECH_LOGIN, SMTP_MECH_CRAM_MD5 \
	}

/* smtp_b64 - base64 of p[0..n), owned by the caller (xwipe_free). */
static char *
smtp_b64(const unsigned char *p, size_t n, size_t *outlen)
{
	size_t cap = 4 * ((n + 2) / 3) + 1;
	char *o = xmalloc(cap);
	int len = EVP_EncodeBlock((unsigned char *)o, p, (int)n);

	*outlen = cap;
	o[len > 0 ? len : 0] = '\0';
	return o;
}

/* smtp_unb64 - decode the text of a 334 reply; -1 if malformed. */
static int
smtp_unb64(
    const char *t, size_t n, unsigned char *out, size_t size, size_t *len)
{
	int r;
	size_t pad = 0;

	if (n == 0 || n % 4 != 0 || (n / 4) * 3 > size)
		return -1;
	r = EVP_DecodeBlock(out, (const unsigned char *)t, (int)n);
	if (r < 0)
		return -1;
	if (t[n - 1] == '=')
		pad++;
	if (t[n - 2] == '=')
		pad++;
	*len = (size_t)r - pad;
	return 0;
}

/* smtp_auth_final - judge the final AUTH reply. */
static int
smtp_auth_final(struct smtp_session *s, struct smtp_outcome *out)
{
	if (s->reply.code == 235)
		return 0;
	s->state = SMTP_ST_BROKEN;
	if (s->reply.code >= 400)
		return smtp_fail_reply(
		    s, out, SMTP_R_AUTH_FAILED, SMTP_STAGE_AUTH);
	return smtp_fail_reply(s, out, SMTP_R_PROTOCOL_ERROR, SMTP_STAGE_AUTH);
}

/* smtp_auth_step - send what is queued and read the reply. */
static int
smtp_auth_step(struct smtp_session *s, struct smtp_outcome *out)
{
	long long ms = smtp_ms(s->conf->command_timeout);

	if (smtp_flush(s, ms, SMTP_STAGE_AUTH, out) == -1 ||
	    smtp_read(s, ms, SMTP_STAGE_AUTH, out) == -1)
		return -1;
	return 0;
}

/* smtp_auth_expect_334 - the reply must be a challenge. */
static int
smtp_auth_expect_334(struct smtp_session *s, struct smtp_outcome *out)
{
	if (s->reply.code == 334)
		return 0;
	return smtp_auth_final(s, out) == 0
	    ? smtp_fail_reply(s, out, SMTP_R_PROTOCOL_ERROR, SMTP_STAGE_AUTH)
	    : -1;
}

/* smtp_send_secret_b64 - base64 of p as one (redacted) line. */
static void
smtp_send_secret_b64(
    struct smtp_session *s, const char *shown, const unsigned char *p, size_t n)
{
	size_t cap;
	char *b = smtp_b64(p, n, &cap);

	smtp_cmd_secret(s, shown, b);
	xwipe_free(b, cap);
}

static int
smtp_auth_plain(struct smtp_session *s, const char *user, const char *pass,
    struct smtp_outcome *out)
{
	size_t ul = strlen(user), pl = strlen(pass), n = ul + pl + 2;
	unsigned char *msg = xmalloc(n);

	msg[0] = '\0';
	memcpy(msg + 1, user, ul);
	msg[ul + 1] = '\0';
	memcpy(msg + ul + 2, pass, pl);
	smtp_send_secret_b64(s, "AUTH PLAIN", msg, n);
	xwipe_free(msg, n);
	if (smtp_auth_step(s, out) == -1)
		return -1;
	return smtp_auth_final(s, out);
}

static int
smtp_auth_login(struct smtp_session *s, const char *user, const char *pass,
    struct smtp_outcome *out)
{
	smtp_cmd(s, "AUTH LOGIN");
	if (smtp_auth_step(s, out) == -1 || smtp_auth_expect_334(s, out) == -1)
		return -1;
	smtp_send_secret_b64(s, "", (const unsigned char *)user, strlen(user));
	if (smtp_auth_step(s, out) == -1 || smtp_auth_expect_334(s, out) == -1)
		return -1;
	smtp_send_secret_b64(s, "", (const unsigned char *)pass, strlen(pass));
	if (smtp_auth_step(s, out) == -1)
		return -1;
	return smtp_auth_final(s, out);
}

static int
smtp_auth_cram(struct smtp_session *s, const char *user, const char *pass,
    struct smtp_outcome *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char chal[1024], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	size_t clen = 0, ul = strlen(user), n;
	unsigned char *resp;

	smtp_cmd(s, "AUTH CRAM-MD5");
	if (smtp_auth_step(s, out) == -1 || smtp_auth_expect_334(s, out) == -1)
		return -1;
	if (smtp_unb64(s->reply.text.data, s->reply.text.len, chal,
		sizeof(chal), &clen) == -1) {
		s->state = SMTP_ST_BROKEN;
		return smtp_fail_reply(
		    s, out, SMTP_R_PROTOCOL_ERROR, SMTP_STAGE_AUTH);
	}
	if (HMAC(EVP_md5(), pass, (int)strlen(pass), chal, clen, md, &mdlen) ==
	    NULL)
		return smtp_fail(s, out, SMTP_R_LOCAL_ERROR, SMTP_STAGE_AUTH,
		    "HMAC-MD5 unavailable");
	n = ul + 1 + 2 * mdlen;
	resp = xmalloc(n);
	memcpy(resp, user, ul);
	resp[ul] = ' ';
	for (i = 0; i < mdlen; i++) {
		resp[ul + 1 + 2 * i] = (unsigned char)hex[md[i] >> 4];
		resp[ul + 2 + 2 * i] = (unsigned char)hex[md[i] & 15];
	}
	OPENSSL_cleanse(md, sizeof(md));
	smtp_send_secret_b64(s, "", resp, n);
	xwipe_free(resp, n);
	if (smtp_auth_step(s, out) == -1)
		return -1;
	return smtp_auth_final(s, out);
}

static int
smtp_auth_xoauth2(struct smtp_session *s, const char *user, const char *token,
    struct smtp_outcome *out)
{
	char *msg = xasprintf("user=%s\001auth=Bearer %s\001\001", user, token);
	size_t n = strlen(msg);

	smtp_send_secret_b64(s, "AUTH XOAUTH2", (unsigned char *)msg, n);
	xwipe_free(msg, n);
	if (smtp_auth_step(s, out) == -1)
		return -1;
	if (s->reply.code == 334) {
		/* The error details come as a challenge; an empty answer
		 * gets the final failure reply (RFC 7628 3.2.3). */
		smtp_cmd(s, "%s", "");
		if (smtp_auth_step(s, out) == -1)
			return -1;
		if (s->reply.code == 235)
			return smtp_fail_reply(
			    s, out, SMTP_R_PROTOCOL_ERROR, SMTP_STAGE_AUTH);
	}
	return smtp_auth_final(s, out);
}

/* smtp_auth_choose - the first configured (or default) mechanism the
 * server offers; 0 if none, -1 on an unknown configured name. */
static int
smtp_auth_choose(
    struct smtp_session *s, enum smtp_mech *mech, struct smtp_outcome *out)
{
	static const enum smtp_mech defaults[] = SMTP_AUTH_DEFAULT;
	const char *p = s->sh->auth_mechanisms;
	size_t i;

	*mech = (enum smtp_mech)0;
	if (p == NULL) {
		for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			if (s->caps.mechs & defaults[i]) {
				*mech = defaults[i];
				break;
			}
		return 0;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, " ,\t");
		enum smtp_mech m = smtp_mech_from_name(p, n);

		if (n > 0 && m == 0)
			return smtp_fail(s, out, SMTP_R_CONFIG_ERROR,
			    SMTP_STAGE_AUTH,
			    "auth_mechanisms: unknown mechanism \"%.*s\" (use "
			    "PLAIN, LOGIN, CRAM-MD5 or XOAUTH2)",
			    (int)n, p);
		if (*mech == 0 && (s->caps.mechs & m))
			*mech = m;
		p += n;
		p += strspn(p, " ,\t");
	}
	return 0;
}

/* smtp_auth_run - the chosen mechanism with the secret. */
static int
smtp_auth_run(struct smtp_session *s, enum smtp_mech mech, const char *secret,
    struct smtp_outcome *out)
{
	const char *user = s->sh->username;

	switch (mech) {
	case SMTP_MECH_PLAIN:
		return smtp_auth_plain(s, user, secret, out);
	case SMTP_MECH_LOGIN:
		return smtp_auth_login(s, user, secret, out);
	case SMTP_MECH_CRAM_MD5:
		return smtp_auth_cram(s, user, secret, out);
	case SMTP_MECH_XOAUTH2:
		return smtp_auth_xoauth2(s, user, secret, out);
	}
	return smtp_fail(
	    s, out, SMTP_R_LOCAL_ERROR, SMTP_STAGE_AUTH, "no mechanism");
}

int
smtp_auth(struct smtp_session *s, struct smtp_outcome *out)
{
	enum smtp_mech mech;
	struct buf secret;
	struct err err;
	int rc;

	if (s->sh->username == NULL)
		return 0;
	if (s->o.flags & SMTP_NO_AUTH) {
		s->auth = "skipped";
		smtp_event_emit(s, SMTP_EV_AUTH, "skipped (--no-auth)");
		return 0;
	}
	if (!conn_is_tls(s->conn) &&
	    !(s->sh->tls == CONF_TLS_NONE && s->sh->auth_without_tls))
		return smtp_fail(s, out, SMTP_R_CONFIG_ERROR, SMTP_STAGE_AUTH,
		    "credentials are sent only inside verified TLS");
	if (smtp_auth_choose(s, &mech, out) == -1)
		return -1;
	if (mech == 0)
		return smtp_fail(s, out, SMTP_R_AUTH_UNAVAILABLE,
		    SMTP_STAGE_AUTH, "offered: %s; configured: %s",
		    s->caps.auth_list[0] != '\0' ? s->caps.auth_list : "none",
		    s->sh->auth_mechanisms != NULL ? s->sh->auth_mechanisms
						   : "PLAIN LOGIN CRAM-MD5");
	buf_init(&secret, SMTP_SECRET_LIMIT);
	err_clear(&err);
	if (smtp_secret_load(s->sh, smtp_ms(s->conf->command_timeout), &secret,
		&err) == -1) {
		buf_wipe_free(&secret);
		return smtp_fail(s, out, SMTP_R_CONFIG_ERROR, SMTP_STAGE_AUTH,
		    "%s", err.msg);
	}
	rc = smtp_auth_run(s, mech, secret.data, out);
	buf_wipe_free(&secret);
	(void)str_copy(
	    s->auth_mech, sizeof(s->auth_mech), smtp_mech_name(mech));
	smtp_event_emit(s, SMTP_EV_AUTH, "%s %s", smtp_mech_name(mech),
	    rc == 0 ? "accepted" : out->text);
	if (rc == 0)
		s->auth = "ok";
	return rc;
}
