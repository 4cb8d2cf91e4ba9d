/*
 * The configuration loader.  libyaml's document API parses the file
 * (keeping line and column of every node), then one walk matches each
 * mapping key against the table: a leaf key gets its value parsed by
 * type, a section is descended into, anything else is an unknown key.
 * The first problem ends the load with one line naming file:line:column;
 * a half-read configuration is never handed out.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"
#include "errbuf.h"

#define SHOW_MAX	40	/* bytes of a bad value quoted in a message */
#define HEXKEY_LEN	64	/* state.key_file: 256 bits in hex */

/* What the CA directory holds for iotad; names as in ca/cadir.h. */
static const char *const cadir_files[] = {
	"intermediate.crt", "intermediate.key", "ca-chain.pem", NULL
};

/* What each type is called in help and in messages. */
static const struct {
	const char	*name;		/* help: "integer" */
	const char	*noun;		/* "expected an integer" */
	const char	*example;	/* "is not a duration (such as ...)" */
	int		 ranged;	/* has min..max */
} types[] = {
	[CONF_STRING] = { "string", "a string", NULL, 0 },
	[CONF_PATH] = { "path", "a path", NULL, 0 },
	[CONF_INT] = { "integer", "an integer", "an integer", 1 },
	[CONF_BOOL] = { "boolean", "true or false", "true or false", 0 },
	[CONF_DURATION] = { "duration", "a duration",
	    "a duration (such as 30s, 10m, 24h, 7d)", 1 },
	[CONF_SIZE] = { "size", "a size", "a size (such as 512, 64k, 1m)", 1 },
	[CONF_ENUM] = { "name", "a name", NULL, 0 },
};

/* One load in progress. */
struct loader {
	const struct conf_table	*t;
	const char		*path;		/* as given, for messages */
	char			*dir;		/* absolute, for relative paths */
	FILE			*fp;
	yaml_parser_t		 parser;
	int			 have_parser;
	yaml_document_t		 doc;
	int			 have_doc;
	void			*base;		/* the struct being filled */
	unsigned char		*seen;		/* per key: set by the file */
	char			 why[CONF_ERRLEN];	/* a value's problem */
	char			*err;
	size_t			 errlen;
};

