/*
 * The gate: every request passes here after routing and before its
 * handler.  The route's row says which classes of caller it takes; the
 * gate proves one of them or answers.  A request without a credential
 * the route takes learns nothing about what exists: 401 (404 for the
 * broker's routes when the broker mode does not ask them).  A token of
 * the other kind (admin on an operator route, and the reverse) is 403.
 * Every failed credential counts against its address (and a provisioning
 * secret's against its group too); past the limit the answer is 429.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "basic.h"
#include "caller.h"
#include "encode.h"
#include "iotad.h"
#include "metrics.h"
#include "json.h"
#include "ledger.h"
#include "mode.h"
#include "secret.h"

#define LIMIT_KEY_MAX	80

static const struct {
	enum caller_class	 class;
	const char		*name;
} class_names[] = {
	{ CALLER_ANYONE, "anyone" },
	{ CALLER_ADMIN, "admin" },
	{ CALLER_OPERATOR, "operator" },
	{ CALLER_DEVICE_SECRET, "device-secret" },
	{ CALLER_BROKER, "broker" },
	{ CALLER_DEVICE_CERT, "device-cert" },
	{ CALLER_EST_BASIC, "est-basic" },
};

void
api_callers_name(unsigned int callers, char *out, size_t outlen)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++) {
		if ((callers & class_names[i].class) == 0)
			continue;
		len += snprintf(out + len, len < outlen ? outlen - len : 0,
		    "%s%s", len > 0 ? "|" : "", class_names[i].name);
	}
}

int
api_routes_check(const struct route *routes, size_t n, char *err,
    size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((routes[i].callers & ~(unsigned int)CALLER_KNOWN) == 0)
			continue;
		snprintf(err, errlen, "route %s %s: a caller class the gate "
		    "cannot prove yet", routes[i].method, routes[i].pattern);
		return -1;
	}
	return 0;
}

/*
 * Rate limits: a key per client address.  Never per group: anyone who
 * once held a secret of a group could then keep its devices out; a
 * secret's 256 random bits need no group-wide limit against guessing.
 */

static void
limit_key(char key[LIMIT_KEY_MAX], char kind, const char *id)
{
	snprintf(key, LIMIT_KEY_MAX, "%c:%s", kind, id);
}

static long
limit_wait(struct iotad *d, const char *client, time_t now)
{
	char key[LIMIT_KEY_MAX];
	long wait;

	limit_key(key, 'c', client);
	wait = ratelimit_wait(d->failures, key, now);
	return wait;
}

static void
limit_fail(struct iotad *d, const char *client, time_t now)
{
	char key[LIMIT_KEY_MAX];
	unsigned long long evicted, full;

	limit_key(key, 'c', client);
	ratelimit_fail(d->failures, key, now);
	if (ratelimit_pressure(d->failures, now, &evicted, &full))
		log_warn("rate limiter under pressure: %llu counting addresses "
		    "evicted for new ones, %llu failures met a table of "
		    "lockouts (they wait as those do)", evicted, full);
}

/* 429 with Retry-After, and 1, while the address or group is locked out. */
static int
locked_out(struct http_request *req, struct http_response *resp,
    const char *public_id)
{
	struct iotad *d = http_request_arg(req);
	char after[24];
	long wait;

	(void)public_id;	/* never the group: see above */
	if ((wait = limit_wait(d, http_request_client(req), time(NULL))) == 0)
		return 0;
	snprintf(after, sizeof(after), "%ld", wait);
	http_respond_header(resp, "Retry-After", after);
	http_respond_error(resp, 429, "rate_limited",
	    "too many failed attempts; retry in %ld seconds", wait);
	return 1;
}

void
api_secret_failed(struct http_request *req, const char *public_id)
{
	(void)public_id;	/* never the group: see above */
	limit_fail(http_request_arg(req), http_request_client(req), time(NULL));
}

/*
 * Refusals are audited as the handlers' answers are: who (as far as it is
 * known), which route, what answer; never the credential.
 */
