/* Devices: /v1/groups/{group}/devices[/{device}[/revoke|/enable]]. */
#include <stdlib.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "mode.h"
#include "events.h"
#include "iotad.h"
#include "metrics.h"
#include "ledger.h"
#include "json.h"


/* POST /v1/groups/{group}/devices: {"name"} or {"names": [...]} */

struct add_job {
	int64_t			 group_id;
	json_t			*names;		/* array of valid names */
	json_t			*created, *duplicates;
	int			 single;	/* {"name"}: a duplicate is 409 */
	struct reg_audit	 audit;
};

static int
device_add(sqlite3 *db, void *arg)
{
	struct add_job *j = arg;
	const char *name;
	size_t i;
	json_t *v;
	int64_t id;
	int rc;

	json_array_foreach(j->names, i, v) {
		name = json_string_value(v);
		rc = registry_device_add(db, j->group_id, name, j->audit.at, &id);
		if (rc == REG_EXISTS)
			json_array_append(j->duplicates, v);
		else if (rc == REG_OK)
			json_array_append(j->created, v);
		else
			return rc;
	}
	/* The answer is 409 then: the audit says so, not "ok". */
	if (j->single && json_array_size(j->created) == 0)
		j->audit.outcome = "exists";
	return registry_audit(db, &j->audit);
}

/* The names asked for, each checked; NULL after answering 400. */
static json_t *
requested_names(struct http_response *resp, json_t *body, int *single)
{
	json_t *one = json_object_get(body, "name");
	json_t *many = json_object_get(body, "names"), *v;
	size_t i;

	*single = one != NULL;
	if ((one == NULL) == (many == NULL) || (many != NULL &&
	    (!json_is_array(many) || json_array_size(many) == 0 ||
	    json_array_size(many) > DEVICE_ADD_NAMES_MAX))) {
		http_respond_error(resp, 400, "bad_request", "give \"name\", or "
		    "\"names\" as an array of 1 to %d names", DEVICE_ADD_NAMES_MAX);
		return NULL;
	}
	if (one != NULL)
		return api_check_name(resp, "the device name",
		    json_string_value(one)) == 0 ? json_pack("[O]", one) : NULL;
	json_array_foreach(many, i, v)
		if (api_check_name(resp, "every device name",
		    json_string_value(v)) == -1)
			return NULL;
	return json_incref(many);
}

static void
answer_added(struct http_response *resp, struct add_job *j)
{
	if (j->single && json_array_size(j->duplicates) > 0) {
		http_respond_error(resp, 409, "exists", "that device exists");
		return;
	}
	http_respond_json(resp, 201, json_pack("{s:O, s:O}", "created",
	    j->created, "duplicates", j->duplicates));
}

void
handle_device_add(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct add_job j = { .audit = api_audit_of(req, c, "device.add") };
	char why[JSON_WHYLEN];
	struct reg_group g;
	json_t *body;
	int rc;

	if (api_find_group(req, resp, c, &g) == -1)
		return;
	if ((body = http_request_json(req, why, sizeof(why))) == NULL) {
		http_respond_error(resp, 400, "bad_request", "%s", why);
		return;
	}
	j.group_id = g.id;
	j.audit.target = g.name;
	j.created = json_array();
	j.duplicates = json_array();
	if ((j.names = requested_names(resp, body, &j.single)) != NULL) {
		if ((rc = api_write(d, resp, device_add, &j, "device")) == 0) {
			api_audit_line(&j.audit);
			answer_added(resp, &j);
		} else if (rc != STORE_ERROR)
			api_registry_error(resp, rc, "group");
	}
	json_decref(j.names);
	json_decref(j.created);
	json_decref(j.duplicates);
	json_decref(body);
}

/* GET /v1/groups/{group}/devices?offset=&limit= */

struct list_job {
	int64_t		 group_id, offset, limit, total;
	const char	*group;
	json_t		*devices;
};

