/*
 * The store and the registry on real SQLCipher databases, in a private
 * directory removed at the end: keys, opening, migrations, encryption at
 * rest, every registry query, and group commit under concurrent writers.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "registry.h"
#include "store.h"
#include "tap.h"

#define MARKER		"iota-marker-5be1c0de"
#define NOW		((int64_t)1700000000)
#define THREADS		8
#define WRITES		50

static char dir[PATH_MAX / 2];	/* room for the names in it */
static char err[256];

static struct {
	struct store	*st;
	int64_t		 acme, globex;
	int64_t		 group, actuators;
	int64_t		 d1, d2, d3;
} fx;

/* Fixtures. */

static const char *
path(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static int
write_file(const char *name, const char *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path(name));
	if ((fd = open(path(name), O_WRONLY | O_CREAT | O_EXCL, mode)) == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* The whole file, or NULL if it does not exist. */
static unsigned char *
read_file(const char *file, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat sb;
	FILE *f;

	*len = 0;
	if ((f = fopen(file, "rb")) == NULL)
		return NULL;
	if (fstat(fileno(f), &sb) == 0 &&
	    (buf = malloc((size_t)sb.st_size + 1)) != NULL)
		*len = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	return buf;
}

/* 1 if the file holds the string, 0 if not or if there is no file. */
static int
file_contains(const char *file, const char *s)
{
	unsigned char *buf;
	size_t len, n = strlen(s);
	int found = 0;

	if ((buf = read_file(file, &len)) == NULL)
		return 0;
	for (size_t i = 0; !found && len >= n && i <= len - n; i++)
		found = memcmp(buf + i, s, n) == 0;
	free(buf);
	return found;
}

static void
remove_dir(void)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			unlink(path(de->d_name));
	closedir(d);
	rmdir(dir);
}

static void
hash(unsigned char h[REG_HASH_LEN], int c)
{
	memset(h, c, REG_HASH_LEN);
}

/* Read jobs. */

struct count {
	const char	*sql;	/* one optional text parameter */
	const char	*arg;
	int64_t		 n;
};

static int
job_count(sqlite3 *db, void *arg)
{
	struct count *c = arg;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, c->sql, -1, &st, NULL) != SQLITE_OK)
		return REG_ERROR;
	if (c->arg != NULL)
		sqlite3_bind_text(st, 1, c->arg, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		c->n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : REG_ERROR;
}

static int64_t
count(const char *sql, const char *arg)
{
	struct count c = { sql, arg, -1 };

	if (store_read(fx.st, job_count, &c, err, sizeof(err)) != 0)
		return -1;
	return c.n;
}

static int
tenant_exists(const char *name)
{
	return count("SELECT count(*) FROM tenants WHERE name = ?", name) == 1;
}

struct text {
	const char	*sql;
	char		 out[32];
};

static int
job_text(sqlite3 *db, void *arg)
{
	struct text *t = arg;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, t->sql, -1, &st, NULL) != SQLITE_OK)
		return REG_ERROR;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		snprintf(t->out, sizeof(t->out), "%s",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : REG_ERROR;
}

/* Write jobs. */

struct insert {
	const char	*name;
	const char	*fail_with;	/* then insert this one too */
};

static int
job_insert(sqlite3 *db, void *arg)
{
	struct insert *in = arg;
	int64_t id;
	int rc;

	if ((rc = registry_tenant_create(db, in->name, NOW, &id)) != REG_OK ||
	    in->fail_with == NULL)
		return rc;
	return registry_tenant_create(db, in->fail_with, NOW, &id);
}

/* Keys. */

static void
test_keys(void)
{
	unsigned char key[STORE_KEY_LEN], again[STORE_KEY_LEN];
	char hex[STORE_KEY_LEN * 2 + 3];
	struct stat sb;

	ok(store_key_create(path("db.key"), err, sizeof(err)) == 0,
	    "a new key file");
	ok(stat(path("db.key"), &sb) == 0 && (sb.st_mode & 07777) == 0600 &&
	    sb.st_size == 65, "it is 0600: 64 hex digits and a newline");
	ok(store_key_create(path("db.key"), err, sizeof(err)) == -1,
	    "an existing key file is never overwritten");
	like(err, "cannot create key file", "  and says so");
	ok(store_key_read(path("db.key"), key, err, sizeof(err)) == 0,
	    "the key file reads back");
	ok(store_key_create(path("other.key"), err, sizeof(err)) == 0 &&
	    store_key_read(path("other.key"), again, err, sizeof(err)) == 0 &&
	    memcmp(key, again, sizeof(key)) != 0, "two keys differ");

	memset(hex, 'a', 64);
	write_file("open.key", hex, 64, 0644);
	chmod(path("open.key"), 0644);
	ok(store_key_read(path("open.key"), key, err, sizeof(err)) == -1,
	    "a key file readable by others is refused");
	like(err, "group or others", "  and the error says why");
	ok(strstr(err, "aaaa") == NULL, "  without the key in it");
	write_file("short.key", hex, 63, 0600);
	ok(store_key_read(path("short.key"), key, err, sizeof(err)) == -1,
	    "63 hex digits are refused");
	like(err, "64 hex digits", "  and the error says why");
	hex[10] = 'g';
	write_file("bad.key", hex, 64, 0600);
	ok(store_key_read(path("bad.key"), key, err, sizeof(err)) == -1,
	    "a non-hex digit is refused");
	hex[10] = 'A';
	write_file("bare.key", hex, 64, 0600);
	ok(store_key_read(path("bare.key"), again, err, sizeof(err)) == 0 &&
	    again[5] == 0xaa && again[6] == 0xaa,
	    "no newline, either case: taken");
	hex[64] = '\n';
	hex[65] = '\n';
	write_file("long.key", hex, 66, 0600);
	ok(store_key_read(path("long.key"), key, err, sizeof(err)) == -1,
	    "trailing junk is refused");
	ok(store_key_read(path("none.key"), key, err, sizeof(err)) == -1,
	    "a missing key file is refused");
	like(err, "cannot open key file", "  and the error says so");
}

