/*
 * Every key of iotad.yaml, one row each.  The key's name is its field's
 * path in struct iotad_conf, written once: FIELD() makes the name with #
 * and refuses, at compile time, a field whose C type does not match the
 * row's type.  Keep the rows of a section together (conf_print() relies
 * on it and conf_table_verify() checks it); order is the order of
 * `iotad -T`, conf_help() and the man page.
 */
#include <stddef.h>

#include "conf.h"

#define FIELD(f, ctype)	.name = #f,					\
			.offset = offsetof(struct iotad_conf, f) +	\
			    _Generic(((struct iotad_conf *)0)->f, ctype: 0)
#define STRING(f)	FIELD(f, char *), .type = CONF_STRING
#define PATH(f)		FIELD(f, char *), .type = CONF_PATH
#define INT(f)		FIELD(f, int), .type = CONF_INT
#define DURATION(f)	FIELD(f, long long), .type = CONF_DURATION
#define SIZE(f)		FIELD(f, size_t), .type = CONF_SIZE
#define ENUM(f, c)	FIELD(f, int), .type = CONF_ENUM, .choices = (c)

#define MINUTE	60LL
#define HOUR	(60 * MINUTE)
#define DAY	(24 * HOUR)
#define KIB	1024LL
#define MIB	(1024 * KIB)

/* In the order of enum conf_log_level. */
static const char *const log_levels[] = {
	"error", "warn", "info", "debug", NULL
};

/* In the order of enum conf_broker_mode and enum conf_broker_login. */
static const char *const broker_modes[] = {
	"none", "management", "auth-backend", NULL
};
static const char *const broker_logins[] = {
	"password", "certificate", NULL
};

/* In the order of enum conf_switch. */
static const char *const switches[] = {
	"off", "on", NULL
};

/* In the order of enum conf_metrics_listen. */
static const char *const metrics_listens[] = {
	"off", "admin", "http", NULL
};

static const char *const takeovers[] = {
	"refuse", "accept", NULL
};

