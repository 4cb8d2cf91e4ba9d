/*
 * The broker modes: choosing one, opening what it needs, and what every
 * mode shares (the credentials record, the vhosts, the answer a device
 * gets, events).  The modes themselves are mode-none.c,
 * mode-management.c and mode-auth-backend.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "broker-batch.h"
#include "errbuf.h"
#include "events.h"
#include "file.h"
#include "log.h"
#include "mode-int.h"
#include "outbox.h"
#include "store.h"

#define BROKER_DB_NAME	"broker.db"
#define ACCOUNT_MAX	4096	/* bytes of the credentials file */

static const struct broker_mode_ops *const modes[] = {
	[CONF_BROKER_NONE] = &mode_none_ops,
	[CONF_BROKER_MANAGEMENT] = &mode_management_ops,
	[CONF_BROKER_AUTH_BACKEND] = &mode_auth_backend_ops,
};

int
broker_mode_check(const struct iotad_conf *c, char *err, size_t errlen)
{
	const char *name = modes[c->broker.mode]->name;

	if (c->broker.mode == CONF_BROKER_NONE)
		return 0;
	if (c->broker.mqtt_url == NULL || c->broker.key_file == NULL ||
	    c->broker.management_credentials_file == NULL) {
		errbuf_set(err, errlen, "broker.mode %s needs broker.mqtt_url, "
		    "broker.key_file and broker.management_credentials_file",
		    name);
		return -1;
	}
	if (c->broker.mode == CONF_BROKER_MANAGEMENT &&
	    c->broker.management_url == NULL) {
		errbuf_set(err, errlen, "broker.mode management needs "
		    "broker.management_url");
		return -1;
	}
	/* Nothing else can end a revoked device's live session. */
	if (c->broker.mode == CONF_BROKER_AUTH_BACKEND &&
	    c->broker.management_url == NULL) {
		errbuf_set(err, errlen, "broker.mode auth-backend needs "
		    "broker.management_url: iotad closes a revoked device's "
		    "live connections through it");
		return -1;
	}
	/*
	 * RabbitMQ 3.10's internal backend lets any device take another's
	 * MQTT client id (the broker then disconnects the first); only the
	 * auth backend sees the client id at login.  Not silently.
	 */
	if (c->broker.mode == CONF_BROKER_MANAGEMENT &&
	    c->broker.client_id_takeover != CONF_TAKEOVER_ACCEPT) {
		errbuf_set(err, errlen, "broker.mode management: RabbitMQ 3.10 "
		    "lets a device that connects with another device's client "
		    "id disconnect it, and this mode cannot stop that; use "
		    "broker.mode auth-backend (it denies such logins), or set "
		    "broker.client_id_takeover: accept to run it anyway");
		return -1;
	}
	/* RabbitMQ's per-CN vhost map is kept by the management mode. */
	if (c->broker.login == CONF_LOGIN_CERTIFICATE &&
	    c->broker.mode != CONF_BROKER_MANAGEMENT) {
		errbuf_set(err, errlen, "broker.login certificate needs "
		    "broker.mode management");
		return -1;
	}
	return 0;
}

int
broker_mode_init(const struct iotad_conf *c, char *err, size_t errlen)
{
	if (c->broker.mode == CONF_BROKER_NONE ||
	    access(c->broker.key_file, F_OK) == 0)
		return 0;
	return store_key_create(c->broker.key_file, err, errlen);
}

/* "user:password" on the first line of the credentials file. */
static char *
read_account(const char *path, char **password, size_t *len, char *err,
    size_t errlen)
{
	char *line, *colon;

	if ((line = file_first_line(path, ACCOUNT_MAX, len, err, errlen)) ==
	    NULL)
		return NULL;
	if ((colon = strchr(line, ':')) == NULL || colon == line ||
	    colon[1] == '\0') {
		errbuf_set(err, errlen, "%s: expected user:password on its "
		    "first line", path);
		file_line_free(line, *len);
		return NULL;
	}
	*colon = '\0';
	*password = colon + 1;
	return line;
}

/*
 * The management API (in auth-backend mode it only makes tenants' vhosts
 * and closes revoked devices' connections) and the
 * events channel, both as the broker's administrator.
 */
