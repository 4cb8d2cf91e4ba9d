/* iotactl show: one device, its state and certificate. */
#include "remote.h"

static int exec_show(const struct cli_cmd *, int, char **);

static const struct cli_cmd cmd_show_desc = {
	"show",
	"show a device",
	"DEVICE -g GROUP [-o table|json] [remote options]",
	"Show a device of the group: its state (registered, provisioned or\n"
	"revoked), the serial number and expiry of its certificate, and when it\n"
	"was provisioned.",
	"  -g, --group GROUP     the device's group\n"
	"  -o, --output FORMAT   table (the default) or json\n"
	REMOTE_HELP,
	exec_show,
};

int
cmd_show(int argc, char **argv)
{
	return exec_show(&cmd_show_desc, argc, argv);
}

static int
exec_show(const struct cli_cmd *cmd, int argc, char **argv)
{
	return remote_device_verb(cmd, argc, argv, "GET", "");
}
