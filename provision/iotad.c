/*
 * iotad: provisioning over HTTPS.  Loads its configuration, unlocks the
 * online intermediate, locks and opens the registry and serves until
 * SIGINT or SIGTERM; SIGHUP reloads, SIGUSR1 reopens the log files.
 * -n checks all of that and exits; -T prints the effective configuration;
 * --init makes the state directory, its key and the first admin token;
 * --routes prints the route table and who may call each route.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cadir.h"
#include "ledger.h"
#include "link.h"
#include "file.h"
#include "iotad.h"
#include "metrics.h"
#include "mode.h"
#include "notify.h"
#include "router.h"
#include "secret.h"
#include "statelock.h"

#define TOKEN_NAME	"admin.token"
#define PEM_MAX		(256 * 1024)

enum { OPT_INIT = 256, OPT_ADMIN_TOKEN_FILE, OPT_ROUTES };

struct options {
	const char	*config;
	int		 check, print, init, routes;
	const char	*admin_token_file;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: iotad -c FILE [-n | -T | --init "
	    "[--admin-token-file PATH]]\n"
	    "       iotad --routes\n"
	    "  -c FILE    the configuration (see iotad.yaml(5))\n"
	    "  -n         check the configuration and what it names, then exit\n"
	    "  -T         print the effective configuration, then exit\n"
	    "  --init     create the state directory, its key and an admin token\n"
	    "  --admin-token-file PATH  where --init writes the admin token\n"
	    "             (default STATE/admin.token, mode 0600)\n"
	    "  --routes   print each route and who may call it, then exit\n"
	    "  -V         print the version\n"
	    "signals: SIGHUP reloads, SIGUSR1 reopens log.file and "
	    "audit.file,\n"
	    "  SIGTERM or SIGINT stops (see iotad(8))\n");
}

static void
fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
parse(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "init", no_argument, NULL, OPT_INIT },
		{ "admin-token-file", required_argument, NULL,
		    OPT_ADMIN_TOKEN_FILE },
		{ "routes", no_argument, NULL, OPT_ROUTES },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:nThV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'n': o->check = 1; break;
		case 'T': o->print = 1; break;
		case OPT_INIT: o->init = 1; break;
		case OPT_ADMIN_TOKEN_FILE: o->admin_token_file = optarg; break;
		case OPT_ROUTES: o->routes = 1; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("iotad %s\n", IOTA_VERSION); exit(0);
		default:
			fprintf(stderr, "iotad: bad or incomplete option %s "
			    "(see 'iotad -h')\n", argv[optind - 1]);
			return -1;
		}
	}
	if (o->routes && o->config == NULL && optind == argc &&
	    o->check + o->print + o->init == 0)
		return 0;
	if (o->config == NULL || optind != argc || o->routes ||
	    o->check + o->print + o->init > 1 ||
	    (o->admin_token_file != NULL && !o->init)) {
		fprintf(stderr, "iotad: %s (see 'iotad -h')\n", o->config == NULL ?
		    "-c FILE is required" : "bad combination of arguments");
		return -1;
	}
	return 0;
}

static void
fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("iotad: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A file's first line, for passphrases; file_line_free() wipes it. */
static char *
first_line(const char *path, size_t *len)
{
	char err[512], *line;

	if ((line = file_first_line(path, 4096, len, err, sizeof(err))) == NULL)
		fatal("%s", err);
	return line;
}

static char *
read_pem(const char *path)
{
	unsigned char *data;
	size_t len;

	if ((data = ca_file_read(path, PEM_MAX, &len)) == NULL)
		fatal("%s", ca_errstr());
	return (char *)data;
}