static int
open_clients(struct broker_mode *m, const struct iotad_conf *c, char *err,
    size_t errlen)
{
	struct broker_config bc = { .mgmt_url = c->broker.management_url,
	    .ca_file = c->broker.management_ca_file,
	    .timeout_ms = c->broker.timeout * 1000 };
	struct events_config ec = { .host = c->broker.amqp_host,
	    .port = c->broker.amqp_port, .exchange = c->broker.events_exchange,
	    .timeout = (int)c->broker.timeout, .defer_connect = 1 };
	char *account, *password;
	size_t len;
	int rc = -1;

	if ((account = read_account(c->broker.management_credentials_file,
	    &password, &len, err, errlen)) == NULL)
		return -1;
	bc.user = ec.user = account;
	bc.password = ec.password = password;
	if (c->broker.management_url != NULL &&
	    (m->mgmt = broker_new(&bc, err, errlen)) == NULL)
		goto out;
	if ((m->events = events_open(&ec, err, errlen)) != NULL)
		rc = 0;
out:
	file_line_free(account, len);
	return rc;
}

struct broker_mode *
broker_mode_open(const struct iotad_conf *c, char *err, size_t errlen)
{
	struct broker_mode *m;

	if (broker_mode_check(c, err, errlen) == -1)
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	m->ops = modes[c->broker.mode];
	m->cert_login = c->broker.login == CONF_LOGIN_CERTIFICATE;
	pthread_mutex_init(&m->vlock, NULL);
	if (m->ops == &mode_none_ops)
		return m;
	if ((m->mqtt_url = strdup(c->broker.mqtt_url)) == NULL) {
		errbuf_set(err, errlen, "out of memory");
		goto fail;
	}
	if ((m->db = store_open_keyed(c->state.dir, BROKER_DB_NAME,
	    c->broker.key_file, &schema_broker, err, errlen)) == NULL ||
	    open_clients(m, c, err, errlen) == -1)
		goto fail;
	return m;
fail:
	broker_mode_close(m);
	return NULL;
}

int
broker_mode_start(struct broker_mode *m, const struct outbox_source *src,
    char *err, size_t errlen)
{
	if ((m->events != NULL && (m->outbox = outbox_start(m->events, src)) ==
	    NULL) || (m->ops == &mode_management_ops &&
	    (m->batch = broker_batch_start(m->mgmt)) == NULL)) {
		errbuf_set(err, errlen, "cannot start the broker's threads");
		return -1;
	}
	return 0;
}

void
broker_mode_close(struct broker_mode *m)
{
	if (m == NULL)
		return;
	outbox_stop(m->outbox);
	broker_batch_stop(m->batch);
	mode_vhost_forget(m);
	events_close(m->events);
	broker_free(m->mgmt);
	store_close(m->db);
	pthread_mutex_destroy(&m->vlock);
	free(m->mqtt_url);
	free(m);
}

/* The calls handlers make. */

int
broker_mode_tenant(struct broker_mode *m, const char *tenant)
{
	return m->mgmt != NULL ? mode_vhost(m, tenant) : BROKER_OK;
}

int
broker_mode_device(struct broker_mode *m, const struct broker_who *who,
    struct creds *c)
{
	memset(c, 0, sizeof(*c));
	return m->ops->device(m, who, c);
}

const char *
broker_mode_subject(const struct broker_mode *m, const struct creds *c,
    const char *device)
{
	/* Certificate login: the broker takes the CN as the username. */
	return m->cert_login && c->username[0] != '\0' ? c->username : device;
}

/* {url, vhost, username, password (none with certificate login), ...} */
json_t *
broker_mode_answer(const struct broker_mode *m, const struct creds *c,
    const char *chain_pem)
{
	char login[2 * BROKER_NAME_MAX + 2];
	json_t *b;

	if (m->ops == &mode_none_ops)
		return NULL;
	/* RabbitMQ's MQTT plugin takes the vhost from "vhost:user"; the
	 * client id must be the username: permissions rely on it. */
	snprintf(login, sizeof(login), "%s:%s", c->vhost, c->username);
	b = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "url",
	    m->mqtt_url, "vhost", c->vhost, "username", c->username,
	    "mqtt_username", login, "client_id", c->username, "login",
	    m->cert_login ? "certificate" : "password", "ca_chain", chain_pem);
	if (b != NULL && c->password[0] != '\0')
		json_object_set_new(b, "password", json_string(c->password));
	return b;
}

int
broker_mode_revoke(struct broker_mode *m, int64_t device_id)
{
	enum creds_state state;
	struct creds c;
	char err[256];
	int rc;

	if (m->ops->remove == NULL)
		return BROKER_OK;
	if (creds_find(m->db, device_id, &c, &state, err, sizeof(err)) == -1) {
		log_error("broker database: %s", err);
		return BROKER_ERROR;
	}
	if (state == CREDS_NONE)
		return BROKER_OK;
	rc = m->ops->remove(m, &c);
	creds_clear(&c);
	return rc == BROKER_OK ? mode_forget(m, device_id) : rc;
}

int
broker_mode_cert_login(const struct broker_mode *m)
{
	return m->cert_login;
}

