/*
 * The broker deadline of the calling thread: one request's broker calls
 * (a vhost, an import queued behind others, the vhost map, a clean-up)
 * share one broker.timeout between them instead of taking it each.
 */
#include <time.h>

#include "broker.h"

static _Thread_local long long deadline_ms;	/* 0: none */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
broker_deadline_begin(long long seconds)
{
	deadline_ms = now_ms() + (seconds > 0 ? seconds : 5) * 1000;
}

void
broker_deadline_end(void)
{
	deadline_ms = 0;
}

long long
broker_deadline_left_ms(long long otherwise)
{
	long long left;

	if (deadline_ms == 0)
		return otherwise;
	left = deadline_ms - now_ms();
	if (left <= 0)
		return 0;
	return left < otherwise ? left : otherwise;
}
