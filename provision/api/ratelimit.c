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
	time_t	 locked_until;
};

struct ratelimit {
	pthread_mutex_t	 lock;
	int		 per_minute;
	long		 lockout;
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
	return s->key[0] == '\0' ||
	    (s->locked_until <= now && s->window_start + WINDOW <= now);
}

/*
 * The key's slot, or one it may take: an idle one, else one that is only
 * counting.  A locked-out key is never evicted, so a flood of fresh keys
 * cannot lift a lockout.  NULL: not found (or no room, all locked).
 */
static struct slot *
find(struct ratelimit *rl, const char *key, time_t now, int create)
{
	uint32_t h = hash(key);
	struct slot *idle_slot = NULL, *counting = NULL, *s;

	for (int i = 0; i < PROBES; i++) {
		s = &rl->slots[(h + (uint32_t)i) & (SLOTS - 1)];
		if (s->key[0] != '\0' && strncmp(s->key, key, KEY_MAX - 1) == 0)
			return s;
		if (idle_slot == NULL && idle(s, now))
			idle_slot = s;
		if (counting == NULL && s->locked_until <= now)
			counting = s;
	}
	if (!create || (s = idle_slot != NULL ? idle_slot : counting) == NULL)
		return NULL;
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

	pthread_mutex_lock(&rl->lock);
	if ((s = find(rl, key, now, 0)) != NULL && s->locked_until > now)
		wait = (long)(s->locked_until - now);
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

long
ratelimit_fail(struct ratelimit *rl, const char *key, time_t now)
{
	struct slot *s;
	long wait = 0;

	pthread_mutex_lock(&rl->lock);
	if ((s = find(rl, key, now, 1)) == NULL) {
		pthread_mutex_unlock(&rl->lock);
		return 0;
	}
	if (s->window_start + WINDOW <= now) {
		s->window_start = now;
		s->failures = 0;
	}
	if (++s->failures > rl->per_minute) {
		s->locked_until = now + rl->lockout;
		s->failures = 0;
		s->window_start = now;
	}
	if (s->locked_until > now)
		wait = (long)(s->locked_until - now);
	pthread_mutex_unlock(&rl->lock);
	return wait;
}
