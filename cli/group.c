/* iotactl group rotate-secret | set | delete: a group's secret and limits. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"

static int exec_rotate(const struct cli_cmd *, int, char **);
static int exec_set(const struct cli_cmd *, int, char **);
static int exec_delete(const struct cli_cmd *, int, char **);

static const struct cli_cmd cmd_group_rotate = {
	"group rotate-secret",
	"replace the group's provisioning secret",
	"GROUP [remote options]",
	"Give the group a new provisioning secret and print it, once, as\n"
	"\"Provisioning Secret: SECRET\", then until when the previous one stays\n"
	"valid (iotad's configured overlap), so devices in the field can move on.",
	REMOTE_HELP,
	exec_rotate,
};

static const struct cli_cmd cmd_group_set = {
	"group set",
	"set the group's quota or secret expiry",
	"GROUP [--quota N|none] [--secret-expires WHEN|none] [remote options]",
	"Change the group's device quota or the expiry of its provisioning\n"
	"secret; none removes the limit.  Prints the group.",
	"  --quota N|none        at most N provisioned devices; none: no quota\n"
	"  --secret-expires WHEN|none\n"
	"                        the secret's expiry: YYYY-MM-DD or\n"
	"                        YYYY-MM-DDTHH:MM:SSZ (UTC), @UNIXTIME, or N[smhd]\n"
	"                        from now (N alone: seconds); none: no expiry\n"
	REMOTE_HELP,
	exec_set,
};

static const struct cli_cmd cmd_group_delete = {
	"group delete",
	"delete a group",
	"GROUP [remote options]",
	"Delete the group.  iotad refuses while devices of the group are\n"
	"provisioned (exit 5).",
	REMOTE_HELP,
	exec_delete,
};

int
cmd_group(int argc, char **argv)
{
	static const struct cli_cmd *const verbs[] = {
		&cmd_group_rotate, &cmd_group_set, &cmd_group_delete,
	};

	return remote_dispatch("group", verbs, 3, argc, argv);
}

struct group_args {
	struct remote_opts	 ro;
	const char		*group;
	const char		*quota;
	const char		*expires;
	char			 path[128];
};

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct group_args *a,
    int with_limits)
{
	static const struct option opts[] = {
		{ "quota", required_argument, NULL, ROPT_QUOTA },
		{ "secret-expires", required_argument, NULL,
		    ROPT_SECRET_EXPIRES },
		REMOTE_LONGOPTS,
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	/* Only set takes --quota and --secret-expires: the others start
	 * the table after them. */
	while ((ch = getopt_long(argc, argv, "h", with_limits ? opts : opts + 2,
	    NULL)) != -1) {
		if (remote_option(ch, optarg, &a->ro))
			continue;
		if (ch == ROPT_QUOTA && with_limits)
			a->quota = optarg;
		else if (ch == ROPT_SECRET_EXPIRES && with_limits)
			a->expires = optarg;
		else if (ch == OPT_HELP) {
			remote_help(cmd, stdout);
			return -1;
		} else
			return remote_bad_option(cmd, argc, argv);
	}
	if (argc - optind != 1)
		return remote_usage_error(cmd, argc == optind ?
		    "a GROUP is required" : "one GROUP, please");
	a->group = argv[optind];
	snprintf(a->path, sizeof(a->path), "/v1/groups/%s", a->group);
	return remote_check_name(cmd, "group", a->group);
}

static int
exec_rotate(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct group_args a = { 0 };
	struct remote *r = NULL;
	json_t *answer = NULL;
	const char *secret;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a, 0)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	strncat(a.path, "/rotate-secret", sizeof(a.path) - strlen(a.path) - 1);
	if ((rc = remote_call(r, "POST", a.path, NULL, &answer)) != 0)
		goto out;
	if ((secret = remote_string(answer, "provisioning_secret")) == NULL) {
		rc = EXIT_UNREACHABLE;
		goto out;
	}
	printf("Provisioning Secret: %s\n", secret);
	if (json_is_integer(json_object_get(answer, "previous_valid_until")))
		printf("The previous secret stays valid until %s.\n",
		    out_time(json_object_get(answer, "previous_valid_until")));
	else
		printf("The previous secret is no longer valid.\n");
out:
	json_decref(answer);
	remote_free(r);
	return rc;
}

static void
print_group(const json_t *g)
{
	out_kv("group", out_value(json_object_get(g, "name")));
	out_kv("devices", out_value(json_object_get(g, "devices")));
	out_kv("provisioned", out_value(json_object_get(g, "provisioned")));
	out_kv("quota", out_value(json_object_get(g, "quota")));
	out_kv("secret expires", out_time(json_object_get(g, "secret_expires")));
	out_kv("created", out_time(json_object_get(g, "created")));
}

/* {"quota": N or null, "secret_expires": T or null}, what was given. */
static int
limits_body(const struct cli_cmd *cmd, const struct group_args *a,
    json_t **bodyp)
{
	long long quota, when;
	json_t *body;

	if (a->quota == NULL && a->expires == NULL)
		return remote_usage_error(cmd, "nothing to set: give --quota "
		    "or --secret-expires");
	if ((a->quota != NULL &&
	    remote_parse_quota(cmd, a->quota, 1, &quota) != 0) ||
	    (a->expires != NULL &&
	    remote_parse_when(cmd, a->expires, 1, time(NULL), &when) != 0))
		return EXIT_USAGE;
	if ((body = json_object()) == NULL || (a->quota != NULL &&
	    json_object_set_new(body, "quota", quota < 0 ? json_null() :
	    json_integer(quota)) != 0) || (a->expires != NULL &&
	    json_object_set_new(body, "secret_expires", when < 0 ?
	    json_null() : json_integer(when)) != 0)) {
		json_decref(body);
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	*bodyp = body;
	return 0;
}

static int
exec_set(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct group_args a = { 0 };
	struct remote *r = NULL;
	json_t *body = NULL, *answer = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a, 1)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = limits_body(cmd, &a, &body)) != 0)
		return rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) == 0 &&
	    (rc = remote_call(r, "PATCH", a.path, body, &answer)) == 0)
		print_group(answer);
	json_decref(answer);
	json_decref(body);
	remote_free(r);
	return rc;
}

static int
exec_delete(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct group_args a = { 0 };
	struct remote *r = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a, 0)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	if ((rc = remote_call(r, "DELETE", a.path, NULL, NULL)) == 0)
		printf("deleted group %s\n", a.group);
	remote_free(r);
	return rc;
}
