/* The events outbox: the thread that empties the store's events table. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "events.h"
#include "log.h"
#include "outbox.h"

#define RETRY_SECONDS	5	/* the broker is away, or the store failed */
#define POLL_SECONDS	5	/* a kick lost to a race is found by then */

struct outbox {
	struct events		*events;
	struct outbox_source	 src;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 wake;
	int			 kicked, stopping;
};

/* Waits for a kick, a stop, or `seconds`; the caller holds mu. */
static void
wait_for(struct outbox *o, time_t seconds)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += seconds;
	while (!o->stopping && !o->kicked && pthread_cond_timedwait(&o->wake,
	    &o->mu, &until) != ETIMEDOUT)
		;
	o->kicked = 0;
}

/* The stored body with its id, so that consumers can drop a repeat. */
static char *
with_id(const struct outbox_event *e)
{
	json_t *j = json_loads(e->body, 0, NULL);
	char *out = NULL;

	if (json_is_object(j) && json_object_set_new(j, "id",
	    json_integer((json_int_t)e->id)) == 0)
		out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out;
}

/*
 * Publishes one event: 0 when it is done with (confirmed, or refused for
 * good and logged), -1 to try again later.
 */
static int
publish(struct outbox *o, const struct outbox_event *e)
{
	char err[256], *body;
	int rc;

	if ((body = with_id(e)) == NULL) {
		log_error("event %lld (%s) dropped: its stored body is not a "
		    "JSON object", (long long)e->id, e->key);
		return 0;
	}
	rc = events_publish(o->events, e->key, body, err, sizeof(err));
	free(body);
	if (rc == EVENTS_OK)
		return 0;
	if (rc == EVENTS_UNREACHABLE) {
		log_warn("event %lld (%s) waits: %s", (long long)e->id, e->key,
		    err);
		return -1;
	}
	log_error("event %lld (%s) refused, dropped: %s", (long long)e->id,
	    e->key, err);
	return 0;
}

/* One step: 1 an event went, 0 nothing to do, -1 wait and retry. */
static int
step(struct outbox *o, int64_t *after)
{
	struct outbox_event e = { 0, NULL, NULL };
	int rc;

	if ((rc = o->src.next(o->src.arg, *after, &e)) <= 0) {
		if (rc < 0)
			log_error("events outbox: cannot read the store");
		return rc;
	}
	if ((rc = publish(o, &e)) == 0) {
		/* Skipped from now on even if the delete failed: at least
		 * once, and not in a loop. */
		*after = e.id;
		if (o->src.done(o->src.arg, e.id) == -1)
			log_error("events outbox: event %lld sent but not "
			    "deleted; it will go again after a restart",
			    (long long)e.id);
		rc = 1;
	}
	free(e.key);
	free(e.body);
	return rc;
}

static void *
run(void *arg)
{
	struct outbox *o = arg;
	int64_t after = 0;
	int rc;

	pthread_mutex_lock(&o->mu);
	while (!o->stopping) {
		pthread_mutex_unlock(&o->mu);
		rc = step(o, &after);
		pthread_mutex_lock(&o->mu);
		if (rc <= 0)
			wait_for(o, rc == 0 ? POLL_SECONDS : RETRY_SECONDS);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

struct outbox *
outbox_start(struct events *events, const struct outbox_source *src)
{
	pthread_condattr_t ca;
	struct outbox *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->events = events;
	o->src = *src;
	o->kicked = 1;
	pthread_mutex_init(&o->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&o->thread, NULL, run, o) != 0) {
		pthread_cond_destroy(&o->wake);
		pthread_mutex_destroy(&o->mu);
		free(o);
		return NULL;
	}
	return o;
}

void
outbox_kick(struct outbox *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	o->kicked = 1;
	pthread_cond_signal(&o->wake);
	pthread_mutex_unlock(&o->mu);
}

void
outbox_stop(struct outbox *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	o->stopping = 1;
	pthread_cond_signal(&o->wake);
	pthread_mutex_unlock(&o->mu);
	pthread_join(o->thread, NULL);
	pthread_cond_destroy(&o->wake);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
