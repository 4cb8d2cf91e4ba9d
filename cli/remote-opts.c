/*
 * What the remote verbs share: --server, --ca-file and the bearer token,
 * with their environment variables; credentials read without ever showing
 * them; usage and help of verbs that are not under `ca`; the arguments that
 * several verbs take (names, --quota, --secret-expires, -o).
 *
 * Usage errors of these verbs never repeat an argument's value: a secret
 * typed in the wrong place must not come back on the terminal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "remote.h"

#define QUOTA_MAX	1000000000LL
#define WHEN_MAX	(100LL * 366 * 86400)	/* seconds ahead */

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * https://host[:port][/prefix], nothing else: no user or password (they
 * would show in errors), no query, no fragment.  The base has no trailing
 * slash, so that base + "/v1/..." is the route.
 */
static int
server_base(const struct cli_cmd *cmd, const char *src, const char *url,
    char **basep)
{
	CURLU *u;
	char *scheme = NULL, *full = NULL, *part = NULL;
	int rc = EXIT_USAGE;
	size_t len;

	if ((u = curl_url()) == NULL) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strcmp(scheme, "https") != 0)
		cli_usage_error(cmd, "%s is not an https:// URL", src);
	else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK)
		cli_usage_error(cmd, "%s: no user name or password in the "
		    "URL, please", src);
	else if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK)
		cli_usage_error(cmd, "%s: no query or fragment in the URL, "
		    "please", src);
	else if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK ||
	    (*basep = strdup(full)) == NULL)
		cli_error("out of memory");
	else {
		for (len = strlen(*basep); len > 0 && (*basep)[len - 1] == '/';)
			(*basep)[--len] = '\0';
		rc = 0;
	}
	curl_free(part);
	curl_free(full);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

int
remote_connect(const struct cli_cmd *cmd, const struct remote_opts *ro,
    const char *bearer, struct remote **rp)
{
	const struct secret_source token = { "token", "--token",
	    "--token-file", "IOTA_TOKEN", "IOTA_TOKEN_FILE", ro->token,
	    ro->token_file };
	const char *server = ro->server ? ro->server : env("IOTA_SERVER");
	const char *ca_file = ro->ca_file ? ro->ca_file : env("IOTA_CA_FILE");
	char *base = NULL, *tok = NULL;
	X509 *root;
	int rc;

	*rp = NULL;
	if (server == NULL)
		return cli_usage_error(cmd, "no server: give --server URL "
		    "or set IOTA_SERVER");
	if ((rc = server_base(cmd, ro->server ? "--server" : "IOTA_SERVER",
	    server, &base)) != 0)
		return rc;
	if (ca_file != NULL && (root = ca_cert_read(ca_file)) == NULL) {
		cli_error("CA file: %s", ca_errstr());
		free(base);
		return EXIT_FAIL;
	}
	if (ca_file != NULL)
		X509_free(root);
	if (bearer == NULL && (rc = remote_secret(cmd, &token, &tok)) != 0) {
		free(base);
		return rc;
	}
	*rp = remote_new(base, ca_file, bearer != NULL ? bearer : tok);
	remote_secret_free(tok);
	free(base);
	return *rp != NULL ? 0 : EXIT_FAIL;
}

