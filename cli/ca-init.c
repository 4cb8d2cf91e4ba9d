/* iotactl ca init: a root and its first online intermediate. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadir.h"
#include "cli.h"

struct init_args {
	struct ca_common	 c;
	enum ca_key_type	 type;
	const char		*name;
	long			 root_days;
	long			 inter_days;
	const char		*root_uri;	/* generate on a token */
	const char		*inter_uri;
};

/* Files init writes, in order; removed again if any step fails. */
static const char *init_files[] = {
	CADIR_ROOT_KEY, CADIR_ROOT_KEY_URI, CADIR_ROOT_CRT, CADIR_INTER_KEY,
	CADIR_INTER_KEY_URI, CADIR_INTER_CRT, CADIR_CHAIN, CADIR_CRLNUMBER,
	CADIR_INDEX,
};

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct init_args *a)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0 ||
	    (rc = cli_no_operands(cmd, argc, argv)) != 0)
		return rc;
	return cli_need_dir(cmd, &a->c);
}

struct init_ca {
	EVP_PKEY	*rkey, *ikey;
	X509		*root, *inter;
	char		*rkey_uri, *ikey_uri;	/* made on a token */
};

static X509 *
make_root(struct init_args *a, EVP_PKEY *key, time_t now)
{
	char cn[128];
	struct ca_request req = {
		.profile = CA_PROFILE_ROOT, .common_name = cn,
		.organization = a->name, .days = a->root_days,
	};
	struct ca_signer *self;
	X509 *cert;

	snprintf(cn, sizeof(cn), "%s Root CA", a->name);
	if (!EVP_PKEY_up_ref(key))
		return NULL;
	if ((self = ca_signer_self(key)) == NULL) {
		EVP_PKEY_free(key);
		return NULL;
	}
	cert = ca_issue_for_key(self, key, &req, now);
	ca_signer_free(self);
	return cert;
}

static X509 *
make_intermediate(struct init_args *a, struct init_ca *ca, time_t now)
{
	struct ca_signer *root;
	X509 *cert;

	if (!EVP_PKEY_up_ref(ca->rkey))
		return NULL;
	if (!X509_up_ref(ca->root)) {
		EVP_PKEY_free(ca->rkey);
		return NULL;
	}
	if ((root = ca_signer_new(ca->root, ca->rkey)) == NULL) {
		EVP_PKEY_free(ca->rkey);
		X509_free(ca->root);
		return NULL;
	}
	cert = cli_make_intermediate(root, ca->ikey, a->name, 1, a->inter_days,
	    now);
	ca_signer_free(root);
	return cert;
}

/* In a file (here, for now) or on the token `uri` names. */
static EVP_PKEY *
new_key(enum ca_key_type type, const char *uri, const struct passphrase *pp,
    char **madep)
{
	EVP_PKEY *key;

	if (uri != NULL)
		return cli_token_key_new(uri, type, pp, madep);
	if ((key = ca_key_generate(type)) == NULL)
		cli_error("%s", ca_errstr());
	return key;
}

static int
make_ca(struct init_args *a, struct init_ca *ca,
    const struct passphrase *rpass, const struct passphrase *ipass,
    time_t now)
{
	if ((ca->rkey = new_key(a->type, a->root_uri, rpass,
	    &ca->rkey_uri)) == NULL ||
	    (ca->ikey = new_key(a->type, a->inter_uri, ipass,
	    &ca->ikey_uri)) == NULL)
		return -1;
	if ((ca->root = make_root(a, ca->rkey, now)) == NULL ||
	    (ca->inter = make_intermediate(a, ca, now)) == NULL) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return 0;
}

/* NAME.key encrypted, or NAME.key.uri naming the key on its token. */
static int
write_key(const struct cadir *cd, const char *name, EVP_PKEY *key,
    const char *uri, const struct passphrase *pp)
{
	char uriname[64];

	if (uri != NULL) {
		snprintf(uriname, sizeof(uriname), "%s%s", name,
		    CADIR_URI_SUFFIX);
		return cli_token_uri_write(cadir_file(cd, uriname), uri);
	}
	if (ca_key_write_encrypted(cadir_file(cd, name), key, pp->buf,
	    pp->len) == -1) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return 0;
}

static int
write_all(const struct cadir *cd, const struct init_ca *ca,
    const struct passphrase *rpass, const struct passphrase *ipass)
{
	X509 *chain[2] = { ca->inter, ca->root };

	if (write_key(cd, CADIR_ROOT_KEY, ca->rkey, ca->rkey_uri, rpass) == -1 ||
	    write_key(cd, CADIR_INTER_KEY, ca->ikey, ca->ikey_uri, ipass) == -1)
		return -1;
	if (ca_certs_write_new(cadir_file(cd, CADIR_ROOT_CRT), &chain[1], 1,
	    0644) == -1 ||
	    ca_certs_write_new(cadir_file(cd, CADIR_INTER_CRT), &chain[0], 1,
	    0644) == -1 ||
	    ca_certs_write_new(cadir_file(cd, CADIR_CHAIN), chain, 2, 0644) == -1 ||
	    ca_file_write_new(cadir_file(cd, CADIR_CRLNUMBER), "0\n", 2,
	    0644) == -1 ||
	    ca_file_write_new(cadir_file(cd, CADIR_INDEX), "", 0, 0600) == -1 ||
	    cadir_record(cd, ca->root, ca->root, CA_PROFILE_ROOT) == -1 ||
	    cadir_record(cd, ca->inter, ca->root, CA_PROFILE_INTERMEDIATE) == -1) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return 0;
}

