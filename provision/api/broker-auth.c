/*
 * RabbitMQ's HTTP auth backend (rabbitmq_auth_backend_http), for
 * broker.mode auth-backend: the broker asks whether a device may log in,
 * enter a vhost, touch a resource or a topic, and the mode answers (see
 * mode-auth-backend.c).  Bodies are form-encoded (auth_http.http_method =
 * post); answers are "allow" or "deny" in text.  Only the addresses in
 * broker.auth_clients may ask: the answers are a password oracle
 * otherwise.
 */
#include <string.h>

#include "iotad.h"
#include "json.h"
#include "mode.h"
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

/* The form, asked of the mode; 404 when the mode answers no such thing. */
static void
ask(struct http_request *req, struct http_response *resp,
    enum broker_question question)
{
	struct iotad *d = http_request_arg(req);
	struct router_query q = { 0 };
	const char *body;
	size_t len;
	int allow;

	if (!broker_mode_answers_auth(d->broker)) {
		http_respond_error(resp, 404, "not_found", "no such route");
		return;
	}
	if (!listed(d->conf.broker.auth_clients, http_request_client(req))) {
		http_respond_error(resp, 403, "forbidden",
		    "this address may not ask");
		return;
	}
	body = http_request_body(req, &len);
	if (memchr(body, '\0', len) != NULL || router_query_parse(body, &q) != 0) {
		router_query_free(&q);
		http_respond_error(resp, 400, "bad_request", "a form body is "
		    "required");
		return;
	}
	allow = broker_mode_ask(d->broker, question, &q);
	router_query_free(&q);
	say(resp, allow == 1);
}

void
handle_auth_user(struct http_request *req, struct http_response *resp)
{
	ask(req, resp, BROKER_ASK_USER);
}

void
handle_auth_vhost(struct http_request *req, struct http_response *resp)
{
	ask(req, resp, BROKER_ASK_VHOST);
}

void
handle_auth_resource(struct http_request *req, struct http_response *resp)
{
	ask(req, resp, BROKER_ASK_RESOURCE);
}

void
handle_auth_topic(struct http_request *req, struct http_response *resp)
{
	ask(req, resp, BROKER_ASK_TOPIC);
}
