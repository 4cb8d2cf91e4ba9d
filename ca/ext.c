/*
 * The extensions of our profiles, built as structures rather than parsed
 * from configuration strings: nothing to escape, and cheap enough for the
 * issuance path (RFC 5280 4.2).
 */
#include <arpa/inet.h>

#include <string.h>

#include <openssl/x509v3.h>

#include "ca.h"

#define KU_BIT_DIGITAL_SIGNATURE	0
#define KU_BIT_KEY_ENCIPHERMENT		2
#define KU_BIT_KEY_CERT_SIGN		5
#define KU_BIT_CRL_SIGN			6

static int
add_basic_constraints(X509 *cert, int ca, long pathlen)
{
	BASIC_CONSTRAINTS *bc;
	int ok;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		return -1;
	bc->ca = ca ? 0xff : 0;
	ok = pathlen < 0 || ((bc->pathlen = ASN1_INTEGER_new()) != NULL &&
	    ASN1_INTEGER_set(bc->pathlen, pathlen));
	ok = ok && X509_add1_ext_i2d(cert, NID_basic_constraints, bc, 1, 0);
	BASIC_CONSTRAINTS_free(bc);
	return ok ? 0 : -1;
}

static int
add_key_usage(X509 *cert, const int *bits, size_t n)
{
	ASN1_BIT_STRING *ku;
	int ok = 1;

	if ((ku = ASN1_BIT_STRING_new()) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		ok = ok && ASN1_BIT_STRING_set_bit(ku, bits[i], 1);
	ok = ok && X509_add1_ext_i2d(cert, NID_key_usage, ku, 1, 0);
	ASN1_BIT_STRING_free(ku);
	return ok ? 0 : -1;
}

static int
add_eku(X509 *cert, int nid)
{
	EXTENDED_KEY_USAGE *eku;
	int ok;

	if ((eku = sk_ASN1_OBJECT_new_null()) == NULL)
		return -1;
	ok = sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(nid)) > 0 &&
	    X509_add1_ext_i2d(cert, NID_ext_key_usage, eku, 0, 0);
	sk_ASN1_OBJECT_free(eku);	/* nid2obj objects are static */
	return ok ? 0 : -1;
}

/* SKI: SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
static int
add_key_ids(X509 *cert, const X509 *issuer)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID *aki = NULL;
	const ASN1_OCTET_STRING *issuer_ski;
	int ok;

	if (!X509_pubkey_digest(cert, EVP_sha1(), md, &mdlen) ||
	    (ski = ASN1_OCTET_STRING_new()) == NULL)
		return -1;
	ok = ASN1_OCTET_STRING_set(ski, md, (int)mdlen) &&
	    X509_add1_ext_i2d(cert, NID_subject_key_identifier, ski, 0, 0);
	ASN1_OCTET_STRING_free(ski);
	if (!ok || issuer == NULL)
		return ok ? 0 : -1;
	issuer_ski = X509_get0_subject_key_id((X509 *)issuer);
	ok = issuer_ski != NULL && (aki = AUTHORITY_KEYID_new()) != NULL &&
	    (aki->keyid = ASN1_OCTET_STRING_dup(issuer_ski)) != NULL &&
	    X509_add1_ext_i2d(cert, NID_authority_key_identifier, aki, 0, 0);
	AUTHORITY_KEYID_free(aki);
	return ok ? 0 : -1;
}

static int
push_name(GENERAL_NAMES *gens, int type, const unsigned char *data, int len)
{
	GENERAL_NAME *gen;
	ASN1_STRING *value;

	value = type == GEN_IPADD ? ASN1_OCTET_STRING_new() :
	    ASN1_IA5STRING_new();
	if (value == NULL || !ASN1_STRING_set(value, data, len) ||
	    (gen = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(value);
		return -1;
	}
	GENERAL_NAME_set0_value(gen, type, value);
	if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
		GENERAL_NAME_free(gen);
		return -1;
	}
	return 0;
}

static int
push_ip(GENERAL_NAMES *gens, const char *ip)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, ip, buf) == 1)
		return push_name(gens, GEN_IPADD, buf, 4);
	if (inet_pton(AF_INET6, ip, buf) == 1)
		return push_name(gens, GEN_IPADD, buf, 16);
	return -1;
}

static int
add_san(X509 *cert, const struct ca_request *req)
{
	GENERAL_NAMES *gens;
	size_t i;
	int ok = 1;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		return -1;
	for (i = 0; ok && i < req->ndns; i++)
		ok = push_name(gens, GEN_DNS, (const unsigned char *)req->dns[i],
		    (int)strlen(req->dns[i])) == 0;
	for (i = 0; ok && i < req->nip; i++)
		ok = push_ip(gens, req->ip[i]) == 0;
	if (ok && req->uri != NULL)
		ok = push_name(gens, GEN_URI, (const unsigned char *)req->uri,
		    (int)strlen(req->uri)) == 0;
	ok = ok && (sk_GENERAL_NAME_num(gens) == 0 ||
	    X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, 0));
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

/* CRL distribution point and AIA (RFC 5280 4.2.1.13, 4.2.2.1). */
static int
add_crl_point(X509 *cert, const char *url)
{
	CRL_DIST_POINTS *points;
	DIST_POINT *dp = NULL;
	int ok;

	if ((points = sk_DIST_POINT_new_null()) == NULL)
		return -1;
	ok = (dp = DIST_POINT_new()) != NULL &&
	    (dp->distpoint = DIST_POINT_NAME_new()) != NULL &&
	    (dp->distpoint->type = 0) == 0 &&		/* fullName */
	    (dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) != NULL &&
	    push_name(dp->distpoint->name.fullname, GEN_URI,
	    (const unsigned char *)url, (int)strlen(url)) == 0 &&
	    sk_DIST_POINT_push(points, dp) > 0;
	if (!ok)
		DIST_POINT_free(dp);
	ok = ok && X509_add1_ext_i2d(cert, NID_crl_distribution_points, points,
	    0, 0);
	CRL_DIST_POINTS_free(points);
	return ok ? 0 : -1;
}

