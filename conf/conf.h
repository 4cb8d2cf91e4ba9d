/*
 * iotad's configuration: one YAML file of nested mappings, read through a
 * table of keys (conf-table.c) that gives each key its type, bounds,
 * default and help.  A key is named by its path of mapping keys joined
 * with dots ("listen.port"), and the same path is its field in struct
 * iotad_conf: adding a key means adding a field and one table row.
 *
 * Conventions: a function that fails returns -1 after writing one line
 * into the caller's buffer, "file:line:column: message" for anything
 * found in the file.  Out-params are set only on success, so a running
 * daemon keeps its old configuration when a reload fails.  Secrets never
 * live in the YAML, only the paths of the files that hold them.
 */
#ifndef IOTA_CONF_H
#define IOTA_CONF_H

#include <stddef.h>
#include <stdio.h>

#define CONF_ERRLEN	512		/* enough for any message we write */
#define CONF_FILE_MAX	(1024 * 1024)	/* larger files are refused */
#define CONF_NAME_MAX	64		/* longest dotted key name */

enum conf_broker_mode {		/* same order as the table's names */
	CONF_BROKER_NONE,
	CONF_BROKER_MANAGEMENT,
	CONF_BROKER_AUTH_BACKEND,
};

enum conf_metrics_listen {	/* same order as the table's names */
	CONF_METRICS_OFF,
	CONF_METRICS_ADMIN,	/* GET /metrics on HTTPS, the admin token */
	CONF_METRICS_HTTP,	/* a plain-HTTP listener of its own */
};

enum conf_switch {
	CONF_OFF,
	CONF_ON,
};

enum conf_broker_login {
	CONF_LOGIN_PASSWORD,
	CONF_LOGIN_CERTIFICATE,
};

/* RabbitMQ 3.10's internal backend cannot bind a client id to a login. */
enum conf_client_id_takeover {
	CONF_TAKEOVER_REFUSE,
	CONF_TAKEOVER_ACCEPT,
};

enum conf_log_level {			/* same order as the table's names */
	CONF_LOG_ERROR,
	CONF_LOG_WARN,
	CONF_LOG_INFO,
	CONF_LOG_DEBUG,
};

/*
 * The effective configuration.  Strings are owned (conf_free); relative
 * paths have been made absolute against the configuration file's
 * directory; NULL means an optional key is not set.
 */
struct iotad_conf {
	struct {
		char		*address;
		int		 port;
	} listen;
	struct {
		char		*certificate;		/* PEM, leaf then chain */
		char		*key;
		char		*key_passphrase_file;	/* NULL: plain key */
	} tls;
	struct {
		char		*dir;			/* `iotactl ca init` */
		char		*passphrase_file;	/* intermediate key */
		char		*pkcs11_module;		/* NULL: token.c's */
	} ca;
	struct {
		char		*user;			/* NULL: as started */
	} process;
	struct {
		char		*user;			/* NULL: process.user */
		char		*program;		/* NULL: the built-in */
		int		 channels;		/* sockets to it */
		int		 seccomp;		/* enum conf_switch */
	} signer;
	struct {
		char		*dir;			/* SQLCipher databases */
		char		*key_file;		/* 64 hex digits, 0600 */
	} state;
	struct {
		size_t		 max_body;		/* bytes */
		int		 max_connections;
		long long	 connection_timeout;	/* seconds */
		int		 connections_per_address;
		long long	 header_timeout;	/* seconds */
	} limits;
	struct {
		int		 certificate_days;
		long long	 secret_overlap;	/* seconds */
		long long	 renew_grace;		/* seconds */
	} provisioning;
	struct {
		char		*url;			/* NULL: from the port */
		char		*address;
		int		 port;			/* -1: no listener */
		int		 crl_days;
	} revocation;
	struct {
		int		 failures_per_minute;
		long long	 lockout;		/* seconds */
	} ratelimit;
	struct {
		int		 mode;			/* enum conf_broker_mode */
		int		 login;			/* enum conf_broker_login */
		int		 client_id_takeover;	/* enum conf_client_id_takeover */
		char		*mqtt_url;
		char		*management_url;
		char		*management_credentials_file;
		char		*management_ca_file;
		char		*amqp_host;
		int		 amqp_port;
		char		*events_exchange;
		char		*key_file;
		char		*auth_clients;		/* IP literals, commas */
		long long	 timeout;		/* seconds */
		long long	 retry_after;		/* seconds */
	} broker;
	struct {
		int		 level;			/* enum conf_log_level */
		char		*file;			/* NULL: standard error */
	} log;
	struct {
		char		*file;			/* NULL: into the log */
		long long	 checkpoint_interval;	/* seconds; 0: at stop */
	} audit;
	struct {
		int		 listen;		/* enum conf_metrics_listen */
		char		*address;		/* listen: http */
		int		 port;
	} metrics;
};

