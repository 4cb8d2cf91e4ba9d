/*
 * iotactl audit verify: walks the registry's audit chain and checks its
 * signed checkpoints.  A record whose contents no longer match its hash
 * was edited; one whose prev_hash is not the hash of the record before it
 * marks a record deleted, inserted or moved there; a checkpoint whose
 * record no longer holds the signed head marks a chain rewritten from
 * scratch.  One line per record or checkpoint that is wrong.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cadir.h"
#include "checkpoint.h"
#include "conf.h"
#include "registry.h"
#include "remote.h"
#include "store.h"

#define ISSUERS_MAX	64	/* the intermediate and archived ones */
#define EXIT_TAMPERED	1

struct audit_args {
	const char		*config;
	const char		*db;
	const char		*key_file;
	const char		*ca_dir;
	enum output_format	 format;
};

/* A checkpoint whose signature verified. */
struct signed_head {
	int64_t		 id, record_id, at;
	unsigned char	 head[AUDITCHAIN_HASH_LEN];
	int		 seen;		/* its record was found */
};

struct verify {
	enum output_format	 format;
	json_t			*findings;	/* -o json */
	int			 tampered;
	X509			*issuers[ISSUERS_MAX];
	size_t			 nissuers;
	struct signed_head	*heads;
	size_t			 nheads, ncheckpoints;
	/* the walk */
	int64_t			 records, first_id, last_id;
	unsigned char		 last_hash[AUDITCHAIN_HASH_LEN];
	int			 last_ok;	/* last_hash is a stored hash */
	int64_t			 covered;	/* by the newest good checkpoint */
	int64_t			 covered_at;
};

/* Findings: a line each, or an object of the JSON answer. */
static void
finding(struct verify *v, const char *kind, int64_t id, const char *msg)
{
	v->tampered = 1;
	if (v->format == OUTPUT_JSON)
		json_array_append_new(v->findings, json_pack("{s:I, s:s}",
		    kind, (json_int_t)id, "problem", msg));
	else
		printf("%s %lld: %s\n", kind, (long long)id, msg);
}

/* The CA's certificates that may have signed a checkpoint. */

static void
add_issuer(struct verify *v, X509 *cert)
{
	if (cert != NULL && v->nissuers < ISSUERS_MAX)
		v->issuers[v->nissuers++] = cert;
	else
		X509_free(cert);
}

static int
load_issuers(struct verify *v, const char *dir)
{
	struct cadir *cd;
	struct dirent *de;
	char name[512];
	DIR *d;
	size_t len;

	if ((cd = cadir_open(dir, 0)) == NULL) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	add_issuer(v, cadir_intermediate_cert(cd));
	if ((d = opendir(cadir_file(cd, CADIR_ARCHIVE))) != NULL) {
		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (len < 5 || strcmp(de->d_name + len - 4, ".crt") != 0)
				continue;
			snprintf(name, sizeof(name), "%s/%s", CADIR_ARCHIVE,
			    de->d_name);
			add_issuer(v, ca_cert_read(cadir_file(cd, name)));
		}
		closedir(d);
	}
	cadir_close(cd);
	if (v->nissuers == 0) {
		cli_error("%s: no intermediate certificate to check "
		    "checkpoints with", dir);
		return -1;
	}
	return 0;
}

/* Checkpoints: the ones with a good signature are kept for the walk. */

static int
signed_by_issuer(struct verify *v, const struct reg_checkpoint *c)
{
	struct ca_checkpoint_req r = { .record_id = c->record_id,
	    .at = (time_t)c->at };

	memcpy(r.head, c->head, sizeof(r.head));
	for (size_t i = 0; i < v->nissuers; i++)
		if (ca_checkpoint_verify(&r, c->sig, c->siglen,
		    v->issuers[i]) == 0)
			return 1;
	return 0;
}

