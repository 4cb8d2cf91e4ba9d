/* The broker database's credentials table: find, record, activate, forget. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "credentials.h"
#include "registry.h"
#include "store.h"

int
creds_username(const char *tenant, const char *group, const char *device,
    char *out, size_t len)
{
	int n = snprintf(out, len, "%s.%s.%s", tenant, group, device);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void
creds_clear(struct creds *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

struct creds_job {
	int64_t			 device_id;
	const char		*username;
	struct creds		*c;
	enum creds_state	 state;
	time_t			 now;
	int			 active;	/* recorded active */
};

static int
column_copy(sqlite3_stmt *st, int col, char *out, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (s == NULL || n < 0 || (size_t)n >= len)
		return -1;
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
	return 0;
}

/* One row of (username, password, vhost, state) into the job. */
static int
read_row(sqlite3_stmt *st, struct creds_job *j)
{
	const unsigned char *state;

	if (sqlite3_step(st) != SQLITE_ROW) {
		j->state = CREDS_NONE;
		return REG_OK;
	}
	if (column_copy(st, 0, j->c->username, sizeof(j->c->username)) ||
	    column_copy(st, 1, j->c->password, sizeof(j->c->password)) ||
	    column_copy(st, 2, j->c->vhost, sizeof(j->c->vhost)) ||
	    (state = sqlite3_column_text(st, 3)) == NULL)
		return REG_ERROR;
	j->state = strcmp((const char *)state, "active") == 0 ?
	    CREDS_ACTIVE : CREDS_PENDING;
	return REG_OK;
}

#define SELECT_CREDS	"SELECT username, password, vhost, state FROM " \
			"credentials WHERE "

static int
find_job(sqlite3 *db, void *arg)
{
	struct creds_job *j = arg;
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, j->username != NULL ?
	    SELECT_CREDS "username = ?" : SELECT_CREDS "device_id = ?")) ==
	    NULL)
		return REG_ERROR;
	if (j->username != NULL)
		sqlite3_bind_text(st, 1, j->username, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, j->device_id);
	rc = read_row(st, j);
	store_stmt_done(st);
	return rc;
}

static int
exec_bound(sqlite3 *db, const char *sql, const struct creds_job *j)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, sql)) == NULL)
		return REG_ERROR;
	sqlite3_bind_int64(st, 1, j->device_id);
	if (sqlite3_bind_parameter_count(st) == 2)
		sqlite3_bind_text(st, 2, j->c->username, -1, SQLITE_STATIC);
	else if (sqlite3_bind_parameter_count(st) > 2) {
		sqlite3_bind_text(st, 2, j->c->username, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, j->c->password, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, j->c->vhost, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)j->now);
	}
	if (sqlite3_bind_parameter_count(st) > 5)
		sqlite3_bind_text(st, 6, j->active ? "active" : "pending", -1,
		    SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? REG_OK : REG_ERROR;
	store_stmt_done(st);
	return rc;
}

static int
insert_job(sqlite3 *db, void *arg)
{
	return exec_bound(db, "INSERT INTO credentials (device_id, username, "
	    "password, vhost, created, state) VALUES (?, ?, ?, ?, ?, ?)",
	    arg);
}

/*
 * The device's row, or the fresh credentials recorded for it, in one
 * transaction: identical requests racing each other all get one set.  A
 * row with the same username but another device id is a deleted device's
 * leftover (names are unique in a group, ids never reused): it goes.
 */
static int
obtain_job(sqlite3 *db, void *arg)
{
	struct creds_job *j = arg;
	struct creds found;
	struct creds_job f = { .device_id = j->device_id, .c = &found };
	int rc;

	if ((rc = find_job(db, &f)) != REG_OK)
		goto out;
	if ((j->state = f.state) != CREDS_NONE) {
		*j->c = found;
		goto out;
	}
	if ((rc = exec_bound(db, "DELETE FROM credentials WHERE device_id != ? "
	    "AND username = ?", j)) != REG_OK ||
	    (rc = insert_job(db, j)) != REG_OK)
		goto out;
	j->state = j->active ? CREDS_ACTIVE : CREDS_PENDING;
out:
	OPENSSL_cleanse(&found, sizeof(found));
	return rc;
}

static int
activate_job(sqlite3 *db, void *arg)
{
	return exec_bound(db, "UPDATE credentials SET state = 'active' "
	    "WHERE device_id = ?", arg);
}

static int
forget_job(sqlite3 *db, void *arg)
{
	return exec_bound(db, "DELETE FROM credentials WHERE device_id = ?",
	    arg);
}

/* store_read() and store_write() say why in err when they fail. */
static int
done(int rc)
{
	return rc == 0 ? 0 : -1;
}

int
creds_find(struct store *db, int64_t device_id, struct creds *c,
    enum creds_state *state, char *err, size_t errlen)
{
	struct creds_job j = { .device_id = device_id, .c = c };
	int rc = store_read(db, find_job, &j, err, errlen);

	*state = j.state;
	return done(rc);
}

int
creds_by_username(struct store *db, const char *username, struct creds *c,
    enum creds_state *state, char *err, size_t errlen)
{
	struct creds_job j = { .username = username, .c = c };
	int rc = store_read(db, find_job, &j, err, errlen);

	*state = j.state;
	return done(rc);
}

int
creds_obtain(struct store *db, int64_t device_id, struct creds *c,
    time_t now, int active, enum creds_state *state, char *err,
    size_t errlen)
{
	struct creds_job j = { .device_id = device_id, .c = c, .now = now,
	    .active = active };
	int rc = store_write(db, obtain_job, &j, err, errlen);

	*state = j.state;
	return done(rc);
}

int
creds_activate(struct store *db, int64_t device_id, char *err,
    size_t errlen)
{
	struct creds_job j = { .device_id = device_id };

	return done(store_write(db, activate_job, &j, err, errlen));
}

int
creds_forget(struct store *db, int64_t device_id, char *err, size_t errlen)
{
	struct creds_job j = { .device_id = device_id };

	return done(store_write(db, forget_job, &j, err, errlen));
}
