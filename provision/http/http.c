/*
 * The HTTPS server on libmicrohttpd (MHD): its options, the life of one
 * request from its first line to its log line, and dispatch.
 *
 * Thread model: one thread per connection.  Handlers block (a database
 * transaction waiting for its group commit, a call to the broker's API,
 * signing), and with a pool of N polling threads at most N requests could
 * be in handlers at once: a slow one would stall every connection sharing
 * its thread, and a group commit could never gather more than N requests.
 * With a thread per connection the connection limit bounds the threads
 * and everything else waits only on itself.
 *
 * A request is read in phases.  MHD calls on_request() once when the
 * headers are in (route it, check the declared size, maybe answer at once
 * without reading the body), then once per piece of body, then once more
 * with no data when the body is complete (run the handler, queue its
 * answer).  MHD 0.9.75 takes a response only before the body or after it,
 * never in between: a chunked body that outgrows max_body is therefore
 * read on and dropped, at most HTTP_DRAIN_MAX more bytes of it, and then
 * answered 413; past that the connection is closed without an answer.
 * A Content-Length over the limit is refused unread when the client waits
 * for "100-continue"; otherwise the body is read and dropped the same way
 * first (up to HTTP_DRAIN_MAX), since closing on unread data resets the
 * connection, and the client may lose the 413 before it reads it.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <unistd.h>

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "conns.h"
#include "http.h"
#include "json.h"
#include "router.h"

/*
 * TLS 1.2 and 1.3 only: GnuTLS's NORMAL alone still offers 1.0 and 1.1.
 * No MAC but AEAD: TLS 1.2's CBC suites (HMAC-SHA1/SHA256, Lucky 13) go,
 * its GCM, CCM and ChaCha20-Poly1305 suites and all of TLS 1.3 stay.
 */
#define HTTPS_PRIORITIES \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-MAC-ALL:+AEAD"
#define HTTP_MAX_HEADERS	8	/* set by a handler */
#define LOG_PATH_MAX		256	/* longer paths are cut in the log */
#define METHOD_MAX		16	/* as logged */
#define HTTP_DRAIN_MAX		(1024 * 1024)	/* see above */

struct http_server {
	struct MHD_Daemon	*mhd;
	const struct router	*router;
	size_t			 max_body;
	void			(*log)(void *, const char *);
	void			*log_arg;
	char			*cert;		/* copies, the key wiped */
	char			*key;
	char			*password;
	char			*trust;		/* CAs for client certs */
	int			 plain;		/* no TLS */
	int			 port;
	struct conns		*conns;		/* the connection guard */
	unsigned int		 per_ip_hard;
	pthread_mutex_t		 lock;		/* starting, starterr */
	int			 starting;
	char			 starterr[HTTP_ERRLEN];
};

struct http_header {
	char	*name;
	char	*value;
};

struct http_response {
	unsigned int	 status;	/* 0: the handler answered nothing */
	int		 broken;	/* out of memory, bad status: 500 */
	char		*type;
	char		*body;
	size_t		 len;
	size_t		 nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];
};

enum phase {
	PHASE_HEADERS,		/* MHD has not called on_request() yet */
	PHASE_BODY,		/* routed, reading the body */
	PHASE_DRAIN,		/* too large a chunked body: dropping it */
	PHASE_DONE,		/* an answer is queued */
};

struct http_request {
	struct http_server	*srv;
	struct MHD_Connection	*conn;
	char			*target;	/* raw; cut at '?' once routed */
	const char		*rawquery;
	const char		*method;	/* MHD's, while on_request() runs */
	char			 logmethod[METHOD_MAX];
	char			 client[INET6_ADDRSTRLEN];
	struct timespec		 start;
	enum phase		 phase;
	char			*body;
	size_t			 len;
	size_t			 cap;
	size_t			 drained;
	size_t			 max_body;	/* the route's, or the server's */
	struct router_match	 match;
	struct router_query	 query;
	struct http_response	 resp;
	unsigned int		 status;	/* as queued, for the log */
	size_t			 sent;
	int			 close;		/* the connection goes after */
};

/* Responses. */

