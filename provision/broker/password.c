/* Device passwords for RabbitMQ: random ones, and the salted hash that is
 * all RabbitMQ ever receives. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "broker.h"
#include "encode.h"

int
broker_password_hash(const char *password, char *out, size_t outlen)
{
	unsigned char buf[BROKER_SALT_LEN + 32];
	unsigned int mdlen = 32;
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;

	if (password == NULL || outlen < BROKER_HASH_LEN + 1)
		return -1;
	if (RAND_bytes(buf, BROKER_SALT_LEN) != 1 ||
	    (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, buf, BROKER_SALT_LEN) != 1 ||
	    EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
	    EVP_DigestFinal_ex(ctx, buf + BROKER_SALT_LEN, &mdlen) != 1)
		goto out;
	EVP_EncodeBlock((unsigned char *)out, buf, sizeof(buf));
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int
broker_random_password(char *out, size_t outlen)
{
	if (outlen < BROKER_PASSWORD_LEN + 1)
		return -1;
	return b64url_random(BROKER_PASSWORD_BYTES, out);
}

/* The handle pool. */
