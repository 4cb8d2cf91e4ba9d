/*
 * The value syntaxes: integers, booleans, durations, sizes and the names
 * of an enum, read from the text of a scalar and written back in the
 * shortest exact form.  Nothing here knows of YAML or of structs.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf-int.h"
#include "errbuf.h"

const struct conf_type_name conf_types[] = {
	[CONF_STRING] = { "string", "a string", NULL, 0 },
	[CONF_PATH] = { "path", "a path", NULL, 0 },
	[CONF_INT] = { "integer", "an integer", "an integer", 1 },
	[CONF_BOOL] = { "boolean", "true or false", "true or false", 0 },
	[CONF_DURATION] = { "duration", "a duration",
	    "a duration (such as 30s, 10m, 24h, 7d)", 1 },
	[CONF_SIZE] = { "size", "a size", "a size (such as 512, 64k, 1m)", 1 },
	[CONF_ENUM] = { "name", "a name", NULL, 0 },
};
const size_t conf_ntypes = sizeof(conf_types) / sizeof(conf_types[0]);

const char *
conf_show(const char *s, char *buf, size_t len)
{
	size_t	 n = strlen(s);

	if (n <= CONF_SHOW_MAX || len < CONF_SHOW_LEN) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	n = CONF_SHOW_MAX;
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
digits_parse(const char **sp, long long *out)
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
scaled_add(long long *total, long long n, long long unit)
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
		return digits_parse(&s, out);	/* bare seconds */
	do {
		if (digits_parse(&s, &n) == -1)
			return -1;
		if ((unit = duration_unit(*s)) == 0) {
			errno = EINVAL;
			return -1;
		}
		s++;
		if (scaled_add(&total, n, unit) == -1)
			return -1;
	} while (*s != '\0');
	*out = total;
	return 0;
}

static long long
size_unit(char c)
{
	switch (c) {
	case '\0':
		return 1;
	case 'k': case 'K':
		return 1024LL;
	case 'm': case 'M':
		return 1024LL * 1024;
	case 'g': case 'G':
		return 1024LL * 1024 * 1024;
	default:
		return 0;
	}
}

int
conf_size_parse(const char *s, long long *out)
{
	long long	 n, unit, total = 0;

	if (digits_parse(&s, &n) == -1)
		return -1;
	if ((unit = size_unit(*s)) == 0 || (*s != '\0' && s[1] != '\0')) {
		errno = EINVAL;
		return -1;
	}
	if (scaled_add(&total, n, unit) == -1)
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
 * Integers, booleans and enums.
 */

static int
int_parse(const char *s, long long *out)
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
bool_parse(const char *s, long long *out)
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

size_t
conf_choices_count(const struct conf_key *k)
{
	size_t	 n = 0;

	while (k->choices != NULL && k->choices[n] != NULL)
		n++;
	return n;
}

const char *
conf_choices_list(const struct conf_key *k, const char *sep, char *buf,
    size_t len)
{
	size_t	 i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < conf_choices_count(k) && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
		    i == 0 ? "" : sep, k->choices[i]);
	return buf;
}

static int
enum_parse(const struct conf_key *k, const char *s, long long *out)
{
	size_t	 i;

	for (i = 0; i < conf_choices_count(k); i++)
		if (strcmp(s, k->choices[i]) == 0) {
			*out = (long long)i;
			return 0;
		}
	errno = EINVAL;
	return -1;
}

/*
 * Any type.
 */

const char *
conf_value_format(const struct conf_key *k, long long n, char *buf,
    size_t len)
{
	switch (k->type) {
	case CONF_DURATION:
		return conf_duration_format(n, buf, len);
	case CONF_SIZE:
		return conf_size_format(n, buf, len);
	case CONF_BOOL:
		return n ? "true" : "false";
	case CONF_ENUM:
		return n >= 0 && (size_t)n < conf_choices_count(k) ?
		    k->choices[n] : "?";
	default:
		snprintf(buf, len, "%lld", n);
		return buf;
	}
}

static int
value_parse_typed(const struct conf_key *k, const char *s, long long *n)
{
	switch (k->type) {
	case CONF_INT:
		return int_parse(s, n);
	case CONF_BOOL:
		return bool_parse(s, n);
	case CONF_DURATION:
		return conf_duration_parse(s, n);
	case CONF_SIZE:
		return conf_size_parse(s, n);
	default:
		return enum_parse(k, s, n);
	}
}

int
conf_value_parse(const struct conf_key *k, const char *s, long long *n,
    char *why, size_t len)
{
	char	 v[CONF_SHOW_LEN], lo[32], hi[32], list[CONF_ERRLEN / 2];
	int	 rc;

	conf_show(s, v, sizeof(v));
	if ((rc = value_parse_typed(k, s, n)) == -1 && errno != ERANGE) {
		if (k->type == CONF_ENUM)
			errbuf_set(why, len, "\"%s\" is not one of %s", v,
			    conf_choices_list(k, ", ", list, sizeof(list)));
		else
			errbuf_set(why, len, "\"%s\" is not %s", v,
			    conf_types[k->type].example);
		return -1;
	}
	if (conf_types[k->type].ranged &&
	    (rc == -1 || *n < k->min || *n > k->max)) {
		errbuf_set(why, len, "%s is out of range (%s..%s)", v,
		    conf_value_format(k, k->min, lo, sizeof(lo)),
		    conf_value_format(k, k->max, hi, sizeof(hi)));
		return -1;
	}
	return 0;
}