/* conf.c: what iotad calls. */
/* `iotad -c FILE`; *out must not hold a loaded configuration. */
int		 conf_load(const char *, struct iotad_conf *, char *, size_t);
void		 conf_free(struct iotad_conf *);
/*
 * `iotad -T`: the effective configuration, as YAML conf_load reads; -1
 * if it could not all be written (part of it may have been).
 */
int		 conf_print(FILE *, const struct iotad_conf *, char *, size_t);
/* `iotad -n`: the files and directories the paths name are usable. */
int		 conf_check_files(const struct iotad_conf *, char *, size_t);
/* Every key with its type, bounds, default and help. */
void		 conf_help(FILE *);

/* value.c: the value syntaxes, for anyone who takes durations or sizes. */
/* "30s", "10m", "24h", "7d", "1h30m", or bare seconds. */
int		 conf_duration_parse(const char *, long long *);
/* "512", "64k", "1m", "1g" (powers of 1024, either case). */
int		 conf_size_parse(const char *, long long *);
/* The shortest exact form ("90s", "24h"); returns buf. */
const char	*conf_duration_format(long long, char *, size_t);
const char	*conf_size_format(long long, char *, size_t);

/*
 * The table machinery.  It knows nothing of iotad: any struct described
 * by a table loads, prints and checks the same way.
 */
enum conf_type {
	CONF_STRING,		/* char *, not empty */
	CONF_PATH,		/* char *, made absolute */
	CONF_INT,		/* int, min..max */
	CONF_BOOL,		/* int, 0 or 1 */
	CONF_DURATION,		/* long long seconds, min..max */
	CONF_SIZE,		/* size_t bytes, min..max */
	CONF_ENUM,		/* int, index into choices */
};

/* What conf_check_files() expects at a path. */
enum conf_check {
	CONF_CHECK_NONE,
	CONF_CHECK_FILE,	/* a readable regular file */
	CONF_CHECK_SECRET,	/* the same, no access for group or others */
	CONF_CHECK_HEXKEY,	/* a secret file of 64 hex digits */
	CONF_CHECK_CADIR,	/* a directory made by `iotactl ca init` */
	CONF_CHECK_DIR,		/* a directory we can write, others cannot */
	CONF_CHECK_OUTPUT,	/* a file we can append to or create */
};

#define CONF_REQUIRED	0x01	/* no default: the file must set it */

struct conf_key {
	const char		*name;		/* dotted path */
	enum conf_type		 type;
	size_t			 offset;	/* of the field */
	int			 flags;
	long long		 min, max;	/* int, duration, size */
	const char		*def;		/* as written in YAML; NULL: unset */
	const char *const	*choices;	/* enum; NULL-terminated */
	enum conf_check		 check;		/* paths */
	const char		*help;
};

struct conf_table {
	const struct conf_key	*keys;
	size_t			 nkeys;
	size_t			 size;		/* of the struct described */
};

/* conf-table.c */
extern const struct conf_table iotad_conf_table;

/* load.c, field.c */
int		 conf_table_load(const struct conf_table *, const char *,
		    void *, char *, size_t);
void		 conf_table_free(const struct conf_table *, void *);
/* print.c */
int		 conf_table_print(const struct conf_table *, FILE *,
		    const void *, char *, size_t);
void		 conf_table_help(const struct conf_table *, FILE *);
/* check.c */
int		 conf_table_check_files(const struct conf_table *,
		    const void *, char *, size_t);
/* verify.c: the table is sound (defaults parse, bounds hold, grouping). */
int		 conf_table_verify(const struct conf_table *, char *, size_t);

#endif
