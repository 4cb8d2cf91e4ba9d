/* Routing: strict parsing of the request target and the route table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "router.h"

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 3986 pchar less '%', which decode() handles; a query adds / and ?. */
static int
raw_ok(int c, int query)
{
	if (is_alnum(c))
		return 1;
	if (c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL)
		return 1;
	return query && (c == '/' || c == '?');
}

/*
 * Decodes len bytes of src into dst (at least len + 1 bytes), terminated.
 * Refuses bad escapes and, once decoded, control bytes (NUL among them): a
 * name never needs them, and letting them through would let "%00" mean
 * something else further down.  A "%2F" in a path segment sets *slashed:
 * only a tail capture may take such a segment (see router_route).
 */
static int
decode(const char *src, size_t len, char *dst, int query, int *slashed)
{
	size_t i, n = 0;
	int c, hi, lo;

	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (c == '%') {
			if (len - i < 3 || (hi = hex_digit(src[i + 1])) < 0 ||
			    (lo = hex_digit(src[i + 2])) < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
			if (c == '/' && !query)
				*slashed = 1;
		} else if (c == '+' && query)
			c = ' ';
		else if (!raw_ok(c, query))
			return -1;
		if (c < 0x20 || c == 0x7f)
			return -1;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
	return 0;
}

static int
dot_segment(const char *s)
{
	return strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

/* Splits an encoded path into decoded segments, kept in m->buf. */
static enum router_status
split_path(const char *raw, struct router_match *m)
{
	const char *p, *end;
	char *dst;

	if (raw[0] != '/')
		return ROUTER_BAD_PATH;
	if ((m->buf = malloc(strlen(raw) + 1)) == NULL)
		return ROUTER_NO_MEMORY;
	dst = m->buf;
	for (p = raw + 1;; p = end + 1) {
		if ((end = strchr(p, '/')) == NULL)
			end = p + strlen(p);
		/* Deeper than any pattern: nothing can match. */
		if (m->nseg == ROUTER_MAX_SEGMENTS)
			return ROUTER_NOT_FOUND;
		if (decode(p, (size_t)(end - p), dst, 0,
		    &m->slashed[m->nseg]) == -1 || dot_segment(dst))
			return ROUTER_BAD_PATH;
		m->seg[m->nseg++] = dst;
		dst += strlen(dst) + 1;
		if (*end == '\0')
			return ROUTER_FOUND;
	}
}

static int
is_capture(const char *seg, size_t len)
{
	return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

/* "{name*}": the rest of the path, '/' and "%2F" included. */
static int
is_tail(const char *seg, size_t len)
{
	return is_capture(seg, len) && len >= 4 && seg[len - 2] == '*';
}

/* The segments from i on, joined again with '/' in the match's buffer. */
static const char *
join_tail(struct router_match *m, size_t i)
{
	for (size_t j = i + 1; j < m->nseg; j++)
		((char *)m->seg[j])[-1] = '/';
	m->nseg = i + 1;
	return m->seg[i];
}

/*
 * Matches the path's segments against a checked pattern; records the
 * captures only when asked, so that probing rows for a 405 is cheap.
 */
static int
pattern_match(const char *pat, struct router_match *m, int capture)
{
	const char *p, *end;
	size_t i, len;

	if (capture)
		m->nparams = 0;
	for (i = 0, p = pat + 1; i < m->nseg; i++, p = end + 1) {
		if ((end = strchr(p, '/')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (is_tail(p, len)) {
			if (capture) {
				m->params[m->nparams].name = p + 1;
				m->params[m->nparams].namelen = len - 3;
				m->params[m->nparams++].value = join_tail(m, i);
			}
			return m->seg[i][0] != '\0';
		}
		if (m->slashed[i])
			return 0;
		if (is_capture(p, len)) {
			if (m->seg[i][0] == '\0')
				return 0;
			if (capture) {
				m->params[m->nparams].name = p + 1;
				m->params[m->nparams].namelen = len - 2;
				m->params[m->nparams++].value = m->seg[i];
			}
		} else if (strlen(m->seg[i]) != len ||
		    memcmp(m->seg[i], p, len) != 0)
			return 0;
		if (*end == '\0')
			return i + 1 == m->nseg;
	}
	return 0;
}

static void
allow_add(struct router_match *m, const char *method)
{
	size_t len = strlen(m->allow), mlen = strlen(method);
	const char *p;

	for (p = m->allow; (p = strstr(p, method)) != NULL; p += mlen)
		if ((p == m->allow || p[-1] == ' ') &&
		    (p[mlen] == ',' || p[mlen] == '\0'))
			return;
	if (len + mlen + 3 > sizeof(m->allow))
		return;		/* router_check keeps this from happening */
	snprintf(m->allow + len, sizeof(m->allow) - len, "%s%s",
	    len > 0 ? ", " : "", method);
}

enum router_status
router_route(const struct router *r, const char *method, const char *raw,
    struct router_match *m)
{
	enum router_status st;
	size_t i;

	memset(m, 0, sizeof(*m));
	if ((st = split_path(raw, m)) != ROUTER_FOUND)
		return st;
	for (i = 0; i < r->n; i++) {
		if (!pattern_match(r->routes[i].pattern, m, 0))
			continue;
		if (strcmp(r->routes[i].method, method) == 0) {
			pattern_match(r->routes[i].pattern, m, 1);
			m->route = &r->routes[i];
			return ROUTER_FOUND;
		}
		allow_add(m, r->routes[i].method);
	}
	for (i = 0; i < m->nseg; i++)
		if (m->slashed[i] && m->allow[0] == '\0')
			return ROUTER_BAD_PATH;
	return m->allow[0] != '\0' ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}

void
router_match_free(struct router_match *m)
{
	free(m->buf);
	m->buf = NULL;
}

const char *
router_param(const struct router_match *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nparams; i++)
		if (strlen(name) == m->params[i].namelen &&
		    memcmp(name, m->params[i].name, m->params[i].namelen) == 0)
			return m->params[i].value;
	return NULL;
}

static int
check_method(const char *method)
{
	const char *p;

	if (method == NULL || *method == '\0')
		return -1;
	for (p = method; *p != '\0'; p++)
		if (*p < 'A' || *p > 'Z')
			return -1;
	return 0;
}

static int
check_capture_name(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > ROUTER_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z') &&
		    !(name[i] >= '0' && name[i] <= '9') && name[i] != '_')
			return -1;
	return 0;
}

static int
check_literal(const char *seg, size_t len)
{
	size_t i;

	if ((len == 1 && seg[0] == '.') ||
	    (len == 2 && seg[0] == '.' && seg[1] == '.'))
		return -1;
	for (i = 0; i < len; i++)
		if (!raw_ok((unsigned char)seg[i], 0) || seg[i] == '{' ||
		    seg[i] == '}')
			return -1;
	return 0;
}

/* A capture name already used earlier in the same pattern? */
static int
capture_seen(const char *pat, const char *name, size_t len)
{
	const char *p;

	for (p = pat; (p = strchr(p, '{')) != NULL && p < name - 1; p++)
		if (strncmp(p + 1, name, len) == 0 && p[len + 1] == '}')
			return 1;
	return 0;
}

static const char *
check_pattern(const char *pat)
{
	const char *p, *end;
	size_t len, nseg = 0, ncap = 0;

	if (pat == NULL || pat[0] != '/')
		return "pattern must start with '/'";
	for (p = pat + 1;; p = end + 1) {
		if ((end = strchr(p, '/')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (++nseg > ROUTER_MAX_SEGMENTS)
			return "too many segments";
		if (is_tail(p, len) && *end != '\0')
			return "a tail capture must be the last segment";
		if (is_capture(p, len)) {
			if (check_capture_name(p + 1, len - 2 - is_tail(p, len))
			    == -1)
				return "bad capture name";
			if (++ncap > ROUTER_MAX_PARAMS)
				return "too many captures";
			if (capture_seen(pat, p + 1, len - 2 - is_tail(p, len)))
				return "capture name used twice";
		} else if (len == 0 || check_literal(p, len) == -1)
			return "bad literal segment";
		if (*end == '\0')
			return NULL;
	}
}

static const char *
check_row(const struct router *r, size_t i)
{
	const struct route *rt = &r->routes[i];
	const char *why;
	size_t j, allow = 0;

	if (check_method(rt->method) == -1)
		return "method must be upper-case letters";
	if (rt->fn == NULL)
		return "no handler";
	if (rt->callers == 0)
		return "no callers: say who may call it";
	if ((why = check_pattern(rt->pattern)) != NULL)
		return why;
	for (j = 0; j < i; j++) {
		if (strcmp(r->routes[j].pattern, rt->pattern) != 0)
			continue;
		if (strcmp(r->routes[j].method, rt->method) == 0)
			return "duplicate route";
		allow += strlen(r->routes[j].method) + 2;
	}
	if (allow + strlen(rt->method) + 1 > ROUTER_ALLOW_MAX)
		return "too many methods on one pattern";
	return NULL;
}

int
router_check(const struct router *r, char *err, size_t errlen)
{
	const char *why;
	size_t i;

	if (r == NULL || (r->n > 0 && r->routes == NULL)) {
		snprintf(err, errlen, "no route table");
		return -1;
	}
	if (r->gate == NULL || r->caller_size > ROUTER_CALLER_MAX) {
		snprintf(err, errlen, "a route table needs a gate and a caller "
		    "of at most %d bytes", ROUTER_CALLER_MAX);
		return -1;
	}
	for (i = 0; i < r->n; i++) {
		if ((why = check_row(r, i)) != NULL) {
			snprintf(err, errlen, "route %zu (%s %s): %s", i,
			    r->routes[i].method ? r->routes[i].method : "?",
			    r->routes[i].pattern ? r->routes[i].pattern : "?",
			    why);
			return -1;
		}
	}
	return 0;
}

/* Decodes one "name[=value]" piece of a query into q. */
static int
query_pair(struct router_query *q, const char *p, size_t len, char **dst)
{
	const char *eq;
	size_t nlen;

	if (q->n == ROUTER_MAX_QUERY)
		return -1;
	eq = memchr(p, '=', len);
	nlen = eq != NULL ? (size_t)(eq - p) : len;
	if (nlen == 0 || decode(p, nlen, *dst, 1, NULL) == -1)
		return -1;
	q->pairs[q->n].name = *dst;
	*dst += strlen(*dst) + 1;
	q->pairs[q->n].value = "";
	if (eq != NULL) {
		if (decode(eq + 1, len - nlen - 1, *dst, 1, NULL) == -1)
			return -1;
		q->pairs[q->n].value = *dst;
		*dst += strlen(*dst) + 1;
	}
	q->n++;
	return 0;
}

int
router_query_parse(const char *raw, struct router_query *q)
{
	const char *p, *end;
	char *dst;

	memset(q, 0, sizeof(*q));
	if (raw == NULL || *raw == '\0')
		return 0;
	/* Decoding never grows a piece; each piece gains one terminator. */
	if ((q->buf = malloc(strlen(raw) + 2)) == NULL)
		return -2;
	dst = q->buf;
	for (p = raw;; p = end + 1) {
		if ((end = strchr(p, '&')) == NULL)
			end = p + strlen(p);
		/* "a=1&&b=2" and a trailing '&' are harmless: skip them. */
		if (end > p && query_pair(q, p, (size_t)(end - p), &dst) == -1)
			return -1;
		if (*end == '\0')
			return 0;
	}
}

int
router_form_parse(const char *body, size_t len, struct router_query *q)
{
	memset(q, 0, sizeof(*q));
	if (memchr(body, '\0', len) != NULL)
		return -1;
	return router_query_parse(body, q);
}

void
router_query_free(struct router_query *q)
{
	free(q->buf);
	q->buf = NULL;
	q->n = 0;
}

const char *
router_query_get(const struct router_query *q, const char *name)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->pairs[i].name, name) == 0)
			return q->pairs[i].value;
	return NULL;
}
