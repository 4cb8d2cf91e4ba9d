/*
 * Certification requests arrive from strangers: everything here assumes
 * the bytes are hostile.  A CSR contributes its public key, proven by its
 * signature, and nothing else.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca.h"

struct ca_csr {
	unsigned char	*spki;		/* SubjectPublicKeyInfo, DER */
	size_t		 spkilen;
};

static int
looks_like_pem(const unsigned char *data, size_t len)
{
	while (len > 0 && (*data == ' ' || *data == '\t' || *data == '\r' ||
	    *data == '\n')) {
		data++;
		len--;
	}
	return len >= 10 && memcmp(data, "-----BEGIN", 10) == 0;
}

/* Whitespace only: a second PEM block or any text after the first is not. */
static int
only_space(const char *p, long len)
{
	for (; len > 0; p++, len--)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return 0;
	return 1;
}

/* The DER inside a PEM "CERTIFICATE REQUEST"; OPENSSL_free() it. */
static unsigned char *
pem_to_der(const unsigned char *data, size_t len, long *derlen)
{
	char *name = NULL, *header = NULL, *rest;
	unsigned char *der = NULL;
	long restlen = 0;
	BIO *bio;
	int ok = 0;

	if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL &&
	    PEM_read_bio(bio, &name, &header, &der, derlen) == 1) {
		ok = strcmp(name, PEM_STRING_X509_REQ) == 0 ||
		    strcmp(name, PEM_STRING_X509_REQ_OLD) == 0;
		restlen = BIO_get_mem_data(bio, &rest);
		if (ok && !only_space(rest, restlen)) {
			ca_seterr("CSR: %ld bytes after the PEM request (one "
			    "request, nothing after it)", restlen);
			ok = -1;
		}
	}
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(header);
	if (ok != 1) {
		if (ok == 0)
			ca_seterr("CSR: cannot parse the PEM certification "
			    "request");
		OPENSSL_free(der);
		return NULL;
	}
	return der;
}

static X509_REQ *
decode_der(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	X509_REQ *req;

	if ((req = d2i_X509_REQ(NULL, &p, len)) == NULL)
		ca_seterr("CSR: cannot parse (neither a PEM nor a DER "
		    "certification request)");
	return req;
}

/*
 * RFC 5480: named curves only (2.1.1), explicit parameters hide curves;
 * and no hybrid point (2.2), which would be copied into the certificate.
 */
static int
ec_key_form(X509_REQ *req)
{
	const X509_PUBKEY *spki = X509_REQ_get_X509_PUBKEY(req);
	const unsigned char *pk;
	const ASN1_OBJECT *aobj;
	ASN1_OBJECT *alg;
	X509_ALGOR *algor;
	char why[200];
	int ptype, pklen;

	if (X509_PUBKEY_get0_param(&alg, &pk, &pklen, &algor, spki) != 1)
		return -1;
	X509_ALGOR_get0(&aobj, &ptype, NULL, algor);
	if (OBJ_obj2nid(aobj) != NID_X9_62_id_ecPublicKey)
		return 0;
	if (ptype != V_ASN1_OBJECT) {
		ca_seterr("CSR: EC key with explicit curve parameters is not "
		    "allowed (named curves only)");
		return -1;
	}
	if (ca_ec_point_check(pk, (size_t)pklen) == -1) {
		snprintf(why, sizeof(why), "%s", ca_errstr());
		ca_seterr("CSR: %s", why);
		return -1;
	}
	return 0;
}

/* RFC 2986 4.1: version is 0; any other is no request we know. */
static int
version_1(X509_REQ *req)
{
	long v = X509_REQ_get_version(req);

	if (v == X509_REQ_VERSION_1)
		return 0;
	ca_seterr("CSR: version %ld is not allowed (only 0, v1)", v);
	return -1;
}

