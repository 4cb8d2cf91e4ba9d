/* iotactl ca sign: a CSR made elsewhere becomes a device or server cert. */
#include <getopt.h>
#include <stdlib.h>

#include <openssl/pem.h>

#include "cadir.h"
#include "cli.h"

static int exec_sign(const struct cli_cmd *, int, char **);

const struct cli_cmd cmd_ca_sign = {
	"sign",
	"sign a CSR as a device or server certificate",
	"--dir DIR --csr FILE --name NAME [--profile device|server]\n"
	"    [--dns NAME]... [--ip ADDR]... [--days N]\n"
	"    [--passphrase-file FILE | --intermediate-passphrase-file FILE]",
	"Sign a CSR (PEM or DER) with the intermediate; the certificate goes to stdout.\n"
	"Only the CSR's public key is used: the identity comes from --name.",
	"  --dir DIR                           the CA directory\n"
	"  --csr FILE                          the certification request (at most 16 KiB)\n"
	"  --name NAME                         device name, or the server's DNS name\n"
	"  --profile device|server             certificate profile (default device)\n"
	"  --dns NAME                          server: another DNS name (repeatable)\n"
	"  --ip ADDR                           server: an IPv4 or IPv6 address (repeatable)\n"
	"  --days N                            validity (default 365), within the intermediate's\n"
	"  --passphrase-file FILE              passphrase (or IOTA_CA_PASSPHRASE_FILE)\n"
	"  --intermediate-passphrase-file FILE intermediate key passphrase\n"
	"                                      (or IOTA_CA_INTERMEDIATE_PASSPHRASE_FILE)\n",
	exec_sign,
};

struct sign_args {
	struct ca_common	 c;
	const char		*csr;
	char			 uri[128];
	struct ca_request	 req;
};

static int
add_san(const struct cli_cmd *cmd, struct ca_request *req, int ch,
    const char *arg)
{
	if ((ch == OPT_DNS ? req->ndns : req->nip) >= CA_MAX_SAN - 1)
		return cli_usage_error(cmd, "too many SANs (at most %d)",
		    CA_MAX_SAN - 1);
	if (ch == OPT_DNS)
		req->dns[req->ndns++] = arg;
	else
		req->ip[req->nip++] = arg;
	return 0;
}

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct sign_args *a)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "csr", required_argument, NULL, OPT_CSR },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "intermediate-passphrase-file", required_argument, NULL,
		    OPT_INTER_PASSFILE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg, &a->c))
			continue;
		switch (ch) {
		case OPT_CSR:
			a->csr = optarg;
			break;
		case OPT_NAME:
			a->req.common_name = optarg;
			break;
		case OPT_PROFILE:
			if (ca_profile_parse(optarg, &a->req.profile) == -1 ||
			    a->req.profile < CA_PROFILE_SERVER)
				return cli_usage_error(cmd, "unknown profile "
				    "\"%s\" (device or server)", optarg);
			break;
		case OPT_DNS:
		case OPT_IP:
			if (add_san(cmd, &a->req, ch, optarg) != 0)
				return EXIT_USAGE;
			break;
		case OPT_DAYS:
			if (cli_days("--days", optarg, &a->req.days) == -1)
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
	if (a->csr == NULL || a->req.common_name == NULL)
		return cli_usage_error(cmd, "--csr and --name are required");
	return cli_need_dir(cmd, &a->c);
}

/* The identity: from the command line, never from the CSR.  A bad one is
 * a bad argument: exit status 2. */
static int
complete_request(struct sign_args *a)
{
	struct ca_request *req = &a->req;

	if (req->profile == CA_PROFILE_DEVICE) {
		if (req->ndns + req->nip > 0) {
			cli_error("--dns and --ip are for the server profile");
			return EXIT_USAGE;
		}
		snprintf(a->uri, sizeof(a->uri), "urn:iota:device:%s",
		    req->common_name);
		req->uri = a->uri;
	} else {
		/* The name first, as the SAN clients match. */
		for (size_t i = req->ndns; i > 0; i--)
			req->dns[i] = req->dns[i - 1];
		req->dns[0] = req->common_name;
		req->ndns++;
	}
	if (ca_request_check(req) == -1) {
		cli_error("%s", ca_errstr());
		return EXIT_USAGE;
	}
	return 0;
}

static struct ca_csr *
read_csr(const char *path)
{
	unsigned char *data;
	struct ca_csr *csr;
	size_t len;

	if ((data = ca_file_read(path, CA_CSR_MAX, &len)) == NULL) {
		cli_error("%s", ca_errstr());
		return NULL;
	}
	if ((csr = ca_csr_parse(data, len)) == NULL)
		cli_error("%s: %s", path, ca_errstr());
	free(data);
	return csr;
}

static int
exec_sign(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct sign_args a = {
		.req = { .profile = CA_PROFILE_DEVICE, .days = 365 },
	};
	struct cadir *cd = NULL;
	struct ca_signer *signer = NULL;
	struct ca_csr *csr = NULL;
	X509 *cert = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a)) != 0 ||
	    (rc = complete_request(&a)) != 0)
		return rc;
	rc = 1;
	if ((csr = read_csr(a.csr)) == NULL ||
	    (cd = cli_open_ca(&a.c, 1)) == NULL ||
	    (signer = cli_intermediate_signer(cd, &a.c)) == NULL)
		goto out;
	if ((cert = ca_issue_for_csr(signer, csr, &a.req,
	    time(NULL))) == NULL ||
	    cadir_record(cd, cert, ca_signer_cert(signer), a.req.profile) == -1) {
		cli_error("%s", ca_errstr());
		goto out;
	}
	if (PEM_write_X509(stdout, cert) != 1 || fflush(stdout) != 0) {
		cli_error("cannot write the certificate to stdout");
		goto out;
	}
	rc = 0;
out:
	X509_free(cert);
	ca_csr_free(csr);
	ca_signer_free(signer);
	cadir_close(cd);
	return rc;
}
