/* Lifecycle events to RabbitMQ: one confirmed channel behind one lock. */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "errbuf.h"
#include "events.h"

#define CHANNEL		1
#define FRAME_MAX	131072
#define TIMEOUT_MAX	3600	/* seconds */
#define TEXT_MAX	160	/* bytes of a broker's reply we quote */
#define NOT_YET		(-1)	/* a frame that is not the confirm */

struct events {
	pthread_mutex_t		 lock;
	char			*host;
	char			*vhost;
	char			*user;
	char			*password;
	char			*exchange;
	int			 port;
	int			 timeout;
	amqp_connection_state_t	 conn;		/* NULL: not connected */
	uint64_t		 next_tag;	/* of the next publish */
};

static const char *const codes[] = {
	[EVENTS_OK] = "ok",
	[EVENTS_UNREACHABLE] = "broker unreachable",
	[EVENTS_REFUSED] = "refused by the broker",
	[EVENTS_INVALID] = "invalid argument",
	[EVENTS_ERROR] = "internal error",
};

const char *
events_strerror(int code)
{
	if (code < 0 || (size_t)code >= sizeof(codes) / sizeof(codes[0]))
		return "unknown error";
	return codes[code];
}

/* A bad argument: says why, returns EVENTS_INVALID. */
#define seterr(err, errlen, ...) \
	(errbuf_set((err), (errlen), __VA_ARGS__), (int)EVENTS_INVALID)

/* "broker HOST:PORT: <why>" into err; returns code. */
__attribute__((format(printf, 5, 6)))
static int
fail(const struct events *ev, int code, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return code;
	n = snprintf(err, errlen, "broker %s:%d: ", ev->host, ev->port);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* A broker's reply text, printable and bounded, for an error line. */
static const char *
text_of(amqp_bytes_t b, char out[TEXT_MAX])
{
	const unsigned char *p = b.bytes;
	size_t n = b.len < TEXT_MAX - 1 ? b.len : TEXT_MAX - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = '\0';
	return out;
}

/* 1..max bytes of printable ASCII, no space: names that reach errors. */
static int
printable(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n > 0 && n <= max;
}

/* AMQP 0-9-1: exchange names are letters, digits, "-_.:". */
static int
exchange_name_ok(const char *s)
{
	if (!printable(s, EVENTS_NAME_MAX))
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.:") == strlen(s);
}

/* --- time -------------------------------------------------------------- */

static void
deadline_after(struct timespec *d, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += seconds;
}

/* The time left before d, in tv; 0 when none is. */
static int
time_left(const struct timespec *d, struct timeval *tv)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(d->tv_sec - now.tv_sec) * 1000000000LL +
	    (d->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	tv->tv_sec = (time_t)(ns / 1000000000LL);
	tv->tv_usec = (suseconds_t)(ns % 1000000000LL / 1000);
	if (tv->tv_sec == 0 && tv->tv_usec == 0)
		tv->tv_usec = 1;
	return 1;
}

/* The lock, if it comes before d (pthread wants the real-time clock). */
static int
lock_by(struct events *ev, const struct timespec *d)
{
	struct timeval tv;
	struct timespec at;

	if (!time_left(d, &tv))
		return -1;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_sec += tv.tv_sec;
	at.tv_nsec += (long)tv.tv_usec * 1000L;
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	return pthread_mutex_timedlock(&ev->lock, &at) == 0 ? 0 : -1;
}

/* Bounds the next RPC by d; -1 when the time is up. */
static int
arm(struct events *ev, const struct timespec *d)
{
	struct timeval tv;

	if (!time_left(d, &tv))
		return -1;
	amqp_set_rpc_timeout(ev->conn, &tv);
	return 0;
}

/* --- the broker's answers ---------------------------------------------- */

static int
close_code(uint16_t reply)
{
	switch (reply) {
	case AMQP_ACCESS_REFUSED:
	case AMQP_NOT_FOUND:
	case AMQP_PRECONDITION_FAILED:
	case AMQP_NOT_ALLOWED:
		return EVENTS_REFUSED;
	case AMQP_CONNECTION_FORCED:	/* shutting down, or closed by hand */
	case AMQP_RESOURCE_ERROR:
	case AMQP_INTERNAL_ERROR:
		return EVENTS_UNREACHABLE;
	default:
		return EVENTS_ERROR;
	}
}

/* The broker closed the channel or the connection: why, as a code. */
static int
server_close(const struct events *ev, const amqp_method_t *m,
    const char *what, char *err, size_t errlen)
{
	char text[TEXT_MAX];
	uint16_t reply;
	amqp_bytes_t why;

	if (m->id == AMQP_CONNECTION_CLOSE_METHOD) {
		reply = ((amqp_connection_close_t *)m->decoded)->reply_code;
		why = ((amqp_connection_close_t *)m->decoded)->reply_text;
	} else if (m->id == AMQP_CHANNEL_CLOSE_METHOD) {
		reply = ((amqp_channel_close_t *)m->decoded)->reply_code;
		why = ((amqp_channel_close_t *)m->decoded)->reply_text;
	} else
		return fail(ev, EVENTS_ERROR, err, errlen,
		    "%s: unexpected method 0x%08x", what, (unsigned)m->id);
	return fail(ev, close_code(reply), err, errlen, "%s: %s", what,
	    text_of(why, text));
}

static int
library_fail(const struct events *ev, int status, const char *what,
    char *err, size_t errlen)
{
	if (status == AMQP_STATUS_TIMEOUT)
		return fail(ev, EVENTS_UNREACHABLE, err, errlen,
		    "%s: no answer within %d s", what, ev->timeout);
	return fail(ev, status == AMQP_STATUS_NO_MEMORY ? EVENTS_ERROR :
	    EVENTS_UNREACHABLE, err, errlen, "%s: %s", what,
	    amqp_error_string2(status));
}

static int
rpc_result(const struct events *ev, amqp_rpc_reply_t r, const char *what,
    char *err, size_t errlen)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return EVENTS_OK;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		return library_fail(ev, r.library_error, what, err, errlen);
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		return server_close(ev, &r.reply, what, err, errlen);
	default:
		return fail(ev, EVENTS_ERROR, err, errlen, "%s: no reply", what);
	}
}

