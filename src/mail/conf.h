/*
 * conf.h - relay.conf, loaded once by each program.
 *
 * Every key and its default is declared once, in conf.c's libconfuse table;
 * the same list appears in etc/relay.conf and relay.conf(5).  A struct conf
 * is immutable after conf_load() and owned by the caller (conf_free()).
 */
#ifndef RELAY_CONF_H
#define RELAY_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * TLS versions by their wire numbers, the values of OpenSSL's
 * TLS1_2_VERSION and TLS1_3_VERSION (net/conn_tls.c asserts that they
 * agree): conf.c leaves OpenSSL's headers out so that sendmail, which
 * links no TLS code, builds without them.
 */
#define CONF_TLS1_2 0x0303
#define CONF_TLS1_3 0x0304

enum conf_tls {
	CONF_TLS_AUTO = 0, /* implicit or STARTTLS, detected; never plain */
	CONF_TLS_IMPLICIT,
	CONF_TLS_STARTTLS,
	CONF_TLS_NONE,
};

struct conf_smarthost {
	char *name; /* the block's title */
	char *host; /* defaults to name */
	int port; /* 0: not set (auto: try 465 then 587) */
	enum conf_tls tls;
	char *username; /* NULL: no AUTH */
	char *password_file; /* secret file (relay-owned, 0600) */
	char *password_command; /* run by relayd; prints the secret/token */
	char *auth_mechanisms; /* NULL: best offered */
	bool auth_without_tls; /* explicit second switch for tls = none */
	char *ca_file; /* NULL: system CA store */
	char *fingerprint; /* "sha256:..." pin, NULL: none */
	char *client_cert, *client_key;
	char *helo; /* NULL: conf hostname */
	int tls_min; /* CONF_TLS1_2 or CONF_TLS1_3 */
	int max_messages_per_connection;
	int max_connections;
};

/* One tls_auto_ports entry: a port and the TLS mode it is expected to
 * speak under tls = auto (CONF_TLS_IMPLICIT or CONF_TLS_STARTTLS). */
struct conf_tls_port {
	int port;
	enum conf_tls expect;
};

#define CONF_MAX_TLS_PORTS 8

struct conf {
	char *path; /* the file read */
	char *hostname, *domain;
	char *spool_dir; /* holds queue.db and maildrop/ */
	char *socket; /* relayd's unix socket */
	char *user, *group; /* relayd's account; the spool's group */
	char *aliases; /* "" or a path */
	char *default_recipient; /* NULL: none */
	char *log_file; /* NULL: none */
	bool undisclosed_recipients; /* add To: undisclosed-recipients:; */
	uint64_t max_message_size;
	int hop_limit;
	long long retry_base, retry_max, retry_lifetime; /* seconds */
	long long connect_timeout, greeting_timeout, greeting_wait;
	long long command_timeout, data_timeout, session_timeout;
	long long lease_time;
	uint64_t bounce_return_size;
	int tls_min;
	int max_messages_per_connection;
	int max_connections;
	char **listen; /* "127.0.0.1:25", "[::1]:25" */
	size_t nlisten;
	int listen_max_connections;
	/* tls = auto: port conventions, and the ports tried in this order
	 * when a smarthost has no port (default 465:implicit 587:starttls) */
	struct conf_tls_port tls_auto_ports[CONF_MAX_TLS_PORTS];
	size_t ntls_auto_ports;
	struct conf_smarthost *smarthosts; /* failover order */
	size_t nsmarthosts;
};

/* conf_load - read path (NULL: the compiled-in RELAY_CONF_FILE).
 * Errors are ERR_CONFIG with "FILE:LINE: key: problem" in err->msg.
 * Result owned by the caller. */
struct conf *conf_load(const char *path, struct err *err);

/* conf_free - release everything; NULL is a no-op. */
void conf_free(struct conf *c);

/* conf_tls_name - "auto", "implicit", "starttls", "none". */
const char *conf_tls_name(enum conf_tls t);

/* conf_maildrop_dir - spool_dir + "/maildrop" (owned by the caller). */
char *conf_maildrop_dir(const struct conf *c);

/* conf_db_path - spool_dir + "/queue.db" (owned by the caller). */
char *conf_db_path(const struct conf *c);

/* conf_is_local_domain - is dom (no '@') the configured domain, the
 * hostname or "localhost"? (case-insensitive) */
bool conf_is_local_domain(const struct conf *c, const char *dom);

#endif