static void
response_clear_body(struct http_response *resp)
{
	free(resp->type);
	free(resp->body);
	resp->type = resp->body = NULL;
	resp->len = 0;
}

static void
response_reset(struct http_response *resp)
{
	size_t i;

	response_clear_body(resp);
	for (i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	memset(resp, 0, sizeof(*resp));
}

static int
set_status(struct http_response *resp, unsigned int status)
{
	response_clear_body(resp);
	if (status < 200 || status > 599) {
		resp->broken = 1;
		return -1;
	}
	resp->status = status;
	return 0;
}

void
http_respond_body(struct http_response *resp, unsigned int status,
    const char *type, const void *body, size_t len)
{
	if (set_status(resp, status) == -1)
		return;
	if ((resp->body = malloc(len > 0 ? len : 1)) == NULL ||
	    (type != NULL && (resp->type = strdup(type)) == NULL)) {
		resp->broken = 1;
		return;
	}
	if (len > 0)
		memcpy(resp->body, body, len);
	resp->len = len;
}

unsigned int
http_response_status(const struct http_response *resp)
{
	return resp->status;
}

void
http_respond_empty(struct http_response *resp, unsigned int status)
{
	set_status(resp, status);
}

static int
is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Framing headers are MHD's, the type is http_respond_body()'s. */
static int
header_ok(const char *name, const char *value)
{
	static const char *const reserved[] = {
		"Content-Length", "Transfer-Encoding", "Connection",
		"Content-Type",
	};
	const char *p;
	size_t i;

	if (name == NULL || value == NULL || *name == '\0')
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!is_tchar((unsigned char)*p))
			return 0;
	for (p = value; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return 0;
	return 1;
}

int
http_respond_header(struct http_response *resp, const char *name,
    const char *value)
{
	struct http_header *h;

	if (!header_ok(name, value) || resp->nheaders == HTTP_MAX_HEADERS)
		return -1;
	h = &resp->headers[resp->nheaders];
	if ((h->name = strdup(name)) == NULL ||
	    (h->value = strdup(value)) == NULL) {
		free(h->name);
		h->name = NULL;
		resp->broken = 1;
		return -1;
	}
	resp->nheaders++;
	return 0;
}

/* Requests. */

const char *
http_request_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_request_path(const struct http_request *req)
{
	return req->target;
}

const char *
http_request_param(const struct http_request *req, const char *name)
{
	return router_param(&req->match, name);
}

const char *
http_request_query(const struct http_request *req, const char *name)
{
	return router_query_get(&req->query, name);
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct header_count {
	const char	*name;
	size_t		 n;
};

static enum MHD_Result
count_header(void *arg, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct header_count *hc = arg;

	(void)kind;
	(void)value;
	if (key != NULL && strcasecmp(key, hc->name) == 0)
		hc->n++;
	return MHD_YES;
}

size_t
http_request_header_count(const struct http_request *req, const char *name)
{
	struct header_count hc = { name, 0 };

	(void)MHD_get_connection_values(req->conn, MHD_HEADER_KIND,
	    count_header, &hc);
	return hc.n;
}

const char *
http_request_body(const struct http_request *req, size_t *len)
{
	*len = req->len;
	return req->body != NULL ? req->body : "";
}

const char *
http_request_client(const struct http_request *req)
{
	return req->client;
}

/*
 * The leaf the client presented in the TLS handshake, which proved that
 * it holds the key; nothing else about it is checked here.  GnuTLS keeps
 * it with the session, so this costs no verification per request.
 */
const unsigned char *
http_request_peer_cert(const struct http_request *req, size_t *len)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	unsigned int n = 0;

	if (req->srv->plain || (ci = MHD_get_connection_info(req->conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION)) == NULL ||
	    ci->tls_session == NULL)
		return NULL;
	peers = gnutls_certificate_get_peers(ci->tls_session, &n);
	if (peers == NULL || n == 0 || peers[0].size == 0)
		return NULL;
	*len = peers[0].size;
	return peers[0].data;
}

void *
http_request_arg(const struct http_request *req)
{
	return req->srv->router->arg;
}

/* The life of a request. */

/* Sized for the longest IPv6 text; buf has INET6_ADDRSTRLEN bytes. */
static void
client_text(struct MHD_Connection *conn, char *buf)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr *sa;

	snprintf(buf, INET6_ADDRSTRLEN, "-");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, INET6_ADDRSTRLEN);
		return;
	}
	if (sa->sa_family != AF_INET6)
		return;
	/* One client, one name: rate limits must not see two. */
	sin6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], buf,
		    INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, INET6_ADDRSTRLEN);
}

