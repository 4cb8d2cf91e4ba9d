/*
 * The audit table as a hash chain (registry.h, auditchain.h): a record
 * is appended after the head in the caller's transaction, records
 * written before the chain existed are chained once, and the verifier
 * reads rows and checkpoints exactly as they are stored.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "store.h"

#define AUDIT_COLUMNS							\
	"SELECT id, at, tenant_id, actor, action, target, outcome,"	\
	" client, prev_hash, hash FROM audit "

/* A text column with its length in bytes: NUL bytes are hashed too. */
static struct auditchain_text
column_text(sqlite3_stmt *st, int col)
{
	struct auditchain_text t = { NULL, 0 };

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return t;
	t.s = (const char *)sqlite3_column_text(st, col);
	t.len = (size_t)sqlite3_column_bytes(st, col);
	return t;
}

/* The row of AUDIT_COLUMNS that st is on. */
static void
column_row(sqlite3_stmt *st, struct reg_audit_row *row)
{
	struct auditchain_record *r = &row->rec;

	r->id = sqlite3_column_int64(st, 0);
	r->at = sqlite3_column_int64(st, 1);
	r->has_tenant = sqlite3_column_type(st, 2) != SQLITE_NULL;
	r->tenant_id = r->has_tenant ? sqlite3_column_int64(st, 2) : 0;
	r->actor = column_text(st, 3);
	r->action = column_text(st, 4);
	r->target = column_text(st, 5);
	r->outcome = column_text(st, 6);
	r->client = column_text(st, 7);
	row->prev_hash = sqlite3_column_blob(st, 8);
	row->prev_len = (size_t)sqlite3_column_bytes(st, 8);
	row->hash = sqlite3_column_blob(st, 9);
	row->hash_len = (size_t)sqlite3_column_bytes(st, 9);
}

/*
 * The last record's id and hash (0 and zeros when there is none);
 * REG_STATE when the last record is not chained yet.
 */
static int
chain_head(sqlite3 *db, int64_t *id, unsigned char hash[AUDITCHAIN_HASH_LEN])
{
	sqlite3_stmt *st;
	int rc = REG_OK;

	if ((st = store_stmt(db, "SELECT id, hash FROM audit"
	    " ORDER BY id DESC LIMIT 1")) == NULL)
		return REG_ERROR;
	*id = 0;
	memcpy(hash, auditchain_zero, AUDITCHAIN_HASH_LEN);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		*id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) != AUDITCHAIN_HASH_LEN)
			rc = REG_STATE;
		else
			memcpy(hash, sqlite3_column_blob(st, 1),
			    AUDITCHAIN_HASH_LEN);
		break;
	case SQLITE_DONE:
		break;
	default:
		rc = REG_ERROR;
	}
	store_stmt_done(st);
	return rc;
}

int
registry_audit_head(sqlite3 *db, int64_t *id,
    unsigned char hash[AUDITCHAIN_HASH_LEN])
{
	int rc;

	if ((rc = chain_head(db, id, hash)) == REG_OK && *id == 0)
		rc = REG_NOT_FOUND;
	return rc;
}

static int
insert(sqlite3 *db, const struct auditchain_record *r, const struct reg_audit *a,
    const unsigned char *prev, const unsigned char *hash)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, "INSERT INTO audit (id, at, tenant_id,"
	    " actor, action, target, outcome, client, prev_hash, hash)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) == NULL)
		return REG_ERROR;
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_int64(st, 2, r->at);
	if (r->has_tenant)
		sqlite3_bind_int64(st, 3, r->tenant_id);
	sqlite3_bind_text(st, 4, a->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, a->client, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, prev, AUDITCHAIN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, hash, AUDITCHAIN_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? REG_OK : REG_ERROR;
	store_stmt_done(st);
	return rc;
}

/*
 * The id is the head's plus one, given explicitly: it is hashed, so it
 * must be known before the row exists.
 */
