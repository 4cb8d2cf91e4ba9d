/*
 * Lifecycle events leave through an outbox: a request queues its event and
 * answers at once, and one thread publishes in order, with confirms,
 * retrying while the broker is away.  A request never waits for the broker
 * to confirm an event, and a broker that is down costs no request anything.
 * The queue is bounded; what overflows it, or is still queued at shutdown,
 * is logged as lost.
 */
#ifndef IOTA_OUTBOX_H
#define IOTA_OUTBOX_H

struct events;
struct outbox;

/* Publishes through `events`, which must outlive the outbox. */
struct outbox	*outbox_start(struct events *);
/* Copies both; never blocks on the broker. */
void		 outbox_put(struct outbox *, const char *, const char *);
/* Tries what is queued for a few seconds more, then stops. */
void		 outbox_stop(struct outbox *);

#endif
