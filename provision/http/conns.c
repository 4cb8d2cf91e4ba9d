/* The connection guard: a list of live connections and a watchdog. */
#include <sys/socket.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conns.h"

#define TICK_MS		250
#define PRESSURE_HEAD_MS 2000	/* under pressure, a head gets this long */

enum conn_state { CONN_HEAD, CONN_BUSY, CONN_IDLE };

struct conn {
	struct conn		*prev, *next;
	MHD_socket		 fd;
	struct sockaddr_storage	 addr;
	enum conn_state		 state;
	long long		 since;		/* ms, monotonic */
	int			 served;	/* answered a request already */
	int			 over;		/* past its address's limit */
	int			 dropped;
};

struct conns {
	struct conns_config	 cf;
	pthread_mutex_t		 mu;
	pthread_cond_t		 tick;
	pthread_t		 thread;
	int			 stopping;
	struct conn		*head;
	struct conns_stats	 st;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The address alone: the port differs on every connection. */
static int
same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return 0;
}

/* The caller holds mu. */
static unsigned int
from_address(const struct conns *cs, const struct conn *c)
{
	unsigned int n = 0;

	for (const struct conn *o = cs->head; o != NULL; o = o->next)
		n += !o->dropped && same_address(&o->addr, &c->addr);
	return n;
}

static void
drop(struct conn *c)
{
	c->dropped = 1;
	shutdown(c->fd, SHUT_RDWR);
}

static struct conn *
conn_new(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *fd, *ad;
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	fd = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	ad = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	c->fd = fd != NULL ? fd->connect_fd : MHD_INVALID_SOCKET;
	if (ad != NULL && ad->client_addr != NULL) {
		memcpy(&c->addr, ad->client_addr,
		    ad->client_addr->sa_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	}
	c->state = CONN_HEAD;
	c->since = now_ms();
	return c;
}

void
conns_notify(void *cls, struct MHD_Connection *mc, void **ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct conns *cs = cls;
	struct conn *c = *ctx;

	pthread_mutex_lock(&cs->mu);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((c = conn_new(mc)) != NULL) {
			c->over = from_address(cs, c) >= cs->cf.per_address;
			if ((c->next = cs->head) != NULL)
				c->next->prev = c;
			cs->head = c;
			cs->st.open++;
		}
		*ctx = c;
	} else if (c != NULL) {
		/* Before MHD closes the socket: the watchdog never shuts
		 * down a descriptor that may have been reused. */
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			cs->head = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		cs->st.open--;
		free(c);
		*ctx = NULL;
	}
	pthread_mutex_unlock(&cs->mu);
}

static struct conn *
conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *i;

	i = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return i != NULL ? i->socket_context : NULL;
}

int
conns_head(struct conns *cs, struct MHD_Connection *mc)
{
	struct conn *c = conn_of(mc);
	int over = 0;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&cs->mu);
	c->state = CONN_BUSY;
	c->since = now_ms();
	/* Counted again now: earlier ones may have gone meanwhile. */
	if (c->over && !c->served &&
	    (over = from_address(cs, c) > cs->cf.per_address))
		cs->st.over_address++;
	c->over = over;
	pthread_mutex_unlock(&cs->mu);
	return over;
}

void
conns_done(struct conns *cs, struct MHD_Connection *mc, int close)
{
	struct conn *c = conn_of(mc);

	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->mu);
	c->state = CONN_IDLE;
	c->since = now_ms();
	c->served = 1;
	if (close && !c->dropped)
		drop(c);
	pthread_mutex_unlock(&cs->mu);
}

/* One look at every connection; the caller holds mu. */
static void
sweep(struct conns *cs)
{
	long long now = now_ms(), age;
	int pressure = cs->st.open * 4 >= cs->cf.total * 3;

	for (struct conn *c = cs->head; c != NULL; c = c->next) {
		if (c->dropped || c->state == CONN_BUSY)
			continue;
		age = now - c->since;
		if (c->state == CONN_HEAD && age > (long long)(c->served ?
		    cs->cf.idle_seconds : cs->cf.head_seconds) * 1000) {
			cs->st.slow_heads++;
			drop(c);
		} else if (c->state == CONN_IDLE && age >
		    (long long)cs->cf.idle_seconds * 1000) {
			drop(c);
		} else if (pressure && (c->state == CONN_IDLE ?
		    age > TICK_MS : age > PRESSURE_HEAD_MS)) {
			cs->st.reclaimed++;
			drop(c);
		}
	}
}

static void *
watchdog(void *arg)
{
	struct conns *cs = arg;
	struct timespec at;

	pthread_mutex_lock(&cs->mu);
	while (!cs->stopping) {
		sweep(cs);
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += TICK_MS * 1000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cs->tick, &cs->mu, &at);
	}
	pthread_mutex_unlock(&cs->mu);
	return NULL;
}

struct conns *
conns_start(const struct conns_config *cf)
{
	pthread_condattr_t ca;
	struct conns *cs;

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return NULL;
	cs->cf = *cf;
	pthread_mutex_init(&cs->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cs->tick, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&cs->thread, NULL, watchdog, cs) != 0) {
		pthread_cond_destroy(&cs->tick);
		pthread_mutex_destroy(&cs->mu);
		free(cs);
		return NULL;
	}
	return cs;
}

/* After MHD stopped: every connection is closed and off the list. */
void
conns_stop(struct conns *cs)
{
	if (cs == NULL)
		return;
	pthread_mutex_lock(&cs->mu);
	cs->stopping = 1;
	pthread_cond_signal(&cs->tick);
	pthread_mutex_unlock(&cs->mu);
	pthread_join(cs->thread, NULL);
	pthread_cond_destroy(&cs->tick);
	pthread_mutex_destroy(&cs->mu);
	free(cs);
}

void
conns_stats(struct conns *cs, struct conns_stats *out)
{
	pthread_mutex_lock(&cs->mu);
	*out = cs->st;
	pthread_mutex_unlock(&cs->mu);
}