static int
take_checkpoint(const struct reg_checkpoint *c, void *arg)
{
	struct verify *v = arg;
	struct signed_head *h;

	v->ncheckpoints++;
	if (c->malformed || !signed_by_issuer(v, c)) {
		finding(v, "checkpoint", c->id, c->malformed ? "malformed "
		    "head" : "its signature does not verify against the CA's "
		    "certificates (forged or changed)");
		return 0;
	}
	if ((h = reallocarray(v->heads, v->nheads + 1, sizeof(*h))) == NULL)
		return 1;
	v->heads = h;
	h += v->nheads++;
	h->id = c->id;
	h->record_id = c->record_id;
	h->at = c->at;
	memcpy(h->head, c->head, sizeof(h->head));
	h->seen = 0;
	return 0;
}

/* The walk. */

static int
hash_ok(const unsigned char *h, size_t len)
{
	return h != NULL && len == AUDITCHAIN_HASH_LEN;
}

/* "", or why the stored hashes do not hold the record and its place. */
static void
record_problems(struct verify *v, const struct reg_audit_row *row,
    char *why, size_t len)
{
	unsigned char h[AUDITCHAIN_HASH_LEN];
	const unsigned char *want = v->records == 0 ? auditchain_zero :
	    v->last_hash;
	size_t n = 0;

	why[0] = '\0';
	if (!hash_ok(row->hash, row->hash_len) ||
	    !hash_ok(row->prev_hash, row->prev_len)) {
		snprintf(why, len, "has no chain hashes (inserted, or its "
		    "hashes removed)");
		return;
	}
	if (auditchain_hash(row->prev_hash, &row->rec, h) == -1 ||
	    memcmp(h, row->hash, sizeof(h)) != 0)
		n += snprintf(why + n, len - n, "its contents do not match "
		    "its hash (edited, or moved to another id)");
	if ((v->records > 0 && !v->last_ok) ||
	    memcmp(row->prev_hash, want, AUDITCHAIN_HASH_LEN) == 0)
		return;
	if (n > 0 && n < len)
		n += snprintf(why + n, len - n, "; ");
	if (n >= len)
		return;
	if (v->records == 0)
		snprintf(why + n, len - n, "does not start the chain "
		    "(records before it deleted)");
	else
		snprintf(why + n, len - n, "does not follow record %lld (a "
		    "record deleted, inserted or moved between them)",
		    (long long)v->last_id);
}

/* The good checkpoints of this record: do they sign what it holds? */
static void
check_heads(struct verify *v, const struct reg_audit_row *row)
{
	char msg[160];

	for (size_t i = 0; i < v->nheads; i++) {
		struct signed_head *h = &v->heads[i];

		if (h->record_id != row->rec.id)
			continue;
		h->seen = 1;
		if (!hash_ok(row->hash, row->hash_len) ||
		    memcmp(row->hash, h->head, sizeof(h->head)) != 0) {
			snprintf(msg, sizeof(msg), "record %lld does not hold "
			    "the head it signed (the chain up to it was "
			    "rewritten)", (long long)h->record_id);
			finding(v, "checkpoint", h->id, msg);
		} else if (h->record_id >= v->covered) {
			v->covered = h->record_id;
			v->covered_at = h->at;
		}
	}
}

static int
walk_row(const struct reg_audit_row *row, void *arg)
{
	struct verify *v = arg;
	char why[256];

	record_problems(v, row, why, sizeof(why));
	if (why[0] != '\0')
		finding(v, "record", row->rec.id, why);
	check_heads(v, row);
	if (v->records++ == 0)
		v->first_id = row->rec.id;
	v->last_id = row->rec.id;
	v->last_ok = hash_ok(row->hash, row->hash_len);
	if (v->last_ok)
		memcpy(v->last_hash, row->hash, AUDITCHAIN_HASH_LEN);
	return 0;
}

/* Checkpoints whose record is gone: records were deleted. */
static void
missing_heads(struct verify *v)
{
	char msg[160];

	for (size_t i = 0; i < v->nheads; i++) {
		if (v->heads[i].seen)
			continue;
		snprintf(msg, sizeof(msg), "record %lld, which it signed, is "
		    "missing (records deleted)",
		    (long long)v->heads[i].record_id);
		finding(v, "checkpoint", v->heads[i].id, msg);
	}
}

