/*
 * Issuance for the offline commands (`iotactl ca`), which want the
 * objects as OpenSSL structures to write and record: every one goes
 * through the signer interface like iotad's, and is decoded from the DER
 * the signer returned.  Nothing on iotad's hot path uses these.
 */
#include <openssl/x509.h>

#include "ca.h"

static X509 *
issue_spki(struct ca_signer *signer, const unsigned char *spki, size_t len,
    const struct ca_request *req, time_t now)
{
	struct ca_issue_req r = { .req = *req, .spki = spki, .spki_len = len,
	    .now = now };
	struct ca_issued out;
	const unsigned char *p;
	X509 *cert = NULL;

	if (ca_signer_issue(signer, &r, &out) == -1)
		return NULL;
	p = out.der;
	if ((cert = d2i_X509(NULL, &p, (long)out.len)) == NULL)
		ca_seterr("cannot decode the certificate just issued");
	ca_issued_clear(&out);
	return cert;
}

X509 *
ca_issue_for_key(struct ca_signer *signer, EVP_PKEY *key,
    const struct ca_request *req, time_t now)
{
	unsigned char *der = NULL;
	X509 *cert;
	int n;

	if ((n = i2d_PUBKEY(key, &der)) <= 0) {
		ca_seterr("cannot encode the public key");
		return NULL;
	}
	cert = issue_spki(signer, der, (size_t)n, req, now);
	OPENSSL_free(der);
	return cert;
}

X509 *
ca_issue_for_csr(struct ca_signer *signer, const struct ca_csr *csr,
    const struct ca_request *req, time_t now)
{
	const unsigned char *spki;
	size_t len;

	spki = ca_csr_spki(csr, &len);
	return issue_spki(signer, spki, len, req, now);
}

X509_CRL *
ca_crl_build(struct ca_signer *signer, const struct ca_revoked *revoked,
    size_t n, uint64_t number, time_t now, long days)
{
	struct ca_crl_req r = { revoked, n, number, now, days };
	unsigned char *der;
	const unsigned char *p;
	X509_CRL *crl;
	size_t len;

	if (ca_signer_crl(signer, &r, &der, &len) == -1)
		return NULL;
	p = der;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL)
		ca_seterr("cannot decode the CRL just signed");
	OPENSSL_free(der);
	return crl;
}
