/*
 * Many devices at once: a definitions import carries the users and
 * permissions of up to BROKER_BATCH_MAX devices in one HTTP call.
 */
#include <stdio.h>

#include <jansson.h>

#include "errbuf.h"
#include "mgmt-int.h"

static int
definitions_add(json_t *users, json_t *topics, json_t *perms,
    const struct broker_device *d)
{
	struct patterns p;

	if (mgmt_patterns(d, &p) == -1)
		return -1;
	return json_array_append_new(users, mgmt_user_json(d, 1)) ||
	    json_array_append_new(topics, mgmt_topic_json(d, &p, 1)) ||
	    json_array_append_new(perms, mgmt_permissions_json(d, &p, 1)) ? -1 : 0;
}

/* One chunk: users and topic permissions first, permissions after. */
static int
import_chunk(struct broker *b, const struct broker_device *d, size_t n,
    char *err, size_t errlen)
{
	json_t *users = json_array(), *topics = json_array();
	json_t *perms = json_array(), *first, *second;
	char what[BROKER_NAME_MAX + 64];
	int rc = BROKER_ERROR;

	for (size_t i = 0; i < n; i++)
		if (definitions_add(users, topics, perms, &d[i]) == -1) {
			seterr(err, errlen, "importing users: out of memory");
			goto out;
		}
	first = json_pack("{s:O, s:O}", "users", users, "topic_permissions",
	    topics);
	second = json_pack("{s:O}", "permissions", perms);
	snprintf(what, sizeof(what), "importing %zu users (first %s)", n,
	    d[0].user);
	if ((rc = mgmt_json_call(b, "POST", "/api/definitions", first, what, err,
	    errlen)) == BROKER_OK)
		rc = mgmt_json_call(b, "POST", "/api/definitions", second, what,
		    err, errlen);
	else
		json_decref(second);
out:
	json_decref(users);
	json_decref(topics);
	json_decref(perms);
	return rc;
}

int
broker_devices_put(struct broker *b, const struct broker_device *d,
    size_t n, char *err, size_t errlen)
{
	size_t chunk;
	int rc = BROKER_OK;

	for (size_t i = 0; i < n; i++)
		if (!mgmt_device_ok(&d[i], err, errlen))
			return BROKER_ERROR;
	for (size_t i = 0; i < n && rc == BROKER_OK; i += chunk) {
		chunk = n - i < BROKER_BATCH_MAX ? n - i : BROKER_BATCH_MAX;
		rc = import_chunk(b, d + i, chunk, err, errlen);
	}
	return rc;
}

/* DELETE prefix/user, no body; 404 is done. */
