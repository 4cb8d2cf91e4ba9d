/*
 * The fast path for the requests devices send: EC P-256/P-384 and Ed25519
 * keys.  OpenSSL 3.0's d2i_X509_REQ hands the public key to its generic
 * decoder machinery, which costs more than the signature check itself; here
 * the request is read with an ASN.1 template that keeps the key as bits,
 * the key is built from its parameters, and the signature is checked over
 * the request info exactly as it was received.  The subject and attributes
 * are parsed as strictly as the general path parses them, though unused.
 *
 * Returns 1 (accepted, *spkip set), -1 (refused, error set) or 0 (not a
 * request this path knows: the caller takes the general path).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "ca.h"

typedef struct {
	X509_ALGOR		*algor;
	ASN1_BIT_STRING		*key;
} IOTA_CSR_SPKI;

typedef struct {
	ASN1_ENCODING		 enc;		/* what the signature covers */
	ASN1_INTEGER		*version;
	X509_NAME		*subject;	/* checked, never used */
	IOTA_CSR_SPKI		*spki;
	STACK_OF(X509_ATTRIBUTE) *attributes;	/* checked, never used */
} IOTA_CSR_INFO;

typedef struct {
	IOTA_CSR_INFO		*info;
	X509_ALGOR		*sig_alg;
	ASN1_BIT_STRING		*signature;
} IOTA_CSR;

DECLARE_ASN1_ITEM(IOTA_CSR_SPKI)
DECLARE_ASN1_ITEM(IOTA_CSR_INFO)
DECLARE_ASN1_ITEM(IOTA_CSR)

