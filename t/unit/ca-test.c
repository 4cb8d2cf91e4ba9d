/*
 * Unit tests of the CA engine, with the clock pinned: every time below is
 * relative to T0, never to the machine's clock.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "checkpoint.h"
#include "encode.h"
#include "tap.h"

#define T0	((time_t)1893456000)	/* 2030-01-01T00:00:00Z */
#define DAY	86400L

static char tmpdir[] = "/tmp/ca-test.XXXXXX";

struct test_ca {
	struct ca_signer	*root, *inter;
	X509			*root_cert, *inter_cert;
	EVP_PKEY		*inter_key;
};

static struct ca_signer *
signer_for(X509 *cert, EVP_PKEY *key)
{
	X509_up_ref(cert);
	EVP_PKEY_up_ref(key);
	return ca_signer_new(cert, key);
}

/* Root valid T0-1d .. T0+3650d, intermediate T0 .. T0+30d. */
static void
make_ca(struct test_ca *ca)
{
	struct ca_request rreq = { .profile = CA_PROFILE_ROOT,
	    .common_name = "test Root CA", .organization = "test", .days = 3650 };
	struct ca_request ireq = { .profile = CA_PROFILE_INTERMEDIATE,
	    .common_name = "test Intermediate CA 1", .days = 30 };
	EVP_PKEY *rkey = ca_key_generate(CA_KEY_EC_P256);
	EVP_PKEY *ikey = ca_key_generate(CA_KEY_EC_P256);
	struct ca_signer *self;

	EVP_PKEY_up_ref(rkey);
	self = ca_signer_self(rkey);
	ca->root_cert = ca_issue_for_key(self, rkey, &rreq, T0 - DAY);
	ca_signer_free(self);
	ca->root = signer_for(ca->root_cert, rkey);
	ca->inter_cert = ca_issue_for_key(ca->root, ikey, &ireq, T0);
	ca->inter = signer_for(ca->inter_cert, ikey);
	ca->inter_key = ikey;
	EVP_PKEY_free(rkey);
}

static unsigned char *
csr_der(EVP_PKEY *key, int greedy, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_NAME *name = X509_REQ_get_subject_name(req);
	unsigned char *der = NULL;
	int n;

	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"root-of-all-evil", -1, -1, 0);
	X509_REQ_set_pubkey(req, key);
	if (greedy) {
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL,
		    NID_basic_constraints, "critical,CA:TRUE"));
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL,
		    NID_subject_alt_name, "DNS:evil.example,IP:10.0.0.1"));
		X509_REQ_add_extensions(req, exts);
	}
	X509_REQ_sign(req, key, EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ?
	    NULL : EVP_sha256());
	n = i2d_X509_REQ(req, &der);
	*len = n > 0 ? (size_t)n : 0;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return der;
}

static void
test_keys(void)
{
	static const char *want[] = { "EC P-256", "EC P-384", "Ed25519",
	    "RSA 3072" };
	enum ca_key_type type;

	for (int t = CA_KEY_EC_P256; t <= CA_KEY_RSA_3072; t++) {
		EVP_PKEY *key = ca_key_generate((enum ca_key_type)t);

		ok(key != NULL, "generate %s", ca_key_type_name(t));
		is_str(key ? ca_key_describe(key) : NULL, want[t],
		    "%s describes itself", ca_key_type_name(t));
		ok(key && ca_pubkey_check(key) == 0, "%s passes the key policy",
		    ca_key_type_name(t));
		EVP_PKEY_free(key);
	}
	ok(ca_key_type_parse("dsa-1024", &type) == -1, "dsa-1024 is no key type");
	like(ca_errstr(), "unknown key type \"dsa-1024\"", "and says so");
	ok(ca_key_type_parse("ed25519", &type) == 0 && type == CA_KEY_ED25519,
	    "ed25519 parses");
}

static void
test_key_policy(void)
{
	EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	EVP_PKEY *k256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");

	ok(ca_pubkey_check(rsa1024) == -1, "RSA 1024 refused");
	like(ca_errstr(), "RSA key of 1024 bits is too small (minimum 2048)",
	    "with the size in the message");
	ok(ca_pubkey_check(p521) == -1, "P-521 refused");
	like(ca_errstr(), "not allowed", "as not allowed");
	ok(ca_pubkey_check(k256) == -1, "secp256k1 refused");
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(k256);
}

static void
test_key_files(void)
{
	EVP_PKEY *key = ca_key_generate(CA_KEY_EC_P256), *back;
	char path[256];
	struct stat st;
	unsigned char *pem;
	size_t len;

	snprintf(path, sizeof(path), "%s/k.pem", tmpdir);
	ok(ca_key_write_encrypted(path, key, "correct horse", 13) == 0,
	    "encrypted key written");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	pem = ca_file_read(path, 65536, &len);
	like((char *)pem, "BEGIN ENCRYPTED PRIVATE KEY", "PKCS#8, encrypted");
	free(pem);
	ok(ca_key_read(path, "wrong horse", 11) == NULL, "wrong passphrase refused");
	like(ca_errstr(), "wrong passphrase?", "and named as such");
	back = ca_key_read(path, "correct horse", 13);
	ok(back != NULL && EVP_PKEY_eq(back, key) == 1, "right passphrase opens it");
	ok(ca_key_write_encrypted(path, key, "x", 1) == -1,
	    "an existing key file is never overwritten");
	EVP_PKEY_free(back);
	EVP_PKEY_free(key);
}

static void
test_serials(void)
{
	ASN1_INTEGER *s = ASN1_INTEGER_new(), *parsed;
	char *seen[200], *hex;
	int good = 1, unique = 1;

	for (int i = 0; i < 200; i++) {
		ca_serial_random(s);
		seen[i] = ca_serial_hex(s);
		good &= s->length == CA_SERIAL_BYTES && (s->data[0] & 0x80) == 0 &&
		    s->data[0] != 0 && s->type == V_ASN1_INTEGER;
		for (int j = 0; j < i; j++)
			unique &= strcmp(seen[i], seen[j]) != 0;
	}
	ok(good, "serials are positive, 16 octets, no leading zero");
	ok(unique, "200 serials, all different");
	parsed = ca_serial_parse("0x4a:B2:03");
	hex = parsed ? ca_serial_hex(parsed) : NULL;
	is_str(hex, "4AB203", "serials parse with 0x, colons, any case");
	ok(ca_serial_parse("4G") == NULL && ca_serial_parse("") == NULL &&
	    ca_serial_parse(":") == NULL, "bad serials do not parse");
	for (int i = 0; i < 200; i++)
		free(seen[i]);
	free(hex);
	ASN1_INTEGER_free(parsed);
	ASN1_INTEGER_free(s);
}

