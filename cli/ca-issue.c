/* iotactl ca issue: a server key and certificate (broker, iotad, ingress). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadir.h"
#include "cli.h"

struct issue_args {
	struct ca_common	 c;
	const char		*out;
	enum ca_key_type	 type;
	struct ca_request	 req;
	char			 crt[4096], key[4096];
};

static int
issue_option(const struct cli_cmd *cmd, void *args, int key, const char *val)
{
	struct issue_args *a = args;

	/* dns[0] is kept for --server-name, the subject and first SAN. */
	return cli_san_add(cmd, &a->req, key, val, 1);
}

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct issue_args *a)
{
	struct ca_request *req = &a->req;
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0 ||
	    (rc = cli_no_operands(cmd, argc, argv)) != 0)
		return rc;
	if (req->common_name == NULL || a->out == NULL)
		return cli_usage_error(cmd, "--server-name and --out are required");
	req->dns[0] = req->common_name;
	req->ndns++;
	if (ca_request_check(req) == -1) {
		cli_error("%s", ca_errstr());
		return EXIT_USAGE;
	}
	return cli_need_dir(cmd, &a->c);
}

/* PREFIX's directory must take the files before anything is issued. */
static int
check_out_dir(const char *prefix)
{
	char dir[4096], *slash;

	snprintf(dir, sizeof(dir), "%s", prefix);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK | X_OK) == -1) {
		cli_error("--out: cannot write in %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Checked before any key is made: nothing is overwritten, ever. */
static int
check_outputs(struct issue_args *a)
{
	if ((size_t)snprintf(a->crt, sizeof(a->crt), "%s.crt", a->out) >=
	    sizeof(a->crt) ||
	    (size_t)snprintf(a->key, sizeof(a->key), "%s.key", a->out) >=
	    sizeof(a->key)) {
		cli_error("--out: path too long");
		return -1;
	}
	if (access(a->crt, F_OK) == 0 || access(a->key, F_OK) == 0) {
		cli_error("%s.crt or %s.key already exists; not overwriting",
		    a->out, a->out);
		return -1;
	}
	return check_out_dir(a->out);
}

static int
write_outputs(struct issue_args *a, EVP_PKEY *key, X509 *cert,
    struct ca_signer *signer)
{
	X509 *chain[2] = { cert, (X509 *)ca_signer_cert(signer) };
	char *serial;

	if (ca_key_write_plain(a->key, key) == -1)
		goto fail;
	if (ca_certs_write_new(a->crt, chain, 2, 0644) == -1) {
		unlink(a->key);
		goto fail;
	}
	serial = ca_serial_hex(X509_get0_serialNumber(cert));
	printf("certificate: %s\nkey:         %s\nserial:      %s\n", a->crt,
	    a->key, serial != NULL ? serial : "?");
	free(serial);
	return 0;
fail:
	cli_error("%s", ca_errstr());
	return -1;
}

static int
exec_issue(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct issue_args a = {
		.type = CA_KEY_EC_P256,
		.req = { .profile = CA_PROFILE_SERVER, .days = 397 },
	};
	struct cadir *cd = NULL;
	struct ca_signer *signer = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	rc = 1;
	if (check_outputs(&a) == -1 || (cd = cli_open_ca(&a.c, 1)) == NULL ||
	    (signer = cli_intermediate_signer(cd, &a.c)) == NULL)
		goto out;
	if ((key = ca_key_generate(a.type)) == NULL ||
	    (cert = ca_issue_for_key(signer, key, &a.req, time(NULL))) == NULL ||
	    cadir_record(cd, cert, ca_signer_cert(signer), a.req.profile) == -1) {
		cli_error("%s", ca_errstr());
		goto out;
	}
	if (write_outputs(&a, key, cert, signer) == 0)
		rc = 0;
out:
	EVP_PKEY_free(key);
	X509_free(cert);
	ca_signer_free(signer);
	cadir_close(cd);
	return rc;
}

static const struct cli_opt issue_opts[] = {
	CLI_OPTS_CA_DIR(struct issue_args, c),
	CLI_STR("server-name", 0, "NAME", "DNS name: the subject and first SAN",
	    struct issue_args, req.common_name),
	CLI_CALL_OPT("dns", 0, "NAME", "another DNS name (repeatable)",
	    OPT_DNS),
	CLI_CALL_OPT("ip", 0, "ADDR", "an IPv4 or IPv6 address (repeatable)",
	    OPT_IP),
	CLI_STR("out", 0, "PREFIX",
	    "writes PREFIX.crt and PREFIX.key; never overwrites",
	    struct issue_args, out),
	CLI_KEY_TYPE_OPT(struct issue_args, type),
	CLI_DAYS_OPT("days", "validity (default 397), within the intermediate's",
	    struct issue_args, req.days),
	CLI_OPTS_CA_KEYS(struct issue_args, c),
	CLI_OPT_END,
};

const struct cli_cmd cmd_ca_issue = {
	"ca issue",
	"issue a server certificate and its key",
	"--dir DIR --server-name NAME [--dns NAME]... [--ip ADDR]... --out PREFIX\n"
	"    [--key-type TYPE] [--days N]\n"
	"    [--passphrase-file FILE | --intermediate-passphrase-file FILE]",
	"Make a server key and certificate: PREFIX.crt (leaf then intermediate)\n"
	"and PREFIX.key (unencrypted PKCS#8, mode 0600, for services that start\n"
	"unattended).",
	issue_opts,
	issue_option,
	exec_issue,
	0,
};
