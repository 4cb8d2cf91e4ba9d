/*
 * Revocation as every relying party sees it: the intermediates iotad
 * signs with, the CRLs it serves for each and its OCSP answers.
 *
 * One ledger per issuer: the CA directory's index.  `iotactl ca` writes
 * what it issues there; iotad's registry keeps the device certificates it
 * issues and, once one is revoked, adds an 'R' line for it to the index
 * (ledger_publish).  So every CRL of an issuer, whether `iotactl ca crl`
 * or iotad signed it, is made from the same lines under the CA
 * directory's lock and its one CRL-number counter: two CRLs never share a
 * number, and neither ever misses a revocation the other has.  OCSP reads
 * the index and, for a device certificate in the moment between its
 * revocation in the registry and its line in the index, the registry.
 *
 * The issuers are the current intermediate and every intermediate that
 * `iotactl ca rotate` archived and that has not expired: what they issued
 * still needs CRLs and OCSP answers.  Thread-safe.
 */
#ifndef IOTA_LEDGER_H
#define IOTA_LEDGER_H

#include <stddef.h>
#include <time.h>

#include "ca.h"
#include "cadir.h"
#include "store.h"

#define LEDGER_MAX_ISSUERS	16
#define LEDGER_OCSP_SECONDS	300	/* OCSP nextUpdate - thisUpdate: how long
					   a relying party may cache an answer */
#define LEDGER_SCHEDULE_SECONDS	60	/* how often CRLs are looked at */

struct ledger;

/*
 * Where the issuers' signers come from: their keys in this process, or a
 * signer process.  signer() makes the one of the current intermediate
 * (serial NULL) or of an archived one; NULL after ca_seterr().
 */
struct ledger_keys {
	struct ca_signer *(*signer)(const struct cadir *, const char *, void *);
	void	*arg;
};

/* Loads the issuers of DIR through `keys`; NULL and one line in err. */
struct ledger	*ledger_open(const char *, const struct ledger_keys *, long,
		    char *, size_t);
void		 ledger_free(struct ledger *);
/* The current intermediate: iotad's signer for new certificates. */
struct ca_signer *ledger_signer(const struct ledger *);
const char	*ledger_current_serial(const struct ledger *);
size_t		 ledger_count(const struct ledger *);
/*
 * The chain to hand out: every issuer, the current one first, then the
 * root; during a rotation's overlap it covers both intermediates.
 */
char		*ledger_chain_pem(const struct ledger *, X509 *);
/* 0 if one of the issuers signed the certificate, else -1. */
int		 ledger_verify(struct ledger *, X509 *);

/*
 * Adds an index line for each revoked certificate of the device (REG_NONE:
 * every revoked one) that has none yet, and re-signs the CRLs that
 * changed.  Idempotent; 0, or -1 with one line in err.
 */
int		 ledger_publish(struct ledger *, struct store *, int64_t, char *,
		    size_t);
/*
 * The CRL of the issuer with that serial (NULL: the current one), as DER,
 * re-signed first if the index changed or half its life has passed: 0
 * with a copy, 1 for an issuer not ours, -1 on failure.
 */
int		 ledger_crl(struct ledger *, const char *, time_t,
		    unsigned char **, size_t *);
/* Re-signs every CRL past half its life: for the schedule. */
void		 ledger_refresh(struct ledger *, time_t);
/* A thread calling ledger_refresh() every LEDGER_SCHEDULE_SECONDS. */
struct ledger_schedule;
struct ledger_schedule *ledger_schedule_start(struct ledger *);
void		 ledger_schedule_stop(struct ledger_schedule *);
/*
 * The answer to an untrusted OCSP request, as DER to free(): always an
 * answer (malformedRequest, unauthorized, internalError included) unless
 * memory runs out (-1).  Free it with OPENSSL_free(), as CRL copies.
 */
int		 ledger_ocsp(struct ledger *, struct store *, const unsigned char *,
		    size_t, time_t, unsigned char **, size_t *);

#endif
