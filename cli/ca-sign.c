/* iotactl ca sign: a CSR made elsewhere becomes a device or server cert. */
#include <getopt.h>
#include <stdlib.h>

#include <openssl/pem.h>

#include "cadir.h"
#include "cli.h"

struct sign_args {
	struct ca_common	 c;
	const char		*csr;
	char			 uri[128];
	struct ca_request	 req;
};

static int
sign_option(const struct cli_cmd *cmd, void *args, int key, const char *val)
{
	struct sign_args *a = args;

	switch (key) {
	case OPT_PROFILE:
		if (ca_profile_parse(val, &a->req.profile) == -1 ||
		    a->req.profile < CA_PROFILE_SERVER)
			return cli_usage_error(cmd, "unknown profile "
			    "\"%s\" (device or server)", val);
		return 0;
	case OPT_DNS:
	case OPT_IP:
		return cli_san_add(cmd, &a->req, key, val, 0);
	}
	return EXIT_USAGE;
}

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct sign_args *a)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0 ||
	    (rc = cli_no_operands(cmd, argc, argv)) != 0)
		return rc;
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

	if ((rc = parse(cmd, argc, argv, &a)) == -1)
		return 0;
	if (rc != 0 ||
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

static const struct cli_opt sign_opts[] = {
	CLI_OPTS_CA_DIR(struct sign_args, c),
	CLI_STR("csr", 0, "FILE", "the certification request (at most 16 KiB)",
	    struct sign_args, csr),
	CLI_STR("name", 0, "NAME", "device name, or the server's DNS name",
	    struct sign_args, req.common_name),
	CLI_CALL_OPT("profile", 0, "device|server",
	    "certificate profile (default device)", OPT_PROFILE),
	CLI_CALL_OPT("dns", 0, "NAME", "server: another DNS name (repeatable)",
	    OPT_DNS),
	CLI_CALL_OPT("ip", 0, "ADDR",
	    "server: an IPv4 or IPv6 address (repeatable)", OPT_IP),
	CLI_DAYS_OPT("days", "validity (default 365), within the intermediate's",
	    struct sign_args, req.days),
	CLI_OPTS_CA_KEYS(struct sign_args, c),
	CLI_OPT_END,
};

const struct cli_cmd cmd_ca_sign = {
	"ca sign",
	"sign a CSR as a device or server certificate",
	"--dir DIR --csr FILE --name NAME [--profile device|server]\n"
	"    [--dns NAME]... [--ip ADDR]... [--days N]\n"
	"    [--passphrase-file FILE | --intermediate-passphrase-file FILE]",
	"Sign a CSR (PEM or DER) with the intermediate; the certificate goes to stdout.\n"
	"Only the CSR's public key is used: the identity comes from --name.",
	sign_opts,
	sign_option,
	exec_sign,
	0,
};