ASN1_SEQUENCE(IOTA_CSR_SPKI) = {
	ASN1_SIMPLE(IOTA_CSR_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(IOTA_CSR_SPKI, key, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(IOTA_CSR_SPKI)

ASN1_SEQUENCE_enc(IOTA_CSR_INFO, enc, NULL) = {
	ASN1_SIMPLE(IOTA_CSR_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(IOTA_CSR_INFO, subject, X509_NAME),
	ASN1_SIMPLE(IOTA_CSR_INFO, spki, IOTA_CSR_SPKI),
	ASN1_IMP_SET_OF_OPT(IOTA_CSR_INFO, attributes, X509_ATTRIBUTE, 0),
} ASN1_SEQUENCE_END_enc(IOTA_CSR_INFO, IOTA_CSR_INFO)

ASN1_SEQUENCE(IOTA_CSR) = {
	ASN1_SIMPLE(IOTA_CSR, info, IOTA_CSR_INFO),
	ASN1_SIMPLE(IOTA_CSR, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(IOTA_CSR, signature, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(IOTA_CSR)

struct fast_key {
	const char	*type;		/* key management name */
	const char	*group;		/* EC only */
	int		 sig_nid;	/* the key's NID in sigid terms */
};

/* Which keys this path takes; the rest go the general way. */
static int
fast_key_of(const X509_ALGOR *algor, struct fast_key *fk)
{
	const ASN1_OBJECT *aobj;
	const void *pval;
	int ptype, curve;

	X509_ALGOR_get0(&aobj, &ptype, &pval, algor);
	switch (OBJ_obj2nid(aobj)) {
	case NID_X9_62_id_ecPublicKey:
		if (ptype != V_ASN1_OBJECT)
			return 0;
		curve = OBJ_obj2nid(pval);
		fk->group = curve == NID_X9_62_prime256v1 ? "P-256" :
		    curve == NID_secp384r1 ? "P-384" : NULL;
		fk->type = "EC";
		fk->sig_nid = NID_X9_62_id_ecPublicKey;
		return fk->group != NULL;
	case NID_ED25519:
		fk->type = "ED25519";
		fk->group = NULL;
		fk->sig_nid = NID_ED25519;
		return ptype == V_ASN1_UNDEF;
	default:
		return 0;
	}
}

/*
 * Building an EC key from parameters sets its curve up from scratch, a
 * quarter of the cost of the signature check; a copy of a ready-made
 * parameters-only key is far cheaper.  Made once, kept for the process.
 */
static EVP_PKEY *curve_p256, *curve_p384;
static pthread_once_t curves_once = PTHREAD_ONCE_INIT;

static EVP_PKEY *
curve_params(const char *group)
{
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)group, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		(void)EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEY_PARAMETERS, params);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static void
make_curves(void)
{
	curve_p256 = curve_params("P-256");
	curve_p384 = curve_params("P-384");
}

static EVP_PKEY *
key_from_bits(const struct fast_key *fk, const ASN1_BIT_STRING *bits)
{
	EVP_PKEY *curve, *key;

	if (fk->group == NULL)
		return EVP_PKEY_new_raw_public_key_ex(NULL, fk->type, NULL,
		    bits->data, (size_t)bits->length);
	pthread_once(&curves_once, make_curves);
	curve = strcmp(fk->group, "P-256") == 0 ? curve_p256 : curve_p384;
	if (curve == NULL || (key = EVP_PKEY_dup(curve)) == NULL)
		return NULL;
	/* Decodes the point and checks that it is on the curve. */
	if (EVP_PKEY_set1_encoded_public_key(key, bits->data,
	    (size_t)bits->length) != 1) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* The digest the signature algorithm names, if it fits the key. */
static int
sig_digest(const X509_ALGOR *sig_alg, const struct fast_key *fk,
    const EVP_MD **md)
{
	const ASN1_OBJECT *aobj;
	int mdnid, pknid;

	X509_ALGOR_get0(&aobj, NULL, NULL, sig_alg);
	if (!OBJ_find_sigid_algs(OBJ_obj2nid(aobj), &mdnid, &pknid) ||
	    pknid != fk->sig_nid)
		return 0;
	if (mdnid == NID_undef) {
		*md = NULL;
		return fk->sig_nid == NID_ED25519;
	}
	*md = EVP_get_digestbynid(mdnid);
	return *md != NULL && mdnid != NID_md5 && mdnid != NID_sha1;
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

static X509_PUBKEY *
spki_copy(const IOTA_CSR_SPKI *in)
{
	const ASN1_OBJECT *aobj;
	const void *pval;
	void *pcopy = NULL;
	unsigned char *bits;
	X509_PUBKEY *out;
	int ptype;

	X509_ALGOR_get0(&aobj, &ptype, &pval, in->algor);
	if ((out = X509_PUBKEY_new()) == NULL)
		return NULL;
	if (ptype == V_ASN1_OBJECT && (pcopy = OBJ_dup(pval)) == NULL)
		goto fail;
	if ((bits = OPENSSL_memdup(in->key->data, (size_t)in->key->length)) ==
	    NULL)
		goto fail;
	if (X509_PUBKEY_set0_param(out, OBJ_dup(aobj), ptype, pcopy, bits,
	    in->key->length) == 1)
		return out;
	OPENSSL_free(bits);
fail:
	ASN1_OBJECT_free(pcopy);
	X509_PUBKEY_free(out);
	return NULL;
}

int
ca_csr_parse_fast(const unsigned char *der, long len, X509_PUBKEY **spkip)
{
	const unsigned char *p = der;
	struct fast_key fk;
	const EVP_MD *md;
	IOTA_CSR *csr;
	EVP_PKEY *key = NULL;
	int rc = 0;

	csr = (IOTA_CSR *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(IOTA_CSR));
	if (csr == NULL || ASN1_INTEGER_get(csr->info->version) != 0 ||
	    !fast_key_of(csr->info->spki->algor, &fk) ||
	    !sig_digest(csr->sig_alg, &fk, &md) ||
	    (key = key_from_bits(&fk, csr->info->spki->key)) == NULL)
		goto out;	/* the general path decides, and says why */
	if (!verify(key, md, csr)) {
		ca_seterr("CSR: signature does not match its public key");
		rc = -1;
	} else if ((*spkip = spki_copy(csr->info->spki)) == NULL) {
		ca_seterr("out of memory");
		rc = -1;
	} else
		rc = 1;
out:
	EVP_PKEY_free(key);
	ASN1_item_free((ASN1_VALUE *)csr, ASN1_ITEM_rptr(IOTA_CSR));
	return rc;
}