static int
add_device(const struct reg_device *dev, void *arg)
{
	struct list_job *j = arg;

	return json_array_append_new(j->devices, api_device_json(dev,
	    j->group)) == 0 ? 0 : -1;
}

static int
device_list(sqlite3 *db, void *arg)
{
	struct list_job *j = arg;

	return registry_device_list(db, j->group_id, j->offset, j->limit,
	    add_device, j, &j->total);
}

void
handle_device_list(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct list_job j;
	struct reg_group g;
	char err[256];

	if (api_find_group(req, resp, c, &g) == -1)
		return;
	if (api_query_number(req, "offset", 0, 0, INT64_MAX / 2, &j.offset) == -1 ||
	    api_query_number(req, "limit", API_PAGE_DEFAULT, 1, API_PAGE_MAX, &j.limit) == -1) {
		http_respond_error(resp, 400, "bad_request", "offset must be a "
		    "number from 0, limit from 1 to %d", API_PAGE_MAX);
		return;
	}
	j.group_id = g.id;
	j.group = g.name;
	j.devices = json_array();
	if (store_read(d->store, device_list, &j, err, sizeof(err)) != 0) {
		log_error("device list: %s", err);
		json_decref(j.devices);
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	http_respond_json(resp, 200, json_pack("{s:o, s:I, s:I}", "devices",
	    j.devices, "total", (json_int_t)j.total, "offset",
	    (json_int_t)j.offset));
}

/* One device of the caller's group; -1 after answering. */

struct device_job {
	int64_t			 group_id, tenant_id;
	const char		*name;
	char			 tenant[REG_NAME_MAX + 1];
	struct reg_device	 dev;
	int			 action;	/* 0 show, 1 revoke, 2 enable */
	int			 reason;	/* CRL_REASON_*, for revoke */
	struct reg_audit	 audit;
	struct iotad		*d;		/* for the revoke's event */
	const char		*group;
	int			 certs_revoked;	/* by this job, for metrics */
};

static int
device_act(sqlite3 *db, void *arg)
{
	struct device_job *j = arg;
	int rc;

	if ((rc = registry_device_find(db, j->group_id, j->name, &j->dev)) != 0 ||
	    (rc = registry_tenant_name(db, j->tenant_id, j->tenant)) != 0)
		return rc;
	if (j->action == 0)
		return 0;
	/* Enabling a provisioned device ends its certificate first. */
	j->certs_revoked = 0;
	if (j->action == 1 || j->dev.state == REG_DEVICE_PROVISIONED) {
		rc = registry_device_revoke(db, j->dev.id, j->audit.at,
		    j->action == 1 ? j->reason : CRL_REASON_SUPERSEDED);
		/* Its last statement revokes the device's certificates. */
		if (rc == 0)
			j->certs_revoked = sqlite3_changes(db);
	}
	if (rc == 0 && j->action == 2)
		rc = registry_device_enable(db, j->dev.id);
	if (rc == 0)
		rc = registry_device_find(db, j->group_id, j->name, &j->dev);
	if (rc == 0 && j->action == 1)
		rc = api_event(db, j->d, EVENT_DEVICE_REVOKED, j->tenant,
		    j->group, j->name, j->dev.serial[0] != '\0' ?
		    j->dev.serial : NULL, j->audit.at);
	return rc != 0 ? rc : registry_audit(db, &j->audit);
}

/*
 * The broker first: a revoked (or re-enabled) device loses its user and
 * its live connections before the registry changes.  If the broker is down,
 * 503 and nothing changes; the operator's retry finishes the job.
 */
static int
revoke_at_broker(struct iotad *d, struct http_response *resp,
    struct device_job *j)
{
	char err[256];
	int rc, action = j->action;

	j->action = 0;
	rc = store_read(d->store, device_act, j, err, sizeof(err));
	j->action = action;
	if (rc != 0) {
		api_registry_error(resp, rc, "device");
		return -1;
	}
	if ((rc = broker_mode_revoke(d->broker, j->dev.id)) == BROKER_OK)
		return 0;
	if (rc == BROKER_UNAVAILABLE || rc == BROKER_REFUSED)
		api_unavailable(d, resp);
	else
		http_respond_error(resp, 500, "internal", "internal error");
	return -1;
}

/*
 * An optional body {"reason": "keyCompromise"} (RFC 5280 5.3.1 names);
 * none: unspecified.  -1 after answering 400.
 */
static int
revoke_reason(struct http_request *req, struct http_response *resp, int *reason)
{
	char why[JSON_WHYLEN];
	json_t *body, *r;
	size_t len;
	int rc = 0;

	*reason = CRL_REASON_UNSPECIFIED;
	if ((void)http_request_body(req, &len), len == 0)
		return 0;
	if ((body = http_request_json(req, why, sizeof(why))) == NULL) {
		http_respond_error(resp, 400, "bad_request", "%s", why);
		return -1;
	}
	r = json_object_get(body, "reason");
	if (json_object_size(body) != (r != NULL) || (r != NULL &&
	    (!json_is_string(r) || ca_reason_parse(json_string_value(r),
	    reason) == -1 || *reason == CRL_REASON_REMOVE_FROM_CRL))) {
		http_respond_error(resp, 400, "bad_request", "the body may "
		    "only name a reason, one of RFC 5280's (keyCompromise, "
		    "superseded, ...)");
		rc = -1;
	}
	json_decref(body);
	return rc;
}

/* The registry has it: now the CA index and the CRLs. -1 after 500. */
static int
publish(struct iotad *d, struct http_response *resp, int64_t device_id)
{
	char err[256];

	if (ledger_publish(d->ca.ledger, d->store, device_id, err,
	    sizeof(err)) == 0)
		return 0;
	log_error("revoke: %s", err);
	http_respond_error(resp, 500, "internal", "revoked, but the CRL is "
	    "not signed yet; revoke again to finish");
	return -1;
}

static void
device_request(struct http_request *req, struct http_response *resp,
    const struct caller *c, int action, const char *audit_action)
{
	struct iotad *d = http_request_arg(req);
	struct device_job j = { .action = action,
	    .audit = api_audit_of(req, c, audit_action) };
	struct reg_group g;
	char err[256], target[2 * REG_NAME_MAX + 2];
	int rc;

	if (api_find_group(req, resp, c, &g) == -1)
		return;
	j.name = http_request_param(req, "device");
	if (api_check_name(resp, "the device name", j.name) == -1)
		return;
	j.group_id = g.id;
	j.tenant_id = c->tenant_id;
	j.d = d;
	j.group = g.name;
	snprintf(target, sizeof(target), "%s/%s", g.name, j.name);
	j.audit.target = target;
	if (action == 1 && revoke_reason(req, resp, &j.reason) == -1)
		return;
	if (action != 0 && revoke_at_broker(d, resp, &j) == -1)
		return;
	rc = action == 0 ? store_read(d->store, device_act, &j, err,
	    sizeof(err)) : api_write(d, resp, device_act, &j, "device");
	if (rc == 0 && action != 0 && publish(d, resp, j.dev.id) == -1)
		return;
	if (rc == 0) {
		metric_add(&iota_metrics.certs_revoked,
		    (unsigned long long)j.certs_revoked);
		if (action != 0)
			api_audit_line(&j.audit);
		if (action == 1)
			api_events_kick(d);
		http_respond_json(resp, 200, api_device_json(&j.dev, g.name));
	} else if (rc != STORE_ERROR)
		api_registry_error(resp, rc, "device");
}

void
handle_device_show(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	device_request(req, resp, c, 0, NULL);
}

void
handle_device_revoke(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	device_request(req, resp, c, 1, "device.revoke");
}

void
handle_device_enable(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	device_request(req, resp, c, 2, "device.enable");
}
