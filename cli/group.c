/* iotactl group rotate-secret | set | delete: a group's secret and limits. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"

struct group_args {
	struct remote_opts	 ro;
	const char		*group;
	const char		*quota;
	const char		*expires;
	const char		*days;		/* --certificate-days */
	const char		*grace;		/* --renew-grace */
	char			 path[128];
};

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct group_args *a)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0 ||
	    (rc = cli_one_operand(cmd, argc, argv, "GROUP", &a->group)) != 0)
		return rc;
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

	if ((rc = parse(cmd, argc, argv, &a)) != 0)
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
	out_kv("certificate days", json_is_null(json_object_get(g,
	    "certificate_days")) ? "iotad's default" :
	    out_value(json_object_get(g, "certificate_days")));
	out_kv("renew grace (s)", json_is_null(json_object_get(g,
	    "renew_grace")) ? "iotad's default" :
	    out_value(json_object_get(g, "renew_grace")));
	out_kv("created", out_time(json_object_get(g, "created")));
}

/* The policy's values: "default" is null, iotad's configuration. */
static int
policy_value(const struct cli_cmd *cmd, const char *opt, const char *val,
    long min, long max, int duration, long long *v)
{
	char *end;

	if (strcmp(val, "default") == 0) {
		*v = -1;
		return 0;
	}
	*v = duration ? cli_duration(val) : strtol(val, &end, 10);
	if ((!duration && (*val == '\0' || *end != '\0')) || *v < min ||
	    *v > max)
		return cli_usage_error(cmd, "%s: \"%s\" is out of range "
		    "(%ld..%ld%s, or default)", opt, val, min, duration ?
		    max / 86400 : max, duration ? " days as N[smhd]" : "");
	return 0;
}

static int
set_opt(json_t *body, const char *name, const char *given, long long v)
{
	return given == NULL || json_object_set_new(body, name, v < 0 ?
	    json_null() : json_integer(v)) == 0 ? 0 : -1;
}

/* {"quota", "secret_expires", "certificate_days", "renew_grace"}: given. */
static int
limits_body(const struct cli_cmd *cmd, const struct group_args *a,
    json_t **bodyp)
{
	long long quota, when, days = -1, grace = -1;
	json_t *body;

	if (a->quota == NULL && a->expires == NULL && a->days == NULL &&
	    a->grace == NULL)
		return cli_usage_error(cmd, "nothing to set: give --quota, "
		    "--secret-expires, --certificate-days or --renew-grace");
	if ((a->quota != NULL &&
	    remote_parse_quota(cmd, a->quota, 1, &quota) != 0) ||
	    (a->expires != NULL &&
	    remote_parse_when(cmd, a->expires, 1, time(NULL), &when) != 0) ||
	    (a->days != NULL && policy_value(cmd, "--certificate-days",
	    a->days, 1, 3650, 0, &days) != 0) ||
	    (a->grace != NULL && policy_value(cmd, "--renew-grace", a->grace,
	    0, 365L * 86400, 1, &grace) != 0))
		return EXIT_USAGE;
	if ((body = json_object()) == NULL || (a->quota != NULL &&
	    json_object_set_new(body, "quota", quota < 0 ? json_null() :
	    json_integer(quota)) != 0) || (a->expires != NULL &&
	    json_object_set_new(body, "secret_expires", when < 0 ?
	    json_null() : json_integer(when)) != 0) ||
	    set_opt(body, "certificate_days", a->days, days) == -1 ||
	    set_opt(body, "renew_grace", a->grace, grace) == -1) {
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

	if ((rc = parse(cmd, argc, argv, &a)) != 0)
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

	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	if ((rc = remote_call(r, "DELETE", a.path, NULL, NULL)) == 0)
		printf("deleted group %s\n", a.group);
	remote_free(r);
	return rc;
}

static const struct cli_opt group_opts[] = {
	CLI_OPTS_REMOTE(struct group_args, ro),
	CLI_OPT_END,
};

static const struct cli_opt group_set_opts[] = {
	CLI_STR("quota", 0, "N|none",
	    "at most N provisioned devices; none: no quota", struct group_args,
	    quota),
	CLI_STR("secret-expires", 0, "WHEN|none", REMOTE_WHEN_HELP
	    "; none: no expiry", struct group_args, expires),
	CLI_STR("certificate-days", 0, "N|default",
	    "validity of the group's certificates, 1..3650,\ncut short where "
	    "the intermediate ends", struct group_args, days),
	CLI_STR("renew-grace", 0, "DURATION|default",
	    "how long after expiry a device may still renew\n(0s..365d, as "
	    "N[smhd])", struct group_args, grace),
	CLI_OPTS_REMOTE(struct group_args, ro),
	CLI_OPT_END,
};

const struct cli_cmd cmd_group_rotate = {
	"group rotate-secret",
	"replace the group's provisioning secret",
	"GROUP [remote options]",
	"Give the group a new provisioning secret and print it, once, as\n"
	"\"Provisioning Secret: SECRET\", then until when the previous one stays\n"
	"valid (iotad's configured overlap), so devices in the field can move on.",
	group_opts,
	NULL,
	exec_rotate,
	1,
};

const struct cli_cmd cmd_group_set = {
	"group set",
	"set the group's quota, secret expiry or certificate policy",
	"GROUP [--quota N|none] [--secret-expires WHEN|none]\n"
	"    [--certificate-days N|default] [--renew-grace DURATION|default]\n"
	"    [remote options]",
	"Change the group's device quota, the expiry of its provisioning\n"
	"secret (none removes the limit), or its certificate policy: the\n"
	"validity of new certificates and how long after expiry a device may\n"
	"still renew (default: iotad's provisioning.certificate_days and\n"
	"provisioning.renew_grace).  Prints the group.",
	group_set_opts,
	NULL,
	exec_set,
	1,
};

const struct cli_cmd cmd_group_delete = {
	"group delete",
	"delete a group",
	"GROUP [remote options]",
	"Delete the group.  iotad refuses while devices of the group are\n"
	"provisioned (exit 5).",
	group_opts,
	NULL,
	exec_delete,
	1,
};
