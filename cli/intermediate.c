/* The intermediate profile as init and rotate both make it. */
#include <stdio.h>

#include "cadir.h"
#include "cli.h"

X509 *
cli_make_intermediate(struct ca_signer *root, EVP_PKEY *key,
    const char *name, int generation, long days, time_t now)
{
	char cn[128];
	struct ca_request req = {
		.profile = CA_PROFILE_INTERMEDIATE, .common_name = cn,
		.organization = name, .days = days,
	};

	snprintf(cn, sizeof(cn), "%s Intermediate CA %d", name, generation);
	return ca_issue_for_key(root, key, &req, now);
}

struct ca_signer *
cli_intermediate_signer(const struct cadir *cd, const struct ca_common *c)
{
	struct passphrase pp;
	struct ca_signer *s;

	if (passphrase_intermediate(c, &pp, 0) == -1)
		return NULL;
	if ((s = cadir_intermediate_signer(cd, pp.buf, pp.len)) == NULL)
		cli_error("%s", ca_errstr());
	passphrase_clear(&pp);
	return s;
}

struct ca_signer *
cli_root_signer(const struct cadir *cd, const struct ca_common *c)
{
	struct passphrase pp;
	struct ca_signer *s;

	if (passphrase_root(c, &pp, 0) == -1)
		return NULL;
	if ((s = cadir_root_signer(cd, c->root_key, pp.buf, pp.len)) == NULL)
		cli_error("%s", ca_errstr());
	passphrase_clear(&pp);
	return s;
}

/* Opens DIR, saying why not; its keys may be on a token of the module. */
struct cadir *
cli_open_ca(const struct ca_common *c, int lock)
{
	struct cadir *cd;

	if (cli_token_module(c) == -1)
		return NULL;
	if ((cd = cadir_open(c->dir, lock)) == NULL)
		cli_error("%s", ca_errstr());
	return cd;
}