/* Opening. */

static void
test_open(const unsigned char key[STORE_KEY_LEN])
{
	struct text t = { "PRAGMA journal_mode", "" };
	struct stat sb;

	fx.st = store_open(path("iota.db"), key, &schema_registry, err, sizeof(err));
	if (!ok(fx.st != NULL, "a new database opens"))
		printf("#   %s\n", err);
	if (fx.st == NULL) {
		remove_dir();
		exit(tap_done());
	}
	is_int(store_schema_version(fx.st), schema_latest(&schema_registry),
	    "it is migrated to the latest schema");
	ok(schema_latest(&schema_registry) >= 1, "there is a schema");
	is_int(count("PRAGMA user_version", NULL), schema_latest(&schema_registry),
	    "user_version says so too");
	ok(store_read(fx.st, job_text, &t, err, sizeof(err)) == 0,
	    "a read job runs");
	is_str(t.out, "wal", "the journal is a write-ahead log");
	ok(stat(path("iota.db"), &sb) == 0 && (sb.st_mode & 077) == 0,
	    "the database file is private");
	ok(stat(path("iota.db-wal"), &sb) == 0 && (sb.st_mode & 077) == 0 &&
	    stat(path("iota.db-shm"), &sb) == 0 && (sb.st_mode & 077) == 0,
	    "  and so are its -wal and -shm");
}

/* Tenants and tokens. */

static int
job_tenants(sqlite3 *db, void *arg)
{
	char long_name[REG_NAME_MAX + 2];
	int64_t id, other;

	(void)arg;
	ok(registry_tenant_create(db, "acme", NOW, &fx.acme) == REG_OK &&
	    fx.acme > 0, "tenant created");
	is_int(registry_tenant_create(db, "acme", NOW, &id), REG_EXISTS,
	    "a duplicate tenant is REG_EXISTS");
	is_int(registry_tenant_create(db, "Acme", NOW, &id), REG_EXISTS,
	    "a tenant named as another but for case is REG_EXISTS");
	is_int(registry_tenant_create(db, "ACME", NOW, &id), REG_EXISTS,
	    "  in any case");
	is_int(registry_tenant_taken(db, "aCmE"), REG_EXISTS,
	    "registry_tenant_taken: taken in another case");
	is_int(registry_tenant_taken(db, "acme2"), REG_NOT_FOUND,
	    "registry_tenant_taken: a free name");
	is_int(registry_tenant_find(db, "Acme", &id), REG_NOT_FOUND,
	    "  and no tenant Acme was made");
	ok(registry_tenant_create(db, "globex", NOW, &fx.globex) == REG_OK,
	    "a second tenant");
	ok(registry_tenant_find(db, "acme", &id) == REG_OK && id == fx.acme,
	    "a tenant is found by name");
	is_int(registry_tenant_find(db, "nope", &id), REG_NOT_FOUND,
	    "a missing tenant is REG_NOT_FOUND");
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	is_int(registry_tenant_create(db, long_name, NOW, &id), REG_ERROR,
	    "a name over REG_NAME_MAX bytes is refused by the schema");
	long_name[REG_NAME_MAX] = '\0';
	ok(registry_tenant_create(db, long_name, NOW, &other) == REG_OK,
	    "a name of REG_NAME_MAX bytes is taken");
	ok(registry_tenant_create(db, MARKER, NOW, &id) == REG_OK,
	    "the marker tenant");
	return 0;
}

static int
job_tokens(sqlite3 *db, void *arg)
{
	unsigned char a[REG_HASH_LEN], b[REG_HASH_LEN], c[REG_HASH_LEN];
	int64_t tenant = 0;
	int admin = -1;

	(void)arg;
	hash(a, 0xa1);
	hash(b, 0xb2);
	hash(c, 0xc3);
	is_int(registry_token_add(db, a, fx.acme, "initial", NOW), REG_OK,
	    "operator token added");
	is_int(registry_token_add(db, a, fx.globex, "x", NOW), REG_EXISTS,
	    "the same hash again is REG_EXISTS");
	is_int(registry_token_add(db, b, REG_NONE, NULL, NOW), REG_OK,
	    "admin token added");
	is_int(registry_token_add(db, c, 9999, "x", NOW), REG_NOT_FOUND,
	    "a token for a missing tenant is REG_NOT_FOUND");
	ok(registry_token_lookup(db, a, &tenant, &admin) == REG_OK &&
	    tenant == fx.acme && admin == 0, "operator token found, scoped");
	ok(registry_token_lookup(db, b, &tenant, &admin) == REG_OK &&
	    tenant == REG_NONE && admin == 1, "admin token found, admin");
	is_int(registry_token_lookup(db, c, &tenant, &admin), REG_NOT_FOUND,
	    "an unknown token is REG_NOT_FOUND");
	is_int(registry_token_delete(db, b), REG_OK, "a token is deleted");
	is_int(registry_token_lookup(db, b, &tenant, &admin), REG_NOT_FOUND,
	    "  and no longer found");
	is_int(registry_token_delete(db, b), REG_NOT_FOUND,
	    "deleting it again is REG_NOT_FOUND");
	is_int(registry_token_add(db, c, fx.acme, "initial", NOW), REG_EXISTS,
	    "a token name taken in the tenant is REG_EXISTS");
	is_int(registry_token_add(db, c, fx.globex, "initial", NOW), REG_OK,
	    "  the same name in another tenant is not");
	is_int(registry_token_revoke(db, fx.acme, "nosuch"), REG_NOT_FOUND,
	    "revoking a name the tenant lacks is REG_NOT_FOUND");
	is_int(registry_token_revoke(db, fx.acme, "initial"), REG_OK,
	    "a named token is revoked");
	is_int(registry_token_lookup(db, a, &tenant, &admin), REG_NOT_FOUND,
	    "  and no longer found");
	ok(registry_token_lookup(db, c, &tenant, &admin) == REG_OK &&
	    tenant == fx.globex, "  the other tenant's token of that name is");
	return 0;
}

