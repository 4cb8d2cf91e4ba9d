/*
 * OCSP (RFC 6960): untrusted requests read into a typed question, and the
 * unsigned answer a signer signs.  Only the certificate ids, the nonce and
 * the hash algorithms we know are taken from a request; a request's own
 * signature and other extensions are ignored, as the RFC allows.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "ca.h"

/* The hash algorithms of a CertID we answer: SHA-1 is what clients send. */
static const EVP_MD *
certid_md(const ASN1_OBJECT *alg)
{
	switch (OBJ_obj2nid(alg)) {
	case NID_sha1:		return EVP_sha1();
	case NID_sha256:	return EVP_sha256();
	case NID_sha384:	return EVP_sha384();
	case NID_sha512:	return EVP_sha512();
	default:		return NULL;
	}
}

/* Does the CertID's issuer part name this CA certificate? */
static int
names_issuer(const EVP_MD *md, const ASN1_OCTET_STRING *name_hash,
    const ASN1_OCTET_STRING *key_hash, const X509 *issuer)
{
	unsigned char nh[EVP_MAX_MD_SIZE], kh[EVP_MAX_MD_SIZE];
	unsigned int nlen, klen;
	const ASN1_BIT_STRING *key;

	key = X509_get0_pubkey_bitstr(issuer);
	if (!X509_NAME_digest(X509_get_subject_name(issuer), md, nh, &nlen) ||
	    key == NULL || !EVP_Digest(key->data, (size_t)key->length, kh,
	    &klen, md, NULL))
		return 0;
	return ASN1_STRING_length(name_hash) == (int)nlen &&
	    ASN1_STRING_length(key_hash) == (int)klen &&
	    memcmp(ASN1_STRING_get0_data(name_hash), nh, nlen) == 0 &&
	    memcmp(ASN1_STRING_get0_data(key_hash), kh, klen) == 0;
}

static int
which_issuer(const EVP_MD *md, const ASN1_OCTET_STRING *nh,
    const ASN1_OCTET_STRING *kh, const X509 *const *issuers, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names_issuer(md, nh, kh, issuers[i]))
			return (int)i;
	return -1;
}

static int
take_serial(const ASN1_INTEGER *serial, struct ca_ocsp_single *one)
{
	char *hex;

	/* RFC 5280 4.1.2.2: at most 20 octets, and positive. */
	if (ASN1_STRING_length(serial) < 1 || ASN1_STRING_length(serial) > 20 ||
	    ASN1_STRING_type(serial) != V_ASN1_INTEGER ||
	    (hex = ca_serial_hex(serial)) == NULL)
		return -1;
	snprintf(one->serial, sizeof(one->serial), "%s", hex);
	free(hex);
	return 0;
}

/* The nonce extension's value as sent: echoed as it came (RFC 8954). */
static int
take_nonce(OCSP_REQUEST *req, struct ca_ocsp_req *out)
{
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *v;
	int i;

	if ((i = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1)) < 0)
		return 0;
	if (OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, i) >= 0)
		return -1;
	ext = OCSP_REQUEST_get_ext(req, i);
	v = X509_EXTENSION_get_data(ext);
	if (ASN1_STRING_length(v) < 1 ||
	    ASN1_STRING_length(v) > CA_OCSP_NONCE_MAX)
		return -1;
	memcpy(out->nonce, ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v));
	out->nonce_len = (size_t)ASN1_STRING_length(v);
	return 0;
}

/* One request entry: its hash, issuer (the same for all) and serial. */
static int
take_single(OCSP_ONEREQ *one, const X509 *const *issuers, size_t n,
    struct ca_ocsp_req *out, int *issuer)
{
	ASN1_OCTET_STRING *nh, *kh;
	ASN1_OBJECT *alg;
	ASN1_INTEGER *serial;
	struct ca_ocsp_single *s = &out->singles[out->n];
	const EVP_MD *md;
	int i;

	if (!OCSP_id_get0_info(&nh, &alg, &kh, &serial, OCSP_onereq_get0_id(one)))
		return OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
	if ((md = certid_md(alg)) == NULL || take_serial(serial, s) == -1)
		return OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
	if ((i = which_issuer(md, nh, kh, issuers, n)) == -1 ||
	    (*issuer != -1 && i != *issuer))
		return OCSP_RESPONSE_STATUS_UNAUTHORIZED;
	*issuer = i;
	s->md_nid = EVP_MD_get_type(md);
	s->status = CA_STATUS_UNKNOWN;
	out->n++;
	return OCSP_RESPONSE_STATUS_SUCCESSFUL;
}

