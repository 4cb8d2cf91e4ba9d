/*
 * The registry's queries.  Every statement is bound, stepped and reset
 * within one function (it stays prepared on its connection, see store_stmt()):
 * nothing stays open across a job.
 * Constraint failures map to codes: a taken UNIQUE or PRIMARY KEY is
 * REG_EXISTS, a missing parent (FOREIGN KEY) is REG_NOT_FOUND.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "store.h"

#define GROUP_COLUMNS							\
	"SELECT g.id, g.tenant_id, g.name, g.public_id, g.secret_hash,"	\
	" g.secret_expires, g.prev_secret_hash, g.prev_valid_until,"	\
	" g.quota, g.created, g.device_count, g.provisioned_count,"	\
	" g.cert_days, g.renew_grace"					\
	" FROM groups g "

#define DEVICE_COLUMNS							\
	"SELECT id, group_id, name, state, pubkey_hash, serial,"	\
	" not_after, provisioned_at, created FROM devices "

static const char *const codes[] = {
	[REG_OK] = "ok",
	[REG_NOT_FOUND] = "not found",
	[REG_EXISTS] = "already exists",
	[REG_STATE] = "not allowed in this state",
	[REG_ERROR] = "database error",
};

static const char *const states[] = {
	[REG_DEVICE_REGISTERED] = "registered",
	[REG_DEVICE_PROVISIONED] = "provisioned",
	[REG_DEVICE_REVOKED] = "revoked",
};
#define NSTATES	(sizeof(states) / sizeof(states[0]))

const char *
registry_strerror(int code)
{
	if (code < 0 || (size_t)code >= sizeof(codes) / sizeof(codes[0]))
		return "unknown error";
	return codes[code];
}

const char *
registry_device_state_name(enum reg_device_state s)
{
	return (size_t)s < NSTATES ? states[s] : "unknown";
}

/* Statements. */

static int
bind_one(sqlite3_stmt *st, int i, char type, va_list *ap)
{
	const void *p;
	int64_t v;
	size_t len;

	switch (type) {
	case 'i':
		return sqlite3_bind_int64(st, i, va_arg(*ap, int64_t));
	case 'n':
		v = va_arg(*ap, int64_t);
		return v == REG_NONE ? sqlite3_bind_null(st, i) :
		    sqlite3_bind_int64(st, i, v);
	case 't':	/* NULL binds NULL */
		p = va_arg(*ap, const char *);
		return sqlite3_bind_text(st, i, p, -1, SQLITE_STATIC);
	case 'h':
		p = va_arg(*ap, const unsigned char *);
		return p == NULL ? sqlite3_bind_null(st, i) :
		    sqlite3_bind_blob(st, i, p, REG_HASH_LEN, SQLITE_STATIC);
	case 'b':
		p = va_arg(*ap, const unsigned char *);
		len = va_arg(*ap, size_t);
		if (len > INT_MAX)
			return SQLITE_TOOBIG;
		return sqlite3_bind_blob(st, i, p, (int)len, SQLITE_STATIC);
	}
	return SQLITE_MISUSE;
}

/*
 * Prepares sql and binds one argument per letter of types, in order:
 * 'i' int64_t; 'n' int64_t, REG_NONE as NULL; 't' a string; 'h' a
 * REG_HASH_LEN hash or NULL; 'b' bytes and their size_t length.  Every
 * parameter of the statement must get one.
 */
static int
prepare(sqlite3 *db, sqlite3_stmt **stp, const char *sql, const char *types,
    ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int i, rc = SQLITE_OK;

	if ((st = store_stmt(db, sql)) == NULL)
		return REG_ERROR;
	va_start(ap, types);
	for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++)
		rc = bind_one(st, i + 1, types[i], &ap);
	va_end(ap);
	if (rc != SQLITE_OK || i != sqlite3_bind_parameter_count(st)) {
		store_stmt_done(st);
		return REG_ERROR;
	}
	*stp = st;
	return REG_OK;
}

static int
failure(sqlite3 *db)
{
	switch (sqlite3_extended_errcode(db)) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return REG_EXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return REG_NOT_FOUND;
	default:
		return REG_ERROR;
	}
}

