/*
 * The SQLCipher store: key files, opening (key first, then proof of the
 * key), migrations, the writer thread that group-commits store_write()
 * jobs, and the pool of read connections.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "encode.h"
#include "errbuf.h"
#include "prom.h"
#include "store.h"

#define KEY_HEX_LEN	(2 * STORE_KEY_LEN)
#define BUSY_MS		5000	/* another process holding the database */
#define READERS_MAX	8	/* read connections kept open */
/* Jobs per commit: a flood is still answered in bounded batches. */
#define BATCH_MAX	512

struct job {
	store_job	 fn;
	void		*arg;
	char		*err;		/* the caller's; the writer fills it */
	size_t		 errlen;
	int		 rc;
	int		 done;
	struct job	*next;
};

struct store {
	char		*path;
	unsigned char	 key[STORE_KEY_LEN];	/* for new read connections */
	int		 version;
	sqlite3		*wdb;		/* the writer thread's alone */
	pthread_t	 writer;
	int		 running;	/* the writer thread exists */
	pthread_mutex_t	 mu;		/* everything below */
	pthread_cond_t	 work;		/* jobs queued, or closing */
	pthread_cond_t	 done;		/* a batch is finished */
	pthread_cond_t	 idle;		/* a read connection is back */
	struct job	*head, *tail;
	size_t		 pending;
	int		 closing;
	uint64_t	 commits;
	/* store_observe_commits(): set while the writer runs */
	struct metric_histogram *_Atomic commit_seconds;
	sqlite3		*readers[READERS_MAX];	/* idle ones */
	size_t		 nidle, nreaders;
};

/* Key files. */