/* --- the connection ---------------------------------------------------- */

/* Forgets a connection whose state is unknown; the broker sees an EOF. */
static void
drop(struct events *ev)
{
	if (ev->conn == NULL)
		return;
	amqp_destroy_connection(ev->conn);
	ev->conn = NULL;
}

static int
open_socket(struct events *ev, const struct timespec *d, char *err,
    size_t errlen)
{
	amqp_socket_t *sock;
	struct timeval tv;
	int status;

	if ((ev->conn = amqp_new_connection()) == NULL ||
	    (sock = amqp_tcp_socket_new(ev->conn)) == NULL)
		return fail(ev, EVENTS_ERROR, err, errlen, "out of memory");
	if (!time_left(d, &tv))
		return fail(ev, EVENTS_UNREACHABLE, err, errlen,
		    "connect: no time left within %d s", ev->timeout);
	status = amqp_socket_open_noblock(sock, ev->host, ev->port, &tv);
	if (status != AMQP_STATUS_OK)
		return library_fail(ev, status, "cannot connect", err, errlen);
	return EVENTS_OK;
}

static int
login(struct events *ev, const struct timespec *d, char *err, size_t errlen)
{
	char what[2 * EVENTS_NAME_MAX + 32];
	amqp_table_entry_t name = {	/* for the management UI */
		.key = amqp_cstring_bytes("connection_name"),
		.value = { .kind = AMQP_FIELD_KIND_UTF8,
		    .value.bytes = amqp_cstring_bytes("iotad events") },
	};
	amqp_table_t props = { .num_entries = 1, .entries = &name };
	struct timeval tv;
	amqp_rpc_reply_t r;

	snprintf(what, sizeof(what), "login as %s to vhost %s", ev->user,
	    ev->vhost);
	if (!time_left(d, &tv))
		return library_fail(ev, AMQP_STATUS_TIMEOUT, what, err, errlen);
	amqp_set_handshake_timeout(ev->conn, &tv);
	amqp_set_rpc_timeout(ev->conn, &tv);
	/* No heartbeat: the connection idles between events, and rabbitmq-c
	 * answers heartbeats only inside its calls; a dead one is found and
	 * replaced when the next event goes out. */
	r = amqp_login_with_properties(ev->conn, ev->vhost, 0, FRAME_MAX, 0,
	    &props, AMQP_SASL_METHOD_PLAIN, ev->user, ev->password);
	return rpc_result(ev, r, what, err, errlen);
}

