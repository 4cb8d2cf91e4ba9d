/*
 * libFuzzer target: a certification request from the network, as
 * /v1/provision (PEM or DER in JSON), EST's simpleenroll (base64 DER) and
 * renewal hand it to the CA engine.  Whatever comes in, ca_csr_parse()
 * refuses it or returns a request whose key passes the key policy, with
 * nothing leaked.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ca.h"
#include "encode.h"

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