int
ca_ocsp_request_parse(const unsigned char *der, size_t len,
    const X509 *const *issuers, size_t nissuers, struct ca_ocsp_req *out,
    size_t *issuer)
{
	const unsigned char *p = der;
	OCSP_REQUEST *req;
	int i, n, rc = OCSP_RESPONSE_STATUS_SUCCESSFUL, which = -1;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > CA_OCSP_REQ_MAX ||
	    (req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL)
		return OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
	n = OCSP_request_onereq_count(req);
	if (p != der + len || n < 1 || n > CA_OCSP_SINGLES_MAX ||
	    take_nonce(req, out) == -1)
		rc = OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
	for (i = 0; rc == OCSP_RESPONSE_STATUS_SUCCESSFUL && i < n; i++)
		rc = take_single(OCSP_request_onereq_get0(req, i), issuers,
		    nissuers, out, &which);
	OCSP_REQUEST_free(req);
	if (rc == OCSP_RESPONSE_STATUS_SUCCESSFUL)
		*issuer = (size_t)which;
	return rc;
}

int
ca_ocsp_error(int status, unsigned char **der, size_t *len)
{
	OCSP_RESPONSE *resp;
	int n;

	*der = NULL;
	if ((resp = OCSP_response_create(status, NULL)) == NULL)
		return -1;
	n = i2d_OCSP_RESPONSE(resp, der);
	OCSP_RESPONSE_free(resp);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

static int
add_single(OCSP_BASICRESP *bs, const X509 *issuer,
    const struct ca_ocsp_single *s, ASN1_TIME *this, ASN1_TIME *next)
{
	ASN1_INTEGER *serial;
	ASN1_TIME *rev = NULL;
	OCSP_CERTID *id = NULL;
	int ok, status, reason = -1;

	if ((s->md_nid != NID_sha1 && s->md_nid != NID_sha256 &&
	    s->md_nid != NID_sha384 && s->md_nid != NID_sha512) ||
	    s->status > CA_STATUS_REVOKED ||
	    (serial = ca_serial_parse(s->serial)) == NULL)
		return -1;
	status = s->status == CA_STATUS_GOOD ? V_OCSP_CERTSTATUS_GOOD :
	    s->status == CA_STATUS_REVOKED ? V_OCSP_CERTSTATUS_REVOKED :
	    V_OCSP_CERTSTATUS_UNKNOWN;
	if (status == V_OCSP_CERTSTATUS_REVOKED) {
		rev = ASN1_TIME_set(NULL, s->revoked_at);
		/* No reasonCode for unspecified (RFC 5280 5.3.1). */
		reason = s->reason > 0 ? s->reason : -1;
	}
	ok = (status != V_OCSP_CERTSTATUS_REVOKED || rev != NULL) &&
	    (id = OCSP_cert_id_new(EVP_get_digestbynid(s->md_nid),
	    X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
	    serial)) != NULL &&
	    OCSP_basic_add1_status(bs, id, status, reason, rev, this, next) !=
	    NULL;
	OCSP_CERTID_free(id);
	ASN1_TIME_free(rev);
	ASN1_INTEGER_free(serial);
	return ok ? 0 : -1;
}

static int
add_nonce(OCSP_BASICRESP *bs, const struct ca_ocsp_req *r)
{
	ASN1_OCTET_STRING *v;
	X509_EXTENSION *ext = NULL;
	int ok;

	if (r->nonce_len == 0)
		return 0;
	if ((v = ASN1_OCTET_STRING_new()) == NULL)
		return -1;
	ok = ASN1_OCTET_STRING_set(v, r->nonce, (int)r->nonce_len) &&
	    (ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_Nonce, 0,
	    v)) != NULL && OCSP_BASICRESP_add_ext(bs, ext, -1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(v);
	return ok ? 0 : -1;
}

OCSP_BASICRESP *
ca_ocsp_tbs(const X509 *issuer, const struct ca_ocsp_req *r)
{
	OCSP_BASICRESP *bs = NULL;
	ASN1_TIME *this, *next;
	int ok;

	if (r->n < 1 || r->n > CA_OCSP_SINGLES_MAX ||
	    r->nonce_len > CA_OCSP_NONCE_MAX || r->validity < 1) {
		ca_seterr("not an OCSP answer we sign");
		return NULL;
	}
	this = ASN1_TIME_set(NULL, r->now);
	next = ASN1_TIME_set(NULL, r->now + r->validity);
	ok = this != NULL && next != NULL && (bs = OCSP_BASICRESP_new()) != NULL;
	for (size_t i = 0; ok && i < r->n; i++)
		ok = add_single(bs, issuer, &r->singles[i], this, next) == 0;
	ok = ok && add_nonce(bs, r) == 0;
	ASN1_TIME_free(this);
	ASN1_TIME_free(next);
	if (!ok) {
		OCSP_BASICRESP_free(bs);
		ca_seterr("cannot build the OCSP answer");
		return NULL;
	}
	return bs;
}