/* Reads until EOF or a full buffer. */
static ssize_t
read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = read(fd, buf + got, len - got)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int
write_full(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A new file's name is durable only once its directory is synced. */
static int
sync_parent(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc;

	if (strlen(path) >= sizeof(copy)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(copy, path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
store_key_create(const char *path, char *err, size_t errlen)
{
	unsigned char key[STORE_KEY_LEN];
	char hex[KEY_HEX_LEN + 1];
	int fd, rc = -1;

	if (RAND_bytes(key, sizeof(key)) != 1) {
		errbuf_set(err, errlen, "cannot get random bytes for a key");
		return -1;
	}
	hex_encode(key, sizeof(key), hex);
	hex[KEY_HEX_LEN] = '\n';
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		errbuf_set(err, errlen, "cannot create key file %s: %s",
		    path, strerror(errno));
		goto out;
	}
	if (write_full(fd, hex, sizeof(hex)) == 0 && fsync(fd) == 0)
		rc = 0;
	if (close(fd) == -1 || (rc == 0 && sync_parent(path) == -1))
		rc = -1;
	if (rc == -1) {
		errbuf_set(err, errlen, "cannot write key file %s: %s",
		    path, strerror(errno));
		unlink(path);	/* a retry must not meet half a key */
	}
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

static int
key_file_check(int fd, const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1) {
		errbuf_set(err, errlen, "cannot stat key file %s: %s",
		    path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		errbuf_set(err, errlen, "key file %s is not a regular file",
		    path);
		return -1;
	}
	/* As ssh does with private keys: others may not even read it. */
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		errbuf_set(err, errlen, "key file %s is open to group or "
		    "others (mode %04o): it must be 0600 or 0400", path,
		    (unsigned int)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
store_key_read(const char *path, unsigned char key[STORE_KEY_LEN],
    char *err, size_t errlen)
{
	unsigned char tmp[STORE_KEY_LEN];
	char buf[KEY_HEX_LEN + 2];	/* one more than the longest we take */
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		errbuf_set(err, errlen, "cannot open key file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (key_file_check(fd, path, err, errlen) == -1)
		goto out;
	if ((n = read_full(fd, buf, sizeof(buf))) == -1) {
		errbuf_set(err, errlen, "cannot read key file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (n == KEY_HEX_LEN + 1 && buf[KEY_HEX_LEN] == '\n')
		n--;
	if (n != KEY_HEX_LEN || hex_decode(buf, tmp, sizeof(tmp)) == -1) {
		errbuf_set(err, errlen, "key file %s does not hold 64 hex "
		    "digits", path);
		goto out;
	}
	memcpy(key, tmp, sizeof(tmp));
	rc = 0;
out:
	OPENSSL_cleanse(tmp, sizeof(tmp));
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* Connections. */

static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* The first column of the first row of a statement, as text. */
static int
query_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st;
	const unsigned char *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = sqlite3_column_text(st, 0);
		snprintf(buf, len, "%s", s != NULL ? (const char *)s : "");
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * The key goes first, before anything reads the file.  "x'<64 hex>'" is
 * SQLCipher's raw key syntax: used as is, no PBKDF2 (0.2 ms, not 30).
 * sqlite3_key() is the PRAGMA key without the SQL parser; the codec keeps
 * its own copy, so ours is wiped at once.
 */
static int
db_key(sqlite3 *db, const unsigned char key[STORE_KEY_LEN])
{
	char buf[KEY_HEX_LEN + 4];
	int rc;

	buf[0] = 'x';
	buf[1] = '\'';
	hex_encode(key, STORE_KEY_LEN, buf + 2);
	buf[KEY_HEX_LEN + 2] = '\'';
	buf[KEY_HEX_LEN + 3] = '\0';
	rc = sqlite3_key(db, buf, KEY_HEX_LEN + 3);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/*
 * A wrong key is not an error until something reads: then SQLITE_NOTADB,
 * which is also what any file that is not ours gives.
 */
static int
db_prove_key(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int rc;

	rc = exec(db, "SELECT count(*) FROM sqlite_master");
	if (rc == SQLITE_NOTADB) {
		errbuf_set(err, errlen, "%s: wrong key, or not an iota "
		    "database", path);
		return -1;
	}
	if (rc != SQLITE_OK) {
		errbuf_set(err, errlen, "cannot read %s: %s", path,
		    sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/*
 * Temporary tables and sorts stay in memory: SQLCipher does not encrypt
 * temporary files.
 */
static sqlite3 *
db_open(const char *path, const unsigned char key[STORE_KEY_LEN], int flags,
    char *err, size_t errlen)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_FULLMUTEX,
	    NULL) != SQLITE_OK) {
		errbuf_set(err, errlen, "cannot open %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	/* The timeout reads nothing: the key is still the first statement. */
	if (db_key(db, key) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, BUSY_MS) != SQLITE_OK) {
		errbuf_set(err, errlen, "cannot key %s: %s", path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	if (db_prove_key(db, path, err, errlen) == -1)
		goto fail;
	if (exec(db, "PRAGMA temp_store = MEMORY") != SQLITE_OK) {
		errbuf_set(err, errlen, "cannot set up %s: %s", path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}

/*
 * The connection's statement for sql, prepared once and kept: preparing
 * was a tenth of iotad's CPU under load.  A kept statement is reset when
 * its caller is done (store_stmt_done()), so one that is not busy is
 * free: no caller prepares a statement twice before stepping the first.
 */
sqlite3_stmt *
store_stmt(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	const char *text;

	while ((st = sqlite3_next_stmt(db, st)) != NULL)
		if (!sqlite3_stmt_busy(st) && (text = sqlite3_sql(st)) != NULL &&
		    strcmp(text, sql) == 0)
			return st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

void
store_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Statements kept prepared (store_stmt()) go with their connection. */
static void
db_close(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (db == NULL)
		return;
	while ((st = sqlite3_next_stmt(db, NULL)) != NULL)
		sqlite3_finalize(st);
	sqlite3_close(db);
}

/*
 * WAL lets readers run beside the writer; synchronous=FULL syncs the WAL
 * at every commit, so an answer given after a commit survives a crash.
 */
static int
writer_setup(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char mode[16];

	if (query_text(db, "PRAGMA journal_mode = WAL", mode,
	    sizeof(mode)) != SQLITE_OK) {
		errbuf_set(err, errlen, "cannot set up %s: %s", path,
		    sqlite3_errmsg(db));
		return -1;
	}
	if (strcmp(mode, "wal") != 0) {
		errbuf_set(err, errlen, "%s: the file system does not allow "
		    "write-ahead logging (journal mode %s)", path, mode);
		return -1;
	}
	if (exec(db, "PRAGMA synchronous = FULL") != SQLITE_OK) {
		errbuf_set(err, errlen, "cannot set up %s: %s", path,
		    sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* After the migrations, which run without it. */
static int
writer_foreign_keys(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char on[4];

	if (exec(db, "PRAGMA foreign_keys = ON") != SQLITE_OK ||
	    query_text(db, "PRAGMA foreign_keys", on, sizeof(on)) !=
	    SQLITE_OK || strcmp(on, "1") != 0) {
		errbuf_set(err, errlen, "%s: cannot enforce foreign keys",
		    path);
		return -1;
	}
	return 0;
}

/*
 * SQLite gives the -wal and -shm files the mode of the database, so a new
 * one is made 0600 here; its name is synced, as SQLite does for the WAL.
 */
static int
create_private(const char *path, char *err, size_t errlen)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST)
		return 0;
	if (fd == -1 || close(fd) == -1 || sync_parent(path) == -1) {
		errbuf_set(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The writer thread and group commit. */

static void
job_error(struct job *j, const char *what, sqlite3 *db)
{
	j->rc = STORE_ERROR;
	errbuf_set(j->err, j->errlen, "%s: %s", what, sqlite3_errmsg(db));
}

/*
 * SQLite's last message, when the job's last call failed; ROW and DONE
 * are what a successful step leaves.
 */
static void
job_failed(sqlite3 *db, struct job *j)
{
	int code = sqlite3_errcode(db);

	if (code != SQLITE_OK && code != SQLITE_ROW && code != SQLITE_DONE)
		errbuf_set(j->err, j->errlen, "%s", sqlite3_errmsg(db));
	else
		errbuf_set(j->err, j->errlen, "the job failed (%d)", j->rc);
}

/*
 * Returns -1 when the transaction is no longer what the batch built: the
 * job ended it, or its failure (I/O error, full disk) took it along, or
 * its savepoint cannot be undone or released.
 */
static int
run_job(sqlite3 *db, struct job *j)
{
	if (exec(db, "SAVEPOINT store_job") != SQLITE_OK)
		return -1;
	j->rc = j->fn(db, j->arg);
	if (sqlite3_get_autocommit(db))
		return -1;
	if (j->rc != 0) {
		job_failed(db, j);
		if (exec(db, "ROLLBACK TO store_job") != SQLITE_OK)
			return -1;
	}
	return exec(db, "RELEASE store_job") == SQLITE_OK ? 0 : -1;
}

static void
fail_batch(struct job *batch, const char *what, sqlite3 *db)
{
	for (struct job *j = batch; j != NULL; j = j->next)
		job_error(j, what, db);
}

/*
 * One transaction for the batch, one savepoint per job.  If the
 * transaction is lost or does not commit, no job of the batch kept
 * anything, and all are told so, whatever they returned.  Returns whether
 * the batch was committed.
 */
static int
run_batch(sqlite3 *db, struct job *batch)
{
	if (exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		fail_batch(batch, "cannot begin a transaction", db);
		return 0;
	}
	for (struct job *j = batch; j != NULL; j = j->next) {
		if (run_job(db, j) == -1) {
			fail_batch(batch, "the transaction failed", db);
			goto rollback;
		}
	}
	if (exec(db, "COMMIT") == SQLITE_OK)
		return 1;
	fail_batch(batch, "cannot commit", db);
rollback:
	if (!sqlite3_get_autocommit(db))
		exec(db, "ROLLBACK");
	return 0;
}

/* A committed batch's transaction, BEGIN to COMMIT, goes in the histogram. */
static int
timed_batch(struct store *st, struct job *batch)
{
	struct metric_histogram *h = atomic_load(&st->commit_seconds);
	struct timespec start = metric_now();
	int committed = run_batch(st->wdb, batch);

	if (committed && h != NULL)
		metric_observe(h, metric_since(start));
	return committed;
}

/* Waits for jobs and takes up to BATCH_MAX; NULL once closing and drained. */
static struct job *
take_batch(struct store *st)
{
	struct job *batch, *last;
	size_t n = 1;

	pthread_mutex_lock(&st->mu);
	while (st->head == NULL && !st->closing)
		pthread_cond_wait(&st->work, &st->mu);
	if ((batch = last = st->head) != NULL) {
		for (; last->next != NULL && n < BATCH_MAX; n++)
			last = last->next;
		if ((st->head = last->next) == NULL)
			st->tail = NULL;
		last->next = NULL;
		st->pending -= n;
	}
	pthread_mutex_unlock(&st->mu);
	return batch;
}

static void
finish_batch(struct store *st, struct job *batch, int committed)
{
	struct job *j, *next;

	pthread_mutex_lock(&st->mu);
	if (committed)
		st->commits++;
	for (j = batch; j != NULL; j = next) {
		next = j->next;		/* j lives on its caller's stack */
		j->done = 1;
	}
	pthread_cond_broadcast(&st->done);
	pthread_mutex_unlock(&st->mu);
}

static void *
writer_main(void *arg)
{
	struct store *st = arg;
	struct job *batch;

	while ((batch = take_batch(st)) != NULL)
		finish_batch(st, batch, timed_batch(st, batch));
	return NULL;
}

/* Signals are for the daemon's main thread, not for the writer. */
static int
writer_start(struct store *st, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&st->writer, NULL, writer_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errbuf_set(err, errlen, "cannot start the writer thread: %s",
		    strerror(rc));
		return -1;
	}
	st->running = 1;
	return 0;
}

int
store_write(struct store *st, store_job fn, void *arg, char *err,
    size_t errlen)
{
	struct job j = { .fn = fn, .arg = arg, .err = err, .errlen = errlen };

	if (pthread_equal(pthread_self(), st->writer)) {
		errbuf_set(err, errlen, "store_write() inside a write job");
		return STORE_ERROR;
	}
	pthread_mutex_lock(&st->mu);
	if (st->closing) {
		pthread_mutex_unlock(&st->mu);
		errbuf_set(err, errlen, "the store is closing");
		return STORE_ERROR;
	}
	if (st->tail != NULL)
		st->tail->next = &j;
	else
		st->head = &j;
	st->tail = &j;
	st->pending++;
	pthread_cond_signal(&st->work);
	while (!j.done)
		pthread_cond_wait(&st->done, &st->mu);
	pthread_mutex_unlock(&st->mu);
	return j.rc;
}

/* Reads. */

static sqlite3 *
reader_open(struct store *st, char *err, size_t errlen)
{
	sqlite3 *db;

	/* Not SQLITE_OPEN_READONLY: WAL readers write the -shm index. */
	if ((db = db_open(st->path, st->key, SQLITE_OPEN_READWRITE, err,
	    errlen)) == NULL)
		return NULL;
	if (exec(db, "PRAGMA query_only = ON") != SQLITE_OK) {
		errbuf_set(err, errlen, "cannot set up %s: %s", st->path,
		    sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* An idle read connection, or a new one while fewer than READERS_MAX exist. */
static sqlite3 *
reader_get(struct store *st, char *err, size_t errlen)
{
	sqlite3 *db = NULL;

	pthread_mutex_lock(&st->mu);
	while (st->nidle == 0 && st->nreaders == READERS_MAX)
		pthread_cond_wait(&st->idle, &st->mu);
	if (st->nidle > 0)
		db = st->readers[--st->nidle];
	else
		st->nreaders++;		/* a slot for the one we open */
	pthread_mutex_unlock(&st->mu);
	if (db != NULL || (db = reader_open(st, err, errlen)) != NULL)
		return db;
	pthread_mutex_lock(&st->mu);
	st->nreaders--;
	pthread_cond_signal(&st->idle);
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

static void
reader_put(struct store *st, sqlite3 *db)
{
	pthread_mutex_lock(&st->mu);
	st->readers[st->nidle++] = db;
	pthread_cond_signal(&st->idle);
	pthread_mutex_unlock(&st->mu);
}

int
store_read(struct store *st, store_job fn, void *arg, char *err,
    size_t errlen)
{
	struct job j = { .fn = fn, .arg = arg, .err = err, .errlen = errlen };
	sqlite3 *db;

	if ((db = reader_get(st, err, errlen)) == NULL)
		return STORE_ERROR;
	if (exec(db, "BEGIN") != SQLITE_OK)
		job_error(&j, "cannot begin a transaction", db);
	else if ((j.rc = fn(db, arg)) != 0)
		job_failed(db, &j);
	/* Nothing to keep: the end of the snapshot. */
	exec(db, "ROLLBACK");
	reader_put(st, db);
	return j.rc;
}

/* Open and close. */

static struct store *
store_alloc(const char *path, const unsigned char key[STORE_KEY_LEN],
    char *err, size_t errlen)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		free(st);
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(st->key, key, STORE_KEY_LEN);
	/* Default attributes: these cannot fail on the systems we build on. */
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->work, NULL);
	pthread_cond_init(&st->done, NULL);
	pthread_cond_init(&st->idle, NULL);
	return st;
}

static void
store_free(struct store *st)
{
	/* Readers first: the last connection to close checkpoints the WAL. */
	for (size_t i = 0; i < st->nidle; i++)
		db_close(st->readers[i]);
	db_close(st->wdb);
	pthread_cond_destroy(&st->idle);
	pthread_cond_destroy(&st->done);
	pthread_cond_destroy(&st->work);
	pthread_mutex_destroy(&st->mu);
	OPENSSL_cleanse(st->key, sizeof(st->key));
	free(st->path);
	free(st);
}

struct store *
store_open(const char *path, const unsigned char key[STORE_KEY_LEN],
    const struct store_schema *schema, char *err, size_t errlen)
{
	struct store *st;

	if (!sqlite3_threadsafe()) {
		errbuf_set(err, errlen, "SQLCipher is built without threads");
		return NULL;
	}
	if ((st = store_alloc(path, key, err, errlen)) == NULL)
		return NULL;
	if (create_private(path, err, errlen) == -1 ||
	    (st->wdb = db_open(path, key, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, err, errlen)) == NULL ||
	    writer_setup(st->wdb, path, err, errlen) == -1 ||
	    schema_migrate(st->wdb, schema, path, err, errlen) == -1 ||
	    writer_foreign_keys(st->wdb, path, err, errlen) == -1)
		goto fail;
	st->version = schema_latest(schema);
	if (writer_start(st, err, errlen) == -1)
		goto fail;
	return st;
fail:
	store_free(st);
	return NULL;
}

struct store *
store_open_keyed(const char *dir, const char *name, const char *key_file,
    const struct store_schema *schema, char *err, size_t errlen)
{
	unsigned char key[STORE_KEY_LEN];
	char path[PATH_MAX];
	struct store *st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		errbuf_set(err, errlen, "%s: path too long", dir);
		return NULL;
	}
	if (store_key_read(key_file, key, err, errlen) == -1)
		return NULL;
	st = store_open(path, key, schema, err, errlen);
	OPENSSL_cleanse(key, sizeof(key));
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->running) {
		pthread_mutex_lock(&st->mu);
		st->closing = 1;
		pthread_cond_signal(&st->work);
		pthread_mutex_unlock(&st->mu);
		pthread_join(st->writer, NULL);
	}
	store_free(st);
}

sqlite3 *
store_db_open(const char *path, const unsigned char key[STORE_KEY_LEN],
    int *version, char *err, size_t errlen)
{
	sqlite3 *db;
	char v[16];

	/* Not SQLITE_OPEN_READONLY: WAL readers write the -shm index. */
	if ((db = db_open(path, key, SQLITE_OPEN_READWRITE, err,
	    errlen)) == NULL)
		return NULL;
	if (exec(db, "PRAGMA query_only = ON") != SQLITE_OK ||
	    query_text(db, "PRAGMA user_version", v, sizeof(v)) != SQLITE_OK) {
		errbuf_set(err, errlen, "cannot read %s: %s", path,
		    sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	*version = atoi(v);
	return db;
}

void
store_db_close(sqlite3 *db)
{
	db_close(db);
}

int
store_schema_version(struct store *st)
{
	return st->version;
}

void
store_observe_commits(struct store *st, struct metric_histogram *h)
{
	atomic_store(&st->commit_seconds, h);
}

uint64_t
store_commits(struct store *st)
{
	uint64_t n;

	pthread_mutex_lock(&st->mu);
	n = st->commits;
	pthread_mutex_unlock(&st->mu);
	return n;
}

size_t
store_pending(struct store *st)
{
	size_t n;

	pthread_mutex_lock(&st->mu);
	n = st->pending;
	pthread_mutex_unlock(&st->mu);
	return n;
}
