/*
 * The broker objects of one device, one at a time: its user, its
 * permissions and topic permissions (names regex-escaped inside anchored
 * patterns), and their removal; a tenant's vhost.
 */
#include <ctype.h>
#include <stdio.h>

#include <jansson.h>

#include "errbuf.h"
#include "mgmt-int.h"

/* Group and device names become topic levels: [A-Za-z0-9_-] only. */
static int
level_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '-')
			return 0;
	return n > 0 && n <= BROKER_NAME_MAX;
}

static int
hash_ok(const char *h)
{
	size_t n;

	if (h == NULL)
		return 0;
	for (n = 0; h[n] != '\0'; n++)
		if (!isalnum((unsigned char)h[n]) && h[n] != '+' &&
		    h[n] != '/' && h[n] != '=')
			return 0;
	return n == 0 || n == BROKER_HASH_LEN;
}

/* RFC 3986 unreserved but '.' and '~' (no dot segments): -1 if too long. */
/*
 * A literal for a PCRE pattern: every character but a letter, a digit and
 * '_' gets a backslash (which, before a non-alphanumeric, always means the
 * character itself).  A '{' escaped also stops {username}-style expansion.
 */
static int
re_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		if (o + 3 > outlen)
			return -1;
		if (!isalnum((unsigned char)*in) && *in != '_')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
	return 0;
}

int
mgmt_device_ok(const struct broker_device *d, char *err, size_t errlen)
{
	if (!mgmt_name_ok(d->user)) {
		seterr(err, errlen, "broker user name: 1 to %d printable ASCII "
		    "characters, no space", BROKER_NAME_MAX);
		return 0;
	}
	if (!mgmt_name_ok(d->vhost)) {
		seterr(err, errlen, "vhost name for user %s: 1 to %d printable "
		    "ASCII characters, no space", d->user, BROKER_NAME_MAX);
		return 0;
	}
	if (!level_ok(d->group) || !level_ok(d->device)) {
		seterr(err, errlen, "group or device name for user %s: only "
		    "A-Z a-z 0-9 _ - may reach a topic", d->user);
		return 0;
	}
	if (!hash_ok(d->password_hash)) {
		seterr(err, errlen, "password hash for user %s: not one of "
		    "broker_password_hash() or empty", d->user);
		return 0;
	}
	return 1;
}

int
mgmt_patterns(const struct broker_device *d, struct patterns *p)
{
	char user[2 * BROKER_NAME_MAX + 1], group[2 * BROKER_NAME_MAX + 1];
	char device[2 * BROKER_NAME_MAX + 1];

	if (re_escape(d->user, user, sizeof(user)) == -1 ||
	    re_escape(d->group, group, sizeof(group)) == -1 ||
	    re_escape(d->device, device, sizeof(device)) == -1)
		return -1;
	snprintf(p->configure, sizeof(p->configure),
	    "^mqtt-subscription-%sqos[01]$", user);
	snprintf(p->write, sizeof(p->write),
	    "^(amq\\.topic|mqtt-subscription-%sqos[01])$", user);
	snprintf(p->read, sizeof(p->read), "%s", p->write);
	snprintf(p->topic_write, sizeof(p->topic_write),
	    "^devices\\.%s\\.%s(\\..*)?$", group, device);
	snprintf(p->topic_read, sizeof(p->topic_read),
	    "^commands\\.%s\\.%s(\\..*)?$", group, device);
	return 0;
}

/* Passwords. */

int
broker_vhost_ensure(struct broker *b, const char *vhost, char *err,
    size_t errlen)
{
	char what[BROKER_NAME_MAX + 32];

	if (!mgmt_name_ok(vhost)) {
		seterr(err, errlen, "vhost name: 1 to %d printable ASCII "
		    "characters, no space", BROKER_NAME_MAX);
		return BROKER_ERROR;
	}
	snprintf(what, sizeof(what), "creating vhost %s", vhost);
	return mgmt_put(b, "/api/vhosts", vhost, NULL, json_object(), what, err,
	    errlen);
}

