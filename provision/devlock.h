/*
 * Requests for one device take turns: identical requests racing each
 * other (a device retrying before its first answer came) would otherwise
 * each sign a certificate and make broker credentials, and a loser could
 * not tell whether it may take those credentials away again.  A fixed set
 * of mutexes, chosen by a hash of the group and the device name: two
 * devices may share one, which costs only a wait.  Per process; several
 * nodes share the store's transactions, not these.
 */
#ifndef IOTA_DEVLOCK_H
#define IOTA_DEVLOCK_H

#include <pthread.h>
#include <stdint.h>

#define DEVLOCK_STRIPES	64

struct devlocks {
	pthread_mutex_t	 mu[DEVLOCK_STRIPES];
};

void		 devlocks_init(struct devlocks *);
void		 devlocks_destroy(struct devlocks *);
/* The mutex of (group id, device name), held on return. */
pthread_mutex_t	*devlock_hold(struct devlocks *, int64_t, const char *);
void		 devlock_release(pthread_mutex_t *);

#endif
