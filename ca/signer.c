/*
 * The signer: the only code that holds a CA private key.  It signs what
 * it is handed and nothing leaks out of it, so it can later move into a
 * process of its own without its callers changing.
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "ca.h"

struct ca_signer {
	X509		*cert;
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

struct ca_signer *
ca_signer_new(X509 *cert, EVP_PKEY *key)
{
	struct ca_signer *s;

	if (X509_check_private_key(cert, key) != 1) {
		ca_seterr("the CA key does not belong to the CA certificate");
		return NULL;
	}
	if ((s = malloc(sizeof(*s))) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	s->cert = cert;
	s->key = key;
	s->md = digest_for(key);
	s->ready = ready_ctx(key, s->md);
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void
ca_signer_free(struct ca_signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	EVP_MD_CTX_free(s->ready);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const X509 *
ca_signer_cert(const struct ca_signer *s)
{
	return s->cert;
}

static int
sign_with_ready(struct ca_signer *s, X509 *cert)
{
	EVP_MD_CTX *ctx;
	int rc = -1, copied;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	/* Only the copy is shared work; the signatures run side by side. */
	pthread_mutex_lock(&s->lock);
	copied = EVP_MD_CTX_copy_ex(ctx, s->ready);
	pthread_mutex_unlock(&s->lock);
	if (copied == 1 && X509_sign_ctx(cert, ctx) > 0)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
ca_signer_sign_cert(struct ca_signer *s, X509 *cert)
{
	if (s->ready != NULL ? sign_with_ready(s, cert) == -1 :
	    X509_sign(cert, s->key, s->md) <= 0) {
		ca_seterr("signing the certificate failed");
		return -1;
	}
	return 0;
}

int
ca_signer_sign_crl(struct ca_signer *s, X509_CRL *crl)
{
	if (X509_CRL_sign(crl, s->key, s->md) <= 0) {
		ca_seterr("signing the CRL failed");
		return -1;
	}
	return 0;
}

struct ca_signer *
ca_signer_self(EVP_PKEY *key)
{
	struct ca_signer *s;

	if ((s = malloc(sizeof(*s))) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	s->cert = NULL;
	s->key = key;
	s->md = digest_for(key);
	s->ready = NULL;	/* signs once: not worth preparing */
	pthread_mutex_init(&s->lock, NULL);
	return s;
}