static void
audit_refusal(struct http_request *req, const char *actor, int64_t tenant_id,
    const char *action, const char *target, const char *outcome)
{
	struct reg_audit a = { .at = time(NULL), .tenant_id = tenant_id,
	    .actor = actor, .action = action, .target = target,
	    .outcome = outcome, .client = http_request_client(req) };

	api_audit_alone(http_request_arg(req), &a);
}

/* The route as "METHOD /pattern": operators' routes share last segments. */
static void
audit_route_refusal(struct http_request *req, const struct route *rt,
    const char *actor, int64_t tenant_id, const char *outcome)
{
	char action[128];

	snprintf(action, sizeof(action), "%s %s", rt->method, rt->pattern);
	audit_refusal(req, actor, tenant_id, action, NULL, outcome);
}

/* Tokens: the admin's and the operators'. */

struct token_job {
	unsigned char	 hash[SECRET_HASH_LEN];
	int64_t		 tenant_id;
	int		 admin;
};

static int
token_lookup(sqlite3 *db, void *arg)
{
	struct token_job *j = arg;

	return registry_token_lookup(db, j->hash, &j->tenant_id, &j->admin);
}

static int
token_refused(struct http_request *req, struct http_response *resp,
    const struct route *rt)
{
	api_secret_failed(req, NULL);
	audit_route_refusal(req, rt, "anyone", REG_NONE, "unauthorized");
	http_respond_error(resp, 401, "unauthorized",
	    "a valid bearer token is required");
	return -1;
}

static int
token_wrong_kind(struct http_request *req, struct http_response *resp,
    const struct route *rt, const struct caller *c)
{
	audit_route_refusal(req, rt, c->class == CALLER_ADMIN ? "admin" :
	    "operator", c->tenant_id, "forbidden");
	if (c->class == CALLER_ADMIN)
		http_respond_error(resp, 403, "forbidden", "the admin token "
		    "manages tenants; use a tenant's operator token");
	else
		http_respond_error(resp, 403, "forbidden",
		    "this needs the admin token");
	return -1;
}

static int
gate_token(struct http_request *req, struct http_response *resp,
    const struct route *rt, const char *token, struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct token_job j;
	char err[256];
	int rc;

	if (token == NULL || (!secret_token_well_formed(token,
	    TOKEN_PREFIX_OPERATOR) && !secret_token_well_formed(token,
	    TOKEN_PREFIX_ADMIN)))
		return token_refused(req, resp, rt);
	secret_hash(token, j.hash);
	rc = store_read(d->store, token_lookup, &j, err, sizeof(err));
	OPENSSL_cleanse(j.hash, sizeof(j.hash));
	if (rc == REG_NOT_FOUND)
		return token_refused(req, resp, rt);
	if (rc != 0) {
		log_error("token lookup: %s", err);
		http_respond_error(resp, 500, "internal", "internal error");
		return -1;
	}
	c->class = j.admin ? CALLER_ADMIN : CALLER_OPERATOR;
	c->tenant_id = j.admin ? REG_NONE : j.tenant_id;
	if ((rt->callers & c->class) == 0)
		return token_wrong_kind(req, resp, rt, c);
	return 0;
}

/* Provisioning secrets: a device of the secret's group. */

struct secret_job {
	const char	*public_id;
	struct caller	*c;
};

static int
secret_lookup(sqlite3 *db, void *arg)
{
	struct secret_job *j = arg;
	int rc;

	if ((rc = registry_group_by_public_id(db, j->public_id,
	    &j->c->group)) != 0)
		return rc;
	return registry_tenant_name(db, j->c->group.tenant_id, j->c->tenant);
}

static int
secret_matches(const struct reg_group *g, const unsigned char *hash,
    time_t now)
{
	if (secret_hash_equal(hash, g->secret_hash))
		return 1;
	return g->has_prev && now < g->prev_valid_until &&
	    secret_hash_equal(hash, g->prev_secret_hash);
}