/* The unused-bits octet of the BIT STRING that ends the DER, or 0. */
static size_t
sig_unused_byte(const unsigned char *der, size_t len)
{
	for (size_t i = len - 2; i > 0; i--) {
		size_t hdr, n;

		if (der[i] != 0x03)
			continue;
		if (der[i + 1] < 0x80) {
			hdr = 2;
			n = der[i + 1];
		} else if (der[i + 1] == 0x82 && i + 3 < len) {
			hdr = 4;
			n = (size_t)der[i + 2] << 8 | der[i + 3];
		} else
			continue;
		if (i + hdr + n == len && der[i + hdr] == 0x00)
			return i + hdr;
	}
	return 0;
}

/*
 * A signature BIT STRING that declares an unused bit: OpenSSL clears that
 * bit, so when it was 0 the signature still verifies.  DER forbids it, and
 * `openssl req -verify` and the general path refuse it; the fast path did
 * not (found by fuzzing).  Both key kinds of the fast path, and RSA.
 */
static void
test_csr_unused_bits(void)
{
	static const enum ca_key_type types[] = { CA_KEY_EC_P256,
	    CA_KEY_ED25519, CA_KEY_RSA_3072 };

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		unsigned char *der = NULL;
		size_t len = 0, i = 0;
		int made = 0;

		for (int tries = 0; tries < 32 && !made; tries++) {
			EVP_PKEY *key = ca_key_generate(types[t]);

			OPENSSL_free(der);
			der = csr_der(key, 0, &len);
			EVP_PKEY_free(key);
			if ((i = sig_unused_byte(der, len)) != 0 &&
			    (der[len - 1] & 1) == 0)
				made = 1;
		}
		if (!made) {
			ok(0, "%s: a CSR whose signature ends in a 0 bit",
			    ca_key_type_name(types[t]));
			OPENSSL_free(der);
			continue;
		}
		der[i] = 0x01;	/* one unused bit */
		ok(ca_csr_parse(der, len) == NULL, "%s: a signature BIT STRING "
		    "with an unused bit is refused", ca_key_type_name(types[t]));
		OPENSSL_free(der);
	}
}

/* A request signed with `md` (NULL for Ed25519) at `version`, as DER. */
static unsigned char *
csr_with(EVP_PKEY *key, const EVP_MD *md, long version, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *der = NULL;
	int n = 0;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_ASC, (const unsigned char *)"d1", -1, -1, 0);
	if (X509_REQ_set_version(req, version) == 1 &&
	    X509_REQ_set_pubkey(req, key) == 1 &&
	    X509_REQ_sign(req, key, md) > 0)
		n = i2d_X509_REQ(req, &der);
	*len = n > 0 ? (size_t)n : 0;
	X509_REQ_free(req);
	return n > 0 ? der : NULL;
}

/* An EC key whose public key encodes with `form` (OSSL_PKEY_EC_...). */
static EVP_PKEY *
ec_key_in_form(const char *curve, const char *form)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	if (key != NULL && EVP_PKEY_set_utf8_string_param(key,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, form) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

/* The first octet of the point in a SubjectPublicKeyInfo's DER. */
static int
point_form(const unsigned char *spki, size_t len)
{
	const unsigned char *p = spki, *pk;
	X509_PUBKEY *pub;
	int pklen, form = -1;

	if ((pub = d2i_X509_PUBKEY(NULL, &p, (long)len)) != NULL &&
	    X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, pub) == 1 &&
	    pklen > 0)
		form = pk[0];
	X509_PUBKEY_free(pub);
	return form;
}

/*
 * RFC 5480 2.2 allows uncompressed and compressed points; OpenSSL also
 * decodes hybrid ones (0x06, 0x07), which went into the certificate.
 * P-256 and P-384 take the fast path, P-521 the general one.
 */
static void
test_csr_point_form(void)
{
	static const char *curves[] = { "P-256", "P-384", "P-521" };

	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		EVP_PKEY *key = ec_key_in_form(curves[i],
		    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_HYBRID);
		unsigned char *der, *spki = NULL;
		const unsigned char *p;
		X509_REQ *req;
		size_t len;
		int n = -1;

		der = key ? csr_with(key, EVP_sha256(), 0, &len) : NULL;
		p = der;
		if (der != NULL && (req = d2i_X509_REQ(NULL, &p, (long)len)) !=
		    NULL) {
			n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &spki);
			X509_REQ_free(req);
		}
		ok(n > 0 && (point_form(spki, (size_t)n) & ~1) == 0x06,
		    "%s: a CSR with a hybrid point made", curves[i]);
		ok(der && ca_csr_parse(der, len) == NULL,
		    "%s: hybrid point refused", curves[i]);
		like(ca_errstr(), "CSR: EC point in hybrid form is not allowed",
		    "as hybrid");
		ok(n > 0 && ca_spki_parse(spki, (size_t)n) == NULL,
		    "%s: and as a bare public key", curves[i]);
		like(ca_errstr(), "public key: EC point in hybrid form",
		    "as hybrid");
		OPENSSL_free(spki);
		OPENSSL_free(der);
		EVP_PKEY_free(key);
	}
	for (size_t i = 0; i < 2; i++) {
		EVP_PKEY *key = ec_key_in_form(curves[i],
		    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED);
		unsigned char *der;
		const unsigned char *spki;
		struct ca_csr *csr;
		size_t len, n = 0;

		der = key ? csr_with(key, EVP_sha256(), 0, &len) : NULL;
		csr = der ? ca_csr_parse(der, len) : NULL;
		spki = csr ? ca_csr_spki(csr, &n) : NULL;
		ok(spki && (point_form(spki, n) & ~1) == 0x02,
		    "%s: a compressed point is taken as it came", curves[i]);
		ca_csr_free(csr);
		OPENSSL_free(der);
		EVP_PKEY_free(key);
	}
}

