/*
 * iotactl ca rotate: a new intermediate from the root.  The old one moves
 * to DIR/archive and stays valid until it expires, so what it signed
 * still verifies.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadir.h"
#include "cli.h"

struct rotate_args {
	struct ca_common	 c;
	enum ca_key_type	 type;
	long			 days;
	const char		*key_uri;	/* generate on a token */
};

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct rotate_args *a)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0 ||
	    (rc = cli_no_operands(cmd, argc, argv)) != 0)
		return rc;
	return cli_need_dir(cmd, &a->c);
}

/* The CA's name and the next generation number, from the index. */
static int
next_generation(const struct cadir *cd, const X509 *root, char *name,
    size_t len)
{
	struct cadir_index idx;
	int generation = 1;

	if (X509_NAME_get_text_by_NID(X509_get_subject_name(root),
	    NID_organizationName, name, (int)len) < 0)
		snprintf(name, len, "iota");
	if (cadir_index_load(cd, &idx) == -1)
		return -1;
	for (size_t i = 0; i < idx.n; i++)
		generation += idx.entries[i].profile == CA_PROFILE_INTERMEDIATE;
	cadir_index_free(&idx);
	return generation;
}

/* The current key's name: the file, or the URI file of a key on a token. */
static const char *
current_key(const struct cadir *cd)
{
	return access(cadir_file(cd, CADIR_INTER_KEY_URI), F_OK) == 0 ?
	    CADIR_INTER_KEY_URI : CADIR_INTER_KEY;
}

static int
archive_current(const struct cadir *cd)
{
	const char *name = current_key(cd);
	char crt[256], key[256], *serial;
	X509 *old;
	int rc = -1;

	if ((old = cadir_intermediate_cert(cd)) == NULL)
		return -1;
	serial = ca_serial_hex(X509_get0_serialNumber(old));
	X509_free(old);
	if (serial == NULL)
		return -1;
	snprintf(crt, sizeof(crt), "%s/%s.crt", CADIR_ARCHIVE, serial);
	snprintf(key, sizeof(key), "%s/%s.key%s", CADIR_ARCHIVE, serial,
	    strcmp(name, CADIR_INTER_KEY) == 0 ? "" : CADIR_URI_SUFFIX);
	free(serial);
	if (mkdir(cadir_file(cd, CADIR_ARCHIVE), 0700) == -1 && errno != EEXIST)
		ca_seterr("cannot create the archive: %s", strerror(errno));
	else if (link(cadir_file(cd, CADIR_INTER_CRT), cadir_file(cd, crt)) == -1 ||
	    link(cadir_file(cd, name), cadir_file(cd, key)) == -1)
		ca_seterr("cannot archive the intermediate: %s", strerror(errno));
	else
		rc = 0;
	return rc;
}

/* The new key: encrypted, or the URI of the key made on a token. */
static int
write_new_key(const char *path, EVP_PKEY *key, const char *uri,
    const struct passphrase *pp)
{
	size_t len;
	char *line;
	int rc;

	if (uri == NULL)
		return ca_key_write_encrypted(path, key, pp->buf, pp->len);
	len = strlen(uri);
	if ((line = malloc(len + 2)) == NULL) {
		ca_seterr("out of memory");
		return -1;
	}
	snprintf(line, len + 2, "%s\n", uri);
	rc = ca_file_write_new(path, line, len + 1, 0600);
	free(line);
	return rc;
}

/*
 * New files beside the old, then renamed over them once all is written;
 * a key of the other kind (file, token) goes once archived.
 */
static int
install(const struct cadir *cd, EVP_PKEY *key, const char *uri, X509 *cert,
    X509 *root, const struct passphrase *pp)
{
	struct cadir_path k = cadir_path(cd, ".intermediate.key.new");
	struct cadir_path c = cadir_path(cd, ".intermediate.crt.new");
	const char *newkey = k.s, *newcrt = c.s;
	const char *keyname = uri != NULL ? CADIR_INTER_KEY_URI :
	    CADIR_INTER_KEY;
	const char *other = uri != NULL ? CADIR_INTER_KEY :
	    CADIR_INTER_KEY_URI;
	X509 *chain[2] = { cert, root };
	char *pem;
	size_t len;
	int rc = -1;

	unlink(newkey);
	unlink(newcrt);
	if (write_new_key(newkey, key, uri, pp) == -1 ||
	    ca_certs_write_new(newcrt, &cert, 1, 0644) == -1 ||
	    cadir_record(cd, cert, root, CA_PROFILE_INTERMEDIATE) == -1 ||
	    archive_current(cd) == -1)
		goto out;
	if (rename(newkey, cadir_file(cd, keyname)) == -1 ||
	    rename(newcrt, cadir_file(cd, CADIR_INTER_CRT)) == -1 ||
	    (unlink(cadir_file(cd, other)) == -1 && errno != ENOENT)) {
		ca_seterr("cannot install the new intermediate: %s",
		    strerror(errno));
		goto out;
	}
	if ((pem = ca_certs_pem(chain, 2, &len)) != NULL) {
		rc = cadir_write_atomic(cd, CADIR_CHAIN, pem, len, 0644);
		free(pem);
	}
out:
	unlink(newkey);
	unlink(newcrt);
	return rc;
}