/* Groups. */

static int
list_groups(const struct reg_group *g, void *arg)
{
	char *names = arg;

	strcat(names, g->name);
	strcat(names, ",");
	return 0;
}

static int
stop_listing(const struct reg_group *g, void *arg)
{
	(void)g;
	(void)arg;
	return 1;
}

static void
groups_create(sqlite3 *db)
{
	unsigned char h[REG_HASH_LEN];
	int64_t id;

	hash(h, 0x11);
	ok(registry_group_create(db, fx.acme, "sensors", "pub-0001", h, 2,
	    REG_NONE, NOW, &fx.group) == REG_OK && fx.group > 0,
	    "group created");
	is_int(registry_group_create(db, fx.acme, "sensors", "pub-0002", h,
	    REG_NONE, REG_NONE, NOW, &id), REG_EXISTS,
	    "a duplicate group name in a tenant is REG_EXISTS");
	is_int(registry_group_create(db, fx.globex, "sensors", "pub-0003", h,
	    REG_NONE, REG_NONE, NOW, &id), REG_OK,
	    "another tenant may use the name");
	is_int(registry_group_create(db, fx.globex, "other", "pub-0001", h,
	    REG_NONE, REG_NONE, NOW, &id), REG_EXISTS,
	    "a duplicate public id is REG_EXISTS");
	is_int(registry_group_create(db, 9999, "orphan", "pub-0004", h,
	    REG_NONE, REG_NONE, NOW, &id), REG_NOT_FOUND,
	    "a group of a missing tenant is REG_NOT_FOUND");
	is_int(registry_group_create(db, fx.acme, "actuators", "pub-0005", h,
	    REG_NONE, NOW + 100, NOW, &fx.actuators), REG_OK,
	    "a second group");
}

static void
groups_find(sqlite3 *db)
{
	struct reg_group g;
	unsigned char h[REG_HASH_LEN];
	char names[256] = "";

	hash(h, 0x11);
	ok(registry_group_find(db, fx.acme, "sensors", &g) == REG_OK &&
	    g.id == fx.group && g.tenant_id == fx.acme, "group found");
	ok(strcmp(g.name, "sensors") == 0 &&
	    strcmp(g.public_id, "pub-0001") == 0 && g.quota == 2 &&
	    g.secret_expires == REG_NONE && !g.has_prev && g.created == NOW &&
	    memcmp(g.secret_hash, h, sizeof(h)) == 0 && g.devices == 0,
	    "  with its fields");
	ok(registry_group_find(db, fx.globex, "sensors", &g) == REG_OK &&
	    g.id != fx.group, "the other tenant's group is its own");
	is_int(registry_group_find(db, fx.globex, "actuators", &g),
	    REG_NOT_FOUND, "another tenant's group is REG_NOT_FOUND");
	ok(registry_group_by_public_id(db, "pub-0001", &g) == REG_OK &&
	    g.id == fx.group, "group found by public id");
	is_int(registry_group_by_public_id(db, "pub-9999", &g),
	    REG_NOT_FOUND, "an unknown public id is REG_NOT_FOUND");
	ok(registry_group_list(db, fx.acme, list_groups, names) == REG_OK,
	    "groups listed");
	is_str(names, "actuators,sensors,", "  by name, the tenant's only");
	is_int(registry_group_list(db, fx.acme, stop_listing, NULL),
	    REG_ERROR, "a callback that stops the listing makes it fail");
	names[0] = '\0';
	ok(registry_group_list(db, 9999, list_groups, names) == REG_OK &&
	    names[0] == '\0', "no groups: an empty listing");
}

static void
groups_change(sqlite3 *db)
{
	struct reg_group g;

	is_int(registry_group_set_quota(db, fx.group, REG_NONE), REG_OK,
	    "quota removed");
	ok(registry_group_find(db, fx.acme, "sensors", &g) == REG_OK &&
	    g.quota == REG_NONE, "  and reads back as none");
	is_int(registry_group_set_quota(db, fx.group, 3), REG_OK, "quota set");
	is_int(registry_group_set_quota(db, fx.group, -5), REG_ERROR,
	    "a negative quota is refused by the schema");
	is_int(registry_group_set_quota(db, 9999, 3), REG_NOT_FOUND,
	    "quota of a missing group is REG_NOT_FOUND");
	is_int(registry_group_set_expiry(db, fx.group, NOW + 100), REG_OK,
	    "expiry set");
	is_int(registry_group_set_expiry(db, 9999, NOW), REG_NOT_FOUND,
	    "expiry of a missing group is REG_NOT_FOUND");
	ok(registry_group_find(db, fx.acme, "sensors", &g) == REG_OK &&
	    g.quota == 3 && g.secret_expires == NOW + 100, "  both read back");
}

