/*
 * libFuzzer target: a request target (method, path, query) as http.c
 * hands it to the router, against iotad's own patterns.  Whatever comes
 * in, a match holds only decoded segments without control bytes, "." or
 * "..", captures are non-empty, a 405 names methods; and a query that
 * parses re-encodes to one that parses to the same pairs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

static void
handler(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	(void)req;
	(void)resp;
	(void)c;
}

#define R(m, p)	ROUTE(m, p, 1, handler)
static const struct route routes[] = {
	R("GET", "/v1/health"), R("POST", "/v1/tenants"),
	R("GET", "/v1/groups"), R("POST", "/v1/groups"),
	R("GET", "/v1/groups/{group}"), R("PATCH", "/v1/groups/{group}"),
	R("DELETE", "/v1/groups/{group}"),
	R("POST", "/v1/groups/{group}/devices"),
	R("GET", "/v1/groups/{group}/devices/{device}"),
	R("POST", "/v1/groups/{group}/devices/{device}/revoke"),
	R("POST", "/v1/provision"), R("POST", "/v1/renew"),
	R("GET", "/.well-known/est/cacerts"),
	R("GET", "/.well-known/est/{label}/cacerts"),
	R("POST", "/.well-known/est/{label}/simpleenroll"),
	R("POST", "/auth/user"), R("POST", "/auth/topic"),
	R("GET", "/crl"), R("GET", "/crl/{file}"), R("POST", "/ocsp"),
	R("GET", "/ocsp/{request*}"),
};

static int
gate(struct http_request *req, struct http_response *resp,
    const struct route *rt, struct caller *c)
{
	(void)req;
	(void)resp;
	(void)rt;
	(void)c;
	return 0;
}

static const struct router router = { routes,
    sizeof(routes) / sizeof(routes[0]), NULL, gate, 0, NULL, NULL };

static int
clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void
route(const char *method, const char *path)
{
	struct router_match m;
	enum router_status st;

	st = router_route(&router, method, path, &m);
	if (st == ROUTER_FOUND) {
		if (m.route == NULL || strcmp(m.route->method, method) != 0)
			abort();
		for (size_t i = 0; i < m.nseg; i++)
			if (!clean(m.seg[i]) || strcmp(m.seg[i], ".") == 0 ||
			    strcmp(m.seg[i], "..") == 0)
				abort();
		for (size_t i = 0; i < m.nparams; i++)
			if (m.params[i].value[0] == '\0' ||
			    !clean(m.params[i].value))
				abort();
	} else if (st == ROUTER_BAD_METHOD && m.allow[0] == '\0')
		abort();
	router_match_free(&m);
}

/* Each name and value %-encoded whole, joined with '&' and '='. */
static char *
reencode(const struct router_query *q)
{
	size_t cap = 1, n = 0;
	char *s;

	for (size_t i = 0; i < q->n; i++)
		cap += 3 * (strlen(q->pairs[i].name) +
		    strlen(q->pairs[i].value)) + 2;
	if ((s = malloc(cap)) == NULL)
		abort();
	for (size_t i = 0; i < q->n; i++) {
		const char *parts[2] = { q->pairs[i].name, q->pairs[i].value };

		if (i > 0)
			s[n++] = '&';
		for (int k = 0; k < 2; k++) {
			if (k == 1)
				s[n++] = '=';
			for (const char *p = parts[k]; *p != '\0'; p++)
				n += (size_t)snprintf(s + n, cap - n, "%%%02X",
				    (unsigned char)*p);
		}
	}
	s[n] = '\0';
	return s;
}

static void
query(const char *raw)
{
	struct router_query q, again;
	char *s;

	if (router_query_parse(raw, &q) != 0) {
		router_query_free(&q);
		return;
	}
	s = reencode(&q);
	if (router_query_parse(s, &again) != 0 || again.n != q.n)
		abort();
	for (size_t i = 0; i < q.n; i++)
		if (q.pairs[i].name[0] == '\0' || !clean(q.pairs[i].name) ||
		    !clean(q.pairs[i].value) ||
		    strcmp(q.pairs[i].name, again.pairs[i].name) != 0 ||
		    strcmp(q.pairs[i].value, again.pairs[i].value) != 0)
			abort();
	if (q.n > 0 && router_query_get(&q, q.pairs[0].name) !=
	    q.pairs[0].value)
		abort();
	free(s);
	router_query_free(&again);
	router_query_free(&q);
}

/* "METHOD path?query", as MHD hands them over (one line, no NUL). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *methods[] = { "GET", "POST", "PATCH", "DELETE" };
	char *buf, *path, *q;
	const char *method = methods[size % 4];

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	path = buf;
	if ((q = strchr(buf, ' ')) != NULL && q - buf < 8) {
		*q = '\0';
		method = buf;
		path = q + 1;
	}
	if ((q = strchr(path, '?')) != NULL)
		*q++ = '\0';
	route(method, path);
	if (q != NULL)
		query(q);
	free(buf);
	return 0;
}