/* iotad -n: a warning on stderr, as fatal() says an error. */
static void __attribute__((format(printf, 1, 2)))
warn_stderr(const char *fmt, ...)
{
	va_list ap;

	fputs("iotad: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The CA directory's modes, before anything is loaded from it. */
static void
audit_ca(struct iotad *d, void (*warn)(const char *, ...))
{
	char err[1024];

	if (iotad_ca_audit(d->conf.ca.dir, warn, err, sizeof(err)) == -1) {
		if (warn == log_warn_fn && d->conf.log.file != NULL)
			log_error("refusing to start: %s", err);
		fatal("refusing to start: %s", err);
	}
}

/* The signer's keys when serving; these keys when checking (-n). */
static void
load_ca(struct iotad *d)
{
	struct ledger_keys keys;
	char err[512];

	if (d->signer_link != NULL)
		keys = signer_link_keys(d->signer_link);
	if (iotad_ca_load(&d->conf, d->signer_link != NULL ? &keys : NULL,
	    NULL, &d->ca, err, sizeof(err)) == -1)
		fatal("%s", err);
}

/* Ports, the signer, then root goes: before any thread starts. */
static void
separate(struct iotad *d)
{
	char err[512];

	if (iotad_listen(d, err, sizeof(err)) == -1 ||
#ifndef IOTA_BENCH_INPROCESS_SIGNER
	    iotad_signer_start(d, err, sizeof(err)) == -1 ||
	    iotad_drop_privileges(d, err, sizeof(err)) == -1 ||
#endif
	    0) {
		log_error("refusing to start: %s", err);
		fatal("%s", err);
	}
#ifdef IOTA_BENCH_INPROCESS_SIGNER
	/* `make bench-signer`'s baseline alone, never installed. */
	log_warn("a benchmark build: the CA key is in this process");
#endif
}

/* Revocations the index missed (iotad stopped in between) go in first. */
static void
publish_revoked(struct iotad *d)
{
	char err[512];

	if (ledger_publish(d->ca.ledger, d->store, REG_NONE, err, sizeof(err)) ==
	    -1)
		fatal("publishing revocations to %s/%s (iotad needs to write "
		    "it): %s", d->conf.ca.dir, CADIR_INDEX, err);
}

static int
chain_backlog(sqlite3 *db, void *arg)
{
	return registry_audit_chain_backlog(db, arg);
}

/* Audit records older than the chain are chained once, before any new. */
static void
open_store(struct iotad *d)
{
	char err[512];
	int64_t n = 0;

	if ((d->store = store_open_keyed(d->conf.state.dir, REGISTRY_DB_NAME,
	    d->conf.state.key_file, &schema_registry, err, sizeof(err))) == NULL)
		fatal("%s", err);
	store_observe_commits(d->store, &iota_metrics.commit_seconds);
	if (store_write(d->store, chain_backlog, &n, err, sizeof(err)) != 0)
		fatal("chaining the audit records: %s", err);
	if (n > 0)
		log_info("audit: chained %lld records written before the "
		    "chain existed", (long long)n);
}

static void
open_broker(struct iotad *d)
{
	char err[512];

	if ((d->broker = broker_mode_open(&d->conf, err, sizeof(err))) == NULL)
		fatal("broker: %s", err);
}

static int
token_add(sqlite3 *db, void *arg)
{
	return registry_token_add(db, arg, REG_NONE, NULL, time(NULL));
}

/* --init: state directory, database key, database, first admin token. */
static void
init_state(struct iotad *d, const char *token_file)
{
	char path[4096], token[SECRET_TEXT_MAX], err[512];
	unsigned char hash[SECRET_HASH_LEN];

	if (token_file == NULL) {
		snprintf(path, sizeof(path), "%s/%s", d->conf.state.dir,
		    TOKEN_NAME);
		token_file = path;
	}
	if (access(token_file, F_OK) == 0)
		fatal("%s exists: iotad is initialized already", token_file);
	if (mkdir(d->conf.state.dir, 0700) == -1 && errno != EEXIST)
		fatal("cannot create %s: %s", d->conf.state.dir, strerror(errno));
	if (access(d->conf.state.key_file, F_OK) == -1 &&
	    store_key_create(d->conf.state.key_file, err, sizeof(err)) == -1)
		fatal("%s", err);
	if (broker_mode_init(&d->conf, err, sizeof(err)) == -1)
		fatal("%s", err);
	open_store(d);
	open_broker(d);
	if (secret_token_new(TOKEN_PREFIX_ADMIN, token, sizeof(token)) == -1)
		fatal("cannot make a token");
	secret_hash(token, hash);
	strcat(token, "\n");
	if (ca_file_write_new(token_file, token, strlen(token), 0600) == -1 ||
	    store_write(d->store, token_add, hash, err, sizeof(err)) != 0) {
		unlink(token_file);
		fatal("%s", ca_errstr());
	}
	OPENSSL_cleanse(token, sizeof(token));
	printf("initialized %s; admin token in %s\n", d->conf.state.dir,
	    token_file);
}

static struct http_server *
start_http(struct iotad *d, const struct router *router)
{
	struct http_config cfg = {
		.address = d->conf.listen.address, .port = d->conf.listen.port,
		.max_body = d->conf.limits.max_body,
		.max_connections = (unsigned int)d->conf.limits.max_connections,
		.timeout_seconds = (unsigned int)d->conf.limits.connection_timeout,
		.per_address =
		    (unsigned int)d->conf.limits.connections_per_address,
		.head_seconds = (unsigned int)d->conf.limits.header_timeout,
		.log = log_http, .log_arg = NULL,
	};
	struct http_server *http;
	char *keypass = NULL, err[HTTP_ERRLEN];
	size_t len = 0;

	cfg.listen_fd = d->listen_fd;
	cfg.cert_pem = read_pem(d->conf.tls.certificate);
	/* Ask for a device certificate: renewal and EST prove who calls. */
	cfg.client_ca_pem = d->ca.chain_pem;
	cfg.key_pem = read_pem(d->conf.tls.key);
	if (d->conf.tls.key_passphrase_file != NULL)
		cfg.key_password = keypass = first_line(
		    d->conf.tls.key_passphrase_file, &len);
	http = http_start(&cfg, router, err, sizeof(err));
	OPENSSL_clear_free((void *)cfg.key_pem, strlen(cfg.key_pem));
	free((void *)cfg.cert_pem);
	file_line_free(keypass, len);
	if (http == NULL)
		fatal("%s", err);
	return http;
}

static void
check_routes(const struct router *router)
{
	char err[256];

	if (router_check(router, err, sizeof(err)) == -1 ||
	    api_routes_check(router->routes, router->n, err, sizeof(err)) == -1)
		fatal("routes: %s", err);
}

/* --routes: the table as the gate reads it, one route per line. */
static void
print_routes(void)
{
	char callers[128];
	size_t i;

	for (i = 0; i < iotad_nroutes; i++) {
		api_callers_name(iotad_routes[i].callers, callers,
		    sizeof(callers));
		printf("%-6s %-44s %s\n", iotad_routes[i].method,
		    iotad_routes[i].pattern, callers);
	}
}

/* SIGUSR1, after logrotate moved them: the same paths, new files. */
static void
reopen_logs(struct iotad *d)
{
	char err[1024];

	if (log_reopen(d->conf.log.file, d->conf.audit.file, err,
	    sizeof(err)) == -1)
		log_error("SIGUSR1: %s", err);
	else
		log_info("SIGUSR1: reopened the log files");
}

/* The signals the main thread alone takes, with sigwait. */
static void
waited_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/*
 * Until SIGINT or SIGTERM; SIGHUP reloads, SIGUSR1 reopens the logs.
 * systemd hears of each (`status`: what READY=1 says).
 */
static void
wait_for_stop(struct iotad *d, const char *status)
{
	sigset_t set;
	int sig;

	waited_signals(&set);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR1)
			reopen_logs(d);
		else if (sig == SIGHUP) {
			log_info("SIGHUP: reloading %s", d->config_path);
			notify_reloading();
			iotad_reload(d);
			notify_ready(status);
		} else
			break;
	}
	log_info("stopping on signal %d", sig);
	notify_stopping();
}

