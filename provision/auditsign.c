/*
 * Signed checkpoints of the audit chain: the head (last record's id and
 * hash) and the time, signed through the CA signer's checkpoint
 * operation and stored in the registry.  A chain rewritten by someone
 * with the database key but not the CA key no longer matches them.
 * Signed every audit.checkpoint_interval and once at a clean stop.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "encode.h"
#include "iotad.h"

struct head_job {
	int64_t		 id;
	unsigned char	 hash[AUDITCHAIN_HASH_LEN];
};

static int
head_job(sqlite3 *db, void *arg)
{
	struct head_job *j = arg;

	return registry_audit_head(db, &j->id, j->hash);
}

static int
add_job(sqlite3 *db, void *arg)
{
	return registry_checkpoint_add(db, arg);
}

/* Under the reload lock: the signer and its certificate go together. */
static int
sign_head(struct iotad *d, struct reg_checkpoint *c, unsigned char **sig)
{
	struct ca_checkpoint_req r = { .record_id = c->record_id,
	    .at = (time_t)c->at };
	const X509 *cert;
	char *serial = NULL;
	int rc;

	memcpy(r.head, c->head, sizeof(r.head));
	pthread_rwlock_rdlock(&d->swap);
	rc = ca_signer_checkpoint(d->ca.signer, &r, sig, &c->siglen);
	if (rc == 0 && (cert = ca_signer_cert(d->ca.signer)) != NULL)
		serial = ca_serial_hex(X509_get0_serialNumber(cert));
	pthread_rwlock_unlock(&d->swap);
	if (rc == -1) {
		log_error("audit checkpoint: %s", ca_errstr());
		return -1;
	}
	if (serial == NULL || strlen(serial) > REG_SERIAL_MAX) {
		log_error("audit checkpoint: no serial for the signer");
		free(serial);
		OPENSSL_free(*sig);
		return -1;
	}
	snprintf(c->issuer, sizeof(c->issuer), "%s", serial);
	free(serial);
	return 0;
}

int
audit_checkpoint(struct iotad *d, time_t now)
{
	struct reg_checkpoint c = { .at = (int64_t)now };
	struct head_job j;
	unsigned char *sig = NULL;
	char err[256], head[2 * AUDITCHAIN_HASH_LEN + 1];
	int rc;

	if ((rc = store_read(d->store, head_job, &j, err, sizeof(err))) ==
	    REG_NOT_FOUND)
		return 1;	/* nothing audited yet: nothing to prove */
	if (rc != 0) {
		log_error("audit checkpoint: %s", err);
		return -1;
	}
	c.record_id = j.id;
	memcpy(c.head, j.hash, sizeof(c.head));
	if (sign_head(d, &c, &sig) == -1)
		return -1;
	c.sig = sig;
	rc = store_write(d->store, add_job, &c, err, sizeof(err));
	OPENSSL_free(sig);
	if (rc != 0) {
		log_error("audit checkpoint: %s", err);
		return -1;
	}
	hex_encode(c.head, sizeof(c.head), head);
	/* The head in the log too: a copy kept off this host anchors it. */
	log_info("audit: checkpoint of record %lld head %s signed by %s",
	    (long long)c.record_id, head, c.issuer);
	return 0;
}

/* The schedule: a thread that waits an interval, then signs. */

struct audit_schedule {
	struct iotad	*d;
	long long	 interval;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	int		 stop;
};

static void *
schedule_run(void *arg)
{
	struct audit_schedule *s = arg;
	struct timespec until;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)s->interval;
		while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock,
		    &until) == 0)
			;
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->lock);
		audit_checkpoint(s->d, time(NULL));
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct audit_schedule *
audit_schedule_start(struct iotad *d, long long interval)
{
	struct audit_schedule *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->d = d;
	s->interval = interval;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	if (interval > 0 &&
	    pthread_create(&s->thread, NULL, schedule_run, s) != 0) {
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	return s;
}

void
audit_schedule_stop(struct audit_schedule *s)
{
	if (s == NULL)
		return;
	if (s->interval > 0) {
		pthread_mutex_lock(&s->lock);
		s->stop = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
