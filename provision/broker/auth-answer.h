/* The auth backend's answer to one question of RabbitMQ's. */
#ifndef IOTA_AUTH_ANSWER_H
#define IOTA_AUTH_ANSWER_H

#include "credentials.h"
#include "mode.h"
#include "router.h"

/*
 * 1 to allow, 0 to deny the form q asks of the user whose active
 * credentials are c: the login, then everything in the user's own vhost
 * (amq.topic, its subscription queues, its own topics).
 */
int	auth_answer(int, enum broker_question, const struct router_query *,
	    const struct creds *);

#endif