/* Runs a statement that returns no row, and releases it. */
static int
run(sqlite3 *db, sqlite3_stmt *st)
{
	int rc;

	rc = sqlite3_step(st) == SQLITE_DONE ? REG_OK : failure(db);
	store_stmt_done(st);
	return rc;
}

/* As run(), and REG_NOT_FOUND when no row changed. */
static int
run_changed(sqlite3 *db, sqlite3_stmt *st)
{
	int rc;

	if ((rc = run(db, st)) == REG_OK && sqlite3_changes(db) == 0)
		rc = REG_NOT_FOUND;
	return rc;
}

/* Steps to the first row: REG_OK with a row, REG_NOT_FOUND without. */
static int
first_row(sqlite3_stmt *st)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return REG_OK;
	case SQLITE_DONE:
		return REG_NOT_FOUND;
	default:
		return REG_ERROR;
	}
}

/* A query of one integer. */
static int
query_int(sqlite3_stmt *st, int64_t *v)
{
	int rc;

	if ((rc = first_row(st)) == REG_OK)
		*v = sqlite3_column_int64(st, 0);
	store_stmt_done(st);
	return rc;
}

/* Columns. */

static int64_t
column_opt(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return REG_NONE;
	return sqlite3_column_int64(st, col);
}

/* NULL gives "". */
static int
column_text(sqlite3_stmt *st, int col, char *buf, size_t size)
{
	const unsigned char *s;
	int n;

	if ((s = sqlite3_column_text(st, col)) == NULL) {
		buf[0] = '\0';
		return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 : -1;
	}
	if ((n = sqlite3_column_bytes(st, col)) < 0 || (size_t)n >= size)
		return -1;
	memcpy(buf, s, (size_t)n);
	buf[n] = '\0';
	return 0;
}

/* 1 with a hash, 0 for NULL, -1 for anything else. */
static int
column_hash(sqlite3_stmt *st, int col, unsigned char out[REG_HASH_LEN])
{
	const void *p;

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		memset(out, 0, REG_HASH_LEN);
		return 0;
	}
	p = sqlite3_column_blob(st, col);
	if (p == NULL || sqlite3_column_bytes(st, col) != REG_HASH_LEN)
		return -1;
	memcpy(out, p, REG_HASH_LEN);
	return 1;
}

static int
group_row(sqlite3_stmt *st, struct reg_group *g)
{
	memset(g, 0, sizeof(*g));
	g->id = sqlite3_column_int64(st, 0);
	g->tenant_id = sqlite3_column_int64(st, 1);
	g->secret_expires = column_opt(st, 5);
	g->prev_valid_until = column_opt(st, 7);
	g->quota = column_opt(st, 8);
	g->created = sqlite3_column_int64(st, 9);
	g->devices = sqlite3_column_int64(st, 10);
	g->provisioned = sqlite3_column_int64(st, 11);
	g->cert_days = column_opt(st, 12);
	g->renew_grace = column_opt(st, 13);
	if (column_text(st, 2, g->name, sizeof(g->name)) == -1 ||
	    column_text(st, 3, g->public_id, sizeof(g->public_id)) == -1 ||
	    column_hash(st, 4, g->secret_hash) != 1 ||
	    (g->has_prev = column_hash(st, 6, g->prev_secret_hash)) == -1)
		return REG_ERROR;
	return REG_OK;
}

static int
device_state(const unsigned char *s, enum reg_device_state *state)
{
	for (size_t i = 0; s != NULL && i < NSTATES; i++) {
		if (strcmp((const char *)s, states[i]) == 0) {
			*state = (enum reg_device_state)i;
			return 0;
		}
	}
	return -1;
}

static int
device_row(sqlite3_stmt *st, struct reg_device *d)
{
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	d->group_id = sqlite3_column_int64(st, 1);
	d->not_after = column_opt(st, 6);
	d->provisioned_at = column_opt(st, 7);
	d->created = sqlite3_column_int64(st, 8);
	if (column_text(st, 2, d->name, sizeof(d->name)) == -1 ||
	    device_state(sqlite3_column_text(st, 3), &d->state) == -1 ||
	    (d->has_pubkey = column_hash(st, 4, d->pubkey_hash)) == -1 ||
	    column_text(st, 5, d->serial, sizeof(d->serial)) == -1)
		return REG_ERROR;
	return REG_OK;
}

