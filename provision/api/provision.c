/*
 * POST /v1/provision: a device with its group's secret sends a CSR and gets
 * its certificate.  The order is the guarantee: the gate has checked the
 * secret (gate.c); here the registration and the CSR; sign; record the
 * certificate and the device's new state in one transaction; only then
 * answer.  A lost answer is safe
 * to retry: the same key gets the same certificate back.
 *
 * POST /v1/renew: a provisioned device shows its certificate in the TLS
 * handshake (the gate checks it) and sends a CSR, with a new key by
 * default; it gets the next certificate for the same identity and keeps
 * its broker credentials.  The same order, the same retry: a renewal
 * whose answer was lost, retried with the old certificate and the same
 * new key, gets the certificate it was issued.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "mode.h"
#include "encode.h"
#include "iotad.h"
#include "events.h"
#include "json.h"
#include "metrics.h"
#include "secret.h"

struct provision {
	struct iotad		*d;
	const char		*device, *group, *client;
	const char		*csr_pem;
	unsigned char		 key_hash[SECRET_HASH_LEN];
	time_t			 now;
	struct reg_group	 g;
	struct reg_device	 dev;
	char			 tenant[REG_NAME_MAX + 1];
	/* the certificate, issued now or found from an earlier answer */
	unsigned char		*der;		/* see der_free() */
	size_t			 derlen;
	int			 der_stored;	/* from the store: free() */
	char			 serial[REG_SERIAL_MAX + 1];
	int64_t			 not_after;
	int			 again;		/* a retry with the same key */
	int			 key_revoked;	/* refused: a revoked key */
	int			 quota_hit;	/* refused: the group is full */
	int			 quota_placed;	/* quota_place() took one */
	int			 renewing;	/* POST /v1/renew */
	provision_answer_fn	 answer_as;	/* NULL: the JSON answer */
	const struct caller	*c;
	struct creds		 creds;		/* empty in broker.mode none */
};

static void
refuse(struct http_response *resp, struct provision *p, unsigned int status,
    const char *code, const char *message)
{
	struct reg_audit a = { .at = p->now, .tenant_id = p->g.tenant_id,
	    .actor = "device", .action = p->renewing ? "renew" : "provision",
	    .target = p->device, .outcome = code, .client = p->client };

	api_audit_alone(p->d, &a);
	http_respond_error(resp, status, code, "%s", message);
}

static int
device_lookup(sqlite3 *db, void *arg)
{
	struct provision *p = arg;

	return registry_device_find(db, p->g.id, p->device, &p->dev);
}

/*
 * The gate has proven the secret of the caller's group; the body must name
 * that group (or the secret is wrong for it) and a device registered in
 * it.  -1 after answering.
 */
static int
registered(struct http_request *req, struct http_response *resp,
    struct provision *p, const struct caller *c)
{
	char err[256];
	int rc;

	p->g = c->group;
	snprintf(p->tenant, sizeof(p->tenant), "%s", c->tenant);
	if (strcmp(p->g.name, p->group) != 0) {
		api_secret_failed(req, p->g.public_id);
		p->g.tenant_id = REG_NONE;
		refuse(resp, p, 401, "unauthorized",
		    "invalid provisioning secret");
		return -1;
	}
	if ((rc = store_read(p->d->store, device_lookup, p, err,
	    sizeof(err))) == REG_NOT_FOUND) {
		refuse(resp, p, 403, "device_not_registered",
		    "the device is not registered in this group");
		return -1;
	}
	if (rc != 0) {
		log_error("provision lookup: %s", err);
		http_respond_error(resp, 500, "internal", "internal error");
		return -1;
	}
	return 0;
}

/*
 * A renewal already done: the device's current certificate carries this
 * key and is not the one shown, which it replaced.
 */
static int
renewal_again(const struct provision *p, const struct reg_device *now)
{
	return now->has_pubkey && secret_hash_equal(now->pubkey_hash,
	    p->key_hash) && strcmp(now->serial, p->c->serial) != 0;
}

/* What the device's state allows; -1 after answering. */
static int
admissible(struct http_response *resp, struct provision *p)
{
	if (p->dev.state == REG_DEVICE_REVOKED) {
		refuse(resp, p, 403, "device_revoked", "the device is revoked");
		return -1;
	}
	if (p->dev.state == REG_DEVICE_PROVISIONED) {
		if (p->dev.has_pubkey &&
		    secret_hash_equal(p->dev.pubkey_hash, p->key_hash))
			return 0;	/* a retry: answered from the record */
		refuse(resp, p, 409, "key_mismatch", "the device is provisioned "
		    "with another key; an operator must enable it first");
		return -1;
	}
	if (p->g.quota != REG_NONE && p->g.provisioned >= p->g.quota) {
		refuse(resp, p, 403, "quota_exhausted",
		    "the group's device quota is exhausted");
		return -1;
	}
	return 0;
}

