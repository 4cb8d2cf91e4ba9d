/*
 * One iotad per state directory: two would interleave their outboxes and
 * race on the broker.  The lock is a POSIX record lock on STATE/iotad.pid,
 * which also holds the owner's PID; the kernel drops it when the process
 * dies, so a stale file never blocks a restart.
 */
#ifndef IOTA_STATELOCK_H
#define IOTA_STATELOCK_H

#include <stddef.h>

/* The lock's descriptor (kept open while serving), or -1 and one line. */
int	statelock_take(const char *dir, char *err, size_t errlen);

#endif