/* One snapshot for both tables. */
static int
read_all(sqlite3 *db, struct verify *v, const char *path)
{
	int rc;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		cli_error("%s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	rc = registry_checkpoint_list(db, take_checkpoint, v) == REG_OK &&
	    registry_audit_walk(db, walk_row, v) == REG_OK ? 0 : -1;
	if (rc == -1)
		cli_error("cannot read the audit of %s: %s", path,
		    sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* The summary. */

static const char *
utc(int64_t at, char *buf, size_t len)
{
	time_t t = (time_t)at;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)at);
	return buf;
}

static void
print_text(const struct verify *v)
{
	char when[32];

	if (v->records == 0)
		printf("no audit records\n");
	else
		printf("%lld records (ids %lld to %lld), %zu checkpoints, "
		    "%zu with a good signature\n", (long long)v->records,
		    (long long)v->first_id, (long long)v->last_id,
		    v->ncheckpoints, v->nheads);
	if (v->tampered)
		;	/* the findings say more than what is covered */
	else if (v->records > 0 && v->covered == 0)
		printf("no good checkpoint covers any record yet: the "
		    "chain is not proven against a rewrite\n");
	else if (v->covered > 0 && v->covered < v->last_id)
		printf("records after %lld are not covered by a checkpoint "
		    "yet (%lld of them): their deletion could not be "
		    "proven\n", (long long)v->covered,
		    (long long)(v->last_id - v->covered));
	if (v->covered > 0)
		printf("newest good checkpoint: record %lld, signed %s\n",
		    (long long)v->covered, utc(v->covered_at, when,
		    sizeof(when)));
	printf("%s\n", v->tampered ? "audit chain: TAMPERED" :
	    "audit chain: intact");
}

static int
print_json(const struct verify *v)
{
	json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, "
	    "s:O}",
	    "intact", !v->tampered, "records", (json_int_t)v->records,
	    "first", (json_int_t)v->first_id, "last", (json_int_t)v->last_id,
	    "checkpoints", (json_int_t)v->ncheckpoints,
	    "good_checkpoints", (json_int_t)v->nheads,
	    "covered_through", v->covered > 0 ?
	    json_integer(v->covered) : json_null(),
	    "covered_at", v->covered > 0 ? json_integer(v->covered_at) :
	    json_null(), "uncovered", (json_int_t)(v->last_id - v->covered),
	    "findings", v->findings);

	int rc;

	if (o == NULL) {
		cli_error("out of memory");
		return -1;
	}
	rc = out_json(o) == 0 ? 0 : -1;
	json_decref(o);
	return rc;
}

/* Where: the configuration's paths, each overridden by its option. */

static int
resolve(const struct cli_cmd *cmd, struct audit_args *a,
    struct iotad_conf *conf, char *db, size_t dblen)
{
	char err[CONF_ERRLEN];

	if (a->config != NULL && conf_load(a->config, conf, err,
	    sizeof(err)) == -1) {
		cli_error("%s", err);
		return EXIT_USAGE;
	}
	if (a->key_file == NULL)
		a->key_file = conf->state.key_file;
	if (a->ca_dir == NULL)
		a->ca_dir = conf->ca.dir;
	if (a->db != NULL)
		snprintf(db, dblen, "%s", a->db);
	else if (conf->state.dir != NULL)
		snprintf(db, dblen, "%s/%s", conf->state.dir, REGISTRY_DB_NAME);
	if (db[0] == '\0' || a->key_file == NULL || a->ca_dir == NULL)
		return cli_usage_error(cmd, "-c FILE is required (or all of "
		    "--db, --key-file and --ca-dir)");
	return 0;
}