/* Proof of possession made with a broken digest proves little. */
static int
strong_digest(X509_REQ *req)
{
	int mdnid, pknid;

	if (!OBJ_find_sigid_algs(X509_REQ_get_signature_nid(req), &mdnid,
	    &pknid)) {
		ca_seterr("CSR: unknown signature algorithm");
		return -1;
	}
	/* The 224-bit digests give 112 bits against collisions: too few. */
	if (mdnid == NID_md5 || mdnid == NID_sha1 || mdnid == NID_md4 ||
	    mdnid == NID_md2 || mdnid == NID_mdc2 || mdnid == NID_ripemd160 ||
	    mdnid == NID_sha224 || mdnid == NID_sha512_224 ||
	    mdnid == NID_sha3_224) {
		ca_seterr("CSR: signed with %s, which is too weak (SHA-256 or "
		    "better)", OBJ_nid2sn(mdnid));
		return -1;
	}
	return 0;
}

/* Policy, then proof of possession: the signature under the CSR's key. */
static int
csr_check(X509_REQ *req)
{
	EVP_PKEY *key;
	char why[256];

	if (version_1(req) == -1 || ec_key_form(req) == -1 ||
	    strong_digest(req) == -1)
		return -1;
	if ((key = X509_REQ_get0_pubkey(req)) == NULL) {
		ca_seterr("CSR: cannot decode its public key");
		return -1;
	}
	if (ca_pubkey_check(key) == -1) {
		snprintf(why, sizeof(why), "%s", ca_errstr());
		ca_seterr("CSR: %s", why);
		return -1;
	}
	if (X509_REQ_verify(req, key) != 1) {
		ca_seterr("CSR: signature does not match its public key");
		return -1;
	}
	return 0;
}

/* Syntax first: one DER request and nothing after it. */
static int
check_der_length(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	long objlen;
	int tag, class, rc;

	rc = ASN1_get_object(&p, &objlen, &tag, &class, len);
	if ((rc & 0x80) || tag != V_ASN1_SEQUENCE || class != V_ASN1_UNIVERSAL ||
	    rc != V_ASN1_CONSTRUCTED) {
		ca_seterr("CSR: cannot parse (neither a PEM nor a DER "
		    "certification request)");
		return -1;
	}
	if (p + objlen < der + len) {
		ca_seterr("CSR: %ld bytes of trailing data after the request",
		    (long)(der + len - (p + objlen)));
		return -1;
	}
	return 0;
}

/* The general path: OpenSSL's own parser, for every key type. */
static int
parse_general(struct ca_csr *csr, const unsigned char *der, long len)
{
	X509_REQ *req;
	int n, rc = -1;

	if ((req = decode_der(der, len)) == NULL)
		return -1;
	if (csr_check(req) == 0) {
		n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &csr->spki);
		if (n > 0) {
			csr->spkilen = (size_t)n;
			rc = 0;
		} else
			ca_seterr("out of memory");
	}
	X509_REQ_free(req);
	return rc;
}

struct ca_csr *
ca_csr_parse(const unsigned char *data, size_t len)
{
	struct ca_csr *csr = NULL;
	unsigned char *pemder = NULL;
	const unsigned char *der = data;
	long derlen = (long)len;
	int rc;

	if (len == 0) {
		ca_seterr("CSR: empty");
		return NULL;
	}
	if (len > CA_CSR_MAX) {
		ca_seterr("CSR: %zu bytes is over the limit of %d", len,
		    CA_CSR_MAX);
		return NULL;
	}
	if (looks_like_pem(data, len) &&
	    (der = pemder = pem_to_der(data, len, &derlen)) == NULL)
		return NULL;
	if (check_der_length(der, derlen) == -1 ||
	    (csr = calloc(1, sizeof(*csr))) == NULL)
		goto fail;
	/* The fast path says 0 when the request is not one it knows. */
	if ((rc = ca_csr_parse_fast(der, derlen, &csr->spki,
	    &csr->spkilen)) == 0)
		rc = parse_general(csr, der, derlen) == 0 ? 1 : -1;
	if (rc == 1) {
		OPENSSL_free(pemder);
		return csr;
	}
fail:
	ca_csr_free(csr);
	OPENSSL_free(pemder);
	return NULL;
}

void
ca_csr_free(struct ca_csr *csr)
{
	if (csr == NULL)
		return;
	OPENSSL_free(csr->spki);
	free(csr);
}

const unsigned char *
ca_csr_spki(const struct ca_csr *csr, size_t *len)
{
	*len = csr->spkilen;
	return csr->spki;
}
