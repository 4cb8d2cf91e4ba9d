/*
 * conf/: the loader, the printer, the help and the file checks, over
 * fixtures written at run time into a private temporary directory.  The
 * sample conf/iotad.yaml and man/iotad.yaml.5 are read from $TOP_SRCDIR
 * (or $srcdir, or the current directory).  Speaks TAP.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"

/*
 * A tiny TAP emitter.  Results wait in a temporary file so that the plan
 * comes first without anyone counting tests by hand.
 */
static FILE	*tap_buf;
static int	 tap_n, tap_failed;

static void	 ok(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 diag(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

static void
ok(int pass, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(tap_buf, "%sok %d - ", pass ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vfprintf(tap_buf, fmt, ap);
	va_end(ap);
	putc('\n', tap_buf);
	if (!pass)
		tap_failed++;
}

static void
diag(const char *fmt, ...)
{
	va_list	 ap;

	fputs("# ", tap_buf);
	va_start(ap, fmt);
	vfprintf(tap_buf, fmt, ap);
	va_end(ap);
	putc('\n', tap_buf);
}

static int
tap_done(void)
{
	int	 c;

	printf("1..%d\n", tap_n);
	rewind(tap_buf);
	while ((c = getc(tap_buf)) != EOF)
		putchar(c);
	fclose(tap_buf);
	return tap_failed > 0;
}

/*
 * Fixtures.
 */

static char	*tmp;			/* realpath of our directory */
static char	*made[64];		/* to remove, newest last */
static size_t	 nmade;

static void
die(const char *what)
{
	fprintf(stderr, "conf-test: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
track(const char *path)
{
	size_t	 i;

	for (i = 0; i < nmade; i++)
		if (strcmp(made[i], path) == 0)
			return;
	if (nmade == sizeof(made) / sizeof(made[0]) ||
	    (made[nmade++] = strdup(path)) == NULL)
		die("track");
}

static void
cleanup(void)
{
	while (nmade > 0) {
		nmade--;
		remove(made[nmade]);
		free(made[nmade]);
	}
	rmdir(tmp);
	free(tmp);
}

/* tmp/name, into buf. */
static const char *
tpath(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", tmp, name);
	return buf;
}

static const char *
write_file(const char *name, const char *data, size_t len, mode_t mode)
{
	static char	 path[PATH_MAX];
	FILE		*fp;

	tpath(path, name);
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(data, 1, len, fp) != len || fclose(fp) != 0 ||
	    chmod(path, mode) == -1)
		die(path);
	track(path);
	return path;
}

static const char *
fixture(const char *name, const char *yaml)
{
	return write_file(name, yaml, strlen(yaml), 0644);
}

static void
make_dir(const char *name, mode_t mode)
{
	char	 path[PATH_MAX];

	tpath(path, name);
	if (mkdir(path, mode) == -1 || chmod(path, mode) == -1)
		die(path);
	track(path);
}

/* A file of the source tree; NULL if unreadable. */
static char *
slurp(const char *rel)
{
	const char	*top = getenv("TOP_SRCDIR");
	char		 path[PATH_MAX], *buf;
	FILE		*fp;
	long		 len;

	if (top == NULL && (top = getenv("srcdir")) == NULL)
		top = ".";
	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == -1 || (len = ftell(fp)) < 0 ||
	    (buf = calloc(1, len + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	rewind(fp);
	if (fread(buf, 1, len, fp) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	return buf;
}

/* The nine lines every valid iotad.yaml needs. */
#define REQ								\
	"tls:\n"							\
	"  certificate: /etc/iota/iotad.crt\n"				\
	"  key: /etc/iota/iotad.key\n"					\
	"ca:\n"								\
	"  dir: /etc/iota/ca\n"						\
	"  passphrase_file: /etc/iota/ca.pass\n"			\
	"state:\n"							\
	"  dir: /var/lib/iota\n"					\
	"  key_file: /etc/iota/state.key\n"

/*
 * Reading fields through the table, as the loader does.
 */

static const struct conf_key *
key_named(const struct conf_table *t, const char *name)
{
	size_t	 i;

	for (i = 0; i < t->nkeys; i++)
		if (strcmp(t->keys[i].name, name) == 0)
			return &t->keys[i];
	return NULL;
}

static int
is_str(const struct conf_key *k)
{
	return k->type == CONF_STRING || k->type == CONF_PATH;
}

static const char *
str_of(const struct conf_key *k, const void *base)
{
	return *(char *const *)((const char *)base + k->offset);
}

static long long
num_of(const struct conf_key *k, const void *base)
{
	const char	*p = (const char *)base + k->offset;

	switch (k->type) {
	case CONF_DURATION:
		return *(const long long *)p;
	case CONF_SIZE:
		return (long long)*(const size_t *)p;
	default:
		return *(const int *)p;
	}
}

static int
key_equal(const struct conf_key *k, const void *a, const void *b)
{
	const char	*sa, *sb;

	if (!is_str(k))
		return num_of(k, a) == num_of(k, b);
	sa = str_of(k, a);
	sb = str_of(k, b);
	return sa == sb || (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
}

/* The first key that differs, or NULL; required keys only if `all`. */
static const char *
differs(const struct conf_table *t, const void *a, const void *b, int all)
{
	size_t	 i;

	for (i = 0; i < t->nkeys; i++) {
		if (!all && (t->keys[i].flags & CONF_REQUIRED))
			continue;
		if (!key_equal(&t->keys[i], a, b))
			return t->keys[i].name;
	}
	return NULL;
}

/*
 * The tests.
 */

static void
test_table(void)
{
	char	 err[CONF_ERRLEN] = "";

	ok(conf_table_verify(&iotad_conf_table, err, sizeof(err)) == 0,
	    "iotad's table is sound (defaults parse, bounds hold)");
	if (err[0] != '\0')
		diag("%s", err);
}

static void
test_defaults(void)
{
	struct iotad_conf	 c;
	char			 err[CONF_ERRLEN] = "";

	ok(conf_load(fixture("req.yaml", REQ), &c, err, sizeof(err)) == 0,
	    "the required keys alone load");
	if (err[0] != '\0') {
		diag("%s", err);
		return;
	}
	ok(strcmp(c.listen.address, "127.0.0.1") == 0,
	    "default listen.address 127.0.0.1");
	ok(c.listen.port == 8443, "default listen.port 8443");
	ok(c.tls.key_passphrase_file == NULL,
	    "tls.key_passphrase_file unset by default");
	ok(c.limits.max_body == 64 * 1024, "default limits.max_body 64k");
	ok(c.limits.max_connections == 1024,
	    "default limits.max_connections 1024");
	ok(c.limits.connection_timeout == 30,
	    "default limits.connection_timeout 30s");
	ok(c.provisioning.certificate_days == 365,
	    "default provisioning.certificate_days 365");
	ok(c.provisioning.secret_overlap == 24 * 3600,
	    "default provisioning.secret_overlap 24h");
	ok(c.ratelimit.failures_per_minute == 10,
	    "default ratelimit.failures_per_minute 10");
	ok(c.ratelimit.lockout == 300, "default ratelimit.lockout 5m");
	ok(c.log.level == CONF_LOG_INFO, "default log.level info");
	ok(c.log.file == NULL && c.audit.file == NULL,
	    "log.file and audit.file unset by default");
	ok(strcmp(c.tls.certificate, "/etc/iota/iotad.crt") == 0 &&
	    strcmp(c.state.key_file, "/etc/iota/state.key") == 0,
	    "required paths recorded as written");
	conf_free(&c);
	ok(c.listen.address == NULL && c.tls.certificate == NULL,
	    "conf_free clears the strings");
	conf_free(&c);
	conf_free(NULL);
	ok(1, "conf_free twice and conf_free(NULL) are harmless");
}

static void
expect_error(const char *desc, const char *path, const char *want)
{
	struct iotad_conf	 c, sentinel;
	char			 err[CONF_ERRLEN] = "", full[CONF_ERRLEN + 64];
	int			 rc;

	memset(&c, 0x5a, sizeof(c));
	memcpy(&sentinel, &c, sizeof(c));
	rc = conf_load(path, &c, err, sizeof(err));
	snprintf(full, sizeof(full), "%s:%s", path, want);
	ok(rc == -1 && strcmp(err, full) == 0 && strchr(err, '\n') == NULL &&
	    memcmp(&c, &sentinel, sizeof(c)) == 0, "error: %s", desc);
	if (rc == 0)
		conf_free(&c);
	if (strcmp(err, full) != 0) {
		diag("got:  %s", err);
		diag("want: %s", full);
	}
}

static const struct {
	const char	*desc;
	const char	*yaml;
	const char	*want;	/* after "path:" */
} bad[] = {
	{ "unknown key, with a suggestion",
	  "# iotad\n\nlisen:\n  port: 8443\n" REQ,
	  "3:1: unknown key \"lisen\" (did you mean \"listen\"?)" },
	{ "unknown nested key, with a suggestion",
	  "listen:\n  prot: 8443\n" REQ,
	  "2:3: unknown key \"listen.prot\" (did you mean \"listen.port\"?)" },
	{ "unknown key, nothing close",
	  REQ "bogus: 1\n",
	  "10:1: unknown key \"bogus\"" },
	{ "dotted name used as a key",
	  "listen.port: 8443\n" REQ,
	  "1:1: unknown key \"listen.port\" (dotted names are written as "
	  "nested mappings)" },
	{ "key that is not a name",
	  "[a]: 1\n" REQ,
	  "1:1: a key must be a name, not a sequence" },
	{ "out of range, as in the issue",
	  "tls:\n  certificate: /etc/iota/iotad.crt\n  key: /etc/iota/iotad.key\n"
	  "  key_passphrase_file: ~\nlisten:\n  address: 0.0.0.0\n"
	  "  port: 70000\nca:\n  dir: /c\n  passphrase_file: /p\n"
	  "state:\n  dir: /s\n  key_file: /k\n",
	  "7:9: listen.port: 70000 is out of range (0..65535)" },
	{ "integer beyond any C type",
	  "listen:\n  port: 99999999999999999999\n" REQ,
	  "2:9: listen.port: 99999999999999999999 is out of range (0..65535)" },
	{ "negative integer",
	  "listen:\n  port: -1\n" REQ,
	  "2:9: listen.port: -1 is out of range (0..65535)" },
	{ "word for an integer",
	  "listen:\n  port: https\n" REQ,
	  "2:9: listen.port: \"https\" is not an integer" },
	{ "fraction for an integer",
	  "limits:\n  max_connections: 2.5\n" REQ,
	  "2:20: limits.max_connections: \"2.5\" is not an integer" },
	{ "sequence for an integer",
	  "listen:\n  port: [1, 2]\n" REQ,
	  "2:9: listen.port: expected an integer, found a sequence" },
	{ "mapping for a path",
	  "log:\n  file: {a: b}\n" REQ,
	  "2:9: log.file: expected a path, found a mapping" },
	{ "value for a section",
	  "listen: 8443\n" REQ,
	  "1:9: listen: expected a mapping of keys, found a single value" },
	{ "enum outside its names",
	  "log:\n  level: verbose\n" REQ,
	  "2:10: log.level: \"verbose\" is not one of error, warn, info, "
	  "debug" },
	{ "duration with an unknown unit",
	  "limits:\n  connection_timeout: 10x\n" REQ,
	  "2:23: limits.connection_timeout: \"10x\" is not a duration (such "
	  "as 30s, 10m, 24h, 7d)" },
	{ "duration missing its last unit",
	  "ratelimit:\n  lockout: 1h30\n" REQ,
	  "2:12: ratelimit.lockout: \"1h30\" is not a duration (such as 30s, "
	  "10m, 24h, 7d)" },
	{ "negative duration",
	  "ratelimit:\n  lockout: -5s\n" REQ,
	  "2:12: ratelimit.lockout: \"-5s\" is not a duration (such as 30s, "
	  "10m, 24h, 7d)" },
	{ "duration out of range",
	  "limits:\n  connection_timeout: 2h\n" REQ,
	  "2:23: limits.connection_timeout: 2h is out of range (1s..1h)" },
	{ "size with an unknown unit",
	  "limits:\n  max_body: 64q\n" REQ,
	  "2:13: limits.max_body: \"64q\" is not a size (such as 512, 64k, "
	  "1m)" },
	{ "size with two units",
	  "limits:\n  max_body: 64kb\n" REQ,
	  "2:13: limits.max_body: \"64kb\" is not a size (such as 512, 64k, "
	  "1m)" },
	{ "size out of range",
	  "limits:\n  max_body: 2m\n" REQ,
	  "2:13: limits.max_body: 2m is out of range (1k..1m)" },
	{ "duplicate key",
	  "listen:\n  port: 1\n  port: 2\n" REQ,
	  "3:3: duplicate key \"listen.port\" (first at 2:3)" },
	{ "duplicate section",
	  "listen:\n  port: 1\nlisten:\n  address: ::1\n" REQ,
	  "3:1: duplicate key \"listen\" (first at 1:1)" },
	{ "missing required key, blamed on its section",
	  "tls:\n  certificate: /c\nca:\n  dir: /d\n  passphrase_file: /p\n"
	  "state:\n  dir: /s\n  key_file: /k\n",
	  "1:1: missing required key \"tls.key\"" },
	{ "missing required section, blamed on the top",
	  "# no state\n\ntls:\n  certificate: /c\n  key: /k\nca:\n  dir: /d\n"
	  "  passphrase_file: /p\n",
	  "3:1: missing required key \"state.dir\"" },
	{ "empty file",
	  "",
	  "1:1: missing required key \"tls.certificate\"" },
	{ "no value for a key with a default",
	  "listen:\n  port:\n" REQ,
	  "2:8: listen.port: missing value" },
	{ "null for a required key",
	  "tls:\n  certificate: ~\n  key: /k\nca:\n  dir: /d\n"
	  "  passphrase_file: /p\nstate:\n  dir: /s\n  key_file: /k\n",
	  "2:16: tls.certificate: missing value" },
	{ "empty string",
	  "listen:\n  address: \"\"\n" REQ,
	  "2:12: listen.address: must not be empty (leave the key out "
	  "instead)" },
	{ "NUL inside a string",
	  "listen:\n  address: \"a\\0b\"\n" REQ,
	  "2:12: listen.address: contains a NUL character" },
	{ "newline inside a value stays out of the message",
	  "listen:\n  port: \"1\\n2\"\n" REQ,
	  "2:9: listen.port: \"1?2\" is not an integer" },
	{ "long value shortened in the message",
	  "listen:\n  port: 12345678901234567890123456789012345678901234567890x\n"
	  REQ,
	  "2:9: listen.port: \"1234567890123456789012345678901234567890...\" "
	  "is not an integer" },
	{ "sequence at the top",
	  "- listen\n- tls\n",
	  "1:1: expected a mapping of keys, found a sequence" },
	{ "scalar at the top",
	  "iotad\n",
	  "1:1: expected a mapping of keys, found a single value" },
	{ "YAML syntax: unterminated quote",
	  "listen:\n  address: \"abc\n",
	  "3:1: YAML syntax error: found unexpected end of stream (while "
	  "scanning a quoted scalar at 2:12)" },
	{ "YAML syntax: bad indentation",
	  "listen:\n  port: 1\n address: x\n",
	  "3:2: YAML syntax error: did not find expected key (while parsing "
	  "a block mapping at 1:1)" },
	{ "YAML syntax: undefined alias",
	  "listen: *x\n",
	  "1:9: YAML syntax error: found undefined alias" },
	{ "invalid UTF-8",
	  "listen:\n  address: \xff\n" REQ,
	  "2:12: invalid leading UTF-8 octet" },
	{ "second document",
	  REQ "---\nlisten:\n  port: 1\n",
	  "11:1: a second YAML document (the configuration is one "
	  "document)" },
};

static void
test_errors(void)
{
	char	 path[PATH_MAX], *big;
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i].desc, fixture("bad.yaml", bad[i].yaml),
		    bad[i].want);
	expect_error("file missing", tpath(path, "none.yaml"),
	    " No such file or directory");
	expect_error("a directory", tmp, " not a regular file");
	if (mkfifo(tpath(path, "fifo.yaml"), 0600) == -1)
		die(path);
	track(path);
	expect_error("a FIFO, refused without waiting", path,
	    " not a regular file");
	if ((big = malloc(CONF_FILE_MAX + 1)) == NULL)
		die("malloc");
	memset(big, '#', CONF_FILE_MAX + 1);
	expect_error("file too large",
	    write_file("big.yaml", big, CONF_FILE_MAX + 1, 0644),
	    " larger than 1m: not a configuration file");
	free(big);
	/* Deep nesting must not exhaust the stack of libyaml or ours. */
	if ((big = malloc(20004)) == NULL)
		die("malloc");
	memcpy(big, "a: ", 3);
	memset(big + 3, '[', 10000);
	memset(big + 10003, ']', 10000);
	big[20003] = '\0';
	expect_error("10000 nested sequences", fixture("deep.yaml", big),
	    "1:1: unknown key \"a\"");
	free(big);
}

static const struct {
	const char	*name;
	const char	*value;
	long long	 want;		/* -1: out of range */
} edges[] = {
	{ "listen.port", "0", 0 },
	{ "listen.port", "65535", 65535 },
	{ "listen.port", "-1", -1 },
	{ "listen.port", "65536", -1 },
	{ "limits.max_body", "1k", 1024 },
	{ "limits.max_body", "1m", 1048576 },
	{ "limits.max_body", "1023", -1 },
	{ "limits.max_body", "1048577", -1 },
	{ "limits.max_connections", "1", 1 },
	{ "limits.max_connections", "65536", 65536 },
	{ "limits.max_connections", "0", -1 },
	{ "limits.max_connections", "65537", -1 },
	{ "limits.connection_timeout", "1s", 1 },
	{ "limits.connection_timeout", "1h", 3600 },
	{ "limits.connection_timeout", "0s", -1 },
	{ "limits.connection_timeout", "3601", -1 },
	{ "provisioning.certificate_days", "1", 1 },
	{ "provisioning.certificate_days", "3650", 3650 },
	{ "provisioning.certificate_days", "0", -1 },
	{ "provisioning.certificate_days", "3651", -1 },
	{ "provisioning.secret_overlap", "0s", 0 },
	{ "provisioning.secret_overlap", "30d", 2592000 },
	{ "provisioning.secret_overlap", "2592001", -1 },
	{ "ratelimit.failures_per_minute", "1", 1 },
	{ "ratelimit.failures_per_minute", "10000", 10000 },
	{ "ratelimit.failures_per_minute", "0", -1 },
	{ "ratelimit.failures_per_minute", "10001", -1 },
	{ "ratelimit.lockout", "1s", 1 },
	{ "ratelimit.lockout", "1d", 86400 },
	{ "ratelimit.lockout", "0", -1 },
	{ "ratelimit.lockout", "1d1s", -1 },
	{ "log.level", "error", CONF_LOG_ERROR },
	{ "log.level", "debug", CONF_LOG_DEBUG },
};

/* "sec.key" written as nested YAML, after the required keys. */
static const char *
one_key(const char *name, const char *value)
{
	static char	 yaml[1024];
	const char	*dot = strchr(name, '.');

	snprintf(yaml, sizeof(yaml), REQ "%.*s:\n  %s: %s\n",
	    (int)(dot - name), name, dot + 1, value);
	return fixture("edge.yaml", yaml);
}

static void
test_edges(void)
{
	const struct conf_key	*k;
	struct iotad_conf	 c;
	char			 err[CONF_ERRLEN];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		k = key_named(&iotad_conf_table, edges[i].name);
		err[0] = '\0';
		rc = conf_load(one_key(edges[i].name, edges[i].value), &c,
		    err, sizeof(err));
		if (edges[i].want == -1)
			ok(rc == -1 && strstr(err, "out of range") != NULL,
			    "bound: %s %s refused", edges[i].name,
			    edges[i].value);
		else
			ok(rc == 0 && k != NULL &&
			    num_of(k, &c) == edges[i].want,
			    "bound: %s %s accepted", edges[i].name,
			    edges[i].value);
		if (rc == 0)
			conf_free(&c);
		else if (edges[i].want != -1)
			diag("%s", err);
	}
}

static void
test_syntax(void)
{
	static const struct {
		const char	*s;
		long long	 secs;	/* -1: refused */
	} d[] = {
		{ "30s", 30 }, { "10m", 600 }, { "24h", 86400 },
		{ "7d", 604800 }, { "90", 90 }, { "1h30m", 5400 },
		{ "0", 0 }, { "", -1 }, { "s", -1 }, { "1h30", -1 },
		{ "1.5h", -1 }, { "5S", -1 }, { "1 h", -1 }, { "+5s", -1 },
		{ "99999999999999999999s", -1 }, { "9999999999999999d", -1 },
	};
	static const struct {
		const char	*s;
		long long	 bytes;
	} z[] = {
		{ "512", 512 }, { "64k", 65536 }, { "64K", 65536 },
		{ "1m", 1048576 }, { "1G", 1073741824 }, { "", -1 },
		{ "k", -1 }, { "64kb", -1 }, { "-1", -1 }, { "1.5k", -1 },
		{ "9999999999999999g", -1 },
	};
	long long	 n;
	char		 buf[32];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		rc = conf_duration_parse(d[i].s, &n);
		ok(d[i].secs == -1 ? rc == -1 : rc == 0 && n == d[i].secs,
		    "duration \"%s\" %s", d[i].s,
		    d[i].secs == -1 ? "refused" : "parsed");
	}
	for (i = 0; i < sizeof(z) / sizeof(z[0]); i++) {
		rc = conf_size_parse(z[i].s, &n);
		ok(z[i].bytes == -1 ? rc == -1 : rc == 0 && n == z[i].bytes,
		    "size \"%s\" %s", z[i].s,
		    z[i].bytes == -1 ? "refused" : "parsed");
	}
	ok(strcmp(conf_duration_format(86400, buf, sizeof(buf)), "1d") == 0 &&
	    strcmp(conf_duration_format(5400, buf, sizeof(buf)), "90m") == 0 &&
	    strcmp(conf_duration_format(61, buf, sizeof(buf)), "61s") == 0 &&
	    strcmp(conf_duration_format(0, buf, sizeof(buf)), "0s") == 0,
	    "durations print in their shortest exact unit");
	ok(strcmp(conf_size_format(65536, buf, sizeof(buf)), "64k") == 0 &&
	    strcmp(conf_size_format(1048576, buf, sizeof(buf)), "1m") == 0 &&
	    strcmp(conf_size_format(1500, buf, sizeof(buf)), "1500") == 0,
	    "sizes print in their shortest exact unit");
}

/* conf_print, saying why if it fails. */
static int
print_to(FILE *fp, const struct iotad_conf *c)
{
	char	 err[CONF_ERRLEN] = "";

	if (conf_print(fp, c, err, sizeof(err)) == 0)
		return 0;
	diag("conf_print: %s", err);
	return -1;
}

/* Loads, prints, loads the print: same values, and the same text again. */
static void
round_trip(const char *desc, const char *path)
{
	struct iotad_conf	 a, b;
	char			 err[CONF_ERRLEN] = "", p1[PATH_MAX];
	char			 t1[8192] = "", t2[8192] = "";
	const char		*key;
	FILE			*fp;

	if (conf_load(path, &a, err, sizeof(err)) == -1) {
		ok(0, "round trip, %s: loads", desc);
		diag("%s", err);
		return;
	}
	if ((fp = fopen(tpath(p1, "printed.yaml"), "w")) == NULL)
		die(p1);
	track(p1);
	ok(print_to(fp, &a) == 0, "round trip, %s: prints", desc);
	fclose(fp);
	ok(conf_load(p1, &b, err, sizeof(err)) == 0,
	    "round trip, %s: the printed configuration loads", desc);
	key = differs(&iotad_conf_table, &a, &b, 1);
	ok(key == NULL, "round trip, %s: same values", desc);
	if (key != NULL)
		diag("%s differs", key);
	fp = fmemopen(t1, sizeof(t1) - 1, "w");
	print_to(fp, &a);
	fclose(fp);
	fp = fmemopen(t2, sizeof(t2) - 1, "w");
	print_to(fp, &b);
	fclose(fp);
	ok(strcmp(t1, t2) == 0, "round trip, %s: same text printed", desc);
	conf_free(&a);
	conf_free(&b);
}

/* Every key set, none to its default: the fixture below must stay so. */
static void
every_key_changed(const char *path)
{
	struct iotad_conf	 a, d;
	char			 err[CONF_ERRLEN] = "";
	size_t			 i;
	int			 all = 1;

	if (conf_load(path, &a, err, sizeof(err)) == -1 ||
	    conf_load(fixture("req.yaml", REQ), &d, err, sizeof(err)) == -1)
		die(err);
	for (i = 0; i < iotad_conf_table.nkeys; i++)
		if (key_equal(&iotad_conf_table.keys[i], &a, &d)) {
			diag("all.yaml leaves %s as it was",
			    iotad_conf_table.keys[i].name);
			all = 0;
		}
	ok(all, "round trip: the fixture changes every key of the table");
	conf_free(&a);
	conf_free(&d);
}

static void
test_round_trip(void)
{
	const char	*all;

	round_trip("defaults", fixture("req.yaml", REQ));
	all = fixture("all.yaml",
	    "listen:\n"
	    "  address: \"a \\\"quoted\\\" \\\\ word:\\t# not a comment\"\n"
	    "  port: 1\n"
	    "tls:\n"
	    "  certificate: \"/etc/iota/with space/\\u00e9t\\u00e9.crt\"\n"
	    "  key: '/etc/iota/it''s: 100%.key'\n"
	    "  key_passphrase_file: \"/p/\\x85\\u2028\\u2029\\ufeff\\x01"
	    "\\U0001F600\\x7f\\xa0\"\n"
	    "ca:\n"
	    "  dir: \"/ca/ leading and trailing \"\n"
	    "  passphrase_file: /ca/- not a sequence\n"
	    "  pkcs11_module: /usr/lib/p11/module.so\n"
	    "process:\n"
	    "  user: \"iota front\"\n"
	    "signer:\n"
	    "  user: iota-signer\n"
	    "  program: /opt/iota/libexec/iota-signer\n"
	    "  channels: 16\n"
	    "  seccomp: off\n"
	    "state:\n"
	    "  dir: relative/state\n"
	    "  key_file: ~weird/key\n"
	    "limits:\n"
	    "  max_body: 1500\n"
	    "  max_connections: 65536\n"
	    "  connection_timeout: 1h\n"
	    "  connections_per_address: 7\n"
	    "  header_timeout: 3s\n"
	    "provisioning:\n"
	    "  certificate_days: 3650\n"
	    "  secret_overlap: 0s\n"
	    "  renew_grace: 1d\n"
	    "revocation:\n"
	    "  url: \"http://crl.example/a b\"\n"
	    "  address: \"::1\"\n"
	    "  port: 8080\n"
	    "  crl_days: 30\n"
	    "ratelimit:\n"
	    "  failures_per_minute: 1\n"
	    "  lockout: 1h30m\n"
	    "broker:\n"
	    "  mode: auth-backend\n"
	    "  login: certificate\n"
	    "  client_id_takeover: accept\n"
	    "  mqtt_url: \"- leading dash\"\n"
	    "  management_url: \"#not a comment\"\n"
	    "  management_credentials_file: \"/r/\\u4e2d\\u6587 \\u00fc: x\"\n"
	    "  management_ca_file: \"/r/'single' \\\"double\\\"\"\n"
	    "  amqp_host: \"~\"\n"
	    "  amqp_port: 5671\n"
	    "  events_exchange: \"   \"\n"
	    "  key_file: \"/k/{flow}, [seq], &anchor *alias !tag |>%@`\"\n"
	    "  auth_clients: \"10.0.0.1, ::1\"\n"
	    "  timeout: 1m\n"
	    "  retry_after: 1h\n"
	    "log:\n"
	    "  level: debug\n"
	    "  file: \"true\"\n"
	    "audit:\n"
	    "  file: \"null\"\n"
	    "  checkpoint_interval: 0\n"
	    "metrics:\n"
	    "  listen: http\n"
	    "  address: \"::1\"\n"
	    "  port: 0\n");
	every_key_changed(all);
	round_trip("every key changed, awkward strings", all);
	round_trip("strings that look like something else", fixture(
	    "look.yaml", REQ
	    "listen:\n  address: \"yes\"\n"
	    "broker:\n"
	    "  mqtt_url: \"NULL\"\n  management_url: \"---\"\n"
	    "  amqp_host: \"...\"\n  events_exchange: \"0x1F\"\n"
	    "  auth_clients: \"1e3\"\n"
	    "log:\n  file: \"/l/key: value\"\n"));
}

/* The strings in a, printed, read back into b; -1 if that fails. */
static int
reprint(struct iotad_conf *a, struct iotad_conf *b, char *err, size_t len)
{
	char	 path[PATH_MAX];
	FILE	*fp;

	if ((fp = fopen(tpath(path, "reprint.yaml"), "w")) == NULL)
		die(path);
	track(path);
	if (print_to(fp, a) == -1) {
		fclose(fp);
		snprintf(err, len, "does not print");
		return -1;
	}
	fclose(fp);
	return conf_load(path, b, err, len);
}

static void
set_str(char **slot, const char *s)
{
	free(*slot);
	if ((*slot = strdup(s)) == NULL)
		die("strdup");
}

/* s alone, at either end and inside of others, in five string keys. */
static const char *
print_back(struct iotad_conf *a, const char *s)
{
	static char		 key[CONF_ERRLEN + 64];
	struct iotad_conf	 b;
	char			 v[64], err[CONF_ERRLEN];
	const char		*name;

	set_str(&a->listen.address, s);
	snprintf(v, sizeof(v), "%s x", s);
	set_str(&a->broker.mqtt_url, v);
	snprintf(v, sizeof(v), "x %s", s);
	set_str(&a->broker.management_url, v);
	snprintf(v, sizeof(v), "x%sy", s);
	set_str(&a->broker.amqp_host, v);
	snprintf(v, sizeof(v), "/%s%s", s, s);
	set_str(&a->log.file, v);
	if (reprint(a, &b, err, sizeof(err)) == -1) {
		snprintf(key, sizeof(key), "does not load: %s", err);
		return key;
	}
	if ((name = differs(&iotad_conf_table, a, &b, 1)) != NULL)
		snprintf(key, sizeof(key), "%s differs", name);
	conf_free(&b);
	return name != NULL ? key : NULL;
}

static void
test_print_chars(void)
{
	static const char *const wide[] = {
		"\xc2\x85", "\xc2\xa0", "\xc3\xa9", "\xe2\x80\xa8",
		"\xe2\x80\xa9", "\xef\xbb\xbf", "\xef\xbf\xbd", "\xef\xbf\xbe",
		"\xef\xbf\xbf", "\xee\x80\x80", "\xed\x9f\xbf", "\xe4\xb8\xad",
		"\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
	};
	struct iotad_conf	 a;
	char			 err[CONF_ERRLEN] = "", s[2] = "";
	const char		*why = NULL;
	size_t			 i;
	int			 c;

	if (conf_load(fixture("req.yaml", REQ), &a, err, sizeof(err)) == -1)
		die(err);
	for (c = 1; c < 0x80 && why == NULL; c++) {
		s[0] = (char)c;
		if ((why = print_back(&a, s)) != NULL)
			diag("character 0x%02x: %s", c, why);
	}
	ok(why == NULL, "print: every ASCII character reads back, alone "
	    "and among others");
	for (i = 0; i < sizeof(wide) / sizeof(wide[0]) && why == NULL; i++)
		if ((why = print_back(&a, wide[i])) != NULL)
			diag("wide character %zu: %s", i, why);
	ok(why == NULL, "print: breaks, BOM, non-characters and the last "
	    "plane read back, alone and among others");
	conf_free(&a);
}

static void
test_relative(void)
{
	struct iotad_conf	 c;
	char			 err[CONF_ERRLEN] = "", cwd[PATH_MAX];
	char			 want[PATH_MAX + 32];
	int			 rc;

	fixture("rel.yaml", REQ "log:\n  file: logs/iotad.log\n"
	    "audit:\n  file: ../audit.log\n");
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(tmp) == -1)
		die("chdir");
	rc = conf_load("rel.yaml", &c, err, sizeof(err));
	if (chdir(cwd) == -1)
		die("chdir back");
	ok(rc == 0, "a configuration named without a directory loads");
	if (rc == -1) {
		diag("%s", err);
		return;
	}
	snprintf(want, sizeof(want), "%s/logs/iotad.log", tmp);
	ok(strcmp(c.log.file, want) == 0,
	    "relative paths resolve against the file's directory");
	snprintf(want, sizeof(want), "%s/../audit.log", tmp);
	ok(strcmp(c.audit.file, want) == 0, "and stay as written otherwise");
	ok(strcmp(c.tls.key, "/etc/iota/iotad.key") == 0,
	    "absolute paths are kept");
	conf_free(&c);
}

/* Marks every dotted name that a document's mappings spell out. */
static void
collect(yaml_document_t *doc, yaml_node_t *map, const char *prefix,
    int *seen)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const struct conf_key	*key;
	char			 name[256];

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(doc, p->key);
		v = yaml_document_get_node(doc, p->value);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		snprintf(name, sizeof(name), "%s%s%s", prefix,
		    *prefix != '\0' ? "." : "", (char *)k->data.scalar.value);
		if (v->type == YAML_MAPPING_NODE)
			collect(doc, v, name, seen);
		else if ((key = key_named(&iotad_conf_table, name)) != NULL)
			seen[key - iotad_conf_table.keys] = 1;
	}
}

static void
sample_sets_every_key(const char *text)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	yaml_node_t	*root;
	int		 seen[64] = { 0 }, all = 1;
	size_t		 i;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    strlen(text));
	if (yaml_parser_load(&parser, &doc)) {
		if ((root = yaml_document_get_root_node(&doc)) != NULL &&
		    root->type == YAML_MAPPING_NODE)
			collect(&doc, root, "", seen);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	for (i = 0; i < iotad_conf_table.nkeys && i < 64; i++)
		if (!seen[i]) {
			diag("conf/iotad.yaml lacks %s",
			    iotad_conf_table.keys[i].name);
			all = 0;
		}
	ok(all && iotad_conf_table.nkeys <= 64,
	    "the sample documents every key");
}

