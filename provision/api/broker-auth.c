/*
 * RabbitMQ's HTTP auth backend (rabbitmq_auth_backend_http), for
 * broker.mode auth-backend: the broker asks iotad whether a device may log
 * in, enter a vhost, touch a resource or a topic, and iotad answers from
 * the broker database, so a revocation takes effect at the next question.
 * Bodies are form-encoded (auth_http.http_method = post); answers are
 * "allow" or "deny" in text.  Only the addresses in broker.auth_clients
 * may ask: the answers are a password oracle otherwise.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "credentials.h"
#include "iotad.h"
#include "json.h"
#include "router.h"

static void
say(struct http_response *resp, int allow)
{
	const char *word = allow ? "allow" : "deny";

	http_respond_body(resp, 200, "text/plain", word, strlen(word));
}

/* A whole-word match in a comma-separated list. */
static int
listed(const char *list, const char *addr)
{
	size_t len = strlen(addr);

	for (const char *p = list; p != NULL && *p != '\0'; ) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, addr, len) == 0 && (p[len] == '\0' ||
		    p[len] == ',' || p[len] == ' '))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

/* The form, or -1 after answering (404 when the mode is another). */
static int
form(struct http_request *req, struct http_response *resp,
    struct router_query *q)
{
	struct iotad *d = http_request_arg(req);
	size_t len;
	const char *body;

	if (d->conf.broker.mode != CONF_BROKER_AUTH_BACKEND) {
		http_respond_error(resp, 404, "not_found", "no such route");
		return -1;
	}
	if (!listed(d->conf.broker.auth_clients, http_request_client(req))) {
		http_respond_error(resp, 403, "forbidden",
		    "this address may not ask");
		return -1;
	}
	body = http_request_body(req, &len);
	if (memchr(body, '\0', len) != NULL || router_query_parse(body, q) != 0) {
		http_respond_error(resp, 400, "bad_request", "a form body is "
		    "required");
		return -1;
	}
	return 0;
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

/* The asking user's active credentials, or -1. */
static int
known(struct iotad *d, const struct router_query *q, struct creds *c)
{
	const char *user = router_query_get(q, "username");

	return user == NULL || creds_lookup(d, user, c) == -1 ? -1 : 0;
}

/* Another device's client id would knock that device offline. */
static int
client_id_matches(const struct router_query *q)
{
	const char *user = router_query_get(q, "username");
	const char *client = router_query_get(q, "client_id");

	return user != NULL && (client == NULL || *client == '\0' ||
	    strcmp(client, user) == 0);
}

void
handle_auth_user(struct http_request *req, struct http_response *resp)
{
	struct iotad *d = http_request_arg(req);
	struct router_query q = { 0 };
	const char *password;
	struct creds c = { "", "", "" };
	int allow = 0;

	if (form(req, resp, &q) == -1)
		return;
	password = router_query_get(&q, "password");
	if (client_id_matches(&q) && known(d, &q, &c) == 0) {
		/* Certificate login sends no password; its TLS proved it. */
		if (d->conf.broker.login == CONF_LOGIN_CERTIFICATE)
			allow = password == NULL || *password == '\0';
		else
			allow = password != NULL &&
			    strlen(password) == strlen(c.password) &&
			    CRYPTO_memcmp(password, c.password,
			    strlen(c.password)) == 0;
	}
	creds_clear(&c);
	router_query_free(&q);
	say(resp, allow);
}

void
handle_auth_vhost(struct http_request *req, struct http_response *resp)
{
	struct iotad *d = http_request_arg(req);
	struct router_query q = { 0 };
	const char *vhost;
	struct creds c;
	int allow;

	if (form(req, resp, &q) == -1)
		return;
	vhost = router_query_get(&q, "vhost");
	allow = known(d, &q, &c) == 0 && vhost != NULL &&
	    strcmp(vhost, c.vhost) == 0;
	creds_clear(&c);
	router_query_free(&q);
	say(resp, allow);
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

void
handle_auth_resource(struct http_request *req, struct http_response *resp)
{
	struct iotad *d = http_request_arg(req);
	struct router_query q = { 0 };
	const char *vhost, *resource, *name, *perm;
	struct creds c;
	int allow = 0;

	if (form(req, resp, &q) == -1)
		return;
	vhost = router_query_get(&q, "vhost");
	resource = router_query_get(&q, "resource");
	name = router_query_get(&q, "name");
	perm = router_query_get(&q, "permission");
	if (known(d, &q, &c) == 0 && vhost != NULL && resource != NULL &&
	    name != NULL && perm != NULL && strcmp(vhost, c.vhost) == 0)
		allow = resource_allowed(c.username, resource, name, perm);
	creds_clear(&c);
	router_query_free(&q);
	say(resp, allow);
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

void
handle_auth_topic(struct http_request *req, struct http_response *resp)
{
	struct iotad *d = http_request_arg(req);
	struct router_query q = { 0 };
	const char *vhost, *name, *perm, *key;
	struct creds c;
	int allow = 0;

	if (form(req, resp, &q) == -1)
		return;
	vhost = router_query_get(&q, "vhost");
	name = router_query_get(&q, "name");
	perm = router_query_get(&q, "permission");
	key = router_query_get(&q, "routing_key");
	if (known(d, &q, &c) == 0 && vhost != NULL && name != NULL &&
	    perm != NULL && key != NULL && strcmp(vhost, c.vhost) == 0 &&
	    strcmp(name, "amq.topic") == 0)
		allow = topic_allowed(c.username, key, perm);
	creds_clear(&c);
	router_query_free(&q);
	say(resp, allow);
}