static void
groups_rotate(sqlite3 *db)
{
	unsigned char h1[REG_HASH_LEN], h2[REG_HASH_LEN], h3[REG_HASH_LEN];
	struct reg_group g;
	char old_id[REG_PUBLIC_ID_MAX + 1];
	int64_t until = 0;

	hash(h1, 0x11);
	hash(h2, 0x22);
	hash(h3, 0x33);
	ok(registry_group_find(db, fx.acme, "sensors", &g) == REG_OK,
	    "the group before its rotation");
	snprintf(old_id, sizeof(old_id), "%s", g.public_id);
	ok(registry_group_rotate_secret(db, fx.group, "rotated-id-1", h2,
	    REG_NONE, NOW + 60, &until) == REG_OK && until == NOW + 60,
	    "secret rotated");
	ok(registry_group_by_public_id(db, "rotated-id-1", &g) == REG_OK &&
	    g.id == fx.group, "  the new public id finds the group");
	ok(registry_group_by_public_id(db, old_id, &g) == REG_OK &&
	    g.id == fx.group, "  and the previous one still does (overlap)");
	ok(registry_group_find(db, fx.acme, "sensors", &g) == REG_OK &&
	    memcmp(g.secret_hash, h2, sizeof(h2)) == 0 && g.has_prev &&
	    memcmp(g.prev_secret_hash, h1, sizeof(h1)) == 0 &&
	    g.prev_valid_until == NOW + 60 && g.secret_expires == REG_NONE,
	    "  the old one valid until the overlap ends");
	registry_group_set_expiry(db, fx.group, NOW + 10);
	ok(registry_group_rotate_secret(db, fx.group, "rotated-id-2", h3,
	    NOW + 1000, NOW + 60, &until) == REG_OK && until == NOW + 10,
	    "an overlap never outlives the old secret's expiry");
	ok(registry_group_find(db, fx.acme, "sensors", &g) == REG_OK &&
	    memcmp(g.prev_secret_hash, h2, sizeof(h2)) == 0 &&
	    g.secret_expires == NOW + 1000, "  and the new expiry is set");
	is_int(registry_group_by_public_id(db, old_id, &g), REG_NOT_FOUND,
	    "two rotations later the first public id is gone");
	is_int(registry_group_rotate_secret(db, 9999, "rotated-id-3", h3,
	    REG_NONE, NOW, &until), REG_NOT_FOUND,
	    "rotating a missing group is REG_NOT_FOUND");
}

static int
job_groups(sqlite3 *db, void *arg)
{
	(void)arg;
	groups_create(db);
	groups_find(db);
	groups_change(db);
	groups_rotate(db);
	return 0;
}

/* Devices and certificates. */

static int
list_devices(const struct reg_device *d, void *arg)
{
	char *names = arg;

	strcat(names, d->name);
	strcat(names, ",");
	return 0;
}

static void
devices_add(sqlite3 *db)
{
	struct reg_device d;
	int64_t id;

	ok(registry_device_add(db, fx.group, "dev-1", NOW, &fx.d1) == REG_OK,
	    "device registered");
	is_int(registry_device_add(db, fx.group, "dev-1", NOW, &id),
	    REG_EXISTS, "a duplicate device is REG_EXISTS");
	is_int(registry_device_add(db, 9999, "dev-1", NOW, &id),
	    REG_NOT_FOUND, "a device of a missing group is REG_NOT_FOUND");
	ok(registry_device_add(db, fx.group, "dev-3", NOW, &fx.d3) == REG_OK &&
	    registry_device_add(db, fx.group, "dev-2", NOW, &fx.d2) == REG_OK,
	    "two more, after a refusal in the same job");
	is_int(registry_device_add(db, fx.actuators, "dev-1", NOW, &id),
	    REG_OK, "another group may use the name");
	ok(registry_device_find(db, fx.group, "dev-1", &d) == REG_OK &&
	    d.id == fx.d1 && d.group_id == fx.group &&
	    d.state == REG_DEVICE_REGISTERED && !d.has_pubkey &&
	    d.serial[0] == '\0' && d.not_after == REG_NONE &&
	    d.provisioned_at == REG_NONE && d.created == NOW,
	    "device found, registered, with no certificate");
	is_int(registry_device_find(db, fx.group, "nope", &d), REG_NOT_FOUND,
	    "a missing device is REG_NOT_FOUND");
	is_int(registry_device_find(db, fx.actuators, "dev-2", &d),
	    REG_NOT_FOUND, "a device of another group is REG_NOT_FOUND");
}

static void
devices_list(sqlite3 *db)
{
	char names[256] = "";
	int64_t total = 0, n = -1;

	ok(registry_device_list(db, fx.group, 0, 2, list_devices, names,
	    &total) == REG_OK && total == 3, "devices listed, with the total");
	is_str(names, "dev-1,dev-2,", "  a page, by name");
	names[0] = '\0';
	ok(registry_device_list(db, fx.group, 2, 10, list_devices, names,
	    &total) == REG_OK && total == 3, "the next page");
	is_str(names, "dev-3,", "  holds the rest");
	names[0] = '\0';
	ok(registry_device_list(db, fx.group, 0, REG_NONE, list_devices,
	    names, &total) == REG_OK, "no limit");
	is_str(names, "dev-1,dev-2,dev-3,", "  lists all");
	ok(registry_device_provisioned_count(db, fx.group, &n) == REG_OK &&
	    n == 0, "nothing provisioned yet");
}

