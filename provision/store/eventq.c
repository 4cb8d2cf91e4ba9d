/*
 * The events outbox table: an event is added in the transaction of the
 * change it tells of, so a commit and its event are one; the outbox
 * thread (provision/broker/outbox.c) takes them oldest first and deletes
 * each once the broker has confirmed it.
 */
#include <string.h>

#include "registry.h"
#include "store.h"

int
registry_event_add(sqlite3 *db, const char *routing_key, const char *body,
    int64_t now)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, "INSERT INTO events (routing_key, body, "
	    "created) VALUES (?, ?, ?)")) == NULL)
		return REG_ERROR;
	sqlite3_bind_text(st, 1, routing_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	rc = sqlite3_step(st) == SQLITE_DONE ? REG_OK : REG_ERROR;
	store_stmt_done(st);
	return rc;
}

int
registry_event_next(sqlite3 *db, int64_t after, struct reg_event *e)
{
	sqlite3_stmt *st;
	const unsigned char *key, *body;
	int rc = REG_NOT_FOUND;

	if ((st = store_stmt(db, "SELECT id, routing_key, body FROM events "
	    "WHERE id > ? ORDER BY id LIMIT 1")) == NULL)
		return REG_ERROR;
	sqlite3_bind_int64(st, 1, after);
	if (sqlite3_step(st) == SQLITE_ROW) {
		key = sqlite3_column_text(st, 1);
		body = sqlite3_column_text(st, 2);
		e->id = sqlite3_column_int64(st, 0);
		rc = key == NULL || body == NULL ||
		    (e->routing_key = strdup((const char *)key)) == NULL ||
		    (e->body = strdup((const char *)body)) == NULL ?
		    REG_ERROR : REG_OK;
	}
	store_stmt_done(st);
	return rc;
}

int
registry_event_delete(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, "DELETE FROM events WHERE id = ?")) == NULL)
		return REG_ERROR;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? REG_OK : REG_ERROR;
	store_stmt_done(st);
	return rc;
}

int
registry_event_count(sqlite3 *db, int64_t *n)
{
	sqlite3_stmt *st;
	int rc = REG_ERROR;

	if ((st = store_stmt(db, "SELECT count(*) FROM events")) == NULL)
		return REG_ERROR;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		rc = REG_OK;
	}
	store_stmt_done(st);
	return rc;
}
