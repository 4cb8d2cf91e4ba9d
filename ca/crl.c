/* Certificate revocation lists: v2, with CRL number and AKI (RFC 5280 5). */
#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "ca.h"

static const struct {
	int		 code;
	const char	*name;
} reasons[] = {
	{ CRL_REASON_UNSPECIFIED, "unspecified" },
	{ CRL_REASON_KEY_COMPROMISE, "keyCompromise" },
	{ CRL_REASON_CA_COMPROMISE, "cACompromise" },
	{ CRL_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
	{ CRL_REASON_SUPERSEDED, "superseded" },
	{ CRL_REASON_CESSATION_OF_OPERATION, "cessationOfOperation" },
	{ CRL_REASON_CERTIFICATE_HOLD, "certificateHold" },
	{ CRL_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
};
#define NREASONS	(sizeof(reasons) / sizeof(reasons[0]))

int
ca_reason_parse(const char *name, int *code)
{
	for (size_t i = 0; i < NREASONS; i++) {
		if (strcasecmp(reasons[i].name, name) == 0) {
			*code = reasons[i].code;
			return 0;
		}
	}
	ca_seterr("unknown revocation reason \"%s\"", name);
	return -1;
}

const char *
ca_reason_name(int code)
{
	for (size_t i = 0; i < NREASONS; i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return "unspecified";
}

static int
add_revoked(X509_CRL *crl, const struct ca_revoked *r)
{
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *serial;
	ASN1_TIME *when = NULL;
	ASN1_ENUMERATED *reason = NULL;
	int ok = 0;

	if ((serial = ca_serial_parse(r->serial)) == NULL) {
		ca_seterr("CRL: \"%s\" is not a serial", r->serial);
		return -1;
	}
	if ((rev = X509_REVOKED_new()) == NULL ||
	    (when = ASN1_TIME_set(NULL, r->when)) == NULL ||
	    (reason = ASN1_ENUMERATED_new()) == NULL)
		goto out;
	/* RFC 5280 5.3.1: better absent than "unspecified". */
	ok = X509_REVOKED_set_serialNumber(rev, serial) &&
	    X509_REVOKED_set_revocationDate(rev, when) &&
	    (r->reason == CRL_REASON_UNSPECIFIED ||
	    (ASN1_ENUMERATED_set(reason, r->reason) &&
	    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0))) &&
	    X509_CRL_add0_revoked(crl, rev);
	if (ok)
		rev = NULL;
out:
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	ASN1_ENUMERATED_free(reason);
	return ok ? 0 : -1;
}

static int
add_crl_exts(X509_CRL *crl, const X509 *issuer, uint64_t number)
{
	X509V3_CTX ctx;
	X509_EXTENSION *aki;
	ASN1_INTEGER *num;
	int ok;

	X509V3_set_ctx(&ctx, (X509 *)issuer, NULL, NULL, crl, 0);
	if ((aki = X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_authority_key_identifier, "keyid:always")) == NULL)
		return -1;
	ok = X509_CRL_add_ext(crl, aki, -1);
	X509_EXTENSION_free(aki);
	if (!ok || (num = ASN1_INTEGER_new()) == NULL)
		return -1;
	ok = ASN1_INTEGER_set_uint64(num, number) &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	ASN1_INTEGER_free(num);
	return ok ? 0 : -1;
}

static int
set_times(X509_CRL *crl, time_t now, long days)
{
	ASN1_TIME *t;
	int ok;

	if ((t = ASN1_TIME_set(NULL, now)) == NULL)
		return -1;
	ok = X509_CRL_set1_lastUpdate(crl, t);
	ok = ok && ASN1_TIME_set(t, now + days * 86400L) != NULL &&
	    X509_CRL_set1_nextUpdate(crl, t);
	ASN1_TIME_free(t);
	return ok ? 0 : -1;
}

/* The CRL to be signed: every revoked serial, sorted, number and AKI. */
X509_CRL *
ca_crl_tbs(const X509 *issuer, const struct ca_crl_req *r)
{
	X509_CRL *crl;
	size_t i;

	if (r->days < 1 || r->days > 3650) {
		ca_seterr("CRL validity of %ld days is out of range (1..3650)",
		    r->days);
		return NULL;
	}
	if ((crl = X509_CRL_new()) == NULL ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) ||
	    set_times(crl, r->now, r->days) == -1 ||
	    add_crl_exts(crl, issuer, r->number) == -1)
		goto fail;
	for (i = 0; i < r->n; i++)
		if (add_revoked(crl, &r->revoked[i]) == -1) {
			X509_CRL_free(crl);
			return NULL;
		}
	if (X509_CRL_sort(crl))
		return crl;
fail:
	ca_seterr("cannot build the CRL");
	X509_CRL_free(crl);
	return NULL;
}
