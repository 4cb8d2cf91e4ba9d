/*
 * One request in, one answer out: decoded, checked by policy.c, signed by
 * the key of the issuer it names.  Every refusal is logged and answered;
 * nothing a request holds can stop the signer.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "log.h"
#include "signer.h"

static const char *
kind_name(enum wire_kind kind)
{
	return kind == WIRE_ISSUE ? "certificate" : kind == WIRE_CRL ? "CRL" :
	    kind == WIRE_OCSP ? "OCSP answer" : kind == WIRE_CHECKPOINT ?
	    "audit checkpoint" : "request";
}

static int
refused(struct wire_buf *out, const char *what, const char *why)
{
	struct wire_answer a = { .status = WIRE_REFUSED };

	log_warn("refused a %s: %s", what, why);
	snprintf(a.reason, sizeof(a.reason), "%s", why);
	return wire_put_answer(out, &a);
}

static int
find(const struct keyring *k, const char *serial)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->keys[i].serial, serial) == 0)
			return (int)i;
	return -1;
}

static int
sign(struct keyring *k, int i, const struct wire_request *w,
    struct wire_answer *a, unsigned char **der)
{
	struct ca_signer *s = k->keys[i].signer;
	struct ca_issued is;
	size_t len = 0;

	if (w->kind == WIRE_ISSUE) {
		if (ca_signer_issue(s, &w->issue, &is) == -1)
			return -1;
		*der = is.der;
		len = is.len;
		snprintf(a->serial, sizeof(a->serial), "%s", is.serial);
		a->not_after = (int64_t)is.not_after;
	} else if (w->kind == WIRE_CRL) {
		if (ca_signer_crl(s, &w->crl, der, &len) == -1)
			return -1;
	} else if (w->kind == WIRE_OCSP) {
		if (ca_signer_ocsp(s, &w->ocsp, der, &len) == -1)
			return -1;
	} else if (ca_signer_checkpoint(s, &w->checkpoint, der, &len) == -1)
		return -1;
	a->der = *der;
	a->der_len = len;
	return 0;
}

int
serve_one(struct keyring *k, const unsigned char *body, size_t len,
    struct wire_buf *out)
{
	struct wire_request w;
	struct wire_answer a = { .status = WIRE_OK };
	unsigned char *der = NULL;
	char why[256];
	int i, rc;

	if (wire_get_request(body, len, &w, why, sizeof(why)) == -1)
		return refused(out, "request", why);
	if ((i = find(k, w.issuer)) == -1) {
		snprintf(why, sizeof(why), "no key for the issuer %s", w.issuer);
		rc = refused(out, kind_name(w.kind), why);
	} else if (policy_check(&w, time(NULL), why, sizeof(why)) == -1 ||
	    (w.kind == WIRE_CRL && policy_crl_number(k, (size_t)i,
	    w.crl.number, why, sizeof(why)) == -1))
		rc = refused(out, kind_name(w.kind), why);
	else if (sign(k, i, &w, &a, &der) == -1)
		rc = refused(out, kind_name(w.kind), ca_errstr());
	else
		rc = wire_put_answer(out, &a);
	OPENSSL_free(der);
	wire_request_free(&w);
	return rc;
}
