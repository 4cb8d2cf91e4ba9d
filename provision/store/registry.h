/*
 * The registry: tenants, operator tokens, groups, devices, certificates
 * and the audit log.  Plain functions on a connection, so that they run
 * inside store_write() and store_read() jobs and several compose into one
 * transaction (a job's work is kept or undone as a whole).
 *
 * Every function returns a REG_* code and sets its out-parameters only on
 * REG_OK.  A refused write (REG_EXISTS, REG_NOT_FOUND, REG_STATE) changes
 * nothing and leaves the transaction usable: a job may go on, as a bulk
 * registration does past its duplicates.  On REG_ERROR, sqlite3_errmsg()
 * says why; store_write() hands it to the caller.
 *
 * Callers check names (docs/API.md); the schema only bounds their length.
 * Times are Unix seconds, always given by the caller.  REG_NONE stands for
 * SQL NULL in optional integers: no quota, no expiry, no tenant (admin).
 * The tenant scope is the caller's: find a group with its tenant first, then
 * reach its devices through the group's id.
 */
#ifndef IOTA_REGISTRY_H
#define IOTA_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <sqlcipher/sqlite3.h>

#include "auditchain.h"

enum reg_code {
	REG_OK = 0,
	REG_NOT_FOUND,		/* no such row, or no such parent */
	REG_EXISTS,		/* that name, hash or serial is taken */
	REG_STATE,		/* the row's state forbids it */
	REG_ERROR,		/* the database failed */
};

#define REG_NONE	((int64_t)-1)
#define REG_NAME_MAX	64	/* bytes: tenants, groups, devices */
#define REG_PUBLIC_ID_MAX 64
#define REG_SERIAL_MAX	64	/* hex */
#define REG_HASH_LEN	32	/* SHA-256 */
#define REGISTRY_DB_NAME "registry.db"	/* in the state directory */

enum reg_device_state {
	REG_DEVICE_REGISTERED,
	REG_DEVICE_PROVISIONED,
	REG_DEVICE_REVOKED,
};

struct reg_group {
	int64_t		 id;
	int64_t		 tenant_id;
	char		 name[REG_NAME_MAX + 1];
	char		 public_id[REG_PUBLIC_ID_MAX + 1];
	unsigned char	 secret_hash[REG_HASH_LEN];
	int64_t		 secret_expires;	/* REG_NONE: never */
	int		 has_prev;		/* a rotated-out secret */
	unsigned char	 prev_secret_hash[REG_HASH_LEN];
	int64_t		 prev_valid_until;	/* valid while now < this */
	int64_t		 quota;			/* REG_NONE: no limit */
	int64_t		 created;
	int64_t		 devices;		/* registered, any state */
	int64_t		 provisioned;		/* in state provisioned */
	int64_t		 cert_days;		/* REG_NONE: the default */
	int64_t		 renew_grace;		/* seconds; REG_NONE: same */
};

struct reg_device {
	int64_t		 id;
	int64_t		 group_id;
	char		 name[REG_NAME_MAX + 1];
	enum reg_device_state state;
	int		 has_pubkey;
	unsigned char	 pubkey_hash[REG_HASH_LEN];	/* SHA-256, SPKI DER */
	/* The last certificate ("" and REG_NONE before the first). */
	char		 serial[REG_SERIAL_MAX + 1];
	int64_t		 not_after;
	int64_t		 provisioned_at;
	int64_t		 created;
};

/* A certificate iotad issued, as the ledger keeps it. */
struct reg_cert {
	char		 serial[REG_SERIAL_MAX + 1];
	int64_t		 device_id;	/* REG_NONE once the device is gone */
	int64_t		 not_after;
	int64_t		 issued;
	int64_t		 revoked;	/* REG_NONE while valid */
	int		 reason;	/* CRL_REASON_*, when revoked */
};

/* The inventory: a certificate with its device and group. */
struct reg_cert_row {
	struct reg_cert	 cert;
	char		 device[REG_NAME_MAX + 1];
	char		 group[REG_NAME_MAX + 1];
	int		 current;	/* the device's last certificate */
};

struct reg_cert_filter {
	int64_t		 tenant_id;
	int64_t		 group_id;		/* REG_NONE: every group */
	int64_t		 expiring_before;	/* REG_NONE: any, revoked too */
	int64_t		 offset, limit;
};

/* Never a secret in any field. */
struct reg_audit {
	int64_t		 at;
	int64_t		 tenant_id;	/* REG_NONE: none, or the admin */
	const char	*actor;		/* "admin", "operator", "device", ... */
	const char	*action;	/* "group.create", "provision", ... */
	const char	*target;	/* "group/dev", or NULL */
	const char	*outcome;	/* "ok", "unauthorized", ... */
	const char	*client;	/* the peer's address, or NULL */
};

/* A listing's callback: non-zero stops it and fails it (REG_ERROR). */
typedef int	(*reg_group_cb)(const struct reg_group *, void *);
typedef int	(*reg_device_cb)(const struct reg_device *, void *);
typedef int	(*reg_cert_cb)(const struct reg_cert *, const unsigned char *,
		    size_t, void *);
