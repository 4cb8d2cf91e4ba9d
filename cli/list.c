/* iotactl list groups | list devices -g GROUP: tables, or JSON for scripts. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"

#define PAGE	1000	/* devices per request, the API's maximum */

struct list_args {
	struct remote_opts	 ro;
	const char		*group;
	enum output_format	 format;
	long			 expiring;	/* --expiring, seconds; -1 */
};

static int
list_option(const struct cli_cmd *cmd, void *args, int key, const char *val)
{
	struct list_args *a = args;

	if (key == 'e') {
		if ((a->expiring = cli_duration(val)) < 0)
			return cli_usage_error(cmd, "--expiring: \"%s\" is not "
			    "a duration (N[smhd], up to 3650d)", val);
		return 0;
	}
	return remote_parse_output(cmd, val, &a->format) != 0 ? EXIT_USAGE : 0;
}

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct list_args *a,
    int with_group)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0)
		return rc;
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument");
	if (!with_group)
		return 0;
	if (a->group == NULL)
		return cli_usage_error(cmd, "-g GROUP is required");
	return remote_check_name(cmd, "group", a->group);
}

static int
print_table(struct table *t, int bad)
{
	if (!bad)
		table_print(t, stdout);
	else
		cli_error("out of memory");
	table_free(t);
	return bad ? EXIT_FAIL : 0;
}

static int
print_groups(const json_t *groups)
{
	static const char *const header[] = { "NAME", "DEVICES",
	    "PROVISIONED", "QUOTA", "SECRET-EXPIRES", "CREATED" };
	struct table *t;
	const json_t *g;
	size_t i;
	int bad = 0;

	if ((t = table_new(6, header)) == NULL)
		return print_table(NULL, 1);
	json_array_foreach(groups, i, g) {
		bad |= table_cell(t, out_value(json_object_get(g, "name"))) ||
		    table_cell(t, out_value(json_object_get(g, "devices"))) ||
		    table_cell(t, out_value(json_object_get(g, "provisioned"))) ||
		    table_cell(t, out_value(json_object_get(g, "quota"))) ||
		    table_cell(t, out_time(json_object_get(g, "secret_expires"))) ||
		    table_cell(t, out_time(json_object_get(g, "created")));
		if (bad)
			break;
	}
	return print_table(t, bad);
}

static int
exec_list_groups(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct list_args a = { .format = OUTPUT_TABLE };
	struct remote *r = NULL;
	json_t *answer = NULL, *groups;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a, 0)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	if ((rc = remote_call(r, "GET", "/v1/groups", NULL, &answer)) != 0)
		goto out;
	if (!json_is_array(groups = json_object_get(answer, "groups"))) {
		cli_error("the server's answer has no \"groups\"");
		rc = EXIT_UNREACHABLE;
	} else if (a.format == OUTPUT_JSON)
		rc = out_json(answer);
	else
		rc = print_groups(groups);
out:
	json_decref(answer);
	remote_free(r);
	return rc;
}

/* Every page, until the server has no more: offset/limit as in the API. */
static int
fetch_devices(struct remote *r, const char *group, json_t *all)
{
	json_t *answer = NULL, *page, *total;
	char path[256];
	size_t offset = 0;
	int rc;

	for (;;) {
		snprintf(path, sizeof(path),
		    "/v1/groups/%s/devices?offset=%zu&limit=%d", group, offset,
		    PAGE);
		if ((rc = remote_call(r, "GET", path, NULL, &answer)) != 0)
			return rc;
		if (!json_is_array(page = json_object_get(answer, "devices"))) {
			cli_error("the server's answer has no \"devices\"");
			json_decref(answer);
			return EXIT_UNREACHABLE;
		}
		offset += json_array_size(page);
		total = json_object_get(answer, "total");
		if (json_array_extend(all, page) != 0) {
			cli_error("out of memory");
			json_decref(answer);
			return EXIT_FAIL;
		}
		/* A short page is the last, whatever "total" says. */
		if (json_array_size(page) < PAGE || (json_is_integer(total) &&
		    (json_int_t)offset >= json_integer_value(total))) {
			json_decref(answer);
			return 0;
		}
		json_decref(answer);
		answer = NULL;
	}
}

static int
print_devices(const json_t *devices)
{
	static const char *const header[] = { "NAME", "STATE", "SERIAL",
	    "NOT-AFTER", "PROVISIONED-AT" };
	struct table *t;
	const json_t *d;
	size_t i;
	int bad = 0;

	if ((t = table_new(5, header)) == NULL)
		return print_table(NULL, 1);
	json_array_foreach(devices, i, d) {
		bad |= table_cell(t, out_value(json_object_get(d, "name"))) ||
		    table_cell(t, out_value(json_object_get(d, "state"))) ||
		    table_cell(t, out_value(json_object_get(d, "serial"))) ||
		    table_cell(t, out_time(json_object_get(d, "not_after"))) ||
		    table_cell(t, out_time(json_object_get(d, "provisioned_at")));
		if (bad)
			break;
	}
	return print_table(t, bad);
}

static int
exec_list_devices(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct list_args a = { .format = OUTPUT_TABLE };
	struct remote *r = NULL;
	json_t *all = NULL, *doc = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a, 1)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	if ((all = json_array()) == NULL ||
	    (doc = json_pack("{s:O}", "devices", all)) == NULL) {
		cli_error("out of memory");
		rc = EXIT_FAIL;
	} else if ((rc = fetch_devices(r, a.group, all)) == 0)
		rc = a.format == OUTPUT_JSON ? out_json(doc) :
		    print_devices(all);
	json_decref(doc);
	json_decref(all);
	remote_free(r);
	return rc;
}

