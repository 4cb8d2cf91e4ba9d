/*
 * The fast path for the requests devices send: EC P-256/P-384 and Ed25519
 * keys.  OpenSSL 3.0's d2i_X509_REQ hands the public key to its generic
 * decoder machinery, which costs more than the signature check itself; here
 * the request is read with an ASN.1 template that keeps the key as bits
 * (spki.c), the key is built from its parameters, and the signature is
 * checked over the request info exactly as it was received.  The subject
 * and attributes are parsed as strictly as the general path parses them,
 * though unused.
 *
 * Returns 1 (accepted, the SubjectPublicKeyInfo's DER copied out), -1
 * (refused, error set) or 0 (not a request this path knows: the caller
 * takes the general path).
 */
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "ca.h"
#include "spki.h"

typedef struct {
	ASN1_ENCODING		 enc;		/* what the signature covers */
	ASN1_INTEGER		*version;
	X509_NAME		*subject;	/* checked, never used */
	IOTA_SPKI		*spki;
	STACK_OF(X509_ATTRIBUTE) *attributes;	/* checked, never used */
} IOTA_CSR_INFO;

typedef struct {
	IOTA_CSR_INFO		*info;
	X509_ALGOR		*sig_alg;
	ASN1_BIT_STRING		*signature;
} IOTA_CSR;

DECLARE_ASN1_ITEM(IOTA_CSR_INFO)
DECLARE_ASN1_ITEM(IOTA_CSR)

ASN1_SEQUENCE_enc(IOTA_CSR_INFO, enc, NULL) = {
	ASN1_SIMPLE(IOTA_CSR_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(IOTA_CSR_INFO, subject, X509_NAME),
	ASN1_SIMPLE(IOTA_CSR_INFO, spki, IOTA_SPKI),
	ASN1_IMP_SET_OF_OPT(IOTA_CSR_INFO, attributes, X509_ATTRIBUTE, 0),
} ASN1_SEQUENCE_END_enc(IOTA_CSR_INFO, IOTA_CSR_INFO)

ASN1_SEQUENCE(IOTA_CSR) = {
	ASN1_SIMPLE(IOTA_CSR, info, IOTA_CSR_INFO),
	ASN1_SIMPLE(IOTA_CSR, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(IOTA_CSR, signature, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(IOTA_CSR)

/* The digest the signature algorithm names, if it fits the key. */
static int
sig_digest(const X509_ALGOR *sig_alg, int key_nid, const EVP_MD **md)
{
	const ASN1_OBJECT *aobj;
	int mdnid, pknid;

	X509_ALGOR_get0(&aobj, NULL, NULL, sig_alg);
	if (!OBJ_find_sigid_algs(OBJ_obj2nid(aobj), &mdnid, &pknid) ||
	    pknid != key_nid)
		return 0;
	if (mdnid == NID_undef) {
		*md = NULL;
		return key_nid == NID_ED25519;
	}
	/* SHA-2 of 256 bits or more; other digests go the general way. */
	if (mdnid != NID_sha256 && mdnid != NID_sha384 && mdnid != NID_sha512)
		return 0;
	*md = EVP_get_digestbynid(mdnid);
	return *md != NULL;
}

static int
verify(EVP_PKEY *key, const EVP_MD *md, const IOTA_CSR *csr)
{
	EVP_MD_CTX *ctx;
	int ok = 0;

	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1)
		ok = EVP_DigestVerify(ctx, csr->signature->data,
		    (size_t)csr->signature->length, csr->info->enc.enc,
		    (size_t)csr->info->enc.len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int
copy_spki(const IOTA_SPKI *spki, unsigned char **der, size_t *len)
{
	if ((*der = OPENSSL_memdup(spki->enc.enc, (size_t)spki->enc.len)) ==
	    NULL) {
		ca_seterr("out of memory");
		return -1;
	}
	*len = (size_t)spki->enc.len;
	return 1;
}

int
ca_csr_parse_fast(const unsigned char *der, long len, unsigned char **spki,
    size_t *spkilen)
{
	const unsigned char *p = der;
	const EVP_MD *md;
	IOTA_CSR *csr;
	EVP_PKEY *key = NULL;
	int rc = 0, known, key_nid;

	csr = (IOTA_CSR *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(IOTA_CSR));
	if (csr == NULL || ASN1_INTEGER_get(csr->info->version) != 0 ||
	    (key = spki_fast_key(csr->info->spki, &known, &key_nid)) == NULL ||
	    !sig_digest(csr->sig_alg, key_nid, &md))
		goto out;	/* the general path decides, and says why */
	/* OpenSSL clears declared unused bits; DER has none in a signature. */
	if ((csr->signature->flags & ASN1_STRING_FLAG_BITS_LEFT) &&
	    (csr->signature->flags & 0x07) != 0) {
		ca_seterr("CSR: the signature's BIT STRING declares unused bits");
		rc = -1;
	} else if (!verify(key, md, csr)) {
		ca_seterr("CSR: signature does not match its public key");
		rc = -1;
	} else
		rc = copy_spki(csr->info->spki, spki, spkilen);
out:
	EVP_PKEY_free(key);
	ASN1_item_free((ASN1_VALUE *)csr, ASN1_ITEM_rptr(IOTA_CSR));
	return rc;
}
