/* The issuers iotad signs with, their CRLs and OCSP answers: ledger.h. */
#include <sys/stat.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "cadir.h"
#include "ledger.h"
#include "registry.h"

/* Which version of the index a CRL or the cached copy was made from. */
struct stamp {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
};

struct issuer {
	struct ca_signer *signer;
	char		 serial[CA_SERIAL_HEX_MAX + 1];
	time_t		 not_after;
	unsigned char	*crl;		/* DER, OPENSSL_malloc'd */
	size_t		 crl_len;
	time_t		 crl_signed;
	struct stamp	 crl_stamp;
};

struct ledger {
	char		*dir;
	struct issuer	 issuers[LEDGER_MAX_ISSUERS];	/* [0]: current */
	size_t		 n;
	long		 crl_days;
	pthread_mutex_t	 lock;		/* the CRLs and the index copy */
	struct cadir_index idx;
	struct stamp	 idx_stamp;
	int		 idx_loaded;
};

static int
stamp_of(const char *dir, struct stamp *s)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, CADIR_INDEX);
	if (stat(path, &st) == -1)
		return -1;
	memset(s, 0, sizeof(*s));
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime = st.st_mtim;
	return 0;
}

static int
stamp_same(const struct stamp *a, const struct stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int
add_issuer(struct ledger *l, struct ca_signer *s, time_t now)
{
	const X509 *cert = ca_signer_cert(s);
	struct issuer *iss;
	char *hex;

	if (ca_time_from_asn1(X509_get0_notAfter(cert)) < now) {
		ca_signer_free(s);	/* all it issued has expired too */
		return 0;
	}
	if (l->n == LEDGER_MAX_ISSUERS) {
		ca_seterr("more than %d intermediates to serve", LEDGER_MAX_ISSUERS);
		ca_signer_free(s);
		return -1;
	}
	if ((hex = ca_serial_hex(X509_get0_serialNumber(cert))) == NULL) {
		ca_signer_free(s);
		return -1;
	}
	iss = &l->issuers[l->n++];
	iss->signer = s;
	snprintf(iss->serial, sizeof(iss->serial), "%s", hex);
	iss->not_after = ca_time_from_asn1(X509_get0_notAfter(cert));
	free(hex);
	return 0;
}

struct open_job {
	struct ledger		*l;
	const struct ledger_keys *keys;
	time_t			 now;
};

/* The current intermediate always; archived ones while they are valid. */
static int
add_one(const struct cadir *cd, const char *serial, void *arg)
{
	struct open_job *j = arg;
	struct ca_signer *s;

	if ((s = j->keys->signer(cd, serial, j->keys->arg)) == NULL)
		return -1;
	return add_issuer(j->l, s, serial == NULL ? 0 : j->now);
}

struct ledger *
ledger_open(const char *dir, const struct ledger_keys *keys, long crl_days,
    char *err, size_t errlen)
{
	struct open_job j = { .keys = keys, .now = time(NULL) };
	struct ledger *l;
	struct cadir *cd;

	if ((l = calloc(1, sizeof(*l))) == NULL || (l->dir = strdup(dir)) ==
	    NULL) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	l->crl_days = crl_days;
	j.l = l;
	if ((cd = cadir_open(dir, 0)) == NULL ||
	    cadir_issuers(cd, add_one, &j) == -1) {
		snprintf(err, errlen, "%s", ca_errstr());
		cadir_close(cd);
		ledger_free(l);
		return NULL;
	}
	cadir_close(cd);
	return l;
}

void
ledger_free(struct ledger *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		ca_signer_free(l->issuers[i].signer);
		OPENSSL_free(l->issuers[i].crl);
	}
	cadir_index_free(&l->idx);
	pthread_mutex_destroy(&l->lock);
	free(l->dir);
	free(l);
}

char *
ledger_chain_pem(const struct ledger *l, X509 *root)
{
	X509 *certs[LEDGER_MAX_ISSUERS + 1];
	size_t n = 0, len;

	for (size_t i = 0; i < l->n; i++)
		certs[n++] = (X509 *)ca_signer_cert(l->issuers[i].signer);
	certs[n++] = root;
	return ca_certs_pem(certs, n, &len);
}