int
broker_mode_answers_auth(const struct broker_mode *m)
{
	return m->ops->ask != NULL;
}

int
broker_mode_ask(struct broker_mode *m, enum broker_question q,
    const struct router_query *form)
{
	return m->ops->ask != NULL ? m->ops->ask(m, q, form) : -1;
}

int
broker_mode_has_events(const struct broker_mode *m)
{
	return m->events != NULL;
}

/* {"event", "tenant", "group", "device", "serial"?, "at"} */
char *
broker_mode_event_json(const struct broker_event *e)
{
	char *body;
	json_t *j;

	j = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I}", "event", e->name,
	    "tenant", e->tenant, "group", e->group, "device", e->device,
	    "serial", e->serial, "at", (json_int_t)e->at);
	body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return body;
}

void
broker_mode_kick(struct broker_mode *m)
{
	outbox_kick(m->outbox);
}

/* What the modes share. */

static int
new_creds(struct broker_mode *m, const struct broker_who *who,
    struct creds *c)
{
	size_t n;

	if (creds_username(who->tenant, who->group, who->device, c->username,
	    sizeof(c->username)) == -1 ||
	    snprintf(c->vhost, sizeof(c->vhost), "%s", who->tenant) < 0)
		return BROKER_ERROR;
	n = strlen(c->username);
	if (m->cert_login && who->generation > 0 &&
	    (size_t)snprintf(c->username + n, sizeof(c->username) - n,
	    ".%lld", (long long)who->generation) >= sizeof(c->username) - n)
		return BROKER_ERROR;
	c->password[0] = '\0';
	if (!m->cert_login && broker_random_password(c->password,
	    sizeof(c->password)) != BROKER_OK)
		return BROKER_ERROR;
	return BROKER_OK;
}

int
mode_record(struct broker_mode *m, const struct broker_who *who,
    struct creds *c, enum creds_state *state, enum creds_state as)
{
	char err[256];

	/* Recorded before the broker hears of them: pending, unless the
	 * record is all the broker will ask (`as` active). */
	if (new_creds(m, who, c) != BROKER_OK)
		return BROKER_ERROR;
	if (creds_obtain(m->db, who->device_id, c, time(NULL),
	    as == CREDS_ACTIVE, state, err, sizeof(err)) == -1) {
		log_error("broker database: %s", err);
		return BROKER_ERROR;
	}
	return BROKER_OK;
}

int
mode_activate(struct broker_mode *m, int64_t device_id)
{
	char err[256];

	if (creds_activate(m->db, device_id, err, sizeof(err)) == -1) {
		log_error("broker database: %s", err);
		return BROKER_ERROR;
	}
	return BROKER_OK;
}

int
mode_forget(struct broker_mode *m, int64_t device_id)
{
	char err[256];

	if (creds_forget(m->db, device_id, err, sizeof(err)) == -1) {
		log_error("broker database: %s", err);
		return BROKER_ERROR;
	}
	return BROKER_OK;
}

/* Whether vhost is known to exist; with `add`, it is from now on. */
static int
vhost_known(struct broker_mode *m, const char *vhost, int add)
{
	size_t i;
	int known = 0;

	pthread_mutex_lock(&m->vlock);
	for (i = 0; i < MODE_VHOSTS_MAX && m->vhosts[i] != NULL && !known; i++)
		known = strcmp(m->vhosts[i], vhost) == 0;
	if (!known && add && i < MODE_VHOSTS_MAX)
		m->vhosts[i] = strdup(vhost);
	pthread_mutex_unlock(&m->vlock);
	return known;
}

int
mode_vhost(struct broker_mode *m, const char *vhost)
{
	char err[256];
	int rc;

	if (vhost_known(m, vhost, 0))
		return BROKER_OK;
	if ((rc = broker_vhost_ensure(m->mgmt, vhost, err, sizeof(err))) ==
	    BROKER_OK)
		vhost_known(m, vhost, 1);
	else
		log_warn("broker: %s", err);
	return rc;
}

/* A refusal may mean the vhost went away: ask for it again next time. */
void
mode_vhost_forget(struct broker_mode *m)
{
	pthread_mutex_lock(&m->vlock);
	for (size_t i = 0; i < MODE_VHOSTS_MAX; i++) {
		free(m->vhosts[i]);
		m->vhosts[i] = NULL;
	}
	pthread_mutex_unlock(&m->vlock);
}

int
mode_disconnect(struct broker_mode *m, const char *user)
{
	char err[256];
	int rc;

	if (m->mgmt == NULL)
		return BROKER_OK;
	if ((rc = broker_user_disconnect(m->mgmt, user, err, sizeof(err))) !=
	    BROKER_OK)
		log_warn("broker: %s", err);
	return rc;
}
