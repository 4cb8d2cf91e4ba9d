/*
 * A certs-only CMS message (RFC 5652 SignedData without signers, the
 * "degenerate" PKCS#7 of RFC 7030 4.1.3 and 4.2.3): how EST hands out the
 * CA certificates and an issued one.
 */
#include <openssl/pkcs7.h>

#include "ca.h"

int
ca_certs_pkcs7(X509 *const *certs, size_t n, unsigned char **der,
    size_t *len)
{
	PKCS7 *p7;
	int ok, dlen = 0;

	*der = NULL;
	ok = (p7 = PKCS7_new()) != NULL && PKCS7_set_type(p7,
	    NID_pkcs7_signed) && PKCS7_content_new(p7, NID_pkcs7_data);
	for (size_t i = 0; ok && i < n; i++)
		ok = PKCS7_add_certificate(p7, certs[i]);
	ok = ok && (dlen = i2d_PKCS7(p7, der)) > 0;
	PKCS7_free(p7);
	if (!ok) {
		OPENSSL_free(*der);
		*der = NULL;
		ca_seterr("cannot make the certs-only message");
		return -1;
	}
	*len = (size_t)dlen;
	return 0;
}
