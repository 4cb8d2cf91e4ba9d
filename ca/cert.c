/*
 * Certificate profiles and issuance.  Every field of an issued certificate
 * comes from the caller's request and the issuer; a CSR gives only its key.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca.h"

#define MAX_DAYS	36500L
#define NAME_MAX_LEN	64

static const char *profile_names[] = {
	[CA_PROFILE_ROOT] = "root",
	[CA_PROFILE_INTERMEDIATE] = "intermediate",
	[CA_PROFILE_SERVER] = "server",
	[CA_PROFILE_DEVICE] = "device",
};

int
ca_profile_parse(const char *name, enum ca_profile *profile)
{
	for (size_t i = 0; i < sizeof(profile_names) / sizeof(*profile_names);
	    i++) {
		if (strcmp(profile_names[i], name) == 0) {
			*profile = (enum ca_profile)i;
			return 0;
		}
	}
	ca_seterr("unknown profile \"%s\"", name);
	return -1;
}

const char *
ca_profile_name(enum ca_profile profile)
{
	return profile_names[profile];
}

/* Names that reach broker topics later: no . / + # * or anything odd. */
int
ca_name_is_safe(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN || !isalnum((unsigned char)name[0]))
		return 0;
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) && *name != '-' &&
		    *name != '_')
			return 0;
	return 1;
}

int
ca_dns_name_check(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len > 253)
		goto bad;
	for (const char *p = name; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				goto bad;
			if (*p == '\0')
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*p) ||
		    (*p == '-' && label > 0))
			label++;
		else
			goto bad;
	}
bad:
	ca_seterr("\"%s\" is not a valid DNS name", name);
	return -1;
}

int
ca_ip_check(const char *ip)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1)
		return 0;
	ca_seterr("\"%s\" is not an IPv4 or IPv6 address", ip);
	return -1;
}

/*
 * A device's subject name: a safe name, or safe names joined by dots (the
 * tenant.group.device a broker logs a certificate in as).
 */
static int
device_cn_is_safe(const char *cn)
{
	char label[NAME_MAX_LEN + 1];
	const char *dot;
	size_t len;

	if (strlen(cn) > NAME_MAX_LEN * 3 + 2)
		return 0;
	for (;; cn = dot + 1) {
		dot = strchr(cn, '.');
		len = dot != NULL ? (size_t)(dot - cn) : strlen(cn);
		if (len == 0 || len > NAME_MAX_LEN)
			return 0;
		memcpy(label, cn, len);
		label[len] = '\0';
		if (!ca_name_is_safe(label))
			return 0;
		if (dot == NULL)
			return 1;
	}
}

static int
printable(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > NAME_MAX_LEN)
		return 0;
	for (; *s != '\0'; s++)
		if (!isprint((unsigned char)*s))
			return 0;
	return 1;
}

static int
check_names(const struct ca_request *req)
{
	if (req->common_name == NULL || (!printable(req->common_name) &&
	    req->profile != CA_PROFILE_DEVICE)) {
		ca_seterr("the subject name must be 1 to %d printable "
		    "characters", NAME_MAX_LEN);
		return -1;
	}
	if ((req->organization != NULL && !printable(req->organization)) ||
	    (req->unit != NULL && !printable(req->unit))) {
		ca_seterr("organization and unit must be 1 to %d printable "
		    "characters", NAME_MAX_LEN);
		return -1;
	}
	if (req->profile == CA_PROFILE_DEVICE &&
	    !device_cn_is_safe(req->common_name)) {
		ca_seterr("device name \"%s\" is not allowed: use 1 to %d "
		    "letters, digits, '-' or '_', starting with a letter or "
		    "digit (or such names joined by dots)", req->common_name,
		    NAME_MAX_LEN);
		return -1;
	}
	return 0;
}

static int
check_sans(const struct ca_request *req)
{
	size_t i;

	if (req->ndns > CA_MAX_SAN || req->nip > CA_MAX_SAN) {
		ca_seterr("at most %d DNS names and %d addresses", CA_MAX_SAN,
		    CA_MAX_SAN);
		return -1;
	}
	for (i = 0; i < req->ndns; i++)
		if (ca_dns_name_check(req->dns[i]) == -1)
			return -1;
	for (i = 0; i < req->nip; i++)
		if (ca_ip_check(req->ip[i]) == -1)
			return -1;
	if (req->profile == CA_PROFILE_SERVER && req->ndns + req->nip == 0) {
		ca_seterr("a server certificate needs a DNS name or an address");
		return -1;
	}
	if (req->uri != NULL && (strlen(req->uri) > CA_URL_MAX ||
	    strpbrk(req->uri, ", \t\r\n") != NULL)) {
		ca_seterr("\"%s\" is not a usable URI", req->uri);
		return -1;
	}
	return 0;
}

/* Relying parties fetch these without TLS (RFC 5280 4.2.1.13). */
int
ca_http_url_check(const char *url)
{
	size_t len = strlen(url);

	if (len > CA_URL_MAX || strncmp(url, "http://", 7) != 0 || len == 7) {
		ca_seterr("\"%.64s\" is not an http:// URL of at most %d bytes",
		    url, CA_URL_MAX);
		return -1;
	}
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"<>\\^`{|}", *p) != NULL) {
			ca_seterr("\"%.64s\" holds a byte not allowed in a URL",
			    url);
			return -1;
		}
	return 0;
}