/* The device a refused request claims to be, for the audit: or NULL. */
static const char *
claimed_device(struct http_request *req, json_t **body)
{
	char why[JSON_WHYLEN];
	const char *name;

	if ((*body = http_request_json(req, why, sizeof(why))) == NULL)
		return NULL;
	name = json_string_value(json_object_get(*body, "device"));
	return name != NULL && ca_name_is_safe(name) ? name : NULL;
}

/* The action audited: the last segment of the route's pattern. */
static const char *
route_action(const struct route *rt)
{
	const char *slash = strrchr(rt->pattern, '/');

	return slash != NULL ? slash + 1 : rt->pattern;
}

static int
secret_refused(struct http_request *req, struct http_response *resp,
    const struct route *rt, int64_t tenant_id, unsigned int status,
    const char *code, const char *message)
{
	json_t *body = NULL;
	struct reg_audit a = { .at = time(NULL), .tenant_id = tenant_id,
	    .actor = "device", .action = route_action(rt),
	    .target = claimed_device(req, &body), .outcome = code,
	    .client = http_request_client(req) };

	api_audit_alone(http_request_arg(req), &a);
	json_decref(body);
	http_respond_error(resp, status, code, "%s", message);
	return -1;
}

static int
gate_secret(struct http_request *req, struct http_response *resp,
    const struct route *rt, const char *secret, struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	char public_id[GROUP_PUBLIC_ID_LEN + 1] = "";
	unsigned char hash[SECRET_HASH_LEN];
	struct secret_job j = { public_id, c };
	time_t now = time(NULL);
	char err[256];
	int rc, ok;

	if (secret != NULL &&
	    secret_provisioning_public_id(secret, public_id) == -1)
		public_id[0] = '\0';
	if (locked_out(req, resp, public_id))
		return -1;
	if (public_id[0] == '\0') {
		api_secret_failed(req, NULL);
		return secret_refused(req, resp, rt, REG_NONE, 401,
		    "unauthorized", "invalid provisioning secret");
	}
	rc = store_read(d->store, secret_lookup, &j, err, sizeof(err));
	if (rc != 0 && rc != REG_NOT_FOUND) {
		log_error("provisioning secret lookup: %s", err);
		http_respond_error(resp, 500, "internal", "internal error");
		return -1;
	}
	/* Nothing about the group leaks before the secret is proven. */
	secret_hash(secret, hash);
	ok = rc == 0 && secret_matches(&c->group, hash, now);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (!ok) {
		api_secret_failed(req, public_id);
		return secret_refused(req, resp, rt, REG_NONE, 401,
		    "unauthorized", "invalid provisioning secret");
	}
	/* The group's expiry ends its secrets, a rotated-out one too. */
	if (c->group.secret_expires != REG_NONE &&
	    now >= c->group.secret_expires)
		return secret_refused(req, resp, rt, c->group.tenant_id, 401,
		    "secret_expired", "the provisioning secret has expired");
	c->class = CALLER_DEVICE_SECRET;
	c->tenant_id = c->group.tenant_id;
	return 0;
}

/* Device certificates: shown in the TLS handshake, checked here. */

struct cert_job {
	const unsigned char	*der;
	size_t			 len;
	struct caller		*c;
	struct reg_cert		 cert;
};

static int
cert_lookup(sqlite3 *db, void *arg)
{
	struct cert_job *j = arg;
	unsigned char *der = NULL;
	size_t len = 0;
	int rc;

	if ((rc = registry_cert_find(db, j->c->serial, &j->cert, &der,
	    &len)) != REG_OK)
		return rc;
	/* The very certificate on record, not one with its serial. */
	rc = len == j->len && memcmp(der, j->der, len) == 0 &&
	    j->cert.device_id != REG_NONE ? REG_OK : REG_NOT_FOUND;
	free(der);
	if (rc == REG_OK && (rc = registry_device_by_id(db, j->cert.device_id,
	    &j->c->dev)) == REG_OK && (rc = registry_group_by_id(db,
	    j->c->dev.group_id, &j->c->group)) == REG_OK)
		rc = registry_tenant_name(db, j->c->group.tenant_id,
		    j->c->tenant);
	return rc;
}

