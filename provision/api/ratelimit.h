/*
 * Failed-credential limits per key (a client address): past `per_minute`
 * free failures in a minute, each failure makes the key wait, twice as
 * long as the one before (1 s, 2 s, 4 s...), at most `lockout` seconds; a
 * quiet minute after the last wait forgives it.  A key is an address,
 * never a group: someone who fails cannot keep others out.
 * Memory is bounded whatever an attacker sends: a fixed table, where a
 * new key takes the slot of an idle one, else of the counting key with the
 * least evidence near it.  It never fails open: locked-out keys are never
 * evicted, and a key whose every neighbour is locked out waits as they do.
 */
#ifndef IOTA_RATELIMIT_H
#define IOTA_RATELIMIT_H

#include <time.h>

struct ratelimit;

struct ratelimit *ratelimit_new(int per_minute, long lockout);
void	ratelimit_free(struct ratelimit *);
/* 0 when `key` may try; otherwise the seconds until it may. */
long	ratelimit_wait(struct ratelimit *, const char *key, time_t now);
/* Counts a failure; returns the wait it now faces (0 if none). */
long	ratelimit_fail(struct ratelimit *, const char *key, time_t now);
/*
 * Pressure: counting keys evicted for new ones, and failures that met a
 * window of lockouts.  1 when it grew since it was last said, at most
 * once a minute: the caller logs it.  `now` 0 only reads the counts.
 */
int	ratelimit_pressure(struct ratelimit *, time_t, unsigned long long *,
	    unsigned long long *);

#endif