static int
check_urls(const struct ca_request *req)
{
	if (req->profile != CA_PROFILE_SERVER &&
	    req->profile != CA_PROFILE_DEVICE &&
	    (req->crl_url != NULL || req->ocsp_url != NULL)) {
		ca_seterr("only end-entity certificates name CRL or OCSP URLs");
		return -1;
	}
	if ((req->crl_url != NULL && ca_http_url_check(req->crl_url) == -1) ||
	    (req->ocsp_url != NULL && ca_http_url_check(req->ocsp_url) == -1))
		return -1;
	return 0;
}

int
ca_request_check(const struct ca_request *req)
{
	if (req->days < 1 || req->days > MAX_DAYS) {
		ca_seterr("validity of %ld days is out of range (1..%ld)",
		    req->days, MAX_DAYS);
		return -1;
	}
	if (check_names(req) == -1 || check_sans(req) == -1 ||
	    check_urls(req) == -1)
		return -1;
	return 0;
}

time_t
ca_time_from_asn1(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return (time_t)-1;
	return timegm(&tm);
}

static int
set_subject(X509 *cert, const struct ca_request *req)
{
	X509_NAME *name = X509_get_subject_name(cert);

#define ADD(nid, value) (value == NULL || X509_NAME_add_entry_by_NID(name, \
    nid, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0) == 1)
	return ADD(NID_organizationName, req->organization) &&
	    ADD(NID_organizationalUnitName, req->unit) &&
	    ADD(NID_commonName, req->common_name) ? 0 : -1;
#undef ADD
}

/* [now - backdate, now + days], inside the issuer's own validity. */
static int
set_validity(X509 *cert, const X509 *issuer, long days, time_t now)
{
	time_t from = now - CA_BACKDATE, until = now + days * 86400L;
	time_t issuer_from, issuer_until;

	if (issuer != NULL) {
		issuer_from = ca_time_from_asn1(X509_get0_notBefore(issuer));
		issuer_until = ca_time_from_asn1(X509_get0_notAfter(issuer));
		if (issuer_until <= now || issuer_from > now) {
			ca_seterr("the issuing CA is not valid at this time");
			return -1;
		}
		if (from < issuer_from)
			from = issuer_from;
		if (until > issuer_until)
			until = issuer_until;
	}
	if (X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &from) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), 0, 0, &until) == NULL) {
		ca_seterr("cannot set the validity");
		return -1;
	}
	return 0;
}

/* Copies the key as encoded: no decode and re-encode of a stranger's key. */
static int
set_pubkey(X509 *cert, const X509_PUBKEY *spki)
{
	ASN1_OBJECT *alg;
	const ASN1_OBJECT *aobj;
	const unsigned char *bits;
	unsigned char *bcopy;
	X509_ALGOR *algor;
	const void *pval;
	void *pcopy = NULL;
	int blen, ptype;

	if (X509_PUBKEY_get0_param(&alg, &bits, &blen, &algor, spki) != 1)
		return -1;
	X509_ALGOR_get0(&aobj, &ptype, &pval, algor);
	if (ptype == V_ASN1_OBJECT)
		pcopy = OBJ_dup(pval);
	else if (ptype == V_ASN1_SEQUENCE)
		pcopy = ASN1_STRING_dup(pval);
	if ((bcopy = OPENSSL_memdup(bits, (size_t)blen)) == NULL)
		goto fail;
	if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_dup(aobj),
	    ptype, pcopy, bcopy, blen) == 1)
		return 0;
	OPENSSL_free(bcopy);
fail:
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(pcopy);
	else
		ASN1_STRING_free(pcopy);
	return -1;
}

static int
spki_is_rsa(const X509_PUBKEY *spki)
{
	ASN1_OBJECT *alg;

	if (X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, spki) != 1)
		return 0;
	return OBJ_obj2nid(alg) == NID_rsaEncryption;
}

static int
fill_tbs(X509 *cert, const X509 *issuer, const X509_PUBKEY *spki,
    const struct ca_request *req, time_t now)
{
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    ca_serial_random(X509_get_serialNumber(cert)) == -1 ||
	    set_subject(cert, req) == -1 ||
	    X509_set_issuer_name(cert, issuer != NULL ?
	    X509_get_subject_name(issuer) : X509_get_subject_name(cert)) != 1 ||
	    set_validity(cert, issuer, req->days, now) == -1 ||
	    set_pubkey(cert, spki) == -1)
		return -1;
	return ca_ext_add_profile(cert, issuer, req, spki_is_rsa(spki));
}

/*
 * The certificate to be signed: a fresh serial, the subject and
 * extensions of the request's profile, the key as the request carried it,
 * a validity inside the issuer's.  The signer checked the request.
 */
X509 *
ca_cert_tbs(const X509 *issuer, const X509_PUBKEY *spki,
    const struct ca_request *req, time_t now)
{
	X509 *cert;

	if ((issuer == NULL) != (req->profile == CA_PROFILE_ROOT)) {
		ca_seterr("only a root is self-signed");
		return NULL;
	}
	if ((cert = X509_new()) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	/* The general reason, unless a step has a more precise one. */
	ca_seterr("cannot build the %s certificate",
	    ca_profile_name(req->profile));
	if (fill_tbs(cert, issuer, spki, req, now) == -1) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}
