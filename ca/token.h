/*
 * CA keys on a PKCS#11 token: the private key never leaves it.
 *
 * A key on a token is named by an RFC 7512 URI (`pkcs11:token=...;
 * object=...;id=...;type=private`); its PIN is the passphrase the key
 * file would have had.  Keys are loaded through OpenSSL's pkcs11 engine
 * (libengine-pkcs11-openssl), bound to one module per process (token.c);
 * tokens are found and keys generated through the module's own PKCS#11
 * API (token-p11.c).  docs/PKCS11.md says what works and why.
 */
#ifndef IOTA_TOKEN_H
#define IOTA_TOKEN_H

#include "ca.h"

#define CA_TOKEN_URI_PREFIX	"pkcs11:"
#define CA_TOKEN_URI_MAX	1024		/* bytes, in a .uri file */
#define CA_TOKEN_SOFTHSM	"/usr/lib/softhsm/libsofthsm2.so"

/* 1 if `s` is a pkcs11: URI (by its scheme alone). */
int		 ca_token_is_uri(const char *);
/*
 * The module this process loads its token keys from: the one set (a
 * configuration key, an option), else SoftHSM's if installed, else
 * p11-kit's proxy.  NULL goes back to that default.  Refused once a key
 * was loaded from another module: the engine holds one per process.
 */
int		 ca_token_set_module(const char *);
const char	*ca_token_module(void);
/* The private key the URI names, logged in with the PIN. */
EVP_PKEY	*ca_token_key_load(const char *, const char *, size_t);
/* The one line of a .uri file, checked as ca_token_uri_check() does. */
char		*ca_token_uri_read(const char *);

/* token-p11.c */
/* A URI for a CA key: names an object, carries no PIN, is private. */
int		 ca_token_uri_check(const char *);
/* 0 if exactly one token of the module matches the URI, else why. */
int		 ca_token_find(const char *, const char *);
/*
 * Generates a key pair on the token the URI names, labelled as it says
 * (refused if that label is taken), private part sensitive and not
 * extractable.  Returns the URI of the new private key (free()).
 */
char		*ca_token_generate(const char *, const char *,
		    enum ca_key_type, const char *, size_t);

#endif