/* Every page of the tenant's certificates, as the filter asks. */
static int
fetch_certs(struct remote *r, const struct list_args *a, json_t *all)
{
	json_t *answer = NULL, *page;
	char path[256], filter[160] = "";
	size_t offset = 0, n = 0;
	int rc;

	if (a->group != NULL)
		n = (size_t)snprintf(filter, sizeof(filter), "&group=%s",
		    a->group);
	if (a->expiring >= 0)
		snprintf(filter + n, sizeof(filter) - n, "&expiring=%ld",
		    a->expiring);
	for (;;) {
		snprintf(path, sizeof(path), "/v1/certificates?offset=%zu"
		    "&limit=%d%s", offset, PAGE, filter);
		if ((rc = remote_call(r, "GET", path, NULL, &answer)) != 0)
			return rc;
		if (!json_is_array(page = json_object_get(answer,
		    "certificates"))) {
			cli_error("the server's answer has no \"certificates\"");
			json_decref(answer);
			return EXIT_UNREACHABLE;
		}
		offset += json_array_size(page);
		rc = json_array_extend(all, page) != 0;
		n = json_array_size(page);
		json_decref(answer);
		answer = NULL;
		if (rc) {
			cli_error("out of memory");
			return EXIT_FAIL;
		}
		if (n < PAGE)
			return 0;
	}
}

static int
print_certs(const json_t *certs)
{
	static const char *const header[] = { "SERIAL", "GROUP", "DEVICE",
	    "STATUS", "NOT-AFTER", "CURRENT" };
	struct table *t;
	const json_t *c;
	size_t i;
	int bad = 0;

	if ((t = table_new(6, header)) == NULL)
		return print_table(NULL, 1);
	json_array_foreach(certs, i, c) {
		bad |= table_cell(t, out_value(json_object_get(c, "serial"))) ||
		    table_cell(t, out_value(json_object_get(c, "group"))) ||
		    table_cell(t, out_value(json_object_get(c, "device"))) ||
		    table_cell(t, out_value(json_object_get(c, "status"))) ||
		    table_cell(t, out_time(json_object_get(c, "not_after"))) ||
		    table_cell(t, json_is_true(json_object_get(c, "current")) ?
		    "yes" : "no");
		if (bad)
			break;
	}
	return print_table(t, bad);
}

static int
exec_list_certs(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct list_args a = { .format = OUTPUT_TABLE, .expiring = -1 };
	struct remote *r = NULL;
	json_t *all = NULL, *doc = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a, 0)) != 0)
		return rc == -1 ? 0 : rc;
	if (a.group != NULL && remote_check_name(cmd, "group", a.group) != 0)
		return EXIT_USAGE;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	if ((all = json_array()) == NULL ||
	    (doc = json_pack("{s:O}", "certificates", all)) == NULL) {
		cli_error("out of memory");
		rc = EXIT_FAIL;
	} else if ((rc = fetch_certs(r, &a, all)) == 0)
		rc = a.format == OUTPUT_JSON ? out_json(doc) : print_certs(all);
	json_decref(doc);
	json_decref(all);
	remote_free(r);
	return rc;
}

static const struct cli_opt list_certs_opts[] = {
	CLI_STR("group", 'g', "GROUP", "only this group's", struct list_args,
	    group),
	CLI_CALL_OPT("expiring", 0, "DURATION",
	    "only valid ones expiring within DURATION (N[smhd]),\nexpired "
	    "ones included", 'e'),
	REMOTE_OUTPUT_OPT,
	CLI_OPTS_REMOTE(struct list_args, ro),
	CLI_OPT_END,
};

const struct cli_cmd cmd_list_certs = {
	"list certs",
	"list the device certificates, by expiry",
	"[-g GROUP] [--expiring DURATION] [-o table|json] [remote options]",
	"List the tenant's device certificates, soonest expiry first: serial,\n"
	"group, device, status (valid, expired, revoked), expiry, and whether\n"
	"it is the device's current one.  --expiring 30d lists what needs\n"
	"renewing within 30 days.  With -o json, one object\n"
	"{\"certificates\": [...]} holding all of them.",
	list_certs_opts,
	list_option,
	exec_list_certs,
	1,
};

static const struct cli_opt list_groups_opts[] = {
	REMOTE_OUTPUT_OPT,
	CLI_OPTS_REMOTE(struct list_args, ro),
	CLI_OPT_END,
};

static const struct cli_opt list_devices_opts[] = {
	CLI_STR("group", 'g', "GROUP", "the group", struct list_args, group),
	REMOTE_OUTPUT_OPT,
	CLI_OPTS_REMOTE(struct list_args, ro),
	CLI_OPT_END,
};

const struct cli_cmd cmd_list_groups = {
	"list groups",
	"list the groups",
	"[-o table|json] [remote options]",
	"List the tenant's groups: devices registered and provisioned, quota,\n"
	"expiry of the provisioning secret, creation time.  With -o json, one\n"
	"JSON object {\"groups\": [...]}, as the API gives it.",
	list_groups_opts,
	list_option,
	exec_list_groups,
	1,
};

const struct cli_cmd cmd_list_devices = {
	"list devices",
	"list the devices of a group",
	"-g GROUP [-o table|json] [remote options]",
	"List every device of the group (fetched in pages of 1000): state,\n"
	"certificate serial and expiry, time of provisioning.  With -o json,\n"
	"one JSON object {\"devices\": [...]} holding all of them.",
	list_devices_opts,
	list_option,
	exec_list_devices,
	1,
};
