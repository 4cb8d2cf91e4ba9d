/*
 * The schema as an ordered table of migrations: step i moves a database
 * from PRAGMA user_version i to i + 1, in a transaction of its own.  A
 * released step is never edited; a change is a new step at the end.
 *
 * Steps run with foreign keys off (a step may rebuild a table, which
 * cannot be done with them on), and a step whose result breaks a foreign
 * key is refused before it commits.
 */
#include <stdio.h>

#include "errbuf.h"
#include "store.h"

static const char *const registry_steps[] = {
	/*
	 * 1: tenants, operator tokens, groups, devices, certificates, audit.
	 * Ids are AUTOINCREMENT: a job that looked a group up earlier must
	 * never reach a new group that took a deleted one's id.  Lengths
	 * are bytes (CAST AS BLOB), so registry.h's buffers always fit.
	 * Certificates outlive their device: a CA forgets nothing it issued.
	 */
	"CREATE TABLE tenants ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE"
	"    CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 64),"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE tokens ("		/* tenant_id NULL: the admin */
	"  hash BLOB PRIMARY KEY CHECK (length(hash) = 32),"
	"  tenant_id INTEGER REFERENCES tenants (id) ON DELETE CASCADE,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE INDEX tokens_tenant ON tokens (tenant_id);"
	"CREATE TABLE groups ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  tenant_id INTEGER NOT NULL REFERENCES tenants (id)"
	"    ON DELETE CASCADE,"
	"  name TEXT NOT NULL"
	"    CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 64),"
	"  public_id TEXT NOT NULL UNIQUE"
	"    CHECK (length(CAST(public_id AS BLOB)) BETWEEN 1 AND 64),"
	"  secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),"
	"  secret_expires INTEGER,"
	"  prev_secret_hash BLOB"
	"    CHECK (prev_secret_hash IS NULL OR length(prev_secret_hash) = 32),"
	"  prev_valid_until INTEGER,"
	"  quota INTEGER CHECK (quota IS NULL OR quota >= 0),"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, name)"
	");"
	"CREATE TABLE devices ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL"
	"    CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 64),"
	"  state TEXT NOT NULL DEFAULT 'registered'"
	"    CHECK (state IN ('registered', 'provisioned', 'revoked')),"
	"  pubkey_hash BLOB"
	"    CHECK (pubkey_hash IS NULL OR length(pubkey_hash) = 32),"
	"  serial TEXT REFERENCES certificates (serial),"
	"  not_after INTEGER,"
	"  provisioned_at INTEGER,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (group_id, name)"
	");"
	"CREATE TABLE certificates ("
	"  serial TEXT PRIMARY KEY"
	"    CHECK (length(CAST(serial AS BLOB)) BETWEEN 1 AND 64),"
	"  device_id INTEGER REFERENCES devices (id) ON DELETE SET NULL,"
	"  der BLOB NOT NULL CHECK (length(der) > 0),"
	"  not_after INTEGER NOT NULL,"
	"  issued INTEGER NOT NULL,"
	"  revoked INTEGER"
	");"
	"CREATE INDEX certificates_device ON certificates (device_id);"
	"CREATE INDEX devices_serial ON devices (serial);"
	"CREATE TABLE audit ("		/* never a secret in here */
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  tenant_id INTEGER,"		/* no foreign key: outlives tenants */
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT,"
	"  outcome TEXT NOT NULL,"
	"  client TEXT"
	");"
	"CREATE INDEX audit_tenant ON audit (tenant_id, at);",
	/*
	 * 2: each group counts its devices, and the provisioned ones, in its
	 * own row, kept by triggers in the transaction that changes a
	 * device: reading a group (every provisioning does, for its quota)
	 * costs the same for 100 devices as for 100,000.
	 */
	"ALTER TABLE groups ADD COLUMN device_count INTEGER NOT NULL"
	"  DEFAULT 0 CHECK (device_count >= 0);"
	"ALTER TABLE groups ADD COLUMN provisioned_count INTEGER NOT NULL"
	"  DEFAULT 0 CHECK (provisioned_count >= 0);"
	"UPDATE groups SET"
	"  device_count = (SELECT count(*) FROM devices d"
	"    WHERE d.group_id = groups.id),"
	"  provisioned_count = (SELECT count(*) FROM devices d"
	"    WHERE d.group_id = groups.id AND d.state = 'provisioned');"
	"CREATE TRIGGER devices_count_in AFTER INSERT ON devices BEGIN"
	"  UPDATE groups SET device_count = device_count + 1,"
	"    provisioned_count = provisioned_count +"
	"      (NEW.state = 'provisioned')"
	"  WHERE id = NEW.group_id;"
	" END;"
	"CREATE TRIGGER devices_count_out AFTER DELETE ON devices BEGIN"
	"  UPDATE groups SET device_count = device_count - 1,"
	"    provisioned_count = provisioned_count -"
	"      (OLD.state = 'provisioned')"
	"  WHERE id = OLD.group_id;"
	" END;"
	"CREATE TRIGGER devices_count_state AFTER UPDATE OF state ON devices"
	"  WHEN OLD.state IS NOT NEW.state BEGIN"
	"  UPDATE groups SET provisioned_count = provisioned_count +"
	"    (NEW.state = 'provisioned') - (OLD.state = 'provisioned')"
	"  WHERE id = NEW.group_id;"
	" END;",
	/*
	 * 3: revocation with a reason, found without a scan (CRLs, OCSP,
	 * the start-up check that the CA index lists them all), and the keys
	 * that may never be certified again.  A device revoked before this
	 * step still holds its key's hash: that key is banned too.
	 */
	"ALTER TABLE certificates ADD COLUMN reason INTEGER NOT NULL"
	"  DEFAULT 0 CHECK (reason BETWEEN 0 AND 10);"
	"CREATE INDEX certificates_revoked ON certificates (revoked)"
	"  WHERE revoked IS NOT NULL;"
	"CREATE TABLE revoked_keys ("
	"  pubkey_hash BLOB PRIMARY KEY CHECK (length(pubkey_hash) = 32),"
	"  revoked INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"INSERT OR IGNORE INTO revoked_keys (pubkey_hash, revoked)"
	"  SELECT pubkey_hash, coalesce(provisioned_at, created) FROM devices"
	"  WHERE state = 'revoked' AND pubkey_hash IS NOT NULL;",
	/*
	 * 4: a group's own certificate policy: validity and how long after
	 * expiry a device may still renew.  NULL: the configuration's.
	 */
	"ALTER TABLE groups ADD COLUMN cert_days INTEGER"
	"  CHECK (cert_days IS NULL OR cert_days BETWEEN 1 AND 3650);"
	"ALTER TABLE groups ADD COLUMN renew_grace INTEGER"
	"  CHECK (renew_grace IS NULL OR renew_grace BETWEEN 0 AND 31536000);",
	/* 5: the inventory lists certificates by expiry. */
	"CREATE INDEX certificates_not_after ON certificates (not_after);",
	/*
	 * 6: the events outbox, written in the transaction of the change an
	 * event tells of; its id is the event's, for consumers to de-dup.
	 */
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  routing_key TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  created INTEGER NOT NULL"
	");",
	/*
	 * 7: a rotated secret gets a public id of its own, so that failures
	 * counted against the old one never touch the new; the previous id
	 * finds the group while the previous secret is in its overlap.
	 */
	"ALTER TABLE groups ADD COLUMN prev_public_id TEXT;"
	"CREATE UNIQUE INDEX groups_prev_public_id ON groups (prev_public_id)"
	"  WHERE prev_public_id IS NOT NULL;",
	/*
	 * 8: the audit chain (auditchain.h): each record holds the hash of
	 * the one before it and its own.  NULL only in records written
	 * before this step, which iotad chains once when it opens the
	 * registry (registry_audit_chain_backlog()).  The triggers keep
	 * iotad's own code from changing a chained record; they are no
	 * defence against someone holding the key, the chain is.
	 */
	"ALTER TABLE audit ADD COLUMN prev_hash BLOB"
	"  CHECK (prev_hash IS NULL OR length(prev_hash) = 32);"
	"ALTER TABLE audit ADD COLUMN hash BLOB"
	"  CHECK (hash IS NULL OR length(hash) = 32);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  WHEN OLD.hash IS NOT NULL BEGIN"
	"  SELECT RAISE(ABORT, 'audit records are never changed');"
	" END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
	"  SELECT RAISE(ABORT, 'audit records are never deleted');"
	" END;",
	/*
	 * 9: signed checkpoints of the audit chain: the head (record id and
	 * hash) at a time, signed by the CA signer (ca/checkpoint.c), so
	 * that a chain rewritten from scratch no longer matches them.
	 * `issuer` is the signing certificate's serial, to find it again.
	 */
	"CREATE TABLE audit_checkpoints ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  record_id INTEGER NOT NULL,"
	"  head BLOB NOT NULL CHECK (length(head) = 32),"
	"  at INTEGER NOT NULL,"
	"  issuer TEXT NOT NULL,"
	"  signature BLOB NOT NULL CHECK (length(signature) > 0)"
	");"
	"CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE"
	"  ON audit_checkpoints BEGIN"
	"  SELECT RAISE(ABORT, 'audit checkpoints are never changed');"
	" END;"
	"CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE"
	"  ON audit_checkpoints BEGIN"
	"  SELECT RAISE(ABORT, 'audit checkpoints are never deleted');"
	" END;",
	/*
	 * 10: metrics count provisioned devices by the end of their
	 * certificate (iota_certificates_expiring) at every scrape.
	 */
	"CREATE INDEX devices_not_after ON devices (not_after)"
	"  WHERE state = 'provisioned';",
	/*
	 * 11: an operator token has a name, unique in its tenant, so that
	 * a tenant holds several and revokes one (a revoked token's row is
	 * deleted; the audit keeps the revocation).  The oldest token of
	 * each tenant (the one its creation returned) is "initial", any
	 * other "token-ROWID".  The admin's token has none.
	 */
	"ALTER TABLE tokens ADD COLUMN name TEXT"
	"  CHECK (name IS NULL OR length(CAST(name AS BLOB)) BETWEEN 1 AND 64);"
	"UPDATE tokens SET name = 'initial' WHERE rowid IN"
	"  (SELECT min(rowid) FROM tokens WHERE tenant_id IS NOT NULL"
	"   GROUP BY tenant_id);"
	"UPDATE tokens SET name = 'token-' || rowid"
	"  WHERE tenant_id IS NOT NULL AND name IS NULL;"
	"CREATE UNIQUE INDEX tokens_tenant_name ON tokens (tenant_id, name)"
	"  WHERE tenant_id IS NOT NULL;",
};
const struct store_schema schema_registry = {
	registry_steps, (int)(sizeof(registry_steps) / sizeof(registry_steps[0]))
};