int
registry_audit(sqlite3 *db, const struct reg_audit *a)
{
	unsigned char prev[AUDITCHAIN_HASH_LEN], hash[AUDITCHAIN_HASH_LEN];
	struct auditchain_record r = { .at = a->at,
	    .has_tenant = a->tenant_id != REG_NONE, .tenant_id = a->tenant_id,
	    .actor = auditchain_str(a->actor),
	    .action = auditchain_str(a->action),
	    .target = auditchain_str(a->target),
	    .outcome = auditchain_str(a->outcome),
	    .client = auditchain_str(a->client) };
	int64_t n;
	int rc;

	if (a->actor == NULL || a->action == NULL || a->outcome == NULL)
		return REG_ERROR;
	/* Not chained yet only if nothing opened the registry since step 8. */
	if ((rc = chain_head(db, &r.id, prev)) == REG_STATE &&
	    (rc = registry_audit_chain_backlog(db, &n)) == REG_OK)
		rc = chain_head(db, &r.id, prev);
	if (rc != REG_OK)
		return REG_ERROR;
	if (r.id == INT64_MAX)
		return REG_ERROR;
	r.id++;
	if (auditchain_hash(prev, &r, hash) == -1)
		return REG_ERROR;
	return insert(db, &r, a, prev, hash);
}

/* The hash of the last chained record before id (zeros: none). */
static int
hash_before(sqlite3 *db, int64_t id, unsigned char hash[AUDITCHAIN_HASH_LEN])
{
	sqlite3_stmt *st;
	int rc = REG_OK;

	if ((st = store_stmt(db, "SELECT hash FROM audit WHERE id < ?"
	    " AND hash IS NOT NULL ORDER BY id DESC LIMIT 1")) == NULL)
		return REG_ERROR;
	sqlite3_bind_int64(st, 1, id);
	memcpy(hash, auditchain_zero, AUDITCHAIN_HASH_LEN);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		if (sqlite3_column_bytes(st, 0) == AUDITCHAIN_HASH_LEN)
			memcpy(hash, sqlite3_column_blob(st, 0),
			    AUDITCHAIN_HASH_LEN);
		else
			rc = REG_ERROR;
		break;
	case SQLITE_DONE:
		break;
	default:
		rc = REG_ERROR;
	}
	store_stmt_done(st);
	return rc;
}

static int
set_hashes(sqlite3 *db, int64_t id, const unsigned char *prev,
    const unsigned char *hash)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, "UPDATE audit SET prev_hash = ?, hash = ?"
	    " WHERE id = ? AND hash IS NULL")) == NULL)
		return REG_ERROR;
	sqlite3_bind_blob(st, 1, prev, AUDITCHAIN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hash, AUDITCHAIN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1 ?
	    REG_OK : REG_ERROR;
	store_stmt_done(st);
	return rc;
}

/*
 * The next unchained record after `after` is hashed and updated before
 * the next is looked up: no statement reads the table while it changes.
 */
static int
chain_next(sqlite3 *db, int64_t *after, unsigned char prev[AUDITCHAIN_HASH_LEN])
{
	unsigned char hash[AUDITCHAIN_HASH_LEN];
	struct reg_audit_row row;
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, AUDIT_COLUMNS "WHERE id > ? AND hash IS NULL"
	    " ORDER BY id LIMIT 1")) == NULL)
		return REG_ERROR;
	sqlite3_bind_int64(st, 1, *after);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		store_stmt_done(st);
		return rc == SQLITE_DONE ? REG_NOT_FOUND : REG_ERROR;
	}
	column_row(st, &row);
	rc = auditchain_hash(prev, &row.rec, hash) == 0 ? REG_OK : REG_ERROR;
	*after = row.rec.id;
	store_stmt_done(st);
	if (rc == REG_OK && (rc = set_hashes(db, *after, prev, hash)) == REG_OK)
		memcpy(prev, hash, AUDITCHAIN_HASH_LEN);
	return rc;
}

