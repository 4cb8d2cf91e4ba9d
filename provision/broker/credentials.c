/* Broker credentials: the broker database, then RabbitMQ, in that order. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "broker-batch.h"
#include "credentials.h"
#include "iotad.h"

int
creds_username(const char *tenant, const char *group, const char *device,
    char *out, size_t len)
{
	int n = snprintf(out, len, "%s.%s.%s", tenant, group, device);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void
creds_clear(struct creds *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

struct creds_job {
	int64_t		 device_id;
	struct creds	*c;
	int		 active;
	time_t		 now;
};

static int
column_copy(sqlite3_stmt *st, int col, char *out, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (s == NULL || n < 0 || (size_t)n >= len)
		return -1;
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
	return 0;
}

static int
creds_find(sqlite3 *db, void *arg)
{
	struct creds_job *j = arg;
	sqlite3_stmt *st;
	int rc = REG_NOT_FOUND;

	if (sqlite3_prepare_v2(db, "SELECT username, password, vhost, state "
	    "FROM credentials WHERE device_id = ?", -1, &st, NULL) != SQLITE_OK)
		return REG_ERROR;
	sqlite3_bind_int64(st, 1, j->device_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		rc = column_copy(st, 0, j->c->username, sizeof(j->c->username)) ||
		    column_copy(st, 1, j->c->password, sizeof(j->c->password)) ||
		    column_copy(st, 2, j->c->vhost, sizeof(j->c->vhost)) ?
		    REG_ERROR : REG_OK;
		j->active = strcmp((const char *)sqlite3_column_text(st, 3),
		    "active") == 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
exec_bound(sqlite3 *db, const char *sql, const struct creds_job *j)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return REG_ERROR;
	sqlite3_bind_int64(st, 1, j->device_id);
	if (sqlite3_bind_parameter_count(st) > 1) {
		sqlite3_bind_text(st, 2, j->c->username, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, j->c->password, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, j->c->vhost, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)j->now);
	}
	rc = sqlite3_step(st) == SQLITE_DONE ? REG_OK : REG_ERROR;
	sqlite3_finalize(st);
	return rc;
}

static int
creds_insert(sqlite3 *db, void *arg)
{
	return exec_bound(db, "INSERT INTO credentials (device_id, username, "
	    "password, vhost, state, created) VALUES (?, ?, ?, ?, 'pending', ?)",
	    arg);
}

static int
creds_activate(sqlite3 *db, void *arg)
{
	return exec_bound(db, "UPDATE credentials SET state = 'active' "
	    "WHERE device_id = ?", arg);
}

static int
creds_delete(sqlite3 *db, void *arg)
{
	return exec_bound(db, "DELETE FROM credentials WHERE device_id = ?",
	    arg);
}

/* New credentials, recorded as pending before the broker hears of them. */
static int
record_new(struct iotad *d, struct creds_job *j, const char *tenant,
    const char *group, const char *device)
{
	char err[256];

	if (creds_username(tenant, group, device, j->c->username,
	    sizeof(j->c->username)) == -1 ||
	    snprintf(j->c->vhost, sizeof(j->c->vhost), "%s", tenant) < 0)
		return BROKER_ERROR;
	j->c->password[0] = '\0';
	if (d->conf.broker.login == CONF_LOGIN_PASSWORD &&
	    broker_random_password(j->c->password,
	    sizeof(j->c->password)) != BROKER_OK)
		return BROKER_ERROR;
	if (store_write(d->broker_store, creds_insert, j, err, sizeof(err)) != 0) {
		log_error("broker database: %s", err);
		return BROKER_ERROR;
	}
	return BROKER_OK;
}

/* A tenant's vhost is made once per process, not once per device. */
static int
vhost_known(struct iotad *d, const char *vhost, int add)
{
	size_t i, n = sizeof(d->vhosts) / sizeof(d->vhosts[0]);
	int known = 0;

	pthread_mutex_lock(&d->vhostlock);
	for (i = 0; i < n && d->vhosts[i] != NULL && !known; i++)
		known = strcmp(d->vhosts[i], vhost) == 0;
	if (!known && add && i < n)
		d->vhosts[i] = strdup(vhost);
	pthread_mutex_unlock(&d->vhostlock);
	return known;
}

/* A refusal may mean the vhost went away: ask for it again next time. */
static void
vhost_forget(struct iotad *d)
{
	pthread_mutex_lock(&d->vhostlock);
	for (size_t i = 0; i < sizeof(d->vhosts) / sizeof(d->vhosts[0]); i++) {
		free(d->vhosts[i]);
		d->vhosts[i] = NULL;
	}
	pthread_mutex_unlock(&d->vhostlock);
}

static int
vhost_ensure(struct iotad *d, const char *vhost, char *err, size_t len)
{
	int rc;

	if (vhost_known(d, vhost, 0))
		return BROKER_OK;
	if ((rc = broker_vhost_ensure(d->broker, vhost, err, len)) == BROKER_OK)
		vhost_known(d, vhost, 1);
	return rc;
}

/*
 * With certificate login the device sends no username, so no "vhost:user"
 * either: RabbitMQ finds its vhost in mqtt_default_vhosts, under the
 * certificate's CN (the username), or puts it in vhost "/", where it has
 * no rights.  The entry is made after the user and removed after it.
 */
