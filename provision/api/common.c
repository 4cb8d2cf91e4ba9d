/* The route table, who may call each route, and what handlers share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caller.h"
#include "iotad.h"
#include "outbox.h"
#include "mode.h"
#include "json.h"
#include "router.h"
#include "secret.h"

/*
 * Who may call each route (caller.h), and the body it takes, its type and
 * size: registering DEVICE_ADD_NAMES_MAX names needs more than the
 * server's default limit.
 */
#define OP	CALLER_OPERATOR
#define GROUP	"/v1/groups/{group}"
#define DEVICE	GROUP "/devices/{device}"
#define EST	"/.well-known/est"
#define EST_ENROLL	(CALLER_EST_BASIC | CALLER_DEVICE_CERT)
/* The body each takes: RFC 8259, RFC 7030 4.2.1, RabbitMQ's forms, RFC 6960 */
#define JSON		"application/json"
#define PKCS10		"application/pkcs10"
#define FORM		"application/x-www-form-urlencoded"
#define OCSP_TYPE	"application/ocsp-request"
/* base64 of a CSR, in lines */
#define EST_BODY_MAX	(CA_CSR_MAX * 4 / 3 + CA_CSR_MAX / 32 + 64)
/* For relying parties: on both listeners, no credential. */
#define REVOCATION_ROUTES						\
	ROUTE("GET", "/crl", CALLER_ANYONE, handle_crl_current),	\
	ROUTE("GET", "/crl/{file}", CALLER_ANYONE, handle_crl),		\
	ROUTE_BODY("POST", "/ocsp", CALLER_ANYONE, handle_ocsp_post,	\
	    OCSP_TYPE, CA_OCSP_REQ_MAX),				\
	ROUTE("GET", "/ocsp/{request*}", CALLER_ANYONE, handle_ocsp_get)
const struct route revocation_routes[] = {
	REVOCATION_ROUTES,
};
const size_t revocation_nroutes = sizeof(revocation_routes) /
    sizeof(revocation_routes[0]);
/* metrics.listen http: a plain listener of its own, /metrics alone. */
const struct route metrics_routes[] = {
	ROUTE("GET", "/metrics", CALLER_ANYONE, handle_metrics),
};
const size_t metrics_nroutes = sizeof(metrics_routes) /
    sizeof(metrics_routes[0]);
const struct route iotad_routes[] = {
	ROUTE("GET", "/v1/health", CALLER_ANYONE, handle_health),
	/* metrics.listen admin; otherwise 404 (metrics.c) */
	ROUTE("GET", "/metrics", CALLER_ADMIN, handle_metrics),
	ROUTE_IN("POST", "/v1/tenants", CALLER_ADMIN, handle_tenant_create,
	    JSON),
	ROUTE("GET", "/v1/tenants", CALLER_ADMIN, handle_tenant_list),
	ROUTE("GET", "/v1/tenants/{tenant}", CALLER_ADMIN, handle_tenant_show),
	ROUTE("DELETE", "/v1/tenants/{tenant}", CALLER_ADMIN,
	    handle_tenant_delete),
	ROUTE("GET", "/v1/tokens", CALLER_ADMIN | OP, handle_token_list),
	ROUTE_IN("POST", "/v1/tokens", CALLER_ADMIN | OP, handle_token_create,
	    JSON),
	ROUTE("DELETE", "/v1/tokens/{name}", CALLER_ADMIN | OP,
	    handle_token_revoke),
	ROUTE("GET", "/v1/groups", OP, handle_group_list),
	ROUTE_IN("POST", "/v1/groups", OP, handle_group_create, JSON),
	ROUTE("GET", GROUP, OP, handle_group_show),
	ROUTE_IN("PATCH", GROUP, OP, handle_group_patch, JSON),
	ROUTE("DELETE", GROUP, OP, handle_group_delete),
	ROUTE_IN("POST", GROUP "/rotate-secret", OP, handle_group_rotate, JSON),
	ROUTE_BODY("POST", GROUP "/devices", OP, handle_device_add, JSON,
	    DEVICE_ADD_BODY_MAX),
	ROUTE("GET", GROUP "/devices", OP, handle_device_list),
	ROUTE("GET", DEVICE, OP, handle_device_show),
	ROUTE_IN("POST", DEVICE "/revoke", OP, handle_device_revoke, JSON),
	ROUTE_IN("POST", DEVICE "/enable", OP, handle_device_enable, JSON),
	ROUTE("GET", "/v1/certificates", OP, handle_cert_list),
	ROUTE_IN("POST", "/v1/provision", CALLER_DEVICE_SECRET,
	    handle_provision, JSON),
	ROUTE_IN("POST", "/v1/renew", CALLER_DEVICE_CERT, handle_renew, JSON),
	ROUTE("GET", EST "/cacerts", CALLER_ANYONE, handle_est_cacerts),
	ROUTE("GET", EST "/{label}/cacerts", CALLER_ANYONE, handle_est_cacerts),
	ROUTE("GET", EST "/csrattrs", CALLER_ANYONE, handle_est_csrattrs),
	ROUTE("GET", EST "/{label}/csrattrs", CALLER_ANYONE,
	    handle_est_csrattrs),
	ROUTE_BODY("POST", EST "/simpleenroll", EST_ENROLL, handle_est_enroll,
	    PKCS10, EST_BODY_MAX),
	ROUTE_BODY("POST", EST "/{label}/simpleenroll", EST_ENROLL,
	    handle_est_enroll, PKCS10, EST_BODY_MAX),
	ROUTE_BODY("POST", EST "/simplereenroll", CALLER_DEVICE_CERT,
	    handle_est_reenroll, PKCS10, EST_BODY_MAX),
	ROUTE_BODY("POST", EST "/{label}/simplereenroll", CALLER_DEVICE_CERT,
	    handle_est_reenroll, PKCS10, EST_BODY_MAX),
	ROUTE_IN("POST", "/auth/user", CALLER_BROKER, handle_auth_user, FORM),
	ROUTE_IN("POST", "/auth/vhost", CALLER_BROKER, handle_auth_vhost, FORM),
	ROUTE_IN("POST", "/auth/resource", CALLER_BROKER, handle_auth_resource,
	    FORM),
	ROUTE_IN("POST", "/auth/topic", CALLER_BROKER, handle_auth_topic, FORM),
	REVOCATION_ROUTES,
};
#undef OP
#undef GROUP
#undef DEVICE
#undef REVOCATION_ROUTES
#undef EST
#undef EST_ENROLL
#undef EST_BODY_MAX
#undef JSON
#undef PKCS10
#undef FORM
#undef OCSP_TYPE
const size_t iotad_nroutes = sizeof(iotad_routes) / sizeof(iotad_routes[0]);