static void
devices_provision(sqlite3 *db)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	unsigned char pk[REG_HASH_LEN], *copy = NULL;
	struct reg_device d;
	struct reg_group g;
	size_t len = 0;
	int64_t n = -1;

	hash(pk, 0x5a);
	is_int(registry_cert_insert(db, "0A01", fx.d1, der, sizeof(der),
	    NOW + 86400, NOW), REG_OK, "certificate recorded");
	is_int(registry_cert_insert(db, "0A01", fx.d2, der, sizeof(der),
	    NOW + 86400, NOW), REG_EXISTS, "a duplicate serial is REG_EXISTS");
	is_int(registry_cert_insert(db, "0A02", 9999, der, sizeof(der),
	    NOW + 86400, NOW), REG_NOT_FOUND,
	    "a certificate of a missing device is REG_NOT_FOUND");
	is_int(registry_cert_insert(db, "0A03", fx.d1, der, 0, NOW, NOW),
	    REG_ERROR, "an empty certificate is refused");
	is_int(registry_device_set_provisioned(db, fx.d2, pk, "0A01",
	    NOW + 86400, NOW), REG_NOT_FOUND,
	    "another device's certificate is REG_NOT_FOUND");
	is_int(registry_device_set_provisioned(db, fx.d1, pk, "0A01",
	    NOW + 86400, NOW + 1), REG_OK, "device provisioned");
	ok(registry_device_find(db, fx.group, "dev-1", &d) == REG_OK &&
	    d.state == REG_DEVICE_PROVISIONED && d.has_pubkey &&
	    memcmp(d.pubkey_hash, pk, sizeof(pk)) == 0 &&
	    strcmp(d.serial, "0A01") == 0 && d.not_after == NOW + 86400 &&
	    d.provisioned_at == NOW + 1, "  with its key, serial and dates");
	is_int(registry_device_set_provisioned(db, fx.d1, pk, "0A01",
	    NOW + 86400, NOW), REG_STATE,
	    "provisioning a provisioned device is REG_STATE");
	is_int(registry_device_set_provisioned(db, 9999, pk, "0A01",
	    NOW + 86400, NOW), REG_NOT_FOUND,
	    "provisioning a missing device is REG_NOT_FOUND");
	ok(registry_device_provisioned_count(db, fx.group, &n) == REG_OK &&
	    n == 1, "one device provisioned");
	ok(registry_group_find(db, fx.acme, "sensors", &g) == REG_OK &&
	    g.devices == 3 && g.provisioned == 1, "  the group counts agree");
	ok(registry_cert_der(db, "0A01", &copy, &len) == REG_OK &&
	    len == sizeof(der) && memcmp(copy, der, len) == 0,
	    "the certificate reads back");
	free(copy);
	is_int(registry_cert_der(db, "FFFF", &copy, &len), REG_NOT_FOUND,
	    "an unknown serial is REG_NOT_FOUND");
}

static int
count_revoked(const struct reg_cert *c, const unsigned char *der, size_t len,
    void *arg)
{
	int *n = arg;

	(void)der;
	(void)len;
	*n += c->revoked != REG_NONE;
	return 0;
}

/* A revoked device's key is banned, and its certificates listed. */
static void
revoked_keys(sqlite3 *db)
{
	unsigned char pk[REG_HASH_LEN], other[REG_HASH_LEN];
	struct reg_cert c;
	int64_t id;
	int n = 0;

	hash(pk, 0x6c);
	hash(other, 0x6d);
	is_int(registry_key_revoked(db, pk), REG_NOT_FOUND,
	    "a key never revoked is not banned");
	ok(registry_device_add(db, fx.group, "dev-k", NOW, &id) == REG_OK &&
	    registry_cert_insert(db, "0C01", id, pk, sizeof(pk), NOW + 99, NOW)
	    == REG_OK && registry_device_set_provisioned(db, id, pk, "0C01",
	    NOW + 99, NOW) == REG_OK, "dev-k provisioned");
	is_int(registry_device_revoke(db, id, NOW + 7, CRL_REASON_KEY_COMPROMISE),
	    REG_OK, "dev-k revoked for key compromise");
	is_int(registry_key_revoked(db, pk), REG_OK, "  its key is banned");
	is_int(registry_key_revoked(db, other), REG_NOT_FOUND,
	    "  another key is not");
	ok(registry_cert_find(db, "0C01", &c, NULL, NULL) == REG_OK &&
	    c.revoked == NOW + 7 && c.reason == CRL_REASON_KEY_COMPROMISE &&
	    c.device_id == id && c.not_after == NOW + 99,
	    "  its certificate: revoked at that time, for that reason");
	is_int(registry_device_enable(db, id), REG_OK, "dev-k enabled");
	is_int(registry_key_revoked(db, pk), REG_OK,
	    "  its old key stays banned after enable forgot it");
	is_int(registry_revoked_list(db, id, count_revoked, &n), REG_OK,
	    "revoked certificates of one device listed");
	is_int(n, 1, "  one");
	n = 0;
	is_int(registry_revoked_list(db, REG_NONE, count_revoked, &n), REG_OK,
	    "revoked certificates of all devices listed");
	is_int(n, 3, "  three: dev-1's two and dev-k's");
	is_int(registry_cert_find(db, "FFFF", &c, NULL, NULL), REG_NOT_FOUND,
	    "an unknown serial is not found");
}

static void
devices_revoke(sqlite3 *db)
{
	unsigned char pk[REG_HASH_LEN];
	struct reg_device d;

	hash(pk, 0x5b);
	is_int(registry_group_delete(db, fx.group), REG_STATE,
	    "a group with a provisioned device is not deleted");
	is_int(registry_device_enable(db, fx.d1), REG_OK, "device enabled");
	ok(registry_device_find(db, fx.group, "dev-1", &d) == REG_OK &&
	    d.state == REG_DEVICE_REGISTERED && !d.has_pubkey &&
	    strcmp(d.serial, "0A01") == 0, "  registered, its key forgotten");
	is_int(registry_group_delete(db, fx.group), REG_STATE,
	    "a group with a live certificate is not deleted");
	is_int(registry_device_revoke(db, fx.d1, NOW + 5, 0), REG_OK,
	    "device revoked");
	ok(registry_device_find(db, fx.group, "dev-1", &d) == REG_OK &&
	    d.state == REG_DEVICE_REVOKED, "  and says so");
	is_int(registry_device_revoke(db, fx.d1, NOW + 9, 0), REG_OK,
	    "revoking again is fine");
	is_int(registry_cert_insert(db, "0B01", fx.d1, pk, sizeof(pk), NOW,
	    NOW), REG_OK, "a second certificate for it");
	is_int(registry_device_set_provisioned(db, fx.d1, pk, "0B01", NOW,
	    NOW), REG_STATE, "a revoked device does not provision");
	is_int(registry_device_revoke(db, 9999, NOW, 0), REG_NOT_FOUND,
	    "revoking a missing device is REG_NOT_FOUND");
	is_int(registry_device_enable(db, 9999), REG_NOT_FOUND,
	    "enabling a missing device is REG_NOT_FOUND");
	is_int(registry_device_revoke(db, fx.d1, NOW + 5, 0), REG_OK,
	    "revoked once more, for its new certificate");
	revoked_keys(db);
}

