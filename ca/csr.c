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
	X509_REQ	*req;
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

static X509_REQ *
decode_pem(const unsigned char *data, size_t len)
{
	BIO *bio;
	X509_REQ *req = NULL;

	if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL)
		req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (req == NULL)
		ca_seterr("CSR: cannot parse the PEM certification request");
	return req;
}

static X509_REQ *
decode_der(const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	X509_REQ *req;

	if ((req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL) {
		ca_seterr("CSR: cannot parse (neither a PEM nor a DER "
		    "certification request)");
		return NULL;
	}
	if (p != data + len) {
		ca_seterr("CSR: %zu bytes of trailing data after the request",
		    (size_t)(data + len - p));
		X509_REQ_free(req);
		return NULL;
	}
	return req;
}

/* Policy, then proof of possession: the signature under the CSR's key. */
static int
csr_check(X509_REQ *req)
{
	EVP_PKEY *key;
	char why[256];

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

struct ca_csr *
ca_csr_parse(const unsigned char *data, size_t len)
{
	struct ca_csr *csr;
	X509_REQ *req;

	if (len == 0) {
		ca_seterr("CSR: empty");
		return NULL;
	}
	if (len > CA_CSR_MAX) {
		ca_seterr("CSR: %zu bytes is over the limit of %d", len,
		    CA_CSR_MAX);
		return NULL;
	}
	req = looks_like_pem(data, len) ? decode_pem(data, len) :
	    decode_der(data, len);
	if (req == NULL)
		return NULL;
	if (csr_check(req) == -1 || (csr = malloc(sizeof(*csr))) == NULL) {
		X509_REQ_free(req);
		return NULL;
	}
	csr->req = req;
	return csr;
}

void
ca_csr_free(struct ca_csr *csr)
{
	if (csr == NULL)
		return;
	X509_REQ_free(csr->req);
	free(csr);
}

const X509_PUBKEY *
ca_csr_pubkey(const struct ca_csr *csr)
{
	return X509_REQ_get_X509_PUBKEY(csr->req);
}