struct ca_signer *
ledger_signer(const struct ledger *l)
{
	return l->issuers[0].signer;
}

const char *
ledger_current_serial(const struct ledger *l)
{
	return l->issuers[0].serial;
}

size_t
ledger_count(const struct ledger *l)
{
	return l->n;
}

static struct issuer *
issuer_by_serial(struct ledger *l, const char *serial)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->issuers[i].serial, serial) == 0)
			return &l->issuers[i];
	return NULL;
}

/* Which of ours signed this certificate; NULL if none. */
static struct issuer *
issuer_of(struct ledger *l, X509 *cert)
{
	for (size_t i = 0; i < l->n; i++)
		if (X509_check_issued((X509 *)ca_signer_cert(
		    l->issuers[i].signer), cert) == X509_V_OK)
			return &l->issuers[i];
	return NULL;
}

int
ledger_verify(struct ledger *l, X509 *cert)
{
	for (size_t i = 0; i < l->n; i++) {
		const X509 *ca = ca_signer_cert(l->issuers[i].signer);

		if (X509_check_issued((X509 *)ca, cert) == X509_V_OK &&
		    X509_verify(cert, X509_get0_pubkey(ca)) == 1)
			return 0;
	}
	return -1;
}

/* With l->lock and the CA directory's lock held. */
static int
resign(struct ledger *l, const struct cadir *cd, struct issuer *iss,
    time_t now)
{
	unsigned char *der;
	size_t len;

	if (cadir_crl(cd, iss->signer, now, l->crl_days, &der, &len) == -1 ||
	    stamp_of(l->dir, &iss->crl_stamp) == -1)
		return -1;
	OPENSSL_free(iss->crl);
	iss->crl = der;
	iss->crl_len = len;
	iss->crl_signed = now;
	return 0;
}

static int
stale(const struct ledger *l, const struct issuer *iss,
    const struct stamp *now_stamp, time_t now)
{
	return iss->crl == NULL || !stamp_same(&iss->crl_stamp, now_stamp) ||
	    now >= iss->crl_signed + l->crl_days * 86400 / 2 ||
	    now < iss->crl_signed;
}

/* With l->lock held: re-sign every stale CRL (only = NULL) or just one. */
static int
resign_stale(struct ledger *l, struct issuer *only, time_t now)
{
	struct stamp st;
	struct cadir *cd = NULL;
	int rc = 0;

	if (stamp_of(l->dir, &st) == -1) {
		ca_seterr("cannot stat the CA index");
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		struct issuer *iss = &l->issuers[i];

		if ((only != NULL && iss != only) || !stale(l, iss, &st, now))
			continue;
		if (cd == NULL && (cd = cadir_open(l->dir, 1)) == NULL)
			return -1;
		rc = resign(l, cd, iss, now);
	}
	cadir_close(cd);
	return rc;
}

