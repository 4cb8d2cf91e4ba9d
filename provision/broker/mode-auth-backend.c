/*
 * broker.mode auth-backend (rabbitmq_auth_backend_http): RabbitMQ asks
 * iotad whether a device may log in, enter a vhost, touch a resource or
 * a topic, and iotad answers from the broker database, so a revocation
 * takes effect at the next question.  The management API, when given,
 * makes tenants' vhosts and closes revoked devices' connections.
 */
#include <string.h>

#include "auth-answer.h"
#include "log.h"
#include "mode-int.h"
#include "router.h"

static int
auth_device(struct broker_mode *m, const struct broker_who *who,
    struct creds *c)
{
	enum creds_state state;
	int rc;

	/* The record is all the broker will ask: active in one commit,
	 * and a pending one from an older iotad made active. */
	if ((rc = mode_record(m, who, c, &state, CREDS_ACTIVE)) != BROKER_OK ||
	    state == CREDS_ACTIVE)
		return rc;
	return mode_activate(m, who->device_id);
}

/* Its connections closed: the broker asks iotad, which now says deny. */
static int
auth_remove(struct broker_mode *m, const struct creds *c)
{
	return mode_disconnect(m, c->username);
}

/* The asking user's active credentials, or -1. */
static int
known(struct broker_mode *m, const struct router_query *q, struct creds *c)
{
	const char *user = router_query_get(q, "username");
	enum creds_state state;
	char err[256];

	memset(c, 0, sizeof(*c));
	if (user == NULL)
		return -1;
	if (creds_by_username(m->db, user, c, &state, err, sizeof(err)) ==
	    -1) {
		log_error("broker database: %s", err);
		return -1;
	}
	return state == CREDS_ACTIVE ? 0 : -1;
}

static int
auth_ask(struct broker_mode *m, enum broker_question question,
    const struct router_query *q)
{
	struct creds c;
	int allow = 0;

	if (known(m, q, &c) == 0)
		allow = auth_answer(m->cert_login, question, q, &c);
	creds_clear(&c);
	return allow;
}

const struct broker_mode_ops mode_auth_backend_ops = {
	.name = "auth-backend",
	.device = auth_device,
	.remove = auth_remove,
	.ask = auth_ask,
};