static int
add_ocsp_point(X509 *cert, const char *url)
{
	AUTHORITY_INFO_ACCESS *aia;
	ACCESS_DESCRIPTION *ad = NULL;
	GENERAL_NAMES *gens;
	int ok;

	if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL ||
	    (gens = sk_GENERAL_NAME_new_null()) == NULL) {
		sk_ACCESS_DESCRIPTION_free(aia);
		return -1;
	}
	ok = push_name(gens, GEN_URI, (const unsigned char *)url,
	    (int)strlen(url)) == 0 && (ad = ACCESS_DESCRIPTION_new()) != NULL;
	if (ok) {
		ASN1_OBJECT_free(ad->method);
		ad->method = OBJ_nid2obj(NID_ad_OCSP);
		GENERAL_NAME_free(ad->location);
		ad->location = sk_GENERAL_NAME_shift(gens);
		ok = sk_ACCESS_DESCRIPTION_push(aia, ad) > 0;
		if (!ok)
			ACCESS_DESCRIPTION_free(ad);
	}
	GENERAL_NAMES_free(gens);
	ok = ok && X509_add1_ext_i2d(cert, NID_info_access, aia, 0, 0);
	AUTHORITY_INFO_ACCESS_free(aia);
	return ok ? 0 : -1;
}

static int
add_leaf(X509 *cert, const struct ca_request *req, int rsa)
{
	static const int sig[] = { KU_BIT_DIGITAL_SIGNATURE };
	/* TLS 1.2 RSA key exchange encrypts to a server's key. */
	static const int sig_enc[] = { KU_BIT_DIGITAL_SIGNATURE,
	    KU_BIT_KEY_ENCIPHERMENT };
	int server = req->profile == CA_PROFILE_SERVER;

	if (add_basic_constraints(cert, 0, -1) == -1 ||
	    (server && rsa ? add_key_usage(cert, sig_enc, 2) :
	    add_key_usage(cert, sig, 1)) == -1 ||
	    add_eku(cert, server ? NID_server_auth : NID_client_auth) == -1 ||
	    add_san(cert, req) == -1 ||
	    (req->crl_url != NULL && add_crl_point(cert, req->crl_url) == -1) ||
	    (req->ocsp_url != NULL && add_ocsp_point(cert, req->ocsp_url) == -1))
		return -1;
	return 0;
}

int
ca_ext_add_profile(X509 *cert, const X509 *issuer,
    const struct ca_request *req, int rsa)
{
	static const int ca_bits[] = { KU_BIT_KEY_CERT_SIGN, KU_BIT_CRL_SIGN };

	if (add_key_ids(cert, issuer) == -1)
		return -1;
	switch (req->profile) {
	case CA_PROFILE_ROOT:
		return add_basic_constraints(cert, 1, -1) == -1 ||
		    add_key_usage(cert, ca_bits, 2) == -1 ? -1 : 0;
	case CA_PROFILE_INTERMEDIATE:
		return add_basic_constraints(cert, 1, 0) == -1 ||
		    add_key_usage(cert, ca_bits, 2) == -1 ? -1 : 0;
	default:
		return add_leaf(cert, req, rsa);
	}
}