typedef int	(*reg_cert_row_cb)(const struct reg_cert_row *, void *);

const char	*registry_strerror(int);
const char	*registry_device_state_name(enum reg_device_state);

/* REG_EXISTS when a tenant has that name in any case, else REG_NOT_FOUND. */
int	registry_tenant_taken(sqlite3 *, const char *);
/* REG_EXISTS as registry_tenant_taken() says: tenant names are unique
 * regardless of case, checked in the caller's transaction. */
int	registry_tenant_create(sqlite3 *, const char *, int64_t, int64_t *);
int	registry_tenant_find(sqlite3 *, const char *, int64_t *);
int	registry_tenant_name(sqlite3 *, int64_t, char [REG_NAME_MAX + 1]);
/* A tenant as listed: its groups and their devices counted. */
struct reg_tenant {
	int64_t		 id;
	char		 name[REG_NAME_MAX + 1];
	int64_t		 created;
	int64_t		 groups;
	int64_t		 devices;
};
typedef int	(*reg_tenant_cb)(const struct reg_tenant *, void *);
/* Every tenant by name. */
int	registry_tenant_list(sqlite3 *, reg_tenant_cb, void *);
int	registry_tenant_get(sqlite3 *, const char *, struct reg_tenant *);
/* REG_STATE while the tenant has a group; its tokens go with it. */
int	registry_tenant_delete(sqlite3 *, int64_t);

/*
 * Tokens by SHA-256: (hash, tenant, name, now); tenant REG_NONE (and name
 * NULL) makes an admin token.  REG_EXISTS for a name taken in the tenant.
 */
int	registry_token_add(sqlite3 *, const unsigned char [REG_HASH_LEN],
	    int64_t, const char *, int64_t);
/* *tenant_id is REG_NONE and *is_admin 1 for an admin token. */
int	registry_token_lookup(sqlite3 *, const unsigned char [REG_HASH_LEN],
	    int64_t *, int *);
int	registry_token_delete(sqlite3 *, const unsigned char [REG_HASH_LEN]);
/* A tenant's named token, as listed: never its hash. */
struct reg_token {
	char		 name[REG_NAME_MAX + 1];
	int64_t		 created;
};
typedef int	(*reg_token_cb)(const struct reg_token *, void *);
/* The tenant's tokens by name. */
int	registry_token_list(sqlite3 *, int64_t, reg_token_cb, void *);
/* (tenant, name): REG_NOT_FOUND if the tenant has no token of that name. */
int	registry_token_revoke(sqlite3 *, int64_t, const char *);

/* (tenant, name, public id, secret hash, quota, expires, now, &id) */
int	registry_group_create(sqlite3 *, int64_t, const char *, const char *,
	    const unsigned char [REG_HASH_LEN], int64_t, int64_t, int64_t,
	    int64_t *);
int	registry_group_find(sqlite3 *, int64_t, const char *,
	    struct reg_group *);
/* Any tenant's: for provisioning, where the secret names the group. */
int	registry_group_by_public_id(sqlite3 *, const char *,
	    struct reg_group *);
/* The tenant's groups by name. */
int	registry_group_list(sqlite3 *, int64_t, reg_group_cb, void *);
int	registry_group_set_quota(sqlite3 *, int64_t, int64_t);
int	registry_group_set_expiry(sqlite3 *, int64_t, int64_t);
/* The group's policy; REG_NONE puts back the configuration's. */
int	registry_group_set_cert_days(sqlite3 *, int64_t, int64_t);
int	registry_group_set_renew_grace(sqlite3 *, int64_t, int64_t);
int	registry_group_by_id(sqlite3 *, int64_t, struct reg_group *);
/*
 * (group, new public id, new hash, new expiry, overlap_until,
 * &prev_valid_until): the current secret (and its public id) becomes the
 * previous one, valid until overlap_until but never past its own expiry;
 * the stored bound comes back.
 */
int	registry_group_rotate_secret(sqlite3 *, int64_t, const char *,
	    const unsigned char [REG_HASH_LEN], int64_t, int64_t, int64_t *);
/*
 * REG_STATE while a device of the group is provisioned or holds a
 * certificate that is not revoked.  Its devices go with it; their
 * certificates stay on record.
 */
int	registry_group_delete(sqlite3 *, int64_t);

/* (group, name, now, &id): REG_EXISTS for a duplicate in the group. */
int	registry_device_add(sqlite3 *, int64_t, const char *, int64_t,
	    int64_t *);
int	registry_device_find(sqlite3 *, int64_t, const char *,
	    struct reg_device *);
int	registry_device_by_id(sqlite3 *, int64_t, struct reg_device *);
/*
 * (device, pubkey hash, serial, not_after): a provisioned device's new
 * certificate, inserted for it first; REG_STATE unless provisioned.
 */
int	registry_device_renew(sqlite3 *, int64_t,
	    const unsigned char [REG_HASH_LEN], const char *, int64_t);
/* By name; limit REG_NONE for all; *total counts the whole group. */
int	registry_device_list(sqlite3 *, int64_t, int64_t, int64_t,
	    reg_device_cb, void *, int64_t *);