/* The plain-HTTP listener of CRLs and OCSP, when revocation.port says. */
static struct http_server *
start_plain(struct iotad *d, const struct router *router)
{
	struct http_config cfg = {
		.plain = 1, .address = d->conf.revocation.address,
		.port = d->conf.revocation.port,
		.max_body = CA_OCSP_REQ_MAX,
		.max_connections = (unsigned int)d->conf.limits.max_connections,
		.timeout_seconds = (unsigned int)d->conf.limits.connection_timeout,
		.per_address =
		    (unsigned int)d->conf.limits.connections_per_address,
		.head_seconds = (unsigned int)d->conf.limits.header_timeout,
		.log = log_http, .log_arg = NULL,
	};
	struct http_server *http;
	char err[HTTP_ERRLEN];

	if (d->conf.revocation.port < 0)
		return NULL;
	cfg.listen_fd = d->plain_fd;
	if ((http = http_start(&cfg, router, err, sizeof(err))) == NULL)
		fatal("revocation listener: %s", err);
	return http;
}

/* The plain-HTTP listener of /metrics, when metrics.listen is http. */
static struct http_server *
start_metrics(struct iotad *d, const struct router *router)
{
	struct http_config cfg = {
		.plain = 1, .address = d->conf.metrics.address,
		.port = d->conf.metrics.port, .max_body = 1,
		.max_connections = 16, .timeout_seconds = 10, .per_address = 4,
		.log = log_http, .log_arg = NULL,
	};
	struct http_server *http;
	char err[HTTP_ERRLEN];

	if (d->conf.metrics.listen != CONF_METRICS_HTTP)
		return NULL;
	cfg.listen_fd = d->metrics_fd;
	if ((http = http_start(&cfg, router, err, sizeof(err))) == NULL)
		fatal("metrics listener: %s", err);
	log_info("metrics listening on http://%s%s%s:%d",
	    strchr(cfg.address, ':') ? "[" : "", cfg.address,
	    strchr(cfg.address, ':') ? "]" : "", http_port(http));
	return http;
}