static int	 ld_error(struct loader *, yaml_mark_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 ld_why(struct loader *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 walk_mapping(struct loader *, yaml_node_t *, const char *);

/*
 * Errors.
 */

/* "file:line:column: message", with libyaml's 0-based marks made 1-based. */
static int
ld_error(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
	char	 msg[CONF_ERRLEN];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errbuf_set(ld->err, ld->errlen, "%s:%zu:%zu: %s", ld->path,
	    mark.line + 1, mark.column + 1, msg);
	return -1;
}

/* Errors about the file as a whole have no line to name. */
static int
ld_file_error(struct loader *ld, const char *why)
{
	errbuf_set(ld->err, ld->errlen, "%s: %s", ld->path, why);
	return -1;
}

/* For checks that explain themselves into a caller's buffer. */
static int
fail(char *why, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* A value's problem, said without position; the caller adds it. */
static int
ld_why(struct loader *ld, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(ld->why, sizeof(ld->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* A value fit to quote: at most SHOW_MAX bytes, cut between characters. */
static const char *
show(const char *s, char *buf, size_t len)
{
	size_t	 n = strlen(s);

	if (n <= SHOW_MAX || len < SHOW_MAX + 4) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	n = SHOW_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	snprintf(buf, len, "%.*s...", (int)n, s);
	return buf;
}

/*
 * Durations and sizes.
 */

/* Decimal digits at *sp, advancing it; ERANGE past LLONG_MAX. */
static int
parse_digits(const char **sp, long long *out)
{
	const char	*s = *sp;
	long long	 n = 0;

	if (!isdigit((unsigned char)*s)) {
		errno = EINVAL;
		return -1;
	}
	for (; isdigit((unsigned char)*s); s++) {
		if (n > (LLONG_MAX - (*s - '0')) / 10) {
			errno = ERANGE;
			return -1;
		}
		n = n * 10 + (*s - '0');
	}
	*sp = s;
	*out = n;
	return 0;
}

/* n * unit added to *total, or ERANGE. */
static int
add_scaled(long long *total, long long n, long long unit)
{
	if (n > (LLONG_MAX - *total) / unit) {
		errno = ERANGE;
		return -1;
	}
	*total += n * unit;
	return 0;
}

static long long
duration_unit(char c)
{
	switch (c) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	default:
		return 0;
	}
}

int
conf_duration_parse(const char *s, long long *out)
{
	long long	 total = 0, n, unit;

	if (s[0] != '\0' && s[strspn(s, "0123456789")] == '\0')
		return parse_digits(&s, out);	/* bare seconds */
	do {
		if (parse_digits(&s, &n) == -1)
			return -1;
		if ((unit = duration_unit(*s)) == 0) {
			errno = EINVAL;
			return -1;
		}
		s++;
		if (add_scaled(&total, n, unit) == -1)
			return -1;
	} while (*s != '\0');
	*out = total;
	return 0;
}

int
conf_size_parse(const char *s, long long *out)
{
	long long	 n, unit = 1, total = 0;

	if (parse_digits(&s, &n) == -1)
		return -1;
	switch (*s) {
	case '\0':
		break;
	case 'k': case 'K':
		unit = 1024LL;
		break;
	case 'm': case 'M':
		unit = 1024LL * 1024;
		break;
	case 'g': case 'G':
		unit = 1024LL * 1024 * 1024;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (*s != '\0' && s[1] != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (add_scaled(&total, n, unit) == -1)
		return -1;
	*out = total;
	return 0;
}

const char *
conf_duration_format(long long n, char *buf, size_t len)
{
	static const struct {
		char		 unit;
		long long	 secs;
	} u[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 } };
	size_t	 i;

	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (n != 0 && n % u[i].secs == 0) {
			snprintf(buf, len, "%lld%c", n / u[i].secs, u[i].unit);
			return buf;
		}
	snprintf(buf, len, "%llds", n);
	return buf;
}

const char *
conf_size_format(long long n, char *buf, size_t len)
{
	static const char	 units[] = "gmk";
	long long		 scale = 1024LL * 1024 * 1024;
	size_t			 i;

	for (i = 0; units[i] != '\0'; i++, scale /= 1024)
		if (n != 0 && n % scale == 0) {
			snprintf(buf, len, "%lld%c", n / scale, units[i]);
			return buf;
		}
	snprintf(buf, len, "%lld", n);
	return buf;
}

/*
 * Values, as the table types them.
 */

static int
is_string(const struct conf_key *k)
{
	return k->type == CONF_STRING || k->type == CONF_PATH;
}

static char **
string_slot(const struct conf_key *k, const void *base)
{
	return (char **)(void *)((char *)(uintptr_t)base + k->offset);
}

static long long
get_number(const struct conf_key *k, const void *base)
{
	const char	*p = (const char *)base + k->offset;

	switch (k->type) {
	case CONF_DURATION:
		return *(const long long *)(const void *)p;
	case CONF_SIZE:
		return (long long)*(const size_t *)(const void *)p;
	default:
		return *(const int *)(const void *)p;
	}
}

static void
set_number(const struct conf_key *k, void *base, long long n)
{
	char	*p = (char *)base + k->offset;

	switch (k->type) {
	case CONF_DURATION:
		*(long long *)(void *)p = n;
		break;
	case CONF_SIZE:
		*(size_t *)(void *)p = (size_t)n;
		break;
	default:
		*(int *)(void *)p = (int)n;
		break;
	}
}

static size_t
count_choices(const struct conf_key *k)
{
	size_t	 n = 0;

	while (k->choices != NULL && k->choices[n] != NULL)
		n++;
	return n;
}

/* "error, warn, info, debug" */
static const char *
list_choices(const struct conf_key *k, const char *sep, char *buf,
    size_t len)
{
	size_t	 i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < count_choices(k) && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
		    i == 0 ? "" : sep, k->choices[i]);
	return buf;
}

/* A number as the file would say it: "8443", "64k", "30s", "info". */
static const char *
format_number(const struct conf_key *k, long long n, char *buf, size_t len)
{
	switch (k->type) {
	case CONF_DURATION:
		return conf_duration_format(n, buf, len);
	case CONF_SIZE:
		return conf_size_format(n, buf, len);
	case CONF_BOOL:
		return n ? "true" : "false";
	case CONF_ENUM:
		return n >= 0 && (size_t)n < count_choices(k) ?
		    k->choices[n] : "?";
	default:
		snprintf(buf, len, "%lld", n);
		return buf;
	}
}

static int
parse_int(const char *s, long long *out)
{
	char	*end;

	if (!isdigit((unsigned char)s[0]) &&
	    !(s[0] == '-' && isdigit((unsigned char)s[1]))) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	return errno == ERANGE ? -1 : 0;
}

/* YAML 1.1's booleans, the ones people write. */
static int
parse_bool(const char *s, long long *out)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };
	size_t	 i;

	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

static int
parse_enum(const struct conf_key *k, const char *s, long long *out)
{
	size_t	 i;

	for (i = 0; i < count_choices(k); i++)
		if (strcmp(s, k->choices[i]) == 0) {
			*out = (long long)i;
			return 0;
		}
	errno = EINVAL;
	return -1;
}

static int
parse_typed(const struct conf_key *k, const char *s, long long *n)
{
	switch (k->type) {
	case CONF_INT:
		return parse_int(s, n);
	case CONF_BOOL:
		return parse_bool(s, n);
	case CONF_DURATION:
		return conf_duration_parse(s, n);
	case CONF_SIZE:
		return conf_size_parse(s, n);
	default:
		return parse_enum(k, s, n);
	}
}

/* Syntax by type, then bounds; ld->why says what is wrong. */
static int
parse_number(struct loader *ld, const struct conf_key *k, const char *s,
    long long *n)
{
	char	 v[SHOW_MAX + 4], lo[32], hi[32], list[CONF_ERRLEN / 2];
	int	 rc;

	if ((rc = parse_typed(k, s, n)) == -1 && errno != ERANGE) {
		if (k->type == CONF_ENUM)
			return ld_why(ld, "\"%s\" is not one of %s",
			    show(s, v, sizeof(v)),
			    list_choices(k, ", ", list, sizeof(list)));
		return ld_why(ld, "\"%s\" is not %s", show(s, v, sizeof(v)),
		    types[k->type].example);
	}
	if (types[k->type].ranged &&
	    (rc == -1 || *n < k->min || *n > k->max))
		return ld_why(ld, "%s is out of range (%s..%s)",
		    show(s, v, sizeof(v)),
		    format_number(k, k->min, lo, sizeof(lo)),
		    format_number(k, k->max, hi, sizeof(hi)));
	return 0;
}

/* A path relative to the file's directory becomes absolute. */
static char *
make_path(const struct loader *ld, const char *s)
{
	const char	*sep;
	char		*p;
	size_t		 len;

	if (s[0] == '/' || ld->dir == NULL)
		return strdup(s);
	sep = ld->dir[strlen(ld->dir) - 1] == '/' ? "" : "/";
	len = strlen(ld->dir) + strlen(sep) + strlen(s) + 1;
	if ((p = malloc(len)) != NULL)
		snprintf(p, len, "%s%s%s", ld->dir, sep, s);
	return p;
}

static int
set_string(struct loader *ld, const struct conf_key *k, const char *s)
{
	char	**slot = string_slot(k, ld->base), *v;

	if (*s == '\0')
		return ld_why(ld, "must not be empty (leave the key out "
		    "instead)");
	v = k->type == CONF_PATH ? make_path(ld, s) : strdup(s);
	if (v == NULL)
		return ld_why(ld, "out of memory");
	if (k->type == CONF_PATH && strlen(v) >= PATH_MAX) {
		free(v);
		return ld_why(ld, "path is longer than %d bytes", PATH_MAX);
	}
	free(*slot);
	*slot = v;
	return 0;
}

/* The one way any value, from the file or a default, gets stored. */
static int
set_value(struct loader *ld, const struct conf_key *k, const char *s,
    size_t len)
{
	long long	 n;

	if (strlen(s) != len)
		return ld_why(ld, "contains a NUL character");
	if (is_string(k))
		return set_string(ld, k, s);
	if (parse_number(ld, k, s, &n) == -1)
		return -1;
	set_number(k, ld->base, n);
	return 0;
}

/*
 * The table.
 */

static const struct conf_key *
find_key(const struct conf_table *t, const char *name)
{
	size_t	 i;

	for (i = 0; i < t->nkeys; i++)
		if (strcmp(t->keys[i].name, name) == 0)
			return &t->keys[i];
	return NULL;
}

/* Some key lies below `name`, which is thus a mapping. */
static int
is_section(const struct conf_table *t, const char *name)
{
	size_t	 i, len = strlen(name);

	for (i = 0; i < t->nkeys; i++)
		if (strncmp(t->keys[i].name, name, len) == 0 &&
		    t->keys[i].name[len] == '.')
			return 1;
	return 0;
}

/* Levenshtein distance; SIZE_MAX for names too long to bother with. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), row[CONF_NAME_MAX + 1];
	size_t	 i, j, diag, up, best;

	if (la > CONF_NAME_MAX || lb > CONF_NAME_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The key or section below `prefix` closest to `word`, if close enough. */
static int
suggest(const struct conf_table *t, const char *prefix, const char *word,
    char *out, size_t len)
{
	size_t		 i, plen = strlen(prefix), d, best = SIZE_MAX;
	const char	*name;
	char		 seg[CONF_NAME_MAX + 1];

	for (i = 0; i < t->nkeys; i++) {
		name = t->keys[i].name;
		if (plen > 0 && (strncmp(name, prefix, plen) != 0 ||
		    name[plen] != '.'))
			continue;
		name += plen > 0 ? plen + 1 : 0;
		snprintf(seg, sizeof(seg), "%.*s", (int)strcspn(name, "."),
		    name);
		if ((d = edit_distance(word, seg)) < best &&
		    snprintf(out, len, "%s%s%s", prefix, plen > 0 ? "." : "",
		    seg) < (int)len)
			best = d;
	}
	return best <= 2 && best < strlen(word) ? 0 : -1;
}

/*
 * The walk over the YAML document.
 */

static yaml_node_t *
node(struct loader *ld, int i)
{
	return yaml_document_get_node(&ld->doc, i);
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		return "a single value";
	}
}

static const char *
scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* `key:`, `key: ~` and `key: null` say nothing. */
static int
is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null",
	    "NULL", NULL };
	size_t	 i;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (i = 0; nulls[i] != NULL; i++)
		if (strcmp(scalar(n), nulls[i]) == 0)
			return 1;
	return 0;
}

/* YAML allows it; two values for one key is a mistake nonetheless. */
static int
check_duplicate(struct loader *ld, const yaml_node_t *map,
    const yaml_node_pair_t *p, const char *prefix)
{
	const yaml_node_pair_t	*q;
	const yaml_node_t	*key = node(ld, p->key), *k;
	char			 v[SHOW_MAX + 4];

	for (q = map->data.mapping.pairs.start; q < p; q++) {
		k = node(ld, q->key);
		if (k->type != YAML_SCALAR_NODE ||
		    k->data.scalar.length != key->data.scalar.length ||
		    memcmp(scalar(k), scalar(key), k->data.scalar.length) != 0)
			continue;
		return ld_error(ld, key->start_mark,
		    "duplicate key \"%s%s%s\" (first at %zu:%zu)", prefix,
		    *prefix != '\0' ? "." : "", show(scalar(key), v, sizeof(v)),
		    k->start_mark.line + 1, k->start_mark.column + 1);
	}
	return 0;
}

static int
unknown_key(struct loader *ld, const yaml_node_t *key, const char *prefix,
    const char *name)
{
	char	 best[CONF_NAME_MAX + 1], v[SHOW_MAX + 4];

	show(name, v, sizeof(v));
	if (strchr(scalar(key), '.') != NULL &&
	    (find_key(ld->t, name) != NULL || is_section(ld->t, name)))
		return ld_error(ld, key->start_mark, "unknown key \"%s\" "
		    "(dotted names are written as nested mappings)", v);
	if (suggest(ld->t, prefix, scalar(key), best, sizeof(best)) == 0)
		return ld_error(ld, key->start_mark,
		    "unknown key \"%s\" (did you mean \"%s\"?)", v, best);
	return ld_error(ld, key->start_mark, "unknown key \"%s\"", v);
}

/* The dotted name of a mapping key; keys never contain dots themselves. */
static int
key_name(struct loader *ld, const yaml_node_t *key, const char *prefix,
    char *name, size_t len)
{
	const char	*s = scalar(key);
	int		 n;

	n = snprintf(name, len, "%s%s%s", prefix, *prefix != '\0' ? "." : "",
	    s);
	if (n < 0 || (size_t)n >= len || *s == '\0' ||
	    strlen(s) != key->data.scalar.length) {
		snprintf(name, len, "%s", s);
		return unknown_key(ld, key, "", name);
	}
	if (strchr(s, '.') != NULL)
		return unknown_key(ld, key, prefix, name);
	return 0;
}

static int
walk_null(struct loader *ld, const struct conf_key *k, const yaml_node_t *v)
{
	char	**slot;

	if (!is_string(k) || k->def != NULL || (k->flags & CONF_REQUIRED))
		return ld_error(ld, v->start_mark, "%s: missing value",
		    k->name);
	slot = string_slot(k, ld->base);
	free(*slot);
	*slot = NULL;
	return 0;
}

static int
walk_leaf(struct loader *ld, const struct conf_key *k, const yaml_node_t *v)
{
	ld->seen[k - ld->t->keys] = 1;
	if (v->type != YAML_SCALAR_NODE)
		return ld_error(ld, v->start_mark, "%s: expected %s, found %s",
		    k->name, types[k->type].noun, node_kind(v));
	if (is_null(v))
		return walk_null(ld, k, v);
	if (set_value(ld, k, scalar(v), v->data.scalar.length) == -1)
		return ld_error(ld, v->start_mark, "%s: %s", k->name, ld->why);
	return 0;
}

static int
walk_pair(struct loader *ld, yaml_node_t *map, const yaml_node_pair_t *p,
    const char *prefix)
{
	yaml_node_t		*key = node(ld, p->key), *v = node(ld, p->value);
	const struct conf_key	*k;
	char			 name[CONF_NAME_MAX + 1];

	if (key->type != YAML_SCALAR_NODE)
		return ld_error(ld, key->start_mark,
		    "a key must be a name, not %s", node_kind(key));
	if (check_duplicate(ld, map, p, prefix) == -1 ||
	    key_name(ld, key, prefix, name, sizeof(name)) == -1)
		return -1;
	if ((k = find_key(ld->t, name)) != NULL)
		return walk_leaf(ld, k, v);
	if (!is_section(ld->t, name))
		return unknown_key(ld, key, prefix, name);
	if (is_null(v))
		return 0;	/* every line of the section commented out */
	if (v->type != YAML_MAPPING_NODE)
		return ld_error(ld, v->start_mark, "%s: expected a mapping "
		    "of keys, found %s", name, node_kind(v));
	return walk_mapping(ld, v, name);
}

static int
walk_mapping(struct loader *ld, yaml_node_t *map, const char *prefix)
{
	yaml_node_pair_t	*p;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++)
		if (walk_pair(ld, map, p, prefix) == -1)
			return -1;
	return 0;
}