/* MHD passes the target as it came, before decoding anything: keep it. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_request *req;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	if ((req->target = strdup(uri)) == NULL) {
		free(req);
		return NULL;
	}
	req->srv = cls;
	req->max_body = req->srv->max_body;
	req->conn = conn;
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	client_text(conn, req->client);
	return req;
}

static void
request_free(struct http_request *req)
{
	router_match_free(&req->match);
	router_query_free(&req->query);
	response_reset(&req->resp);
	free(req->body);
	free(req->target);
	free(req);
}

/* Request text for the log: printable only, cut to fit. */
static void
log_clean(const char *s, size_t n, char *buf, size_t len)
{
	size_t i;

	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		buf[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[n] = '\0';
}

static void
log_request(const struct http_request *req)
{
	char line[LOG_PATH_MAX + 128], path[LOG_PATH_MAX];
	struct timespec now;
	long long ms;

	if (req->srv->log == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - req->start.tv_sec) * 1000LL +
	    (now.tv_nsec - req->start.tv_nsec) / 1000000;
	/* The path without its query: a query may carry a secret. */
	log_clean(req->target, strcspn(req->target, "?"), path, sizeof(path));
	snprintf(line, sizeof(line), "%s %s %s %u %zu %lld", req->client,
	    req->logmethod[0] != '\0' ? req->logmethod : "-", path,
	    req->status, req->sent, ms);
	req->srv->log(req->srv->log_arg, line);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *ctx;

	(void)toe;
	conns_done(((struct http_server *)cls)->conns, conn,
	    req != NULL && req->close);
	if (req == NULL)
		return;
	log_request(req);
	request_free(req);
	*ctx = NULL;
}

/*
 * Hands the response to MHD.  Queued before the body is read, MHD closes
 * the connection after sending it rather than read what it refused.
 */
static enum MHD_Result
answer(struct http_request *req)
{
	struct http_response *resp = &req->resp;
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i, len;

	req->phase = PHASE_DONE;
	if (resp->broken || resp->status == 0) {
		response_reset(resp);
		http_respond_error(resp, 500, "internal", "internal error");
	}
	len = resp->status == 204 ? 0 : resp->len;
	r = MHD_create_response_from_buffer(len, resp->body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	/* Answers carry secrets: no cache keeps a copy. */
	ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	if (ret == MHD_YES && resp->type != NULL && len > 0)
		ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    resp->type);
	for (i = 0; ret == MHD_YES && i < resp->nheaders; i++)
		ret = MHD_add_response_header(r, resp->headers[i].name,
		    resp->headers[i].value);
	if (ret == MHD_YES)
		ret = MHD_queue_response(req->conn, resp->status, r);
	MHD_destroy_response(r);
	if (ret == MHD_YES) {
		req->status = resp->status;
		req->sent = len;
	}
	return ret;
}

static enum MHD_Result
answer_error(struct http_request *req, unsigned int status, const char *code,
    const char *msg)
{
	http_respond_error(&req->resp, status, code, "%s", msg);
	return answer(req);
}

/* Too much already: count what still comes, and give up past a bound. */
static enum MHD_Result
drop_body(struct http_request *req, size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (n > HTTP_DRAIN_MAX - req->drained)
		return MHD_NO;
	req->drained += n;
	return MHD_YES;
}

static enum MHD_Result
answer_too_large(struct http_request *req)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "request body larger than %zu bytes",
	    req->max_body);
	return answer_error(req, 413, "too_large", msg);
}

