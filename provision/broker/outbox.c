/* The events outbox: a bounded FIFO and the thread that empties it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "log.h"
#include "outbox.h"

#define OUTBOX_MAX	10000
#define RETRY_SECONDS	5
#define DRAIN_SECONDS	5

struct event {
	struct event	*next;
	char		*key;
	char		*body;
};

struct outbox {
	struct events	*events;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 more;
	struct event	*head, *tail;
	size_t		 n;
	int		 stopping;
};

static void
event_free(struct event *e)
{
	free(e->key);
	free(e->body);
	free(e);
}

void
outbox_put(struct outbox *o, const char *key, const char *body)
{
	struct event *e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->key = strdup(key)) == NULL || (e->body = strdup(body)) == NULL) {
		if (e != NULL)
			event_free(e);
		log_error("event %s lost: out of memory", key);
		return;
	}
	pthread_mutex_lock(&o->mu);
	if (o->n >= OUTBOX_MAX) {
		pthread_mutex_unlock(&o->mu);
		log_error("event %s lost: %d events are "
		    "waiting for the broker", key, OUTBOX_MAX);
		event_free(e);
		return;
	}
	if (o->tail != NULL)
		o->tail->next = e;
	else
		o->head = e;
	o->tail = e;
	o->n++;
	pthread_cond_signal(&o->more);
	pthread_mutex_unlock(&o->mu);
}

static void
wait_until(struct outbox *o, time_t seconds)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	while (!o->stopping && pthread_cond_timedwait(&o->more, &o->mu,
	    &until) != ETIMEDOUT)
		;
}

/* Publishes the head; 0 when it may go, -1 to retry later. */
static int
publish_head(struct outbox *o, struct event *e)
{
	char err[256];
	int rc;

	pthread_mutex_unlock(&o->mu);
	rc = events_publish(o->events, e->key, e->body, err, sizeof(err));
	pthread_mutex_lock(&o->mu);
	if (rc == EVENTS_OK)
		return 0;
	if (rc == EVENTS_UNREACHABLE) {
		log_warn("event %s waits: %s", e->key, err);
		return -1;
	}
	log_error("event %s refused: %s", e->key, err);
	return 0;		/* retrying will not help */
}

static void
pop(struct outbox *o)
{
	struct event *e = o->head;

	if ((o->head = e->next) == NULL)
		o->tail = NULL;
	o->n--;
	event_free(e);
}

static void *
run(void *arg)
{
	struct outbox *o = arg;
	time_t deadline = 0;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		while (o->head == NULL && !o->stopping)
			pthread_cond_wait(&o->more, &o->mu);
		if (o->stopping && deadline == 0)
			deadline = time(NULL) + DRAIN_SECONDS;
		if (o->head == NULL || (deadline != 0 && time(NULL) > deadline))
			break;
		if (publish_head(o, o->head) == 0)
			pop(o);
		else if (o->stopping)
			break;
		else
			wait_until(o, RETRY_SECONDS);
	}
	while (o->head != NULL) {
		log_error("event %s lost at shutdown",
		    o->head->key);
		pop(o);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

struct outbox *
outbox_start(struct events *events)
{
	struct outbox *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->events = events;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->more, NULL);
	if (pthread_create(&o->thread, NULL, run, o) != 0) {
		free(o);
		return NULL;
	}
	return o;
}

void
outbox_stop(struct outbox *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	o->stopping = 1;
	pthread_cond_signal(&o->more);
	pthread_mutex_unlock(&o->mu);
	pthread_join(o->thread, NULL);
	pthread_cond_destroy(&o->more);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