/* The first row into a group; releases the statement. */
static int
one_group(sqlite3_stmt *st, struct reg_group *out)
{
	struct reg_group g;
	int rc;

	if ((rc = first_row(st)) == REG_OK && (rc = group_row(st, &g)) ==
	    REG_OK)
		*out = g;
	store_stmt_done(st);
	return rc;
}

static int
one_device(sqlite3_stmt *st, struct reg_device *out)
{
	struct reg_device d;
	int rc;

	if ((rc = first_row(st)) == REG_OK && (rc = device_row(st, &d)) ==
	    REG_OK)
		*out = d;
	store_stmt_done(st);
	return rc;
}

/* Tenants. */

/* A tenant of that name in another case, or (`exact`) in any. */
static int
tenant_taken(sqlite3 *db, const char *name, int exact)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	/* Names are ASCII (docs/API.md): SQLite's lower() is enough. */
	if (prepare(db, &st, "SELECT id FROM tenants WHERE lower(name) = "
	    "lower(?1) AND (?2 OR name <> ?1) LIMIT 1", "ti", name,
	    (int64_t)exact) != REG_OK)
		return REG_ERROR;
	rc = query_int(st, &id);
	return rc == REG_OK ? REG_EXISTS : rc;
}

int
registry_tenant_taken(sqlite3 *db, const char *name)
{
	return tenant_taken(db, name, 1);
}

int
registry_tenant_create(sqlite3 *db, const char *name, int64_t now,
    int64_t *id)
{
	sqlite3_stmt *st;
	int rc;

	/* In the same transaction as the insert, so that no tenant slips in
	 * between; the same name exactly is the UNIQUE constraint's. */
	if ((rc = tenant_taken(db, name, 0)) != REG_NOT_FOUND)
		return rc;
	if (prepare(db, &st, "INSERT INTO tenants (name, created) "
	    "VALUES (?, ?)", "ti", name, now) != REG_OK)
		return REG_ERROR;
	if ((rc = run(db, st)) == REG_OK)
		*id = sqlite3_last_insert_rowid(db);
	return rc;
}

int
registry_tenant_find(sqlite3 *db, const char *name, int64_t *id)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "SELECT id FROM tenants WHERE name = ?", "t",
	    name) != REG_OK)
		return REG_ERROR;
	return query_int(st, id);
}

int
registry_tenant_name(sqlite3 *db, int64_t id, char name[REG_NAME_MAX + 1])
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, "SELECT name FROM tenants WHERE id = ?", "i",
	    id) != REG_OK)
		return REG_ERROR;
	if ((rc = first_row(st)) == REG_OK &&
	    column_text(st, 0, name, REG_NAME_MAX + 1) == -1)
		rc = REG_ERROR;
	store_stmt_done(st);
	return rc;
}

#define TENANT_COLUMNS						\
	"SELECT t.id, t.name, t.created, count(g.id),"		\
	" coalesce(sum(g.device_count), 0) FROM tenants t"	\
	" LEFT JOIN groups g ON g.tenant_id = t.id "

static int
tenant_row(sqlite3_stmt *st, struct reg_tenant *t)
{
	t->id = sqlite3_column_int64(st, 0);
	if (column_text(st, 1, t->name, sizeof(t->name)) == -1)
		return REG_ERROR;
	t->created = sqlite3_column_int64(st, 2);
	t->groups = sqlite3_column_int64(st, 3);
	t->devices = sqlite3_column_int64(st, 4);
	return REG_OK;
}

int
registry_tenant_list(sqlite3 *db, reg_tenant_cb cb, void *arg)
{
	struct reg_tenant t;
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, TENANT_COLUMNS "GROUP BY t.id ORDER BY t.name",
	    "") != REG_OK)
		return REG_ERROR;
	while ((rc = first_row(st)) == REG_OK) {
		if ((rc = tenant_row(st, &t)) != REG_OK)
			break;
		if (cb(&t, arg) != 0) {
			rc = REG_ERROR;
			break;
		}
	}
	store_stmt_done(st);
	return rc == REG_NOT_FOUND ? REG_OK : rc;
}

