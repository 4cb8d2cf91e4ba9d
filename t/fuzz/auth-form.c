/*
 * libFuzzer target: the form body RabbitMQ's HTTP auth backend posts to
 * /auth/user, /auth/vhost, /auth/resource and /auth/topic, read as
 * broker-auth.c reads it and answered as mode-auth-backend.c answers it.
 * Whatever comes in, router_form_parse() refuses it or gives pairs with
 * names and no control bytes, with nothing leaked (a byte >= 0x80 once
 * leaked the decode buffer); and auth_answer() allows only what the
 * rules below, written out again, allow.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-answer.h"
#include "router.h"

static const char *
get(const struct router_query *q, const char *name)
{
	return router_query_get(q, name);
}

static int
eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* "tenant.group.device": the group and device, or -1. */
static int
split(const char *user, char *group, char *device)
{
	const char *a = strchr(user, '.'), *b = a ? strchr(a + 1, '.') : NULL;

	if (b == NULL || strchr(b + 1, '.') != NULL || a - user > 64 ||
	    b - a - 1 > 64 || strlen(b + 1) > 64)
		return -1;
	snprintf(group, 65, "%.*s", (int)(b - a - 1), a + 1);
	snprintf(device, 65, "%s", b + 1);
	return 0;
}

/* What may be allowed, from RabbitMQ's and iota's documentation. */
static int
may(int cert, enum broker_question question, const struct router_query *q,
    const struct creds *c)
{
	const char *user = get(q, "username"), *pw = get(q, "password");
	const char *id = get(q, "client_id"), *name = get(q, "name");
	const char *perm = get(q, "permission"), *key = get(q, "routing_key");
	char group[65], device[65], want[600];

	if (question == BROKER_ASK_USER)
		return user != NULL && (id == NULL || *id == '\0' ||
		    eq(id, user)) && (cert ? pw == NULL || *pw == '\0' :
		    eq(pw, c->password));
	if (!eq(get(q, "vhost"), c->vhost))
		return 0;
	if (question == BROKER_ASK_VHOST)
		return 1;
	if (question == BROKER_ASK_RESOURCE) {
		if (eq(get(q, "resource"), "exchange"))
			return eq(name, "amq.topic") && perm != NULL &&
			    !eq(perm, "configure");
		snprintf(want, sizeof(want), "mqtt-subscription-%sqos",
		    c->username);
		return eq(get(q, "resource"), "queue") && perm != NULL &&
		    name != NULL && strncmp(name, want, strlen(want)) == 0 &&
		    (eq(name + strlen(want), "0") || eq(name + strlen(want), "1"));
	}
	if (!eq(name, "amq.topic") || key == NULL || split(c->username, group,
	    device) == -1 || !(eq(perm, "read") || eq(perm, "write")))
		return 0;
	snprintf(want, sizeof(want), "%s.%s.%s", eq(perm, "write") ? "devices"
	    : "commands", group, device);
	return strncmp(key, want, strlen(want)) == 0 &&
	    (key[strlen(want)] == '\0' || key[strlen(want)] == '.');
}

/* The asking user's credentials, as the broker database would have them. */
static void
answers(const struct router_query *q)
{
	const char *user = get(q, "username");
	struct creds c = { .password = "pw-0123456789", .vhost = "t1" };

	if (user == NULL || strlen(user) > BROKER_NAME_MAX)
		return;
	snprintf(c.username, sizeof(c.username), "%s", user);
	for (int cert = 0; cert < 2; cert++) {
		if (cert)
			c.password[0] = '\0';
		for (int k = BROKER_ASK_USER; k <= BROKER_ASK_TOPIC; k++) {
			int got = auth_answer(cert, k, q, &c);

			if (got != 0 && got != 1)
				abort();
			if (got && !may(cert, k, q, &c))
				abort();	/* allowed what the rules deny */
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct router_query q;
	char *body;
	int rc;

	/* http.c keeps a NUL after every body. */
	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	rc = router_form_parse(body, size, &q);
	if (rc == 0) {
		for (size_t i = 0; i < q.n; i++) {
			if (q.pairs[i].name[0] == '\0' ||
			    get(&q, q.pairs[i].name) == NULL)
				abort();
			for (const char *p = q.pairs[i].value; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
		}
		answers(&q);
	} else if (rc != -1 && rc != -2)
		abort();
	router_query_free(&q);
	free(body);
	return 0;
}
