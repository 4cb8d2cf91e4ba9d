/*
 * /v1/tokens: a tenant's named operator tokens.  An operator manages its
 * own tenant's; the admin any tenant's, named by ?tenant=NAME.  A token is
 * shown once, when made; the registry keeps only its hash, and a revoked
 * one is deleted, so that the gate refuses it on the very next request.
 * An operator may revoke the token it calls with: the admin can always
 * make the tenant a new one.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "iotad.h"
#include "json.h"
#include "secret.h"

struct token_job {
	int64_t		 tenant_id;
	const char	*tenant;	/* ?tenant=, or NULL */
	const char	*name;
	unsigned char	 hash[SECRET_HASH_LEN];
	json_t		*tokens;
	struct reg_audit audit;
};

static int
tenant_lookup(sqlite3 *db, void *arg)
{
	struct token_job *j = arg;

	return registry_tenant_find(db, j->tenant, &j->tenant_id);
}

/*
 * The tenant whose tokens are meant: the operator's own, the admin's
 * ?tenant=.  An operator naming another tenant learns nothing: 404.
 */
static int
token_tenant(struct http_request *req, struct http_response *resp,
    const struct caller *c, struct token_job *j)
{
	struct iotad *d = http_request_arg(req);
	char err[256];
	int rc;

	j->tenant = http_request_query(req, "tenant");
	j->tenant_id = c->tenant_id;
	if (j->tenant == NULL) {
		if (c->class == CALLER_OPERATOR)
			return 0;
		http_respond_error(resp, 400, "bad_request",
		    "the admin names the tenant: ?tenant=NAME");
		return -1;
	}
	if (api_check_name(resp, "the tenant name", j->tenant) == -1)
		return -1;
	if ((rc = store_read(d->store, tenant_lookup, j, err,
	    sizeof(err))) == 0 && (c->class == CALLER_ADMIN ||
	    j->tenant_id == c->tenant_id))
		return 0;
	if (rc != 0 && rc != REG_NOT_FOUND)
		log_error("tenant lookup: %s", err);
	api_registry_error(resp, rc == 0 ? REG_NOT_FOUND : rc, "tenant");
	return -1;
}

static int
token_add(sqlite3 *db, void *arg)
{
	struct token_job *j = arg;
	int rc;

	if ((rc = registry_token_add(db, j->hash, j->tenant_id, j->name,
	    j->audit.at)) != 0)
		return rc;
	return registry_audit(db, &j->audit);
}

/* POST /v1/tokens {"name"}: 201 {"name","created","token"}, the token once. */
void
handle_token_create(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct token_job j = { .audit = api_audit_of(req, c, "token.create") };
	char token[SECRET_TEXT_MAX], why[JSON_WHYLEN];
	json_t *body;
	int rc;

	token[0] = '\0';
	if ((body = http_request_json(req, why, sizeof(why))) == NULL) {
		http_respond_error(resp, 400, "bad_request", "%s", why);
		return;
	}
	j.name = json_string_value(json_object_get(body, "name"));
	if (api_check_name(resp, "the token name", j.name) == -1 ||
	    token_tenant(req, resp, c, &j) == -1)
		goto out;
	if (secret_token_new(TOKEN_PREFIX_OPERATOR, token, sizeof(token)) ==
	    -1) {
		http_respond_error(resp, 500, "internal", "internal error");
		goto out;
	}
	secret_hash(token, j.hash);
	j.audit.tenant_id = j.tenant_id;
	j.audit.target = j.name;
	if ((rc = api_write(d, resp, token_add, &j, "token")) == 0) {
		api_audit_line(&j.audit);
		http_respond_json(resp, 201, json_pack("{s:s, s:I, s:s}",
		    "name", j.name, "created", (json_int_t)j.audit.at, "token",
		    token));
	} else if (rc != STORE_ERROR)
		api_registry_error(resp, rc, "token");
out:
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(j.hash, sizeof(j.hash));
	json_decref(body);
}

static int
add_token(const struct reg_token *t, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:s, s:I}", "name",
	    t->name, "created", (json_int_t)t->created));
}

static int
token_list(sqlite3 *db, void *arg)
{
	struct token_job *j = arg;

	return registry_token_list(db, j->tenant_id, add_token, j->tokens);
}

/* GET /v1/tokens: 200 {"tokens":[{"name","created"}...]}, never a secret. */
void
handle_token_list(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct token_job j = { .tokens = NULL };
	char err[256];

	if (token_tenant(req, resp, c, &j) == -1)
		return;
	j.tokens = json_array();
	if (store_read(d->store, token_list, &j, err, sizeof(err)) != 0) {
		log_error("token list: %s", err);
		json_decref(j.tokens);
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	http_respond_json(resp, 200, json_pack("{s:o}", "tokens", j.tokens));
}

static int
token_revoke(sqlite3 *db, void *arg)
{
	struct token_job *j = arg;
	int rc;

	if ((rc = registry_token_revoke(db, j->tenant_id, j->name)) != 0)
		return rc;
	return registry_audit(db, &j->audit);
}

/* DELETE /v1/tokens/{name}: 204, and the token is refused from then on. */
void
handle_token_revoke(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct token_job j = { .audit = api_audit_of(req, c, "token.revoke") };
	int rc;

	j.name = http_request_param(req, "name");
	if (api_check_name(resp, "the token name", j.name) == -1 ||
	    token_tenant(req, resp, c, &j) == -1)
		return;
	j.audit.tenant_id = j.tenant_id;
	j.audit.target = j.name;
	if ((rc = api_write(d, resp, token_revoke, &j, "token")) == 0) {
		api_audit_line(&j.audit);
		http_respond_empty(resp, 204);
	} else if (rc != STORE_ERROR)
		api_registry_error(resp, rc, "token");
}
