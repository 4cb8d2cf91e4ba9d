/*
 * A device's broker credentials in the broker database (its own SQLCipher
 * file and key): recorded as pending before they exist at the broker,
 * active once they do, kept so that a retry gets the same ones back, and
 * forgotten once the broker no longer has them.  The modes (mode-*.c)
 * decide when; this file only keeps the record.
 */
#ifndef IOTA_CREDENTIALS_H
#define IOTA_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "broker.h"

struct store;

struct creds {
	char	username[BROKER_NAME_MAX + 1];
	char	password[BROKER_PASSWORD_LEN + 1];	/* "" with certificate login */
	char	vhost[BROKER_NAME_MAX + 1];
};

enum creds_state {
	CREDS_NONE,		/* no record */
	CREDS_PENDING,		/* recorded, maybe not at the broker yet */
	CREDS_ACTIVE,		/* made at the broker */
};

/* The broker username of a device: unique across tenants. */
int	creds_username(const char *, const char *, const char *, char *,
	    size_t);
void	creds_clear(struct creds *);

/*
 * Each returns 0, or -1 after one line in err (the database failed).
 * *state says whether a record was found.
 */
int	creds_find(struct store *, int64_t, struct creds *, enum creds_state *,
	    char *, size_t);
int	creds_by_username(struct store *, const char *, struct creds *,
	    enum creds_state *, char *, size_t);
/*
 * The device's record if it has one (into c), else c, fresh, recorded
 * pending (0) or active (1); *state says which.  Atomic.
 */
int	creds_obtain(struct store *, int64_t, struct creds *, time_t, int,
	    enum creds_state *, char *, size_t);
int	creds_activate(struct store *, int64_t, char *, size_t);
int	creds_forget(struct store *, int64_t, char *, size_t);

#endif
