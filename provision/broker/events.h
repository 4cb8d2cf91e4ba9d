/*
 * Lifecycle events (device.provisioned, device.revoked) published to
 * RabbitMQ with rabbitmq-c: a durable topic exchange, persistent messages,
 * publisher confirms.  events_publish() returns 0 only once the broker has
 * confirmed the message, so an event is never lost silently; it may be
 * delivered twice (a retry after a lost confirm), so consumers should treat
 * (event, serial) as the identity of an event.
 *
 * One connection and one channel, behind one mutex: any thread may publish.
 * Every call is bounded by the configured timeout: waiting for the lock,
 * connecting, logging in, declaring, and waiting for the confirm all share
 * it (a reconnect too).  Errors are one line without a newline; they name
 * the broker, the user and the vhost, never the password.
 */
#ifndef IOTA_EVENTS_H
#define IOTA_EVENTS_H

#include <stddef.h>

enum events_code {
	EVENTS_OK = 0,
	EVENTS_UNREACHABLE,	/* cannot connect, connection lost, no confirm
				   in time, or nacked: retry later or queue */
	EVENTS_REFUSED,		/* the broker said no (login, vhost access,
				   permissions, exchange of another kind):
				   retrying will not help */
	EVENTS_INVALID,		/* bad argument or configuration */
	EVENTS_ERROR,		/* out of memory, or the library failed */
};

#define EVENTS_EXCHANGE_DEFAULT	"iota.events"
#define EVENTS_TIMEOUT_DEFAULT	5	/* seconds */
#define EVENTS_NAME_MAX		255	/* AMQP short string: exchange, key */

#define EVENT_DEVICE_PROVISIONED	"device.provisioned"
#define EVENT_DEVICE_REVOKED		"device.revoked"

struct events_config {
	const char	*host;		/* NULL: 127.0.0.1 */
	int		 port;		/* 0: 5672 */
	const char	*vhost;		/* NULL: "/" */
	const char	*user;		/* required */
	const char	*password;	/* required; copied, wiped on close */
	const char	*exchange;	/* NULL: EVENTS_EXCHANGE_DEFAULT */
	int		 timeout;	/* seconds per call; 0: the default */
	int		 defer_connect;	/* nonzero: the first publish connects,
					   so a broker that is down when the
					   daemon starts is not fatal */
};

struct events;

/*
 * Copies the configuration, connects, declares the exchange (topic,
 * durable; an existing "amq.*" exchange is only checked) and turns on
 * publisher confirms.  NULL after writing why into err.
 */
struct events	*events_open(const struct events_config *, char *err,
		    size_t errlen);
/*
 * Publishes json_body with routing_key (EVENT_DEVICE_*), persistent
 * (delivery mode 2), content type application/json, and waits for the
 * broker's confirm.  A connection found dropped is made again once (and
 * the exchange declared again).  Returns an EVENTS_* code; on any code but
 * EVENTS_OK, err says why.
 */
int		 events_publish(struct events *, const char *routing_key,
		    const char *json_body, char *err, size_t errlen);
/* Closes the connection and wipes the password; NULL is a no-op.  No
 * events_publish() may be running or start. */
void		 events_close(struct events *);
const char	*events_strerror(int code);

#endif