static void
test_sample(void)
{
	struct iotad_conf	 s, d;
	char			 err[CONF_ERRLEN] = "", *text;
	const char		*key;

	if ((text = slurp("conf/iotad.yaml")) == NULL) {
		ok(0, "the sample conf/iotad.yaml is readable");
		return;
	}
	ok(conf_load(fixture("sample.yaml", text), &s, err, sizeof(err)) == 0,
	    "the sample conf/iotad.yaml loads");
	if (err[0] != '\0') {
		diag("%s", err);
		free(text);
		return;
	}
	sample_sets_every_key(text);
	if (conf_load(fixture("req.yaml", REQ), &d, err, sizeof(err)) == -1)
		die(err);
	key = differs(&iotad_conf_table, &s, &d, 0);
	ok(key == NULL, "the sample shows every default as it is");
	if (key != NULL)
		diag("%s differs from its default", key);
	conf_free(&s);
	conf_free(&d);
	free(text);
}

static void
test_manpage(void)
{
	char	*text, want[128];
	size_t	 i;
	int	 all = 1;

	if ((text = slurp("man/iotad.yaml.5")) == NULL) {
		ok(0, "man/iotad.yaml.5 is readable");
		return;
	}
	for (i = 0; i < iotad_conf_table.nkeys; i++) {
		snprintf(want, sizeof(want), "\n.It Cm %s ",
		    iotad_conf_table.keys[i].name);
		if (strstr(text, want) == NULL) {
			diag("man/iotad.yaml.5 lacks %s",
			    iotad_conf_table.keys[i].name);
			all = 0;
		}
	}
	ok(all, "the man page documents every key");
	free(text);
}

