/*
 * The audit chain on real SQLCipher databases, with the clock pinned:
 * the encoding byte for byte, records chained as they are written, the
 * records of a database older than the chain chained once, and iotad's
 * own code kept from changing a chained record.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "registry.h"
#include "store.h"
#include "tap.h"

#define NOW	((int64_t)1700000000)
#define STEPS_BEFORE_CHAIN	7	/* the schema without steps 8 and 9 */

static char dir[PATH_MAX / 2];
static char err[256];
static const unsigned char key[STORE_KEY_LEN] = { 1, 2, 3 };

static const char *
path(const char *name)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* The encoding. */

static size_t
put(unsigned char *p, const void *data, size_t len)
{
	memcpy(p, data, len);
	return len;
}

static size_t
put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	return (size_t)bytes;
}

static size_t
put_text(unsigned char *p, const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return put(p, "\0", 1);
	n += put(p, "\1", 1);
	n += put_be(p + n, strlen(s), 4);
	return n + put(p + n, s, strlen(s));
}

/* The bytes auditchain.h documents, written out here independently. */
static void
test_encoding(void)
{
	unsigned char buf[512], want[SHA256_DIGEST_LENGTH];
	unsigned char got[AUDITCHAIN_HASH_LEN], prev[AUDITCHAIN_HASH_LEN], h2[32];
	struct auditchain_record r = { .id = 5, .at = NOW, .has_tenant = 1,
	    .tenant_id = 3, .actor = auditchain_str("operator"),
	    .action = auditchain_str("group.create"),
	    .target = auditchain_str("sensors"),
	    .outcome = auditchain_str("ok"), .client = { NULL, 0 } };
	struct auditchain_record s;
	size_t n = 0;

	memset(prev, 0x11, sizeof(prev));
	n += put(buf, "iota audit record v1", 21);	/* with its NUL */
	n += put(buf + n, prev, 32);
	n += put_be(buf + n, 5, 8);
	n += put_be(buf + n, (uint64_t)NOW, 8);
	n += put(buf + n, "\1", 1);
	n += put_be(buf + n, 3, 8);
	n += put_text(buf + n, "operator");
	n += put_text(buf + n, "group.create");
	n += put_text(buf + n, "sensors");
	n += put_text(buf + n, "ok");
	n += put_text(buf + n, NULL);
	SHA256(buf, n, want);
	ok(auditchain_hash(prev, &r, got) == 0 && memcmp(got, want, 32) == 0,
	    "record hash: SHA-256 of the documented encoding");

	s = r;
	s.target = auditchain_str("sensor");
	s.outcome = auditchain_str("sok");
	ok(auditchain_hash(prev, &s, h2) == 0 && memcmp(got, h2, 32) != 0,
	    "  a byte moved from one field to the next changes it");
	s = r;
	s.client = auditchain_str("");
	ok(auditchain_hash(prev, &s, h2) == 0 && memcmp(got, h2, 32) != 0,
	    "  an empty text is not NULL");
	s = r;
	s.has_tenant = 0;
	s.tenant_id = 0;
	r.tenant_id = 0;
	auditchain_hash(prev, &r, got);
	ok(auditchain_hash(prev, &s, h2) == 0 && memcmp(got, h2, 32) != 0,
	    "  tenant NULL is not tenant 0");
	s = r;
	s.id = 6;
	ok(auditchain_hash(prev, &s, h2) == 0 && memcmp(got, h2, 32) != 0,
	    "  the id is hashed");
	s = r;
	s.target.len = 3;	/* "sen": a NUL-cut text is not the same */
	ok(auditchain_hash(prev, &s, h2) == 0 && memcmp(got, h2, 32) != 0,
	    "  the length is hashed");
	ok(auditchain_hash(auditchain_zero, &r, h2) == 0 &&
	    memcmp(got, h2, 32) != 0, "  and so is prev");
}

/* The database. */

static int
write_audit(sqlite3 *db, void *arg)
{
	const int *n = arg;
	struct reg_audit a = { NOW, REG_NONE, "device", "provision", "dev-1",
	    "unauthorized", "192.0.2.1" };

	for (int i = 0; i < *n; i++) {
		a.at = NOW + i;
		a.tenant_id = i % 2 ? i : REG_NONE;
		if (registry_audit(db, &a) != REG_OK)
			return REG_ERROR;
	}
	return 0;
}

struct walk {
	int64_t		 n, last_id, bad;
	unsigned char	 prev[AUDITCHAIN_HASH_LEN];
};

/* Each row follows the one before and matches its own hash. */
static int
check_row(const struct reg_audit_row *row, void *arg)
{
	struct walk *w = arg;
	unsigned char h[AUDITCHAIN_HASH_LEN];

	if (row->hash_len != 32 || row->prev_len != 32 ||
	    memcmp(row->prev_hash, w->prev, 32) != 0 ||
	    auditchain_hash(row->prev_hash, &row->rec, h) != 0 ||
	    memcmp(h, row->hash, 32) != 0 || row->rec.id != w->last_id + 1)
		w->bad++;
	if (row->hash_len == 32)
		memcpy(w->prev, row->hash, 32);
	w->last_id = row->rec.id;
	w->n++;
	return 0;
}

static int
walk_job(sqlite3 *db, void *arg)
{
	struct walk *w = arg;

	memset(w, 0, sizeof(*w));
	return registry_audit_walk(db, check_row, w);
}

