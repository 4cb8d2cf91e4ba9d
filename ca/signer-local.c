/*
 * The signer with its key in this process: the only code that holds a CA
 * private key.  It re-checks every request on its own (profile, names,
 * validity within the issuer, the public key), builds the object and
 * signs it; nothing of the key leaves.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca.h"
#include "checkpoint.h"

struct local {
	EVP_PKEY	*key;
	const EVP_MD	*md;		/* NULL for Ed25519 */
	EVP_MD_CTX	*ready;		/* initialised once, copied per use */
	pthread_mutex_t	 lock;		/* iotad signs from many threads */
};

/*
 * Setting up a signing context looks the algorithm up anew each time;
 * copying one set up in advance costs a fraction.  NULL (keys whose
 * contexts cannot be copied) falls back to setting one up per use.
 */
static EVP_MD_CTX *
ready_ctx(EVP_PKEY *key, const EVP_MD *md)
{
	EVP_MD_CTX *ctx, *probe;
	int copyable;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	probe = EVP_MD_CTX_new();
	copyable = probe != NULL && EVP_MD_CTX_copy_ex(probe, ctx) == 1;
	EVP_MD_CTX_free(probe);
	if (!copyable) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static const EVP_MD *
digest_for(EVP_PKEY *key)
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
sign_with_ready(struct local *l, X509 *cert)
{
	EVP_MD_CTX *ctx;
	int rc = -1, copied;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	/* Only the copy is shared work; the signatures run side by side. */
	pthread_mutex_lock(&l->lock);
	copied = EVP_MD_CTX_copy_ex(ctx, l->ready);
	pthread_mutex_unlock(&l->lock);
	if (copied == 1 && X509_sign_ctx(cert, ctx) > 0)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int
sign_cert(struct local *l, X509 *cert)
{
	if (l->ready != NULL ? sign_with_ready(l, cert) == -1 :
	    X509_sign(cert, l->key, l->md) <= 0) {
		ca_seterr("signing the certificate failed");
		return -1;
	}
	return 0;
}

static int
issued_from(X509 *cert, struct ca_issued *out)
{
	unsigned char *der = NULL;
	char *serial;
	int n;

	if ((n = i2d_X509(cert, &der)) <= 0 ||
	    (serial = ca_serial_hex(X509_get0_serialNumber(cert))) == NULL) {
		OPENSSL_free(der);
		ca_seterr("cannot encode the certificate");
		return -1;
	}
	snprintf(out->serial, sizeof(out->serial), "%s", serial);
	free(serial);
	out->der = der;
	out->len = (size_t)n;
	out->not_after = ca_time_from_asn1(X509_get0_notAfter(cert));
	return 0;
}

/* A self-signed certificate carries the key that signs it. */
static int
own_key(const struct local *l, const struct ca_issue_req *r)
{
	unsigned char *der = NULL;
	int n, same;

	n = i2d_PUBKEY(l->key, &der);
	same = n > 0 && (size_t)n == r->spki_len &&
	    memcmp(der, r->spki, (size_t)n) == 0;
	OPENSSL_free(der);
	if (!same) {
		ca_seterr("a self-signed certificate must carry the signing key");
		return -1;
	}
	return 0;
}

/* Checked here again, whatever the caller checked: this holds the key. */
static int
local_issue(struct ca_signer *s, const struct ca_issue_req *r,
    struct ca_issued *out)
{
	struct local *l = ca_signer_impl(s);
	const X509 *issuer = ca_signer_cert(s);
	X509_PUBKEY *pub;
	X509 *cert;
	int rc = -1;

	if (!ca_signer_allows(s, r->req.profile)) {
		ca_seterr("this signer does not issue %s certificates",
		    ca_profile_name(r->req.profile));
		return -1;
	}
	if (ca_request_check(&r->req) == -1 ||
	    (issuer == NULL && own_key(l, r) == -1) ||
	    (pub = ca_spki_parse(r->spki, r->spki_len)) == NULL)
		return -1;
	cert = ca_cert_tbs(issuer, pub, &r->req, r->now);
	X509_PUBKEY_free(pub);
	if (cert != NULL && sign_cert(l, cert) == 0)
		rc = issued_from(cert, out);
	X509_free(cert);
	return rc;
}

static int
local_crl(struct ca_signer *s, const struct ca_crl_req *r,
    unsigned char **der, size_t *len)
{
	struct local *l = ca_signer_impl(s);
	X509_CRL *crl;
	int n = 0;

	if ((crl = ca_crl_tbs(ca_signer_cert(s), r)) == NULL)
		return -1;
	*der = NULL;
	if (X509_CRL_sign(crl, l->key, l->md) <= 0 ||
	    (n = i2d_X509_CRL(crl, der)) <= 0) {
		ca_seterr("signing the CRL failed");
		X509_CRL_free(crl);
		return -1;
	}
	X509_CRL_free(crl);
	*len = (size_t)n;
	return 0;
}

/* With the prepared context when there is one, as certificates are. */
static int
ocsp_sign(struct local *l, OCSP_BASICRESP *bs, X509 *cert)
{
	const unsigned long flags = OCSP_NOCERTS | OCSP_RESPID_KEY;
	EVP_MD_CTX *ctx;
	int rc = 0, copied;

	if (l->ready == NULL)
		return OCSP_basic_sign(bs, cert, l->key, l->md, NULL, flags);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	pthread_mutex_lock(&l->lock);
	copied = EVP_MD_CTX_copy_ex(ctx, l->ready);
	pthread_mutex_unlock(&l->lock);
	if (copied == 1)
		rc = OCSP_basic_sign_ctx(bs, cert, ctx, NULL, flags);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Signed by the CA itself, named by its key hash (RFC 6960 4.2.2.3). */
static int
local_ocsp(struct ca_signer *s, const struct ca_ocsp_req *r,
    unsigned char **der, size_t *len)
{
	struct local *l = ca_signer_impl(s);
	OCSP_BASICRESP *bs;
	OCSP_RESPONSE *resp = NULL;
	int n = 0;

	if ((bs = ca_ocsp_tbs(ca_signer_cert(s), r)) == NULL)
		return -1;
	*der = NULL;
	if (ocsp_sign(l, bs, (X509 *)ca_signer_cert(s)) != 1 ||
	    (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) == NULL || (n = i2d_OCSP_RESPONSE(resp, der)) <= 0) {
		ca_seterr("signing the OCSP answer failed");
		n = 0;
	}
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	*len = (size_t)n;
	return n > 0 ? 0 : -1;
}

/*
 * The encoding is built here from the typed fields: whoever asks can
 * choose a head, never the bytes under the CA's signature.
 */
static int
local_checkpoint(struct ca_signer *s, const struct ca_checkpoint_req *r,
    unsigned char **sig, size_t *len)
{
	struct local *l = ca_signer_impl(s);
	unsigned char tbs[CA_CHECKPOINT_TBS_LEN], *out = NULL;
	EVP_MD_CTX *ctx;
	size_t n = 0;
	int ok;

	if (ca_checkpoint_check(r) == -1)
		return -1;
	ca_checkpoint_tbs(r, tbs);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestSignInit(ctx, NULL, ca_checkpoint_md(l->key), NULL,
	    l->key) == 1 &&
	    EVP_DigestSign(ctx, NULL, &n, tbs, sizeof(tbs)) == 1 &&
	    (out = OPENSSL_malloc(n)) != NULL &&
	    EVP_DigestSign(ctx, out, &n, tbs, sizeof(tbs)) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		OPENSSL_free(out);
		ca_seterr("signing the audit checkpoint failed");
		return -1;
	}
	*sig = out;
	*len = n;
	return 0;
}

static void
local_free(void *impl)
{
	struct local *l = impl;

	if (l == NULL)
		return;
	EVP_PKEY_free(l->key);
	EVP_MD_CTX_free(l->ready);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static const struct ca_signer_ops local_ops = {
	.issue = local_issue,
	.crl = local_crl,
	.ocsp = local_ocsp,
	.checkpoint = local_checkpoint,
	.free = local_free,
};

static struct local *
local_new(EVP_PKEY *key, int prepare)
{
	struct local *l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	l->key = key;
	l->md = digest_for(key);
	l->ready = prepare ? ready_ctx(key, l->md) : NULL;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

/* Takes ownership of both on success; checks that they belong together. */
struct ca_signer *
ca_signer_new(X509 *cert, EVP_PKEY *key)
{
	struct ca_signer *s;
	struct local *l;

	if (X509_check_private_key(cert, key) != 1) {
		ca_seterr("the CA key does not belong to the CA certificate");
		return NULL;
	}
	if ((l = local_new(key, 1)) == NULL)
		return NULL;
	if ((s = ca_signer_wrap(&local_ops, l, cert)) == NULL) {
		l->key = NULL;
		local_free(l);
	}
	return s;
}

/* A root signing itself, once: not worth preparing a context. */
struct ca_signer *
ca_signer_self(EVP_PKEY *key)
{
	struct ca_signer *s;
	struct local *l;

	if ((l = local_new(key, 0)) == NULL)
		return NULL;
	if ((s = ca_signer_wrap(&local_ops, l, NULL)) == NULL) {
		l->key = NULL;
		local_free(l);
	}
	return s;
}
