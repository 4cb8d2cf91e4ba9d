/*
 * The audit chain: every audit record carries the hash of the record
 * before it, so that a record edited, inserted, deleted or moved breaks
 * the chain at that place.  The encoding and the hash live here alone:
 * iotad computes them as it writes a record, `iotactl audit verify`
 * recomputes them, and both must agree byte for byte.
 *
 *   hash = SHA-256("iota audit record v1\0" || prev || be64(id) ||
 *       be64(at) || opt_int(tenant_id) || text(actor) || text(action) ||
 *       text(target) || text(outcome) || text(client))
 *
 * where opt_int(v) is 0x00 for NULL or 0x01 || be64(v), text(s) is 0x00
 * for NULL or 0x01 || be32(length in bytes) || the bytes.  The first
 * record's prev is AUDITCHAIN_HASH_LEN zero bytes.  Lengths and presence
 * bytes make the encoding unambiguous: no two records encode alike.
 */
#ifndef IOTA_AUDITCHAIN_H
#define IOTA_AUDITCHAIN_H

#include <stddef.h>
#include <stdint.h>

#define AUDITCHAIN_HASH_LEN	32
#define AUDITCHAIN_TAG		"iota audit record v1"

/* A text column: s NULL for SQL NULL; len in bytes (NULs included). */
struct auditchain_text {
	const char	*s;
	size_t		 len;
};

/* Every column of an audit row but the two hashes. */
struct auditchain_record {
	int64_t			 id;
	int64_t			 at;
	int			 has_tenant;	/* 0: tenant_id is NULL */
	int64_t			 tenant_id;
	struct auditchain_text	 actor, action, target, outcome, client;
};

extern const unsigned char auditchain_zero[AUDITCHAIN_HASH_LEN];

/* A C string as a text column; NULL stays NULL. */
struct auditchain_text auditchain_str(const char *);
/* 0 with the record's hash in out, or -1 if SHA-256 failed. */
int	auditchain_hash(const unsigned char [AUDITCHAIN_HASH_LEN],
	    const struct auditchain_record *,
	    unsigned char [AUDITCHAIN_HASH_LEN]);

#endif