static void
test_help(void)
{
	char	 buf[16384] = "", want[128];
	FILE	*fp;
	size_t	 i;
	int	 all = 1;

	if ((fp = fmemopen(buf, sizeof(buf) - 1, "w")) == NULL)
		die("fmemopen");
	conf_help(fp);
	fclose(fp);
	for (i = 0; i < iotad_conf_table.nkeys; i++) {
		snprintf(want, sizeof(want), "%s%s: ", i == 0 ? "" : "\n",
		    iotad_conf_table.keys[i].name);
		if (strstr(buf, want) == NULL)
			all = 0;
	}
	ok(all, "conf_help lists every key");
	ok(strstr(buf, "\nlisten.port: integer 0..65535; default 8443\n    "
	    "TCP port") != NULL, "conf_help gives type, bounds, default, help");
	ok(strstr(buf, "\ntls.key: path; required\n") != NULL,
	    "conf_help marks required keys");
	ok(strstr(buf, "\nlog.level: error|warn|info|debug; default info\n")
	    != NULL, "conf_help lists an enum's names");
}

/*
 * conf_check_files() over a tree made like `iotactl ca init` and
 * `iotactl ca issue` would make it.
 */

static const char hexkey[] =
    "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n";

static void
make_tree(void)
{
	make_dir("ck", 0755);
	make_dir("ck/ca", 0700);
	make_dir("ck/state", 0700);
	make_dir("ck/logs", 0755);
	write_file("ck/cert.pem", "cert\n", 5, 0644);
	write_file("ck/key.pem", "key\n", 4, 0600);
	write_file("ck/ca/intermediate.crt", "cert\n", 5, 0644);
	write_file("ck/ca/intermediate.key", "key\n", 4, 0600);
	write_file("ck/ca/ca-chain.pem", "chain\n", 6, 0644);
	write_file("ck/ca.pass", "secret\n", 7, 0600);
	write_file("ck/state.key", hexkey, sizeof(hexkey) - 1, 0600);
	fixture("ck/iotad.yaml",
	    "tls:\n  certificate: cert.pem\n  key: key.pem\n"
	    "ca:\n  dir: ca\n  passphrase_file: ca.pass\n"
	    "state:\n  dir: state\n  key_file: state.key\n"
	    "log:\n  file: logs/iotad.log\naudit:\n  file: logs/audit.log\n");
}