/* RFC 2986 4.1: version is 0; the fast path leaves others to the general. */
static void
test_csr_version(void)
{
	static const enum ca_key_type types[] = { CA_KEY_EC_P256,
	    CA_KEY_ED25519 };
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

	for (size_t t = 0; t < 3; t++) {
		EVP_PKEY *key = t < 2 ? ca_key_generate(types[t]) : rsa;
		const EVP_MD *md = t == 1 ? NULL : EVP_sha256();
		const char *name = t < 2 ? ca_key_type_name(types[t]) :
		    "rsa-2048";
		struct ca_csr *csr;
		unsigned char *der;
		size_t len;

		der = csr_with(key, md, 0, &len);
		ok(der && (csr = ca_csr_parse(der, len)) != NULL,
		    "%s: a version 0 CSR parses", name);
		ca_csr_free(csr);
		OPENSSL_free(der);
		for (long v = 1; v <= 2; v++) {
			der = csr_with(key, md, v, &len);
			ok(der && ca_csr_parse(der, len) == NULL,
			    "%s: a version %ld CSR is refused", name, v);
			like(ca_errstr(), v == 1 ? "CSR: version 1 is not "
			    "allowed (only 0, v1)" : "CSR: version 2 is not",
			    "as its version");
			OPENSSL_free(der);
		}
		EVP_PKEY_free(key);
	}
}

/*
 * "SHA-256 or better": SHA-224 was taken by both paths.  SHA-1 and MD5
 * too are refused, with EC (the fast path) and RSA (the general one).
 */
static void
test_csr_digest(void)
{
	EVP_PKEY *keys[2] = { ca_key_generate(CA_KEY_EC_P256),
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048) };
	const EVP_MD *weak[] = { EVP_sha224(), EVP_sha1(), EVP_md5() };
	const char *names[] = { "SHA224", "SHA1", "MD5" };

	for (size_t k = 0; k < 2; k++) {
		const char *kname = k == 0 ? "ec-p256" : "rsa-2048";
		struct ca_csr *csr;
		unsigned char *der;
		size_t len;

		der = csr_with(keys[k], EVP_sha384(), 0, &len);
		ok(der && (csr = ca_csr_parse(der, len)) != NULL,
		    "%s: SHA-384 taken", kname);
		ca_csr_free(csr);
		OPENSSL_free(der);
		/* ECDSA with MD5 has no OID: no such request can be made. */
		for (size_t i = 0; i < (k == 0 ? 2 : 3); i++) {
			der = csr_with(keys[k], weak[i], 0, &len);
			ok(der && ca_csr_parse(der, len) == NULL,
			    "%s: %s refused", kname, names[i]);
			like(ca_errstr(), "which is too weak (SHA-256 or better)",
			    "as too weak");
			like(ca_errstr(), names[i], "and named");
			OPENSSL_free(der);
		}
		EVP_PKEY_free(keys[k]);
	}
}

/* The PEM of a request, NUL-terminated. */
static char *
csr_pem(EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL, *p;
	long n;

	X509_REQ_set_pubkey(req, key);
	if (X509_REQ_sign(req, key, EVP_sha256()) > 0 &&
	    PEM_write_bio_X509_REQ(bio, req) == 1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0 &&
	    (pem = calloc(1, (size_t)n + 1)) != NULL)
		memcpy(pem, p, (size_t)n);
	BIO_free(bio);
	X509_REQ_free(req);
	return pem;
}

/* A request's DER and two zero bytes, as PEM. */
static char *
pem_of_der_trailing(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	unsigned char *der, *big;
	char *pem = NULL, *p;
	size_t len;
	long n;

	if ((der = csr_with(key, EVP_sha256(), 0, &len)) != NULL &&
	    (big = calloc(1, len + 2)) != NULL) {
		memcpy(big, der, len);
		if (PEM_write_bio(bio, PEM_STRING_X509_REQ, "", big,
		    (long)len + 2) > 0 && (n = BIO_get_mem_data(bio, &p)) > 0 &&
		    (pem = calloc(1, (size_t)n + 1)) != NULL)
			memcpy(pem, p, (size_t)n);
		free(big);
	}
	OPENSSL_free(der);
	BIO_free(bio);
	return pem;
}

/* One request per upload: PEM_read_bio() stops after the first block. */
static void
test_csr_pem_trailing(void)
{
	EVP_PKEY *key = ca_key_generate(CA_KEY_EC_P256);
	char *pem = csr_pem(key), buf[4096];
	struct ca_csr *csr;

	snprintf(buf, sizeof(buf), "%s\r\n\n", pem ? pem : "");
	ok(pem && (csr = ca_csr_parse((unsigned char *)buf, strlen(buf))) !=
	    NULL, "a PEM CSR with whitespace after it parses");
	ca_csr_free(csr);
	snprintf(buf, sizeof(buf), "%s%s", pem ? pem : "", pem ? pem : "");
	ok(ca_csr_parse((unsigned char *)buf, strlen(buf)) == NULL,
	    "two PEM CSRs refused");
	like(ca_errstr(), "bytes after the PEM request (one request, nothing "
	    "after it)", "as one too many");
	snprintf(buf, sizeof(buf), "%sjunk\n", pem ? pem : "");
	ok(ca_csr_parse((unsigned char *)buf, strlen(buf)) == NULL,
	    "text after a PEM CSR refused");
	like(ca_errstr(), "CSR: 5 bytes after the PEM request", "and counted");
	free(pem);
	pem = pem_of_der_trailing(key);
	ok(pem && ca_csr_parse((unsigned char *)pem, strlen(pem)) == NULL,
	    "a PEM CSR whose DER has bytes after it refused");
	like(ca_errstr(), "CSR: 2 bytes of trailing data", "and counted");
	free(pem);
	EVP_PKEY_free(key);
}

