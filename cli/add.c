/*
 * iotactl add: a group (and its provisioning secret), one device, or many
 * devices from a file, sent in chunks.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remote.h"

#define CHUNK		1000	/* names per request */
#define LINE_MAX_LEN	1024

struct add_args {
	struct remote_opts	 ro;
	const char		*group;
	const char		*from;
	const char		*quota_arg;
	const char		*expires_arg;
	long long		 quota;
	long long		 expires;
	char			*pos[2];
	int			 npos;
};

/* The names of a bulk add: unique, in the order of the file. */
struct names {
	char	**v;
	size_t	  n;
	size_t	  cap;
	char	**dup;		/* repeated in the file, or already registered */
	size_t	  ndup;
	size_t	  dupcap;
	size_t	  created;
};

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct add_args *a)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0)
		return rc;
	if (argc - optind > 2)
		return cli_usage_error(cmd, "too many arguments");
	for (; optind < argc; optind++)
		a->pos[a->npos++] = argv[optind];
	return 0;
}

static int
is_group_form(const struct add_args *a)
{
	return a->npos == 2 && strcmp(a->pos[0], "group") == 0;
}

/* Which of the three forms, and is it complete? */
static int
check_form(const struct cli_cmd *cmd, struct add_args *a)
{
	if (is_group_form(a)) {
		if (a->group != NULL || a->from != NULL)
			return cli_usage_error(cmd, "add group NAME takes no "
			    "-g or --from");
		if ((a->quota_arg != NULL && remote_parse_quota(cmd,
		    a->quota_arg, 0, &a->quota) != 0) ||
		    (a->expires_arg != NULL && remote_parse_when(cmd,
		    a->expires_arg, 0, time(NULL), &a->expires) != 0))
			return EXIT_USAGE;
		return remote_check_name(cmd, "group", a->pos[1]);
	}
	if (a->quota_arg != NULL || a->expires_arg != NULL)
		return cli_usage_error(cmd, "--quota and --secret-expires "
		    "are for add group NAME");
	if (a->npos == 2)
		return cli_usage_error(cmd, "too many arguments");
	if (a->npos == 0 && a->from == NULL)
		return cli_usage_error(cmd, "what to add: group NAME, a "
		    "DEVICE with -g GROUP, or -g GROUP --from FILE");
	if (a->npos == 1 && a->group == NULL && strcmp(a->pos[0], "group") == 0)
		return cli_usage_error(cmd, "a group NAME is required");
	/* "add group -g G" reads as either form: say both, register nothing. */
	if (a->npos == 1 && strcmp(a->pos[0], "group") == 0)
		return cli_usage_error(cmd, "ambiguous: use 'add group NAME' "
		    "for a group, or 'add DEVICE -g GROUP' for a device");
	if (a->group == NULL)
		return cli_usage_error(cmd, "-g GROUP is required");
	if (a->npos == 1 && a->from != NULL)
		return cli_usage_error(cmd, "a DEVICE or --from FILE, not "
		    "both");
	if (a->npos == 1 && remote_check_name(cmd, "device", a->pos[0]) != 0)
		return EXIT_USAGE;
	return remote_check_name(cmd, "group", a->group);
}

static int
add_group(struct remote *r, const struct add_args *a)
{
	json_t *body, *answer = NULL;
	const char *secret;
	int rc;

	if ((body = json_pack("{s:s}", "name", a->pos[1])) == NULL ||
	    (a->quota_arg != NULL && json_object_set_new(body, "quota",
	    json_integer(a->quota)) != 0) || (a->expires_arg != NULL &&
	    json_object_set_new(body, "secret_expires",
	    json_integer(a->expires)) != 0)) {
		json_decref(body);
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	if ((rc = remote_call(r, "POST", "/v1/groups", body, &answer)) == 0) {
		if ((secret = remote_string(answer, "provisioning_secret")) ==
		    NULL)
			rc = EXIT_UNREACHABLE;
		else
			printf("Provisioning Secret: %s\n", secret);
	}
	json_decref(answer);
	json_decref(body);
	return rc;
}

static int
add_device(struct remote *r, const struct add_args *a)
{
	json_t *body;
	char path[256];
	int rc;

	snprintf(path, sizeof(path), "/v1/groups/%s/devices", a->group);
	if ((body = json_pack("{s:s}", "name", a->pos[0])) == NULL) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	if ((rc = remote_call(r, "POST", path, body, NULL)) == 0)
		printf("registered device %s in group %s\n", a->pos[0],
		    a->group);
	json_decref(body);
	return rc;
}

/* --- bulk ---------------------------------------------------------------- */

static void
names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	for (size_t i = 0; i < ns->ndup; i++)
		free(ns->dup[i]);
	free(ns->v);
	free(ns->dup);
}

