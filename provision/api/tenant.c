/* /v1/tenants: the admin makes, lists, shows and deletes tenants. */
#include <openssl/crypto.h>
#include <time.h>

#include "mode.h"
#include "iotad.h"
#include "json.h"
#include "secret.h"

struct tenant_job {
	const char	*name;
	unsigned char	 hash[SECRET_HASH_LEN];
	struct reg_audit audit;
};

static int
tenant_taken(sqlite3 *db, void *arg)
{
	return registry_tenant_taken(db, ((struct tenant_job *)arg)->name);
}

static int
tenant_create(sqlite3 *db, void *arg)
{
	struct tenant_job *j = arg;
	int64_t id;
	int rc;

	if ((rc = registry_tenant_create(db, j->name, j->audit.at, &id)) != 0 ||
	    (rc = registry_token_add(db, j->hash, id, "initial", j->audit.at)) != 0)
		return rc;
	j->audit.tenant_id = id;
	return registry_audit(db, &j->audit);
}

void
handle_tenant_create(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct tenant_job j = { .audit = api_audit_of(req, c, "tenant.create") };
	char token[SECRET_TEXT_MAX], why[JSON_WHYLEN];
	json_t *body;
	int rc;

	if ((body = http_request_json(req, why, sizeof(why))) == NULL) {
		http_respond_error(resp, 400, "bad_request", "%s", why);
		return;
	}
	j.name = json_string_value(json_object_get(body, "name"));
	j.audit.target = j.name;
	if (api_check_name(resp, "the tenant name", j.name) == -1 ||
	    secret_token_new(TOKEN_PREFIX_OPERATOR, token, sizeof(token)) == -1)
		goto out;
	secret_hash(token, j.hash);
	/* A name taken in another case is refused before the broker hears of
	 * it; the write checks again, in its transaction. */
	if ((rc = store_read(d->store, tenant_taken, &j, why, sizeof(why))) !=
	    REG_NOT_FOUND) {
		if (rc != REG_EXISTS)
			log_error("tenant lookup: %s", why);
		api_registry_error(resp, rc, "tenant");
		goto out;
	}
	/* The tenant's vhost first: a tenant the broker cannot serve is not made. */
	if (broker_mode_tenant(d->broker, j.name) != BROKER_OK) {
		api_unavailable(d, resp);
		goto out;
	}
	if ((rc = api_write(d, resp, tenant_create, &j, "tenant")) == 0) {
		api_audit_line(&j.audit);
		http_respond_json(resp, 201, json_pack("{s:s, s:s}", "tenant",
		    j.name, "token", token));
	} else if (rc != STORE_ERROR)
		api_registry_error(resp, rc, "tenant");
out:
	OPENSSL_cleanse(token, sizeof(token));
	json_decref(body);
}

static json_t *
tenant_json(const struct reg_tenant *t)
{
	return json_pack("{s:s, s:I, s:I, s:I}", "name", t->name, "created",
	    (json_int_t)t->created, "groups", (json_int_t)t->groups,
	    "devices", (json_int_t)t->devices);
}

static int
add_tenant(const struct reg_tenant *t, void *arg)
{
	return json_array_append_new(arg, tenant_json(t));
}

static int
tenant_list(sqlite3 *db, void *arg)
{
	return registry_tenant_list(db, add_tenant, arg);
}

/* GET /v1/tenants: 200 {"tenants":[TENANT...]} by name. */
void
handle_tenant_list(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	json_t *tenants = json_array();
	char err[256];

	(void)c;
	if (store_read(d->store, tenant_list, tenants, err, sizeof(err)) != 0) {
		log_error("tenant list: %s", err);
		json_decref(tenants);
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	http_respond_json(resp, 200, json_pack("{s:o}", "tenants", tenants));
}

struct tenant_get_job {
	const char		*name;
	struct reg_tenant	 t;
	struct reg_audit	 audit;
};

static int
tenant_get(sqlite3 *db, void *arg)
{
	struct tenant_get_job *j = arg;

	return registry_tenant_get(db, j->name, &j->t);
}

/* The tenant of the path's {tenant}, or -1 after answering. */
static int
find_tenant(struct http_request *req, struct http_response *resp,
    struct tenant_get_job *j)
{
	struct iotad *d = http_request_arg(req);
	char err[256];
	int rc;

	j->name = http_request_param(req, "tenant");
	if (api_check_name(resp, "the tenant name", j->name) == -1)
		return -1;
	if ((rc = store_read(d->store, tenant_get, j, err, sizeof(err))) != 0) {
		if (rc != REG_NOT_FOUND)
			log_error("tenant lookup: %s", err);
		api_registry_error(resp, rc, "tenant");
		return -1;
	}
	return 0;
}

/* GET /v1/tenants/{tenant}: 200 TENANT. */
void
handle_tenant_show(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct tenant_get_job j;

	(void)c;
	if (find_tenant(req, resp, &j) == 0)
		http_respond_json(resp, 200, tenant_json(&j.t));
}

static int
tenant_delete(sqlite3 *db, void *arg)
{
	struct tenant_get_job *j = arg;
	int rc;

	if ((rc = registry_tenant_delete(db, j->t.id)) != 0)
		return rc;
	return registry_audit(db, &j->audit);
}

/*
 * DELETE /v1/tenants/{tenant}: 204; 409 tenant_not_empty while it has a
 * group.  Deleting its groups first (DELETE /v1/groups/{group}) takes its
 * devices' broker credentials back; there is no force, so that no tenant
 * goes with devices still provisioned.  Its tokens go with it.
 */
void
handle_tenant_delete(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct tenant_get_job j = { .audit = api_audit_of(req, c,
	    "tenant.delete") };
	int rc;

	if (find_tenant(req, resp, &j) == -1)
		return;
	j.audit.tenant_id = j.t.id;
	j.audit.target = j.t.name;
	if ((rc = api_write(d, resp, tenant_delete, &j, "tenant")) == 0) {
		api_audit_line(&j.audit);
		http_respond_empty(resp, 204);
	} else if (rc == REG_STATE)
		http_respond_error(resp, 409, "tenant_not_empty", "the tenant "
		    "has groups; delete them first");
	else if (rc != STORE_ERROR)
		api_registry_error(resp, rc, "tenant");
}