/* Channel, exchange (declared on every connection: cheap, idempotent,
 * and it comes back if someone deleted it), confirms. */
static int
open_channel(struct events *ev, const struct timespec *d, char *err,
    size_t errlen)
{
	char what[EVENTS_NAME_MAX + 32];
	int passive = strncmp(ev->exchange, "amq.", 4) == 0, rc;

	if (arm(ev, d) == -1)
		return library_fail(ev, AMQP_STATUS_TIMEOUT, "open channel",
		    err, errlen);
	amqp_channel_open(ev->conn, CHANNEL);
	rc = rpc_result(ev, amqp_get_rpc_reply(ev->conn), "open channel", err,
	    errlen);
	if (rc != EVENTS_OK)
		return rc;
	snprintf(what, sizeof(what), "declare exchange %s", ev->exchange);
	if (arm(ev, d) == -1)
		return library_fail(ev, AMQP_STATUS_TIMEOUT, what, err, errlen);
	amqp_exchange_declare(ev->conn, CHANNEL, amqp_cstring_bytes(ev->exchange),
	    amqp_cstring_bytes("topic"), passive, 1, 0, 0, amqp_empty_table);
	if ((rc = rpc_result(ev, amqp_get_rpc_reply(ev->conn), what, err,
	    errlen)) != EVENTS_OK)
		return rc;
	if (arm(ev, d) == -1)
		return library_fail(ev, AMQP_STATUS_TIMEOUT, "confirm select",
		    err, errlen);
	amqp_confirm_select(ev->conn, CHANNEL);
	if ((rc = rpc_result(ev, amqp_get_rpc_reply(ev->conn),
	    "confirm select", err, errlen)) != EVENTS_OK)
		return rc;
	ev->next_tag = 1;
	return EVENTS_OK;
}

static int
connect_broker(struct events *ev, const struct timespec *d, char *err,
    size_t errlen)
{
	int rc;

	if ((rc = open_socket(ev, d, err, errlen)) == EVENTS_OK &&
	    (rc = login(ev, d, err, errlen)) == EVENTS_OK)
		rc = open_channel(ev, d, err, errlen);
	if (rc != EVENTS_OK)
		drop(ev);
	return rc;
}

static int
is_close(const amqp_frame_t *f)
{
	return f->frame_type == AMQP_FRAME_METHOD &&
	    (f->payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
	    f->payload.method.id == AMQP_CHANNEL_CLOSE_METHOD);
}

/*
 * An idle connection the broker closed (restart, an operator) is found
 * before an event is sent into it.  Nothing is due on an idle publisher's
 * socket: what is there is an EOF, a close, or a notice we can skip
 * (connection.blocked).
 */
static void
drop_if_stale(struct events *ev)
{
	struct pollfd pfd;
	struct timeval zero = { 0, 0 };
	amqp_frame_t f;
	int status;

	if (ev->conn == NULL)
		return;
	pfd.fd = amqp_get_sockfd(ev->conn);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) == 0 && !amqp_data_in_buffer(ev->conn) &&
	    !amqp_frames_enqueued(ev->conn))
		return;
	for (;;) {
		status = amqp_simple_wait_frame_noblock(ev->conn, &f, &zero);
		if (status == AMQP_STATUS_TIMEOUT)
			return;
		if (status != AMQP_STATUS_OK || is_close(&f)) {
			drop(ev);
			return;
		}
	}
}

/* --- publishing -------------------------------------------------------- */