static void
test_csr_hostile(void)
{
	EVP_PKEY *key = ca_key_generate(CA_KEY_EC_P256);
	EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	unsigned char *der, *big;
	struct ca_csr *csr;
	size_t len, blen;

	der = csr_der(key, 0, &len);
	ok((csr = ca_csr_parse(der, len)) != NULL, "a good DER CSR parses");
	ca_csr_free(csr);
	ok(ca_csr_parse(der, 0) == NULL, "empty CSR refused");
	like(ca_errstr(), "CSR: empty", "as empty");
	ok(ca_csr_parse(der, len / 2) == NULL, "truncated CSR refused");
	like(ca_errstr(), "cannot parse", "as unparsable");
	big = calloc(1, len + 3);
	memcpy(big, der, len);
	ok(ca_csr_parse(big, len + 3) == NULL, "trailing bytes refused");
	like(ca_errstr(), "3 bytes of trailing data", "and counted");
	free(big);
	der[len - 3] ^= 0x01;	/* inside the signature */
	ok(ca_csr_parse(der, len) == NULL, "tampered signature refused");
	like(ca_errstr(), "signature does not match its public key",
	    "as no proof of possession");
	OPENSSL_free(der);
	der = csr_der(rsa1024, 0, &len);
	ok(ca_csr_parse(der, len) == NULL, "RSA-1024 CSR refused");
	like(ca_errstr(), "CSR: RSA key of 1024 bits is too small", "by size");
	OPENSSL_free(der);
	blen = CA_CSR_MAX + 1;
	big = calloc(1, blen);
	ok(ca_csr_parse(big, blen) == NULL, "oversized CSR refused");
	like(ca_errstr(), "over the limit", "before parsing");
	memcpy(big, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
	    "-----END CERTIFICATE REQUEST-----\n", 75);
	ok(ca_csr_parse(big, 75) == NULL, "PEM-wrapped garbage refused");
	free(big);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(key);
}

static int
has_ext(X509 *cert, int nid)
{
	return X509_get_ext_by_NID(cert, nid, -1) >= 0;
}

static void
test_device(const struct test_ca *ca)
{
	struct ca_request req = { .profile = CA_PROFILE_DEVICE,
	    .common_name = "sensor-7", .uri = "urn:iota:device:sensor-7",
	    .days = 365 };
	EVP_PKEY *key = ca_key_generate(CA_KEY_EC_P256);
	GENERAL_NAMES *sans;
	unsigned char *der;
	struct ca_csr *csr;
	X509 *cert;
	size_t len;

	der = csr_der(key, 1, &len);
	csr = ca_csr_parse(der, len);
	ok(csr != NULL, "a CSR asking for CA:TRUE and SANs parses");
	cert = csr ? ca_issue_for_csr(ca->inter, csr, &req, T0 + DAY) : NULL;
	ok(cert != NULL, "device certificate issued");
	if (cert == NULL)
		goto out;
	is_int(ca_time_from_asn1(X509_get0_notBefore(cert)),
	    T0 + DAY - CA_BACKDATE, "notBefore is now less the skew allowance");
	is_int(ca_time_from_asn1(X509_get0_notAfter(cert)), T0 + 30 * DAY,
	    "notAfter clamped to the intermediate's");
	ok((X509_get_extension_flags(cert) & EXFLAG_CA) == 0, "not a CA");
	ok((X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT) &&
	    !(X509_get_extended_key_usage(cert) & XKU_SSL_SERVER), "clientAuth only");
	ok(X509_get_key_usage(cert) == KU_DIGITAL_SIGNATURE, "digitalSignature only");
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	ok(sans != NULL && sk_GENERAL_NAME_num(sans) == 1 &&
	    sk_GENERAL_NAME_value(sans, 0)->type == GEN_URI,
	    "one SAN, the URI naming the device, none of the CSR's");
	GENERAL_NAMES_free(sans);
	ok(has_ext(cert, NID_authority_key_identifier) &&
	    has_ext(cert, NID_subject_key_identifier), "AKI and SKI");
	ok(X509_check_issued(ca->inter_cert, cert) == X509_V_OK,
	    "issued by the intermediate");
	{
		X509_NAME *subj = X509_get_subject_name(cert);
		char cn[64];

		X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn));
		is_str(cn, "sensor-7", "CN from the caller, not the CSR");
	}
out:
	X509_free(cert);
	ca_csr_free(csr);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

static void
test_validity(const struct test_ca *ca)
{
	struct ca_request req = { .profile = CA_PROFILE_DEVICE,
	    .common_name = "d1", .days = 1 };
	EVP_PKEY *key = ca_key_generate(CA_KEY_EC_P256);
	X509 *cert;

	/* The intermediate starts at T0 - CA_BACKDATE. */
	cert = ca_issue_for_key(ca->inter, key, &req, T0 - 250);
	ok(cert != NULL && ca_time_from_asn1(X509_get0_notBefore(cert)) ==
	    T0 - CA_BACKDATE, "notBefore never before the issuer's");
	X509_free(cert);
	ok(ca_issue_for_key(ca->inter, key, &req, T0 + 31 * DAY) == NULL,
	    "an expired intermediate issues nothing");
	like(ca_errstr(), "not valid at this time", "and says why");
	ok(ca_issue_for_key(ca->inter, key, &req, T0 - 301) == NULL,
	    "nor one not yet valid");
	req.days = 0;
	ok(ca_issue_for_key(ca->inter, key, &req, T0 + DAY) == NULL,
	    "zero days refused");
	EVP_PKEY_free(key);
}

