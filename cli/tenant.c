/* iotactl tenant add: a tenant and its operator token, with the admin token. */
#include <getopt.h>
#include <stdlib.h>

#include "remote.h"

static int exec_tenant_add(const struct cli_cmd *, int, char **);

static const struct cli_cmd cmd_tenant_add = {
	"tenant add",
	"create a tenant and print its operator token",
	"NAME [--server URL] [--ca-file FILE] [--token-file FILE]",
	"Create the tenant NAME (with the admin token) and print its operator\n"
	"token on standard output, alone on one line.  iotad keeps only a\n"
	"verifier: the token is shown this once.",
	REMOTE_HELP,
	exec_tenant_add,
};

int
cmd_tenant(int argc, char **argv)
{
	static const struct cli_cmd *const verbs[] = { &cmd_tenant_add };

	return remote_dispatch("tenant", verbs, 1, argc, argv);
}

static int
exec_tenant_add(const struct cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		REMOTE_LONGOPTS,
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct remote_opts ro = { 0 };
	struct remote *r = NULL;
	json_t *body = NULL, *answer = NULL;
	const char *token;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (remote_option(ch, optarg, &ro))
			continue;
		if (ch != OPT_HELP)
			return remote_bad_option(cmd, argc, argv);
		remote_help(cmd, stdout);
		return 0;
	}
	if (argc - optind != 1)
		return remote_usage_error(cmd, argc == optind ?
		    "a tenant NAME is required" : "one NAME, please");
	if ((rc = remote_check_name(cmd, "tenant", argv[optind])) != 0 ||
	    (rc = remote_connect(cmd, &ro, NULL, &r)) != 0)
		return rc;
	if ((body = json_pack("{s:s}", "name", argv[optind])) == NULL) {
		cli_error("out of memory");
		rc = EXIT_FAIL;
	} else if ((rc = remote_call(r, "POST", "/v1/tenants", body,
	    &answer)) == 0) {
		if ((token = remote_string(answer, "token")) == NULL)
			rc = EXIT_UNREACHABLE;
		else
			printf("%s\n", token);
	}
	json_decref(answer);
	json_decref(body);
	remote_free(r);
	return rc;
}
