/* iotactl enable: a revoked or provisioned device may provision again,
 * with a new key. */
#include <string.h>

#include "remote.h"

static int exec_enable(const struct cli_cmd *, int, char **);

static const struct cli_cmd cmd_enable_desc = {
	"enable",
	"let a device provision again",
	"DEVICE -g GROUP [-o table|json] [remote options]",
	"Put a revoked or provisioned device of the group back to the\n"
	"registered state: it may provision again, with a new key (a device\n"
	"that lost its key, or is to get a new one).  Prints the device as\n"
	"'show' does.",
	"  -g, --group GROUP     the device's group\n"
	"  -o, --output FORMAT   table (the default) or json\n"
	REMOTE_HELP,
	exec_enable,
};

int
cmd_enable(int argc, char **argv)
{
	return exec_enable(&cmd_enable_desc, argc, argv);
}

static int
exec_enable(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct device_args a = { .format = OUTPUT_TABLE };
	struct remote *r = NULL;
	json_t *answer = NULL;
	int rc;

	if ((rc = remote_parse_device(cmd, argc, argv, &a, 1)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	strncat(a.path, "/enable", sizeof(a.path) - strlen(a.path) - 1);
	if ((rc = remote_call(r, "POST", a.path, NULL, &answer)) == 0)
		rc = out_device(answer, a.format);
	json_decref(answer);
	remote_free(r);
	return rc;
}
