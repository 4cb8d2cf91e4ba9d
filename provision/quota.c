/* Provisionings in flight per group: a short list, groups with some. */
#include <stdlib.h>

#include "quota.h"

struct quota_group {
	struct quota_group	*next;
	int64_t			 group;
	int64_t			 inflight;
};

void
quotas_init(struct quotas *q)
{
	pthread_mutex_init(&q->mu, NULL);
	q->head = NULL;
}

void
quotas_destroy(struct quotas *q)
{
	struct quota_group *g;

	while ((g = q->head) != NULL) {
		q->head = g->next;
		free(g);
	}
	pthread_mutex_destroy(&q->mu);
}

static struct quota_group **
find(struct quotas *q, int64_t group)
{
	struct quota_group **pp;

	for (pp = &q->head; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->group == group)
			break;
	return pp;
}

int
quota_take(struct quotas *q, int64_t group, int64_t quota,
    int64_t provisioned)
{
	struct quota_group **pp, *g;
	int rc = 1;

	pthread_mutex_lock(&q->mu);
	pp = find(q, group);
	if (provisioned + (*pp != NULL ? (*pp)->inflight : 0) >= quota)
		rc = 0;
	else if (*pp != NULL)
		(*pp)->inflight++;
	else if ((g = calloc(1, sizeof(*g))) == NULL)
		rc = -1;
	else {
		g->group = group;
		g->inflight = 1;
		*pp = g;
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void
quota_give(struct quotas *q, int64_t group)
{
	struct quota_group **pp, *g;

	pthread_mutex_lock(&q->mu);
	if ((g = *(pp = find(q, group))) != NULL && --g->inflight == 0) {
		*pp = g->next;
		free(g);
	}
	pthread_mutex_unlock(&q->mu);
}