int
registry_tenant_get(sqlite3 *db, const char *name, struct reg_tenant *t)
{
	struct reg_tenant row;
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, TENANT_COLUMNS "WHERE t.name = ? GROUP BY t.id",
	    "t", name) != REG_OK)
		return REG_ERROR;
	if ((rc = first_row(st)) == REG_OK &&
	    (rc = tenant_row(st, &row)) == REG_OK)
		*t = row;
	store_stmt_done(st);
	return rc;
}

int
registry_tenant_delete(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st;
	int64_t n;
	int rc;

	if (prepare(db, &st, "SELECT count(*) FROM groups WHERE tenant_id = ?",
	    "i", id) != REG_OK)
		return REG_ERROR;
	if ((rc = query_int(st, &n)) != REG_OK)
		return rc;
	if (n > 0)
		return REG_STATE;
	if (prepare(db, &st, "DELETE FROM tenants WHERE id = ?", "i",
	    id) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

/* Tokens. */

int
registry_token_add(sqlite3 *db, const unsigned char hash[REG_HASH_LEN],
    int64_t tenant_id, const char *name, int64_t now)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "INSERT INTO tokens (hash, tenant_id, name, "
	    "created) VALUES (?, ?, ?, ?)", "hnti", hash, tenant_id, name,
	    now) != REG_OK)
		return REG_ERROR;
	return run(db, st);
}

int
registry_token_lookup(sqlite3 *db, const unsigned char hash[REG_HASH_LEN],
    int64_t *tenant_id, int *is_admin)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, "SELECT tenant_id FROM tokens WHERE hash = ?",
	    "h", hash) != REG_OK)
		return REG_ERROR;
	if ((rc = first_row(st)) == REG_OK) {
		*tenant_id = column_opt(st, 0);
		*is_admin = *tenant_id == REG_NONE;
	}
	store_stmt_done(st);
	return rc;
}

int
registry_token_delete(sqlite3 *db, const unsigned char hash[REG_HASH_LEN])
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "DELETE FROM tokens WHERE hash = ?", "h",
	    hash) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

int
registry_token_list(sqlite3 *db, int64_t tenant_id, reg_token_cb cb,
    void *arg)
{
	struct reg_token t;
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, "SELECT name, created FROM tokens "
	    "WHERE tenant_id = ? ORDER BY name", "i", tenant_id) != REG_OK)
		return REG_ERROR;
	while ((rc = first_row(st)) == REG_OK) {
		if (column_text(st, 0, t.name, sizeof(t.name)) == -1) {
			rc = REG_ERROR;
			break;
		}
		t.created = sqlite3_column_int64(st, 1);
		if (cb(&t, arg) != 0) {
			rc = REG_ERROR;
			break;
		}
	}
	store_stmt_done(st);
	return rc == REG_NOT_FOUND ? REG_OK : rc;
}

int
registry_token_revoke(sqlite3 *db, int64_t tenant_id, const char *name)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "DELETE FROM tokens WHERE tenant_id = ? AND "
	    "name = ?", "it", tenant_id, name) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

/* Groups. */

int
registry_group_create(sqlite3 *db, int64_t tenant_id, const char *name,
    const char *public_id, const unsigned char secret_hash[REG_HASH_LEN],
    int64_t quota, int64_t expires, int64_t now, int64_t *id)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, "INSERT INTO groups (tenant_id, name, public_id,"
	    " secret_hash, quota, secret_expires, created)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)", "itthnni", tenant_id, name,
	    public_id, secret_hash, quota, expires, now) != REG_OK)
		return REG_ERROR;
	if ((rc = run(db, st)) == REG_OK)
		*id = sqlite3_last_insert_rowid(db);
	return rc;
}

int
registry_group_find(sqlite3 *db, int64_t tenant_id, const char *name,
    struct reg_group *g)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, GROUP_COLUMNS "WHERE g.tenant_id = ? AND "
	    "g.name = ?", "it", tenant_id, name) != REG_OK)
		return REG_ERROR;
	return one_group(st, g);
}