void
handle_health(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	unsigned long long evicted = 0, full = 0;

	(void)c;
	/* The limiter's pressure, as counters a monitor can watch grow. */
	if (d->failures != NULL)
		ratelimit_pressure(d->failures, 0, &evicted, &full);
	http_respond_json(resp, 200, json_pack("{s:s, s:{s:I, s:I}}", "status",
	    "ok", "ratelimit", "evicted", (json_int_t)evicted, "refused",
	    (json_int_t)full));
}

int
api_check_name(struct http_response *resp, const char *what,
    const char *name)
{
	if (name != NULL && ca_name_is_safe(name))
		return 0;
	http_respond_error(resp, 400, "bad_request", "%s must be 1 to 64 "
	    "letters, digits, '-' or '_', starting with a letter or digit",
	    what);
	return -1;
}

void
api_registry_error(struct http_response *resp, int rc, const char *what)
{
	switch (rc) {
	case REG_NOT_FOUND:
		http_respond_error(resp, 404, "not_found", "no such %s", what);
		break;
	case REG_EXISTS:
		http_respond_error(resp, 409, "exists", "that %s exists", what);
		break;
	default:
		http_respond_error(resp, 500, "internal", "internal error");
		break;
	}
}

struct group_job {
	int64_t			 tenant_id;
	const char		*name;
	struct reg_group	*group;
};

static int
group_find(sqlite3 *db, void *arg)
{
	struct group_job *j = arg;

	return registry_group_find(db, j->tenant_id, j->name, j->group);
}

/* Another tenant's group answers exactly as a missing one: 404. */
int
api_find_group(struct http_request *req, struct http_response *resp,
    const struct caller *c, struct reg_group *g)
{
	return api_find_group_named(req, resp, c,
	    http_request_param(req, "group"), g);
}

int
api_query_number(struct http_request *req, const char *name, int64_t def,
    int64_t min, int64_t max, int64_t *v)
{
	const char *text = http_request_query(req, name);
	char *end;
	long long n;

	if (text == NULL) {
		*v = def;
		return 0;
	}
	n = strtoll(text, &end, 10);
	if (*text == '\0' || *end != '\0' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

int
api_find_group_named(struct http_request *req, struct http_response *resp,
    const struct caller *c, const char *name, struct reg_group *g)
{
	struct iotad *d = http_request_arg(req);
	struct group_job j = { c->tenant_id, name, g };
	char err[256];
	int rc;

	if (api_check_name(resp, "the group name", j.name) == -1)
		return -1;
	if ((rc = store_read(d->store, group_find, &j, err, sizeof(err))) != 0) {
		if (rc != REG_NOT_FOUND)
			log_error("group lookup: %s", err);
		api_registry_error(resp, rc, "group");
		return -1;
	}
	return 0;
}

static json_t *
opt_int(int64_t v)
{
	return v == REG_NONE ? json_null() : json_integer(v);
}

json_t *
api_group_json(const struct reg_group *g)
{
	return json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:I}", "name",
	    g->name, "devices", (json_int_t)g->devices, "provisioned",
	    (json_int_t)g->provisioned, "quota", opt_int(g->quota),
	    "secret_expires", opt_int(g->secret_expires), "certificate_days",
	    opt_int(g->cert_days), "renew_grace", opt_int(g->renew_grace),
	    "created", (json_int_t)g->created);
}