static void
devices_delete(sqlite3 *db)
{
	unsigned char *copy = NULL;
	struct reg_group g;
	struct reg_device d;
	size_t len;

	is_int(registry_group_delete(db, fx.group), REG_OK,
	    "a group with only revoked certificates is deleted");
	is_int(registry_group_find(db, fx.acme, "sensors", &g), REG_NOT_FOUND,
	    "  it is gone");
	is_int(registry_device_find(db, fx.group, "dev-2", &d), REG_NOT_FOUND,
	    "  with its devices");
	ok(registry_cert_der(db, "0A01", &copy, &len) == REG_OK,
	    "  its certificates stay on record");
	free(copy);
	is_int(registry_group_delete(db, fx.group), REG_NOT_FOUND,
	    "deleting it again is REG_NOT_FOUND");
}

static int
job_devices(sqlite3 *db, void *arg)
{
	(void)arg;
	devices_add(db);
	devices_list(db);
	devices_provision(db);
	devices_revoke(db);
	return 0;
}

static int
job_delete(sqlite3 *db, void *arg)
{
	(void)arg;
	devices_delete(db);
	return 0;
}

static int
job_audit(sqlite3 *db, void *arg)
{
	struct reg_audit a = { NOW, REG_NONE, "device", "provision",
	    "sensors/dev-1", "unauthorized", "192.0.2.1" };

	(void)arg;
	is_int(registry_audit(db, &a), REG_OK, "audit entry written");
	a.tenant_id = fx.acme;
	a.target = NULL;
	a.client = NULL;
	is_int(registry_audit(db, &a), REG_OK, "  target and client optional");
	a.actor = NULL;
	is_int(registry_audit(db, &a), REG_ERROR, "an actor is not");
	return 0;
}

static void
test_registry(void)
{
	ok(store_write(fx.st, job_tenants, NULL, err, sizeof(err)) == 0,
	    "tenants job committed");
	ok(store_write(fx.st, job_tokens, NULL, err, sizeof(err)) == 0,
	    "tokens job committed");
	ok(store_write(fx.st, job_groups, NULL, err, sizeof(err)) == 0,
	    "groups job committed");
	ok(store_write(fx.st, job_devices, NULL, err, sizeof(err)) == 0,
	    "devices job committed");
	is_int(count("SELECT revoked FROM certificates WHERE serial = ?",
	    "0A01"), NOW + 5, "revocation dates the certificate, once");
	ok(store_write(fx.st, job_delete, NULL, err, sizeof(err)) == 0,
	    "delete job committed");
	is_int(count("SELECT count(*) FROM certificates WHERE serial = ? AND "
	    "device_id IS NULL", "0A01"), 1, "a deleted device's certificate "
	    "loses only its device");
	ok(store_write(fx.st, job_audit, NULL, err, sizeof(err)) == 0,
	    "audit job committed");
	is_int(count("SELECT count(*) FROM audit", NULL), 2,
	    "two audit entries");
	is_str(registry_strerror(REG_EXISTS), "already exists",
	    "codes have words");
	is_str(registry_strerror(42), "unknown error", "  even unknown ones");
	is_str(registry_device_state_name(REG_DEVICE_REVOKED), "revoked",
	    "states have names");
}

/* Jobs that fail. */

struct nested {
	int	rc;
	char	err[128];
};

static int
job_nested(sqlite3 *db, void *arg)
{
	struct nested *n = arg;
	struct insert in = { "nested", NULL };

	(void)db;
	n->rc = store_write(fx.st, job_insert, &in, n->err, sizeof(n->err));
	return 0;
}

static void
test_failing_jobs(void)
{
	struct insert in = { "alone", "acme" };
	struct nested n = { 0, "" };

	is_int(store_write(fx.st, job_insert, &in, err, sizeof(err)),
	    REG_EXISTS, "a failing job gets its own code back");
	like(err, "UNIQUE", "  and SQLite's reason");
	ok(!tenant_exists("alone"), "  and what it did before is undone");
	in.name = "by-reader";
	in.fail_with = NULL;
	ok(store_read(fx.st, job_insert, &in, err, sizeof(err)) != 0,
	    "a read job cannot write");
	like(err, "readonly", "  and says so");
	ok(!tenant_exists("by-reader"), "  and wrote nothing");
	ok(store_write(fx.st, job_nested, &n, err, sizeof(err)) == 0 &&
	    n.rc == STORE_ERROR, "store_write() inside a write job is refused");
	like(n.err, "inside a write job", "  and says so");
}

/* Secrets at rest. */

static void
test_encrypted(void)
{
	unsigned char *head;
	sqlite3 *db = NULL;
	size_t len;
	int rc;

	ok(tenant_exists(MARKER), "the marker is stored");
	head = read_file(path("iota.db"), &len);
	ok(head != NULL && len >= 16 &&
	    memcmp(head, "SQLite format 3", 16) != 0,
	    "the file has no SQLite header");
	free(head);
	ok(!file_contains(path("iota.db"), MARKER),
	    "the marker is not in the database in plaintext");
	ok(access(path("iota.db-wal"), F_OK) == 0 &&
	    !file_contains(path("iota.db-wal"), MARKER),
	    "  nor in its write-ahead log");
	sqlite3_open_v2(path("iota.db"), &db, SQLITE_OPEN_READONLY, NULL);
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL,
	    NULL, NULL);
	is_int(rc, SQLITE_NOTADB, "plain SQLite cannot read it");
	sqlite3_close(db);
}