int
registry_group_by_public_id(sqlite3 *db, const char *public_id,
    struct reg_group *g)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, GROUP_COLUMNS "WHERE g.public_id = ?1 OR "
	    "g.prev_public_id = ?1", "t", public_id) != REG_OK)
		return REG_ERROR;
	return one_group(st, g);
}

int
registry_group_list(sqlite3 *db, int64_t tenant_id, reg_group_cb cb,
    void *arg)
{
	struct reg_group g;
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, GROUP_COLUMNS "WHERE g.tenant_id = ? "
	    "ORDER BY g.name", "i", tenant_id) != REG_OK)
		return REG_ERROR;
	while ((rc = first_row(st)) == REG_OK) {
		if ((rc = group_row(st, &g)) != REG_OK)
			break;
		if (cb(&g, arg) != 0) {
			rc = REG_ERROR;
			break;
		}
	}
	store_stmt_done(st);
	return rc == REG_NOT_FOUND ? REG_OK : rc;
}

int
registry_group_set_quota(sqlite3 *db, int64_t group_id, int64_t quota)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "UPDATE groups SET quota = ? WHERE id = ?", "ni",
	    quota, group_id) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

int
registry_group_set_cert_days(sqlite3 *db, int64_t group_id, int64_t days)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "UPDATE groups SET cert_days = ? WHERE id = ?",
	    "ni", days, group_id) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

int
registry_group_set_renew_grace(sqlite3 *db, int64_t group_id, int64_t grace)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "UPDATE groups SET renew_grace = ? WHERE id = ?",
	    "ni", grace, group_id) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

int
registry_group_by_id(sqlite3 *db, int64_t group_id, struct reg_group *g)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, GROUP_COLUMNS "WHERE g.id = ?", "i", group_id) !=
	    REG_OK)
		return REG_ERROR;
	return one_group(st, g);
}

int
registry_group_set_expiry(sqlite3 *db, int64_t group_id, int64_t expires)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "UPDATE groups SET secret_expires = ? "
	    "WHERE id = ?", "ni", expires, group_id) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

/* An expired secret stays expired: the overlap never outlives its expiry. */
int
registry_group_rotate_secret(sqlite3 *db, int64_t group_id,
    const char *new_public_id, const unsigned char new_hash[REG_HASH_LEN],
    int64_t expires, int64_t overlap_until, int64_t *prev_valid_until)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, "UPDATE groups SET"
	    " prev_secret_hash = secret_hash, prev_public_id = public_id,"
	    " prev_valid_until = CASE WHEN secret_expires < ?1"
	    "   THEN secret_expires ELSE ?1 END,"
	    " secret_hash = ?2, secret_expires = ?3, public_id = ?5"
	    " WHERE id = ?4", "ihnit",
	    overlap_until, new_hash, expires, group_id, new_public_id) !=
	    REG_OK)
		return REG_ERROR;
	if ((rc = run_changed(db, st)) != REG_OK)
		return rc;
	if (prepare(db, &st, "SELECT prev_valid_until FROM groups "
	    "WHERE id = ?", "i", group_id) != REG_OK)
		return REG_ERROR;
	return query_int(st, prev_valid_until);
}

/* 1 while the group has a provisioned device or a live certificate. */
static int
group_busy(sqlite3 *db, int64_t group_id, int64_t *busy)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "SELECT EXISTS (SELECT 1 FROM devices d"
	    " WHERE d.group_id = ?1 AND (d.state = 'provisioned' OR EXISTS"
	    " (SELECT 1 FROM certificates c WHERE c.device_id = d.id"
	    "  AND c.revoked IS NULL)))", "i", group_id) != REG_OK)
		return REG_ERROR;
	return query_int(st, busy);
}

