/*
 * GET /v1/certificates[?group=G][&expiring=SECONDS][&offset=O&limit=L]:
 * the tenant's device certificates by expiry, the inventory behind
 * `iotactl list certs`.  With `expiring`, only those still valid that
 * expire within that many seconds (expired ones included).
 */
#include <openssl/x509v3.h>

#include "iotad.h"
#include "json.h"

#define EXPIRING_MAX	(3650LL * 86400)

struct cert_list_job {
	struct reg_cert_filter	 f;
	json_t			*certs;
	time_t			 now;
};

static const char *
status_of(const struct reg_cert_row *r, time_t now)
{
	if (r->cert.revoked != REG_NONE)
		return "revoked";
	return r->cert.not_after < now ? "expired" : "valid";
}

static int
add_cert(const struct reg_cert_row *r, void *arg)
{
	struct cert_list_job *j = arg;
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:b}", "serial",
	    r->cert.serial, "device", r->device, "group", r->group, "issued",
	    (json_int_t)r->cert.issued, "not_after",
	    (json_int_t)r->cert.not_after, "status", status_of(r, j->now),
	    "current", r->current);
	if (o != NULL && r->cert.revoked != REG_NONE) {
		json_object_set_new(o, "revoked", json_integer(r->cert.revoked));
		json_object_set_new(o, "reason", json_string(
		    ca_reason_name(r->cert.reason)));
	}
	return json_array_append_new(j->certs, o) == 0 ? 0 : -1;
}

static int
cert_list(sqlite3 *db, void *arg)
{
	struct cert_list_job *j = arg;

	return registry_cert_list(db, &j->f, add_cert, j);
}

void
handle_cert_list(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct cert_list_job j = { .f = { .tenant_id = c->tenant_id,
	    .group_id = REG_NONE, .expiring_before = REG_NONE },
	    .now = time(NULL) };
	const char *group = http_request_query(req, "group");
	struct reg_group g;
	int64_t expiring;
	char err[256];

	if (api_query_number(req, "expiring", REG_NONE, 0, EXPIRING_MAX,
	    &expiring) == -1 || api_query_number(req, "offset", 0, 0,
	    INT64_MAX / 2, &j.f.offset) == -1 || api_query_number(req, "limit",
	    API_PAGE_DEFAULT, 1, API_PAGE_MAX, &j.f.limit) == -1) {
		http_respond_error(resp, 400, "bad_request", "expiring is "
		    "seconds (0..%lld), offset from 0, limit from 1 to %d",
		    EXPIRING_MAX, API_PAGE_MAX);
		return;
	}
	if (group != NULL) {
		if (api_find_group_named(req, resp, c, group, &g) == -1)
			return;
		j.f.group_id = g.id;
	}
	if (expiring != REG_NONE)
		j.f.expiring_before = j.now + expiring;
	if ((j.certs = json_array()) == NULL ||
	    store_read(d->store, cert_list, &j, err, sizeof(err)) != 0) {
		log_error("certificate list: %s", err);
		json_decref(j.certs);
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	http_respond_json(resp, 200, json_pack("{s:o, s:I}", "certificates",
	    j.certs, "offset", (json_int_t)j.f.offset));
}