static void
expect_check(struct iotad_conf *c, const char *desc, const char *key,
    const char *rel, const char *why)
{
	char	 err[CONF_ERRLEN] = "", want[CONF_ERRLEN];
	int	 rc;

	rc = conf_check_files(c, err, sizeof(err));
	if (key == NULL) {
		ok(rc == 0, "check: %s", desc);
		if (rc == -1)
			diag("%s", err);
		return;
	}
	snprintf(want, sizeof(want), "%s: %s/ck/%s: %s", key, tmp, rel, why);
	ok(rc == -1 && strcmp(err, want) == 0, "check: %s", desc);
	if (strcmp(err, want) != 0) {
		diag("got:  %s", err);
		diag("want: %s", want);
	}
}

static void
swap_path(char **slot, const char *rel)
{
	char	 path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/ck/%s", tmp, rel);
	free(*slot);
	if ((*slot = strdup(path)) == NULL)
		die("strdup");
}

static void
test_check_files(void)
{
	struct iotad_conf	 c;
	char			 err[CONF_ERRLEN], a[PATH_MAX], b[PATH_MAX];

	make_tree();
	if (conf_load(tpath(a, "ck/iotad.yaml"), &c, err, sizeof(err)) == -1)
		die(err);
	expect_check(&c, "a sound tree passes", NULL, NULL, NULL);
	chmod(tpath(a, "ck/state.key"), 0644);
	expect_check(&c, "key file readable by others", "state.key_file",
	    "state.key", "mode 0644 lets group or others in (chmod 600)");
	write_file("ck/state.key", hexkey + 1, sizeof(hexkey) - 2, 0600);
	expect_check(&c, "key file of 63 digits", "state.key_file",
	    "state.key", "not 64 hexadecimal digits (a raw 256-bit key)");
	write_file("ck/state.key", "g", 1, 0600);
	expect_check(&c, "key file not hex", "state.key_file", "state.key",
	    "not 64 hexadecimal digits (a raw 256-bit key)");
	write_file("ck/state.key", hexkey, sizeof(hexkey) - 2, 0600);
	expect_check(&c, "key file without newline", NULL, NULL, NULL);
	rename(tpath(a, "ck/ca/intermediate.key"), tpath(b, "ck/moved.key"));
	expect_check(&c, "CA directory without its key", "ca.dir",
	    "ca/intermediate.key", "No such file or directory");
	rename(b, a);
	chmod(a, 0640);
	expect_check(&c, "intermediate key readable by group", "ca.dir",
	    "ca/intermediate.key",
	    "mode 0640 lets group or others in (chmod 600)");
	chmod(a, 0600);
	chmod(tpath(a, "ck/state"), 0777);
	expect_check(&c, "state directory writable by all", "state.dir",
	    "state", "mode 0777 lets group or others write (chmod 700)");
	chmod(a, 0700);
	swap_path(&c.tls.certificate, "nothing.pem");
	expect_check(&c, "certificate missing", "tls.certificate",
	    "nothing.pem", "No such file or directory");
	swap_path(&c.tls.certificate, "cert.pem");
	swap_path(&c.log.file, "nodir/iotad.log");
	expect_check(&c, "log file in a missing directory", "log.file",
	    "nodir/iotad.log", "cannot be created: No such file or directory");
	swap_path(&c.log.file, "state");
	expect_check(&c, "log file that is a directory", "log.file", "state",
	    "is a directory");
	swap_path(&c.log.file, "logs/iotad.log");
	swap_path(&c.tls.key_passphrase_file, "ca.pass");
	expect_check(&c, "all sound again, with a key passphrase", NULL, NULL,
	    NULL);
	conf_free(&c);
}