/* Reopening. */

static void
test_reopen(const unsigned char key[STORE_KEY_LEN],
    const unsigned char other[STORE_KEY_LEN])
{
	struct store *st;
	unsigned char *text;
	size_t len;

	store_close(fx.st);
	ok(!file_contains(path("iota.db"), MARKER),
	    "after the checkpoint, still no plaintext");
	st = store_open(path("iota.db"), other, &schema_registry, err, sizeof(err));
	ok(st == NULL, "the wrong key is refused");
	like(err, "wrong key", "  with a clear error");
	store_close(st);
	fx.st = store_open(path("iota.db"), key, &schema_registry, err, sizeof(err));
	if (!ok(fx.st != NULL, "reopened with its key"))
		printf("#   %s\n", err);
	if (fx.st == NULL) {
		remove_dir();
		exit(tap_done());
	}
	ok(tenant_exists(MARKER) && tenant_exists("acme"),
	    "the data is still there");
	ok(count("SELECT count(*) FROM audit", NULL) == 2, "  all of it");

	write_file("text.db", "not a database\n", 15, 0600);
	ok(store_open(path("text.db"), key, &schema_registry, err, sizeof(err)) == NULL,
	    "a file that is not a database is refused");
	like(err, "not an iota database", "  with a clear error");
	text = read_file(path("text.db"), &len);
	ok(text != NULL && len == 15 && memcmp(text, "not a", 5) == 0,
	    "  and left as it was");
	free(text);
	ok(store_open(path("nodir/x.db"), key, &schema_registry, err, sizeof(err)) == NULL,
	    "a database in a missing directory is refused");
	like(err, "cannot create", "  with a clear error");
	like(err, "nodir/x.db", "  naming the file");
}

static void
test_newer_schema(const unsigned char key[STORE_KEY_LEN])
{
	char pragma[STORE_KEY_LEN * 2 + 4], sql[64];
	struct store *st;
	sqlite3 *db = NULL;

	st = store_open(path("new.db"), key, &schema_registry, err, sizeof(err));
	ok(st != NULL, "a second database");
	store_close(st);

	pragma[0] = 'x';
	pragma[1] = '\'';
	for (int i = 0; i < STORE_KEY_LEN; i++)
		snprintf(pragma + 2 + 2 * i, 3, "%02x", key[i]);
	strcat(pragma, "'");
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    schema_latest(&schema_registry) + 1);
	sqlite3_open_v2(path("new.db"), &db, SQLITE_OPEN_READWRITE, NULL);
	ok(sqlite3_key(db, pragma, (int)strlen(pragma)) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK,
	    "its schema version set past the latest");
	sqlite3_close(db);

	st = store_open(path("new.db"), key, &schema_registry, err, sizeof(err));
	ok(st == NULL, "a database newer than the code is refused");
	like(err, "newer than this iotad", "  with a clear error");
	store_close(st);
}

/* The groups' device counters: backfilled by the migration, kept by triggers. */

