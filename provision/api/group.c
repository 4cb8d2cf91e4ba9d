/* Groups: /v1/groups and /v1/groups/{group}, with their secrets. */
#include <openssl/crypto.h>
#include <time.h>

#include "iotad.h"
#include "mode.h"
#include "json.h"
#include "secret.h"

/* GET /v1/groups */

static int
add_group(const struct reg_group *g, void *arg)
{
	return json_array_append_new(arg, api_group_json(g)) == 0 ? 0 : -1;
}

struct list_job {
	int64_t	 tenant_id;
	json_t	*groups;
};

static int
group_list(sqlite3 *db, void *arg)
{
	struct list_job *j = arg;

	return registry_group_list(db, j->tenant_id, add_group, j->groups);
}

void
handle_group_list(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct list_job j;
	char err[256];

	j.tenant_id = c->tenant_id;
	j.groups = json_array();
	if (store_read(d->store, group_list, &j, err, sizeof(err)) != 0) {
		log_error("group list: %s", err);
		json_decref(j.groups);
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	http_respond_json(resp, 200, json_pack("{s:o}", "groups", j.groups));
}

/* GET /v1/groups/{group} */
void
handle_group_show(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct reg_group g;

	if (api_find_group(req, resp, c, &g) == 0)
		http_respond_json(resp, 200, api_group_json(&g));
}

/*
 * Optional integer fields: absent leaves it, null clears it (REG_NONE),
 * a number sets it.  -1 after answering 400.
 */
static int
opt_field(struct http_response *resp, json_t *body, const char *name,
    int64_t *v, int *present)
{
	json_t *f = json_object_get(body, name);

	*present = f != NULL;
	if (f == NULL || json_is_null(f)) {
		*v = REG_NONE;
		return 0;
	}
	if (!json_is_integer(f) || json_integer_value(f) < 0) {
		http_respond_error(resp, 400, "bad_request",
		    "%s must be a non-negative integer or null", name);
		return -1;
	}
	*v = json_integer_value(f);
	return 0;
}

/* The same, bounded: the group's certificate policy. */
static int
bounded_field(struct http_response *resp, json_t *body, const char *name,
    int64_t min, int64_t max, int64_t *v, int *present)
{
	if (opt_field(resp, body, name, v, present) == -1)
		return -1;
	if (*v != REG_NONE && (*v < min || *v > max)) {
		http_respond_error(resp, 400, "bad_request", "%s must be "
		    "%lld to %lld, or null for iotad's default", name,
		    (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

/* POST /v1/groups */

struct create_job {
	int64_t			 tenant_id;
	const char		*name;
	char			 public_id[GROUP_PUBLIC_ID_LEN + 1];
	unsigned char		 hash[SECRET_HASH_LEN];
	int64_t			 quota, expires;
	struct reg_group	 group;
	struct reg_audit	 audit;
};

static int
group_create(sqlite3 *db, void *arg)
{
	struct create_job *j = arg;
	int64_t id;
	int rc;

	if ((rc = registry_group_create(db, j->tenant_id, j->name, j->public_id,
	    j->hash, j->quota, j->expires, j->audit.at, &id)) != 0 ||
	    (rc = registry_group_find(db, j->tenant_id, j->name, &j->group)) != 0)
		return rc;
	return registry_audit(db, &j->audit);
}

static int
new_secret(struct create_job *j, char *secret, size_t len)
{
	if (secret_public_id_new(j->public_id) == -1 ||
	    secret_provisioning_new(j->public_id, secret, len) == -1)
		return -1;
	secret_hash(secret, j->hash);
	return 0;
}

void
handle_group_create(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct create_job j = { .audit = api_audit_of(req, c, "group.create") };
	char secret[SECRET_TEXT_MAX] = "", why[JSON_WHYLEN];
	json_t *body;
	int rc, present;

	if ((body = http_request_json(req, why, sizeof(why))) == NULL) {
		http_respond_error(resp, 400, "bad_request", "%s", why);
		return;
	}
	j.tenant_id = c->tenant_id;
	j.name = j.audit.target = json_string_value(json_object_get(body,
	    "name"));
	if (api_check_name(resp, "the group name", j.name) == -1 ||
	    opt_field(resp, body, "quota", &j.quota, &present) == -1 ||
	    opt_field(resp, body, "secret_expires", &j.expires, &present) == -1 ||
	    new_secret(&j, secret, sizeof(secret)) == -1)
		goto out;
	if ((rc = api_write(d, resp, group_create, &j, "group")) == 0) {
		api_audit_line(&j.audit);
		http_respond_json(resp, 201, json_pack("{s:o, s:s}", "group",
		    api_group_json(&j.group), "provisioning_secret", secret));
	} else if (rc != STORE_ERROR)
		api_registry_error(resp, rc, "group");
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	json_decref(body);
}

/* PATCH /v1/groups/{group} */

struct patch_job {
	struct reg_group	*group;
	int64_t			 quota, expires, days, grace;
	int			 set_quota, set_expires, set_days, set_grace;
	struct reg_audit	 audit;
};

static int
group_patch(sqlite3 *db, void *arg)
{
	struct patch_job *j = arg;
	int rc = 0;

	if (j->set_quota)
		rc = registry_group_set_quota(db, j->group->id, j->quota);
	if (rc == 0 && j->set_expires)
		rc = registry_group_set_expiry(db, j->group->id, j->expires);
	if (rc == 0 && j->set_days)
		rc = registry_group_set_cert_days(db, j->group->id, j->days);
	if (rc == 0 && j->set_grace)
		rc = registry_group_set_renew_grace(db, j->group->id, j->grace);
	if (rc == 0)
		rc = registry_group_find(db, j->group->tenant_id, j->group->name,
		    j->group);
	return rc != 0 ? rc : registry_audit(db, &j->audit);
}

void
handle_group_patch(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct reg_group g;
	struct patch_job j = { .group = &g,
	    .audit = api_audit_of(req, c, "group.update") };
	char why[JSON_WHYLEN];
	json_t *body = NULL;
	int rc;

	if (api_find_group(req, resp, c, &g) == -1)
		return;
	if ((body = http_request_json(req, why, sizeof(why))) == NULL) {
		http_respond_error(resp, 400, "bad_request", "%s", why);
		return;
	}
	j.audit.target = g.name;
	if (opt_field(resp, body, "quota", &j.quota, &j.set_quota) == 0 &&
	    opt_field(resp, body, "secret_expires", &j.expires,
	    &j.set_expires) == 0 &&
	    bounded_field(resp, body, "certificate_days", 1, 3650, &j.days,
	    &j.set_days) == 0 &&
	    bounded_field(resp, body, "renew_grace", 0, 365 * 86400, &j.grace,
	    &j.set_grace) == 0) {
		if ((rc = api_write(d, resp, group_patch, &j, "group")) == 0) {
			api_audit_line(&j.audit);
			http_respond_json(resp, 200, api_group_json(&g));
		} else if (rc != STORE_ERROR)
			api_registry_error(resp, rc, "group");
	}
	json_decref(body);
}

/* DELETE /v1/groups/{group} */

struct device_ids;

struct delete_job {
	int64_t			 id;
	struct reg_audit	 audit;
	struct device_ids	*ids;
};

static int
group_delete(sqlite3 *db, void *arg)
{
	struct delete_job *j = arg;
	int rc;

	if ((rc = registry_group_delete(db, j->id)) != 0)
		return rc;
	return registry_audit(db, &j->audit);
}

struct device_ids {
	int64_t		*id;
	size_t		 n, cap;
};

static int
collect_id(const struct reg_device *dev, void *arg)
{
	struct device_ids *ids = arg;
	int64_t *p;

	if (ids->n == ids->cap) {
		ids->cap = ids->cap > 0 ? 2 * ids->cap : 64;
		if ((p = reallocarray(ids->id, ids->cap, sizeof(*p))) == NULL)
			return -1;
		ids->id = p;
	}
	ids->id[ids->n++] = dev->id;
	return 0;
}

static int
group_devices(sqlite3 *db, void *arg)
{
	struct delete_job *j = arg;
	int64_t total;

	return registry_device_list(db, j->id, 0, REG_NONE, collect_id,
	    j->ids, &total);
}

/*
 * Broker credentials made for the group's devices by provisionings that
 * never finished (the broker was down, say) go before the group does:
 * the same names made again later must start clean.  -1 after answering.
 */
static int
forget_broker_credentials(struct iotad *d, struct http_response *resp,
    struct delete_job *j)
{
	struct device_ids ids = { NULL, 0, 0 };
	char err[256];
	size_t i;
	int rc = 0;

	j->ids = &ids;
	if (store_read(d->store, group_devices, j, err, sizeof(err)) != 0) {
		log_error("group delete: %s", err);
		http_respond_error(resp, 500, "internal", "internal error");
		rc = -1;
	}
	for (i = 0; rc == 0 && i < ids.n; i++)
		if (broker_mode_revoke(d->broker, ids.id[i]) != BROKER_OK) {
			api_unavailable(d, resp);
			rc = -1;
		}
	free(ids.id);
	return rc;
}

void
handle_group_delete(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct delete_job j = { .audit = api_audit_of(req, c, "group.delete") };
	struct reg_group g;
	int rc;

	if (api_find_group(req, resp, c, &g) == -1)
		return;
	j.id = g.id;
	j.audit.target = g.name;
	if (g.provisioned > 0) {
		http_respond_error(resp, 409, "group_not_empty", "the group has "
		    "provisioned devices; revoke them first");
		return;
	}
	if (forget_broker_credentials(d, resp, &j) == -1)
		return;
	if ((rc = api_write(d, resp, group_delete, &j, "group")) == 0) {
		api_audit_line(&j.audit);
		http_respond_empty(resp, 204);
	} else if (rc == REG_STATE)
		http_respond_error(resp, 409, "group_not_empty", "the group has "
		    "provisioned devices; revoke them first");
	else if (rc != STORE_ERROR)
		api_registry_error(resp, rc, "group");
}

/* POST /v1/groups/{group}/rotate-secret */

struct rotate_job {
	struct reg_group	*group;
	char			 public_id[GROUP_PUBLIC_ID_LEN + 1];
	unsigned char		 hash[SECRET_HASH_LEN];
	int64_t			 overlap_until, prev_valid_until;
	struct reg_audit	 audit;
};

static int
group_rotate(sqlite3 *db, void *arg)
{
	struct rotate_job *j = arg;
	int rc;

	if ((rc = registry_group_rotate_secret(db, j->group->id, j->public_id,
	    j->hash,
	    j->group->secret_expires, j->overlap_until,
	    &j->prev_valid_until)) != 0)
		return rc;
	return registry_audit(db, &j->audit);
}

void
handle_group_rotate(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct reg_group g;
	struct rotate_job j = { .group = &g,
	    .audit = api_audit_of(req, c, "group.rotate-secret") };
	char secret[SECRET_TEXT_MAX];
	int rc;

	if (api_find_group(req, resp, c, &g) == -1)
		return;
	j.audit.target = g.name;
	j.overlap_until = j.audit.at + d->conf.provisioning.secret_overlap;
	/* A public id of its own: failures against the old one stay there. */
	if (secret_public_id_new(j.public_id) == -1 ||
	    secret_provisioning_new(j.public_id, secret, sizeof(secret)) == -1) {
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	secret_hash(secret, j.hash);
	if ((rc = api_write(d, resp, group_rotate, &j, "group")) == 0) {
		api_audit_line(&j.audit);
		http_respond_json(resp, 200, json_pack("{s:s, s:o}",
		    "provisioning_secret", secret, "previous_valid_until",
		    j.prev_valid_until == REG_NONE ? json_null() :
		    json_integer(j.prev_valid_until)));
	} else if (rc != STORE_ERROR)
		api_registry_error(resp, rc, "group");
	OPENSSL_cleanse(secret, sizeof(secret));
}
