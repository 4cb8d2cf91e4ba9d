/*
 * The ca verbs' side of CA keys on a token: which module, and a new key
 * pair made on the token (token.h).  The PIN is the key's passphrase.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "token.h"

/* --pkcs11-module, else IOTA_PKCS11_MODULE, else token.c's default. */
int
cli_token_module(const struct ca_common *c)
{
	const char *module = c->pkcs11_module;

	if (module == NULL)
		module = getenv("IOTA_PKCS11_MODULE");
	if (ca_token_set_module(module) == -1) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return 0;
}

/*
 * Generates the key pair on the token `uri` names; returns the private
 * key (signing on the token) and, in *madep, the URI of what was made.
 */
EVP_PKEY *
cli_token_key_new(const char *uri, enum ca_key_type type,
    const struct passphrase *pin, char **madep)
{
	EVP_PKEY *key;
	char *made;

	if ((made = ca_token_generate(ca_token_module(), uri, type, pin->buf,
	    pin->len)) == NULL) {
		/* Not the query: that is where a PIN would be (refused). */
		cli_error("%.*s: %s", (int)strcspn(uri, "?"), uri, ca_errstr());
		return NULL;
	}
	if ((key = ca_token_key_load(made, pin->buf, pin->len)) == NULL) {
		cli_error("%s", ca_errstr());
		free(made);
		return NULL;
	}
	*madep = made;
	return key;
}

/* NAME.key.uri: the URI and a line end, 0600 like the key it names. */
int
cli_token_uri_write(const char *path, const char *uri)
{
	size_t len = strlen(uri);
	char *line;
	int rc;

	if ((line = malloc(len + 2)) == NULL) {
		cli_error("out of memory");
		return -1;
	}
	memcpy(line, uri, len);
	memcpy(line + len, "\n", 2);
	if ((rc = ca_file_write_new(path, line, len + 1, 0600)) == -1)
		cli_error("%s", ca_errstr());
	free(line);
	return rc;
}
