/*
 * Subject public keys, as DER: checked against the key policy and made
 * ready to copy into a certificate.  OpenSSL 3.0 hands a decoded key to
 * its generic decoders, which cost more than a signature check; the keys
 * devices use are built here from a ready curve instead (RFC 5480 2).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/objects.h>

#include "ca.h"
#include "spki.h"

ASN1_SEQUENCE_enc(IOTA_SPKI, enc, NULL) = {
	ASN1_SIMPLE(IOTA_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(IOTA_SPKI, key, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END_enc(IOTA_SPKI, IOTA_SPKI)

/*
 * Building an EC key from parameters sets its curve up from scratch, a
 * quarter of the cost of a signature check; a copy of a ready-made
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

/* The ready curve of a named-curve EC key; NULL for other curves. */
static EVP_PKEY *
named_curve(const void *pval, int ptype)
{
	int nid;

	if (ptype != V_ASN1_OBJECT)
		return NULL;
	pthread_once(&curves_once, make_curves);
	nid = OBJ_obj2nid(pval);
	return nid == NID_X9_62_prime256v1 ? curve_p256 :
	    nid == NID_secp384r1 ? curve_p384 : NULL;
}

/*
 * RFC 5480 2.2: a point is uncompressed (0x04) or compressed (0x02, 0x03).
 * OpenSSL also decodes the hybrid form (0x06, 0x07), which would go into
 * a certificate as it came, for verifiers that refuse it.
 */
int
ca_ec_point_check(const unsigned char *bits, size_t len)
{
	if (len > 0 && (bits[0] == 0x02 || bits[0] == 0x03 || bits[0] == 0x04))
		return 0;
	ca_seterr("EC point in %s form is not allowed (uncompressed or "
	    "compressed only)", len > 0 && (bits[0] == 0x06 || bits[0] == 0x07) ?
	    "hybrid" : "an unknown");
	return -1;
}

static EVP_PKEY *
ec_key(const void *pval, int ptype, const ASN1_BIT_STRING *bits, int *known)
{
	EVP_PKEY *curve, *key;

	if ((curve = named_curve(pval, ptype)) == NULL)
		return NULL;
	*known = 1;
	if (ca_ec_point_check(bits->data, (size_t)bits->length) == -1 ||
	    (key = EVP_PKEY_dup(curve)) == NULL)
		return NULL;
	/* Decodes the point and checks that it is on the curve. */
	if (EVP_PKEY_set1_encoded_public_key(key, bits->data,
	    (size_t)bits->length) != 1) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

EVP_PKEY *
spki_fast_key(const IOTA_SPKI *spki, int *known, int *sig_nid)
{
	const ASN1_OBJECT *aobj;
	const void *pval;
	int ptype;

	*known = 0;
	X509_ALGOR_get0(&aobj, &ptype, &pval, spki->algor);
	switch (OBJ_obj2nid(aobj)) {
	case NID_X9_62_id_ecPublicKey:
		*sig_nid = NID_X9_62_id_ecPublicKey;
		return ec_key(pval, ptype, spki->key, known);
	case NID_ED25519:
		if (ptype != V_ASN1_UNDEF)
			return NULL;
		*known = 1;
		*sig_nid = NID_ED25519;
		return EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL,
		    spki->key->data, (size_t)spki->key->length);
	default:
		return NULL;
	}
}

X509_PUBKEY *
spki_to_pubkey(const IOTA_SPKI *in)
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

/* RFC 5480 2.1.1: named curves only; explicit parameters hide curves. */
static int
explicit_curve(const IOTA_SPKI *spki)
{
	const ASN1_OBJECT *aobj;
	int ptype;

	X509_ALGOR_get0(&aobj, &ptype, NULL, spki->algor);
	return OBJ_obj2nid(aobj) == NID_X9_62_id_ecPublicKey &&
	    ptype != V_ASN1_OBJECT;
}

/* The point form, for every curve: the general decoder takes hybrid too. */
static int
ec_point_form(const IOTA_SPKI *spki)
{
	const ASN1_OBJECT *aobj;
	char why[200];

	X509_ALGOR_get0(&aobj, NULL, NULL, spki->algor);
	if (OBJ_obj2nid(aobj) != NID_X9_62_id_ecPublicKey ||
	    ca_ec_point_check(spki->key->data, (size_t)spki->key->length) == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", ca_errstr());
	ca_seterr("public key: %s", why);
	return -1;
}

/* Keys without a fast path: OpenSSL's decoder, then the same policy. */
static X509_PUBKEY *
general_pubkey(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_PUBKEY *pub;
	EVP_PKEY *key;

	if ((pub = d2i_X509_PUBKEY(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		ca_seterr("public key: not a SubjectPublicKeyInfo");
		X509_PUBKEY_free(pub);
		return NULL;
	}
	if ((key = X509_PUBKEY_get0(pub)) == NULL) {
		ca_seterr("public key: cannot decode it");
		X509_PUBKEY_free(pub);
		return NULL;
	}
	if (ca_pubkey_check(key) == -1) {
		X509_PUBKEY_free(pub);
		return NULL;
	}
	return pub;
}

X509_PUBKEY *
ca_spki_parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	IOTA_SPKI *spki;
	EVP_PKEY *key = NULL;
	X509_PUBKEY *pub = NULL;
	int known = 0, sig_nid;

	if (len == 0 || len > CA_SPKI_MAX) {
		ca_seterr("public key: %zu bytes is not a key we take", len);
		return NULL;
	}
	spki = (IOTA_SPKI *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(IOTA_SPKI));
	if (spki == NULL || p != der + len) {
		ca_seterr("public key: not a SubjectPublicKeyInfo");
		goto out;
	}
	if (ec_point_form(spki) == -1)
		goto out;
	if ((key = spki_fast_key(spki, &known, &sig_nid)) != NULL)
		pub = spki_to_pubkey(spki);
	else if (known)
		ca_seterr("public key: not a valid point of its curve");
	else if (explicit_curve(spki))
		ca_seterr("public key: EC key with explicit curve parameters "
		    "is not allowed (named curves only)");
	else
		pub = general_pubkey(der, len);
out:
	EVP_PKEY_free(key);
	ASN1_item_free((ASN1_VALUE *)spki, ASN1_ITEM_rptr(IOTA_SPKI));
	return pub;
}
