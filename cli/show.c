/* iotactl show: one device, its state and certificate. */
#include "remote.h"

static int
exec_show(const struct cli_cmd *cmd, int argc, char **argv)
{
	return remote_device_verb(cmd, argc, argv, "GET", "");
}

const struct cli_cmd cmd_show = {
	"show",
	"show a device",
	"DEVICE -g GROUP [-o table|json] [remote options]",
	"Show a device of the group: its state (registered, provisioned or\n"
	"revoked), the serial number and expiry of its certificate, and when it\n"
	"was provisioned.",
	remote_device_opts,
	remote_device_option,
	exec_show,
	1,
};
