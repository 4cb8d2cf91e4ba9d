/* JSON request bodies and JSON responses, on jansson. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_TYPE	"application/json"

/*
 * jansson ends most messages with " near '<token>'", and the token is a
 * piece of the body: a secret, perhaps.  Keep the message, drop the token.
 */
static void
json_reason(const json_error_t *je, char *why, size_t whylen)
{
	char text[sizeof(je->text)];
	char *near;

	snprintf(text, sizeof(text), "%s", je->text);
	if ((near = strstr(text, " near ")) != NULL)
		*near = '\0';
	snprintf(why, whylen, "invalid JSON at line %d column %d: %s",
	    je->line, je->column, text);
}

json_t *
json_body_parse(const char *body, size_t len, char *why, size_t whylen)
{
	json_error_t je;
	json_t *j;

	if (len == 0) {
		snprintf(why, whylen, "empty body");
		return NULL;
	}
	/* Scalars too, so that "42" is "not a JSON object", not a syntax error. */
	if ((j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &je)) == NULL) {
		json_reason(&je, why, whylen);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(why, whylen, "body is not a JSON object");
		return NULL;
	}
	return j;
}

json_t *
http_request_json(const struct http_request *req, char *why, size_t whylen)
{
	const char *body;
	size_t len;

	body = http_request_body(req, &len);
	return json_body_parse(body, len, why, whylen);
}

static void
respond_internal(struct http_response *resp)
{
	static const char body[] =
	    "{\"error\":\"internal\",\"message\":\"internal error\"}";

	http_respond_body(resp, 500, JSON_TYPE, body, sizeof(body) - 1);
}

void
http_respond_json(struct http_response *resp, unsigned int status, json_t *j)
{
	char *s;

	if (j == NULL) {
		respond_internal(resp);
		return;
	}
	if (status == 204) {
		json_decref(j);
		http_respond_empty(resp, status);
		return;
	}
	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		respond_internal(resp);
	else
		http_respond_body(resp, status, JSON_TYPE, s, strlen(s));
	free(s);
	json_decref(j);
}

void
http_respond_error(struct http_response *resp, unsigned int status,
    const char *code, const char *fmt, ...)
{
	char msg[512];
	json_t *j;
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j = json_pack("{s:s, s:s}", "error", code, "message", msg);
	if (j == NULL) {
		/*
		 * Not UTF-8: a name quoted from a request, or a message cut in
		 * the middle of a character.  Still say something useful.
		 */
		for (i = 0; msg[i] != '\0'; i++)
			if ((unsigned char)msg[i] >= 0x80)
				msg[i] = '?';
		j = json_pack("{s:s, s:s}", "error", code, "message", msg);
	}
	http_respond_json(resp, status, j);
}