int
registry_group_delete(sqlite3 *db, int64_t group_id)
{
	sqlite3_stmt *st;
	int64_t busy;
	int rc;

	if ((rc = group_busy(db, group_id, &busy)) != REG_OK)
		return rc;
	if (busy)
		return REG_STATE;
	if (prepare(db, &st, "DELETE FROM groups WHERE id = ?", "i",
	    group_id) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

/* Devices. */

int
registry_device_add(sqlite3 *db, int64_t group_id, const char *name,
    int64_t now, int64_t *id)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, "INSERT INTO devices (group_id, name, created) "
	    "VALUES (?, ?, ?)", "iti", group_id, name, now) != REG_OK)
		return REG_ERROR;
	if ((rc = run(db, st)) == REG_OK)
		*id = sqlite3_last_insert_rowid(db);
	return rc;
}

int
registry_device_find(sqlite3 *db, int64_t group_id, const char *name,
    struct reg_device *d)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, DEVICE_COLUMNS "WHERE group_id = ? AND name = ?",
	    "it", group_id, name) != REG_OK)
		return REG_ERROR;
	return one_device(st, d);
}

int
registry_device_by_id(sqlite3 *db, int64_t id, struct reg_device *d)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, DEVICE_COLUMNS "WHERE id = ?", "i", id) != REG_OK)
		return REG_ERROR;
	return one_device(st, d);
}

static int
device_count(sqlite3 *db, int64_t group_id, int64_t *total)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "SELECT device_count FROM groups WHERE id = ?",
	    "i", group_id) != REG_OK)
		return REG_ERROR;
	return query_int(st, total);
}

int
registry_device_list(sqlite3 *db, int64_t group_id, int64_t offset,
    int64_t limit, reg_device_cb cb, void *arg, int64_t *total)
{
	struct reg_device d;
	sqlite3_stmt *st;
	int64_t n;
	int rc;

	if ((rc = device_count(db, group_id, &n)) != REG_OK)
		return rc;
	/* LIMIT -1 is SQLite's "no limit", which REG_NONE is. */
	if (prepare(db, &st, DEVICE_COLUMNS "WHERE group_id = ? "
	    "ORDER BY name LIMIT ? OFFSET ?", "iii", group_id, limit,
	    offset) != REG_OK)
		return REG_ERROR;
	while ((rc = first_row(st)) == REG_OK) {
		if ((rc = device_row(st, &d)) != REG_OK)
			break;
		if (cb(&d, arg) != 0) {
			rc = REG_ERROR;
			break;
		}
	}
	store_stmt_done(st);
	if (rc != REG_NOT_FOUND)
		return rc;
	*total = n;
	return REG_OK;
}

/* Provisioned devices whose certificate ends in [from, until): index 10. */
int
registry_expiring_count(sqlite3 *db, int64_t from, int64_t until,
    int64_t *count)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "SELECT count(*) FROM devices WHERE"
	    " state = 'provisioned' AND not_after >= ? AND not_after < ?",
	    "ii", from, until) != REG_OK)
		return REG_ERROR;
	return query_int(st, count);
}

int
registry_device_provisioned_count(sqlite3 *db, int64_t group_id,
    int64_t *count)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "SELECT provisioned_count FROM groups"
	    " WHERE id = ?", "i", group_id) != REG_OK)
		return REG_ERROR;
	return query_int(st, count);
}

/* REG_NOT_FOUND without the device, REG_STATE if not registered. */
static int
device_is_registered(sqlite3 *db, int64_t device_id)
{
	sqlite3_stmt *st;
	int64_t registered;
	int rc;

	if (prepare(db, &st, "SELECT state = 'registered' FROM devices "
	    "WHERE id = ?", "i", device_id) != REG_OK)
		return REG_ERROR;
	if ((rc = query_int(st, &registered)) != REG_OK)
		return rc;
	return registered ? REG_OK : REG_STATE;
}

static int
cert_belongs(sqlite3 *db, const char *serial, int64_t device_id)
{
	sqlite3_stmt *st;
	int64_t owner;

	if (prepare(db, &st, "SELECT device_id FROM certificates "
	    "WHERE serial = ? AND device_id = ?", "ti", serial,
	    device_id) != REG_OK)
		return REG_ERROR;
	return query_int(st, &owner);
}

