/*
 * The audit chain's encoding and hash (auditchain.h): fed to SHA-256
 * piece by piece, never assembled, so a record of any size costs no
 * allocation.
 */
#include <string.h>

#include <openssl/evp.h>

#include "auditchain.h"

const unsigned char auditchain_zero[AUDITCHAIN_HASH_LEN];

struct auditchain_text
auditchain_str(const char *s)
{
	struct auditchain_text t = { s, s != NULL ? strlen(s) : 0 };

	return t;
}

static int
put_be(EVP_MD_CTX *ctx, uint64_t v, int bytes)
{
	unsigned char b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	return EVP_DigestUpdate(ctx, b, (size_t)bytes);
}

static int
put_present(EVP_MD_CTX *ctx, int present)
{
	unsigned char b = present ? 1 : 0;

	return EVP_DigestUpdate(ctx, &b, 1);
}

static int
put_opt_int(EVP_MD_CTX *ctx, int present, int64_t v)
{
	if (put_present(ctx, present) != 1)
		return 0;
	return !present || put_be(ctx, (uint64_t)v, 8) == 1;
}

/* Longer than 32 bits: no column gets there (SQLite's limit is 1e9). */
static int
put_text(EVP_MD_CTX *ctx, const struct auditchain_text *t)
{
	if (put_present(ctx, t->s != NULL) != 1)
		return 0;
	if (t->s == NULL)
		return 1;
	if (t->len > UINT32_MAX)
		return 0;
	return put_be(ctx, t->len, 4) == 1 &&
	    EVP_DigestUpdate(ctx, t->s, t->len) == 1;
}

static int
put_record(EVP_MD_CTX *ctx, const unsigned char *prev,
    const struct auditchain_record *r)
{
	/* The tag with its NUL: a domain of its own for these hashes. */
	return EVP_DigestUpdate(ctx, AUDITCHAIN_TAG,
	    sizeof(AUDITCHAIN_TAG)) == 1 &&
	    EVP_DigestUpdate(ctx, prev, AUDITCHAIN_HASH_LEN) == 1 &&
	    put_be(ctx, (uint64_t)r->id, 8) == 1 &&
	    put_be(ctx, (uint64_t)r->at, 8) == 1 &&
	    put_opt_int(ctx, r->has_tenant, r->tenant_id) &&
	    put_text(ctx, &r->actor) && put_text(ctx, &r->action) &&
	    put_text(ctx, &r->target) && put_text(ctx, &r->outcome) &&
	    put_text(ctx, &r->client);
}

int
auditchain_hash(const unsigned char prev[AUDITCHAIN_HASH_LEN],
    const struct auditchain_record *r, unsigned char out[AUDITCHAIN_HASH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    put_record(ctx, prev, r) &&
	    EVP_DigestFinal_ex(ctx, out, &len) == 1 &&
	    len == AUDITCHAIN_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}
