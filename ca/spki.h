/*
 * Internal to ca/: the SubjectPublicKeyInfo template that the CSR fast
 * path and the signer share.  The encoding is kept, so that the key a
 * CSR carried is copied into a certificate byte for byte and hashed as
 * it came.
 */
#ifndef IOTA_CA_SPKI_H
#define IOTA_CA_SPKI_H

#include <openssl/asn1t.h>
#include <openssl/x509.h>

typedef struct {
	ASN1_ENCODING		 enc;		/* the DER as received */
	X509_ALGOR		*algor;
	ASN1_BIT_STRING		*key;
} IOTA_SPKI;

DECLARE_ASN1_ITEM(IOTA_SPKI)

/*
 * Keys with a fast path (EC P-256/P-384 on a named curve, Ed25519): the
 * key made from its bits, the point checked to be on the curve; NULL with
 * *known 0 for keys of other kinds, NULL with *known 1 for a bad key.
 */
EVP_PKEY	*spki_fast_key(const IOTA_SPKI *, int *, int *);
/* A copy as an X509_PUBKEY whose key is never decoded generically. */
X509_PUBKEY	*spki_to_pubkey(const IOTA_SPKI *);

#endif