/* The value of `seg` (not NUL-terminated) in a mapping; *mark its key. */
static yaml_node_t *
lookup(struct loader *ld, yaml_node_t *map, const char *seg, size_t len,
    yaml_mark_t *mark)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*key;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		key = node(ld, p->key);
		if (key->type == YAML_SCALAR_NODE &&
		    key->data.scalar.length == len &&
		    memcmp(scalar(key), seg, len) == 0) {
			*mark = key->start_mark;
			return node(ld, p->value);
		}
	}
	return NULL;
}

/* A missing key is blamed on its closest section present, or the top. */
static yaml_mark_t
missing_mark(struct loader *ld, const char *name)
{
	yaml_node_t	*map = yaml_document_get_root_node(&ld->doc), *v;
	yaml_mark_t	 mark = { 0, 0, 0 };
	const char	*seg = name, *dot;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return mark;
	mark = map->start_mark;
	while ((dot = strchr(seg, '.')) != NULL) {
		v = lookup(ld, map, seg, dot - seg, &mark);
		if (v == NULL || v->type != YAML_MAPPING_NODE)
			break;
		map = v;
		seg = dot + 1;
	}
	return mark;
}

static int
check_required(struct loader *ld)
{
	const struct conf_key	*k;
	size_t			 i;

	for (i = 0; i < ld->t->nkeys; i++) {
		k = &ld->t->keys[i];
		if ((k->flags & CONF_REQUIRED) && !ld->seen[i])
			return ld_error(ld, missing_mark(ld, k->name),
			    "missing required key \"%s\"", k->name);
	}
	return 0;
}

