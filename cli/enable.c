/* iotactl enable: a revoked or provisioned device may provision again,
 * with a new key. */
#include "remote.h"

static int
exec_enable(const struct cli_cmd *cmd, int argc, char **argv)
{
	return remote_device_verb(cmd, argc, argv, "POST", "/enable");
}

const struct cli_cmd cmd_enable = {
	"enable",
	"let a device provision again",
	"DEVICE -g GROUP [-o table|json] [remote options]",
	"Put a revoked or provisioned device of the group back to the\n"
	"registered state: it may provision again, with a new key (a device\n"
	"that lost its key, or is to get a new one).  Prints the device as\n"
	"'show' does.",
	remote_device_opts,
	remote_device_option,
	exec_enable,
	1,
};
