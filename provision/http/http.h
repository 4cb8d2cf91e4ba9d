/*
 * iotad's HTTPS front end on libmicrohttpd: the server, the life of a
 * request, and what a handler may read and answer.
 *
 * A request reaches its handler only once it is routed and its whole body
 * (at most max_body bytes) has arrived; anything else (unknown path, wrong
 * method, malformed target, oversized body) is answered here with a JSON
 * error and never reaches a handler.  A handler runs on the connection's
 * own thread, may block (a database sync, a call to the broker), and
 * answers only through the http_respond_* calls; a handler that answers
 * nothing gets 500 {"error":"internal"}.  Request pointers and the strings
 * the accessors return are valid until the handler returns.
 *
 * Conventions: http_start() fails with NULL after writing one line into
 * the caller's buffer.  Nothing here logs a header or a body: bearer
 * tokens and provisioning secrets travel in both.
 */
#ifndef IOTA_HTTP_H
#define IOTA_HTTP_H

#include <stddef.h>

#define HTTP_ERRLEN		256	/* enough for any message we write */
/* Past connections_per_address, MHD resets this many more at accept. */
#define HTTP_PER_IP_HARD_EXTRA	8

struct http_server;
struct http_request;
struct http_response;
struct router;

struct http_config {
	const char	*address;	/* IPv4 or IPv6 literal */
	int		 port;		/* 0: any free one, see http_port() */
	int		 listen_fd;	/* > 0: http_listen()'s, used instead */
	int		 plain;		/* no TLS: CRLs and OCSP only */
	const char	*cert_pem;	/* leaf first, then its chain */
	const char	*key_pem;
	const char	*key_password;	/* NULL for a plain key */
	/*
	 * Optional: CA certificates (PEM) whose names are sent to ask every
	 * client for a certificate, which stays optional and unverified:
	 * see http_request_peer_cert().
	 */
	const char	*client_ca_pem;
	size_t		 max_body;	/* bytes, > 0 */
	unsigned int	 max_connections;
	unsigned int	 timeout_seconds;	/* idle connections, > 0 */
	/* See conns.h; 0: 16 and 10 s. */
	unsigned int	 per_address;
	unsigned int	 head_seconds;
	/*
	 * Optional.  Called once per request, after it ends, with
	 * "client method path status bytes ms": the path without its query,
	 * the bytes of the response body, status 0 when we sent no answer
	 * (the client went away, or MHD answered a protocol error itself).
	 * Also called with libmicrohttpd's own messages, prefixed "mhd: ".
	 * Called from many threads at once.
	 */
	void		(*log)(void *, const char *);
	void		*log_arg;
};

/*
 * Starts serving on threads of its own.  The PEM strings are copied; the
 * router (see router.h) must outlive the server.
 */
struct http_server *http_start(const struct http_config *,
		    const struct router *, char *, size_t);
/*
 * A socket bound to address:port and listening, for http_config's
 * listen_fd: bound while iotad may still bind any port.  -1 and err.
 */
int		 http_listen(const char *, int, char *, size_t);
/* Closes every connection, waits for running handlers, frees; NULL is ok. */
void		 http_stop(struct http_server *);
int		 http_port(const struct http_server *);
/* What the connection guard did so far (conns.h). */
struct conns_stats;
void		 http_conn_stats(struct http_server *, struct conns_stats *);

/* The request, for handlers. */
const char	*http_request_method(const struct http_request *);
const char	*http_request_path(const struct http_request *);  /* raw */
/* A capture of the route's pattern ("group" for "{group}"), decoded. */
const char	*http_request_param(const struct http_request *, const char *);
/* The first query pair of that name, decoded; "" for a bare name. */
const char	*http_request_query(const struct http_request *, const char *);
/* A request header by name, any case; NULL when absent. */
const char	*http_request_header(const struct http_request *, const char *);
/* How many times the request carries that header, any case. */
size_t		 http_request_header_count(const struct http_request *,
		    const char *);
/* The whole body, NUL-terminated for convenience (it may hold NULs). */
const char	*http_request_body(const struct http_request *, size_t *);
/* The peer's address as text ("192.0.2.1", "2001:db8::1"). */
const char	*http_request_client(const struct http_request *);
/*
 * The DER of the certificate the client presented in the TLS handshake
 * (which proves it holds the key), or NULL; the caller verifies it.
 */
const unsigned char *http_request_peer_cert(const struct http_request *,
		    size_t *);
/* The router's arg: the daemon's state. */
void		*http_request_arg(const struct http_request *);

/*
 * The response.  The last status and body set win; headers add up.
 * Statuses outside 200..599 turn into 500.  JSON helpers: json.h.
 */
void		 http_respond_body(struct http_response *, unsigned int,
		    const char *, const void *, size_t);
/* A status without a body: 204, or 201 with a Location header. */
void		 http_respond_empty(struct http_response *, unsigned int);
/* -1 (and nothing added) for a name or value that could split headers. */
int		 http_respond_header(struct http_response *, const char *,
		    const char *);
/* The status set so far; 0: none yet. */
unsigned int	 http_response_status(const struct http_response *);

#endif