/* In a file (written by install()) or on the token the URI names. */
static EVP_PKEY *
new_key(const struct rotate_args *a, const struct passphrase *pp,
    char **madep)
{
	EVP_PKEY *key;

	if (a->key_uri != NULL)
		return cli_token_key_new(a->key_uri, a->type, pp, madep);
	if ((key = ca_key_generate(a->type)) == NULL)
		cli_error("%s", ca_errstr());
	return key;
}

static int
rotate(const struct cadir *cd, struct rotate_args *a, struct ca_signer *root)
{
	struct passphrase pp;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char name[128], *made = NULL;
	int generation, rc = -1;

	/* A token's PIN is the token's business: no length rule here. */
	if (passphrase_intermediate(&a->c, &pp, a->key_uri == NULL) == -1)
		return -1;
	if ((generation = next_generation(cd, ca_signer_cert(root), name,
	    sizeof(name))) == -1)
		cli_error("%s", ca_errstr());
	else if ((key = new_key(a, &pp, &made)) == NULL)
		;	/* new_key() said why */
	else if ((cert = cli_make_intermediate(root, key, name, generation,
	    a->days, time(NULL))) == NULL ||
	    install(cd, key, made, cert, (X509 *)ca_signer_cert(root), &pp) ==
	    -1)
		cli_error("%s", ca_errstr());
	else {
		printf("intermediate: %s\n  sha256:     %s\n",
		    cadir_file(cd, CADIR_INTER_CRT), ca_cert_fingerprint(cert));
		rc = 0;
	}
	passphrase_clear(&pp);
	EVP_PKEY_free(key);
	X509_free(cert);
	free(made);
	return rc;
}

static int
exec_rotate(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct rotate_args a = { .type = CA_KEY_EC_P256, .days = 1825 };
	struct cadir *cd;
	struct ca_signer *root = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	if ((cd = cli_open_ca(&a.c, 1)) == NULL)
		return 1;
	rc = 1;
	if ((root = cli_root_signer(cd, &a.c)) != NULL &&
	    rotate(cd, &a, root) == 0)
		rc = 0;
	ca_signer_free(root);
	cadir_close(cd);
	return rc;
}

static const struct cli_opt rotate_opts[] = {
	CLI_OPTS_CA_DIR(struct rotate_args, c),
	CLI_OPTS_CA_ROOT_KEY(struct rotate_args, c),
	CLI_KEY_TYPE_OPT(struct rotate_args, type),
	CLI_DAYS_OPT("days", "validity (default 1825)",
	    struct rotate_args, days),
	CLI_OPTS_CA_KEYS(struct rotate_args, c),
	CLI_STR("intermediate-uri", 0, "URI", "generate the new key on the "
	    "token URI names\n(pkcs11:token=...;object=LABEL); its PIN is the\n"
	    "intermediate passphrase", struct rotate_args, key_uri),
	CLI_OPT_END,
};

const struct cli_cmd cmd_ca_rotate = {
	"ca rotate",
	"replace the intermediate",
	"--dir DIR [--root-key PATH] [--key-type TYPE] [--days N]\n"
	"    [--passphrase-file FILE] [--intermediate-passphrase-file FILE]\n"
	"    [--intermediate-uri URI] [--pkcs11-module PATH]",
	"Issue a new intermediate from the root. The old intermediate moves to\n"
	"DIR/archive and stays valid until it expires; ca-chain.pem is rewritten.\n"
	"The new intermediate key takes --intermediate-passphrase-file, or else\n"
	"the root's passphrase.  With --intermediate-uri the new key is\n"
	"generated on that PKCS#11 token (its PIN is that passphrase) and\n"
	"DIR/intermediate.key.uri names it.  A root key on a token is used\n"
	"where DIR/root.key.uri names it, or with --root-key pkcs11:...",
	rotate_opts,
	NULL,
	exec_rotate,
	0,
};