json_t *
api_device_json(const struct reg_device *dev, const char *group)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "name", dev->name,
	    "group", group, "state", registry_device_state_name(dev->state),
	    "serial", dev->serial[0] != '\0' ? json_string(dev->serial) :
	    json_null(), "not_after", opt_int(dev->not_after),
	    "provisioned_at", opt_int(dev->provisioned_at));
}

struct reg_audit
api_audit_of(struct http_request *req, const struct caller *c,
    const char *action)
{
	struct reg_audit a = { .at = time(NULL), .tenant_id = c->tenant_id,
	    .action = action, .outcome = "ok",
	    .client = http_request_client(req) };

	switch (c->class) {
	case CALLER_ADMIN: a.actor = "admin"; break;
	case CALLER_OPERATOR: a.actor = "operator"; break;
	case CALLER_DEVICE_SECRET: a.actor = "device"; break;
	case CALLER_BROKER: a.actor = "broker"; break;
	default: a.actor = "anyone"; break;
	}
	return a;
}

static int
audit_job(sqlite3 *db, void *arg)
{
	return registry_audit(db, arg);
}

void
api_audit_alone(struct iotad *d, const struct reg_audit *a)
{
	char err[256];

	if (store_write(d->store, audit_job, (void *)a, err, sizeof(err)) != 0)
		log_error("audit: %s", err);
	api_audit_line(a);
}

void
api_audit_line(const struct reg_audit *a)
{
	log_audit("tenant=%lld actor=%s action=%s target=%s outcome=%s "
	    "client=%s", (long long)a->tenant_id, a->actor, a->action,
	    a->target != NULL ? a->target : "-", a->outcome,
	    a->client != NULL ? a->client : "-");
}

/*
 * A job's own refusals (REG_EXISTS, ...) come back to the caller to map;
 * a failure of the store itself is answered here.
 */
int
api_write(struct iotad *d, struct http_response *resp, store_job job,
    void *arg, const char *what)
{
	char err[256];
	int rc;

	if ((rc = store_write(d->store, job, arg, err, sizeof(err))) ==
	    STORE_ERROR || rc == REG_ERROR) {
		log_error("%s: %s", what, err);
		http_respond_error(resp, 500, "internal", "internal error");
		return STORE_ERROR;
	}
	return rc;
}

void
api_unavailable(struct iotad *d, struct http_response *resp)
{
	char after[24];

	snprintf(after, sizeof(after), "%lld", d->conf.broker.retry_after);
	http_respond_header(resp, "Retry-After", after);
	http_respond_error(resp, 503, "unavailable", "the broker is "
	    "unavailable; retry in %lld seconds", d->conf.broker.retry_after);
}

void
api_signer_unavailable(struct http_response *resp)
{
	log_error("%s", ca_errstr());
	http_respond_header(resp, "Retry-After", "1");
	http_respond_error(resp, 503, "signer_unavailable", "the signer is "
	    "restarting; retry in a second");
}

int
api_event(sqlite3 *db, struct iotad *d, const char *event,
    const char *tenant, const char *group, const char *device,
    const char *serial, int64_t at)
{
	struct broker_event e = { event, tenant, group, device, serial,
	    (time_t)at };
	char *body;
	int rc;

	if (!broker_mode_has_events(d->broker))
		return REG_OK;
	if ((body = broker_mode_event_json(&e)) == NULL)
		return REG_ERROR;
	rc = registry_event_add(db, event, body, at);
	free(body);
	return rc;
}

void
api_events_kick(struct iotad *d)
{
	broker_mode_kick(d->broker);
}

/* The outbox's source: the registry's events table. */

struct next_job {
	int64_t			 after;
	struct reg_event	 e;
};

static int
next_job(sqlite3 *db, void *arg)
{
	struct next_job *j = arg;

	return registry_event_next(db, j->after, &j->e);
}

static int
source_next(void *arg, int64_t after, struct outbox_event *out)
{
	struct iotad *d = arg;
	struct next_job j = { .after = after };
	char err[256];
	int rc;

	if ((rc = store_read(d->store, next_job, &j, err, sizeof(err))) ==
	    REG_NOT_FOUND)
		return 0;
	if (rc != REG_OK) {
		log_error("events outbox: %s", err);
		free(j.e.routing_key);
		free(j.e.body);
		return -1;
	}
	out->id = j.e.id;
	out->key = j.e.routing_key;
	out->body = j.e.body;
	return 1;
}

static int
delete_job(sqlite3 *db, void *arg)
{
	return registry_event_delete(db, *(int64_t *)arg);
}

static int
source_done(void *arg, int64_t id)
{
	struct iotad *d = arg;
	char err[256];

	if (store_write(d->store, delete_job, &id, err, sizeof(err)) != 0) {
		log_error("events outbox: %s", err);
		return -1;
	}
	return 0;
}

const struct outbox_source *
api_outbox_source(struct iotad *d)
{
	static struct outbox_source src = { source_next, source_done, NULL };

	src.arg = d;
	return &src;
}