static struct walk
walk(struct store *st)
{
	struct walk w;

	if (store_read(st, walk_job, &w, err, sizeof(err)) != 0)
		w.bad = -1;
	return w;
}

static int
raw_sql(sqlite3 *db, void *arg)
{
	return sqlite3_exec(db, arg, NULL, NULL, NULL) == SQLITE_OK ? 0 : 1;
}

static int
backlog_job(sqlite3 *db, void *arg)
{
	return registry_audit_chain_backlog(db, arg);
}

static int
head_job(sqlite3 *db, void *arg)
{
	unsigned char h[AUDITCHAIN_HASH_LEN];

	return registry_audit_head(db, arg, h);
}

static void
test_chained_writes(void)
{
	struct store *st;
	struct walk w;
	int n = 5;
	int64_t head = 0;

	st = store_open(path("new.db"), key, &schema_registry, err,
	    sizeof(err));
	if (!ok(st != NULL, "a new registry"))
		return;
	is_int(store_read(st, head_job, &head, err, sizeof(err)),
	    REG_NOT_FOUND, "an empty audit has no head");
	ok(store_write(st, write_audit, &n, err, sizeof(err)) == 0,
	    "five records in one transaction");
	ok(store_write(st, write_audit, &n, err, sizeof(err)) == 0,
	    "five more in another");
	w = walk(st);
	is_int(w.n, 10, "ten records");
	is_int(w.bad, 0, "each follows the one before, from 32 zero bytes, "
	    "ids 1..10, and matches its hash");
	ok(store_read(st, head_job, &head, err, sizeof(err)) == 0 &&
	    head == 10, "the head is record 10");
	ok(store_write(st, raw_sql, "UPDATE audit SET actor = 'x' "
	    "WHERE id = 3", err, sizeof(err)) != 0,
	    "a chained record cannot be changed by mistake");
	like(err, "never changed", "  and the trigger says why");
	ok(store_write(st, raw_sql, "DELETE FROM audit WHERE id = 10",
	    err, sizeof(err)) != 0, "nor deleted");
	store_close(st);
}

static void
test_backlog(void)
{
	struct store_schema old = { schema_registry.steps, STEPS_BEFORE_CHAIN };
	struct store *st;
	struct walk w;
	int64_t n = -1;
	int two = 2;

	st = store_open(path("old.db"), key, &old, err, sizeof(err));
	if (!ok(st != NULL, "a registry of schema %d", STEPS_BEFORE_CHAIN))
		return;
	ok(store_write(st, raw_sql, "INSERT INTO audit (at, tenant_id, actor,"
	    " action, target, outcome, client) VALUES"
	    " (1, NULL, 'admin', 'tenant.create', 'acme', 'ok', '::1'),"
	    " (2, 1, 'operator', 'group.create', 'g', 'ok', NULL),"
	    " (3, 1, 'device', 'provision', NULL, 'unauthorized', 'x');",
	    err, sizeof(err)) == 0, "three records without a chain");
	store_close(st);
	st = store_open(path("old.db"), key, &schema_registry, err,
	    sizeof(err));
	if (!ok(st != NULL, "migrated to schema %d",
	    schema_latest(&schema_registry)))
		return;
	w = walk(st);
	is_int(w.bad, 3, "the old records are not chained by the migration");
	ok(store_write(st, backlog_job, &n, err, sizeof(err)) == 0 && n == 3,
	    "chaining them: three");
	w = walk(st);
	ok(w.n == 3 && w.bad == 0, "then they verify as a chain");
	ok(store_write(st, backlog_job, &n, err, sizeof(err)) == 0 && n == 0,
	    "chaining again changes nothing");
	ok(store_write(st, write_audit, &two, err, sizeof(err)) == 0,
	    "new records after them");
	w = walk(st);
	ok(w.n == 5 && w.bad == 0, "continue the chain");
	store_close(st);
}

/* A record appended to an unchained backlog chains the backlog first. */
static void
test_backlog_on_write(void)
{
	struct store_schema old = { schema_registry.steps, STEPS_BEFORE_CHAIN };
	struct store *st;
	struct walk w;
	int one = 1;

	st = store_open(path("old2.db"), key, &old, err, sizeof(err));
	if (st == NULL)
		return;
	store_write(st, raw_sql, "INSERT INTO audit (at, actor, action,"
	    " outcome) VALUES (1, 'admin', 'a', 'ok'), (2, 'admin', 'b', 'ok')",
	    err, sizeof(err));
	store_close(st);
	st = store_open(path("old2.db"), key, &schema_registry, err,
	    sizeof(err));
	ok(st != NULL && store_write(st, write_audit, &one, err,
	    sizeof(err)) == 0, "a record written before the backlog is chained");
	w = walk(st);
	ok(w.n == 3 && w.bad == 0, "  chains the backlog first");
	store_close(st);
}

static void
remove_dir(void)
{
	static const char *const names[] = { "new.db", "old.db", "old2.db" };
	char name[64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		unlink(path(names[i]));
		snprintf(name, sizeof(name), "%s-wal", names[i]);
		unlink(path(name));
		snprintf(name, sizeof(name), "%s-shm", names[i]);
		unlink(path(name));
	}
	rmdir(dir);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/audit-test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! cannot create %s\n", dir);
		return 1;
	}
	test_encoding();
	test_chained_writes();
	test_backlog();
	test_backlog_on_write();
	remove_dir();
	return tap_done();
}
