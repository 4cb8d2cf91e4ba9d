/*
 * broker.mode auth-backend's answers, given the asking user's active
 * credentials: pure, so that the form's every field can be fuzzed
 * without a broker database (mode-auth-backend.c looks them up).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth-answer.h"

/* Another device's client id would knock that device offline. */
static int
client_id_matches(const struct router_query *q)
{
	const char *user = router_query_get(q, "username");
	const char *client = router_query_get(q, "client_id");

	return user != NULL && (client == NULL || *client == '\0' ||
	    strcmp(client, user) == 0);
}

static int
password_matches(int cert_login, const struct creds *c, const char *password)
{
	/* Certificate login sends no password; its TLS proved it. */
	if (cert_login)
		return password == NULL || *password == '\0';
	return password != NULL && strlen(password) == strlen(c->password) &&
	    CRYPTO_memcmp(password, c->password, strlen(c->password)) == 0;
}

/* tenant.group.device; the names hold no dots. */
static int
split_username(const char *user, char *tenant, char *group, char *device)
{
	return sscanf(user, "%64[A-Za-z0-9_-].%64[A-Za-z0-9_-]."
	    "%64[A-Za-z0-9_-]", tenant, group, device) == 3 &&
	    strlen(tenant) + strlen(group) + strlen(device) + 2 ==
	    strlen(user) ? 0 : -1;
}

/* amq.topic to publish and read; its own subscription queues. */
static int
resource_allowed(const char *user, const char *resource, const char *name,
    const char *permission)
{
	char queue[300];
	size_t len;

	if (strcmp(resource, "exchange") == 0)
		return strcmp(name, "amq.topic") == 0 &&
		    strcmp(permission, "configure") != 0;
	if (strcmp(resource, "queue") != 0)
		return 0;
	len = (size_t)snprintf(queue, sizeof(queue), "mqtt-subscription-%sqos",
	    user);
	return strncmp(name, queue, len) == 0 && (name[len] == '0' ||
	    name[len] == '1') && name[len + 1] == '\0';
}

/* devices.G.D[.x...] to publish, commands.G.D[.x...] to read. */
static int
topic_allowed(const char *user, const char *key, const char *permission)
{
	char tenant[65], group[65], device[65], prefix[200];
	int n;

	if (split_username(user, tenant, group, device) == -1)
		return 0;
	n = snprintf(prefix, sizeof(prefix), "%s.%s.%s",
	    strcmp(permission, "write") == 0 ? "devices" : "commands", group,
	    device);
	if (strcmp(permission, "write") != 0 && strcmp(permission, "read") != 0)
		return 0;
	return strncmp(key, prefix, (size_t)n) == 0 &&
	    (key[n] == '\0' || key[n] == '.');
}

int
auth_answer(int cert_login, enum broker_question question,
    const struct router_query *q, const struct creds *c)
{
	const char *vhost = router_query_get(q, "vhost");
	const char *name = router_query_get(q, "name");
	const char *perm = router_query_get(q, "permission");
	const char *resource = router_query_get(q, "resource");
	const char *key = router_query_get(q, "routing_key");

	if (question == BROKER_ASK_USER)
		return client_id_matches(q) &&
		    password_matches(cert_login, c,
		    router_query_get(q, "password"));
	if (vhost == NULL || strcmp(vhost, c->vhost) != 0)
		return 0;
	switch (question) {
	case BROKER_ASK_VHOST:
		return 1;
	case BROKER_ASK_RESOURCE:
		return resource != NULL && name != NULL && perm != NULL &&
		    resource_allowed(c->username, resource, name, perm);
	case BROKER_ASK_TOPIC:
		return name != NULL && perm != NULL && key != NULL &&
		    strcmp(name, "amq.topic") == 0 &&
		    topic_allowed(c->username, key, perm);
	default:
		return 0;
	}
}
