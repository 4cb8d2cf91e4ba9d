/*
 * How devices reach the broker: one implementation per broker.mode (none,
 * management, auth-backend), chosen once when iotad starts.  Handlers ask
 * for what they need (a device's credentials, their revocation, an answer
 * to RabbitMQ's auth backend, a lifecycle event) and never look at the
 * mode or the login themselves.
 *
 * Calls return a broker_rc: BROKER_OK; BROKER_UNAVAILABLE or
 * BROKER_REFUSED (answer 503: the caller's retry finishes the job);
 * BROKER_ERROR (ours).  The reason is logged here, never a secret.
 */
#ifndef IOTA_BROKER_MODE_H
#define IOTA_BROKER_MODE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "credentials.h"

struct broker_mode;
struct router_query;

/* A device as the broker knows it. */
struct broker_who {
	int64_t		 device_id;
	const char	*tenant;
	const char	*group;
	const char	*device;
	/*
	 * Certificates of the device revoked so far.  With certificate login
	 * the username is the certificate's CN, so each new one after a
	 * revocation gets a name of its own ("t.g.d.N", a fourth part no
	 * device name can make): the revoked certificate's user is gone for
	 * good and its CN logs in no more.
	 */
	int64_t		 generation;
};

/* 1 if the broker knows a device by its certificate's CN. */
int	broker_mode_cert_login(const struct broker_mode *);

/* RabbitMQ's HTTP auth backend asks one of these. */
enum broker_question {
	BROKER_ASK_USER,
	BROKER_ASK_VHOST,
	BROKER_ASK_RESOURCE,
	BROKER_ASK_TOPIC,
};

/* What the table cannot require alone: -1 and one line in err. */
int		 broker_mode_check(const struct iotad_conf *, char *, size_t);
/* `iotad --init`: the broker database's key, when the mode keeps one. */
int		 broker_mode_init(const struct iotad_conf *, char *, size_t);
/* The mode's databases and clients; nothing is contacted yet. */
struct broker_mode *broker_mode_open(const struct iotad_conf *, char *,
		    size_t);
/* Its threads: batched imports, events leaving from `src`. */
struct outbox_source;
int		 broker_mode_start(struct broker_mode *,
		    const struct outbox_source *, char *, size_t);
void		 broker_mode_close(struct broker_mode *);

/* A tenant is being made: its vhost must exist first. */
int		 broker_mode_tenant(struct broker_mode *, const char *);
/*
 * The device's credentials, made if need be and the same on every retry;
 * in mode none, empty ones.  A device never gets a certificate without
 * them: call this before recording the certificate.
 */
int		 broker_mode_device(struct broker_mode *,
		    const struct broker_who *, struct creds *);
/* The CN its certificate must carry (the broker username with
 * certificate login, else the device name). */
const char	*broker_mode_subject(const struct broker_mode *,
		    const struct creds *, const char *);
/* The "broker" member of a provisioning answer; NULL in mode none. */
json_t		*broker_mode_answer(const struct broker_mode *,
		    const struct creds *, const char *);
/* Revoked or re-enabled: no user, no live connection, no record. */
int		 broker_mode_revoke(struct broker_mode *, int64_t);
/* Whether this mode answers RabbitMQ's auth backend at all. */
int		 broker_mode_answers_auth(const struct broker_mode *);
/*
 * The auth backend's question, with RabbitMQ's form: 1 allow, 0 deny,
 * -1 when this mode answers no such question (the route is 404).
 */
int		 broker_mode_ask(struct broker_mode *, enum broker_question,
		    const struct router_query *);
/*
 * Lifecycle events for services.  A change records its event in its own
 * transaction (the store's events table, see outbox.h) when the mode
 * publishes events at all; a kick after the commit sends it at once.
 */
struct broker_event {
	const char	*name;		/* EVENT_DEVICE_* (events.h) */
	const char	*tenant, *group, *device;
	const char	*serial;	/* NULL: none */
	time_t		 at;
};
int		 broker_mode_has_events(const struct broker_mode *);
/* The event's JSON body (free() it), NULL when out of memory. */
char		*broker_mode_event_json(const struct broker_event *);
void		 broker_mode_kick(struct broker_mode *);

#endif