static void
test_requests(const struct test_ca *ca)
{
	struct ca_request dev = { .profile = CA_PROFILE_DEVICE,
	    .common_name = "a/b", .days = 1 };
	struct ca_request srv = { .profile = CA_PROFILE_SERVER,
	    .common_name = "broker", .days = 1 };
	EVP_PKEY *key = ca_key_generate(CA_KEY_EC_P256);
	X509 *cert;

	ok(ca_request_check(&dev) == -1, "device name with / refused");
	like(ca_errstr(), "device name \"a/b\" is not allowed", "by name");
	for (const char *bad = ".+#*"; *bad; bad++) {
		char name[8] = "x";

		name[1] = *bad;
		dev.common_name = name;
		ok(ca_request_check(&dev) == -1, "device name with '%c' refused",
		    *bad);
	}
	ok(ca_request_check(&srv) == -1, "server without SAN refused");
	srv.dns[0] = "bad_name.example";
	srv.ndns = 1;
	ok(ca_request_check(&srv) == -1, "underscore in a DNS name refused");
	srv.dns[0] = "broker.example";
	srv.ip[0] = "127.0.0.1";
	srv.ip[1] = "::1";
	srv.nip = 2;
	cert = ca_issue_for_key(ca->inter, key, &srv, T0 + DAY);
	ok(cert != NULL && (X509_get_extended_key_usage(cert) & XKU_SSL_SERVER),
	    "server certificate with serverAuth");
	ok(cert && X509_check_host(cert, "broker.example", 0, 0, NULL) == 1 &&
	    X509_check_ip_asc(cert, "::1", 0) == 1 &&
	    X509_check_ip_asc(cert, "127.0.0.1", 0) == 1, "SANs as asked");
	X509_free(cert);
	srv.ip[0] = "300.1.1.1";
	ok(ca_request_check(&srv) == -1, "bad address refused");
	EVP_PKEY_free(key);
}

static void
test_crl(const struct test_ca *ca)
{
	ASN1_INTEGER *s1 = ca_serial_parse("4A01"), *s2 = ca_serial_parse("4A02");
	struct ca_revoked r[2] = {
		{ "4A01", T0 + DAY, CRL_REASON_KEY_COMPROMISE },
		{ "4A02", T0 + DAY, CRL_REASON_UNSPECIFIED },
	};
	X509_CRL *crl = ca_crl_build(ca->inter, r, 2, 42, T0 + 2 * DAY, 7);
	X509_REVOKED *rev;
	ASN1_INTEGER *num;
	ASN1_ENUMERATED *reason;

	ok(crl != NULL, "CRL built");
	if (crl == NULL)
		goto out;
	is_int(X509_CRL_get_version(crl), X509_CRL_VERSION_2, "v2");
	is_int(ca_time_from_asn1(X509_CRL_get0_lastUpdate(crl)), T0 + 2 * DAY,
	    "thisUpdate is now");
	is_int(ca_time_from_asn1(X509_CRL_get0_nextUpdate(crl)), T0 + 9 * DAY,
	    "nextUpdate a week on");
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	is_int(num ? ASN1_INTEGER_get(num) : -1, 42, "CRL number");
	ASN1_INTEGER_free(num);
	ok(X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier, -1) >= 0,
	    "AKI");
	ok(X509_CRL_verify(crl, X509_get0_pubkey(ca->inter_cert)) == 1,
	    "signed by the intermediate");
	ok(X509_CRL_get0_by_serial(crl, &rev, s1) == 1, "first serial listed");
	reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
	is_int(reason ? ASN1_ENUMERATED_get(reason) : -1,
	    CRL_REASON_KEY_COMPROMISE, "with its reason");
	ASN1_ENUMERATED_free(reason);
	ok(X509_CRL_get0_by_serial(crl, &rev, s2) == 1 &&
	    X509_REVOKED_get_ext_by_NID(rev, NID_crl_reason, -1) < 0,
	    "unspecified reason left out (RFC 5280 5.3.1)");
out:
	X509_CRL_free(crl);
	ASN1_INTEGER_free(s1);
	ASN1_INTEGER_free(s2);
}

/* An OCSP request for serials of `issuer`, hashed with md, as DER. */
static unsigned char *
ocsp_req(const X509 *issuer, const EVP_MD *md, const char *const *serials,
    size_t n, int nonce, size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;
	int dlen;

	for (size_t i = 0; i < n; i++) {
		ASN1_INTEGER *sn = ca_serial_parse(serials[i]);

		OCSP_request_add0_id(req, OCSP_cert_id_new(md,
		    X509_get_subject_name(issuer),
		    X509_get0_pubkey_bitstr(issuer), sn));
		ASN1_INTEGER_free(sn);
	}
	if (nonce)
		OCSP_request_add1_nonce(req, NULL, 16);
	dlen = i2d_OCSP_REQUEST(req, &der);
	OCSP_REQUEST_free(req);
	*len = dlen > 0 ? (size_t)dlen : 0;
	return der;
}

static int
response_status(const unsigned char *der, size_t len)
{
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &der, (long)len);
	int st = resp != NULL ? OCSP_response_status(resp) : -1;

	OCSP_RESPONSE_free(resp);
	return st;
}

