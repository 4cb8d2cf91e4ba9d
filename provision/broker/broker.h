/*
 * RabbitMQ through its management HTTP API (libcurl, JSON on jansson):
 * the vhost of a tenant, and each device's user, permissions and topic
 * permissions.  Only a salted hash of a device's password is ever sent.
 *
 * Conventions: every call returns a BROKER_* code and, when it is not
 * BROKER_OK, writes one line into the caller's err buffer; no password
 * and no hash ever appears in one.  Every name that reaches a URL path is
 * percent-encoded; every name that reaches a permission is regex-escaped
 * inside an anchored pattern.  A struct broker may be used from any
 * number of threads at once (a pool of curl handles keeps connections
 * alive between calls); the process must ignore SIGPIPE, as iotad does
 * (libcurl is told not to touch signals).
 *
 * What a device may do (RabbitMQ 3.10, MQTT 3.1.1 and AMQP 0-9-1):
 *   publish on amq.topic only, under devices.<group>.<device>[.anything]
 *   (MQTT devices/<group>/<device>[/...]);
 *   subscribe only under commands.<group>.<device>[.anything]
 *   (MQTT commands/<group>/<device>[/...], wildcards below that level);
 *   declare, bind and consume only its own MQTT subscription queues,
 *   mqtt-subscription-<user>qos0 and ...qos1: the MQTT client id must be
 *   the broker username.
 * Nothing else: no other exchange, queue or vhost.
 */
#ifndef IOTA_BROKER_H
#define IOTA_BROKER_H

#include <stddef.h>

enum broker_rc {
	BROKER_OK = 0,
	BROKER_UNAVAILABLE,	/* no answer, timeout, 5xx: retry later (503) */
	BROKER_REFUSED,		/* RabbitMQ said no (4xx): not worth a retry */
	BROKER_ERROR,		/* ours: bad input, configuration, memory */
};

#define BROKER_PASSWORD_BYTES	32	/* random bytes in a password */
#define BROKER_PASSWORD_LEN	43	/* base64url of them, unpadded */
#define BROKER_SALT_LEN		4
#define BROKER_HASH_LEN		48	/* base64(salt4 || SHA-256) */
#define BROKER_NAME_MAX		255	/* user, vhost, group, device */
#define BROKER_BATCH_MAX	500	/* devices per definitions import */

struct broker_config {
	const char	*mgmt_url;	/* http(s)://HOST:PORT[/prefix], no userinfo */
	const char	*user;		/* management user (administrator tag) */
	const char	*password;
	const char	*ca_file;	/* https: trust anchors; NULL: the system's */
	long		 timeout_ms;	/* per HTTP call, connect included */
};

/*
 * One device.  user and vhost: printable ASCII, no space; group and
 * device: [A-Za-z0-9_-] (they become topic levels).  password_hash is
 * broker_password_hash()'s, or "" for certificate login (no password
 * accepted at all).
 */
struct broker_device {
	const char	*vhost;
	const char	*user;
	const char	*password_hash;
	const char	*group;
	const char	*device;
};

struct broker;

/* "" or a static name of a code. */
const char	*broker_strerror(int);
/*
 * Management API calls made since start, and those that failed (no
 * answer, or one that is not a success): for metrics.
 */
void		 broker_call_stats(unsigned long long *, unsigned long long *);

/* Copies the configuration; the URL is checked, nothing is contacted. */
/*
 * The calling thread's broker calls, from begin to end, take at most
 * `seconds` in all (deadline.c).  broker_deadline_left_ms() is the time a
 * call may still take, at most `otherwise`: 0 once it has run out.
 */
void		 broker_deadline_begin(long long seconds);
void		 broker_deadline_end(void);
long long	 broker_deadline_left_ms(long long otherwise);

struct broker	*broker_new(const struct broker_config *, char *, size_t);
/* NULL is a no-op; no call may be running. */
void		 broker_free(struct broker *);

/*
 * base64(salt || SHA-256(salt || password)), salt 4 random bytes: what
 * rabbit_password_hashing_sha256 checks.  out holds BROKER_HASH_LEN + 1.
 * 0 on success, -1 (short buffer, no randomness).
 */
int		 broker_password_hash(const char *, char *, size_t);
/* BROKER_PASSWORD_BYTES random bytes, base64url: BROKER_PASSWORD_LEN + 1. */
int		 broker_random_password(char *, size_t);

/* GET /api/overview: RabbitMQ answers and the credentials are good. */
int		 broker_ping(struct broker *, char *, size_t);
/*
 * PUT /api/vhosts/V; an existing vhost is left as it is.  RabbitMQ gives
 * the management user full permissions on a vhost it creates.
 */
int		 broker_vhost_ensure(struct broker *, const char *, char *,
		    size_t);

/*
 * The user (hash replaced if it exists), then its topic permissions, then
 * its permissions on the vhost, which must exist.  Idempotent.  Each step
 * only adds rights the final state has, so a failure half way leaves a
 * user that can do no more than intended (a user with permissions but no
 * topic permissions could publish on any topic: that state never occurs).
 */
int		 broker_device_put(struct broker *,
		    const struct broker_device *, char *, size_t);
/*
 * The same for n devices through POST /api/definitions, in chunks of
 * BROKER_BATCH_MAX, each chunk in two imports (users and topic
 * permissions, then permissions) for the same reason.  An import is not
 * atomic: on failure some devices may be done; the call is idempotent, so
 * the answer to a failure is to repeat it (or to delete the users).
 * Every device is checked before anything is sent.
 */
int		 broker_devices_put(struct broker *,
		    const struct broker_device *, size_t, char *, size_t);
/* DELETE /api/users/U, its permissions with it; no such user is done. */
int		 broker_user_delete(struct broker *, const char *, char *,
		    size_t);
/*
 * Closes every live connection of the user (DELETE
 * /api/connections/username/U, X-Reason set); none is done.  Revocation
 * is broker_user_delete() first (no new login), then this.
 */
int		 broker_user_disconnect(struct broker *, const char *, char *,
		    size_t);

/*
 * Certificate login (mqtt.ssl_cert_login, ssl_cert_login_from =
 * common_name): the client sends no username and RabbitMQ takes the
 * vhost from the global runtime parameter mqtt_default_vhosts, one JSON
 * map {"CN": "vhost"} for the whole broker; a CN it does not list lands
 * in the MQTT plugin's default vhost (mqtt.vhost, "/").  This sets user's
 * entry to vhost, or removes it when vhost is NULL, keeping every other
 * entry: GET /api/global-parameters/mqtt_default_vhosts, the change, PUT
 * of the whole map (DELETE when it ends empty; nothing when it is already
 * so).  Calls from many threads are serialised, and those that wait go
 * together in the next read-modify-write.  The management API has no
 * compare-and-set: no other process may write the map at the same time.
 * A map whose value is not a JSON object is refused (BROKER_ERROR) and
 * left alone.  Idempotent.
 */
int		 broker_default_vhost_set(struct broker *, const char *,
		    const char *, char *, size_t);

#endif
