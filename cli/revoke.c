/* iotactl revoke: a device may no longer provision; its certificate is
 * revoked by iotad. */
#include "remote.h"

static int exec_revoke(const struct cli_cmd *, int, char **);

static const struct cli_cmd cmd_revoke_desc = {
	"revoke",
	"revoke a device",
	"DEVICE -g GROUP [-o table|json] [remote options]",
	"Revoke a device of the group: it can no longer provision, and its\n"
	"certificate, if it has one, is revoked.  'iotactl enable' undoes the\n"
	"first; the device then provisions again with a new key.  Prints the\n"
	"device as 'show' does.",
	"  -g, --group GROUP     the device's group\n"
	"  -o, --output FORMAT   table (the default) or json\n"
	REMOTE_HELP,
	exec_revoke,
};

int
cmd_revoke(int argc, char **argv)
{
	return exec_revoke(&cmd_revoke_desc, argc, argv);
}

static int
exec_revoke(const struct cli_cmd *cmd, int argc, char **argv)
{
	return remote_device_verb(cmd, argc, argv, "POST", "/revoke");
}