int
registry_device_set_provisioned(sqlite3 *db, int64_t device_id,
    const unsigned char pubkey_hash[REG_HASH_LEN], const char *serial,
    int64_t not_after, int64_t now)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = device_is_registered(db, device_id)) != REG_OK ||
	    (rc = cert_belongs(db, serial, device_id)) != REG_OK)
		return rc;
	if (prepare(db, &st, "UPDATE devices SET state = 'provisioned',"
	    " pubkey_hash = ?, serial = ?, not_after = ?, provisioned_at = ?"
	    " WHERE id = ? AND state = 'registered'", "htiii", pubkey_hash,
	    serial, not_after, now, device_id) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

/* A provisioned device's next certificate, already inserted for it. */
int
registry_device_renew(sqlite3 *db, int64_t device_id,
    const unsigned char pubkey_hash[REG_HASH_LEN], const char *serial,
    int64_t not_after)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = cert_belongs(db, serial, device_id)) != REG_OK)
		return rc;
	if (prepare(db, &st, "UPDATE devices SET pubkey_hash = ?, serial = ?,"
	    " not_after = ? WHERE id = ? AND state = 'provisioned'", "htii",
	    pubkey_hash, serial, not_after, device_id) != REG_OK)
		return REG_ERROR;
	return (rc = run_changed(db, st)) == REG_NOT_FOUND ? REG_STATE : rc;
}

int
registry_device_revoke(sqlite3 *db, int64_t device_id, int64_t now,
    int reason)
{
	sqlite3_stmt *st;
	int rc;

	/* Its key first: enabling the device later forgets the hash. */
	if (prepare(db, &st, "INSERT OR IGNORE INTO revoked_keys (pubkey_hash,"
	    " revoked) SELECT pubkey_hash, ? FROM devices WHERE id = ? AND"
	    " pubkey_hash IS NOT NULL", "ii", now, device_id) != REG_OK ||
	    (rc = run(db, st)) != REG_OK)
		return REG_ERROR;
	if (prepare(db, &st, "UPDATE devices SET state = 'revoked' "
	    "WHERE id = ?", "i", device_id) != REG_OK)
		return REG_ERROR;
	if ((rc = run_changed(db, st)) != REG_OK)
		return rc;
	if (prepare(db, &st, "UPDATE certificates SET revoked = ?, reason = ? "
	    "WHERE device_id = ? AND revoked IS NULL", "iii", now,
	    (int64_t)reason, device_id) != REG_OK)
		return REG_ERROR;
	return run(db, st);
}

int
registry_device_revoked_count(sqlite3 *db, int64_t device_id, int64_t *n)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "SELECT count(*) FROM certificates WHERE"
	    " device_id = ? AND revoked IS NOT NULL", "i", device_id) != REG_OK)
		return REG_ERROR;
	return query_int(st, n);
}

int
registry_key_revoked(sqlite3 *db, const unsigned char hash[REG_HASH_LEN])
{
	sqlite3_stmt *st;
	int64_t when;

	if (prepare(db, &st, "SELECT revoked FROM revoked_keys WHERE"
	    " pubkey_hash = ?", "h", hash) != REG_OK)
		return REG_ERROR;
	return query_int(st, &when);
}

int
registry_device_enable(sqlite3 *db, int64_t device_id)
{
	sqlite3_stmt *st;

	if (prepare(db, &st, "UPDATE devices SET state = 'registered',"
	    " pubkey_hash = NULL WHERE id = ?", "i", device_id) != REG_OK)
		return REG_ERROR;
	return run_changed(db, st);
}

/* Certificates. */

int
registry_cert_insert(sqlite3 *db, const char *serial, int64_t device_id,
    const unsigned char *der, size_t len, int64_t not_after, int64_t now)
{
	sqlite3_stmt *st;

	if (der == NULL || len == 0)
		return REG_ERROR;
	if (prepare(db, &st, "INSERT INTO certificates (serial, device_id,"
	    " der, not_after, issued) VALUES (?, ?, ?, ?, ?)", "tibii",
	    serial, device_id, der, len, not_after, now) != REG_OK)
		return REG_ERROR;
	return run(db, st);
}