/*
 * The file.
 */

/* Reader errors come as a byte offset; count lines up to it. */
static yaml_mark_t
offset_mark(struct loader *ld, size_t offset)
{
	yaml_mark_t	 m = { offset, 0, 0 };
	size_t		 i;
	int		 c;

	clearerr(ld->fp);
	if (fseek(ld->fp, 0, SEEK_SET) == -1)
		return m;
	for (i = 0; i < offset && (c = getc(ld->fp)) != EOF; i++) {
		if (c == '\n') {
			m.line++;
			m.column = 0;
		} else
			m.column++;
	}
	return m;
}

static int
yaml_error(struct loader *ld)
{
	const yaml_parser_t	*p = &ld->parser;
	const char		*problem = p->problem ? p->problem : "error";

	if (p->error == YAML_MEMORY_ERROR)
		return ld_file_error(ld, "out of memory");
	if (p->error == YAML_READER_ERROR)
		return ld_error(ld, offset_mark(ld, p->problem_offset),
		    "%s", problem);
	if (p->context == NULL)
		return ld_error(ld, p->problem_mark, "YAML syntax error: %s",
		    problem);
	return ld_error(ld, p->problem_mark,
	    "YAML syntax error: %s (%s at %zu:%zu)", problem, p->context,
	    p->context_mark.line + 1, p->context_mark.column + 1);
}

