/*
 * Passphrases for the CA keys: from a file named by an option or the
 * environment, else typed at a terminal without echo.  Never argv.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli.h"

static int
from_file(const char *path, struct passphrase *pp)
{
	unsigned char *data;
	size_t size, len;

	if ((data = ca_file_read(path, 4096, &size)) == NULL) {
		cli_error("passphrase file: %s", ca_errstr());
		return -1;
	}
	len = strcspn((char *)data, "\r\n");
	if (len == 0 || len > CA_PASSPHRASE_MAX) {
		cli_error("%s: %s passphrase", path, len ? "too long a" :
		    "empty");
		OPENSSL_clear_free(data, size);
		return -1;
	}
	memcpy(pp->buf, data, len);
	pp->buf[len] = '\0';
	pp->len = len;
	OPENSSL_clear_free(data, size);
	return 0;
}

static int
from_terminal(const char *prompt, struct passphrase *pp, int confirm)
{
	if (!isatty(STDIN_FILENO)) {
		cli_error("no passphrase: use --passphrase-file or "
		    "IOTA_CA_PASSPHRASE_FILE");
		return -1;
	}
	if (EVP_read_pw_string(pp->buf, sizeof(pp->buf), prompt, confirm)
	    != 0) {
		cli_error("no passphrase read%s", confirm ?
		    " (or the two did not match)" : "");
		return -1;
	}
	pp->len = strlen(pp->buf);
	return 0;
}

/* A key about to be encrypted deserves a passphrase worth the name. */
static int
check_new(struct passphrase *pp, int new_key)
{
	if (new_key && pp->len < CA_PASSPHRASE_MIN) {
		cli_error("passphrase too short (at least %d characters)",
		    CA_PASSPHRASE_MIN);
		passphrase_clear(pp);
		return -1;
	}
	return 0;
}

static const char *
root_source(const struct ca_common *c)
{
	return c->passfile != NULL ? c->passfile :
	    getenv("IOTA_CA_PASSPHRASE_FILE");
}

int
passphrase_root(const struct ca_common *c, struct passphrase *pp,
    int new_key)
{
	const char *file = root_source(c);

	if ((file != NULL ? from_file(file, pp) :
	    from_terminal("Root key passphrase: ", pp, new_key)) == -1)
		return -1;
	return check_new(pp, new_key);
}

int
passphrase_intermediate(const struct ca_common *c, struct passphrase *pp,
    int new_key)
{
	const char *file = c->inter_passfile;

	if (file == NULL)
		file = getenv("IOTA_CA_INTERMEDIATE_PASSPHRASE_FILE");
	if (file == NULL)
		file = root_source(c);
	if ((file != NULL ? from_file(file, pp) :
	    from_terminal("Intermediate key passphrase: ", pp, new_key)) == -1)
		return -1;
	return check_new(pp, new_key);
}

void
passphrase_clear(struct passphrase *pp)
{
	OPENSSL_cleanse(pp->buf, sizeof(pp->buf));
	pp->len = 0;
}