/* The objects as PUT takes them; with ids, as a definitions file has them. */
json_t *
mgmt_user_json(const struct broker_device *d, int ids)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:s}", "password_hash", d->password_hash,
	    "hashing_algorithm", HASHING, "tags", "");
	if (o != NULL && ids &&
	    json_object_set_new(o, "name", json_string(d->user)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
mgmt_add_ids(json_t *o, const struct broker_device *d, int ids)
{
	if (o == NULL || !ids)
		return o;
	if (json_object_set_new(o, "user", json_string(d->user)) == -1 ||
	    json_object_set_new(o, "vhost", json_string(d->vhost)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
mgmt_permissions_json(const struct broker_device *d, const struct patterns *p,
    int ids)
{
	return mgmt_add_ids(json_pack("{s:s, s:s, s:s}", "configure", p->configure,
	    "write", p->write, "read", p->read), d, ids);
}

json_t *
mgmt_topic_json(const struct broker_device *d, const struct patterns *p, int ids)
{
	return mgmt_add_ids(json_pack("{s:s, s:s, s:s}", "exchange", EXCHANGE,
	    "write", p->topic_write, "read", p->topic_read), d, ids);
}

int
broker_device_put(struct broker *b, const struct broker_device *d,
    char *err, size_t errlen)
{
	char what[2 * BROKER_NAME_MAX + 64];
	struct patterns p;
	int rc;

	if (!mgmt_device_ok(d, err, errlen))
		return BROKER_ERROR;
	if (mgmt_patterns(d, &p) == -1) {
		seterr(err, errlen, "names of user %s too long", d->user);
		return BROKER_ERROR;
	}
	snprintf(what, sizeof(what), "creating user %s", d->user);
	if ((rc = mgmt_put(b, "/api/users", d->user, NULL, mgmt_user_json(d, 0),
	    what, err, errlen)) != BROKER_OK)
		return rc;
	snprintf(what, sizeof(what), "topic permissions of %s in vhost %s",
	    d->user, d->vhost);
	if ((rc = mgmt_put(b, "/api/topic-permissions", d->vhost, d->user,
	    mgmt_topic_json(d, &p, 0), what, err, errlen)) != BROKER_OK)
		return rc;
	snprintf(what, sizeof(what), "permissions of %s in vhost %s", d->user,
	    d->vhost);
	return mgmt_put(b, "/api/permissions", d->vhost, d->user,
	    mgmt_permissions_json(d, &p, 0), what, err, errlen);
}

/* Appends the device's entries to the import's three arrays. */

int
broker_user_delete(struct broker *b, const char *user, char *err,
    size_t errlen)
{
	char what[BROKER_NAME_MAX + 32];

	snprintf(what, sizeof(what), "deleting user %s", user ? user : "");
	return mgmt_delete(b, "/api/users", user, NULL, what, err, errlen);
}

int
broker_user_disconnect(struct broker *b, const char *user, char *err,
    size_t errlen)
{
	char what[BROKER_NAME_MAX + 32];

	snprintf(what, sizeof(what), "closing connections of %s",
	    user ? user : "");
	return mgmt_delete(b, "/api/connections/username", user, DISCONNECT_WHY,
	    what, err, errlen);
}

/*
 * mqtt_default_vhosts, the certificate login's vhost map.  RabbitMQ keeps
 * one such map per broker, {"CN": "vhost", ...}, as a global runtime
 * parameter: it is read whole, changed, and written whole, so changes are
 * serialised here (one read-modify-write at a time in this process) and
 * those that queue up meanwhile are applied together.  Entries iotad did
 * not make are kept as they are.
 */

/*
 * The map as RabbitMQ has it now: a new reference to an object, empty if
 * there is none.  An empty map may come back as [] (Erlang's empty
 * proplist); anything else that is not an object is refused, never
 * overwritten.
 */
