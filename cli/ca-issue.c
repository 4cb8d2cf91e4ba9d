/* iotactl ca issue: a server key and certificate (broker, iotad, ingress). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadir.h"
#include "cli.h"

static int exec_issue(const struct cli_cmd *, int, char **);

const struct cli_cmd cmd_ca_issue = {
	"issue",
	"issue a server certificate and its key",
	"--dir DIR --server-name NAME [--dns NAME]... [--ip ADDR]... --out PREFIX\n"
	"    [--key-type TYPE] [--days N]\n"
	"    [--passphrase-file FILE | --intermediate-passphrase-file FILE]",
	"Make a server key and certificate: PREFIX.crt (leaf then intermediate)\n"
	"and PREFIX.key (unencrypted PKCS#8, mode 0600, for services that start\n"
	"unattended).",
	"  --dir DIR                           the CA directory\n"
	"  --server-name NAME                  DNS name: the subject and first SAN\n"
	"  --dns NAME                          another DNS name (repeatable)\n"
	"  --ip ADDR                           an IPv4 or IPv6 address (repeatable)\n"
	"  --out PREFIX                        writes PREFIX.crt and PREFIX.key; never overwrites\n"
	"  --key-type TYPE                     ec-p256 (default), ec-p384, ed25519, rsa-3072\n"
	"  --days N                            validity (default 397), within the intermediate's\n"
	"  --passphrase-file FILE              passphrase (or IOTA_CA_PASSPHRASE_FILE)\n"
	"  --intermediate-passphrase-file FILE intermediate key passphrase\n"
	"                                      (or IOTA_CA_INTERMEDIATE_PASSPHRASE_FILE)\n",
	exec_issue,
};

struct issue_args {
	struct ca_common	 c;
	const char		*out;
	enum ca_key_type	 type;
	struct ca_request	 req;
	char			 crt[4096], key[4096];
};

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct issue_args *a)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "server-name", required_argument, NULL, OPT_SERVER_NAME },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "key-type", required_argument, NULL, OPT_KEY_TYPE },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "intermediate-passphrase-file", required_argument, NULL,
		    OPT_INTER_PASSFILE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct ca_request *req = &a->req;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg, &a->c))
			continue;
		switch (ch) {
		case OPT_SERVER_NAME:
			req->common_name = optarg;
			break;
		case OPT_DNS:
		case OPT_IP:
			if ((ch == OPT_DNS ? req->ndns : req->nip) >= CA_MAX_SAN - 1)
				return cli_usage_error(cmd, "too many SANs");
			if (ch == OPT_DNS)
				req->dns[1 + req->ndns++] = optarg;
			else
				req->ip[req->nip++] = optarg;
			break;
		case OPT_OUT:
			a->out = optarg;
			break;
		case OPT_KEY_TYPE:
			if (ca_key_type_parse(optarg, &a->type) == -1)
				return cli_usage_error(cmd, "%s", ca_errstr());
			break;
		case OPT_DAYS:
			if (cli_days("--days", optarg, &req->days) == -1)
				return EXIT_USAGE;
			break;
		case OPT_HELP:
			cli_help(cmd, "ca", stdout);
			exit(0);
		default:
			return cli_bad_option(cmd, argc, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
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
		return rc;
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
