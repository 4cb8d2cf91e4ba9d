/* iotactl ca revoke: record a revocation; `ca crl` publishes it. */
#include <getopt.h>
#include <stdlib.h>

#include <openssl/x509v3.h>

#include "cadir.h"
#include "cli.h"

static int exec_revoke(const struct cli_cmd *, int, char **);

const struct cli_cmd cmd_ca_revoke = {
	"revoke",
	"revoke a certificate by serial",
	"--dir DIR SERIAL [--reason REASON]",
	"Record SERIAL (hex, as `openssl x509 -serial` prints it; colons allowed)\n"
	"as revoked. No key is needed; the next `ca crl` lists it.",
	"  --dir DIR                           the CA directory\n"
	"  --reason REASON                     unspecified (default), keyCompromise,\n"
	"                                      cACompromise, affiliationChanged, superseded,\n"
	"                                      cessationOfOperation, certificateHold,\n"
	"                                      privilegeWithdrawn\n",
	exec_revoke,
};

static int
exec_revoke(const struct cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct ca_common c = { 0 };
	struct cadir *cd;
	ASN1_INTEGER *serial;
	char *hex;
	int ch, reason = CRL_REASON_UNSPECIFIED, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg, &c))
			continue;
		if (ch == OPT_REASON) {
			if (ca_reason_parse(optarg, &reason) == -1)
				return cli_usage_error(cmd, "%s", ca_errstr());
		} else if (ch == OPT_HELP) {
			cli_help(cmd, "ca", stdout);
			return 0;
		} else
			return cli_bad_option(cmd, argc, argv);
	}
	if (optind + 1 != argc)
		return cli_usage_error(cmd, "one SERIAL is required");
	if ((rc = cli_need_dir(cmd, &c)) != 0)
		return rc;
	if ((serial = ca_serial_parse(argv[optind])) == NULL) {
		cli_error("\"%s\" is not a serial number (hex digits)",
		    argv[optind]);
		return EXIT_USAGE;
	}
	hex = ca_serial_hex(serial);
	ASN1_INTEGER_free(serial);
	rc = 1;
	if (hex != NULL && (cd = cli_open_ca(&c, 1)) != NULL) {
		if (cadir_revoke(cd, hex, reason, time(NULL)) == 0) {
			printf("revoked %s (%s)\n", hex, ca_reason_name(reason));
			rc = 0;
		} else
			cli_error("%s", ca_errstr());
		cadir_close(cd);
	}
	free(hex);
	return rc;
}