static int
cert_login(const struct iotad *d)
{
	return d->conf.broker.login == CONF_LOGIN_CERTIFICATE;
}

static int
make_at_broker(struct iotad *d, const struct creds *c, const char *group,
    const char *device)
{
	struct broker_device bd = { c->vhost, c->username, "", group, device };
	char hash[BROKER_HASH_LEN + 1] = "", err[256];
	int rc;

	if (c->password[0] != '\0' &&
	    broker_password_hash(c->password, hash, sizeof(hash)) != BROKER_OK)
		return BROKER_ERROR;
	bd.password_hash = hash;
	if ((rc = vhost_ensure(d, c->vhost, err, sizeof(err))) == BROKER_OK &&
	    (rc = broker_batch_put(d->batch, &bd, err, sizeof(err))) ==
	    BROKER_REFUSED)
		vhost_forget(d);
	if (rc == BROKER_OK && cert_login(d))
		rc = broker_default_vhost_set(d->broker, c->username, c->vhost,
		    err, sizeof(err));
	if (rc != BROKER_OK)
		log_msg(rc == BROKER_UNAVAILABLE ? LOG_LEVEL_WARN :
		    LOG_LEVEL_ERROR, "broker: %s", err);
	return rc;
}

int
creds_ensure(struct iotad *d, int64_t device_id, const char *tenant,
    const char *group, const char *device, struct creds *c)
{
	struct creds_job j = { device_id, c, 0, time(NULL) };
	char err[256];
	int rc;

	rc = store_read(d->broker_store, creds_find, &j, err, sizeof(err));
	if (rc == REG_NOT_FOUND)
		rc = record_new(d, &j, tenant, group, device);
	else if (rc != REG_OK) {
		log_error("broker database: %s", err);
		return BROKER_ERROR;
	}
	if (rc != BROKER_OK || j.active)
		return rc;
	/* With the auth backend, the record is all the broker will ask. */
	if (d->conf.broker.mode == CONF_BROKER_MANAGEMENT &&
	    (rc = make_at_broker(d, c, group, device)) != BROKER_OK)
		return rc;
	if (store_write(d->broker_store, creds_activate, &j, err,
	    sizeof(err)) != 0) {
		log_error("broker database: %s", err);
		return BROKER_ERROR;
	}
	return BROKER_OK;
}

int
creds_revoke(struct iotad *d, int64_t device_id)
{
	struct creds c;
	struct creds_job j = { device_id, &c, 0, time(NULL) };
	char err[256];
	int rc;

	rc = store_read(d->broker_store, creds_find, &j, err, sizeof(err));
	if (rc == REG_NOT_FOUND)
		return BROKER_OK;
	if (rc != REG_OK) {
		log_error("broker database: %s", err);
		return BROKER_ERROR;
	}
	rc = BROKER_OK;
	/*
	 * Management mode deletes the user; both modes close its live
	 * connections when iotad may reach the management API (the auth
	 * backend is asked again only at the next login or topic check).
	 */
	if (d->conf.broker.mode == CONF_BROKER_MANAGEMENT)
		rc = broker_user_delete(d->broker, c.username, err, sizeof(err));
	if (rc == BROKER_OK && d->broker != NULL)
		rc = broker_user_disconnect(d->broker, c.username, err,
		    sizeof(err));
	if (rc == BROKER_OK && cert_login(d))
		rc = broker_default_vhost_set(d->broker, c.username, NULL, err,
		    sizeof(err));
	creds_clear(&c);
	if (rc != BROKER_OK) {
		log_warn("broker: %s", err);
		return rc;
	}
	if (store_write(d->broker_store, creds_delete, &j, err, sizeof(err)) != 0) {
		log_error("broker database: %s", err);
		return BROKER_ERROR;
	}
	return BROKER_OK;
}

int
creds_vhost(struct iotad *d, const char *tenant)
{
	char err[256];
	int rc;

	if ((rc = vhost_ensure(d, tenant, err, sizeof(err))) != BROKER_OK)
		log_warn("broker: %s", err);
	return rc;
}

struct login_job {
	const char	*username;
	struct creds	*c;
	int		 found, active;
};

static int
creds_by_username(sqlite3 *db, void *arg)
{
	struct login_job *j = arg;
	sqlite3_stmt *st;
	int rc = REG_OK;

	if (sqlite3_prepare_v2(db, "SELECT password, vhost, state FROM "
	    "credentials WHERE username = ?", -1, &st, NULL) != SQLITE_OK)
		return REG_ERROR;
	sqlite3_bind_text(st, 1, j->username, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		j->found = 1;
		if (column_copy(st, 0, j->c->password, sizeof(j->c->password)) ||
		    column_copy(st, 1, j->c->vhost, sizeof(j->c->vhost)))
			rc = REG_ERROR;
		j->active = strcmp((const char *)sqlite3_column_text(st, 2),
		    "active") == 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int
creds_lookup(struct iotad *d, const char *username, struct creds *c)
{
	struct login_job j = { username, c, 0, 0 };
	char err[256];

	memset(c, 0, sizeof(*c));
	if (store_read(d->broker_store, creds_by_username, &j, err,
	    sizeof(err)) != 0) {
		log_error("broker database: %s", err);
		return -1;
	}
	if (!j.found || !j.active)
		return -1;
	snprintf(c->username, sizeof(c->username), "%s", username);
	return 0;
}
