/* iotactl ca crl: sign and print the current revocation list. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cadir.h"
#include "cli.h"

struct crl_args {
	struct ca_common c;
	long		 days;
	int		 root;
	char		*issuer;	/* archived intermediate, hex */
};

static int
parse_issuer(struct crl_args *a, const char *arg)
{
	ASN1_INTEGER *serial;

	if ((serial = ca_serial_parse(arg)) == NULL)
		return -1;
	free(a->issuer);
	a->issuer = ca_serial_hex(serial);
	ASN1_INTEGER_free(serial);
	return a->issuer != NULL ? 0 : -1;
}

static struct ca_signer *
archived_signer(const struct cadir *cd, const struct crl_args *a)
{
	struct passphrase pp;
	struct ca_signer *s;

	if (passphrase_intermediate(&a->c, &pp, 0) == -1)
		return NULL;
	if ((s = cadir_archived_signer(cd, a->issuer, pp.buf, pp.len)) == NULL)
		cli_error("%s", ca_errstr());
	passphrase_clear(&pp);
	return s;
}

static int
crl_option(const struct cli_cmd *cmd, void *args, int key, const char *val)
{
	if (key == OPT_ISSUER && parse_issuer(args, val) == -1)
		return cli_usage_error(cmd, "--issuer: \"%s\" is not a serial "
		    "number", val);
	return 0;
}

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct crl_args *a)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0 ||
	    (rc = cli_no_operands(cmd, argc, argv)) != 0)
		return rc;
	if (a->c.root_key != NULL && !a->root)
		return cli_usage_error(cmd, "--root-key goes with --root");
	if (a->root && a->issuer != NULL)
		return cli_usage_error(cmd, "--root and --issuer exclude each "
		    "other");
	return cli_need_dir(cmd, &a->c);
}

static X509_CRL *
build(const struct cadir *cd, struct ca_signer *signer, long days)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509_CRL *crl = NULL;
	size_t len;

	if (cadir_crl(cd, signer, time(NULL), days, &der, &len) == -1)
		return NULL;
	p = der;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL)
		ca_seterr("cannot decode the CRL just signed");
	OPENSSL_free(der);
	return crl;
}

static int
exec_crl(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct crl_args a = { .days = 7 };
	struct cadir *cd = NULL;
	struct ca_signer *signer = NULL;
	X509_CRL *crl = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	rc = 1;
	if ((cd = cli_open_ca(&a.c, 1)) == NULL)
		goto out;
	if (a.root)
		signer = cli_root_signer(cd, &a.c);
	else if (a.issuer != NULL)
		signer = archived_signer(cd, &a);
	else
		signer = cli_intermediate_signer(cd, &a.c);
	if (signer == NULL)
		goto out;
	if ((crl = build(cd, signer, a.days)) == NULL) {
		cli_error("%s", ca_errstr());
		goto out;
	}
	if (PEM_write_X509_CRL(stdout, crl) != 1 || fflush(stdout) != 0) {
		cli_error("cannot write the CRL to stdout");
		goto out;
	}
	rc = 0;
out:
	X509_CRL_free(crl);
	ca_signer_free(signer);
	cadir_close(cd);
	free(a.issuer);
	return rc;
}

static const struct cli_opt crl_opts[] = {
	CLI_OPTS_CA_DIR(struct crl_args, c),
	CLI_DAYS_OPT("days", "until nextUpdate (default 7)", struct crl_args,
	    days),
	CLI_FLAG_OPT("root", 0, "the root's CRL (needs the root key)",
	    struct crl_args, root),
	CLI_OPTS_CA_ROOT_KEY(struct crl_args, c),
	CLI_CALL_OPT("issuer", 0, "SERIAL",
	    "an intermediate archived by `ca rotate`", OPT_ISSUER),
	CLI_OPTS_CA_KEYS(struct crl_args, c),
	CLI_OPT_END,
};

const struct cli_cmd cmd_ca_crl = {
	"ca crl",
	"print a CRL",
	"--dir DIR [--days N] [--root [--root-key PATH] | --issuer SERIAL]",
	"Print a CRL (PEM) signed by the intermediate, listing the revoked\n"
	"certificates it issued; with --root, signed by the root, listing\n"
	"revoked intermediates; with --issuer, signed by an archived\n"
	"intermediate, listing what it issued.",
	crl_opts,
	crl_option,
	exec_crl,
	0,
};