static void
test_ocsp_parse(const struct test_ca *ca)
{
	const char *const serials[] = { "4A01", "4A02" };
	const X509 *issuers[2] = { ca->root_cert, ca->inter_cert };
	struct ca_ocsp_req r;
	unsigned char *der, *cut;
	size_t len, which = 9;

	der = ocsp_req(ca->inter_cert, EVP_sha1(), serials, 2, 1, &len);
	is_int(ca_ocsp_request_parse(der, len, issuers, 2, &r, &which),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL, "OCSP: a request of two, parsed");
	ok(which == 1 && r.n == 2 && strcmp(r.singles[0].serial, "4A01") == 0 &&
	    strcmp(r.singles[1].serial, "4A02") == 0 &&
	    r.singles[0].md_nid == NID_sha1 &&
	    r.singles[0].status == CA_STATUS_UNKNOWN,
	    "OCSP: the issuer found, serials read, status not yet known");
	ok(r.nonce_len == 18, "OCSP: the nonce kept as sent (%zu bytes)",
	    r.nonce_len);
	is_int(ca_ocsp_request_parse(der, len, issuers, 1, &r, &which),
	    OCSP_RESPONSE_STATUS_UNAUTHORIZED, "OCSP: an issuer not ours");
	size_t bad = 0;
	for (size_t cutlen = 0; cutlen < len; cutlen++) {
		cut = OPENSSL_memdup(der, cutlen ? cutlen : 1);
		bad += ca_ocsp_request_parse(cut, cutlen, issuers, 2, &r,
		    &which) != OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
		OPENSSL_free(cut);
	}
	is_int(bad, 0, "OCSP: each of the %zu truncations is malformedRequest",
	    len);
	OPENSSL_free(der);
	der = ocsp_req(ca->inter_cert, EVP_sha256(), serials, 1, 0, &len);
	ok(ca_ocsp_request_parse(der, len, issuers, 2, &r, &which) ==
	    OCSP_RESPONSE_STATUS_SUCCESSFUL && r.singles[0].md_nid ==
	    NID_sha256 && r.nonce_len == 0, "OCSP: SHA-256 ids, no nonce");
	r.now = T0;
	r.validity = 3600;
	r.singles[0].status = CA_STATUS_REVOKED;
	r.singles[0].revoked_at = T0 - DAY;
	r.singles[0].reason = CRL_REASON_KEY_COMPROMISE;
	OPENSSL_free(der);
	der = NULL;
	ok(ca_signer_ocsp(ca->inter, &r, &der, &len) == 0 &&
	    response_status(der, len) == OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    "OCSP: the intermediate signs the answer");
	OPENSSL_free(der);
	der = NULL;
	r.singles[0].md_nid = NID_md5;
	ok(ca_signer_ocsp(ca->inter, &r, &der, &len) == -1,
	    "OCSP: the signer refuses a hash it does not answer with");
	r.singles[0].md_nid = NID_sha1;
	r.n = CA_OCSP_SINGLES_MAX + 1;
	ok(ca_signer_ocsp(ca->inter, &r, &der, &len) == -1,
	    "OCSP: the signer refuses too many answers");
	r.n = 1;
	r.validity = 0;
	ok(ca_signer_ocsp(ca->inter, &r, &der, &len) == -1,
	    "OCSP: the signer refuses an answer without a validity");
	ok(ca_ocsp_error(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, &der, &len) ==
	    0 && response_status(der, len) ==
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "OCSP: an error answer");
	OPENSSL_free(der);
	is_int(ca_ocsp_request_parse((const unsigned char *)"", 0, issuers, 2,
	    &r, &which), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
	    "OCSP: an empty request is malformed");
}

static void
test_base64(void)
{
	static const struct {
		const char *in;
		const char *out;	/* NULL: refused */
		int lines;
	} cases[] = {
		{ "", "", 0 }, { "QQ==", "A", 0 }, { "QQ", "A", 0 },
		{ "QUI=", "AB", 0 }, { "QUI", "AB", 0 }, { "QUJD", "ABC", 0 },
		{ "QUJD\r\nRA==", "ABCD", 1 }, { "QUJD\nRA==", NULL, 0 },
		{ "QR==", NULL, 0 },		/* bits left over */
		{ "QUJ=D", NULL, 0 },		/* data after padding */
		{ "Q===", NULL, 0 }, { "Q", NULL, 0 }, { "QQ=", NULL, 0 },
		{ "QUJD=", NULL, 0 }, { "QU-D", NULL, 0 }, { "QU_D", NULL, 0 },
		{ "QU D", NULL, 0 }, { "QUI==", NULL, 0 },
	};
	unsigned char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = b64_decode(cases[i].in, strlen(cases[i].in), out,
		    sizeof(out), &n, cases[i].lines);

		if (cases[i].out == NULL)
			is_int(rc, -1, "base64: \"%s\" refused", cases[i].in);
		else
			ok(rc == 0 && n == strlen(cases[i].out) &&
			    memcmp(out, cases[i].out, n) == 0,
			    "base64: \"%s\" is \"%s\"", cases[i].in,
			    cases[i].out);
	}
	is_int(b64_decode("QUJDRA==", 8, out, 3, &n, 0), -1,
	    "base64: refused when it does not fit");
}

/* A SubjectPublicKeyInfo in DER, as a CSR or a caller would carry it. */
static unsigned char *
spki_of(EVP_PKEY *key, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);

	*len = n > 0 ? (size_t)n : 0;
	return der;
}

static int
issue_with(struct ca_signer *s, enum ca_profile profile, const char *name,
    const unsigned char *spki, size_t len, struct ca_issued *out)
{
	struct ca_issue_req r = { .req = { .profile = profile,
	    .common_name = name, .days = 7 }, .spki = spki, .spki_len = len,
	    .now = T0 + DAY };

	if (profile == CA_PROFILE_SERVER) {
		r.req.dns[0] = "server.example";
		r.req.ndns = 1;
	}
	return ca_signer_issue(s, &r, out);
}

/* The signer refuses on its own what no caller may have it sign. */
static void
test_signer_profiles(const struct test_ca *ca, const unsigned char *spki,
    size_t len)
{
	struct ca_signer *online;
	struct ca_issued out;

	ok(issue_with(ca->inter, CA_PROFILE_INTERMEDIATE, "sub CA", spki, len,
	    &out) == -1, "an intermediate issues no CA certificate");
	like(ca_errstr(), "does not issue intermediate", "and says so");
	ok(issue_with(ca->inter, CA_PROFILE_ROOT, "rogue root", spki, len,
	    &out) == -1, "nor a root");
	ok(issue_with(ca->root, CA_PROFILE_DEVICE, "d1", spki, len, &out) == -1,
	    "the root issues no end-entity certificate");
	online = signer_for(ca->inter_cert, ca->inter_key);
	ca_signer_restrict(online, CA_ALLOW(CA_PROFILE_DEVICE));
	ok(issue_with(online, CA_PROFILE_SERVER, "srv", spki, len, &out) == -1,
	    "a signer restricted to devices refuses a server certificate");
	ca_signer_restrict(online, ~0u);
	ok(issue_with(online, CA_PROFILE_SERVER, "srv", spki, len, &out) == -1,
	    "and restricting never widens it again");
	ok(issue_with(online, CA_PROFILE_DEVICE, "d1", spki, len, &out) == 0,
	    "it still issues a device certificate");
	ca_issued_clear(&out);
	ca_signer_free(online);
}