/* Printable ASCII without spaces: it goes into an HTTP header. */
static int
secret_ok(const char *s, size_t len)
{
	if (len == 0 || len > REMOTE_TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* The first line of a file. */
static int
secret_from_file(const struct secret_source *src, const char *path,
    char **out)
{
	unsigned char *data;
	size_t size, len;

	if ((data = ca_file_read(path, 64 * 1024, &size)) == NULL) {
		cli_error("%s file: %s", src->what, ca_errstr());
		return EXIT_FAIL;
	}
	len = strcspn((char *)data, "\r\n");
	if (!secret_ok((char *)data, len)) {
		cli_error("%s: no valid %s on its first line", path,
		    src->what);
		OPENSSL_clear_free(data, size);
		return EXIT_FAIL;
	}
	data[len] = '\0';
	*out = strdup((char *)data);
	OPENSSL_clear_free(data, size);
	if (*out == NULL) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	return 0;
}

static int
secret_from_value(const struct cli_cmd *cmd, const struct secret_source *src,
    const char *where, const char *value, char **out)
{
	if (!secret_ok(value, strlen(value)))
		return cli_usage_error(cmd, "the %s in %s is not valid "
		    "(printable ASCII, no spaces)", src->what, where);
	if ((*out = strdup(value)) == NULL) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	return 0;
}

int
remote_secret(const struct cli_cmd *cmd, const struct secret_source *src,
    char **out)
{
	const char *v;

	*out = NULL;
	if (src->value != NULL && src->file != NULL)
		return cli_usage_error(cmd, "give %s or %s, not both",
		    src->opt, src->file_opt);
	if (src->value != NULL)
		return secret_from_value(cmd, src, src->opt, src->value, out);
	if (src->file != NULL)
		return secret_from_file(src, src->file, out);
	if ((v = env(src->env)) != NULL)
		return secret_from_value(cmd, src, src->env, v, out);
	if ((v = env(src->env_file)) != NULL)
		return secret_from_file(src, v, out);
	return cli_usage_error(cmd, "no %s: give %s FILE (or %s), or set "
	    "%s or %s", src->what, src->file_opt, src->opt, src->env_file,
	    src->env);
}

void
remote_secret_free(char *s)
{
	if (s != NULL)
		OPENSSL_clear_free(s, strlen(s));
}

int
remote_check_name(const struct cli_cmd *cmd, const char *what,
    const char *name)
{
	if (ca_name_is_safe(name))
		return 0;
	return cli_usage_error(cmd, "bad %s name: use 1 to 64 letters, "
	    "digits, '-' or '_', starting with a letter or digit", what);
}

int
remote_parse_output(const struct cli_cmd *cmd, const char *arg,
    enum output_format *fmt)
{
	if (strcmp(arg, "table") == 0)
		*fmt = OUTPUT_TABLE;
	else if (strcmp(arg, "json") == 0)
		*fmt = OUTPUT_JSON;
	else
		return cli_usage_error(cmd, "-o: \"%s\" is not table or "
		    "json", arg);
	return 0;
}

static int
parse_number(const char *arg, long long max, long long *n)
{
	char *end;

	if (arg[0] < '0' || arg[0] > '9')
		return -1;
	errno = 0;
	*n = strtoll(arg, &end, 10);
	if (errno != 0 || *end != '\0' || *n > max)
		return -1;
	return 0;
}

int
remote_parse_quota(const struct cli_cmd *cmd, const char *arg, int none_ok,
    long long *quota)
{
	if (none_ok && strcmp(arg, "none") == 0) {
		*quota = -1;
		return 0;
	}
	if (parse_number(arg, QUOTA_MAX, quota) == -1)
		return cli_usage_error(cmd, "--quota: \"%.32s\" is not a "
		    "number of devices (0..%lld%s)", arg, QUOTA_MAX,
		    none_ok ? " or none" : "");
	return 0;
}

/* `s` has the shape of `pattern`, where 9 stands for any digit. */
static int
shaped(const char *s, const char *pattern)
{
	for (; *pattern != '\0'; s++, pattern++)
		if (*pattern == '9' ? *s < '0' || *s > '9' : *s != *pattern)
			return 0;
	return *s == '\0';
}

/* YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, in UTC; no February 30th. */
static int
parse_date(const char *arg, long long *when)
{
	struct tm tm = { 0 }, back;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	time_t t;

	if (shaped(arg, "9999-99-99"))
		sscanf(arg, "%d-%d-%d", &y, &mo, &d);
	else if (shaped(arg, "9999-99-99T99:99:99Z"))
		sscanf(arg, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec);
	else
		return -1;
	if (y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (gmtime_r(&t, &back) == NULL || back.tm_year != y - 1900 ||
	    back.tm_mon != mo - 1 || back.tm_mday != d || back.tm_hour != h ||
	    back.tm_min != mi || back.tm_sec != sec)
		return -1;
	*when = (long long)t;
	return 0;
}

/* N, Ns, Nm, Nh or Nd from now. */
static int
parse_duration(const char *arg, time_t now, long long *when)
{
	static const struct { char unit; long long secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char num[32];
	size_t len = strlen(arg);
	long long n, mult = 1;

	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, arg, len + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (num[len - 1] == units[i].unit) {
			mult = units[i].secs;
			num[len - 1] = '\0';
		}
	if (parse_number(num, WHEN_MAX, &n) == -1 || n > WHEN_MAX / mult)
		return -1;
	*when = (long long)now + n * mult;
	return 0;
}

int
remote_parse_when(const struct cli_cmd *cmd, const char *arg, int none_ok,
    time_t now, long long *when)
{
	long long n;

	if (none_ok && strcmp(arg, "none") == 0) {
		*when = -1;
		return 0;
	}
	if (arg[0] == '@' && parse_number(arg + 1, (long long)now + WHEN_MAX,
	    &n) == 0) {
		*when = n;
		return 0;
	}
	if (parse_duration(arg, now, when) == 0 || parse_date(arg, when) == 0)
		return 0;
	return cli_usage_error(cmd, "--secret-expires: \"%.40s\" is not "
	    "YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, @UNIXTIME or a number of "
	    "seconds (or N[smhd]) from now%s", arg, none_ok ? ", or none" : "");
}

const struct cli_opt remote_device_opts[] = {
	CLI_STR("group", 'g', "GROUP", "the device's group", struct device_args,
	    group),
	REMOTE_OUTPUT_OPT,
	CLI_OPTS_REMOTE(struct device_args, ro),
	CLI_OPT_END,
};

int
remote_device_option(const struct cli_cmd *cmd, void *args, int key,
    const char *val)
{
	struct device_args *a = args;

	return remote_parse_output(cmd, val, &a->format) != 0 ? EXIT_USAGE : 0;
}

int
remote_parse_device(const struct cli_cmd *cmd, int argc, char **argv,
    struct device_args *a)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0 ||
	    (rc = cli_one_operand(cmd, argc, argv, "DEVICE", &a->device)) != 0)
		return rc;
	if (a->group == NULL)
		return cli_usage_error(cmd, "-g GROUP is required");
	if (remote_check_name(cmd, "device", a->device) != 0 ||
	    remote_check_name(cmd, "group", a->group) != 0)
		return EXIT_USAGE;
	snprintf(a->path, sizeof(a->path), "/v1/groups/%s/devices/%s",
	    a->group, a->device);
	return 0;
}

/*
 * The verbs on one device (show, revoke, enable): DEVICE -g GROUP, one
 * call to the device's path plus `suffix`, the device printed.
 */
int
remote_device_verb_with(const struct cli_cmd *cmd, int argc, char **argv,
    const char *method, const char *suffix, json_t *(*make_body)(
    const struct cli_cmd *, const struct device_args *, int *))
{
	struct device_args a = { .format = OUTPUT_TABLE };
	struct remote *r = NULL;
	json_t *answer = NULL, *body = NULL;
	int rc;

	if ((rc = remote_parse_device(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	if (make_body != NULL && (body = make_body(cmd, &a, &rc)) == NULL &&
	    rc != 0)
		return rc;
	if ((rc = remote_connect(cmd, &a.ro, NULL, &r)) != 0) {
		json_decref(body);
		return rc;
	}
	strncat(a.path, suffix, sizeof(a.path) - strlen(a.path) - 1);
	if ((rc = remote_call(r, method, a.path, body, &answer)) == 0)
		rc = out_device(answer, a.format);
	json_decref(answer);
	json_decref(body);
	remote_free(r);
	return rc;
}

int
remote_device_verb(const struct cli_cmd *cmd, int argc, char **argv,
    const char *method, const char *suffix)
{
	return remote_device_verb_with(cmd, argc, argv, method, suffix, NULL);
}
