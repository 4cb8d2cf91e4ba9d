/* iotactl revoke: a device may no longer provision; its certificate is
 * revoked by iotad. */
#include "remote.h"

static int
exec_revoke(const struct cli_cmd *cmd, int argc, char **argv)
{
	return remote_device_verb(cmd, argc, argv, "POST", "/revoke");
}

const struct cli_cmd cmd_revoke = {
	"revoke",
	"revoke a device",
	"DEVICE -g GROUP [-o table|json] [remote options]",
	"Revoke a device of the group: it can no longer provision, and its\n"
	"certificate, if it has one, is revoked.  'iotactl enable' undoes the\n"
	"first; the device then provisions again with a new key.  Prints the\n"
	"device as 'show' does.",
	remote_device_opts,
	remote_device_option,
	exec_revoke,
	1,
};
