/*
 * conf.c - the relay.conf table (libconfuse) and its conversion into an
 * immutable struct conf.
 *
 * This table is the one place that declares every key and its default;
 * etc/relay.conf and man/relay.conf.5 list the same keys.  Durations and
 * sizes are parsed by callbacks during the parse, so a bad value is reported
 * with file and line.  An unknown key is an error (libconfuse reports it).
 *
 * Security: the file holds no secrets (passwords live in password_file).
 * sendmail reads it with the caller's privileges only from the compiled-in
 * path unless the caller is root.
 */
#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "mail/conf.h"

static int conf_cb_duration(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
static int conf_cb_size(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
static int conf_cb_tls(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
static int conf_cb_tlsver(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
static void conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The error of the parse in progress (libconfuse reports through a hook). */
static struct err *conf_cur_err;
/* The root of that parse: sections carry no file name or line of their own. */
static cfg_t *conf_cur_root;

/* libconfuse wants a writable string for a list default. */
static char conf_empty_list[] = "{}";
static char conf_auto_ports_list[] = "{\"465:implicit\", \"587:starttls\"}";

static cfg_opt_t conf_retry_opts[] = { CFG_INT_CB("base", 60, CFGF_NONE,
					   conf_cb_duration),
	CFG_INT_CB("max", 3600, CFGF_NONE, conf_cb_duration),
	CFG_INT_CB("lifetime", 5 * 86400, CFGF_NONE, conf_cb_duration),
	CFG_END() };

static cfg_opt_t conf_smarthost_opts[] = {
	CFG_STR("host", NULL, CFGF_NODEFAULT), CFG_INT("port", 0, CFGF_NONE),
	CFG_INT_CB("tls", CONF_TLS_AUTO, CFGF_NONE, conf_cb_tls),
	CFG_STR("username", NULL, CFGF_NODEFAULT),
	CFG_STR("password_file", NULL, CFGF_NODEFAULT),
	CFG_STR("password_command", NULL, CFGF_NODEFAULT),
	CFG_STR("auth_mechanisms", NULL, CFGF_NODEFAULT),
	CFG_BOOL("auth_without_tls", cfg_false, CFGF_NONE),
	CFG_STR("ca_file", NULL, CFGF_NODEFAULT),
	CFG_STR("fingerprint", NULL, CFGF_NODEFAULT),
	CFG_STR("client_cert", NULL, CFGF_NODEFAULT),
	CFG_STR("client_key", NULL, CFGF_NODEFAULT),
	CFG_STR("helo", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("tls_min", 0, CFGF_NONE, conf_cb_tlsver),
	CFG_INT("max_messages_per_connection", 0, CFGF_NONE),
	CFG_INT("max_connections", 0, CFGF_NONE), CFG_END()
};

static cfg_opt_t conf_opts[] = { CFG_STR("hostname", NULL, CFGF_NODEFAULT),
	CFG_STR("domain", NULL, CFGF_NODEFAULT),
	CFG_STR("spool_dir", "/var/spool/relay", CFGF_NONE),
	CFG_STR("socket", "/run/relay/relayd.sock", CFGF_NONE),
	CFG_STR("user", "relay", CFGF_NONE),
	CFG_STR("group", "relay", CFGF_NONE),
	CFG_STR("aliases", "/etc/aliases", CFGF_NONE),
	CFG_STR("default_recipient", NULL, CFGF_NODEFAULT),
	CFG_STR("log_file", NULL, CFGF_NODEFAULT),
	CFG_BOOL("undisclosed_recipients", cfg_false, CFGF_NONE),
	CFG_INT_CB(
	    "max_message_size", 50L * 1024 * 1024, CFGF_NONE, conf_cb_size),
	CFG_INT("hop_limit", 50, CFGF_NONE),
	CFG_SEC("retry", conf_retry_opts, CFGF_NONE),
	CFG_INT_CB("connect_timeout", 30, CFGF_NONE, conf_cb_duration),
	CFG_INT_CB("greeting_timeout", 300, CFGF_NONE, conf_cb_duration),
	CFG_INT_CB("greeting_wait", 3, CFGF_NONE, conf_cb_duration),
	CFG_INT_CB("command_timeout", 300, CFGF_NONE, conf_cb_duration),
	CFG_INT_CB("data_timeout", 600, CFGF_NONE, conf_cb_duration),
	CFG_INT_CB("session_timeout", 3600, CFGF_NONE, conf_cb_duration),
	CFG_INT_CB("lease_time", 900, CFGF_NONE, conf_cb_duration),
	CFG_INT_CB("bounce_return_size", 100L * 1024, CFGF_NONE, conf_cb_size),
	CFG_INT_CB("tls_min", CONF_TLS1_2, CFGF_NONE, conf_cb_tlsver),
	CFG_INT("max_messages_per_connection", 100, CFGF_NONE),
	CFG_INT("max_connections", 2, CFGF_NONE),
	CFG_STR_LIST("listen", conf_empty_list, CFGF_NONE),
	CFG_INT("listen_max_connections", 20, CFGF_NONE),
	CFG_STR_LIST("tls_auto_ports", conf_auto_ports_list, CFGF_NONE),
	CFG_SEC("smarthost", conf_smarthost_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END() };

static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[200];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (conf_cur_err == NULL || conf_cur_err->cls != ERR_NONE)
		return; /* keep the first error */
	if (conf_cur_root != NULL && (cfg == NULL || cfg->filename == NULL))
		cfg = conf_cur_root;
	if (cfg != NULL && cfg->filename != NULL && cfg->line > 0)
		(void)err_set(conf_cur_err, ERR_CONFIG, "%s:%d: %s",
		    cfg->filename, cfg->line, msg);
	else
		(void)err_set(conf_cur_err, ERR_CONFIG, "%s: %s",
		    cfg != NULL && cfg->filename ? cfg->filename : "config",
		    msg);
}

static int
conf_cb_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	long long v;

	if (str_parse_duration(value, &v) == -1) {
		cfg_error(cfg,
		    "%s: invalid duration '%s' (write e.g. 30s, "
		    "5m, 2h or 5d)",
		    opt->name, value);
		return -1;
	}
	*(long *)result = (long)v;
	return 0;
}

static int
conf_cb_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	uint64_t v;

	if (str_parse_size(value, &v) == -1) {
		cfg_error(cfg,
		    "%s: invalid size '%s' (write e.g. 512K or "
		    "50M)",
		    opt->name, value);
		return -1;
	}
	*(long *)result = (long)v;
	return 0;
}

static int
conf_cb_tls(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	static const char *const names[] = { "auto", "implicit", "starttls",
		"none" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (str_eq_ci(value, names[i])) {
			*(long *)result = (long)i;
			return 0;
		}
	}
	cfg_error(cfg,
	    "%s: invalid value '%s' (use auto, implicit, "
	    "starttls or none)",
	    opt->name, value);
	return -1;
}

static int
conf_cb_tlsver(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	if (strcmp(value, "1.2") == 0 || str_eq_ci(value, "TLSv1.2"))
		*(long *)result = CONF_TLS1_2;
	else if (strcmp(value, "1.3") == 0 || str_eq_ci(value, "TLSv1.3"))
		*(long *)result = CONF_TLS1_3;
	else {
		cfg_error(cfg,
		    "%s: invalid TLS version '%s' (use 1.2 or "
		    "1.3)",
		    opt->name, value);
		return -1;
	}
	return 0;
}

/* conf_strdup_opt - duplicate a string option, NULL when unset/empty. */
static char *
conf_strdup_opt(cfg_t *sec, const char *name)
{
	const char *v = cfg_getstr(sec, name);

	return v != NULL && *v != '\0' ? xstrdup(v) : NULL;
}

/* conf_fqdn - the machine's fully qualified name, best effort. */
static char *
conf_fqdn(void)
{
	char name[256];
	struct addrinfo hints, *res = NULL;
	char *out;

	if (gethostname(name, sizeof(name)) == -1)
		return xstrdup("localhost");
	name[sizeof(name) - 1] = '\0';
	if (strchr(name, '.') != NULL)
		return xstrdup(name);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_family = AF_UNSPEC;
	if (getaddrinfo(name, NULL, &hints, &res) == 0 && res != NULL &&
	    res->ai_canonname != NULL && strchr(res->ai_canonname, '.'))
		out = xstrdup(res->ai_canonname);
	else
		out = xstrdup(name);
	if (res != NULL)
		freeaddrinfo(res);
	return out;
}

static int
conf_check_int(const char *key, long v, long min, long max, struct err *err,
    const char *path)
{
	if (v < min || v > max)
		return err_set(err, ERR_CONFIG,
		    "%s: %s: value %ld out of range (%ld to %ld)", path, key, v,
		    min, max);
	return 0;
}

static int
conf_load_smarthost(
    struct conf *c, cfg_t *s, struct conf_smarthost *h, struct err *err)
{
	const char *title = cfg_title(s);

	h->name = xstrdup(title != NULL ? title : "");
	h->host = conf_strdup_opt(s, "host");
	if (h->host == NULL)
		h->host = xstrdup(h->name);
	if (*h->host == '\0')
		return err_set(err, ERR_CONFIG,
		    "%s: smarthost \"%s\": empty host name", c->path, h->name);
	h->port = (int)cfg_getint(s, "port");
	if (conf_check_int("port", h->port, 0, 65535, err, c->path) == -1)
		return -1;
	h->tls = (enum conf_tls)cfg_getint(s, "tls");
	h->username = conf_strdup_opt(s, "username");
	h->password_file = conf_strdup_opt(s, "password_file");
	h->password_command = conf_strdup_opt(s, "password_command");
	h->auth_mechanisms = conf_strdup_opt(s, "auth_mechanisms");
	h->auth_without_tls = cfg_getbool(s, "auth_without_tls");
	h->ca_file = conf_strdup_opt(s, "ca_file");
	h->fingerprint = conf_strdup_opt(s, "fingerprint");
	h->client_cert = conf_strdup_opt(s, "client_cert");
	h->client_key = conf_strdup_opt(s, "client_key");
	h->helo = conf_strdup_opt(s, "helo");
	h->tls_min = (int)cfg_getint(s, "tls_min");
	if (h->tls_min == 0)
		h->tls_min = c->tls_min;
	h->max_messages_per_connection =
	    (int)cfg_getint(s, "max_messages_per_connection");
	if (h->max_messages_per_connection <= 0)
		h->max_messages_per_connection = c->max_messages_per_connection;
	h->max_connections = (int)cfg_getint(s, "max_connections");
	if (h->max_connections <= 0)
		h->max_connections = c->max_connections;
	if ((h->client_cert == NULL) != (h->client_key == NULL))
		return err_set(err, ERR_CONFIG,
		    "%s: smarthost \"%s\": client_cert and client_key go "
		    "together",
		    c->path, h->name);
	if (h->username != NULL && h->password_file == NULL &&
	    h->password_command == NULL)
		return err_set(err, ERR_CONFIG,
		    "%s: smarthost \"%s\": username needs password_file or "
		    "password_command",
		    c->path, h->name);
	return 0;
}

/* conf_fill_tls_ports - parse tls_auto_ports ("PORT:implicit" or
 * "PORT:starttls", at most CONF_MAX_TLS_PORTS, no port twice). */
static int
conf_fill_tls_ports(struct conf *c, cfg_t *cfg, struct err *err)
{
	size_t i, j, n = cfg_size(cfg, "tls_auto_ports");

	if (n > CONF_MAX_TLS_PORTS)
		return err_set(err, ERR_CONFIG,
		    "%s: tls_auto_ports: at most %d entries", c->path,
		    CONF_MAX_TLS_PORTS);
	for (i = 0; i < n; i++) {
		const char *v = cfg_getnstr(cfg, "tls_auto_ports", (unsigned)i);
		const char *colon = v != NULL ? strchr(v, ':') : NULL;
		char num[8];
		long long port;
		struct conf_tls_port *tp = &c->tls_auto_ports[i];

		if (colon == NULL || colon == v ||
		    (size_t)(colon - v) >= sizeof(num))
			goto bad;
		memcpy(num, v, (size_t)(colon - v));
		num[colon - v] = '\0';
		if (str_to_ll(num, 1, 65535, &port) == -1)
			goto bad;
		tp->port = (int)port;
		if (str_eq_ci(colon + 1, "implicit"))
			tp->expect = CONF_TLS_IMPLICIT;
		else if (str_eq_ci(colon + 1, "starttls"))
			tp->expect = CONF_TLS_STARTTLS;
		else
			goto bad;
		for (j = 0; j < i; j++)
			if (c->tls_auto_ports[j].port == tp->port)
				goto bad;
		continue;
	bad:
		return err_set(err, ERR_CONFIG,
		    "%s: tls_auto_ports: invalid entry '%s' (write "
		    "PORT:implicit or PORT:starttls, each port once)",
		    c->path, v != NULL ? v : "");
	}
	c->ntls_auto_ports = n;
	return 0;
}

static int
conf_fill(struct conf *c, cfg_t *cfg, struct err *err)
{
	cfg_t *retry = cfg_getsec(cfg, "retry");
	size_t i;

	c->hostname = conf_strdup_opt(cfg, "hostname");
	if (c->hostname == NULL)
		c->hostname = conf_fqdn();
	c->domain = conf_strdup_opt(cfg, "domain");
	if (c->domain == NULL)
		c->domain = xstrdup(c->hostname);
	c->spool_dir = xstrdup(cfg_getstr(cfg, "spool_dir"));
	c->socket = xstrdup(cfg_getstr(cfg, "socket"));
	c->user = xstrdup(cfg_getstr(cfg, "user"));
	c->group = xstrdup(cfg_getstr(cfg, "group"));
	c->aliases = xstrdup(cfg_getstr(cfg, "aliases"));
	c->default_recipient = conf_strdup_opt(cfg, "default_recipient");
	c->log_file = conf_strdup_opt(cfg, "log_file");
	c->undisclosed_recipients = cfg_getbool(cfg, "undisclosed_recipients");
	c->max_message_size = (uint64_t)cfg_getint(cfg, "max_message_size");
	c->hop_limit = (int)cfg_getint(cfg, "hop_limit");
	c->retry_base = cfg_getint(retry, "base");
	c->retry_max = cfg_getint(retry, "max");
	c->retry_lifetime = cfg_getint(retry, "lifetime");
	c->connect_timeout = cfg_getint(cfg, "connect_timeout");
	c->greeting_timeout = cfg_getint(cfg, "greeting_timeout");
	c->greeting_wait = cfg_getint(cfg, "greeting_wait");
	c->command_timeout = cfg_getint(cfg, "command_timeout");
	c->data_timeout = cfg_getint(cfg, "data_timeout");
	c->session_timeout = cfg_getint(cfg, "session_timeout");
	c->lease_time = cfg_getint(cfg, "lease_time");
	c->bounce_return_size = (uint64_t)cfg_getint(cfg, "bounce_return_size");
	c->tls_min = (int)cfg_getint(cfg, "tls_min");
	c->max_messages_per_connection =
	    (int)cfg_getint(cfg, "max_messages_per_connection");
	c->max_connections = (int)cfg_getint(cfg, "max_connections");
	c->listen_max_connections =
	    (int)cfg_getint(cfg, "listen_max_connections");
	if (conf_check_int("hop_limit", c->hop_limit, 1, 1000, err, c->path) ==
		-1 ||
	    conf_check_int("max_messages_per_connection",
		c->max_messages_per_connection, 1, 100000, err,
		c->path) == -1 ||
	    conf_check_int("max_connections", c->max_connections, 1, 64, err,
		c->path) == -1)
		return -1;
	if (c->retry_base < 1 || c->retry_max < c->retry_base)
		return err_set(err, ERR_CONFIG,
		    "%s: retry: base must be at "
		    "least 1s and max at least base",
		    c->path);
	if (conf_fill_tls_ports(c, cfg, err) == -1)
		return -1;
	c->nlisten = cfg_size(cfg, "listen");
	c->listen = xcalloc(c->nlisten + 1, sizeof(char *));
	for (i = 0; i < c->nlisten; i++)
		c->listen[i] = xstrdup(cfg_getnstr(cfg, "listen", (unsigned)i));
	c->nsmarthosts = cfg_size(cfg, "smarthost");
	c->smarthosts = xcalloc(c->nsmarthosts + 1, sizeof(*c->smarthosts));
	for (i = 0; i < c->nsmarthosts; i++) {
		if (conf_load_smarthost(c,
			cfg_getnsec(cfg, "smarthost", (unsigned)i),
			&c->smarthosts[i], err) == -1)
			return -1;
	}
	return 0;
}

struct conf *
conf_load(const char *path, struct err *err)
{
	struct conf *c;
	cfg_t *cfg;
	int rc;

	if (path == NULL)
		path = RELAY_CONF_FILE;
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	cfg = cfg_init(conf_opts, CFGF_NONE);
	cfg_set_error_function(cfg, conf_errfunc);
	err_clear(err);
	conf_cur_err = err;
	conf_cur_root = cfg;
	rc = cfg_parse(cfg, path);
	conf_cur_err = NULL;
	conf_cur_root = NULL;
	if (rc == CFG_FILE_ERROR) {
		(void)err_sys(
		    err, ERR_CONFIG, "cannot read configuration %s", path);
		goto out_fail;
	}
	if (rc != CFG_SUCCESS) {
		if (err != NULL && err->cls == ERR_NONE)
			(void)err_set(err, ERR_CONFIG, "%s: parse error", path);
		goto out_fail;
	}
	if (conf_fill(c, cfg, err) == -1)
		goto out_fail;
	cfg_free(cfg);
	return c;
out_fail:
	cfg_free(cfg);
	conf_free(c);
	return NULL;
}

static void
conf_free_smarthost(struct conf_smarthost *h)
{
	xfree(h->name);
	xfree(h->host);
	xfree(h->username);
	xfree(h->password_file);
	xfree(h->password_command);
	xfree(h->auth_mechanisms);
	xfree(h->ca_file);
	xfree(h->fingerprint);
	xfree(h->client_cert);
	xfree(h->client_key);
	xfree(h->helo);
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; c->smarthosts != NULL && i < c->nsmarthosts; i++)
		conf_free_smarthost(&c->smarthosts[i]);
	xfree(c->smarthosts);
	for (i = 0; c->listen != NULL && i < c->nlisten; i++)
		xfree(c->listen[i]);
	xfree(c->listen);
	xfree(c->path);
	xfree(c->hostname);
	xfree(c->domain);
	xfree(c->spool_dir);
	xfree(c->socket);
	xfree(c->user);
	xfree(c->group);
	xfree(c->aliases);
	xfree(c->default_recipient);
	xfree(c->log_file);
	xfree(c);
}

const char *
conf_tls_name(enum conf_tls t)
{
	switch (t) {
	case CONF_TLS_AUTO:
		return "auto";
	case CONF_TLS_IMPLICIT:
		return "implicit";
	case CONF_TLS_STARTTLS:
		return "starttls";
	case CONF_TLS_NONE:
		return "none";
	}
	return "unknown";
}

char *
conf_maildrop_dir(const struct conf *c)
{
	return xasprintf("%s/maildrop", c->spool_dir);
}

char *
conf_db_path(const struct conf *c)
{
	return xasprintf("%s/queue.db", c->spool_dir);
}

bool
conf_is_local_domain(const struct conf *c, const char *dom)
{
	return str_eq_ci(dom, c->domain) || str_eq_ci(dom, c->hostname) ||
	    str_eq_ci(dom, "localhost") ||
	    str_eq_ci(dom, "localhost.localdomain");
}