static int
provisioned_count(sqlite3 *db, void *arg)
{
	struct provision *p = arg;

	return registry_device_provisioned_count(db, p->g.id,
	    &p->g.provisioned);
}

/*
 * A place in the group's quota for a new provisioning, taken before any
 * broker credentials are made; -1 after answering.  A retry of a
 * provisioned device needs none.
 */
static int
quota_place(struct http_response *resp, struct provision *p)
{
	char err[256];
	int rc;

	if (p->g.quota == REG_NONE || p->dev.state != REG_DEVICE_REGISTERED)
		return 0;
	if (store_read(p->d->store, provisioned_count, p, err,
	    sizeof(err)) != 0) {
		log_error("provision: %s", err);
		http_respond_error(resp, 500, "internal", "internal error");
		return -1;
	}
	if ((rc = quota_take(&p->d->quotas, p->g.id, p->g.quota,
	    p->g.provisioned)) == 1) {
		p->quota_placed = 1;
		return 0;
	}
	if (rc == 0)
		refuse(resp, p, 403, "quota_exhausted",
		    "the group's device quota is exhausted");
	else
		http_respond_error(resp, 500, "internal", "internal error");
	return -1;
}

/* The key's identity: SHA-256 of its SubjectPublicKeyInfo as it came. */
static void
hash_spki(const struct ca_csr *csr, unsigned char out[SECRET_HASH_LEN])
{
	unsigned int len = SECRET_HASH_LEN;
	const unsigned char *spki;
	size_t n;

	spki = ca_csr_spki(csr, &n);
	EVP_Digest(spki, n, out, &len, EVP_sha256(), NULL);
}

long
api_cert_days(const struct iotad *d, const struct reg_group *g)
{
	return g->cert_days != REG_NONE ? (long)g->cert_days :
	    d->conf.provisioning.certificate_days;
}

/* The identity comes from the registry, never from the CSR. */
static int
sign(struct provision *p, const struct ca_csr *csr)
{
	char uri[3 * REG_NAME_MAX + 32];
	struct ca_issue_req r = { .req = { .profile = CA_PROFILE_DEVICE,
	    .common_name = broker_mode_subject(p->d->broker, &p->creds,
	    p->device), .organization = p->tenant,
	    .unit = p->g.name, .uri = uri,
	    .days = api_cert_days(p->d, &p->g),
	    .crl_url = p->d->ca.crl_url, .ocsp_url = p->d->ca.ocsp_url },
	    .now = p->now };
	struct ca_issued out;

	snprintf(uri, sizeof(uri), "urn:iota:device:%s:%s:%s", p->tenant,
	    p->g.name, p->device);
	r.spki = ca_csr_spki(csr, &r.spki_len);
	if (ca_signer_issue(p->d->ca.signer, &r, &out) == -1)
		return -1;
	p->der = out.der;
	p->derlen = out.len;
	p->not_after = out.not_after;
	snprintf(p->serial, sizeof(p->serial), "%s", out.serial);
	return 0;
}

/*
 * The record, checked again inside the transaction: a racing retry with
 * the same key finds the device provisioned and takes the recorded
 * certificate; the one signed here never leaves.
 */
static int
record(sqlite3 *db, void *arg)
{
	struct provision *p = arg;
	struct reg_audit a = { .at = p->now, .tenant_id = p->g.tenant_id,
	    .actor = "device", .action = "provision", .target = p->device,
	    .outcome = "ok", .client = p->client };
	struct reg_device now;
	int64_t count;
	int rc;

	if ((rc = registry_device_find(db, p->g.id, p->device, &now)) != 0)
		return rc;
	if (now.state == REG_DEVICE_PROVISIONED && now.has_pubkey &&
	    secret_hash_equal(now.pubkey_hash, p->key_hash)) {
		p->again = 1;
		p->dev = now;
		return 0;
	}
	if (now.state != REG_DEVICE_REGISTERED)
		return REG_STATE;
	/* Checked here, in the transaction, so a revocation cannot race it. */
	if ((rc = registry_key_revoked(db, p->key_hash)) != REG_NOT_FOUND) {
		p->key_revoked = rc == REG_OK;
		return rc == REG_OK ? REG_STATE : rc;
	}
	if (p->g.quota != REG_NONE &&
	    ((rc = registry_device_provisioned_count(db, p->g.id, &count)) != 0 ||
	    count >= p->g.quota)) {
		p->quota_hit = rc == 0;
		return rc != 0 ? rc : REG_STATE;
	}
	if ((rc = registry_cert_insert(db, p->serial, now.id, p->der, p->derlen,
	    p->not_after, p->now)) != 0 ||
	    (rc = registry_device_set_provisioned(db, now.id, p->key_hash,
	    p->serial, p->not_after, p->now)) != 0 ||
	    (rc = api_event(db, p->d, EVENT_DEVICE_PROVISIONED, p->tenant,
	    p->g.name, p->device, p->serial, p->now)) != 0)
		return rc;
	return registry_audit(db, &a);
}

