/*
 * iotad's store: one SQLCipher database, keyed by a raw 256-bit key read
 * from a key file of 64 hex digits, mode 0600.  The schema is versioned
 * (PRAGMA user_version) and migrated on open.
 *
 * Writes are durable and batched (group commit): one writer thread takes
 * every pending store_write() job, runs each in its own savepoint inside
 * one transaction, commits once (one sync for the batch) and only then
 * wakes the callers.  Reads run beside the writer on a small pool of read
 * connections (WAL), each job inside one read transaction.
 *
 * Conventions: a function that fails returns NULL or STORE_ERROR after
 * writing one line into the caller's err buffer; no key ever appears in
 * one.  Registry queries (registry.h) are plain functions on the sqlite3
 * handle a job receives.
 */
#ifndef IOTA_STORE_H
#define IOTA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlcipher/sqlite3.h>

#define STORE_KEY_LEN	32	/* bytes; the key file holds them as hex */
#define STORE_ERROR	(-1)	/* the store failed, not the job */

struct store;

/*
 * A job: runs with the connection, returns 0 to keep its work, anything
 * else to have its work undone and that value handed to its caller.  It
 * must not end the transaction (COMMIT, ROLLBACK, BEGIN), must finalize
 * every statement, and must not call store_write() (the writer thread
 * would wait for itself: refused).
 */
typedef int	(*store_job)(sqlite3 *, void *);

/* A new random key in a new file (O_EXCL, 0600), synced with its directory. */
int		 store_key_create(const char *, char *, size_t);
/* Refuses a file that group or others may access, or not 64 hex digits. */
int		 store_key_read(const char *, unsigned char [STORE_KEY_LEN],
		    char *, size_t);

/*
 * Opens or creates the database (0600, and so are its -wal and -shm),
 * proves the key, migrates the schema to the latest version and starts
 * the writer thread.  A wrong key, a file that is not an iota database and
 * a schema newer than this code are refused.  The key is copied.
 */
struct store_schema;
struct store	*store_open(const char *, const unsigned char [STORE_KEY_LEN],
		    const struct store_schema *, char *, size_t);
/* DIR/NAME with the key in KEY_FILE, which is wiped from memory after. */
struct store	*store_open_keyed(const char *, const char *, const char *,
		    const struct store_schema *, char *, size_t);
/*
 * Runs every queued job, stops the writer, closes; NULL is a no-op.  No
 * store_write() or store_read() may be running or start.
 */
void		 store_close(struct store *);

/*
 * Runs the job in the next batch and returns once that batch is committed
 * and synced: 0 when the job returned 0 and its work is durable; the job's
 * own non-zero value when it failed (its work undone, the rest of the batch
 * unaffected; err gets SQLite's last message, if any); STORE_ERROR when the
 * store failed (nothing of the job kept; err says why).  Any thread.
 */
int		 store_write(struct store *, store_job, void *, char *, size_t);
/*
 * For jobs: the connection's statement for the SQL, prepared on first use
 * and kept with the connection; store_stmt_done() resets it for the next.
 */
sqlite3_stmt	*store_stmt(sqlite3 *, const char *);
void		 store_stmt_done(sqlite3_stmt *);
/*
 * Runs the job in a read transaction (one consistent snapshot, writes
 * refused) on a pooled read connection; returns as store_write() does.
 * Sees every write whose store_write() has returned.  Any thread.
 */
int		 store_read(struct store *, store_job, void *, char *, size_t);

int		 store_schema_version(struct store *);

/*
 * For tools that inspect a database (iotactl audit verify), beside a
 * running iotad or on a copy: one connection, keyed and proven, queries
 * only, never migrated.  *version is its PRAGMA user_version.  Close it
 * with store_db_close(), which finalizes store_stmt()'s statements.
 */
sqlite3		*store_db_open(const char *, const unsigned char [STORE_KEY_LEN],
		    int *, char *, size_t);
void		 store_db_close(sqlite3 *);
/* Batches committed since open; jobs waiting: for metrics and tests. */
uint64_t	 store_commits(struct store *);
size_t		 store_pending(struct store *);
/* Each committed batch's transaction time from now on; NULL: none. */
struct metric_histogram;
void		 store_observe_commits(struct store *, struct metric_histogram *);

/* schema.c: each database's ordered migrations. */
struct store_schema {
	const char *const	*steps;	/* step i: version i -> i + 1 */
	int			 n;
};
extern const struct store_schema schema_registry, schema_broker;
int		 schema_latest(const struct store_schema *);
/* Runs with foreign keys off: a step may rebuild a table. */
int		 schema_migrate(sqlite3 *, const struct store_schema *,
		    const char *, char *, size_t);

#endif