/* Content-Length, strictly: digits only, no sign, no overflow. */
static int
parse_length(const char *s, size_t *len)
{
	size_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > (SIZE_MAX - 9) / 10)
			return -1;
		n = n * 10 + (size_t)(*s - '0');
	}
	*len = n;
	return 0;
}

/* A declared body over the limit (see the top of this file). */
static enum MHD_Result
refuse_declared(struct http_request *req, size_t len)
{
	const char *expect = http_request_header(req, MHD_HTTP_HEADER_EXPECT);

	if ((expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
	    len > HTTP_DRAIN_MAX)
		return answer_too_large(req);
	req->phase = PHASE_DRAIN;
	return MHD_YES;
}

static enum MHD_Result
check_length(struct http_request *req)
{
	const char *cl, *te;
	size_t len;

	cl = http_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = http_request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	/* Both at once is how requests are smuggled past proxies. */
	if (cl != NULL && te != NULL)
		return answer_error(req, 400, "bad_request",
		    "both Content-Length and Transfer-Encoding");
	if (cl == NULL)
		return MHD_YES;
	if (parse_length(cl, &len) == -1)
		return answer_error(req, 400, "bad_request",
		    "malformed Content-Length");
	if (len > req->max_body)
		return refuse_declared(req, len);
	/* One allocation for the whole body, which is at most max_body. */
	if ((req->body = malloc(len + 1)) == NULL)
		return MHD_NO;
	req->body[0] = '\0';
	req->cap = len + 1;
	return MHD_YES;
}

/* Headers are in: route, check the declared size, maybe answer now. */
static enum MHD_Result
begin(struct http_request *req, const char *method)
{
	char *q;

	req->method = method;
	/* MHD's copy may be gone by the time the request is logged. */
	log_clean(method, strlen(method), req->logmethod,
	    sizeof(req->logmethod));
	if ((q = strchr(req->target, '?')) != NULL) {
		*q = '\0';
		req->rawquery = q + 1;
	}
	switch (router_route(req->srv->router, method, req->target,
	    &req->match)) {
	case ROUTER_FOUND:
		if (req->match.route->max_body > 0)
			req->max_body = req->match.route->max_body;
		break;
	case ROUTER_NOT_FOUND:
		return answer_error(req, 404, "not_found", "no such resource");
	case ROUTER_BAD_METHOD:
		http_respond_header(&req->resp, "Allow", req->match.allow);
		return answer_error(req, 405, "method_not_allowed",
		    "method not allowed here");
	case ROUTER_BAD_PATH:
		return answer_error(req, 400, "bad_request",
		    "malformed request path");
	case ROUTER_NO_MEMORY:
		return answer_error(req, 500, "internal", "internal error");
	}
	switch (router_query_parse(req->rawquery, &req->query)) {
	case 0:
		break;
	case -1:
		return answer_error(req, 400, "bad_request",
		    "malformed query string");
	default:
		return answer_error(req, 500, "internal", "internal error");
	}
	return check_length(req);
}

static int
grow_body(struct http_request *req, size_t need)
{
	size_t cap;
	char *p;

	if (need <= req->cap)
		return 0;
	cap = req->cap > 0 ? req->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (cap > req->max_body + 1)
		cap = req->max_body + 1;
	if ((p = realloc(req->body, cap)) == NULL)
		return -1;
	req->body = p;
	req->cap = cap;
	return 0;
}

/* A piece of body; a chunked one is only measured here, as it comes. */
static enum MHD_Result
take_body(struct http_request *req, const char *data, size_t *size)
{
	size_t n = *size;

	if (n > req->max_body - req->len) {
		free(req->body);
		req->body = NULL;
		req->len = req->cap = 0;
		req->phase = PHASE_DRAIN;
		return drop_body(req, size);
	}
	*size = 0;
	if (grow_body(req, req->len + n + 1) == -1)
		return MHD_NO;
	memcpy(req->body + req->len, data, n);
	req->len += n;
	req->body[req->len] = '\0';
	return MHD_YES;
}

/* A Content-Type of that media type, whatever its parameters. */
static int
media_type_is(const char *value, const char *want)
{
	size_t n = strlen(want);

	if (value == NULL || strncasecmp(value, want, n) != 0)
		return 0;
	value += n;
	value += strspn(value, " \t");
	return *value == '\0' || *value == ';';
}

/*
 * A body of the route's type, or none: checked before the gate, which may
 * read the body itself (a provisioning secret's group).
 */
static int
check_type(struct http_request *req)
{
	const char *want = req->match.route->type;
	char msg[96];

	if (want == NULL || req->len == 0 || media_type_is(http_request_header(
	    req, MHD_HTTP_HEADER_CONTENT_TYPE), want))
		return 0;
	snprintf(msg, sizeof(msg), "the body must be %s", want);
	http_respond_error(&req->resp, 415, "unsupported_media_type", "%s",
	    msg);
	return -1;
}

/* The gate first: no handler runs for a caller it has not proven. */
static enum MHD_Result
dispatch(struct http_request *req)
{
	const struct route *rt = req->match.route;
	union {
		max_align_t	 align;
		unsigned char	 bytes[ROUTER_CALLER_MAX];
	} caller;

	const struct router *r = req->srv->router;

	if (check_type(req) == -1)
		return answer(req);
	memset(&caller, 0, sizeof(caller));
	if (r->enter != NULL)
		r->enter(r->arg);
	if (r->gate(req, &req->resp, rt, (struct caller *)&caller) == 0)
		rt->fn(req, &req->resp, (const struct caller *)&caller);
	if (r->leave != NULL)
		r->leave(r->arg);
	return answer(req);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **ctx)
{
	struct http_request *req = *ctx;

	(void)cls;
	(void)url;		/* decoded by MHD: we route on the raw target */
	(void)version;
	if (req == NULL)
		return MHD_NO;	/* on_uri() ran out of memory */
	switch (req->phase) {
	case PHASE_HEADERS:
		req->phase = PHASE_BODY;
		if (conns_head(req->srv->conns, conn)) {
			req->method = method;
			req->close = 1;
			req->phase = PHASE_DONE;
			return answer_error(req, 429, "too_many_connections",
			    "too many connections from this address; reuse "
			    "one or retry later");
		}
		return begin(req, method);
	case PHASE_BODY:
		if (*size > 0)
			return take_body(req, data, size);
		return dispatch(req);
	case PHASE_DRAIN:
		if (*size > 0)
			return drop_body(req, size);
		return answer_too_large(req);
	case PHASE_DONE:
		break;
	}
	*size = 0;	/* answered already: drop whatever still comes */
	return MHD_YES;
}

/* The server. */

/*
 * MHD's own messages.  While http_start() waits the last one is kept, as
 * the reason it failed; they go to the log too.  Called from any thread.
 */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char msg[HTTP_ERRLEN], line[HTTP_ERRLEN + 8];
	size_t i, n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (n = strlen(msg); n > 0 && (msg[n - 1] == '\n' ||
	    msg[n - 1] == ' ' || msg[n - 1] == '.'); n--)
		msg[n - 1] = '\0';
	/* Some quote the decoded URL: "%0A" must not start a log line. */
	for (i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	pthread_mutex_lock(&srv->lock);
	if (srv->starting)
		snprintf(srv->starterr, sizeof(srv->starterr), "%s", msg);
	pthread_mutex_unlock(&srv->lock);
	if (srv->log != NULL) {
		snprintf(line, sizeof(line), "mhd: %s", msg);
		srv->log(srv->log_arg, line);
	}
}

static int
bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
}

