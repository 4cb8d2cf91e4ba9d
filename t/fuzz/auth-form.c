/*
 * libFuzzer target: the form body RabbitMQ's HTTP auth backend posts to
 * /auth/user, /auth/vhost, /auth/resource and /auth/topic, read as
 * broker-auth.c reads it.  Whatever comes in, router_form_parse() refuses
 * it or gives pairs with non-empty names and no control bytes, each name
 * found again by router_query_get(), with nothing leaked (a byte >= 0x80
 * once leaked the decode buffer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

static const char *fields[] = { "username", "password", "vhost",
    "client_id", "resource", "name", "permission", "routing_key" };

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
			const char *v = router_query_get(&q, q.pairs[i].name);

			if (q.pairs[i].name[0] == '\0' || v == NULL)
				abort();
			for (const char *p = q.pairs[i].value; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
		}
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			(void)router_query_get(&q, fields[i]);
	} else if (rc != -1 && rc != -2)
		abort();
	router_query_free(&q);
	free(body);
	return 0;
}
