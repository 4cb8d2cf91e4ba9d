/*
 * iotad's routing: a table of (method, pattern, callers, handler) rows and
 * the strict parsing of the request target that feeds it.  No HTTP server
 * here; http.c calls router_route() once per request, then the router's
 * gate, then the handler: a row says who may call it, and no handler runs
 * before the gate has proven that the caller is one of them.
 *
 * A pattern is absolute and made of segments separated by '/': a literal
 * ("groups") matches the same decoded segment, a capture ("{group}")
 * matches any one non-empty segment and is read back by name with
 * http_request_param().  A last segment "{name*}" is a tail capture: it
 * matches the rest of the path, one segment or more, read back as one
 * decoded string in which '/' and "%2F" both stand for '/' (an OCSP GET
 * carries base64 there).  Paths are percent-decoded segment by segment
 * after splitting on '/', so "%2F" can never move a segment boundary;
 * a segment holding a "%2F" that no tail capture takes, one that decodes
 * to NUL or another control character, a "." or ".." segment, a malformed
 * escape or a byte outside RFC 3986's pchar makes the whole target
 * malformed (400), whatever the table says.
 */
#ifndef IOTA_ROUTER_H
#define IOTA_ROUTER_H

#include <stddef.h>

#include "http.h"

#define ROUTER_MAX_SEGMENTS	16	/* per pattern, and so per path */
#define ROUTER_MAX_PARAMS	8	/* captures per pattern */
#define ROUTER_MAX_QUERY	32	/* name=value pairs in a query string */
#define ROUTER_NAME_MAX		32	/* longest capture name */
#define ROUTER_ALLOW_MAX	128	/* the Allow header of a 405 */
#define ROUTER_CALLER_MAX	1024	/* bytes of the application's caller */

struct route;
struct caller;		/* the application's: who is calling, as proven */

typedef void	(*route_handler)(struct http_request *, struct http_response *,
		    const struct caller *);
/*
 * Proves that the request comes from one of the row's callers and fills
 * in the caller: 0, or -1 after answering (401, 403, 429, ...).
 */
typedef int	(*route_gate)(struct http_request *, struct http_response *,
		    const struct route *, struct caller *);

struct route {
	const char	*method;	/* "GET", "POST", ... exact, case matters */
	const char	*pattern;	/* "/v1/groups/{group}/devices/{device}" */
	unsigned int	 callers;	/* the gate's classes; never 0 */
	route_handler	 fn;
	size_t		 max_body;	/* bytes; 0: the server's max_body */
	/*
	 * The media type of a body ("application/json"), parameters aside;
	 * a body of any other is answered 415 before the gate.  NULL: the
	 * route takes no body, or any.
	 */
	const char	*type;
};

/*
 * A row without a body; ROUTE_IN with a body of that type and the server's
 * limit, ROUTE_BODY with a limit of its own.
 */
#define ROUTE(m, p, who, h)	{ .method = (m), .pattern = (p), \
				  .callers = (who), .fn = (h) }
#define ROUTE_IN(m, p, who, h, t) { .method = (m), .pattern = (p), \
				  .callers = (who), .fn = (h), .type = (t) }
#define ROUTE_BODY(m, p, who, h, t, max) { .method = (m), .pattern = (p), \
				  .callers = (who), .fn = (h), .type = (t), \
				  .max_body = (max) }

/*
 * The routes are searched in order and the first match wins, so a literal
 * row must come before a capture row that would shadow it.  The table and
 * arg must outlive the server; arg is what handlers get from
 * http_request_arg() (the daemon's state: store, signer, ...).
 */
struct router {
	const struct route *routes;
	size_t		 n;
	void		*arg;
	route_gate	 gate;
	size_t		 caller_size;	/* at most ROUTER_CALLER_MAX */
	/*
	 * Optional, called with arg around the gate and the handler on the
	 * request's thread: iotad holds a read lock there, which a reload
	 * takes for writing to swap what handlers read.
	 */
	void		(*enter)(void *);
	void		(*leave)(void *);
};

enum router_status {
	ROUTER_FOUND,
	ROUTER_NOT_FOUND,	/* no pattern matches the path: 404 */
	ROUTER_BAD_METHOD,	/* some do, not with this method: 405 + allow */
	ROUTER_BAD_PATH,	/* malformed target: 400 */
	ROUTER_NO_MEMORY,	/* 500 */
};

struct router_param {
	const char	*name;		/* into the pattern, not terminated */
	size_t		 namelen;
	const char	*value;		/* decoded, into the match's buffer */
};

struct router_match {
	const struct route *route;
	char		*buf;		/* decoded segments, each terminated */
	size_t		 nseg;
	const char	*seg[ROUTER_MAX_SEGMENTS];
	int		 slashed[ROUTER_MAX_SEGMENTS];	/* held a "%2F" */
	size_t		 nparams;
	struct router_param params[ROUTER_MAX_PARAMS];
	char		 allow[ROUTER_ALLOW_MAX];	/* "GET, POST" */
};

struct router_query {
	char		*buf;		/* decoded names and values */
	size_t		 n;
	struct {
		const char	*name;
		const char	*value;	/* "" for a bare "name" */
	} pairs[ROUTER_MAX_QUERY];
};

/* Checks every row once, at startup: -1 and one line in err if one is bad. */
int		 router_check(const struct router *, char *, size_t);

/*
 * Routes a raw path (the request target up to '?', still encoded).  The
 * match is filled in for every status and must be released with
 * router_match_free(), which is a no-op on a zeroed match.
 */
enum router_status router_route(const struct router *, const char *,
		    const char *, struct router_match *);
void		 router_match_free(struct router_match *);
const char	*router_param(const struct router_match *, const char *);

/*
 * Parses a raw query string ("a=1&b=x%20y", '+' as space); -1 if it is
 * malformed, has a control character once decoded, or has too many pairs,
 * -2 out of memory.  router_query_free() is a no-op on a zeroed query.
 */
int		 router_query_parse(const char *, struct router_query *);
/*
 * A form body (application/x-www-form-urlencoded) of len bytes, NUL
 * terminated after them: as a query, and -1 for a NUL among them.
 */
int		 router_form_parse(const char *, size_t, struct router_query *);
void		 router_query_free(struct router_query *);
/* The value of the first pair with this name, or NULL. */
const char	*router_query_get(const struct router_query *, const char *);

#endif
