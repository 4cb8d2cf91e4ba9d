/*
 * Credentials iotad hands out: operator and admin tokens, and group
 * provisioning secrets.  Each is 256 random bits; iotad keeps only the
 * SHA-256 of it and compares in constant time.
 */
#ifndef IOTA_SECRET_H
#define IOTA_SECRET_H

#include <stddef.h>

#define SECRET_HASH_LEN		32
#define SECRET_RANDOM_LEN	32	/* bytes of randomness */
#define SECRET_B64_LEN		43	/* base64url of 32 bytes, unpadded */
#define GROUP_PUBLIC_ID_LEN	16	/* hex characters */
#define SECRET_TEXT_MAX		96

#define TOKEN_PREFIX_OPERATOR	"iota_op_"
#define TOKEN_PREFIX_ADMIN	"iota_admin_"
#define SECRET_PREFIX		"PS"

/* A new token "<prefix><43 base64url>"; 0 on success. */
int	secret_token_new(const char *prefix, char *out, size_t outlen);
/* A new group public id (16 hex) for provisioning secrets. */
int	secret_public_id_new(char out[GROUP_PUBLIC_ID_LEN + 1]);
/* "PS<public id>.<43 base64url>" for the group with that public id. */
int	secret_provisioning_new(const char *public_id, char *out,
	    size_t outlen);
/* The public id inside a provisioning secret; -1 if malformed. */
int	secret_provisioning_public_id(const char *secret,
	    char out[GROUP_PUBLIC_ID_LEN + 1]);
/* Well-formed token with this prefix: "<prefix><43 base64url>". */
int	secret_token_well_formed(const char *token, const char *prefix);
void	secret_hash(const char *secret, unsigned char out[SECRET_HASH_LEN]);
/* Constant time. */
int	secret_hash_equal(const unsigned char *, const unsigned char *);
/* The bearer credential of an Authorization header value; NULL if none. */
const char *secret_bearer(const char *header);

#endif
