/* iotactl revoke: a device may no longer provision; its certificate is
 * revoked by iotad, in its CRL and OCSP at once. */
#include <openssl/x509v3.h>

#include "ca.h"
#include "remote.h"

static const struct cli_opt revoke_opts[] = {
	CLI_STR("group", 'g', "GROUP", "the device's group", struct device_args,
	    group),
	CLI_STR("reason", 'r', "REASON", "why, as RFC 5280 names it "
	    "(keyCompromise, superseded, affiliationChanged, ...)",
	    struct device_args, reason),
	REMOTE_OUTPUT_OPT,
	CLI_OPTS_REMOTE(struct device_args, ro),
	CLI_OPT_END,
};

/* {"reason": R} for --reason, checked here so a typo costs no call. */
static json_t *
reason_body(const struct cli_cmd *cmd, const struct device_args *a, int *rc)
{
	int code;

	*rc = 0;
	if (a->reason == NULL)
		return NULL;
	if (ca_reason_parse(a->reason, &code) == -1 ||
	    code == CRL_REASON_REMOVE_FROM_CRL) {
		*rc = cli_usage_error(cmd, "--reason: \"%s\" is not a reason "
		    "a certificate is revoked for", a->reason);
		return NULL;
	}
	return json_pack("{s:s}", "reason", ca_reason_name(code));
}

static int
exec_revoke(const struct cli_cmd *cmd, int argc, char **argv)
{
	return remote_device_verb_with(cmd, argc, argv, "POST", "/revoke",
	    reason_body);
}

const struct cli_cmd cmd_revoke = {
	"revoke",
	"revoke a device",
	"DEVICE -g GROUP [--reason REASON] [-o table|json] [remote options]",
	"Revoke a device of the group: it can no longer provision, its\n"
	"certificate, if it has one, is revoked (in iotad's CRL and OCSP answers\n"
	"at once, with REASON, default unspecified), and its key is never\n"
	"certified again.  'iotactl enable' lets the device provision again,\n"
	"with a new key.  Prints the device as 'show' does.",
	revoke_opts,
	remote_device_option,
	exec_revoke,
	1,
};