static int
bound_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ? -1 :
	    ss.ss_family;
}

static int
make_addr(const char *address, int port, struct sockaddr_storage *ss,
    int *v6)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (address == NULL || port < 0 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*v6 = 0;
		return 0;
	}
	if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*v6 = 1;
		return 0;
	}
	return -1;
}

static const char *
check_config(const struct http_config *cfg)
{
	if (!cfg->plain && (cfg->cert_pem == NULL || cfg->key_pem == NULL))
		return "no certificate or key";
	if (cfg->max_body == 0 || cfg->max_body >= SIZE_MAX / 2)
		return "max_body out of range";
	if (cfg->max_connections == 0)
		return "max_connections must be positive";
	if (cfg->timeout_seconds == 0)
		return "timeout_seconds must be positive";
	return NULL;
}

static const char *
check_chain(const char *pem, gnutls_x509_crt_t **crts, unsigned int *n)
{
	gnutls_datum_t d = { (unsigned char *)pem, (unsigned int)strlen(pem) };
	int rc;

	*n = 0;
	rc = gnutls_x509_crt_list_import2(crts, n, &d, GNUTLS_X509_FMT_PEM,
	    GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (rc == GNUTLS_E_CERTIFICATE_LIST_UNSORTED)
		return "the certificate chain is not in order, leaf first";
	if (rc < 0 || *n == 0)
		return "the certificate is not PEM";
	return NULL;
}

static const char *
check_key(const char *pem, const char *password, gnutls_x509_crt_t leaf)
{
	gnutls_datum_t d = { (unsigned char *)pem, (unsigned int)strlen(pem) };
	unsigned char kid[64], cid[64];
	size_t klen = sizeof(kid), clen = sizeof(cid);
	gnutls_x509_privkey_t key;
	const char *why = NULL;

	if (gnutls_x509_privkey_init(&key) < 0)
		return "out of memory";
	if (gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, password,
	    0) < 0)
		why = password != NULL ? "cannot read the private key "
		    "(wrong password?)" : "cannot read the private key "
		    "(not PEM, or encrypted)";
	else if (gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256,
	    kid, &klen) < 0 || gnutls_x509_crt_get_key_id(leaf,
	    GNUTLS_KEYID_USE_SHA256, cid, &clen) < 0 || klen != clen ||
	    memcmp(kid, cid, klen) != 0)
		why = "the private key does not match the certificate";
	gnutls_x509_privkey_deinit(key);
	return why;
}

