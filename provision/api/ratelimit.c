/* A bounded table of failure counters, one mutex. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define SLOTS		4096	/* power of two */
#define PROBES		8
#define KEY_MAX		64
#define WINDOW		60

struct slot {
	char	 key[KEY_MAX];
	time_t	 window_start;
	int	 failures;
	int	 strikes;	/* failures past the free ones: the delay doubles */
	time_t	 locked_until;
};

struct ratelimit {
	pthread_mutex_t	 lock;
	int		 per_minute;
	long		 lockout;
	unsigned long long evicted, full;	/* pressure, for the log */
	unsigned long long reported;
	time_t		 warned;
	struct slot	 slots[SLOTS];
};

struct ratelimit *
ratelimit_new(int per_minute, long lockout)
{
	struct ratelimit *rl;

	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	rl->per_minute = per_minute;
	rl->lockout = lockout;
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* FNV-1a: spread is all that matters here. */
static uint32_t
hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h;
}

static int
idle(const struct slot *s, time_t now)
{
	/* A key is remembered for a quiet minute after its last delay. */
	return s->key[0] == '\0' || (s->locked_until + WINDOW <= now &&
	    s->window_start + WINDOW <= now);
}

/* Which of two counting slots holds less evidence: fewer, older failures. */
static int
weaker(const struct slot *a, const struct slot *b)
{
	return a->failures < b->failures || (a->failures == b->failures &&
	    a->window_start < b->window_start);
}

/*
 * The key's slot in its probe window, or (create) one it may take: an idle
 * one, else the counting one with the least evidence, so that a crowd of
 * one-failure keys cannot erase a key's count.  A locked-out key is never
 * evicted, so a flood of fresh keys cannot lift a lockout.  NULL: not
 * there, or (create) a window of lockouts only; *full says which, and the
 * soonest of those lockouts ends at *until.
 */
static struct slot *
find(struct ratelimit *rl, const char *key, time_t now, int create,
    int *full, time_t *until)
{
	uint32_t h = hash(key);
	struct slot *idle_slot = NULL, *counting = NULL, *s;

	*full = 1;
	*until = 0;
	for (int i = 0; i < PROBES; i++) {
		s = &rl->slots[(h + (uint32_t)i) & (SLOTS - 1)];
		if (s->key[0] != '\0' && strncmp(s->key, key, KEY_MAX - 1) == 0) {
			*full = 0;
			return s;
		}
		if (idle_slot == NULL && idle(s, now))
			idle_slot = s;
		if (s->locked_until <= now) {
			*full = 0;
			if (counting == NULL || weaker(s, counting))
				counting = s;
		} else if (*until == 0 || s->locked_until < *until)
			*until = s->locked_until;
	}
	if (!create || (s = idle_slot != NULL ? idle_slot : counting) == NULL) {
		rl->full += create && *full;
		return NULL;
	}
	rl->evicted += s != idle_slot;
	memset(s, 0, sizeof(*s));
	strncpy(s->key, key, KEY_MAX - 1);
	s->window_start = now;
	return s;
}

long
ratelimit_wait(struct ratelimit *rl, const char *key, time_t now)
{
	struct slot *s;
	long wait = 0;

	time_t until;
	int full;

	pthread_mutex_lock(&rl->lock);
	if ((s = find(rl, key, now, 0, &full, &until)) != NULL &&
	    s->locked_until > now)
		wait = (long)(s->locked_until - now);
	else if (s == NULL && full)	/* fail closed, never open */
		wait = (long)(until - now);
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

/* The delay of the n-th strike: 1 s, 2 s, 4 s... up to the lockout. */
static long
delay_of(const struct ratelimit *rl, int strikes)
{
	long d = 1L << (strikes > 20 ? 20 : strikes - 1);

	return d < rl->lockout ? d : rl->lockout;
}

long
ratelimit_fail(struct ratelimit *rl, const char *key, time_t now)
{
	struct slot *s;
	long wait = 0;
	time_t until;
	int full;

	pthread_mutex_lock(&rl->lock);
	if ((s = find(rl, key, now, 1, &full, &until)) == NULL) {
		/* A window of lockouts only: this key waits as they do. */
		pthread_mutex_unlock(&rl->lock);
		return (long)(until - now);
	}
	if (idle(s, now))
		s->strikes = 0;		/* a quiet minute forgives */
	if (s->window_start + WINDOW <= now) {
		s->window_start = now;
		s->failures = 0;
	}
	/* Past the free ones, each failure waits twice as long as the last. */
	if (s->strikes > 0 || ++s->failures > rl->per_minute) {
		s->strikes++;
		s->locked_until = now + delay_of(rl, s->strikes);
	}
	if (s->locked_until > now)
		wait = (long)(s->locked_until - now);
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

int
ratelimit_pressure(struct ratelimit *rl, time_t now, unsigned long long *evicted,
    unsigned long long *full)
{
	int news;

	pthread_mutex_lock(&rl->lock);
	*evicted = rl->evicted;
	*full = rl->full;
	/* Once a minute at most, and only when there is something new. */
	if ((news = now != 0 && rl->evicted + rl->full > rl->reported &&
	    rl->warned + WINDOW <= now)) {
		rl->warned = now;
		rl->reported = rl->evicted + rl->full;
	}
	pthread_mutex_unlock(&rl->lock);
	return news;
}