/*
 * The renewal's record: the device is still the one the gate found, the
 * key was never revoked; a retry (the same new key, already the device's)
 * takes the recorded certificate.
 */
static int
record_renewal(sqlite3 *db, void *arg)
{
	struct provision *p = arg;
	struct reg_audit a = { .at = p->now, .tenant_id = p->g.tenant_id,
	    .actor = "device", .action = "renew", .target = p->device,
	    .outcome = "ok", .client = p->client };
	struct reg_device now;
	int rc;

	if ((rc = registry_device_by_id(db, p->dev.id, &now)) != 0)
		return rc;
	if (now.state != REG_DEVICE_PROVISIONED)
		return REG_STATE;
	if (renewal_again(p, &now)) {
		p->again = 1;
		p->dev = now;
		return 0;
	}
	if ((rc = registry_key_revoked(db, p->key_hash)) != REG_NOT_FOUND) {
		p->key_revoked = rc == REG_OK;
		return rc == REG_OK ? REG_STATE : rc;
	}
	if ((rc = registry_cert_insert(db, p->serial, now.id, p->der, p->derlen,
	    p->not_after, p->now)) != 0 ||
	    (rc = registry_device_renew(db, now.id, p->key_hash, p->serial,
	    p->not_after)) != 0)
		return rc;
	return registry_audit(db, &a);
}

static void
der_free(struct provision *p)
{
	if (p->der_stored)
		free(p->der);
	else
		OPENSSL_free(p->der);
	p->der = NULL;
	p->der_stored = 0;
}

static int
recorded_cert(sqlite3 *db, void *arg)
{
	struct provision *p = arg;
	int rc;

	der_free(p);
	if ((rc = registry_cert_der(db, p->dev.serial, &p->der, &p->derlen)) ==
	    REG_OK)
		p->der_stored = 1;
	return rc;
}

static void
answer(struct http_response *resp, struct provision *p)
{
	char *pem;
	json_t *a, *b;

	if (p->answer_as != NULL) {
		p->answer_as(resp, p->der, p->derlen);
		return;
	}
	pem = pem_armour("CERTIFICATE", p->der, p->derlen, NULL);
	if (pem == NULL) {
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	a = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "device", p->device,
	    "group", p->g.name, "serial", p->again ? p->dev.serial : p->serial,
	    "not_after", (json_int_t)(p->again ? p->dev.not_after : p->not_after),
	    "certificate", pem, "ca_chain", p->d->ca.chain_pem);
	if (a != NULL && (b = broker_mode_answer(p->d->broker, &p->creds,
	    p->d->ca.chain_pem)) != NULL)
		json_object_set_new(a, "broker", b);
	http_respond_json(resp, p->again ? 200 : 201, a);
	free(pem);
}

/*
 * Broker credentials before the certificate is recorded: a device must
 * never hold a certificate without them.  -1 after answering (503 when
 * the broker is down: nothing was recorded in the registry, and the
 * device's retry finishes the job).
 */
static int
revoked_count(sqlite3 *db, void *arg)
{
	struct broker_who *who = arg;

	return registry_device_revoked_count(db, who->device_id,
	    &who->generation);
}

static int
broker_credentials(struct http_response *resp, struct provision *p)
{
	struct broker_who who = { p->dev.id, p->tenant, p->g.name, p->device,
	    0 };
	char err[256];
	int rc;

	/* Only certificate login names users by generation (see mode.h). */
	if (broker_mode_cert_login(p->d->broker) && store_read(p->d->store,
	    revoked_count, &who, err, sizeof(err)) != 0) {
		log_error("provision: %s", err);
		http_respond_error(resp, 500, "internal", "internal error");
		return -1;
	}
	if ((rc = broker_mode_device(p->d->broker, &who, &p->creds)) ==
	    BROKER_OK)
		return 0;
	/* Unreachable or refusing: either way the device retries later. */
	if (rc == BROKER_UNAVAILABLE || rc == BROKER_REFUSED)
		api_unavailable(p->d, resp);
	else
		http_respond_error(resp, 500, "internal", "internal error");
	return -1;
}

