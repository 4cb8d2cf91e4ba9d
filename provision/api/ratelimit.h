/*
 * Failed-credential limits per key (a group, a client address): more than
 * `per_minute` failures in a minute lock the key out for `lockout` seconds.
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

#endif