/*
 * The machinery on a table of our own: booleans, strings, and the
 * verifier refusing broken tables.
 */

struct tconf {
	int	 flag;
	char	*name;
	struct {
		int	 n;
	} sub;
};

#define TKEY(f, t)	.name = #f, .type = (t), \
			.offset = offsetof(struct tconf, f), .help = "help"

static const struct conf_key tkeys[] = {
	{ TKEY(flag, CONF_BOOL), .def = "false" },
	{ TKEY(name, CONF_STRING), .def = "anon" },
	{ TKEY(sub.n, CONF_INT), .min = 0, .max = 10, .def = "5" },
};

static void
expect_verify(const char *desc, const struct conf_key *keys, size_t n,
    const char *want)
{
	struct conf_table	 t = { keys, n, sizeof(struct tconf) };
	char			 err[CONF_ERRLEN] = "";

	ok(conf_table_verify(&t, err, sizeof(err)) == -1 &&
	    strcmp(err, want) == 0, "verify refuses %s", desc);
	if (strcmp(err, want) != 0)
		diag("got: %s", err);
}

static void
test_verify(void)
{
	struct conf_key	 k[3];

	memcpy(k, tkeys, sizeof(k));
	k[2].def = "11";
	expect_verify("a default out of range", k, 3,
	    "key 2 (sub.n): default: 11 is out of range (0..10)");
	memcpy(k, tkeys, sizeof(k));
	k[0].flags = CONF_REQUIRED;
	expect_verify("a required key with a default", k, 3,
	    "key 0 (flag): required, yet has a default");
	memcpy(k, tkeys, sizeof(k));
	k[0].name = "sub.m";
	k[1].name = "other";
	expect_verify("a section split in two", k, 3,
	    "key 2 (sub.n): its section is not listed together");
	memcpy(k, tkeys, sizeof(k));
	k[1].name = "sub";
	expect_verify("a key that is also a section", k, 3,
	    "key 1 (sub): both a key and a section");
	memcpy(k, tkeys, sizeof(k));
	k[1].name = "Name";
	expect_verify("a name in capitals", k, 3, "key 1 (Name): bad name");
}