/*
 * Credentials made for a device that did not get its certificate after
 * all (its group filled up, its key was banned, the record failed): no
 * certificate needs them and no retry will use them, so they go.  Only
 * while the device has no certificate: a racing operator's enable or
 * revoke has taken them already, and a provisioned device keeps its own.
 */
static int
device_now(sqlite3 *db, void *arg)
{
	struct provision *p = arg;

	return registry_device_by_id(db, p->dev.id, &p->dev);
}

static void
forget_unneeded(struct provision *p)
{
	char err[256];

	if (p->renewing || p->dev.state != REG_DEVICE_REGISTERED)
		return;
	if (store_read(p->d->store, device_now, p, err, sizeof(err)) != 0) {
		log_error("provision: %s", err);
		return;
	}
	if (p->dev.state != REG_DEVICE_PROVISIONED &&
	    broker_mode_revoke(p->d->broker, p->dev.id) != BROKER_OK)
		log_warn("provision: broker credentials of %s/%s/%s not taken "
		    "back; revoking or deleting the device does it",
		    p->tenant, p->g.name, p->device);
}

/* Issue (or find) and record; -1 after answering. */
static int
issue(struct http_response *resp, struct provision *p, struct ca_csr *csr)
{
	char err[256];
	int rc;

	if (p->renewing ? renewal_again(p, &p->dev) :
	    p->dev.state == REG_DEVICE_PROVISIONED) {
		p->again = 1;
		rc = store_read(p->d->store, recorded_cert, p, err, sizeof(err));
	} else if (sign(p, csr) == -1) {
		if (ca_unavailable()) {
			api_signer_unavailable(resp);
			return -1;
		}
		log_error("signing: %s", ca_errstr());
		http_respond_error(resp, 500, "internal", "internal error");
		return -1;
	} else if ((rc = api_write(p->d, resp, p->renewing ? record_renewal :
	    record, p, p->renewing ? "renew" : "provision")) == 0 && p->again)
		rc = store_read(p->d->store, recorded_cert, p, err, sizeof(err));
	if (rc == REG_STATE && p->key_revoked)
		refuse(resp, p, 403, "key_revoked", "this key belonged to a "
		    "revoked certificate; generate a new key and CSR");
	else if (rc == REG_STATE && p->quota_hit)
		refuse(resp, p, 403, "quota_exhausted",
		    "the group's device quota is exhausted");
	else if (rc == REG_STATE && p->renewing)
		/* Revoked (or enabled) between the gate and the record. */
		refuse(resp, p, 403, "device_revoked", "the device is no "
		    "longer provisioned");
	else if (rc == REG_STATE)
		refuse(resp, p, 409, "conflict", "the device changed state; "
		    "try again");
	else if (rc != 0 && rc != STORE_ERROR)
		http_respond_error(resp, 500, "internal", "internal error");
	return rc == 0 ? 0 : -1;
}

static int
read_body(struct http_request *req, struct http_response *resp,
    struct provision *p, json_t **body)
{
	char why[JSON_WHYLEN];

	if ((*body = http_request_json(req, why, sizeof(why))) == NULL) {
		http_respond_error(resp, 400, "bad_request", "%s", why);
		return -1;
	}
	p->device = json_string_value(json_object_get(*body, "device"));
	p->group = json_string_value(json_object_get(*body, "group"));
	p->csr_pem = json_string_value(json_object_get(*body, "csr"));
	if (api_check_name(resp, "device", p->device) == -1 ||
	    api_check_name(resp, "group", p->group) == -1)
		return -1;
	if (p->csr_pem == NULL) {
		http_respond_error(resp, 400, "bad_request",
		    "csr must be a PEM certification request");
		return -1;
	}
	return 0;
}

/*
 * The flow after the front end (JSON here, EST in est.c) has read the
 * request: the device and group named, the CSR as PEM or DER.
 */