/*
 * The broker database, apart from the registry with a key of its own: the
 * credentials iotad made for each device at the broker.  The password is
 * kept because a retry after a lost answer must return the same one.
 */
static const char *const broker_steps[] = {
	/* 1: one row per device that has (or is getting) broker credentials. */
	"CREATE TABLE credentials ("
	"  device_id INTEGER PRIMARY KEY,"	/* the registry's devices.id */
	"  username TEXT NOT NULL UNIQUE,"
	"  password TEXT NOT NULL,"		/* '' with certificate login */
	"  vhost TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('pending', 'active')),"
	"  created INTEGER NOT NULL"
	");",
};

const struct store_schema schema_broker = {
	broker_steps, (int)(sizeof(broker_steps) / sizeof(broker_steps[0]))
};

int
schema_latest(const struct store_schema *schema)
{
	return schema->n;
}

static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int
user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* 0 when no row breaks a foreign key, 1 when one does, -1 on error. */
static int
foreign_keys_broken(sqlite3 *db)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* From version v to v + 1; the caller holds the write lock. */
static int
apply(sqlite3 *db, const struct store_schema *schema, int v, const char *name,
    char *err, size_t errlen)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
	if (exec(db, schema->steps[v]) != SQLITE_OK ||
	    exec(db, sql) != SQLITE_OK) {
		errbuf_set(err, errlen, "%s: cannot migrate to schema "
		    "version %d: %s", name, v + 1, sqlite3_errmsg(db));
		return -1;
	}
	if (foreign_keys_broken(db) != 0) {
		errbuf_set(err, errlen, "%s: schema version %d breaks a "
		    "foreign key", name, v + 1);
		return -1;
	}
	return 0;
}

