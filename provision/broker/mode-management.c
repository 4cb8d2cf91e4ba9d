/*
 * broker.mode management: iotad makes each device's user, permissions and
 * topic permissions through RabbitMQ's management API (a salted hash of
 * the password only), so the broker keeps working while iotad is down.
 * With certificate login, the device's CN maps to its tenant's vhost in
 * mqtt_default_vhosts: the entry is made after the user and removed
 * after it.
 */
#include <string.h>

#include "broker-batch.h"
#include "log.h"
#include "mode-int.h"

static int
make_at_broker(struct broker_mode *m, const struct creds *c,
    const struct broker_who *who)
{
	struct broker_device bd = { c->vhost, c->username, "", who->group,
	    who->device };
	char hash[BROKER_HASH_LEN + 1] = "", err[256] = "";
	int rc;

	if (c->password[0] != '\0' &&
	    broker_password_hash(c->password, hash, sizeof(hash)) != BROKER_OK)
		return BROKER_ERROR;
	bd.password_hash = hash;
	if ((rc = mode_vhost(m, c->vhost)) != BROKER_OK)
		return rc;
	if ((rc = broker_batch_put(m->batch, &bd, err, sizeof(err))) ==
	    BROKER_REFUSED)
		mode_vhost_forget(m);
	if (rc == BROKER_OK && m->cert_login)
		rc = broker_default_vhost_set(m->mgmt, c->username, c->vhost,
		    err, sizeof(err));
	if (rc != BROKER_OK)
		log_msg(rc == BROKER_UNAVAILABLE ? LOG_LEVEL_WARN :
		    LOG_LEVEL_ERROR, "broker: %s", err);
	return rc;
}

static int
management_device(struct broker_mode *m, const struct broker_who *who,
    struct creds *c)
{
	enum creds_state state;
	int rc;

	if ((rc = mode_record(m, who, c, &state, CREDS_PENDING)) != BROKER_OK ||
	    state == CREDS_ACTIVE)
		return rc;
	if ((rc = make_at_broker(m, c, who)) != BROKER_OK)
		return rc;
	return mode_activate(m, who->device_id);
}

/* The user first (no new login), then its live connections. */
static int
management_remove(struct broker_mode *m, const struct creds *c)
{
	char err[256];
	int rc;

	rc = broker_user_delete(m->mgmt, c->username, err, sizeof(err));
	if (rc == BROKER_OK && (rc = mode_disconnect(m, c->username)) !=
	    BROKER_OK)
		return rc;
	if (rc == BROKER_OK && m->cert_login)
		rc = broker_default_vhost_set(m->mgmt, c->username, NULL, err,
		    sizeof(err));
	if (rc != BROKER_OK)
		log_warn("broker: %s", err);
	return rc;
}

const struct broker_mode_ops mode_management_ops = {
	.name = "management",
	.device = management_device,
	.remove = management_remove,
	.ask = NULL,
};
