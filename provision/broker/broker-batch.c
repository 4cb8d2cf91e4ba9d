/* The broker batcher: a queue, one thread, one import per round. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "broker-batch.h"

/* Without a deadline (a caller outside a request): as long as this. */
#define BROKER_BATCH_WAIT_MS	(600 * 1000LL)

/*
 * A waiter lives on the heap: one that gives up at its deadline while its
 * import is in flight leaves it to the thread, which frees it after.
 */
struct waiter {
	struct waiter		*next;
	struct broker_device	 device;	/* strings in `copy` */
	char			*copy;
	int			 rc, done, taken, abandoned;
	char			 err[256];
};

struct broker_batch {
	struct broker	*broker;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 work, done;
	struct waiter	*head, **tail;
	int		 stopping;
};

static void
waiter_free(struct waiter *w)
{
	if (w == NULL)
		return;
	if (w->copy != NULL)
		OPENSSL_cleanse(w->copy, strlen(w->copy));
	free(w->copy);
	free(w);
}

/* The device's five strings, one after the other in one allocation. */
static struct waiter *
waiter_new(const struct broker_device *d)
{
	const char *in[5] = { d->vhost, d->user, d->password_hash, d->group,
	    d->device };
	const char **out[5];
	struct waiter *w;
	size_t len = 0, i;
	char *p;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	out[0] = &w->device.vhost;
	out[1] = &w->device.user;
	out[2] = &w->device.password_hash;
	out[3] = &w->device.group;
	out[4] = &w->device.device;
	for (i = 0; i < 5; i++)
		len += strlen(in[i]) + 1;
	if ((w->copy = p = malloc(len + 1)) == NULL) {
		free(w);
		return NULL;
	}
	for (i = 0; i < 5; i++) {
		*out[i] = p;
		p = stpcpy(p, in[i]) + 1;
	}
	*p = '\0';
	return w;
}

/* Off the queue, before the thread took it; the caller holds mu. */
static void
unlink_waiter(struct broker_batch *b, struct waiter *w)
{
	struct waiter **pp;

	for (pp = &b->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp != w)
			continue;
		*pp = w->next;
		if (b->tail == &w->next)
			b->tail = pp;
		return;
	}
}

/* When this thread's broker deadline (broker.h) runs out. */
static void
deadline_at(struct timespec *at, long long left_ms)
{
	clock_gettime(CLOCK_MONOTONIC, at);
	at->tv_sec += left_ms / 1000;
	at->tv_nsec += (left_ms % 1000) * 1000000;
	if (at->tv_nsec >= 1000000000) {
		at->tv_sec++;
		at->tv_nsec -= 1000000000;
	}
}

int
broker_batch_put(struct broker_batch *b, const struct broker_device *dev,
    char *err, size_t errlen)
{
	long long left = broker_deadline_left_ms(BROKER_BATCH_WAIT_MS);
	struct timespec at;
	struct waiter *w;
	int rc;

	if (left <= 0) {
		snprintf(err, errlen, "RabbitMQ: no answer within "
		    "broker.timeout");
		return BROKER_UNAVAILABLE;
	}
	if ((w = waiter_new(dev)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return BROKER_ERROR;
	}
	deadline_at(&at, left);
	pthread_mutex_lock(&b->mu);
	*b->tail = w;
	b->tail = &w->next;
	pthread_cond_signal(&b->work);
	while (!w->done && pthread_cond_timedwait(&b->done, &b->mu, &at) !=
	    ETIMEDOUT)
		;
	if (!w->done) {
		/* Given up: the import of others goes on without this one. */
		if (w->taken)
			w->abandoned = 1;
		else
			unlink_waiter(b, w);
		pthread_mutex_unlock(&b->mu);
		snprintf(err, errlen, "RabbitMQ management: no answer within "
		    "broker.timeout");
		if (!w->taken)
			waiter_free(w);
		return BROKER_UNAVAILABLE;
	}
	pthread_mutex_unlock(&b->mu);
	snprintf(err, errlen, "%s", w->err);
	rc = w->rc;
	waiter_free(w);
	return rc;
}

/* Up to BROKER_BATCH_MAX waiters, off the queue; the caller holds mu. */
static struct waiter *
take(struct broker_batch *b, size_t *n)
{
	struct waiter *first = b->head, *w = first;

	first->taken = 1;
	for (*n = 1; *n < BROKER_BATCH_MAX && w->next != NULL; (*n)++) {
		w = w->next;
		w->taken = 1;
	}
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
	struct waiter *w, *next;
	char err[256] = "";
	size_t i = 0;
	int rc;

	if (n == 1)
		rc = broker_device_put(b->broker, &first->device, err,
		    sizeof(err));
	else if ((devs = calloc(n, sizeof(*devs))) == NULL) {
		rc = BROKER_ERROR;
		snprintf(err, sizeof(err), "out of memory");
	} else {
		for (w = first; w != NULL; w = w->next)
			devs[i++] = w->device;
		rc = broker_devices_put(b->broker, devs, n, err, sizeof(err));
		free(devs);
	}
	pthread_mutex_lock(&b->mu);
	for (w = first; w != NULL; w = next) {
		next = w->next;
		w->rc = rc;
		snprintf(w->err, sizeof(w->err), "%s", err);
		w->done = 1;
		if (w->abandoned)
			waiter_free(w);
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
	pthread_condattr_t ca;

	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->work, NULL);
	/* Deadlines are on the monotonic clock: a clock step moves none. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->done, &ca);
	pthread_condattr_destroy(&ca);
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
