/* iotactl revoke: a device may no longer provision; its certificate is
 * revoked by iotad. */
#include <string.h>

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
	struct device_args a = { .format = OUTPUT_TABLE };
	struct remote *r = NULL;
	json_t *answer = NULL;
	int rc;

	if ((rc = remote_parse_device(cmd, argc, argv, &a, 1)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	strncat(a.path, "/revoke", sizeof(a.path) - strlen(a.path) - 1);
	if ((rc = remote_call(r, "POST", a.path, NULL, &answer)) == 0)
		rc = out_device(answer, a.format);
	json_decref(answer);
	remote_free(r);
	return rc;
}
