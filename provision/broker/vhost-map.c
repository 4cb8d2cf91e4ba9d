/*
 * mqtt_default_vhosts: the map from certificate user to vhost that lets a
 * device log in with its certificate alone.  The management API has no
 * compare-and-set, so one read-modify-write runs at a time and the changes
 * that arrive meanwhile go together in the next one.
 */
#include <pthread.h>

#include <jansson.h>

#include "errbuf.h"
#include "mgmt-int.h"

static int
vhosts_read(struct broker *b, json_t **map, char *err, size_t errlen)
{
	struct answer a;
	struct call cl = { "GET", VHOSTS_PATH, NULL, NULL,
	    "reading " VHOSTS_PARAM, 1, 0, &a };
	json_t *root = NULL, *value;
	int rc;

	*map = NULL;
	mgmt_answer_init(&a, MAP_ANSWER_MAX, 1);
	if ((rc = mgmt_call(b, &cl, err, errlen)) != BROKER_OK)
		goto out;
	rc = BROKER_ERROR;
	if (cl.status == 404) {
		if ((*map = json_object()) == NULL)
			seterr(err, errlen, "%s: out of memory", cl.what);
		else
			rc = BROKER_OK;
		goto out;
	}
	root = json_loadb(a.data, a.len, 0, NULL);
	value = json_object_get(root, "value");
	if (json_is_object(value))
		*map = json_incref(value);
	else if (json_is_array(value) && json_array_size(value) == 0)
		*map = json_object();
	else {
		seterr(err, errlen, "%s: RabbitMQ's answer has no JSON object "
		    "as its value: left as it is", cl.what);
		goto out;
	}
	if (*map == NULL)
		seterr(err, errlen, "%s: out of memory", cl.what);
	else
		rc = BROKER_OK;
out:
	json_decref(root);
	mgmt_answer_free(&a);
	return rc;
}

/* The map written back whole; an empty one is deleted. */
static int
vhosts_write(struct broker *b, json_t *map, char *err, size_t errlen)
{
	if (json_object_size(map) == 0)
		return mgmt_simple_call(b, "DELETE", VHOSTS_PATH, NULL,
		    "clearing " VHOSTS_PARAM, err, errlen);
	return mgmt_json_call(b, "PUT", VHOSTS_PATH, json_pack("{s:s, s:O}",
	    "name", VHOSTS_PARAM, "value", map), "writing " VHOSTS_PARAM,
	    err, errlen);
}

/* One read-modify-write for the queued changes, in their order. */
static int
vhosts_apply(struct broker *b, struct vhost_op *ops, char *err,
    size_t errlen)
{
	json_t *map, *before = NULL;
	int rc, failed = 0;

	if ((rc = vhosts_read(b, &map, err, errlen)) != BROKER_OK)
		return rc;
	if ((before = json_deep_copy(map)) == NULL)
		failed = 1;
	for (struct vhost_op *o = ops; o != NULL && !failed; o = o->next)
		if (o->vhost != NULL)
			failed = json_object_set_new(map, o->user,
			    json_string(o->vhost)) == -1;
		else
			json_object_del(map, o->user);	/* -1: not there */
	if (failed) {
		seterr(err, errlen, "updating " VHOSTS_PARAM ": out of memory");
		rc = BROKER_ERROR;
	} else if (!json_equal(map, before))
		rc = vhosts_write(b, map, err, errlen);
	json_decref(before);
	json_decref(map);
	return rc;
}

int
broker_default_vhost_set(struct broker *b, const char *user,
    const char *vhost, char *err, size_t errlen)
{
	struct vhost_op op = { NULL, user, vhost, err, errlen, BROKER_ERROR, 0 };
	struct vhost_op *batch;
	char msg[512];
	int rc;

	if (!mgmt_name_ok(user)) {
		seterr(err, errlen, "broker user name: 1 to %d printable ASCII "
		    "characters, no space", BROKER_NAME_MAX);
		return BROKER_ERROR;
	}
	if (vhost != NULL && !mgmt_name_ok(vhost)) {
		seterr(err, errlen, "vhost name for user %s: 1 to %d printable "
		    "ASCII characters, no space", user, BROKER_NAME_MAX);
		return BROKER_ERROR;
	}
	pthread_mutex_lock(&b->vlock);
	*b->vtail = &op;
	b->vtail = &op.next;
	while (!op.done) {
		if (b->vbusy) {
			pthread_cond_wait(&b->vdone, &b->vlock);
			continue;
		}
		/* Ours is in the queue: this thread writes for all of it. */
		batch = b->vqueue;
		b->vqueue = NULL;
		b->vtail = &b->vqueue;
		b->vbusy = 1;
		pthread_mutex_unlock(&b->vlock);
		msg[0] = '\0';
		rc = vhosts_apply(b, batch, msg, sizeof(msg));
		pthread_mutex_lock(&b->vlock);
		for (struct vhost_op *o = batch, *next; o != NULL; o = next) {
			next = o->next;		/* o may go once done */
			if (rc != BROKER_OK)
				seterr(o->err, o->errlen, "%s", msg);
			o->rc = rc;
			o->done = 1;
		}
		b->vbusy = 0;
		pthread_cond_broadcast(&b->vdone);
	}
	pthread_mutex_unlock(&b->vlock);
	return op.rc;
}