static int
covers(uint64_t delivery_tag, amqp_boolean_t multiple, uint64_t tag)
{
	return delivery_tag == tag || (multiple && (delivery_tag == 0 ||
	    delivery_tag >= tag));
}

/* A method frame while waiting for the confirm of tag: a code, or NOT_YET. */
static int
on_method(const struct events *ev, const amqp_method_t *m, uint64_t tag,
    int *lost, char *err, size_t errlen)
{
	const amqp_basic_ack_t *ack;
	const amqp_basic_nack_t *nack;

	switch (m->id) {
	case AMQP_BASIC_ACK_METHOD:
		ack = m->decoded;
		return covers(ack->delivery_tag, ack->multiple, tag) ?
		    EVENTS_OK : NOT_YET;
	case AMQP_BASIC_NACK_METHOD:
		nack = m->decoded;
		if (!covers(nack->delivery_tag, nack->multiple, tag))
			return NOT_YET;
		return fail(ev, EVENTS_UNREACHABLE, err, errlen,
		    "publish: the broker did not take the event (nack)");
	case AMQP_CHANNEL_CLOSE_METHOD:
	case AMQP_CONNECTION_CLOSE_METHOD:
		*lost = 1;
		return server_close(ev, m, "publish", err, errlen);
	default:
		return NOT_YET;
	}
}

