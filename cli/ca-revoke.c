/* iotactl ca revoke: record a revocation; `ca crl` publishes it. */
#include <getopt.h>
#include <stdlib.h>

#include <openssl/x509v3.h>

#include "cadir.h"
#include "cli.h"

struct revoke_args {
	struct ca_common	 c;
	int			 reason;
};

static int
revoke_option(const struct cli_cmd *cmd, void *args, int key,
    const char *val)
{
	struct revoke_args *a = args;

	if (ca_reason_parse(val, &a->reason) == -1)
		return cli_usage_error(cmd, "%s", ca_errstr());
	return 0;
}

static int
exec_revoke(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct revoke_args a = { .reason = CRL_REASON_UNSPECIFIED };
	struct cadir *cd;
	ASN1_INTEGER *serial;
	char *hex;
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	if (optind + 1 != argc)
		return cli_usage_error(cmd, "one SERIAL is required");
	if ((rc = cli_need_dir(cmd, &a.c)) != 0)
		return rc;
	if ((serial = ca_serial_parse(argv[optind])) == NULL) {
		cli_error("\"%s\" is not a serial number (hex digits)",
		    argv[optind]);
		return EXIT_USAGE;
	}
	hex = ca_serial_hex(serial);
	ASN1_INTEGER_free(serial);
	rc = 1;
	if (hex != NULL && (cd = cli_open_ca(&a.c, 1)) != NULL) {
		if (cadir_revoke(cd, hex, a.reason, time(NULL)) == 0) {
			printf("revoked %s (%s)\n", hex, ca_reason_name(a.reason));
			rc = 0;
		} else
			cli_error("%s", ca_errstr());
		cadir_close(cd);
	}
	free(hex);
	return rc;
}

static const struct cli_opt revoke_opts[] = {
	CLI_OPTS_CA_DIR(struct revoke_args, c),
	CLI_CALL_OPT("reason", 0, "REASON", "unspecified (default), keyCompromise,\n"
	    "cACompromise, affiliationChanged, superseded,\n"
	    "cessationOfOperation, certificateHold,\n"
	    "privilegeWithdrawn", OPT_REASON),
	CLI_OPT_END,
};

const struct cli_cmd cmd_ca_revoke = {
	"ca revoke",
	"revoke a certificate by serial",
	"--dir DIR SERIAL [--reason REASON]",
	"Record SERIAL (hex, as `openssl x509 -serial` prints it; colons allowed)\n"
	"as revoked. No key is needed; the next `ca crl` lists it.",
	revoke_opts,
	revoke_option,
	exec_revoke,
	0,
};