static int
first_unchained(sqlite3 *db, int64_t *id)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, "SELECT min(id) FROM audit"
	    " WHERE hash IS NULL")) == NULL)
		return REG_ERROR;
	rc = sqlite3_step(st) == SQLITE_ROW ? REG_OK : REG_ERROR;
	if (rc == REG_OK && sqlite3_column_type(st, 0) == SQLITE_NULL)
		rc = REG_NOT_FOUND;
	else if (rc == REG_OK)
		*id = sqlite3_column_int64(st, 0);
	store_stmt_done(st);
	return rc;
}

int
registry_audit_chain_backlog(sqlite3 *db, int64_t *n)
{
	unsigned char prev[AUDITCHAIN_HASH_LEN];
	int64_t first, after;
	int rc;

	*n = 0;
	if ((rc = first_unchained(db, &first)) != REG_OK)
		return rc == REG_NOT_FOUND ? REG_OK : rc;
	if (hash_before(db, first, prev) != REG_OK)
		return REG_ERROR;
	after = first - 1;
	while ((rc = chain_next(db, &after, prev)) == REG_OK)
		(*n)++;
	return rc == REG_NOT_FOUND ? REG_OK : rc;
}

int
registry_audit_walk(sqlite3 *db, reg_audit_row_cb cb, void *arg)
{
	struct reg_audit_row row;
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, AUDIT_COLUMNS "ORDER BY id")) == NULL)
		return REG_ERROR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		column_row(st, &row);
		if (cb(&row, arg) != 0)
			break;
	}
	store_stmt_done(st);
	return rc == SQLITE_DONE ? REG_OK : REG_ERROR;
}

/* Checkpoints. */

int
registry_checkpoint_add(sqlite3 *db, const struct reg_checkpoint *c)
{
	sqlite3_stmt *st;
	int rc;

	if (c->siglen == 0 || c->siglen > INT_MAX)
		return REG_ERROR;
	if ((st = store_stmt(db, "INSERT INTO audit_checkpoints (record_id,"
	    " head, at, issuer, signature) VALUES (?, ?, ?, ?, ?)")) == NULL)
		return REG_ERROR;
	sqlite3_bind_int64(st, 1, c->record_id);
	sqlite3_bind_blob(st, 2, c->head, AUDITCHAIN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c->at);
	sqlite3_bind_text(st, 4, c->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, c->sig, (int)c->siglen, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? REG_OK : REG_ERROR;
	store_stmt_done(st);
	return rc;
}

static void
column_checkpoint(sqlite3_stmt *st, struct reg_checkpoint *c)
{
	const unsigned char *issuer;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->record_id = sqlite3_column_int64(st, 1);
	c->malformed = sqlite3_column_bytes(st, 2) != AUDITCHAIN_HASH_LEN;
	if (!c->malformed)
		memcpy(c->head, sqlite3_column_blob(st, 2), AUDITCHAIN_HASH_LEN);
	c->at = sqlite3_column_int64(st, 3);
	if ((issuer = sqlite3_column_text(st, 4)) != NULL)
		snprintf(c->issuer, sizeof(c->issuer), "%s", issuer);
	c->sig = sqlite3_column_blob(st, 5);
	c->siglen = (size_t)sqlite3_column_bytes(st, 5);
}

int
registry_checkpoint_list(sqlite3 *db, reg_checkpoint_cb cb, void *arg)
{
	struct reg_checkpoint c;
	sqlite3_stmt *st;
	int rc;

	if ((st = store_stmt(db, "SELECT id, record_id, head, at, issuer,"
	    " signature FROM audit_checkpoints ORDER BY id")) == NULL)
		return REG_ERROR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		column_checkpoint(st, &c);
		if (cb(&c, arg) != 0)
			break;
	}
	store_stmt_done(st);
	return rc == SQLITE_DONE ? REG_OK : REG_ERROR;
}