void
provision_enroll(struct http_request *req, struct http_response *resp,
    const struct caller *c, const char *device, const char *group,
    const unsigned char *csrbytes, size_t csrlen, provision_answer_fn as)
{
	struct provision p = { .d = http_request_arg(req), .now = time(NULL),
	    .client = http_request_client(req), .device = device,
	    .group = group, .answer_as = as };
	struct ca_csr *csr = NULL;
	pthread_mutex_t *turn;
	char err[256];
	int done = 0;
	struct timespec start = metric_now();

	if (registered(req, resp, &p, c) == -1)
		goto out;
	if ((csr = ca_csr_parse(csrbytes, csrlen)) == NULL) {
		refuse(resp, &p, 400, "csr_rejected", ca_errstr());
		goto out;
	}
	hash_spki(csr, p.key_hash);
	/* The device's state is read again once it is this request's turn. */
	turn = devlock_hold(&p.d->devices, p.g.id, p.device);
	broker_deadline_begin(p.d->conf.broker.timeout);
	if (store_read(p.d->store, device_now, &p, err, sizeof(err)) != 0) {
		log_error("provision lookup: %s", err);
		http_respond_error(resp, 500, "internal", "internal error");
	} else if (admissible(resp, &p) == 0 && quota_place(resp, &p) == 0 &&
	    broker_credentials(resp, &p) == 0) {
		if (issue(resp, &p, csr) == 0)
			done = 1;
		else
			forget_unneeded(&p);
	}
	if (p.quota_placed)
		quota_give(&p.d->quotas, p.g.id);
	broker_deadline_end();
	devlock_release(turn);
	if (!done)
		goto out;
	answer(resp, &p);
	if (!p.again)
		api_events_kick(p.d);
	log_info("provisioned %s/%s/%s serial %s%s%s",
	    p.tenant, p.g.name, p.device, p.again ? p.dev.serial : p.serial,
	    p.again ? " (again)" : "", as != NULL ? " (EST)" : "");
out:
	metrics_flow_done(0, resp, p.again, &start);
	creds_clear(&p.creds);
	der_free(&p);
	ca_csr_free(csr);
}

void
handle_provision(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct provision p = { .d = http_request_arg(req), .now = time(NULL),
	    .client = http_request_client(req) };
	json_t *body = NULL;

	if (read_body(req, resp, &p, &body) == 0)
		provision_enroll(req, resp, c, p.device, p.group,
		    (const unsigned char *)p.csr_pem, strlen(p.csr_pem), NULL);
	else
		metrics_flow_done(0, resp, 0, NULL);
	json_decref(body);
}

/* The device, group and tenant are the gate's, from the certificate. */
void
provision_renew(struct http_request *req, struct http_response *resp,
    const struct caller *c, const unsigned char *csrbytes, size_t csrlen,
    provision_answer_fn as)
{
	struct provision p = { .d = http_request_arg(req), .now = time(NULL),
	    .client = http_request_client(req), .renewing = 1, .c = c,
	    .g = c->group, .dev = c->dev, .device = c->dev.name,
	    .answer_as = as };
	struct ca_csr *csr = NULL;
	pthread_mutex_t *turn;
	struct timespec start = metric_now();
	int rc;

	snprintf(p.tenant, sizeof(p.tenant), "%s", c->tenant);
	p.group = p.g.name;
	if ((csr = ca_csr_parse(csrbytes, csrlen)) == NULL) {
		refuse(resp, &p, 400, "csr_rejected", ca_errstr());
		goto out;
	}
	hash_spki(csr, p.key_hash);
	/* Only the current certificate renews, or a retry of its renewal. */
	if (strcmp(c->serial, c->dev.serial) != 0 && !renewal_again(&p,
	    &p.dev)) {
		refuse(resp, &p, 409, "superseded", "this certificate was "
		    "renewed already; renew with the device's current one");
		goto out;
	}
	turn = devlock_hold(&p.d->devices, p.g.id, p.device);
	broker_deadline_begin(p.d->conf.broker.timeout);
	rc = broker_credentials(resp, &p) == -1 || issue(resp, &p, csr) == -1;
	broker_deadline_end();
	devlock_release(turn);
	if (rc)
		goto out;
	answer(resp, &p);
	log_info("renewed %s/%s/%s serial %s%s%s (was %s)", p.tenant, p.g.name,
	    p.device, p.again ? p.dev.serial : p.serial, p.again ?
	    " (again)" : "", as != NULL ? " (EST)" : "", c->serial);
out:
	metrics_flow_done(1, resp, p.again, &start);
	creds_clear(&p.creds);
	der_free(&p);
	ca_csr_free(csr);
}

void
handle_renew(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	char why[JSON_WHYLEN];
	const char *csr;
	json_t *body;

	if ((body = http_request_json(req, why, sizeof(why))) == NULL ||
	    (csr = json_string_value(json_object_get(body, "csr"))) == NULL ||
	    json_object_size(body) != 1) {
		http_respond_error(resp, 400, "bad_request", "%s", body == NULL ?
		    why : "the body is {\"csr\": PEM}, nothing else");
		metrics_flow_done(1, resp, 0, NULL);
	} else
		provision_renew(req, resp, c, (const unsigned char *)csr,
		    strlen(csr), NULL);
	json_decref(body);
}
