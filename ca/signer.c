/*
 * The signer: the one narrow interface to a CA signing key.  A caller
 * hands it a typed request (what to issue, for which public key, when)
 * and gets the signed object back as DER; it never signs bytes it was
 * handed.  Implementations sit behind a table of operations: the key in
 * this process (signer-local.c) and, later, a process of its own or a
 * token.  Each implementation re-checks what it is asked for on its own.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "ca.h"

struct ca_signer {
	const struct ca_signer_ops *ops;
	void		*impl;
	X509		*cert;		/* NULL: a root signing itself */
	unsigned int	 allowed;	/* CA_ALLOW() bits */
};

/*
 * What a CA certificate may sign by its place in the hierarchy: a root,
 * intermediates; an intermediate (path length 0), end entities only.
 */
static unsigned int
allowed_by(const X509 *cert)
{
	if (cert == NULL)
		return CA_ALLOW(CA_PROFILE_ROOT);
	if (X509_check_issued((X509 *)cert, (X509 *)cert) == X509_V_OK)
		return CA_ALLOW(CA_PROFILE_INTERMEDIATE);
	return CA_ALLOW(CA_PROFILE_SERVER) | CA_ALLOW(CA_PROFILE_DEVICE);
}

struct ca_signer *
ca_signer_wrap(const struct ca_signer_ops *ops, void *impl, X509 *cert)
{
	struct ca_signer *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	s->ops = ops;
	s->impl = impl;
	s->cert = cert;
	s->allowed = allowed_by(cert);
	return s;
}

void
ca_signer_free(struct ca_signer *s)
{
	if (s == NULL)
		return;
	s->ops->free(s->impl);
	X509_free(s->cert);
	free(s);
}

const X509 *
ca_signer_cert(const struct ca_signer *s)
{
	return s->cert;
}

void *
ca_signer_impl(const struct ca_signer *s)
{
	return s->impl;
}

int
ca_signer_allows(const struct ca_signer *s, enum ca_profile profile)
{
	return (s->allowed & CA_ALLOW(profile)) != 0;
}

/* Only ever narrows: a signer never gains a profile. */
void
ca_signer_restrict(struct ca_signer *s, unsigned int allowed)
{
	s->allowed &= allowed;
}

int
ca_signer_issue(struct ca_signer *s, const struct ca_issue_req *r,
    struct ca_issued *out)
{
	memset(out, 0, sizeof(*out));
	if (!ca_signer_allows(s, r->req.profile)) {
		ca_seterr("this signer does not issue %s certificates",
		    ca_profile_name(r->req.profile));
		return -1;
	}
	return s->ops->issue(s, r, out);
}

int
ca_signer_crl(struct ca_signer *s, const struct ca_crl_req *r,
    unsigned char **der, size_t *len)
{
	if (s->cert == NULL) {
		ca_seterr("a signer without a certificate signs no CRL");
		return -1;
	}
	return s->ops->crl(s, r, der, len);
}

int
ca_signer_ocsp(struct ca_signer *s, const struct ca_ocsp_req *r,
    unsigned char **der, size_t *len)
{
	if (s->cert == NULL || s->ops->ocsp == NULL) {
		ca_seterr("this signer answers no OCSP request");
		return -1;
	}
	return s->ops->ocsp(s, r, der, len);
}

int
ca_signer_checkpoint(struct ca_signer *s, const struct ca_checkpoint_req *r,
    unsigned char **sig, size_t *len)
{
	if (s->cert == NULL || s->ops->checkpoint == NULL) {
		ca_seterr("this signer signs no audit checkpoint");
		return -1;
	}
	return s->ops->checkpoint(s, r, sig, len);
}

void
ca_issued_clear(struct ca_issued *i)
{
	OPENSSL_free(i->der);
	memset(i, 0, sizeof(*i));
}