/* The URLs new device certificates name; none without a base. */
static void
set_urls(struct iotad *d, const struct http_server *plain)
{
	char base[CA_URL_MAX + 1], err[512];
	const char *a = d->conf.revocation.address;
	int v6 = strchr(a, ':') != NULL;

	if (d->conf.revocation.url != NULL)
		snprintf(base, sizeof(base), "%s", d->conf.revocation.url);
	else if (plain != NULL)
		snprintf(base, sizeof(base), "http://%s%s%s:%d", v6 ? "[" : "",
		    a, v6 ? "]" : "", http_port(plain));
	else
		return;
	while (strlen(base) > 7 && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	if ((d->revocation_base = strdup(base)) == NULL)
		fatal("out of memory");
	if (iotad_ca_urls(&d->ca, d->revocation_base, err, sizeof(err)) == -1)
		fatal("%s", err);
	log_info("revocation: CRLs at %s, OCSP at %s", d->ca.crl_url,
	    d->ca.ocsp_url);
}

static void
enter(void *arg)
{
	pthread_rwlock_rdlock(&((struct iotad *)arg)->swap);
}

static void
leave(void *arg)
{
	pthread_rwlock_unlock(&((struct iotad *)arg)->swap);
}

static void
serve(struct iotad *d)
{
	struct router router = { iotad_routes, iotad_nroutes, d, api_gate,
	    sizeof(struct caller), enter, leave };
	struct router plain_router = { revocation_routes, revocation_nroutes,
	    d, api_gate, sizeof(struct caller), enter, leave };
	struct router metrics_router = { metrics_routes, metrics_nroutes,
	    d, api_gate, sizeof(struct caller), enter, leave };
	struct http_server *http, *plain, *metrics;
	struct audit_schedule *audit;
	char status[512];

	check_routes(&router);
	check_routes(&plain_router);
	check_routes(&metrics_router);
	/* The URLs first: handlers read them without a lock. */
	plain = start_plain(d, &plain_router);
	set_urls(d, plain);
	http = start_http(d, &router);
	atomic_store(&d->https, http);
	metrics = start_metrics(d, &metrics_router);
	if ((d->schedule = ledger_schedule_start(d->ca.ledger)) == NULL)
		fatal("cannot start the CRL schedule");
	if ((audit = audit_schedule_start(d,
	    d->conf.audit.checkpoint_interval)) == NULL)
		fatal("cannot start the audit checkpoint schedule");
	snprintf(status, sizeof(status), "listening on https://%s%s%s:%d",
	    strchr(d->conf.listen.address, ':') ? "[" : "",
	    d->conf.listen.address, strchr(d->conf.listen.address, ':') ?
	    "]" : "", http_port(http));
	log_info("%s", status);
	if (plain != NULL)
		log_info("revocation listening on http://%s%s%s:%d",
		    strchr(d->conf.revocation.address, ':') ? "[" : "",
		    d->conf.revocation.address,
		    strchr(d->conf.revocation.address, ':') ? "]" : "",
		    http_port(plain));
	notify_ready(status);
	wait_for_stop(d, status);
	http_stop(metrics);
	http_stop(plain);
	atomic_store(&d->https, NULL);
	http_stop(http);
	ledger_schedule_stop(d->schedule);
	/* No request is left: this checkpoint covers every record. */
	audit_schedule_stop(audit);
	audit_checkpoint(d, time(NULL));
}

/* Threads started from here on leave these signals to sigwait. */
static void
block_signals(void)
{
	sigset_t set;

	waited_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void
cleanup(struct iotad *d)
{
	signer_link_stop(d->signer_link);
	broker_mode_close(d->broker);
	store_close(d->store);
	iotad_ca_free(&d->ca);
	free(d->revocation_base);
	pthread_rwlock_destroy(&d->swap);
	devlocks_destroy(&d->devices);
	quotas_destroy(&d->quotas);
	ratelimit_free(d->failures);
	conf_free(&d->conf);
	log_close();
}

int
main(int argc, char *argv[])
{
	struct options o = { NULL, 0, 0, 0, 0, NULL };
	struct iotad d;
	char err[1024];

	memset(&d, 0, sizeof(d));
	{
		/* A reload waiting for in-flight requests holds new ones back. */
		pthread_rwlockattr_t attr;

		pthread_rwlockattr_init(&attr);
		pthread_rwlockattr_setkind_np(&attr,
		    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&d.swap, &attr);
		pthread_rwlockattr_destroy(&attr);
	}
	devlocks_init(&d.devices);
	quotas_init(&d.quotas);
	if (parse(argc, argv, &o) == -1)
		return 2;
	if (o.routes) {
		print_routes();
		return 0;
	}
	d.config_path = o.config;
	if (conf_load(o.config, &d.conf, err, sizeof(err)) == -1)
		fatal("%s", err);
	if (broker_mode_check(&d.conf, err, sizeof(err)) == -1)
		fatal("%s", err);
	if (o.print) {
		if (conf_print(stdout, &d.conf, err, sizeof(err)) == -1)
			fatal("%s", err);
	} else if (o.init)
		init_state(&d, o.admin_token_file);
	else {
		if (conf_check_files(&d.conf, err, sizeof(err)) == -1)
			fatal("%s", err);
		if (o.check)
			audit_ca(&d, warn_stderr);
		else {
			/* Warnings go where the log goes, from here on. */
			log_init((enum log_level)d.conf.log.level,
			    d.conf.log.file, d.conf.audit.file);
			audit_ca(&d, log_warn_fn);
		}
		if (!o.check && (d.lock = statelock_take(d.conf.state.dir,
		    err, sizeof(err))) == -1)
			fatal("%s", err);
		if (!o.check)
			separate(&d);
		load_ca(&d);
		open_store(&d);
		open_broker(&d);
		if (o.check)
			printf("%s: configuration OK\n", o.config);
		else {
			block_signals();
			if (d.signer_link != NULL && signer_link_watch(
			    d.signer_link, err, sizeof(err)) == -1)
				fatal("%s", err);
			if ((d.failures = ratelimit_new(
			    d.conf.ratelimit.failures_per_minute,
			    (long)d.conf.ratelimit.lockout)) == NULL)
				fatal("out of memory");
			if (broker_mode_start(d.broker, api_outbox_source(&d), err,
			    sizeof(err)) == -1)
				fatal("%s", err);
			publish_revoked(&d);
			serve(&d);
		}
	}
	cleanup(&d);
	return 0;
}
