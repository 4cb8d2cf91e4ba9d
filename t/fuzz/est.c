/*
 * libFuzzer target: what EST's simpleenroll reads before the CA engine
 * does: the body (base64 DER in lines, RFC 7030 4.1.3) and the
 * Authorization header (HTTP Basic "device:secret").  Whatever comes in,
 * a body that decodes re-encodes to the same bytes and goes to
 * ca_csr_parse(); a header that parses gives a safe device name and a
 * secret that make up the decoded credentials exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "basic.h"
#include "ca.h"
#include "encode.h"

static void
body(const char *b, size_t n)
{
	unsigned char der[CA_CSR_MAX], der2[CA_CSR_MAX];
	size_t len, len2, tlen;
	struct ca_csr *csr;
	char *text;

	if (b64_decode(b, n, der, sizeof(der), &len, 1) == -1 || len == 0)
		return;
	if ((text = b64_lines(der, len, &tlen)) == NULL)
		abort();
	if (b64_decode(text, tlen, der2, sizeof(der2), &len2, 1) != 0 ||
	    len2 != len || memcmp(der, der2, len) != 0)
		abort();
	free(text);
	if ((csr = ca_csr_parse(der, len)) != NULL)
		ca_csr_free(csr);
}

static void
basic(const char *auth)
{
	unsigned char buf[BASIC_MAX + 1];
	const char *user, *secret;

	if (basic_parse(auth, buf, &user, &secret) != BASIC_OK)
		return;
	if (!ca_name_is_safe(user) || strlen(user) > 64 ||
	    user != (const char *)buf ||
	    secret != user + strlen(user) + 1 ||
	    memchr(user, ':', strlen(user)) != NULL)
		abort();
	OPENSSL_cleanse(buf, sizeof(buf));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	body((const char *)data, size);
	/* A header is one NUL-terminated string; try it as sent, and the
	 * bytes as the credentials themselves, encoded after "Basic ". */
	if ((s = malloc(size * 4 / 3 + 16)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	basic(s);
	memcpy(s, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)s + 6, data, (int)size);
	basic(s);
	free(s);
	return 0;
}