/* A file is one document; a second one would be silently ignored. */
static int
check_single(struct loader *ld)
{
	yaml_document_t	 next;
	yaml_node_t	*root;
	int		 rc = 0;

	if (!yaml_parser_load(&ld->parser, &next))
		return yaml_error(ld);
	if ((root = yaml_document_get_root_node(&next)) != NULL)
		rc = ld_error(ld, root->start_mark, "a second YAML document "
		    "(the configuration is one document)");
	yaml_document_delete(&next);
	return rc;
}

static int
ld_parse(struct loader *ld)
{
	yaml_node_t	*root;

	yaml_parser_set_input_file(&ld->parser, ld->fp);
	if (!yaml_parser_load(&ld->parser, &ld->doc))
		return yaml_error(ld);
	ld->have_doc = 1;
	root = yaml_document_get_root_node(&ld->doc);
	if (root == NULL || is_null(root))
		return check_required(ld);	/* empty: all defaults */
	if (root->type != YAML_MAPPING_NODE)
		return ld_error(ld, root->start_mark, "expected a mapping "
		    "of keys, found %s", node_kind(root));
	if (walk_mapping(ld, root, "") == -1 || check_required(ld) == -1)
		return -1;
	return check_single(ld);
}

/* The file's directory, absolute, against which relative paths resolve. */
static int
ld_dir(struct loader *ld)
{
	const char	*slash = strrchr(ld->path, '/');
	char		*d;

	if (slash == NULL)
		d = strdup(".");
	else if (slash == ld->path)
		d = strdup("/");
	else
		d = strndup(ld->path, slash - ld->path);
	if (d == NULL)
		return ld_file_error(ld, "out of memory");
	ld->dir = realpath(d, NULL);
	free(d);
	if (ld->dir == NULL)
		return ld_file_error(ld, strerror(errno));
	return 0;
}