/*
 * One step in its own transaction.  The version is read again under the
 * write lock: another process may have migrated in the meantime.
 */
static int
step(sqlite3 *db, const struct store_schema *schema, int *version,
    const char *name, char *err, size_t errlen)
{
	int v;

	if (exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		errbuf_set(err, errlen, "%s: cannot begin a migration: %s",
		    name, sqlite3_errmsg(db));
		return -1;
	}
	if (user_version(db, &v) == -1) {
		errbuf_set(err, errlen, "%s: cannot read the schema "
		    "version: %s", name, sqlite3_errmsg(db));
		goto fail;
	}
	if (v >= 0 && v < schema->n &&
	    apply(db, schema, v++, name, err, errlen) == -1)
		goto fail;
	if (exec(db, "COMMIT") != SQLITE_OK) {
		errbuf_set(err, errlen, "%s: cannot commit schema version "
		    "%d: %s", name, v, sqlite3_errmsg(db));
		goto fail;
	}
	*version = v;
	return 0;
fail:
	exec(db, "ROLLBACK");
	return -1;
}

int
schema_migrate(sqlite3 *db, const struct store_schema *schema,
    const char *name, char *err, size_t errlen)
{
	int v;

	if (user_version(db, &v) == -1) {
		errbuf_set(err, errlen, "%s: cannot read the schema "
		    "version: %s", name, sqlite3_errmsg(db));
		return -1;
	}
	while (v >= 0 && v < schema->n)
		if (step(db, schema, &v, name, err, errlen) == -1)
			return -1;
	if (v > schema->n) {
		errbuf_set(err, errlen, "%s: schema version %d is newer than "
		    "this iotad knows (%d): run a newer iotad", name, v,
		    schema->n);
		return -1;
	}
	if (v < 0) {
		errbuf_set(err, errlen, "%s: unknown schema version %d",
		    name, v);
		return -1;
	}
	return 0;
}
