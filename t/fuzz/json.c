/*
 * libFuzzer target: a JSON request body (tenants, groups, devices,
 * revoke, provision, renew), read by json_body_parse() as every handler
 * reads it, then picked apart as the handlers do.  Whatever comes in, a
 * refusal says why without quoting the body, and what is accepted is an
 * object that dumps and parses back equal (duplicate keys refused).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"
#include "json.h"

/* json.c answers through http.c; nothing answers here. */
const char *
http_request_body(const struct http_request *req, size_t *len)
{
	(void)req;
	*len = 0;
	return "";
}

void
http_respond_body(struct http_response *resp, unsigned int status,
    const char *type, const void *body, size_t len)
{
	(void)resp, (void)status, (void)type, (void)body, (void)len;
}

void
http_respond_empty(struct http_response *resp, unsigned int status)
{
	(void)resp, (void)status;
}

static void
refused(const char *why)
{
	if (strcmp(why, "empty body") != 0 &&
	    strcmp(why, "body is not a JSON object") != 0 &&
	    strncmp(why, "invalid JSON at line ", 21) != 0)
		abort();
	if (strstr(why, " near ") != NULL)
		abort();	/* jansson's token: a piece of the body */
}

/* A name the handlers take is what ca_name_is_safe() promises. */
static void
name(json_t *body, const char *key)
{
	const char *s = json_string_value(json_object_get(body, key));

	if (s == NULL || !ca_name_is_safe(s))
		return;
	if (strlen(s) > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != strlen(s))
		abort();
}

static void
fields(json_t *body)
{
	const char *reason;
	json_t *v;
	size_t i;
	int code, again;

	name(body, "name");
	name(body, "device");
	name(body, "group");
	json_array_foreach(json_object_get(body, "names"), i, v)
		(void)ca_name_is_safe(json_string_value(v) ? json_string_value(v)
		    : "");
	reason = json_string_value(json_object_get(body, "reason"));
	if (reason != NULL && ca_reason_parse(reason, &code) == 0 &&
	    (ca_reason_parse(ca_reason_name(code), &again) != 0 ||
	    again != code))
		abort();
	(void)json_integer_value(json_object_get(body, "quota"));
	(void)json_string_value(json_object_get(body, "csr"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[JSON_WHYLEN];
	json_t *j, *again;
	char *dump;

	if ((j = json_body_parse((const char *)data, size, why,
	    sizeof(why))) == NULL) {
		refused(why);
		return 0;
	}
	if (!json_is_object(j))
		abort();
	fields(j);
	if ((dump = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		abort();
	again = json_body_parse(dump, strlen(dump), why, sizeof(why));
	if (again == NULL || !json_equal(j, again))
		abort();
	free(dump);
	json_decref(again);
	json_decref(j);
	return 0;
}