static void
test_generic(void)
{
	struct conf_table	 t = { tkeys, 3, sizeof(struct tconf) };
	struct tconf		 c, d;
	char			 err[CONF_ERRLEN] = "", buf[1024] = "";
	FILE			*fp;

	ok(conf_table_verify(&t, err, sizeof(err)) == 0,
	    "a table of our own is sound");
	ok(conf_table_load(&t, fixture("g.yaml", "flag: yes\n"), &c, err,
	    sizeof(err)) == 0 && c.flag == 1 && strcmp(c.name, "anon") == 0 &&
	    c.sub.n == 5, "boolean yes, other defaults");
	conf_table_free(&t, &c);
	ok(conf_table_load(&t, fixture("g.yaml", "flag: Off\nsub:\n  n: 0\n"),
	    &c, err, sizeof(err)) == 0 && c.flag == 0 && c.sub.n == 0,
	    "boolean Off, int at its lower bound");
	conf_table_free(&t, &c);
	ok(conf_table_load(&t, fixture("g.yaml", "flag: maybe\n"), &c, err,
	    sizeof(err)) == -1 && strstr(err, ":1:7: flag: \"maybe\" is not "
	    "true or false") != NULL, "error: not a boolean");
	conf_table_load(&t, fixture("g.yaml", "flag: on\nname: x y\n"), &c,
	    err, sizeof(err));
	fp = fmemopen(buf, sizeof(buf) - 1, "w");
	ok(conf_table_print(&t, fp, &c, err, sizeof(err)) == 0,
	    "a table of our own prints");
	fclose(fp);
	ok(strcmp(buf, "flag: true\nname: \"x y\"\nsub:\n  n: 5\n") == 0,
	    "print nests sections and quotes strings");
	ok(conf_table_load(&t, fixture("g2.yaml", buf), &d, err,
	    sizeof(err)) == 0 && d.flag == 1 && strcmp(d.name, "x y") == 0,
	    "and loads back");
	conf_table_free(&t, &c);
	conf_table_free(&t, &d);
}