static const struct conf_key iotad_keys[] = {
	{ STRING(listen.address), .def = "127.0.0.1",
	  .help = "IPv4 or IPv6 address (a literal, not a name) to accept "
	    "HTTPS connections on." },
	{ INT(listen.port), .min = 0, .max = 65535, .def = "8443",
	  .help = "TCP port to accept HTTPS connections on; 0 takes any free port and logs it." },

	{ PATH(tls.certificate), .flags = CONF_REQUIRED,
	  .check = CONF_CHECK_FILE,
	  .help = "iotad's server certificate in PEM, followed by its "
	    "chain: the PREFIX.crt written by `iotactl ca issue`." },
	{ PATH(tls.key), .flags = CONF_REQUIRED, .check = CONF_CHECK_SECRET,
	  .help = "The private key of tls.certificate (PREFIX.key); "
	    "no access for group or others." },
	{ PATH(tls.key_passphrase_file), .check = CONF_CHECK_SECRET,
	  .help = "File holding the passphrase of tls.key, when that key "
	    "is encrypted.  Not set: the key is not encrypted." },

	{ PATH(ca.dir), .flags = CONF_REQUIRED, .check = CONF_CHECK_CADIR,
	  .help = "The CA directory made by `iotactl ca init`; iotad "
	    "signs with intermediate.crt and intermediate.key and hands "
	    "out ca-chain.pem." },
	{ PATH(ca.passphrase_file), .flags = CONF_REQUIRED,
	  .check = CONF_CHECK_SECRET,
	  .help = "File holding the passphrase of the intermediate key "
	    "(ca.dir/intermediate.key), or the PIN of its token when "
	    "ca.dir/intermediate.key.uri names a key on a PKCS#11 token." },
	{ PATH(ca.pkcs11_module), .check = CONF_CHECK_FILE,
	  .help = "The PKCS#11 module of CA keys on a token.  Not set: "
	    "SoftHSM's (/usr/lib/softhsm/libsofthsm2.so) if installed, "
	    "else p11-kit's proxy.  A change needs a restart." },

	{ STRING(process.user),
	  .help = "Started as root, iotad binds its ports and then runs as "
	    "this user (and its group); state.dir must belong to it.  Not "
	    "set: iotad keeps the user it was started as." },

	{ STRING(signer.user),
	  .help = "The user the signer process, the only one that opens "
	    "the intermediate key, runs as once it has read the key.  Not "
	    "set: process.user." },
	{ PATH(signer.program),
	  .help = "The signer program.  Not set: iota-signer beside "
	    "iotad's own executable, else the one installed with it." },
	{ INT(signer.channels), .min = 1, .max = 16, .def = "2",
	  .help = "Sockets between iotad and its signer, as many signatures "
	    "at once; requests that wait go out together, in batches." },
	{ ENUM(signer.seccomp, switches), .def = "on",
	  .help = "on: the signer limits itself to the system calls "
	    "signing needs (seccomp); off: it does not (for debugging)." },

	{ PATH(state.dir), .flags = CONF_REQUIRED, .check = CONF_CHECK_DIR,
	  .help = "Directory of the SQLCipher databases; writable by "
	    "iotad and by no one else." },
	{ PATH(state.key_file), .flags = CONF_REQUIRED,
	  .check = CONF_CHECK_HEXKEY,
	  .help = "File holding the raw 256-bit database key as 64 "
	    "hexadecimal digits; mode 0600." },

	{ SIZE(limits.max_body), .min = 1 * KIB, .max = 1 * MIB,
	  .def = "64k",
	  .help = "Largest request body accepted; larger requests are "
	    "refused with 413." },
	{ INT(limits.max_connections), .min = 1, .max = 65536, .def = "1024",
	  .help = "Most HTTPS connections open at once." },
	{ DURATION(limits.connection_timeout), .min = 1, .max = HOUR,
	  .def = "30s",
	  .help = "An idle connection is closed after this long." },
	{ INT(limits.connections_per_address), .min = 1, .max = 65536,
	  .def = "64",
	  .help = "Connections one address may hold; a request on one more "
	    "is answered 429 and its connection closed, and 8 more than "
	    "this are reset at accept." },
	{ DURATION(limits.header_timeout), .min = 1, .max = HOUR,
	  .def = "10s",
	  .help = "A new connection's first request head must be complete "
	    "within this; slower clients are dropped." },

	{ INT(provisioning.certificate_days), .min = 1, .max = 3650,
	  .def = "365",
	  .help = "Validity of a device certificate in days, cut short "
	    "where the intermediate expires first." },
	{ DURATION(provisioning.secret_overlap), .min = 0, .max = 30 * DAY,
	  .def = "24h",
	  .help = "How long a group's previous provisioning secret stays "
	    "valid after the secret is rotated." },
	{ DURATION(provisioning.renew_grace), .min = 0, .max = 365 * DAY,
	  .def = "7d",
	  .help = "How long after its certificate expired a device may "
	    "still renew it, proving it holds the old key; a group may set "
	    "its own (`iotactl group set --renew-grace`).  0s: only before "
	    "expiry." },

	{ STRING(revocation.url),
	  .help = "Base http:// URL at which relying parties reach iotad's "
	    "CRLs (URL/crl/ISSUER.crl) and OCSP responder (URL/ocsp), named "
	    "in every device certificate.  Not set: http://"
	    "revocation.address:revocation.port when that port is set, "
	    "else no URL goes into certificates." },
	{ STRING(revocation.address), .def = "127.0.0.1",
	  .help = "IPv4 or IPv6 address of the plain-HTTP listener that "
	    "serves only CRLs and OCSP (relying parties fetch them "
	    "without TLS)." },
	{ INT(revocation.port), .min = -1, .max = 65535, .def = "-1",
	  .help = "Port of that listener; 0 takes any free port and logs "
	    "it; -1 starts none (the same endpoints stay on the HTTPS "
	    "listener)." },
	{ INT(revocation.crl_days), .min = 1, .max = 30, .def = "2",
	  .help = "Validity of the CRLs iotad signs (nextUpdate); each is "
	    "re-signed at once on a revocation and after half this time." },

	{ INT(ratelimit.failures_per_minute), .min = 1, .max = 10000,
	  .def = "10",
	  .help = "Failed credentials tolerated per minute per client "
	    "address; past them each failure waits twice as long as the "
	    "last, from 1 s." },
	{ DURATION(ratelimit.lockout), .min = 1, .max = DAY, .def = "5m",
	  .help = "The longest wait of a failing address (429 with "
	    "Retry-After)." },

	{ ENUM(broker.mode, broker_modes), .def = "none",
	  .help = "How devices get broker credentials: management (iotad "
	    "creates them through RabbitMQ's management API), "
	    "auth-backend (RabbitMQ asks iotad), or none (no broker: "
	    "provisioning returns the certificate only)." },
	{ ENUM(broker.login, broker_logins), .def = "password",
	  .help = "What identifies a device at the broker: password (its "
	    "username and password over mutual TLS) or certificate (its "
	    "certificate alone; RabbitMQ's ssl_cert_login)." },
	{ ENUM(broker.client_id_takeover, takeovers), .def = "refuse",
	  .help = "broker.mode management only: RabbitMQ 3.10 lets a device "
	    "that connects with another device's client id knock that "
	    "device offline, and nothing in that mode can stop it.  refuse: "
	    "iotad will not start in that mode (use auth-backend, which "
	    "denies such logins); accept: start anyway, knowing it." },
	{ STRING(broker.mqtt_url),
	  .help = "Where devices reach the broker, mqtts://HOST:PORT; "
	    "sent to each device with its credentials.  Required unless "
	    "broker.mode is none." },
	{ STRING(broker.management_url),
	  .help = "RabbitMQ's management API, http(s)://HOST:PORT.  "
	    "Required with broker.mode management." },
	{ PATH(broker.management_credentials_file), .check = CONF_CHECK_SECRET,
	  .help = "File holding user:password of the RabbitMQ "
	    "administrator iotad acts as; no access for group or others.  "
	    "Required unless broker.mode is none." },
	{ PATH(broker.management_ca_file), .check = CONF_CHECK_FILE,
	  .help = "CA certificates that authenticate an https "
	    "broker.management_url.  Not set: the system's." },
	{ STRING(broker.amqp_host), .def = "127.0.0.1",
	  .help = "Where iotad publishes lifecycle events over AMQP." },
	{ INT(broker.amqp_port), .min = 1, .max = 65535, .def = "5672",
	  .help = "The AMQP port of broker.amqp_host." },
	{ STRING(broker.events_exchange), .def = "iota.events",
	  .help = "Durable topic exchange that device.provisioned and "
	    "device.revoked events are published to." },
	{ PATH(broker.key_file), .check = CONF_CHECK_HEXKEY,
	  .help = "File holding the raw 256-bit key of the broker "
	    "database (credentials apart from the registry) as 64 "
	    "hexadecimal digits; mode 0600.  Required unless broker.mode "
	    "is none; `iotad --init` creates it." },
	{ STRING(broker.auth_clients), .def = "127.0.0.1,::1",
	  .help = "Addresses (comma-separated IP literals) from which the "
	    "broker may ask iotad's auth backend; others get 403." },
	{ DURATION(broker.timeout), .min = 1, .max = MINUTE, .def = "10s",
	  .help = "How long iotad waits for the broker before it answers "
	    "503." },
	{ DURATION(broker.retry_after), .min = 1, .max = HOUR, .def = "30s",
	  .help = "The Retry-After of a 503 when the broker is down." },

	{ ENUM(log.level, log_levels), .def = "info",
	  .help = "Least severe messages logged: error, warn, info or "
	    "debug." },
	{ PATH(log.file), .check = CONF_CHECK_OUTPUT,
	  .help = "File the log is appended to.  Not set: standard "
	    "error." },

	{ PATH(audit.file), .check = CONF_CHECK_OUTPUT,
	  .help = "File the audit records (operator actions, "
	    "provisioning, failed secrets) are appended to.  Not set: "
	    "they go to the log." },
	{ DURATION(audit.checkpoint_interval), .min = 0, .max = 7 * DAY,
	  .def = "1h",
	  .help = "How often iotad signs the head of the registry's audit "
	    "chain with the CA key (`iotactl audit verify` checks it); "
	    "also once at every clean stop.  0: only at a clean stop." },

	{ ENUM(metrics.listen, metrics_listens), .def = "admin",
	  .help = "Where GET /metrics (Prometheus text) is served: admin "
	    "(the HTTPS listener, the admin token alone), http (a plain-HTTP "
	    "listener of its own at metrics.address:metrics.port, anyone "
	    "who reaches it, and not on HTTPS) or off." },
	{ STRING(metrics.address), .def = "127.0.0.1",
	  .help = "IPv4 or IPv6 address of the metrics listener "
	    "(metrics.listen http)." },
	{ INT(metrics.port), .min = 0, .max = 65535, .def = "9464",
	  .help = "Port of the metrics listener; 0 takes any free port and "
	    "logs it." },
};

const struct conf_table iotad_conf_table = {
	.keys = iotad_keys,
	.nkeys = sizeof(iotad_keys) / sizeof(iotad_keys[0]),
	.size = sizeof(struct iotad_conf),
};
