/*
 * The signer's own checks, whatever iotad checked: what the online CA may
 * sign at all.  A device certificate names its device by URI, built from
 * the subject's tenant (O) and group (OU); nothing else is asked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "signer.h"

#define DEVICE_URN	"urn:iota:device:"

static int
refuse(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -1;
}

static int
clock_ok(time_t asked, time_t now, char *err, size_t errlen)
{
	/* Compared, not subtracted: a forged time may be anything. */
	if (asked > now + CLOCK_SLACK || asked < now - CLOCK_SLACK) {
		snprintf(err, errlen, "the request's time is %s the signer's "
		    "clock by more than %d s", asked > now ? "ahead of" :
		    "behind", CLOCK_SLACK);
		return -1;
	}
	return 0;
}

/* urn:iota:device:TENANT:GROUP:DEVICE, with TENANT = O and GROUP = OU. */
static int
device_uri_ok(const struct ca_request *q)
{
	size_t lo, lu;
	const char *name;

	if (q->uri == NULL || q->organization == NULL || q->unit == NULL ||
	    strncmp(q->uri, DEVICE_URN, strlen(DEVICE_URN)) != 0)
		return 0;
	name = q->uri + strlen(DEVICE_URN);
	lo = strlen(q->organization);
	lu = strlen(q->unit);
	if (strncmp(name, q->organization, lo) != 0 || name[lo] != ':')
		return 0;
	name += lo + 1;
	if (strncmp(name, q->unit, lu) != 0 || name[lu] != ':')
		return 0;
	name += lu + 1;
	return *name != '\0' && strchr(name, ':') == NULL &&
	    ca_name_is_safe(name);
}

static int
issue_ok(const struct ca_issue_req *r, char *err, size_t errlen)
{
	const struct ca_request *q = &r->req;

	if (q->profile != CA_PROFILE_DEVICE)
		return refuse(err, errlen, "the online signer issues device "
		    "certificates only");
	if (q->ndns != 0 || q->nip != 0)
		return refuse(err, errlen, "a device certificate carries no "
		    "DNS name or IP address");
	if (q->common_name == NULL || !device_uri_ok(q))
		return refuse(err, errlen, "the names are not those of one "
		    "device of the subject's tenant and group");
	if (ca_request_check(q) == -1)
		return refuse(err, errlen, ca_errstr());
	return 0;
}

static int
crl_ok(const struct ca_crl_req *c, char *err, size_t errlen)
{
	if (c->days < 1 || c->days > CRL_DAYS_MAX)
		return refuse(err, errlen, "a CRL's life is 1 to 30 days");
	if (c->number == 0)
		return refuse(err, errlen, "a CRL number starts at 1");
	for (size_t i = 0; i < c->n; i++) {
		ASN1_INTEGER *s = ca_serial_parse(c->revoked[i].serial);

		ASN1_INTEGER_free(s);
		if (s == NULL || c->revoked[i].reason < 0 ||
		    c->revoked[i].reason > CRL_REASON_AA_COMPROMISE)
			return refuse(err, errlen, "a CRL entry is malformed");
	}
	return 0;
}

static int
ocsp_ok(const struct ca_ocsp_req *o, char *err, size_t errlen)
{
	if (o->validity < 1 || o->validity > OCSP_SECONDS_MAX)
		return refuse(err, errlen, "an OCSP answer lives 1 s to 7 days");
	for (size_t i = 0; i < o->n; i++) {
		ASN1_INTEGER *s = ca_serial_parse(o->singles[i].serial);

		ASN1_INTEGER_free(s);
		if (s == NULL || EVP_get_digestbynid(o->singles[i].md_nid) ==
		    NULL)
			return refuse(err, errlen, "an OCSP entry is malformed");
	}
	return 0;
}

int
policy_check(const struct wire_request *w, time_t now, char *err,
    size_t errlen)
{
	switch (w->kind) {
	case WIRE_ISSUE:
		return clock_ok(w->issue.now, now, err, errlen) == -1 ? -1 :
		    issue_ok(&w->issue, err, errlen);
	case WIRE_CRL:
		return clock_ok(w->crl.now, now, err, errlen) == -1 ? -1 :
		    crl_ok(&w->crl, err, errlen);
	case WIRE_OCSP:
		return clock_ok(w->ocsp.now, now, err, errlen) == -1 ? -1 :
		    ocsp_ok(&w->ocsp, err, errlen);
	case WIRE_CHECKPOINT:
		if (w->checkpoint.record_id < 1)
			return refuse(err, errlen, "a checkpoint names a record "
			    "from 1 on");
		return clock_ok(w->checkpoint.at, now, err, errlen);
	default:
		return refuse(err, errlen, "not a request the signer answers");
	}
}

/* Numbers only grow: an old CRL signed again could undo a revocation. */
int
policy_crl_number(struct keyring *k, size_t i, uint64_t number, char *err,
    size_t errlen)
{
	if (number <= k->keys[i].last_crl) {
		snprintf(err, errlen, "CRL number %" PRIu64 " is not above the "
		    "last one signed (%" PRIu64 ")", number, k->keys[i].last_crl);
		return -1;
	}
	k->keys[i].last_crl = number;
	return 0;
}
