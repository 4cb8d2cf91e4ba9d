/*
 * Device users made at the broker in batches: while one definitions
 * import is on its way, the devices that arrive queue up and go together
 * in the next one, as the registry's group commit does with syncs.  One
 * device alone costs one call chain, many cost about one import.
 */
#ifndef IOTA_BROKER_BATCH_H
#define IOTA_BROKER_BATCH_H

#include "broker.h"

struct broker_batch;

struct broker_batch *broker_batch_start(struct broker *);
/* Like broker_device_put(); blocks until the batch holding it is done. */
int		 broker_batch_put(struct broker_batch *,
		    const struct broker_device *, char *, size_t);
void		 broker_batch_stop(struct broker_batch *);

#endif