static int
wait_confirm(struct events *ev, uint64_t tag, const struct timespec *d,
    int *lost, char *err, size_t errlen)
{
	struct timeval tv;
	amqp_frame_t f;
	int status, rc;

	for (;;) {
		if (!time_left(d, &tv))
			return fail(ev, EVENTS_UNREACHABLE, err, errlen,
			    "publish: no confirm within %d s", ev->timeout);
		status = amqp_simple_wait_frame_noblock(ev->conn, &f, &tv);
		if (status == AMQP_STATUS_TIMEOUT)
			continue;
		if (status != AMQP_STATUS_OK) {
			*lost = 1;
			return library_fail(ev, status, "publish", err, errlen);
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		rc = on_method(ev, &f.payload.method, tag, lost, err, errlen);
		if (rc != NOT_YET)
			return rc;
	}
}

/* One publish and its confirm.  *lost: the connection or the channel
 * broke, so a new connection may do what this one could not. */
static int
publish_once(struct events *ev, const char *key, const char *body,
    const struct timespec *d, int *lost, char *err, size_t errlen)
{
	amqp_basic_properties_t props;
	uint64_t tag = ev->next_tag;
	int status;

	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
	    AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.content_type = amqp_cstring_bytes("application/json");
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	status = amqp_basic_publish(ev->conn, CHANNEL,
	    amqp_cstring_bytes(ev->exchange), amqp_cstring_bytes(key), 0, 0,
	    &props, amqp_cstring_bytes(body));
	if (status != AMQP_STATUS_OK) {
		*lost = 1;
		return library_fail(ev, status, "publish", err, errlen);
	}
	ev->next_tag++;
	return wait_confirm(ev, tag, d, lost, err, errlen);
}

int
events_publish(struct events *ev, const char *key, const char *body,
    char *err, size_t errlen)
{
	struct timespec d;
	int rc, lost = 0, fresh;

	if (ev == NULL || body == NULL)
		return seterr(err, errlen, "events: nothing to publish");
	if (!printable(key, EVENTS_NAME_MAX))
		return seterr(err, errlen, "events: bad routing key");
	deadline_after(&d, ev->timeout);
	if (lock_by(ev, &d) == -1)
		return fail(ev, EVENTS_UNREACHABLE, err, errlen,
		    "publish: busy for %d s", ev->timeout);
	drop_if_stale(ev);
	if ((fresh = ev->conn == NULL) &&
	    (rc = connect_broker(ev, &d, err, errlen)) != EVENTS_OK)
		goto out;
	rc = publish_once(ev, key, body, &d, &lost, err, errlen);
	if (rc != EVENTS_OK && lost && !fresh) {
		drop(ev);
		if ((rc = connect_broker(ev, &d, err, errlen)) == EVENTS_OK)
			rc = publish_once(ev, key, body, &d, &lost, err,
			    errlen);
	}
	if (rc != EVENTS_OK)
		drop(ev);
	else
		amqp_maybe_release_buffers(ev->conn);
 out:
	pthread_mutex_unlock(&ev->lock);
	return rc;
}

/* --- opening and closing ----------------------------------------------- */

static int
check_config(const struct events_config *c, char *err, size_t errlen)
{
	if (c == NULL || c->user == NULL || c->password == NULL)
		return seterr(err, errlen, "events: user and password needed");
	if (c->host != NULL && !printable(c->host, EVENTS_NAME_MAX))
		return seterr(err, errlen, "events: bad host");
	if (c->port < 0 || c->port > 65535)
		return seterr(err, errlen, "events: port %d out of range",
		    c->port);
	if (c->vhost != NULL && !printable(c->vhost, EVENTS_NAME_MAX))
		return seterr(err, errlen, "events: bad vhost");
	if (!printable(c->user, EVENTS_NAME_MAX))
		return seterr(err, errlen, "events: bad user name");
	if (c->password[0] == '\0')
		return seterr(err, errlen, "events: empty password");
	if (c->exchange != NULL && !exchange_name_ok(c->exchange))
		return seterr(err, errlen, "events: bad exchange name");
	if (c->timeout < 0 || c->timeout > TIMEOUT_MAX)
		return seterr(err, errlen, "events: timeout %d out of 0..%d",
		    c->timeout, TIMEOUT_MAX);
	return 0;
}

static int
copy_config(struct events *ev, const struct events_config *c)
{
	ev->host = strdup(c->host != NULL ? c->host : "127.0.0.1");
	ev->vhost = strdup(c->vhost != NULL ? c->vhost : "/");
	ev->user = strdup(c->user);
	ev->password = strdup(c->password);
	ev->exchange = strdup(c->exchange != NULL ? c->exchange :
	    EVENTS_EXCHANGE_DEFAULT);
	ev->port = c->port != 0 ? c->port : AMQP_PROTOCOL_PORT;
	ev->timeout = c->timeout != 0 ? c->timeout : EVENTS_TIMEOUT_DEFAULT;
	return ev->host != NULL && ev->vhost != NULL && ev->user != NULL &&
	    ev->password != NULL && ev->exchange != NULL ? 0 : -1;
}

struct events *
events_open(const struct events_config *c, char *err, size_t errlen)
{
	struct events *ev;
	struct timespec d;

	if (check_config(c, err, errlen) != 0)
		return NULL;
	if ((ev = calloc(1, sizeof(*ev))) == NULL) {
		errbuf_set(err, errlen, "events: out of memory");
		return NULL;
	}
	pthread_mutex_init(&ev->lock, NULL);
	if (copy_config(ev, c) == -1) {
		errbuf_set(err, errlen, "events: out of memory");
		events_close(ev);
		return NULL;
	}
	deadline_after(&d, ev->timeout);
	if (!c->defer_connect && connect_broker(ev, &d, err, errlen) !=
	    EVENTS_OK) {
		events_close(ev);
		return NULL;
	}
	return ev;
}

/* Says goodbye to the broker if it is there, within the timeout. */
static void
disconnect(struct events *ev)
{
	struct timespec d;

	if (ev->conn == NULL)
		return;
	deadline_after(&d, ev->timeout);
	drop_if_stale(ev);
	if (ev->conn != NULL && arm(ev, &d) == 0 &&
	    amqp_channel_close(ev->conn, CHANNEL, AMQP_REPLY_SUCCESS)
	    .reply_type == AMQP_RESPONSE_NORMAL && arm(ev, &d) == 0)
		amqp_connection_close(ev->conn, AMQP_REPLY_SUCCESS);
	drop(ev);
}

void
events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	disconnect(ev);
	if (ev->password != NULL) {
		explicit_bzero(ev->password, strlen(ev->password));
		free(ev->password);
	}
	free(ev->host);
	free(ev->vhost);
	free(ev->user);
	free(ev->exchange);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}
