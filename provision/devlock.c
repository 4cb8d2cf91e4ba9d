/* The device locks: a stripe per hash of (group id, device name). */
#include <stddef.h>

#include "devlock.h"

void
devlocks_init(struct devlocks *l)
{
	for (size_t i = 0; i < DEVLOCK_STRIPES; i++)
		pthread_mutex_init(&l->mu[i], NULL);
}

void
devlocks_destroy(struct devlocks *l)
{
	for (size_t i = 0; i < DEVLOCK_STRIPES; i++)
		pthread_mutex_destroy(&l->mu[i]);
}

/* FNV-1a: names are short and not chosen to collide on purpose by anyone
 * who gains from it (a collision only makes two devices take turns). */
static uint32_t
stripe_of(int64_t group, const char *device)
{
	uint32_t h = 2166136261u;
	uint64_t g = (uint64_t)group;

	for (int i = 0; i < 8; i++, g >>= 8)
		h = (h ^ (g & 0xff)) * 16777619u;
	for (; *device != '\0'; device++)
		h = (h ^ (unsigned char)*device) * 16777619u;
	return h % DEVLOCK_STRIPES;
}

pthread_mutex_t *
devlock_hold(struct devlocks *l, int64_t group, const char *device)
{
	pthread_mutex_t *mu = &l->mu[stripe_of(group, device)];

	pthread_mutex_lock(mu);
	return mu;
}

void
devlock_release(pthread_mutex_t *mu)
{
	pthread_mutex_unlock(mu);
}
