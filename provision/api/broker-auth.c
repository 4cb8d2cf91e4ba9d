/*
 * RabbitMQ's HTTP auth backend (rabbitmq_auth_backend_http), for
 * broker.mode auth-backend: the broker asks whether a device may log in,
 * enter a vhost, touch a resource or a topic, and the mode answers (see
 * mode-auth-backend.c).  Bodies are form-encoded (auth_http.http_method =
 * post); answers are "allow" or "deny" in text.  The gate lets only the
 * addresses in broker.auth_clients ask (the answers are a password oracle
 * otherwise), and answers 404 in the other modes.
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

/* The form, asked of the mode (the gate has checked who asks). */
static void
ask(struct http_request *req, struct http_response *resp,
    enum broker_question question)
{
	struct iotad *d = http_request_arg(req);
	struct router_query q = { 0 };
	const char *body;
	size_t len;
	int allow;

	body = http_request_body(req, &len);
	if (router_form_parse(body, len, &q) != 0) {
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
handle_auth_user(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	(void)c;
	ask(req, resp, BROKER_ASK_USER);
}

void
handle_auth_vhost(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	(void)c;
	ask(req, resp, BROKER_ASK_VHOST);
}

void
handle_auth_resource(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	(void)c;
	ask(req, resp, BROKER_ASK_RESOURCE);
}

void
handle_auth_topic(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	(void)c;
	ask(req, resp, BROKER_ASK_TOPIC);
}
