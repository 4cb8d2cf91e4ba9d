/*
 * A group's quota counts provisionings in flight too: devices racing for
 * the last place would otherwise all make broker credentials first and
 * learn only at the record that the group is full.  A place is taken
 * before anything is made and given back when the request ends; the
 * record's own count in the transaction stays the final word.  Per
 * process.
 */
#ifndef IOTA_QUOTA_H
#define IOTA_QUOTA_H

#include <pthread.h>
#include <stdint.h>

struct quota_group;

struct quotas {
	pthread_mutex_t		 mu;
	struct quota_group	*head;
};

void	quotas_init(struct quotas *);
void	quotas_destroy(struct quotas *);
/* 1: a place taken (provisioned + in flight < quota); 0: full; -1. */
int	quota_take(struct quotas *, int64_t group, int64_t quota,
	    int64_t provisioned);
void	quota_give(struct quotas *, int64_t group);

#endif