static int
column_copy(sqlite3_stmt *st, int col, unsigned char **der, size_t *len)
{
	const void *p = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (p == NULL || n <= 0 || (*der = malloc((size_t)n)) == NULL)
		return REG_ERROR;
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	return REG_OK;
}

static void
cert_row(sqlite3_stmt *st, struct reg_cert *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s",
	    (const char *)sqlite3_column_text(st, 0));
	c->device_id = sqlite3_column_type(st, 1) == SQLITE_NULL ? REG_NONE :
	    sqlite3_column_int64(st, 1);
	c->not_after = sqlite3_column_int64(st, 2);
	c->issued = sqlite3_column_int64(st, 3);
	c->revoked = sqlite3_column_type(st, 4) == SQLITE_NULL ? REG_NONE :
	    sqlite3_column_int64(st, 4);
	c->reason = sqlite3_column_int(st, 5);
}

#define CERT_COLUMNS	"serial, device_id, not_after, issued, revoked, " \
			"reason, der"

int
registry_cert_find(sqlite3 *db, const char *serial, struct reg_cert *c,
    unsigned char **der, size_t *len)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, "SELECT " CERT_COLUMNS " FROM certificates"
	    " WHERE serial = ?", "t", serial) != REG_OK)
		return REG_ERROR;
	if ((rc = first_row(st)) == REG_OK) {
		if (c != NULL)
			cert_row(st, c);
		if (der != NULL)
			rc = column_copy(st, 6, der, len);
	}
	store_stmt_done(st);
	return rc;
}

int
registry_cert_der(sqlite3 *db, const char *serial, unsigned char **der,
    size_t *len)
{
	return registry_cert_find(db, serial, NULL, der, len);
}

int
registry_revoked_list(sqlite3 *db, int64_t device_id, reg_cert_cb cb,
    void *arg)
{
	sqlite3_stmt *st;
	struct reg_cert c;
	int rc;

	if (device_id == REG_NONE ? prepare(db, &st, "SELECT " CERT_COLUMNS
	    " FROM certificates WHERE revoked IS NOT NULL", "") :
	    prepare(db, &st, "SELECT " CERT_COLUMNS " FROM certificates"
	    " WHERE device_id = ? AND revoked IS NOT NULL", "i", device_id))
		return REG_ERROR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cert_row(st, &c);
		if (cb(&c, sqlite3_column_blob(st, 6),
		    (size_t)sqlite3_column_bytes(st, 6), arg) != 0) {
			store_stmt_done(st);
			return REG_ERROR;
		}
	}
	store_stmt_done(st);
	return rc == SQLITE_DONE ? REG_OK : REG_ERROR;
}

/*
 * A tenant's certificates by expiry: one group or all, only those still
 * valid and expiring before a time, or all.
 */
int
registry_cert_list(sqlite3 *db, const struct reg_cert_filter *f,
    reg_cert_row_cb cb, void *arg)
{
	struct reg_cert_row r;
	sqlite3_stmt *st;
	int rc;

	if (prepare(db, &st, "SELECT c.serial, c.device_id, c.not_after,"
	    " c.issued, c.revoked, c.reason, d.name, g.name,"
	    " d.serial = c.serial FROM certificates c"
	    " JOIN devices d ON d.id = c.device_id"
	    " JOIN groups g ON g.id = d.group_id"
	    " WHERE g.tenant_id = ? AND (?2 IS NULL OR g.id = ?2)"
	    " AND (?3 IS NULL OR (c.revoked IS NULL AND c.not_after <= ?3))"
	    " ORDER BY c.not_after, c.serial LIMIT ? OFFSET ?", "innii",
	    f->tenant_id, f->group_id, f->expiring_before, f->limit,
	    f->offset) != REG_OK)
		return REG_ERROR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cert_row(st, &r.cert);
		if (column_text(st, 6, r.device, sizeof(r.device)) == -1 ||
		    column_text(st, 7, r.group, sizeof(r.group)) == -1)
			break;
		r.current = sqlite3_column_int(st, 8);
		if (cb(&r, arg) != 0)
			break;
	}
	store_stmt_done(st);
	return rc == SQLITE_DONE ? REG_OK : REG_ERROR;
}
