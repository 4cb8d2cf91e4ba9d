/* Tokens and provisioning secrets: made here, checked here, kept hashed. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "encode.h"
#include "secret.h"

/* 32 random bytes as 43 base64url characters, no padding. */
static int
random_b64url(char out[SECRET_B64_LEN + 1])
{
	return b64url_random(SECRET_RANDOM_LEN, out);
}

int
secret_token_new(const char *prefix, char *out, size_t outlen)
{
	char body[SECRET_B64_LEN + 1];
	int n;

	if (random_b64url(body) == -1)
		return -1;
	n = snprintf(out, outlen, "%s%s", prefix, body);
	OPENSSL_cleanse(body, sizeof(body));
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
secret_public_id_new(char out[GROUP_PUBLIC_ID_LEN + 1])
{
	unsigned char raw[GROUP_PUBLIC_ID_LEN / 2];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

int
secret_provisioning_new(const char *public_id, char *out, size_t outlen)
{
	char body[SECRET_B64_LEN + 1];
	int n;

	if (random_b64url(body) == -1)
		return -1;
	n = snprintf(out, outlen, "%s%s.%s", SECRET_PREFIX, public_id, body);
	OPENSSL_cleanse(body, sizeof(body));
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
b64url_tail(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!b64url_char((unsigned char)s[n]))
			return 0;
	return n == SECRET_B64_LEN;
}

int
secret_provisioning_public_id(const char *secret,
    char out[GROUP_PUBLIC_ID_LEN + 1])
{
	const char *id = secret + strlen(SECRET_PREFIX);

	if (strncmp(secret, SECRET_PREFIX, strlen(SECRET_PREFIX)) != 0)
		return -1;
	for (int i = 0; i < GROUP_PUBLIC_ID_LEN; i++)
		if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			return -1;
	if (id[GROUP_PUBLIC_ID_LEN] != '.' ||
	    !b64url_tail(id + GROUP_PUBLIC_ID_LEN + 1))
		return -1;
	memcpy(out, id, GROUP_PUBLIC_ID_LEN);
	out[GROUP_PUBLIC_ID_LEN] = '\0';
	return 0;
}

int
secret_token_well_formed(const char *token, const char *prefix)
{
	size_t plen = strlen(prefix);

	return strncmp(token, prefix, plen) == 0 && b64url_tail(token + plen);
}

void
secret_hash(const char *secret, unsigned char out[SECRET_HASH_LEN])
{
	unsigned int len = SECRET_HASH_LEN;

	EVP_Digest(secret, strlen(secret), out, &len, EVP_sha256(), NULL);
}

int
secret_hash_equal(const unsigned char *a, const unsigned char *b)
{
	return CRYPTO_memcmp(a, b, SECRET_HASH_LEN) == 0;
}

const char *
secret_bearer(const char *header)
{
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return *header != '\0' && strlen(header) < SECRET_TEXT_MAX ? header :
	    NULL;
}
