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
	struct device_args a = { .format = OUTPUT_TABLE };
	struct remote *r = NULL;
	json_t *answer = NULL;
	int rc;

	if ((rc = remote_parse_device(cmd, argc, argv, &a, 1)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	if ((rc = remote_call(r, "GET", a.path, NULL, &answer)) == 0)
		rc = out_device(answer, a.format);
	json_decref(answer);
	remote_free(r);
	return rc;
}