/*
 * The printer: sections two deep, opened and closed between rows, and
 * the failures it reports.
 */

struct deep {
	struct {
		struct {
			int	 x, y;
		} b;
		int	 z;
	} a;
	struct {
		struct {
			int	 e;
		} d;
	} c;
	int	 f;
};

#define DKEY(f, v)	{ .name = #f, .type = CONF_INT, .min = 0, .max = 9, \
			  .def = (v), .offset = offsetof(struct deep, f), \
			  .help = "help" }

static const struct conf_key dkeys[] = {
	DKEY(a.b.x, "1"), DKEY(a.b.y, "2"), DKEY(a.z, "3"), DKEY(c.d.e, "4"),
	DKEY(f, "5"),
};

static void
test_print_nesting(void)
{
	struct conf_table	 t = { dkeys, 5, sizeof(struct deep) };
	struct deep		 c;
	char			 err[CONF_ERRLEN] = "", buf[1024] = "";
	FILE			*fp;

	ok(conf_table_verify(&t, err, sizeof(err)) == 0 &&
	    conf_table_load(&t, fixture("d.yaml", ""), &c, err,
	    sizeof(err)) == 0, "a table two sections deep loads");
	if ((fp = fmemopen(buf, sizeof(buf) - 1, "w")) == NULL)
		die("fmemopen");
	conf_table_print(&t, fp, &c, err, sizeof(err));
	fclose(fp);
	ok(strcmp(buf, "a:\n  b:\n    x: 1\n    y: 2\n  z: 3\nc:\n  d:\n"
	    "    e: 4\nf: 5\n") == 0, "print opens and closes sections "
	    "two deep");
	if (strcmp(err, "") != 0)
		diag("%s", err);
}