/*
 * MHD says only "Failed to initialize TLS support" for a bad certificate
 * or key (and GnuTLS leaks on some broken PEM there): read both here
 * first, to say which is wrong.
 */
static const char *
check_tls(const struct http_config *cfg)
{
	gnutls_x509_crt_t *crts = NULL;
	const char *why;
	unsigned int i, n;

	if ((why = check_chain(cfg->cert_pem, &crts, &n)) == NULL)
		why = check_key(cfg->key_pem, cfg->key_password, crts[0]);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return why;
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
server_free(struct http_server *srv)
{
	conns_stop(srv->conns);
	free(srv->cert);
	free(srv->trust);
	wipe_free(srv->key);
	wipe_free(srv->password);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

static struct http_server *
server_new(const struct http_config *cfg, const struct router *r)
{
	struct http_server *srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	if (pthread_mutex_init(&srv->lock, NULL) != 0) {
		free(srv);
		return NULL;
	}
	struct conns_config cc = { cfg->per_address > 0 ? cfg->per_address : 16,
	    cfg->max_connections, cfg->head_seconds > 0 ? cfg->head_seconds : 10,
	    cfg->timeout_seconds };

	srv->per_ip_hard = cc.per_address + HTTP_PER_IP_HARD_EXTRA;
	if ((srv->conns = conns_start(&cc)) == NULL) {
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		return NULL;
	}
	srv->router = r;
	srv->plain = cfg->plain;
	srv->max_body = cfg->max_body;
	srv->log = cfg->log;
	srv->log_arg = cfg->log_arg;
	if (cfg->plain)
		return srv;
	if ((srv->cert = strdup(cfg->cert_pem)) == NULL ||
	    (srv->key = strdup(cfg->key_pem)) == NULL ||
	    (cfg->client_ca_pem != NULL &&
	    (srv->trust = strdup(cfg->client_ca_pem)) == NULL) ||
	    (cfg->key_password != NULL &&
	    (srv->password = strdup(cfg->key_password)) == NULL)) {
		server_free(srv);
		return NULL;
	}
	return srv;
}

static struct MHD_Daemon *
start_mhd(struct http_server *srv, const struct http_config *cfg, int fd,
    int v6)
{
	unsigned int flags;

	flags = MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;	/* the socket's family, not the addr */
	/* MHD refuses TLS options without TLS: a call of its own. */
	if (cfg->plain)
		return MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL,
		    on_request, srv,
		    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		    MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->per_ip_hard,
		    MHD_OPTION_NOTIFY_CONNECTION, conns_notify, srv->conns,
		    MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_seconds,
		    MHD_OPTION_STRICT_FOR_CLIENT, 1,
		    MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		    MHD_OPTION_END);
	/* The logger first, so that no message goes to stderr. */
	return MHD_start_daemon(flags | MHD_USE_TLS, (uint16_t)cfg->port, NULL, NULL,
	    on_request, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_HTTPS_MEM_CERT, srv->cert,
	    MHD_OPTION_HTTPS_MEM_KEY, srv->key,
	    /* NULL leaves it unset: a plain key. */
	    MHD_OPTION_HTTPS_KEY_PASSWORD, srv->password,
	    MHD_OPTION_HTTPS_PRIORITIES, HTTPS_PRIORITIES,
	    /* NULL: no client certificate asked for. */
	    MHD_OPTION_HTTPS_MEM_TRUST, srv->trust,
	    MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->per_ip_hard,
	    MHD_OPTION_NOTIFY_CONNECTION, conns_notify, srv->conns,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_seconds,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_END);
}

struct http_server *
http_start(const struct http_config *cfg, const struct router *r, char *err,
    size_t errlen)
{
	const union MHD_DaemonInfo *di;
	struct sockaddr_storage ss;
	struct http_server *srv;
	const char *why;
	int v6, fd;

	if ((why = check_config(cfg)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	if (make_addr(cfg->address, cfg->port, &ss, &v6) == -1) {
		snprintf(err, errlen, "bad listen address \"%s\" port %d: "
		    "an IPv4 or IPv6 address and 0..65535 are needed",
		    cfg->address ? cfg->address : "", cfg->port);
		return NULL;
	}
	if (router_check(r, err, errlen) == -1)
		return NULL;
	v6 = cfg->listen_fd > 0 ? bound_family(cfg->listen_fd) == AF_INET6 : v6;
	if (!cfg->plain && (why = check_tls(cfg)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	if ((srv = server_new(cfg, r)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((fd = cfg->listen_fd > 0 ? cfg->listen_fd : http_listen(
	    cfg->address, cfg->port, err, errlen)) == -1) {
		server_free(srv);
		return NULL;
	}
	srv->starting = 1;
	srv->mhd = start_mhd(srv, cfg, fd, v6);
	pthread_mutex_lock(&srv->lock);
	srv->starting = 0;
	pthread_mutex_unlock(&srv->lock);
	if (srv->mhd == NULL) {
		close(fd);
		snprintf(err, errlen, "cannot serve %s on %s%s%s:%d: %s",
		    cfg->plain ? "HTTP" : "HTTPS", v6 ? "[" : "", cfg->address, v6 ? "]" : "", cfg->port,
		    srv->starterr[0] != '\0' ? srv->starterr : "unknown error");
		server_free(srv);
		return NULL;
	}
	di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di != NULL && di->port != 0 ? di->port : bound_port(fd);
	return srv;
}

int
http_listen(const char *address, int port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int fd, v6, on = 1;

	if (make_addr(address, port, &ss, &v6) == -1) {
		snprintf(err, errlen, "bad listen address \"%s\" port %d: "
		    "an IPv4 or IPv6 address and 0..65535 are needed",
		    address ? address : "", port);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
	    sizeof(on)) == -1) ||
	    bind(fd, (struct sockaddr *)&ss, v6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in)) == -1 || listen(fd, 511) == -1) {
		snprintf(err, errlen, "cannot listen on %s%s%s:%d: %s",
		    v6 ? "[" : "", address, v6 ? "]" : "", port, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

void
http_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	MHD_stop_daemon(srv->mhd);
	server_free(srv);
}

void
http_conn_stats(struct http_server *srv, struct conns_stats *out)
{
	conns_stats(srv->conns, out);
}

int
http_port(const struct http_server *srv)
{
	return srv->port;
}