/* Leaves DIR as it was found: nothing of a half-made CA stays behind. */
static void
undo(const struct cadir *cd, const struct init_ca *ca)
{
	X509 *certs[2] = { ca->root, ca->inter };
	char name[256], *serial;

	for (size_t i = 0; i < sizeof(init_files) / sizeof(*init_files); i++)
		unlink(cadir_file(cd, init_files[i]));
	for (size_t i = 0; i < 2 && certs[i] != NULL; i++) {
		serial = ca_serial_hex(X509_get0_serialNumber(certs[i]));
		if (serial == NULL)
			continue;
		snprintf(name, sizeof(name), "%s/%s.pem", CADIR_CERTS, serial);
		unlink(cadir_file(cd, name));
		free(serial);
	}
	rmdir(cadir_file(cd, CADIR_CERTS));
	if (cd->created) {
		unlink(cadir_file(cd, CADIR_LOCK));
		rmdir(cd->path);
	}
}

static void
report(const struct cadir *cd, const struct init_ca *ca)
{
	printf("root:         %s\n", cadir_file(cd, CADIR_ROOT_CRT));
	printf("  sha256:     %s\n", ca_cert_fingerprint(ca->root));
	printf("intermediate: %s\n", cadir_file(cd, CADIR_INTER_CRT));
	printf("  sha256:     %s\n", ca_cert_fingerprint(ca->inter));
	printf("chain:        %s\n", cadir_file(cd, CADIR_CHAIN));
	if (ca->rkey_uri != NULL)
		printf("root key:     %s\n", ca->rkey_uri);
	if (ca->ikey_uri != NULL)
		printf("intermediate key: %s\n", ca->ikey_uri);
}

static int
exec_init(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct init_args a = {
		.type = CA_KEY_EC_P256, .name = "iota", .root_days = 7300,
		.inter_days = 1825,
	};
	struct passphrase rpass, ipass;
	struct init_ca ca = { NULL, NULL, NULL, NULL, NULL, NULL };
	struct cadir *cd = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	if (cli_token_module(&a.c) == -1)
		return 1;
	/* A token's PIN is the token's business: no length rule here. */
	if (passphrase_root(&a.c, &rpass, a.root_uri == NULL) == -1)
		return 1;
	if (passphrase_intermediate(&a.c, &ipass, a.inter_uri == NULL) == -1) {
		passphrase_clear(&rpass);
		return 1;
	}
	rc = 1;
	/* Refused before a key is made on a token for nothing. */
	if ((cd = cadir_create(a.c.dir)) == NULL) {
		cli_error("%s", ca_errstr());
		goto out;
	}
	if (make_ca(&a, &ca, &rpass, &ipass, time(NULL)) == -1 ||
	    write_all(cd, &ca, &rpass, &ipass) == -1) {
		undo(cd, &ca);
		goto out;
	}
	report(cd, &ca);
	rc = 0;
out:
	passphrase_clear(&rpass);
	passphrase_clear(&ipass);
	cadir_close(cd);
	EVP_PKEY_free(ca.rkey);
	EVP_PKEY_free(ca.ikey);
	X509_free(ca.root);
	X509_free(ca.inter);
	free(ca.rkey_uri);
	free(ca.ikey_uri);
	return rc;
}

static const struct cli_opt init_opts[] = {
	CLI_STR("dir", 0, "DIR", "the CA directory (created 0700)",
	    struct init_args, c.dir),
	CLI_KEY_TYPE_OPT(struct init_args, type),
	CLI_STR("name", 0, "NAME", "names the CA in its subjects (default iota)",
	    struct init_args, name),
	CLI_OPTS_CA_KEYS(struct init_args, c),
	CLI_STR("root-uri", 0, "URI", "generate the root key on the token "
	    "URI names\n(pkcs11:token=...;object=LABEL); its PIN is the\n"
	    "passphrase", struct init_args, root_uri),
	CLI_STR("intermediate-uri", 0, "URI", "the same for the "
	    "intermediate key", struct init_args, inter_uri),
	CLI_DAYS_OPT("root-days", "root validity (default 7300)",
	    struct init_args, root_days),
	CLI_DAYS_OPT("intermediate-days", "intermediate validity (default 1825)",
	    struct init_args, inter_days),
	CLI_OPT_END,
};

const struct cli_cmd cmd_ca_init = {
	"ca init",
	"create a root and an online intermediate",
	"--dir DIR [--key-type TYPE] [--name NAME] [--passphrase-file FILE]\n"
	"    [--intermediate-passphrase-file FILE] [--root-days N]"
	" [--intermediate-days N]\n"
	"    [--root-uri URI] [--intermediate-uri URI]"
	" [--pkcs11-module PATH]",
	"Create a CA in DIR: a self-signed root and an online intermediate.\n"
	"A key given a URI is generated on that PKCS#11 token and never leaves\n"
	"it; DIR then holds NAME.key.uri in place of NAME.key.",
	init_opts,
	NULL,
	exec_init,
	0,
};