static void
test_print_fails(void)
{
	struct conf_table	 t = { tkeys, 3, sizeof(struct tconf) };
	struct tconf		 c = { 1, NULL, { 5 } };
	struct iotad_conf	 a;
	char			 err[CONF_ERRLEN] = "", buf[1024];
	FILE			*fp;

	if ((c.name = strdup("bad \xff byte")) == NULL ||
	    (fp = fmemopen(buf, sizeof(buf), "w")) == NULL)
		die("print_fails");
	ok(conf_table_print(&t, fp, &c, err, sizeof(err)) == -1 &&
	    strcmp(err, "name: cannot print the value (not UTF-8, or out of "
	    "memory)") == 0, "print refuses a string that is not UTF-8");
	if (strncmp(err, "name: ", 6) != 0)
		diag("got: %s", err);
	fclose(fp);
	free(c.name);
	if ((fp = fopen("/dev/full", "w")) == NULL) {
		ok(1, "print to a full device # SKIP no /dev/full");
		return;
	}
	if (conf_load(fixture("req.yaml", REQ), &a, err, sizeof(err)) == -1)
		die(err);
	ok(conf_print(fp, &a, err, sizeof(err)) == -1 &&
	    strstr(err, "cannot print the configuration: ") == err &&
	    strstr(err, strerror(ENOSPC)) != NULL,
	    "print says so when the output is full");
	if (strstr(err, strerror(ENOSPC)) == NULL)
		diag("got: %s", err);
	fclose(fp);
	conf_free(&a);
}

int
main(void)
{
	const char	*base = getenv("TMPDIR");
	char		 dir[PATH_MAX];

	if ((tap_buf = tmpfile()) == NULL)
		die("tmpfile");
	snprintf(dir, sizeof(dir), "%s/conf-test.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(dir) == NULL || (tmp = realpath(dir, NULL)) == NULL)
		die(dir);
	umask(022);
	test_table();
	test_defaults();
	test_errors();
	test_edges();
	test_syntax();
	test_round_trip();
	test_print_chars();
	test_relative();
	test_sample();
	test_manpage();
	test_help();
	test_check_files();
	test_verify();
	test_generic();
	test_print_nesting();
	test_print_fails();
	cleanup();
	return tap_done();
}
