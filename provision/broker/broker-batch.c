/* The broker batcher: a queue, one thread, one import per round. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker-batch.h"

struct waiter {
	struct waiter			*next;
	const struct broker_device	*device;
	int				 rc, done;
	char				 err[256];
};

struct broker_batch {
	struct broker	*broker;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 work, done;
	struct waiter	*head, **tail;
	int		 stopping;
};

int
broker_batch_put(struct broker_batch *b, const struct broker_device *dev,
    char *err, size_t errlen)
{
	struct waiter w = { .device = dev };

	pthread_mutex_lock(&b->mu);
	*b->tail = &w;
	b->tail = &w.next;
	pthread_cond_signal(&b->work);
	while (!w.done)
		pthread_cond_wait(&b->done, &b->mu);
	pthread_mutex_unlock(&b->mu);
	snprintf(err, errlen, "%s", w.err);
	return w.rc;
}

/* Up to BROKER_BATCH_MAX waiters, off the queue; the caller holds mu. */
static struct waiter *
take(struct broker_batch *b, size_t *n)
{
	struct waiter *first = b->head, *w = first;

	for (*n = 1; *n < BROKER_BATCH_MAX && w->next != NULL; (*n)++)
		w = w->next;
	b->head = w->next;
	if (b->head == NULL)
		b->tail = &b->head;
	w->next = NULL;
	return first;
}

static void
send_batch(struct broker_batch *b, struct waiter *first, size_t n)
{
	struct broker_device *devs;
	struct waiter *w;
	char err[256] = "";
	size_t i = 0;
	int rc;

	if (n == 1)
		rc = broker_device_put(b->broker, first->device, err,
		    sizeof(err));
	else if ((devs = calloc(n, sizeof(*devs))) == NULL) {
		rc = BROKER_ERROR;
		snprintf(err, sizeof(err), "out of memory");
	} else {
		for (w = first; w != NULL; w = w->next)
			devs[i++] = *w->device;
		rc = broker_devices_put(b->broker, devs, n, err, sizeof(err));
		free(devs);
	}
	pthread_mutex_lock(&b->mu);
	for (w = first; w != NULL; w = w->next) {
		w->rc = rc;
		snprintf(w->err, sizeof(w->err), "%s", err);
		w->done = 1;
	}
	pthread_cond_broadcast(&b->done);
	pthread_mutex_unlock(&b->mu);
}

static void *
run(void *arg)
{
	struct broker_batch *b = arg;
	struct waiter *first;
	size_t n;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (b->head == NULL && !b->stopping)
			pthread_cond_wait(&b->work, &b->mu);
		if (b->head == NULL)
			break;
		first = take(b, &n);
		pthread_mutex_unlock(&b->mu);
		send_batch(b, first, n);
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

struct broker_batch *
broker_batch_start(struct broker *broker)
{
	struct broker_batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->broker = broker;
	b->tail = &b->head;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->done, NULL);
	if (pthread_create(&b->thread, NULL, run, b) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

/* The HTTP server is stopped first: no put is waiting any more. */
void
broker_batch_stop(struct broker_batch *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	b->stopping = 1;
	pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->thread, NULL);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->done);
	pthread_mutex_destroy(&b->mu);
	free(b);
}
