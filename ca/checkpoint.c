/*
 * Audit checkpoints (checkpoint.h): one encoding for the signer and the
 * verifier, so that they cannot drift apart.
 */
#include <string.h>

#include <openssl/x509.h>

#include "checkpoint.h"

int
ca_checkpoint_check(const struct ca_checkpoint_req *r)
{
	if (r->record_id < 1 || r->at < 0) {
		ca_seterr("an audit checkpoint needs a record id >= 1 and a "
		    "time >= 0");
		return -1;
	}
	return 0;
}

static unsigned char *
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*p++ = (unsigned char)(v >> (56 - 8 * i));
	return p;
}

void
ca_checkpoint_tbs(const struct ca_checkpoint_req *r,
    unsigned char tbs[CA_CHECKPOINT_TBS_LEN])
{
	unsigned char *p = tbs;

	memcpy(p, CA_CHECKPOINT_TAG, sizeof(CA_CHECKPOINT_TAG));
	p = put_be64(p + sizeof(CA_CHECKPOINT_TAG), (uint64_t)r->record_id);
	memcpy(p, r->head, CA_CHECKPOINT_HEAD_LEN);
	put_be64(p + CA_CHECKPOINT_HEAD_LEN, (uint64_t)r->at);
}

/* As the signer's digest_for(): the curve's strength, Ed25519 none. */
const EVP_MD *
ca_checkpoint_md(const EVP_PKEY *key)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_ED25519:
		return NULL;
	case EVP_PKEY_EC:
		return EVP_PKEY_get_bits(key) > 256 ? EVP_sha384() :
		    EVP_sha256();
	default:
		return EVP_sha256();
	}
}

static int
valid_at(const X509 *issuer, time_t at)
{
	return ca_time_from_asn1(X509_get0_notBefore(issuer)) <= at &&
	    at <= ca_time_from_asn1(X509_get0_notAfter(issuer));
}

int
ca_checkpoint_verify(const struct ca_checkpoint_req *r,
    const unsigned char *sig, size_t siglen, const X509 *issuer)
{
	unsigned char tbs[CA_CHECKPOINT_TBS_LEN];
	EVP_PKEY *key = X509_get0_pubkey(issuer);
	EVP_MD_CTX *ctx;
	int ok;

	if (key == NULL || ca_checkpoint_check(r) == -1) {
		ca_seterr("not a checkpoint this issuer could sign");
		return -1;
	}
	ca_checkpoint_tbs(r, tbs);
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		ca_seterr("out of memory");
		return -1;
	}
	ok = EVP_DigestVerifyInit(ctx, NULL, ca_checkpoint_md(key), NULL,
	    key) == 1 && EVP_DigestVerify(ctx, sig, siglen, tbs,
	    sizeof(tbs)) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		ca_seterr("the signature does not verify");
		return -1;
	}
	if (!valid_at(issuer, r->at)) {
		ca_seterr("signed at a time its certificate was not valid");
		return -1;
	}
	return 0;
}