static int
job_counts_v1(sqlite3 *db, void *arg)
{
	(void)arg;
	return sqlite3_exec(db,
	    "INSERT INTO tenants (name, created) VALUES ('t', 1);"
	    "INSERT INTO groups (tenant_id, name, public_id, secret_hash,"
	    " created) VALUES (1, 'g', 'p1', zeroblob(32), 1),"
	    " (1, 'h', 'p2', zeroblob(32), 1);"
	    "INSERT INTO devices (group_id, name, created) VALUES"
	    " (1, 'a', 1), (1, 'b', 1), (1, 'c', 1), (1, 'd', 1), (2, 'x', 1);"
	    "UPDATE devices SET state = 'provisioned' WHERE name IN ('a', 'b');",
	    NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* 1 when every group's counters are what counting its devices says. */
static int
counters_true(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t wrong = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM groups g WHERE"
	    " g.device_count != (SELECT count(*) FROM devices d"
	    "  WHERE d.group_id = g.id) OR g.provisioned_count !="
	    " (SELECT count(*) FROM devices d WHERE d.group_id = g.id"
	    "  AND d.state = 'provisioned')", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		wrong = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return wrong == 0;
}

struct counts {
	const char	*step;
	int64_t		 devices, provisioned;
};

static void
counts_are(sqlite3 *db, const struct counts *want)
{
	struct reg_group g;

	memset(&g, 0, sizeof(g));
	registry_group_find(db, 1, "g", &g);
	ok(g.devices == want->devices && g.provisioned == want->provisioned &&
	    counters_true(db), "counters after %s: %lld devices, %lld "
	    "provisioned, and every group's counters true", want->step,
	    (long long)g.devices, (long long)g.provisioned);
}

static int
job_counts(sqlite3 *db, void *arg)
{
	static const struct counts after[] = {
		{ "the migration", 4, 2 },
		{ "a registration", 5, 2 },
		{ "a provisioning", 5, 3 },
		{ "a revocation", 5, 2 },
		{ "a re-enable of a revoked device", 5, 2 },
		{ "an update that leaves the state", 5, 2 },
		{ "a deleted provisioned device", 4, 1 },
	};
	static const char *const sql[] = {
		NULL,
		"INSERT INTO devices (group_id, name, created) VALUES (1, 'e', 1)",
		"UPDATE devices SET state = 'provisioned' WHERE name = 'e'",
		"UPDATE devices SET state = 'revoked' WHERE name = 'a'",
		"UPDATE devices SET state = 'registered' WHERE name = 'a'",
		"UPDATE devices SET not_after = 5 WHERE group_id = 1",
		"DELETE FROM devices WHERE name = 'b'",
	};
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
		if (sql[i] != NULL && sqlite3_exec(db, sql[i], NULL, NULL,
		    NULL) != SQLITE_OK)
			return -1;
		counts_are(db, &after[i]);
	}
	return 0;
}

static void
test_counters(const unsigned char key[STORE_KEY_LEN])
{
	const struct store_schema v1 = { schema_registry.steps, 1 };
	struct store *st;

	st = store_open(path("counts.db"), key, &v1, err, sizeof(err));
	ok(st != NULL && store_write(st, job_counts_v1, NULL, err,
	    sizeof(err)) == 0, "a registry of schema 1 with devices");
	store_close(st);
	st = store_open(path("counts.db"), key, &schema_registry, err,
	    sizeof(err));
	ok(st != NULL, "it opens at the latest schema: %s", st ? "" : err);
	if (st != NULL)
		ok(store_write(st, job_counts, NULL, err, sizeof(err)) == 0,
		    "the counters' job ran");
	store_close(st);
}

/* Group commit. */

struct worker {
	pthread_t	 thread;
	int		 id;
	int		 failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char name[32], e[128];
	struct insert in = { name, NULL };

	for (int i = 0; i < WRITES; i++) {
		snprintf(name, sizeof(name), "gc-%d-%d", w->id, i);
		if (store_write(fx.st, job_insert, &in, e, sizeof(e)) != 0)
			w->failures++;
	}
	return NULL;
}

static void
test_group_commit(void)
{
	struct worker w[THREADS];
	uint64_t before, commits;
	int failures = 0;

	before = store_commits(fx.st);
	for (int i = 0; i < THREADS; i++) {
		w[i].id = i;
		w[i].failures = 0;
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		failures += w[i].failures;
	}
	commits = store_commits(fx.st) - before;
	is_int(failures, 0, "%d threads x %d writes all succeed", THREADS,
	    WRITES);
	is_int(count("SELECT count(*) FROM tenants WHERE name LIKE 'gc-%'",
	    NULL), THREADS * WRITES, "  every row is there");
	ok(commits < THREADS * WRITES, "  in fewer commits than writes");
	printf("# %d writes in %llu commits\n", THREADS * WRITES,
	    (unsigned long long)commits);
}

/* A job that holds the writer until released, so that others queue up. */
struct gate {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 entered, released;
};

static int
job_gate(sqlite3 *db, void *arg)
{
	struct gate *g = arg;
	int64_t id;

	pthread_mutex_lock(&g->mu);
	g->entered = 1;
	pthread_cond_broadcast(&g->cv);
	while (!g->released)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return registry_tenant_create(db, "batch-a", NOW, &id);
}

struct writer {
	pthread_t	 thread;
	store_job	 fn;
	void		*arg;
	int		 rc;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	char e[128];

	w->rc = store_write(fx.st, w->fn, w->arg, e, sizeof(e));
	return NULL;
}

static void
start_writer(struct writer *w, store_job fn, void *arg)
{
	w->fn = fn;
	w->arg = arg;
	w->rc = -2;
	pthread_create(&w->thread, NULL, writer_main, w);
}

/* Polls a condition the store exposes; gives up after about 10 s. */
static int
wait_pending(size_t n)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 10000; i++) {
		if (store_pending(fx.st) == n)
			return 1;
		nanosleep(&ms, NULL);
	}
	return 0;
}

static void
test_batch(void)
{
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    0, 0 };
	struct insert b = { "batch-b", NULL }, c = { "batch-c", "acme" },
	    d = { "batch-d", NULL };
	struct writer wa, wb, wc, wd;
	uint64_t before;

	before = store_commits(fx.st);
	start_writer(&wa, job_gate, &g);
	pthread_mutex_lock(&g.mu);
	while (!g.entered)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);
	start_writer(&wb, job_insert, &b);
	start_writer(&wc, job_insert, &c);
	start_writer(&wd, job_insert, &d);
	ok(wait_pending(3), "three jobs queue behind a running batch");
	ok(count("SELECT count(*) FROM tenants", NULL) > 0,
	    "a read runs while the writer holds its transaction");
	pthread_mutex_lock(&g.mu);
	g.released = 1;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	pthread_join(wa.thread, NULL);
	pthread_join(wb.thread, NULL);
	pthread_join(wc.thread, NULL);
	pthread_join(wd.thread, NULL);
	is_int(store_commits(fx.st) - before, 2, "two batches, two commits");
	ok(wa.rc == 0 && wb.rc == 0 && wd.rc == 0, "the good jobs succeed");
	is_int(wc.rc, REG_EXISTS, "the failing one gets its code");
	ok(tenant_exists("batch-a") && tenant_exists("batch-b") &&
	    tenant_exists("batch-d"), "the others' rows are committed");
	ok(!tenant_exists("batch-c"), "the failing job's row is not");
}

int
main(void)
{
	unsigned char key[STORE_KEY_LEN], other[STORE_KEY_LEN];
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/store-test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! cannot create %s\n", dir);
		return 1;
	}
	test_keys();
	if (store_key_read(path("db.key"), key, err, sizeof(err)) == -1 ||
	    store_key_read(path("other.key"), other, err, sizeof(err)) == -1) {
		printf("Bail out! %s\n", err);
		remove_dir();
		return 1;
	}
	test_open(key);
	test_registry();
	test_failing_jobs();
	test_encrypted();
	test_reopen(key, other);
	test_group_commit();
	test_batch();
	store_close(fx.st);
	test_newer_schema(key);
	test_counters(key);
	remove_dir();
	return tap_done();
}
