/* POST /v1/tenants: the admin makes a tenant and its operator token. */
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