/* dev: the device the certificate names, once it is known; or NULL. */
static int
cert_refused(struct http_request *req, struct http_response *resp,
    const struct route *rt, const struct caller *dev, unsigned int status,
    const char *code, const char *message)
{
	if (status == 401)
		api_secret_failed(req, NULL);
	audit_refusal(req, "device", dev != NULL ? dev->group.tenant_id :
	    REG_NONE, route_action(rt), dev != NULL ? dev->dev.name : NULL,
	    code);
	http_respond_error(resp, status, code, "%s", message);
	return -1;
}

/* The serial of a certificate that one of our issuers signed; -1 if not. */
static int
our_certificate(struct iotad *d, const unsigned char *der, size_t len,
    struct caller *c)
{
	const unsigned char *p = der;
	X509 *cert;
	char *hex = NULL;
	int rc = -1;

	if ((cert = d2i_X509(NULL, &p, (long)len)) != NULL &&
	    p == der + len && ledger_verify(d->ca.ledger, cert) == 0 &&
	    (hex = ca_serial_hex(X509_get0_serialNumber(cert))) != NULL &&
	    strlen(hex) <= REG_SERIAL_MAX) {
		snprintf(c->serial, sizeof(c->serial), "%s", hex);
		c->not_after = ca_time_from_asn1(X509_get0_notAfter(cert));
		rc = 0;
	}
	free(hex);
	X509_free(cert);
	return rc;
}

int64_t
api_renew_grace(const struct iotad *d, const struct reg_group *g)
{
	return g->renew_grace != REG_NONE ? g->renew_grace :
	    d->conf.provisioning.renew_grace;
}

static int
gate_cert(struct http_request *req, struct http_response *resp,
    const struct route *rt, struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	struct cert_job j = { .c = c };
	char err[256];
	int rc;

	if (locked_out(req, resp, NULL))
		return -1;
	if ((j.der = http_request_peer_cert(req, &j.len)) == NULL)
		return cert_refused(req, resp, rt, NULL, 401, "unauthorized",
		    "a device "
		    "certificate (a TLS client certificate) is required");
	if (our_certificate(d, j.der, j.len, c) == -1 ||
	    (rc = store_read(d->store, cert_lookup, &j, err, sizeof(err))) ==
	    REG_NOT_FOUND)
		return cert_refused(req, resp, rt, NULL, 401, "unauthorized",
		    "the client "
		    "certificate is not a device certificate of this iotad");
	if (rc != 0) {
		log_error("certificate lookup: %s", err);
		http_respond_error(resp, 500, "internal", "internal error");
		return -1;
	}
	if (j.cert.revoked != REG_NONE)
		return cert_refused(req, resp, rt, c, 403,
		    "certificate_revoked",
		    "this certificate is revoked");
	if (c->dev.state != REG_DEVICE_PROVISIONED)
		return cert_refused(req, resp, rt, c, 403, "device_revoked",
		    "the device is not provisioned (revoked, or enabled "
		    "to provision again with its group's secret)");
	if (time(NULL) > c->not_after + api_renew_grace(d, &c->group))
		return cert_refused(req, resp, rt, c, 403,
		    "certificate_expired",
		    "the certificate expired longer ago than the group's "
		    "renewal grace; an operator must enable the device "
		    "(iotactl enable), which then provisions again");
	c->class = CALLER_DEVICE_CERT;
	c->tenant_id = c->group.tenant_id;
	return 0;
}

/*
 * EST's HTTP Basic (RFC 7030 3.2.3): the device's name as the user, its
 * group's provisioning secret as the password, proven as a bearer secret.
 */
static int
basic_refused(struct http_request *req, struct http_response *resp,
    const struct route *rt, const char *message)
{
	api_secret_failed(req, NULL);
	audit_refusal(req, "device", REG_NONE, route_action(rt), NULL,
	    "unauthorized");
	http_respond_error(resp, 401, "unauthorized", "%s", message);
	return -1;
}

