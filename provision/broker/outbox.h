/*
 * Lifecycle events leave through an outbox: a table in the store (the
 * source), to which a change adds its event in its own transaction.  One
 * thread takes them oldest first, publishes each with confirms and an
 * "id" member (the table's id), and has it deleted once the broker has
 * confirmed it.  So an event is delivered at least once, after any crash
 * or outage, and in commit order (per device too); a consumer drops the
 * ids it has seen.  A request never waits for the broker.
 */
#ifndef IOTA_OUTBOX_H
#define IOTA_OUTBOX_H

#include <stdint.h>

struct events;
struct outbox;

struct outbox_event {
	int64_t	 id;
	char	*key;		/* routing key; both free()d by the outbox */
	char	*body;		/* a JSON object */
};

struct outbox_source {
	/* The oldest event with an id above `after`: 1, 0 if none, -1. */
	int	(*next)(void *, int64_t after, struct outbox_event *);
	/* Confirmed (or refused for good): 0, or -1. */
	int	(*done)(void *, int64_t);
	void	*arg;
};

/* Publishes through `events`, which must outlive the outbox. */
struct outbox	*outbox_start(struct events *, const struct outbox_source *);
/* An event was committed: look now rather than at the next poll. */
void		 outbox_kick(struct outbox *);
/* Stops; what is not confirmed yet stays in the source for next time. */
void		 outbox_stop(struct outbox *);

#endif
