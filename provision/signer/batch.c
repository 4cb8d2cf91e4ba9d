/*
 * Requests to the signer, in batches: a request that finds every socket
 * busy waits in a queue; the first in the queue to find one free writes
 * up to BATCH_MAX waiting requests at once and hands each its answer.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link-int.h"

static int
unavailable(const char *why)
{
	ca_seterr("the signer is unavailable: %s", why);
	ca_set_unavailable();
	return -1;
}

/* With the lock: a free socket of the current signer; NULL: none now. */
static struct chan *
free_chan(struct gen *g, int *alive)
{
	*alive = 0;
	for (int i = 0; g != NULL && i < g->n; i++) {
		if (g->ch[i].dead)
			continue;
		(*alive)++;
		if (!g->ch[i].busy)
			return &g->ch[i];
	}
	return NULL;
}

/* With the lock: wake every queued request (the signer came or went). */
void
wake_queue(struct signer_link *k)
{
	for (struct pending *p = k->queue; p != NULL; p = p->next)
		pthread_cond_signal(&p->done);
}

/* With the lock: up to BATCH_MAX requests off the front of the queue. */
static int
take_batch(struct signer_link *k, struct pending **batch)
{
	int n = 0;

	while (n < BATCH_MAX && k->queue != NULL) {
		batch[n] = k->queue;
		batch[n]->state = TAKEN;
		if ((k->queue = batch[n]->next) == NULL)
			k->tail = &k->queue;
		n++;
	}
	return n;
}

static void
unqueue(struct signer_link *k, struct pending *me)
{
	struct pending **pp;

	for (pp = &k->queue; *pp != NULL; pp = &(*pp)->next)
		if (*pp == me) {
			if ((*pp = me->next) == NULL)
				k->tail = pp;
			return;
		}
}

/* Without the lock: the batch out in one write, its answers in order. */
static int
run_batch(struct chan *ch, struct pending **batch, int n)
{
	struct iovec iov[BATCH_MAX];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	size_t total = 0;
	ssize_t w;
	int i;

	for (i = 0; i < n; i++) {
		iov[i].iov_base = (void *)batch[i]->frame;
		iov[i].iov_len = batch[i]->len;
		total += batch[i]->len;
	}
	while ((w = sendmsg(ch->fd, &mh, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	/* A short write leaves half a frame: the rest, then, in turn. */
	if (w >= 0 && (size_t)w < total)
		for (i = 0; i < n && w >= 0; i++) {
			size_t len = batch[i]->len;

			if ((size_t)w >= len) {
				w -= (ssize_t)len;
				continue;
			}
			if (send_all(ch->fd, batch[i]->frame + w, len -
			    (size_t)w) == -1)
				w = -1;
			else
				w = 0;
		}
	if (w == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (read_frame(ch, &batch[i]->body, &batch[i]->blen) == -1)
			return -1;
	return 0;
}

/*
 * With the lock, as the leader of a batch: the socket is ours; the others
 * in it are told when their answer is in.  Then the next in the queue may
 * lead one.
 */
static void
lead(struct signer_link *k, struct gen *g, struct chan *ch)
{
	struct pending *batch[BATCH_MAX];
	int n, rc, e;

	ch->busy = 1;
	g->refs++;
	n = take_batch(k, batch);
	pthread_mutex_unlock(&k->lock);
	rc = run_batch(ch, batch, n);
	e = errno;
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < n; i++) {
		if (rc == -1) {
			free(batch[i]->body);
			batch[i]->body = NULL;
		}
		batch[i]->state = rc == 0 ? ANSWERED : FAILED;
		batch[i]->err = e;
		pthread_cond_signal(&batch[i]->done);
	}
	ch->busy = 0;
	if (rc == -1)
		ch->dead = 1;	/* a frame may be half-way: never reused */
	if (--g->refs == 0 && g->retired)
		gen_free(g);
	if (k->queue != NULL)
		pthread_cond_signal(&k->queue->done);
}

int
signer_link_call(void *arg, const unsigned char *frame, size_t len, unsigned char **body,
    size_t *blen)
{
	struct signer_link *k = arg;
	struct pending me = { .frame = frame, .len = len, .state = QUEUED };
	struct timespec until;
	struct chan *ch;
	const char *why = NULL;
	int alive;

	pthread_cond_init(&me.done, NULL);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CALL_SECONDS;
	pthread_mutex_lock(&k->lock);
	*k->tail = &me;
	k->tail = &me.next;
	while (me.state == QUEUED || me.state == TAKEN) {
		if (me.state == QUEUED) {
			ch = free_chan(k->cur, &alive);
			if (ch != NULL && k->queue == &me) {
				lead(k, k->cur, ch);
				continue;
			}
			why = k->cur == NULL ? "it is not running" :
			    alive == 0 ? "it does not answer" : NULL;
			if (why != NULL)
				break;
		}
		if (pthread_cond_timedwait(&me.done, &k->lock, &until) !=
		    ETIMEDOUT)
			continue;
		if (me.state == QUEUED) {
			why = "it is busy";
			break;
		}
		/* In a batch: its leader's reads time out on their own. */
		until.tv_sec += CALL_SECONDS;
	}
	if (me.state == QUEUED)
		unqueue(k, &me);
	if (k->queue != NULL)
		pthread_cond_signal(&k->queue->done);
	pthread_mutex_unlock(&k->lock);
	pthread_cond_destroy(&me.done);
	if (me.state == ANSWERED) {
		*body = me.body;
		*blen = me.blen;
		return 0;
	}
	return unavailable(why != NULL ? why : strerror(me.err));
}
