/*
 * A CA directory as `iotactl ca` keeps it:
 *
 *   root.crt root.key            the root (the key may live elsewhere)
 *   intermediate.crt .key        the online intermediate
 *   ca-chain.pem                 intermediate then root
 *   index                        one line per issued certificate
 *   crlnumber                    last CRL number handed out
 *   certs/SERIAL.pem             every certificate issued
 *   archive/SERIAL.crt .key      intermediates replaced by `ca rotate`
 *   .lock                        flock(2) taken by every verb that writes
 *
 * A key on a PKCS#11 token has NAME.key.uri in place of NAME.key: one
 * line, the RFC 7512 URI of the private key, never a PIN (token.h).  The
 * cadir_*_signer() functions load either kind; the passphrase they are
 * given is the token's PIN then.
 */
#ifndef IOTA_CADIR_H
#define IOTA_CADIR_H

#include "ca.h"

#define CADIR_ROOT_CRT		"root.crt"
#define CADIR_ROOT_KEY		"root.key"
#define CADIR_INTER_CRT		"intermediate.crt"
#define CADIR_INTER_KEY		"intermediate.key"
#define CADIR_URI_SUFFIX	".uri"
#define CADIR_ROOT_KEY_URI	CADIR_ROOT_KEY CADIR_URI_SUFFIX
#define CADIR_INTER_KEY_URI	CADIR_INTER_KEY CADIR_URI_SUFFIX
#define CADIR_CHAIN		"ca-chain.pem"
#define CADIR_INDEX		"index"
#define CADIR_CRLNUMBER		"crlnumber"
#define CADIR_CERTS		"certs"
#define CADIR_ARCHIVE		"archive"
#define CADIR_LOCK		".lock"

struct cadir {
	char	*path;
	int	 lockfd;
	int	 created;	/* cadir_create made the directory */
};

/* An index line. */
struct cadir_entry {
	char		*serial;	/* hex */
	char		*issuer;	/* hex serial of the issuing CA cert */
	char		 status;	/* 'V' valid, 'R' revoked */
	time_t		 not_after;
	time_t		 revoked_at;	/* 0 unless revoked */
	int		 reason;
	enum ca_profile	 profile;
	char		*subject;	/* one-line subject */
};

struct cadir_index {
	struct cadir_entry	*entries;
	size_t			 n;
};

/* Creates DIR (0700) if missing; refuses one that already holds a CA. */
struct cadir	*cadir_create(const char *);
/* Opens an existing CA directory; `lock` takes the write lock. */
struct cadir	*cadir_open(const char *, int);
void		 cadir_close(struct cadir *);
/*
 * DIR/name, returned by value so no caller ever holds a shared buffer:
 * cadir_file(cd, name) is valid to the end of the full expression; keep
 * a struct cadir_path to hold it longer.
 */
struct cadir_path {
	char	s[4096];
};
struct cadir_path cadir_path(const struct cadir *, const char *);
#define cadir_file(cd, name)	(cadir_path((cd), (name)).s)

X509		*cadir_root_cert(const struct cadir *);
X509		*cadir_intermediate_cert(const struct cadir *);
/* Loads the intermediate and its key behind a signer. */
struct ca_signer *cadir_intermediate_signer(const struct cadir *,
		    const char *, size_t);
/* An intermediate replaced by `ca rotate`, by its serial (hex). */
struct ca_signer *cadir_archived_signer(const struct cadir *, const char *,
		    const char *, size_t);
/*
 * Calls `each` for the current intermediate (serial NULL), then for every
 * archived one by its serial; stops at the first -1 and returns it.
 */
int		 cadir_issuers(const struct cadir *,
		    int (*)(const struct cadir *, const char *, void *), void *);
/* An archived intermediate's certificate alone. */
X509		*cadir_archived_cert(const struct cadir *, const char *);
/* The root signer, from `keypath` (NULL: DIR/root.key). */
struct ca_signer *cadir_root_signer(const struct cadir *, const char *,
		    const char *, size_t);

/*
 * Records an issued certificate (certs/SERIAL.pem and an index line,
 * both synced) before the caller may hand it out.
 */
int		 cadir_record(const struct cadir *, X509 *, const X509 *,
		    enum ca_profile);
/* An 'R' line for a certificate that never had a 'V' one (iotad's). */
int		 cadir_append_revoked(const struct cadir *, const X509 *,
		    const X509 *, time_t, int);
/*
 * The signer's CRL as DER: every revoked entry it issued, under the next
 * CRL number; the caller holds the lock.
 */
int		 cadir_crl(const struct cadir *, struct ca_signer *, time_t, long,
		    unsigned char **, size_t *);
/* Marks SERIAL revoked; fails if unknown or already revoked. */
int		 cadir_revoke(const struct cadir *, const char *, int, time_t);
uint64_t	 cadir_next_crlnumber(const struct cadir *);
/* Writes `name` atomically (temp file, fsync, rename) with `mode`. */
int		 cadir_write_atomic(const struct cadir *, const char *,
		    const void *, size_t, int);

/* index.c */
int		 cadir_index_load(const struct cadir *, struct cadir_index *);
void		 cadir_index_free(struct cadir_index *);
int		 cadir_index_append(const struct cadir *,
		    const struct cadir_entry *);
int		 cadir_index_save(const struct cadir *,
		    const struct cadir_index *);
struct cadir_entry *cadir_index_find(const struct cadir_index *,
		    const char *);

#endif