static sqlite3 *
open_db(const char *path, const char *key_file)
{
	unsigned char key[STORE_KEY_LEN];
	char err[512];
	sqlite3 *db;
	int version = 0;

	if (store_key_read(key_file, key, err, sizeof(err)) == -1) {
		cli_error("%s", err);
		return NULL;
	}
	db = store_db_open(path, key, &version, err, sizeof(err));
	OPENSSL_cleanse(key, sizeof(key));
	if (db == NULL)
		cli_error("%s", err);
	else if (version != schema_latest(&schema_registry)) {
		cli_error("%s: schema version %d, this iotactl reads %d: open "
		    "it with the matching iotad first", path, version,
		    schema_latest(&schema_registry));
		store_db_close(db);
		db = NULL;
	}
	return db;
}

static int
verify(struct verify *v, const struct audit_args *a, const char *path)
{
	sqlite3 *db;
	int rc;

	if (load_issuers(v, a->ca_dir) == -1 ||
	    (db = open_db(path, a->key_file)) == NULL)
		return EXIT_USAGE;
	rc = read_all(db, v, path);
	store_db_close(db);
	if (rc == -1)
		return EXIT_USAGE;
	missing_heads(v);
	if ((v->format == OUTPUT_JSON ? print_json(v) : (print_text(v), 0)) ==
	    -1)
		return EXIT_USAGE;
	return v->tampered ? EXIT_TAMPERED : 0;
}

static int
audit_option(const struct cli_cmd *cmd, void *args, int key, const char *val)
{
	struct audit_args *a = args;

	(void)key;
	return remote_parse_output(cmd, val, &a->format) != 0 ? EXIT_USAGE : 0;
}

static int
exec_verify(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct audit_args a = { .format = OUTPUT_TABLE };
	struct verify v = { 0 };
	struct iotad_conf conf;
	char db[4096] = "";
	int rc;

	memset(&conf, 0, sizeof(conf));
	if ((rc = cli_parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = cli_no_operands(cmd, argc, argv)) != 0 ||
	    (rc = resolve(cmd, &a, &conf, db, sizeof(db))) != 0)
		goto out;
	v.format = a.format;
	if (a.format == OUTPUT_JSON && (v.findings = json_array()) == NULL) {
		cli_error("out of memory");
		rc = EXIT_USAGE;
		goto out;
	}
	rc = verify(&v, &a, db);
out:
	for (size_t i = 0; i < v.nissuers; i++)
		X509_free(v.issuers[i]);
	free(v.heads);
	json_decref(v.findings);
	conf_free(&conf);
	return rc;
}

static const struct cli_opt verify_opts[] = {
	CLI_STR("config", 'c', "FILE", "iotad's configuration: the "
	    "registry, its key and the CA\ndirectory it names",
	    struct audit_args, config),
	CLI_STR("db", 0, "FILE", "another registry database (a copy, a "
	    "backup)\nthan the configuration's", struct audit_args, db),
	CLI_STR("key-file", 0, "FILE", "the database key (64 hex digits), "
	    "if not the\nconfiguration's state.key_file", struct audit_args,
	    key_file),
	CLI_STR("ca-dir", 0, "DIR", "the CA directory whose certificates "
	    "check the\ncheckpoints, if not the configuration's ca.dir",
	    struct audit_args, ca_dir),
	REMOTE_OUTPUT_OPT,
	CLI_OPT_END,
};

const struct cli_cmd cmd_audit_verify = {
	"audit verify",
	"check the registry's audit chain and checkpoints",
	"[-c FILE] [--db FILE] [--key-file FILE] [--ca-dir DIR] [-o FORMAT]",
	"Walk the audit records of iotad's registry and their hash chain,\n"
	"and check each signed checkpoint against the CA directory's\n"
	"intermediate and archived certificates. Every record edited,\n"
	"inserted, deleted or moved, and every checkpoint forged or no\n"
	"longer matching, is one line. Records after the newest checkpoint\n"
	"are not yet covered: deleting them cannot be proven. Exit 0 when\n"
	"intact, 1 when tampered, 2 on usage or I/O errors.",
	verify_opts,
	audit_option,
	exec_verify,
	0,
};