/* Devices in state provisioned: what a quota bounds. */
int	registry_device_provisioned_count(sqlite3 *, int64_t, int64_t *);
/* Provisioned devices whose certificate ends from..until (excluded). */
int	registry_expiring_count(sqlite3 *, int64_t, int64_t, int64_t *);
/*
 * (device, pubkey hash, serial, not_after, now): registered ->
 * provisioned, with a certificate already inserted for this device;
 * REG_STATE if the device is not in state registered, REG_NOT_FOUND if
 * the certificate is not this device's.
 */
int	registry_device_set_provisioned(sqlite3 *, int64_t,
	    const unsigned char [REG_HASH_LEN], const char *, int64_t, int64_t);
/*
 * (device, now, reason): any state -> revoked, its certificates revoked
 * at now for that reason (CRL_REASON_*), its key never certified again.
 */
int	registry_device_revoke(sqlite3 *, int64_t, int64_t, int);
/* How many certificates of the device were revoked. */
int	registry_device_revoked_count(sqlite3 *, int64_t, int64_t *);
/* REG_OK if a key of that hash was ever revoked, else REG_NOT_FOUND. */
int	registry_key_revoked(sqlite3 *, const unsigned char [REG_HASH_LEN]);
/*
 * Any state -> registered, forgetting the public key, so that the device
 * may provision again with a new one.  Certificates are left as they are
 * (revoke first to end the old one); serial, not_after and provisioned_at
 * keep describing the last certificate until the next one.
 */
int	registry_device_enable(sqlite3 *, int64_t);

/* (serial, device, der, len, not_after, now) */
int	registry_cert_insert(sqlite3 *, const char *, int64_t,
	    const unsigned char *, size_t, int64_t, int64_t);
/* A copy of the DER, to free(). */
int	registry_cert_der(sqlite3 *, const char *, unsigned char **, size_t *);
/* The record of a serial and, when der is not NULL, a copy of its DER. */
int	registry_cert_find(sqlite3 *, const char *, struct reg_cert *,
	    unsigned char **, size_t *);
/* The tenant's certificates by expiry, filtered; see reg_cert_filter. */
int	registry_cert_list(sqlite3 *, const struct reg_cert_filter *,
	    reg_cert_row_cb, void *);
/* The revoked certificates of a device (REG_NONE: all), with their DER. */
int	registry_revoked_list(sqlite3 *, int64_t, reg_cert_cb, void *);

/*
 * auditlog.c: the audit table as a hash chain (auditchain.h, schema
 * steps 8 and 9).  A record is chained as it is inserted, in the
 * caller's transaction: the store's one writer makes reading the head
 * and appending after it one step.
 */
int	registry_audit(sqlite3 *, const struct reg_audit *);
/*
 * Chains the records written before schema step 8 (hash NULL), oldest
 * first, after the last chained one; *n says how many.  Idempotent.
 */
int	registry_audit_chain_backlog(sqlite3 *, int64_t *);
/* The last record's id and hash; REG_NOT_FOUND for an empty audit. */
int	registry_audit_head(sqlite3 *, int64_t *,
	    unsigned char [AUDITCHAIN_HASH_LEN]);

/* A stored audit row, as found: the hashes NULL (len 0) or any length. */
struct reg_audit_row {
	struct auditchain_record	 rec;
	const unsigned char		*prev_hash, *hash;
	size_t				 prev_len, hash_len;
};
typedef int	(*reg_audit_row_cb)(const struct reg_audit_row *, void *);
/* Every row by id; the callback's non-zero stops it (REG_ERROR). */
int	registry_audit_walk(sqlite3 *, reg_audit_row_cb, void *);

/* A signed checkpoint of the chain's head (ca/checkpoint.c). */
struct reg_checkpoint {
	int64_t			 id;		/* set by the listing */
	int64_t			 record_id;
	unsigned char		 head[AUDITCHAIN_HASH_LEN];
	int			 malformed;	/* listed: head not 32 bytes */
	int64_t			 at;
	char			 issuer[REG_SERIAL_MAX + 1];	/* hex serial */
	const unsigned char	*sig;
	size_t			 siglen;
};
typedef int	(*reg_checkpoint_cb)(const struct reg_checkpoint *, void *);
int	registry_checkpoint_add(sqlite3 *, const struct reg_checkpoint *);
/* Every checkpoint by id; sig is valid during the callback only. */
int	registry_checkpoint_list(sqlite3 *, reg_checkpoint_cb, void *);

/* eventq.c: the events outbox (schema step 6), oldest first. */
struct reg_event {
	int64_t	 id;
	char	*routing_key;	/* both malloc'd: free() */
	char	*body;
};
int	registry_event_add(sqlite3 *, const char *, const char *, int64_t);
/* The first event after id `after`; REG_NOT_FOUND when none. */
int	registry_event_next(sqlite3 *, int64_t, struct reg_event *);
int	registry_event_delete(sqlite3 *, int64_t);
int	registry_event_count(sqlite3 *, int64_t *);

#endif
