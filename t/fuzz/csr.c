/*
 * libFuzzer target: a certification request from the network, as
 * /v1/provision (PEM or DER in JSON), EST's simpleenroll (base64 DER) and
 * renewal hand it to the CA engine.  Whatever comes in, ca_csr_parse()
 * refuses it or returns a request whose key passes the key policy, with
 * nothing leaked; and what it accepts, OpenSSL's own parser accepts too,
 * signature included (the fast path once took a BIT STRING with unused
 * bits that OpenSSL refuses).
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca.h"
#include "encode.h"

/* OpenSSL's verdict on the same bytes: 1 if it reads and verifies them. */
static int
openssl_accepts(const unsigned char *data, size_t size)
{
	const unsigned char *p = data;
	X509_REQ *req = NULL;
	BIO *bio;
	int ok;

	if (size > 0 && data[0] == 0x30) {
		req = d2i_X509_REQ(NULL, &p, (long)size);
		if (req != NULL && p != data + size) {
			X509_REQ_free(req);
			req = NULL;
		}
	} else if ((bio = BIO_new_mem_buf(data, (int)size)) != NULL) {
		req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ok = req != NULL && X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) ==
	    1;
	X509_REQ_free(req);
	return ok;
}

static void
parse(const unsigned char *data, size_t size)
{
	struct ca_csr *csr;
	const unsigned char *spki;
	size_t n;

	if ((csr = ca_csr_parse(data, size)) == NULL)
		return;
	spki = ca_csr_spki(csr, &n);
	if (spki == NULL || n == 0 || n > CA_SPKI_MAX)
		abort();
	ca_csr_free(csr);
	if (!openssl_accepts(data, size))
		abort();	/* accepted here, refused by OpenSSL */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char der[CA_CSR_MAX];
	size_t len;

	parse(data, size);
	if (b64_decode((const char *)data, size, der, sizeof(der), &len, 1) == 0)
		parse(der, len);
	return 0;
}
