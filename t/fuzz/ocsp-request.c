/*
 * libFuzzer target: an OCSP request from the network, as iotad's handlers
 * read it (a DER body for POST, base64 in the path for GET), against two
 * issuers made at start.  Whatever comes in, the parser must answer one of
 * its statuses without a leak or undefined behaviour, and what it accepts
 * must stay within its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca.h"
#include "encode.h"

static X509 *issuers[2];

static X509 *
make_issuer(const char *cn)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();

	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	X509_set_pubkey(cert, key);
	X509_sign(cert, key, EVP_sha256());
	EVP_PKEY_free(key);
	return cert;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	issuers[0] = make_issuer("fuzz Intermediate CA 1");
	issuers[1] = make_issuer("fuzz Intermediate CA 2");
	return 0;
}

static void
parse(const unsigned char *der, size_t len)
{
	const X509 *set[2] = { issuers[0], issuers[1] };
	struct ca_ocsp_req r;
	size_t which = 99;
	int st;

	st = ca_ocsp_request_parse(der, len, set, 2, &r, &which);
	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL &&
	    st != OCSP_RESPONSE_STATUS_MALFORMEDREQUEST &&
	    st != OCSP_RESPONSE_STATUS_UNAUTHORIZED)
		abort();
	if (st == OCSP_RESPONSE_STATUS_SUCCESSFUL && (which > 1 || r.n < 1 ||
	    r.n > CA_OCSP_SINGLES_MAX || r.nonce_len > CA_OCSP_NONCE_MAX))
		abort();
	for (size_t i = 0; st == 0 && i < r.n; i++)
		if (strlen(r.singles[i].serial) == 0 ||
		    strlen(r.singles[i].serial) > 40)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char der[CA_OCSP_REQ_MAX];
	size_t len;

	parse(data, size);
	/* The same bytes as GET's path would carry them. */
	if (b64_decode((const char *)data, size, der, sizeof(der), &len, 0) == 0)
		parse(der, len);
	return 0;
}
