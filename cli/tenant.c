/* iotactl tenant add: a tenant and its operator token, with the admin token. */
#include <stdlib.h>

#include "remote.h"

struct tenant_args {
	struct remote_opts	 ro;
};

static int
exec_tenant_add(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct tenant_args a = { { 0 } };
	struct remote *r = NULL;
	json_t *body = NULL, *answer = NULL;
	const char *token;
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	if (argc - optind != 1)
		return cli_usage_error(cmd, argc == optind ?
		    "a tenant NAME is required" : "one NAME, please");
	if ((rc = remote_check_name(cmd, "tenant", argv[optind])) != 0 ||
	    (rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
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

static const struct cli_opt tenant_add_opts[] = {
	CLI_OPTS_REMOTE(struct tenant_args, ro),
	CLI_OPT_END,
};

const struct cli_cmd cmd_tenant_add = {
	"tenant add",
	"create a tenant and print its operator token",
	"NAME [--server URL] [--ca-file FILE] [--token-file FILE]",
	"Create the tenant NAME (with the admin token) and print its operator\n"
	"token on standard output, alone on one line.  iotad keeps only a\n"
	"verifier: the token is shown this once.",
	tenant_add_opts,
	NULL,
	exec_tenant_add,
	1,
};