/* Non-blocking, so that a FIFO is refused instead of waited on. */
static int
ld_open(struct loader *ld)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open(ld->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return ld_file_error(ld, strerror(errno));
	if (fstat(fd, &st) == -1 || (ld->fp = fdopen(fd, "rb")) == NULL) {
		close(fd);
		return ld_file_error(ld, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return ld_file_error(ld, "not a regular file");
	if (st.st_size > CONF_FILE_MAX)
		return ld_file_error(ld, "larger than 1m: not a "
		    "configuration file");
	return ld_dir(ld);
}

static int
ld_defaults(struct loader *ld)
{
	const struct conf_key	*k;
	size_t			 i;

	for (i = 0; i < ld->t->nkeys; i++) {
		k = &ld->t->keys[i];
		if (k->def != NULL &&
		    set_value(ld, k, k->def, strlen(k->def)) == -1)
			return ld_file_error(ld, ld->why);
	}
	return 0;
}

static int
ld_run(struct loader *ld)
{
	if ((ld->base = calloc(1, ld->t->size)) == NULL ||
	    (ld->seen = calloc(ld->t->nkeys, 1)) == NULL)
		return ld_file_error(ld, "out of memory");
	if (ld_open(ld) == -1 || ld_defaults(ld) == -1)
		return -1;
	if (!yaml_parser_initialize(&ld->parser))
		return ld_file_error(ld, "out of memory");
	ld->have_parser = 1;
	return ld_parse(ld);
}

static void
ld_close(struct loader *ld)
{
	if (ld->have_doc)
		yaml_document_delete(&ld->doc);
	if (ld->have_parser)
		yaml_parser_delete(&ld->parser);
	if (ld->fp != NULL)
		fclose(ld->fp);
	conf_table_free(ld->t, ld->base);
	free(ld->base);
	free(ld->seen);
	free(ld->dir);
}

int
conf_table_load(const struct conf_table *t, const char *path, void *out,
    char *err, size_t errlen)
{
	struct loader	 ld;
	int		 rc;

	memset(&ld, 0, sizeof(ld));
	ld.t = t;
	ld.path = path;
	ld.err = err;
	ld.errlen = errlen;
	if ((rc = ld_run(&ld)) == 0) {
		memcpy(out, ld.base, t->size);
		free(ld.base);
		ld.base = NULL;
	}
	ld_close(&ld);
	return rc;
}

void
conf_table_free(const struct conf_table *t, void *base)
{
	char	**slot;
	size_t	 i;

	if (base == NULL)
		return;
	for (i = 0; i < t->nkeys; i++) {
		if (!is_string(&t->keys[i]))
			continue;
		slot = string_slot(&t->keys[i], base);
		free(*slot);
		*slot = NULL;
	}
}

/*
 * Printing: the effective configuration, and help.
 */

/* One UTF-8 character at p: its length, or 0 if malformed. */
static size_t
utf8_decode(const unsigned char *p, uint32_t *cp)
{
	size_t	 n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, *cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, *cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, *cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	return n;
}

/*
 * Characters libyaml takes as they are inside double quotes: printable
 * (its reader refuses the rest) and not a line break (it would fold).
 */
static int
yaml_plain_char(uint32_t c)
{
	if (c == '"' || c == '\\' || c == 0x2028 || c == 0x2029 ||
	    c == 0xfeff)
		return 0;
	return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) ||
	    (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* A double-quoted scalar that reads back byte for byte. */
static void
print_quoted(FILE *fp, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 c;
	size_t			 n;

	putc('"', fp);
	for (; *p != '\0'; p += n) {
		if ((n = utf8_decode(p, &c)) == 0) {
			fprintf(fp, "\\x%02X", *p);	/* cannot happen */
			n = 1;
		} else if (yaml_plain_char(c))
			fwrite(p, 1, n, fp);
		else if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", (int)c);
		else if (c <= 0xff)
			fprintf(fp, "\\x%02X", (unsigned)c);
		else if (c <= 0xffff)
			fprintf(fp, "\\u%04X", (unsigned)c);
		else
			fprintf(fp, "\\U%08X", (unsigned)c);
	}
	putc('"', fp);
}

static int
depth(const char *name)
{
	int	 n = 0;

	while ((name = strchr(name, '.')) != NULL) {
		n++;
		name++;
	}
	return n;
}

/* How many leading sections two dotted names share. */
static int
shared_sections(const char *a, const char *b)
{
	int	 n = 0;
	size_t	 i;

	for (i = 0; a[i] != '\0' && a[i] == b[i]; i++)
		if (a[i] == '.')
			n++;
	return n;
}

/* Opens the mappings `name` needs that `prev` did not open. */
static void
print_sections(FILE *fp, const char *prev, const char *name)
{
	const char	*seg = name, *dot;
	int		 depth = 0, from = shared_sections(prev, name);

	for (; (dot = strchr(seg, '.')) != NULL; seg = dot + 1, depth++)
		if (depth >= from)
			fprintf(fp, "%*s%.*s:\n", depth * 2, "",
			    (int)(dot - seg), seg);
}

static void
print_key(FILE *fp, const struct conf_key *k, const void *base)
{
	const char	*leaf = strrchr(k->name, '.'), *s;
	char		 buf[64];

	leaf = leaf != NULL ? leaf + 1 : k->name;
	fprintf(fp, "%*s%s: ", depth(k->name) * 2, "",
	    leaf);
	if (!is_string(k))
		fputs(format_number(k, get_number(k, base), buf, sizeof(buf)),
		    fp);
	else if ((s = *string_slot(k, base)) == NULL)
		fputs("~", fp);
	else
		print_quoted(fp, s);
	putc('\n', fp);
}

void
conf_table_print(const struct conf_table *t, FILE *fp, const void *base)
{
	size_t	 i;

	for (i = 0; i < t->nkeys; i++) {
		print_sections(fp, i > 0 ? t->keys[i - 1].name : "",
		    t->keys[i].name);
		print_key(fp, &t->keys[i], base);
	}
}

/* Help text, indented and wrapped before column 76. */
static void
print_wrapped(FILE *fp, const char *s, int indent)
{
	int	 col = 0, w;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		w = (int)strcspn(s, " ");
		if (col > indent && col + 1 + w > 76) {
			putc('\n', fp);
			col = 0;
		}
		if (col == 0)
			col = fprintf(fp, "%*s", indent, "");
		else
			col += fprintf(fp, " ");
		col += fprintf(fp, "%.*s", w, s);
		s += w;
	}
	if (col > 0)
		putc('\n', fp);
}

static void
help_key(FILE *fp, const struct conf_key *k)
{
	char	 lo[32], hi[32], list[CONF_ERRLEN / 2];

	if (k->type == CONF_ENUM)
		fprintf(fp, "%s: %s", k->name,
		    list_choices(k, "|", list, sizeof(list)));
	else
		fprintf(fp, "%s: %s", k->name, types[k->type].name);
	if (types[k->type].ranged)
		fprintf(fp, " %s..%s", format_number(k, k->min, lo, sizeof(lo)),
		    format_number(k, k->max, hi, sizeof(hi)));
	if (k->flags & CONF_REQUIRED)
		fputs("; required\n", fp);
	else if (k->def != NULL)
		fprintf(fp, "; default %s\n", k->def);
	else
		fputs("; not set by default\n", fp);
	print_wrapped(fp, k->help, 4);
}

void
conf_table_help(const struct conf_table *t, FILE *fp)
{
	size_t	 i;

	for (i = 0; i < t->nkeys; i++)
		help_key(fp, &t->keys[i]);
}

/*
 * Checking the table itself (the unit test runs this).
 */

/* Lower-case words of [a-z0-9_] joined by single dots. */
static int
valid_name(const char *name)
{
	const char	*p;
	int		 prev_dot = 1;

	if (strlen(name) > CONF_NAME_MAX)
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (*p == '.' && prev_dot)
			return 0;
		if (*p != '.' && !islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '_')
			return 0;
		prev_dot = *p == '.';
	}
	return !prev_dot;
}

/* Every section of key i is contiguous up to i, as printing needs. */
static int
grouped(const struct conf_table *t, size_t i)
{
	const char	*name = t->keys[i].name, *dot;
	size_t		 j, plen;

	for (dot = strchr(name, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		plen = dot - name + 1;
		if (i == 0 || strncmp(t->keys[i - 1].name, name, plen) == 0)
			continue;
		for (j = 0; j + 1 < i; j++)
			if (strncmp(t->keys[j].name, name, plen) == 0)
				return 0;
	}
	return 1;
}

static const char *
verify_shape(const struct conf_table *t, size_t i)
{
	const struct conf_key	*k = &t->keys[i];

	if (k->name == NULL || !valid_name(k->name))
		return "bad name";
	if (find_key(t, k->name) != k)
		return "listed twice";
	if (is_section(t, k->name))
		return "both a key and a section";
	if (!grouped(t, i))
		return "its section is not listed together";
	if (k->help == NULL || k->help[0] == '\0')
		return "no help";
	if ((unsigned)k->type >= sizeof(types) / sizeof(types[0]))
		return "bad type";
	if (k->check != CONF_CHECK_NONE && k->type != CONF_PATH)
		return "a check on something not a path";
	return NULL;
}

static const char *
verify_bounds(const struct conf_key *k)
{
	if ((k->flags & CONF_REQUIRED) && k->def != NULL)
		return "required, yet has a default";
	if (!is_string(k) && !(k->flags & CONF_REQUIRED) && k->def == NULL)
		return "a number needs a default";
	if (k->type == CONF_ENUM && count_choices(k) == 0)
		return "no choices";
	if (!types[k->type].ranged)
		return NULL;
	if (k->min > k->max)
		return "min above max";
	if (k->type == CONF_INT && (k->min < INT_MIN || k->max > INT_MAX))
		return "bounds beyond int";
	if (k->type != CONF_INT && k->min < 0)
		return "negative bound";
	return NULL;
}

/* The default goes through the loader's own parser, into scratch. */
static int
verify_default(const struct conf_table *t, const struct conf_key *k,
    char *why, size_t len)
{
	struct loader	 ld;
	int		 rc;

	if (k->def == NULL)
		return 0;
	memset(&ld, 0, sizeof(ld));
	ld.t = t;
	if ((ld.base = calloc(1, t->size)) == NULL)
		return fail(why, len, "out of memory");
	if ((rc = set_value(&ld, k, k->def, strlen(k->def))) == -1)
		fail(why, len, "default: %s", ld.why);
	conf_table_free(t, ld.base);
	free(ld.base);
	return rc;
}

int
conf_table_verify(const struct conf_table *t, char *err, size_t errlen)
{
	const struct conf_key	*k;
	const char		*why;
	char			 buf[CONF_ERRLEN];
	size_t			 i;

	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		if ((why = verify_shape(t, i)) == NULL &&
		    (why = verify_bounds(k)) == NULL &&
		    verify_default(t, k, buf, sizeof(buf)) == -1)
			why = buf;
		if (why != NULL) {
			errbuf_set(err, errlen, "key %zu (%s): %s", i,
			    k->name ? k->name : "?", why);
			return -1;
		}
	}
	return 0;
}

/*
 * conf_check_files(): what `iotad -n` looks at beyond syntax.
 */

static int
why_errno(char *why, size_t len, const char *path)
{
	snprintf(why, len, "%s: %s", path, strerror(errno));
	return -1;
}

/* A readable regular file; a secret one admits no group or others. */
static int
check_file(const char *path, int secret, char *why, size_t len)
{
	struct stat	 st;

	if (stat(path, &st) == -1 || access(path, R_OK) == -1)
		return why_errno(why, len, path);
	if (!S_ISREG(st.st_mode))
		return fail(why, len, "%s: not a regular file", path);
	if (secret && (st.st_mode & 077) != 0)
		return fail(why, len, "%s: mode %04o lets group or others "
		    "in (chmod 600)", path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int
is_hexkey(const char *buf, size_t n)
{
	size_t	 i;

	if (n != HEXKEY_LEN && !(n == HEXKEY_LEN + 1 && buf[n - 1] == '\n'))
		return 0;
	for (i = 0; i < HEXKEY_LEN; i++)
		if (!isxdigit((unsigned char)buf[i]))
			return 0;
	return 1;
}

/* 64 hex digits and maybe a newline; the bytes never leave this frame. */
static int
check_hexkey(const char *path, char *why, size_t len)
{
	char	 buf[HEXKEY_LEN + 2];
	size_t	 n = 0;
	ssize_t	 r = 1;
	int	 fd, ok;

	if (check_file(path, 1, why, len) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) == -1)
		return why_errno(why, len, path);
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	close(fd);
	ok = r >= 0 && is_hexkey(buf, n);
	explicit_bzero(buf, sizeof(buf));
	if (r < 0)
		return why_errno(why, len, path);
	if (!ok)
		return fail(why, len, "%s: not %d hexadecimal digits (a "
		    "raw 256-bit key)", path, HEXKEY_LEN);
	return 0;
}

static int
check_cadir(const char *dir, char *why, size_t len)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	size_t		 i;

	if (stat(dir, &st) == -1)
		return why_errno(why, len, dir);
	if (!S_ISDIR(st.st_mode))
		return fail(why, len, "%s: not a directory", dir);
	for (i = 0; cadir_files[i] != NULL; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, cadir_files[i]) >=
		    (int)sizeof(path))
			return fail(why, len, "%s: path too long", dir);
		/* Only the key is secret; it is encrypted, yet kept 0600. */
		if (check_file(path, strstr(cadir_files[i], ".key") != NULL,
		    why, len) == -1)
			return -1;
	}
	return 0;
}

