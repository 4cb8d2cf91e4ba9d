/*
 * A device's broker credentials: recorded in the broker database (its own
 * SQLCipher file and key) before they exist at the broker, made at the
 * broker before the device's certificate is recorded, and kept so that a
 * retry gets the same ones back.  So no device ends with a certificate but
 * no credentials, and no credentials exist that nobody recorded.
 */
#ifndef IOTA_CREDENTIALS_H
#define IOTA_CREDENTIALS_H

#include <stdint.h>

#include "broker.h"

struct iotad;

struct creds {
	char	username[BROKER_NAME_MAX + 1];
	char	password[BROKER_PASSWORD_LEN + 1];	/* "" with certificate login */
	char	vhost[BROKER_NAME_MAX + 1];
};

/* The broker username of a device: unique across tenants. */
int	creds_username(const char *, const char *, const char *, char *,
	    size_t);
/*
 * The device's credentials, made if need be; a broker_rc (BROKER_OK, or
 * BROKER_UNAVAILABLE: answer 503 and let the device retry).
 */
int	creds_ensure(struct iotad *, int64_t, const char *, const char *,
	    const char *, struct creds *);
/* Deletes the user at the broker, closes its connections, forgets it. */
int	creds_revoke(struct iotad *, int64_t);
/* The tenant's vhost at the broker, when a tenant is made. */
int	creds_vhost(struct iotad *, const char *);
void	creds_clear(struct creds *);
/* The active credentials of a broker username: 0, or -1 for none. */
int	creds_lookup(struct iotad *, const char *, struct creds *);

#endif