int
ledger_crl(struct ledger *l, const char *serial, time_t now,
    unsigned char **der, size_t *len)
{
	struct issuer *iss;
	int rc = -1;

	pthread_mutex_lock(&l->lock);
	iss = serial == NULL ? &l->issuers[0] : issuer_by_serial(l, serial);
	if (iss == NULL)
		rc = 1;
	else if (resign_stale(l, iss, now) == 0 &&
	    (*der = OPENSSL_memdup(iss->crl, iss->crl_len)) != NULL) {
		*len = iss->crl_len;
		rc = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void
ledger_refresh(struct ledger *l, time_t now)
{
	pthread_mutex_lock(&l->lock);
	(void)resign_stale(l, NULL, now);
	pthread_mutex_unlock(&l->lock);
}

/* Publishing: the registry's revoked certificates into the index. */

struct revoked_cert {
	X509		*cert;
	time_t		 when;
	int		 reason;
};

struct revoked_job {
	int64_t			 device_id;
	struct revoked_cert	*certs;
	size_t			 n, cap;
};

static int
collect(const struct reg_cert *c, const unsigned char *der, size_t len,
    void *arg)
{
	struct revoked_job *j = arg;
	const unsigned char *p = der;
	struct revoked_cert *grown;
	X509 *cert;

	if ((cert = d2i_X509(NULL, &p, (long)len)) == NULL)
		return -1;
	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 8;
		if ((grown = realloc(j->certs, j->cap * sizeof(*grown))) ==
		    NULL) {
			X509_free(cert);
			return -1;
		}
		j->certs = grown;
	}
	j->certs[j->n++] = (struct revoked_cert){ cert, c->revoked, c->reason };
	return 0;
}

static int
revoked_of(sqlite3 *db, void *arg)
{
	struct revoked_job *j = arg;

	return registry_revoked_list(db, j->device_id, collect, j);
}

/* With l->lock held; marks the issuers given a line in `changed`. */
static int
append_missing(struct ledger *l, const struct cadir *cd,
    const struct revoked_job *j, int changed[LEDGER_MAX_ISSUERS])
{
	struct cadir_index idx;
	char *serial;
	int rc = 0;

	if (cadir_index_load(cd, &idx) == -1)
		return -1;
	for (size_t i = 0; rc == 0 && i < j->n; i++) {
		X509 *cert = j->certs[i].cert;
		struct issuer *iss;

		if ((serial = ca_serial_hex(X509_get0_serialNumber(cert))) ==
		    NULL)
			rc = -1;
		else if (cadir_index_find(&idx, serial) == NULL &&
		    (iss = issuer_of(l, cert)) != NULL) {
			rc = cadir_append_revoked(cd, cert,
			    ca_signer_cert(iss->signer), j->certs[i].when,
			    j->certs[i].reason);
			changed[iss - l->issuers] = 1;
		}
		free(serial);
	}
	cadir_index_free(&idx);
	return rc;
}

int
ledger_publish(struct ledger *l, struct store *store, int64_t device_id,
    char *err, size_t errlen)
{
	struct revoked_job j = { .device_id = device_id };
	int changed[LEDGER_MAX_ISSUERS] = { 0 };
	struct cadir *cd;
	time_t now = time(NULL);
	int rc = -1;

	if (store_read(store, revoked_of, &j, err, errlen) != 0)
		goto out;
	pthread_mutex_lock(&l->lock);
	if ((cd = cadir_open(l->dir, 1)) != NULL &&
	    (rc = append_missing(l, cd, &j, changed)) == 0)
		for (size_t i = 0; rc == 0 && i < l->n; i++)
			if (changed[i])
				rc = resign(l, cd, &l->issuers[i], now);
	cadir_close(cd);
	pthread_mutex_unlock(&l->lock);
	if (rc != 0)
		snprintf(err, errlen, "the CA index: %s", ca_errstr());
out:
	for (size_t i = 0; i < j.n; i++)
		X509_free(j.certs[i].cert);
	free(j.certs);
	return rc;
}

/* OCSP. */

/* With l->lock held: the index as it is now, read again if it changed. */
static int
fresh_index(struct ledger *l)
{
	struct stamp st;
	struct cadir *cd;
	int rc;

	if (stamp_of(l->dir, &st) == -1)
		return -1;
	if (l->idx_loaded && stamp_same(&st, &l->idx_stamp))
		return 0;
	if ((cd = cadir_open(l->dir, 1)) == NULL)
		return -1;
	cadir_index_free(&l->idx);
	l->idx_loaded = 0;
	if ((rc = cadir_index_load(cd, &l->idx)) == 0 &&
	    (rc = stamp_of(l->dir, &l->idx_stamp)) == 0)
		l->idx_loaded = 1;
	cadir_close(cd);
	return rc;
}

static int
from_index(struct ledger *l, const struct issuer *iss, struct ca_ocsp_req *r)
{
	pthread_mutex_lock(&l->lock);
	if (fresh_index(l) == -1) {
		pthread_mutex_unlock(&l->lock);
		return -1;
	}
	for (size_t i = 0; i < r->n; i++) {
		struct ca_ocsp_single *s = &r->singles[i];
		const struct cadir_entry *e = cadir_index_find(&l->idx,
		    s->serial);

		if (e == NULL || strcmp(e->issuer, iss->serial) != 0 ||
		    strcmp(e->serial, iss->serial) == 0)
			continue;
		s->status = e->status == 'R' ? CA_STATUS_REVOKED :
		    CA_STATUS_GOOD;
		s->revoked_at = e->revoked_at;
		s->reason = e->reason;
	}
	pthread_mutex_unlock(&l->lock);
	return 0;
}

struct status_job {
	struct ledger		*l;
	const struct issuer	*iss;
	struct ca_ocsp_req	*r;
};

static int
from_registry(sqlite3 *db, void *arg)
{
	struct status_job *j = arg;

	for (size_t i = 0; i < j->r->n; i++) {
		struct ca_ocsp_single *s = &j->r->singles[i];
		struct reg_cert c;
		unsigned char *der = NULL;
		const unsigned char *p;
		size_t len;
		X509 *cert;
		int rc;

		if (s->status != CA_STATUS_UNKNOWN)
			continue;
		if ((rc = registry_cert_find(db, s->serial, &c, &der, &len)) ==
		    REG_NOT_FOUND)
			continue;
		if (rc != REG_OK)
			return rc;
		p = der;
		cert = d2i_X509(NULL, &p, (long)len);
		free(der);
		if (cert != NULL && issuer_of(j->l, cert) == j->iss) {
			s->status = c.revoked == REG_NONE ? CA_STATUS_GOOD :
			    CA_STATUS_REVOKED;
			s->revoked_at = c.revoked;
			s->reason = c.reason;
		}
		X509_free(cert);
	}
	return 0;
}

static int
error_answer(int status, unsigned char **der, size_t *len)
{
	return ca_ocsp_error(status, der, len);
}

int
ledger_ocsp(struct ledger *l, struct store *store, const unsigned char *req,
    size_t reqlen, time_t now, unsigned char **der, size_t *len)
{
	const X509 *certs[LEDGER_MAX_ISSUERS];
	struct ca_ocsp_req r;
	struct status_job j = { .l = l, .r = &r };
	char err[256];
	size_t which;
	int st;

	for (size_t i = 0; i < l->n; i++)
		certs[i] = ca_signer_cert(l->issuers[i].signer);
	if ((st = ca_ocsp_request_parse(req, reqlen, certs, l->n, &r, &which)) !=
	    OCSP_RESPONSE_STATUS_SUCCESSFUL)
		return error_answer(st, der, len);
	j.iss = &l->issuers[which];
	r.now = now;
	r.validity = LEDGER_OCSP_SECONDS;
	if (from_index(l, j.iss, &r) == -1 ||
	    store_read(store, from_registry, &j, err, sizeof(err)) != 0 ||
	    ca_signer_ocsp(j.iss->signer, &r, der, len) == -1)
		/* RFC 6960 2.3: tryLater while the signer restarts. */
		return error_answer(ca_unavailable() ?
		    OCSP_RESPONSE_STATUS_TRYLATER :
		    OCSP_RESPONSE_STATUS_INTERNALERROR, der, len);
	return 0;
}

/* The schedule: a thread that re-signs CRLs before relying parties need. */

struct ledger_schedule {
	struct ledger	*l;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	int		 stop;
};

static void *
schedule_run(void *arg)
{
	struct ledger_schedule *s = arg;
	struct timespec until;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		pthread_mutex_unlock(&s->lock);
		ledger_refresh(s->l, time(NULL));
		pthread_mutex_lock(&s->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += LEDGER_SCHEDULE_SECONDS;
		while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock,
		    &until) == 0)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct ledger_schedule *
ledger_schedule_start(struct ledger *l)
{
	struct ledger_schedule *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->l = l;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	if (pthread_create(&s->thread, NULL, schedule_run, s) != 0) {
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	return s;
}

void
ledger_schedule_stop(struct ledger_schedule *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