static int
check_dir(const char *path, char *why, size_t len)
{
	struct stat	 st;

	if (stat(path, &st) == -1 || access(path, W_OK | X_OK) == -1)
		return why_errno(why, len, path);
	if (!S_ISDIR(st.st_mode))
		return fail(why, len, "%s: not a directory", path);
	if ((st.st_mode & 022) != 0)
		return fail(why, len, "%s: mode %04o lets group or others "
		    "write (chmod 700)", path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* An existing file we may append to, or one we may create. */
static int
check_output(const char *path, char *why, size_t len)
{
	struct stat	 st;
	char		*dir, *slash;
	int		 rc;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return fail(why, len, "%s: is a directory", path);
		return access(path, W_OK) == 0 ? 0 :
		    why_errno(why, len, path);
	}
	if (errno != ENOENT)
		return why_errno(why, len, path);
	if ((dir = strdup(path)) == NULL)
		return fail(why, len, "out of memory");
	if ((slash = strrchr(dir, '/')) == NULL)
		rc = access(".", W_OK | X_OK);
	else {
		slash[slash == dir] = '\0';	/* "/x" leaves "/" */
		rc = access(dir, W_OK | X_OK);
	}
	free(dir);
	if (rc == -1)
		return fail(why, len, "%s: cannot be created: %s", path,
		    strerror(errno));
	return 0;
}

static int
check_path(enum conf_check check, const char *path, char *why, size_t len)
{
	switch (check) {
	case CONF_CHECK_FILE:
		return check_file(path, 0, why, len);
	case CONF_CHECK_SECRET:
		return check_file(path, 1, why, len);
	case CONF_CHECK_HEXKEY:
		return check_hexkey(path, why, len);
	case CONF_CHECK_CADIR:
		return check_cadir(path, why, len);
	case CONF_CHECK_DIR:
		return check_dir(path, why, len);
	case CONF_CHECK_OUTPUT:
		return check_output(path, why, len);
	default:
		return 0;
	}
}

int
conf_table_check_files(const struct conf_table *t, const void *base,
    char *err, size_t errlen)
{
	const struct conf_key	*k;
	const char		*path;
	char			 why[CONF_ERRLEN];
	size_t			 i;

	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		if (k->check == CONF_CHECK_NONE || !is_string(k) ||
		    (path = *string_slot(k, base)) == NULL)
			continue;
		if (check_path(k->check, path, why, sizeof(why)) == -1) {
			errbuf_set(err, errlen, "%s: %s", k->name, why);
			return -1;
		}
	}
	return 0;
}

/*
 * iotad's entry points: the table machinery over iotad_conf_table.
 */

int
conf_load(const char *path, struct iotad_conf *out, char *err,
    size_t errlen)
{
	return conf_table_load(&iotad_conf_table, path, out, err, errlen);
}

void
conf_free(struct iotad_conf *conf)
{
	conf_table_free(&iotad_conf_table, conf);
}

void
conf_print(FILE *fp, const struct iotad_conf *conf)
{
	conf_table_print(&iotad_conf_table, fp, conf);
}

int
conf_check_files(const struct iotad_conf *conf, char *err, size_t errlen)
{
	return conf_table_check_files(&iotad_conf_table, conf, err, errlen);
}

void
conf_help(FILE *fp)
{
	conf_table_help(&iotad_conf_table, fp);
}