static int
names_push(char ***v, size_t *n, size_t *cap, const char *name)
{
	size_t grown = *cap ? 2 * *cap : 1024;
	char **p;

	if (*n == *cap) {
		if ((p = reallocarray(*v, grown, sizeof(*p))) == NULL)
			return -1;
		*v = p;
		*cap = grown;
	}
	if (((*v)[*n] = strdup(name)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* A line, trimmed; NULL for a blank line or a comment. */
static char *
line_name(char *line)
{
	char *end;

	line += strspn(line, " \t\r\n");
	if (*line == '\0' || *line == '#')
		return NULL;
	for (end = line + strlen(line); end > line &&
	    strchr(" \t\r\n", end[-1]) != NULL; end--)
		;
	*end = '\0';
	return line;
}

static int
read_lines(FILE *fp, const char *file, struct names *ns)
{
	char *line = NULL, *name;
	size_t size = 0, lineno = 0;
	ssize_t len;
	int rc = 0;

	while (rc == 0 && (len = getline(&line, &size, fp)) != -1) {
		lineno++;
		if (len > LINE_MAX_LEN || memchr(line, '\0', (size_t)len)) {
			cli_error("%s:%zu: not a line of text", file, lineno);
			rc = EXIT_FAIL;
		} else if ((name = line_name(line)) == NULL)
			continue;
		else if (!ca_name_is_safe(name)) {
			cli_error("%s:%zu: bad device name: use 1 to 64 "
			    "letters, digits, '-' or '_', starting with a letter "
			    "or digit", file, lineno);
			rc = EXIT_FAIL;
		} else if (names_push(&ns->v, &ns->n, &ns->cap, name) == -1) {
			cli_error("out of memory");
			rc = EXIT_FAIL;
		}
	}
	if (rc == 0 && ferror(fp)) {
		cli_error("cannot read %s: %s", file, strerror(errno));
		rc = EXIT_FAIL;
	}
	free(line);
	return rc;
}

static char **sort_names;	/* for qsort: the names that idx points into */

static int
cmp_index(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_names[i], sort_names[j]);

	return c != 0 ? c : (i > j) - (i < j);
}

/* A name repeated in the file is sent once; the repeats are duplicates. */
static int
dedup(struct names *ns)
{
	size_t *idx, k = 0;
	char *prev = NULL;

	if (ns->n == 0)
		return 0;
	if ((idx = calloc(ns->n, sizeof(*idx))) == NULL)
		return -1;
	for (size_t i = 0; i < ns->n; i++)
		idx[i] = i;
	sort_names = ns->v;
	qsort(idx, ns->n, sizeof(*idx), cmp_index);
	for (size_t i = 0; i < ns->n; i++) {
		char *cur = ns->v[idx[i]];

		if (prev != NULL && strcmp(prev, cur) == 0) {
			if (names_push(&ns->dup, &ns->ndup, &ns->dupcap, cur)
			    == -1) {
				free(idx);
				return -1;
			}
			ns->v[idx[i]] = NULL;	/* freed below */
			free(cur);
		} else
			prev = cur;
	}
	for (size_t i = 0; i < ns->n; i++)
		if (ns->v[i] != NULL)
			ns->v[k++] = ns->v[i];
	ns->n = k;
	free(idx);
	return 0;
}

static int
read_names(const char *file, struct names *ns)
{
	FILE *fp;
	int rc;

	if (strcmp(file, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(file, "r")) == NULL) {
		cli_error("cannot open %s: %s", file, strerror(errno));
		return EXIT_FAIL;
	}
	rc = read_lines(fp, strcmp(file, "-") == 0 ? "stdin" : file, ns);
	if (fp != stdin)
		fclose(fp);
	if (rc == 0 && dedup(ns) == -1) {
		cli_error("out of memory");
		rc = EXIT_FAIL;
	}
	return rc;
}

static int
take_answer(const json_t *answer, struct names *ns)
{
	const json_t *created = json_object_get(answer, "created");
	const json_t *dups = json_object_get(answer, "duplicates");
	const json_t *v;
	size_t i;

	if (!json_is_array(created) || !json_is_array(dups)) {
		out_error("the server's answer has no \"created\" and "
		    "\"duplicates\"");
		return EXIT_UNREACHABLE;
	}
	ns->created += json_array_size(created);
	json_array_foreach(dups, i, v) {
		if (json_is_string(v) && names_push(&ns->dup, &ns->ndup,
		    &ns->dupcap, json_string_value(v)) == -1) {
			out_error("out of memory");
			return EXIT_FAIL;
		}
	}
	return 0;
}

static int
send_chunk(struct remote *r, const char *path, struct names *ns, size_t off,
    size_t n)
{
	json_t *arr, *body, *answer = NULL;
	int rc = EXIT_FAIL;

	if ((arr = json_array()) == NULL ||
	    (body = json_pack("{s:o}", "names", arr)) == NULL) {
		out_error("out of memory");
		return EXIT_FAIL;
	}
	for (size_t i = off; i < off + n; i++)
		if (json_array_append_new(arr, json_string(ns->v[i])) != 0) {
			out_error("out of memory");
			goto out;
		}
	if ((rc = remote_call(r, "POST", path, body, &answer)) == 0)
		rc = take_answer(answer, ns);
out:
	json_decref(answer);
	json_decref(body);
	return rc;
}

static void
report(const struct names *ns)
{
	printf("created: %zu\nduplicates: %zu\n", ns->created, ns->ndup);
	for (size_t i = 0; i < ns->ndup; i++)
		printf("  %s\n", ns->dup[i]);
}

static int
add_bulk(struct remote *r, const struct add_args *a)
{
	struct names ns = { 0 };
	int bar = isatty(STDERR_FILENO), rc;
	char path[256];
	size_t done, n;

	snprintf(path, sizeof(path), "/v1/groups/%s/devices", a->group);
	if ((rc = read_names(a->from, &ns)) != 0)
		goto out;
	for (done = 0; done < ns.n; done += n) {
		if (bar)
			out_progress(done, ns.n);
		n = ns.n - done < CHUNK ? ns.n - done : CHUNK;
		if ((rc = send_chunk(r, path, &ns, done, n)) != 0)
			goto out;
	}
	if (bar) {
		out_progress(ns.n, ns.n);
		out_progress_end();
	}
	report(&ns);
out:
	names_free(&ns);
	return rc;
}

static int
exec_add(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct add_args a = { 0 };
	struct remote *r = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = check_form(cmd, &a)) != 0 ||
	    (rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0)
		return rc;
	if (is_group_form(&a))
		rc = add_group(r, &a);
	else if (a.from != NULL)
		rc = add_bulk(r, &a);
	else
		rc = add_device(r, &a);
	remote_free(r);
	return rc;
}

static const struct cli_opt add_opts[] = {
	CLI_STR("group", 'g', "GROUP", "the device's group", struct add_args,
	    group),
	CLI_STR("from", 0, "FILE", "device names, one per line",
	    struct add_args, from),
	CLI_STR("quota", 0, "N", "group: at most N provisioned devices",
	    struct add_args, quota_arg),
	CLI_STR("secret-expires", 0, "WHEN", "group: " REMOTE_WHEN_HELP,
	    struct add_args, expires_arg),
	CLI_OPTS_REMOTE(struct add_args, ro),
	CLI_OPT_END,
};

const struct cli_cmd cmd_add = {
	"add",
	"create a group (add group NAME) or register devices",
	"group NAME [--quota N] [--secret-expires WHEN] [remote options]\n"
	"       iotactl add DEVICE -g GROUP [remote options]\n"
	"       iotactl add -g GROUP --from FILE [remote options]",
	"Create a group and print its provisioning secret, once, as\n"
	"\"Provisioning Secret: SECRET\"; or register a device in a group; or\n"
	"register the devices named in FILE, one per line (blank lines and lines\n"
	"starting with # are skipped; - is standard input), in requests of at\n"
	"most 1000 names.  Names already registered are reported as duplicates\n"
	"and are not an error.",
	add_opts,
	NULL,
	exec_add,
	1,
};