/* Names and days are checked by the signer, not only by its callers. */
static void
test_signer_request(const struct test_ca *ca, const unsigned char *spki,
    size_t len)
{
	struct ca_issue_req r = { .req = { .profile = CA_PROFILE_DEVICE,
	    .common_name = "d1/../root", .days = 7 }, .spki = spki,
	    .spki_len = len, .now = T0 + DAY };
	struct ca_issued out;

	ok(ca_signer_issue(ca->inter, &r, &out) == -1,
	    "a device name with '/' is refused by the signer");
	like(ca_errstr(), "not allowed", "and it says why");
	r.req.common_name = "d1";
	r.req.days = 0;
	ok(ca_signer_issue(ca->inter, &r, &out) == -1, "0 days: refused");
	r.req.days = 365;
	r.now = T0 + 40 * DAY;
	ok(ca_signer_issue(ca->inter, &r, &out) == -1,
	    "after the issuer's notAfter: refused");
}

/* What comes back is what was issued: DER, its serial, its notAfter. */
static void
test_signer_answer(const struct test_ca *ca, const unsigned char *spki,
    size_t len)
{
	struct ca_issued out;
	const unsigned char *p;
	X509 *cert = NULL;
	char *serial = NULL;

	if (!ok(issue_with(ca->inter, CA_PROFILE_DEVICE, "d1", spki, len,
	    &out) == 0, "a device certificate issued through the interface"))
		return;
	p = out.der;
	cert = d2i_X509(NULL, &p, (long)out.len);
	ok(cert != NULL && p == out.der + out.len, "its DER is one certificate");
	if (cert != NULL)
		serial = ca_serial_hex(X509_get0_serialNumber(cert));
	is_str(out.serial, serial ? serial : "?", "the serial returned is its own");
	is_int(out.not_after, cert ? ca_time_from_asn1(X509_get0_notAfter(cert))
	    : 0, "the notAfter returned is its own");
	is_int(out.not_after, T0 + DAY + 7 * DAY, "7 days from the pinned now");
	ok(cert != NULL && X509_verify(cert, X509_get0_pubkey(ca->inter_cert)) == 1,
	    "signed by the intermediate");
	free(serial);
	X509_free(cert);
	ca_issued_clear(&out);
}