static int
gate_basic(struct http_request *req, struct http_response *resp,
    const struct route *rt, const char *auth, struct caller *c)
{
	unsigned char buf[BASIC_MAX + 1];
	const char *user, *secret;
	enum basic_status st;
	int rc;

	http_respond_header(resp, "WWW-Authenticate", "Basic realm=\"iota EST\"");
	if (locked_out(req, resp, NULL))
		return -1;
	if ((st = basic_parse(auth, buf, &user, &secret)) != BASIC_OK) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return basic_refused(req, resp, rt, st == BASIC_MISSING ?
		    "HTTP Basic with the device's name and its group's "
		    "provisioning secret, or a device certificate, is "
		    "required" : "the Basic user must be the device's name");
	}
	snprintf(c->est_device, sizeof(c->est_device), "%s", user);
	rc = gate_secret(req, resp, rt, secret, c);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc == 0)
		c->class = CALLER_EST_BASIC;
	return rc;
}

/* The broker's callbacks: only when the mode asks them, only from its hosts. */

/* A whole-word match in a comma-separated list. */
static int
listed(const char *list, const char *addr)
{
	size_t len = strlen(addr);

	for (const char *p = list; p != NULL && *p != '\0'; ) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, addr, len) == 0 && (p[len] == '\0' ||
		    p[len] == ',' || p[len] == ' '))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

static int
gate_broker(struct http_request *req, struct http_response *resp,
    const struct route *rt, struct caller *c)
{
	struct iotad *d = http_request_arg(req);

	if (!broker_mode_answers_auth(d->broker)) {
		http_respond_error(resp, 404, "not_found", "no such route");
		return -1;
	}
	if (!listed(d->conf.broker.auth_clients, http_request_client(req))) {
		audit_route_refusal(req, rt, "anyone", REG_NONE, "forbidden");
		http_respond_error(resp, 403, "forbidden",
		    "this address may not ask");
		return -1;
	}
	c->class = CALLER_BROKER;
	c->tenant_id = REG_NONE;
	return 0;
}

static int
gate(struct http_request *req, struct http_response *resp,
    const struct route *rt, struct caller *c)
{
	const char *bearer = secret_bearer(http_request_header(req,
	    "Authorization"));

	c->tenant_id = REG_NONE;
	/* Which one would count is anybody's guess: neither does. */
	if (http_request_header_count(req, "Authorization") > 1) {
		http_respond_error(resp, 400, "bad_request",
		    "more than one Authorization header");
		return -1;
	}
	if (rt->callers & CALLER_ANYONE) {
		c->class = CALLER_ANYONE;
		return 0;
	}
	if (rt->callers & CALLER_BROKER)
		return gate_broker(req, resp, rt, c);
	if (rt->callers & CALLER_DEVICE_SECRET)
		return gate_secret(req, resp, rt, bearer, c);
	if (rt->callers & CALLER_EST_BASIC) {
		size_t n;
		const char *auth = http_request_header(req, "Authorization");

		/* No Basic, but a client certificate: that proves the caller. */
		if (auth == NULL && (rt->callers & CALLER_DEVICE_CERT) &&
		    http_request_peer_cert(req, &n) != NULL)
			return gate_cert(req, resp, rt, c);
		return gate_basic(req, resp, rt, auth, c);
	}
	if (rt->callers & CALLER_DEVICE_CERT)
		return gate_cert(req, resp, rt, c);
	if (locked_out(req, resp, NULL))
		return -1;
	return gate_token(req, resp, rt, bearer, c);
}

/* A provisioning or renewal the gate refused counts as one (metrics.h). */
int
api_gate(struct http_request *req, struct http_response *resp,
    const struct route *rt, struct caller *c)
{
	if (gate(req, resp, rt, c) == 0)
		return 0;
	if (rt->fn == handle_provision || rt->fn == handle_est_enroll)
		metrics_flow_done(0, resp, 0, NULL);
	else if (rt->fn == handle_renew || rt->fn == handle_est_reenroll)
		metrics_flow_done(1, resp, 0, NULL);
	return -1;
}