/* Public keys that arrive bad: the signer parses them itself. */
static void
test_signer_spki(const struct test_ca *ca, const unsigned char *spki,
    size_t len)
{
	unsigned char bad[512];
	struct ca_issued out;
	EVP_PKEY *key;
	unsigned char *der;
	size_t n;

	ok(issue_with(ca->inter, CA_PROFILE_DEVICE, "d1", spki, len - 1,
	    &out) == -1, "a truncated key is refused");
	memcpy(bad, spki, len);
	bad[len] = 0;
	ok(issue_with(ca->inter, CA_PROFILE_DEVICE, "d1", bad, len + 1,
	    &out) == -1, "a key with a byte after it is refused");
	memcpy(bad, spki, len);
	bad[len - 1] ^= 0x01;		/* y no longer on the curve */
	ok(issue_with(ca->inter, CA_PROFILE_DEVICE, "d1", bad, len,
	    &out) == -1, "a point off the curve is refused");
	like(ca_errstr(), "point", "as not on its curve");
	ok(issue_with(ca->inter, CA_PROFILE_DEVICE, "d1", (const unsigned char *)
	    "\x30\x03\x02\x01\x00", 5, &out) == -1, "garbage is refused");
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	der = spki_of(key, &n);
	ok(issue_with(ca->inter, CA_PROFILE_DEVICE, "d1", der, n, &out) == -1,
	    "a P-521 key is refused by the key policy");
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY_set_utf8_string_param(key, "encoding", "explicit");
	der = spki_of(key, &n);
	ok(issue_with(ca->inter, CA_PROFILE_DEVICE, "d1", der, n, &out) == -1,
	    "a P-256 key with explicit curve parameters is refused");
	like(ca_errstr(), "named curves only", "and says so");
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

/* A self-signed certificate must carry the key that signs it. */
static void
test_signer_self(const unsigned char *spki, size_t len)
{
	EVP_PKEY *key = ca_key_generate(CA_KEY_EC_P256);
	struct ca_signer *self = ca_signer_self(key);
	struct ca_issued out;

	ok(issue_with(self, CA_PROFILE_ROOT, "root", spki, len, &out) == -1,
	    "a root is not self-signed over another key");
	like(ca_errstr(), "must carry the signing key", "and says so");
	ok(issue_with(self, CA_PROFILE_DEVICE, "d1", spki, len, &out) == -1,
	    "a self signer issues nothing but its root");
	ca_signer_free(self);
}

static void
test_signer_crl(const struct test_ca *ca)
{
	struct ca_revoked r[1] = { { "not hex", T0, CRL_REASON_UNSPECIFIED } };
	struct ca_crl_req req = { r, 1, 7, T0 + DAY, 7 };
	unsigned char *der = NULL;
	size_t len;

	ok(ca_signer_crl(ca->inter, &req, &der, &len) == -1,
	    "a CRL entry that is not a serial is refused");
	r[0].serial = "4A01";
	ok(ca_signer_crl(ca->inter, &req, &der, &len) == 0 && len > 0,
	    "a CRL comes back as DER");
	OPENSSL_free(der);
}

static void
test_signer_boundary(const struct test_ca *ca)
{
	EVP_PKEY *key = ca_key_generate(CA_KEY_EC_P256);
	size_t len;
	unsigned char *spki = spki_of(key, &len);

	test_signer_profiles(ca, spki, len);
	test_signer_request(ca, spki, len);
	test_signer_answer(ca, spki, len);
	test_signer_spki(ca, spki, len);
	test_signer_self(spki, len);
	test_signer_crl(ca);
	OPENSSL_free(spki);
	EVP_PKEY_free(key);
}

static void
test_signer(const struct test_ca *ca)
{
	EVP_PKEY *other = ca_key_generate(CA_KEY_EC_P256);

	X509_up_ref(ca->inter_cert);
	ok(ca_signer_new(ca->inter_cert, other) == NULL,
	    "a key that is not the certificate's makes no signer");
	like(ca_errstr(), "does not belong", "and says so");
	X509_free(ca->inter_cert);
	EVP_PKEY_free(other);
}

/* Audit checkpoints: the encoding pinned, and sign/verify with each key. */

static void
test_checkpoint_tbs(void)
{
	struct ca_checkpoint_req r = { .record_id = 0x0102030405060708LL,
	    .at = T0 };
	unsigned char tbs[CA_CHECKPOINT_TBS_LEN], want[CA_CHECKPOINT_TBS_LEN];
	static const unsigned char at[8] = { 0, 0, 0, 0, 0x70, 0xdb, 0xd8,
	    0x80 };	/* 1893456000 */

	memset(r.head, 0xab, sizeof(r.head));
	memcpy(want, "iota audit checkpoint v1", 25);	/* with its NUL */
	for (int i = 0; i < 8; i++)
		want[25 + i] = (unsigned char)(i + 1);
	memset(want + 33, 0xab, 32);
	memcpy(want + 65, at, 8);
	is_int(CA_CHECKPOINT_TBS_LEN, 73, "checkpoint: tag, id, head, time");
	ca_checkpoint_tbs(&r, tbs);
	ok(memcmp(tbs, want, sizeof(want)) == 0,
	    "checkpoint: the signed bytes are as documented");
}

/* 0 if a signature of r by s verifies against cert. */
static int
checkpoint_round(struct ca_signer *s, const X509 *cert,
    const struct ca_checkpoint_req *r, const struct ca_checkpoint_req *check)
{
	unsigned char *sig = NULL;
	size_t len = 0;
	int rc;

	if (ca_signer_checkpoint(s, r, &sig, &len) == -1)
		return -2;
	rc = ca_checkpoint_verify(check, sig, len, cert);
	OPENSSL_free(sig);
	return rc;
}

static void
test_checkpoint_tamper(const struct test_ca *ca)
{
	struct ca_checkpoint_req r = { .record_id = 42, .at = T0 + DAY }, t;
	unsigned char *sig = NULL;
	size_t len = 0;

	memset(r.head, 0x5a, sizeof(r.head));
	is_int(checkpoint_round(ca->inter, ca->inter_cert, &r, &r), 0,
	    "checkpoint: the intermediate's signature verifies");
	t = r;
	t.head[31] ^= 1;
	is_int(checkpoint_round(ca->inter, ca->inter_cert, &r, &t), -1,
	    "checkpoint: another head does not");
	t = r;
	t.record_id = 43;
	is_int(checkpoint_round(ca->inter, ca->inter_cert, &r, &t), -1,
	    "checkpoint: another record id does not");
	t = r;
	t.at = r.at + 1;
	is_int(checkpoint_round(ca->inter, ca->inter_cert, &r, &t), -1,
	    "checkpoint: another time does not");
	is_int(checkpoint_round(ca->inter, ca->root_cert, &r, &r), -1,
	    "checkpoint: another issuer's key does not");
	ok(ca_signer_checkpoint(ca->inter, &r, &sig, &len) == 0 && len > 8,
	    "checkpoint: signed");
	sig[len / 2] ^= 0x10;
	ok(ca_checkpoint_verify(&r, sig, len, ca->inter_cert) == -1,
	    "checkpoint: a changed signature does not verify");
	like(ca_errstr(), "does not verify", "  and says so");
	OPENSSL_free(sig);
	t = r;
	t.at = T0 + 31 * DAY;
	is_int(checkpoint_round(ca->inter, ca->inter_cert, &t, &t), -1,
	    "checkpoint: a time outside the issuer's validity is refused");
	like(ca_errstr(), "not valid", "  and says so");
	t = r;
	t.record_id = 0;
	is_int(checkpoint_round(ca->inter, ca->inter_cert, &t, &t), -2,
	    "checkpoint: the signer refuses record id 0");
}

/* A root of that key type, signing checkpoints. */
static void
checkpoint_key_type(enum ca_key_type type)
{
	struct ca_request req = { .profile = CA_PROFILE_ROOT,
	    .common_name = "checkpoint Root", .days = 10 };
	struct ca_checkpoint_req r = { .record_id = 7, .at = T0 + DAY };
	EVP_PKEY *key = ca_key_generate(type);
	struct ca_signer *self, *s = NULL;
	X509 *cert;

	EVP_PKEY_up_ref(key);
	self = ca_signer_self(key);
	cert = ca_issue_for_key(self, key, &req, T0);
	ok(ca_signer_checkpoint(self, &r, NULL, NULL) == -1,
	    "checkpoint %s: a signer without a certificate signs none",
	    ca_key_type_name(type));
	ca_signer_free(self);
	if (cert != NULL)
		s = signer_for(cert, key);
	is_int(s != NULL ? checkpoint_round(s, cert, &r, &r) : -3, 0,
	    "checkpoint %s: signs and verifies", ca_key_type_name(type));
	ca_signer_free(s);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void
test_checkpoint(const struct test_ca *ca)
{
	test_checkpoint_tbs();
	test_checkpoint_tamper(ca);
	checkpoint_key_type(CA_KEY_EC_P384);
	checkpoint_key_type(CA_KEY_ED25519);
	checkpoint_key_type(CA_KEY_RSA_3072);
}

int
main(void)
{
	struct test_ca ca;
	char cmd[64];

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	make_ca(&ca);
	ok(ca.root_cert && ca.inter_cert && ca.root && ca.inter,
	    "test CA built at a pinned time");
	test_keys();
	test_key_policy();
	test_key_files();
	test_serials();
	test_csr_hostile();
	test_csr_unused_bits();
	test_csr_point_form();
	test_csr_version();
	test_csr_digest();
	test_csr_pem_trailing();
	test_device(&ca);
	test_validity(&ca);
	test_requests(&ca);
	test_crl(&ca);
	test_ocsp_parse(&ca);
	test_base64();
	test_signer(&ca);
	test_signer_boundary(&ca);
	test_checkpoint(&ca);
	ca_signer_free(ca.root);
	EVP_PKEY_free(ca.inter_key);
	ca_signer_free(ca.inter);
	X509_free(ca.root_cert);
	X509_free(ca.inter_cert);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
