/*
 * The iota CA engine: keys, CSR checks, certificate profiles, serials, CRLs.
 * No network and no database: callers bring the bytes and the clock.
 *
 * Conventions: a function that fails returns NULL or -1 after recording
 * one line that says why; ca_errstr() returns it (per thread).  Functions
 * returning an object hand over ownership; every *_free(NULL) is a no-op.
 * Every validity decision takes `now`, so tests can pin the clock.
 */
#ifndef IOTA_CA_H
#define IOTA_CA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* error.c */
const char	*ca_errstr(void);
void		 ca_seterr(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* After ca_seterr(): the signer is away (1), not refusing; try later. */
void		 ca_set_unavailable(void);
int		 ca_unavailable(void);

/* key.c: key types we create and accept, and encrypted key files. */
enum ca_key_type {
	CA_KEY_EC_P256,
	CA_KEY_EC_P384,
	CA_KEY_ED25519,
	CA_KEY_RSA_3072,
};
#define CA_PASSPHRASE_MIN	8	/* when a new key is encrypted */
#define CA_PASSPHRASE_MAX	1024

int		 ca_key_type_parse(const char *, enum ca_key_type *);
const char	*ca_key_type_name(enum ca_key_type);
EVP_PKEY	*ca_key_generate(enum ca_key_type);
/* Encrypted PKCS#8 (AES-256-CBC, scrypt), written to a new 0600 file. */
int		 ca_key_write_encrypted(const char *, EVP_PKEY *,
		    const char *, size_t);
/* Plain PKCS#8 in a new 0600 file, for service keys (broker, ingress). */
int		 ca_key_write_plain(const char *, EVP_PKEY *);
EVP_PKEY	*ca_key_read(const char *, const char *, size_t);
/* One-line description such as "EC P-256" or "RSA 3072"; static. */
const char	*ca_key_describe(const EVP_PKEY *);

/* serial.c: random positive serials with 127 bits of entropy. */
#define CA_SERIAL_BYTES		16
int		 ca_serial_random(ASN1_INTEGER *);
/* Hex (upper case, no separators) of a certificate's serial; free(). */
char		*ca_serial_hex(const ASN1_INTEGER *);
/* Parse hex, with or without colons or 0x; NULL on bad syntax. */
ASN1_INTEGER	*ca_serial_parse(const char *);

/* csr.c: untrusted CSRs, checked before anything else looks at them. */
#define CA_CSR_MAX	(16 * 1024)	/* bytes, PEM or DER */
struct ca_csr;
/* PEM or DER; checks size, syntax, proof of possession, key policy. */
struct ca_csr	*ca_csr_parse(const unsigned char *, size_t);
void		 ca_csr_free(struct ca_csr *);
/*
 * The requested public key, the only thing an issued cert takes: its
 * SubjectPublicKeyInfo as DER, as the request carried it.
 */
const unsigned char *ca_csr_spki(const struct ca_csr *, size_t *);
/* csr-fast.c, used by ca_csr_parse: 1 accepted, -1 refused, 0 not mine. */
int		 ca_csr_parse_fast(const unsigned char *, long,
		    unsigned char **, size_t *);
/* Key policy alone, for keys that do not come in a CSR. */
int		 ca_pubkey_check(const EVP_PKEY *);
/* spki.c: an EC point's first octet, RFC 5480 2.2: 0, or -1 (error set). */
int		 ca_ec_point_check(const unsigned char *, size_t);

/* spki.c: a SubjectPublicKeyInfo in DER, checked against the key policy. */
#define CA_SPKI_MAX	(2 * 1024)	/* bytes: RSA 8192 fits */
X509_PUBKEY	*ca_spki_parse(const unsigned char *, size_t);

/* cert.c: certificate profiles and issuance. */
enum ca_profile {
	CA_PROFILE_ROOT,
	CA_PROFILE_INTERMEDIATE,
	CA_PROFILE_SERVER,
	CA_PROFILE_DEVICE,
};
#define CA_MAX_SAN	32
#define CA_BACKDATE	300	/* seconds of clock skew we tolerate */

/* Everything about the certificate comes from here, nothing from a CSR. */
struct ca_request {
	enum ca_profile	 profile;
	const char	*common_name;
	const char	*organization;		/* optional: O */
	const char	*unit;			/* optional: OU */
	const char	*dns[CA_MAX_SAN];	/* server: DNS SANs */
	size_t		 ndns;
	const char	*ip[CA_MAX_SAN];	/* server: IPv4/IPv6 SANs */
	size_t		 nip;
	const char	*uri;			/* device: URI SAN naming it */
	long		 days;			/* validity; clamped to issuer */
	/* Leaves, optional: where relying parties check revocation. */
	const char	*crl_url;		/* CRL distribution point */
	const char	*ocsp_url;		/* AIA: OCSP responder */
};
#define CA_URL_MAX	256

int		 ca_profile_parse(const char *, enum ca_profile *);
/* ext.c: the profile's extensions, for a cert whose key is already set. */
int		 ca_ext_add_profile(X509 *, const X509 *,
		    const struct ca_request *, int);
const char	*ca_profile_name(enum ca_profile);
/* Checks a request (names, SANs, days) before any key is touched. */
int		 ca_request_check(const struct ca_request *);
/*
 * The unsigned certificate for `spki` under `issuer` (NULL: a root, self
 * issued), with a fresh serial; for signers, after their checks.  The key
 * bits are copied as they are, not decoded again.
 */
X509		*ca_cert_tbs(const X509 *, const X509_PUBKEY *,
		    const struct ca_request *, time_t);
/* The name checks, exported for the CLI and, later, the registry. */
int		 ca_name_is_safe(const char *);
int		 ca_dns_name_check(const char *);
int		 ca_ip_check(const char *);
int		 ca_http_url_check(const char *);

/* crl.c: CRL v2 with CRL number and AKI. */
struct ca_revoked {
	const char	*serial;	/* hex, as ca_serial_hex() writes it */
	time_t		 when;
	int		 reason;	/* CRL_REASON_* from <openssl/x509v3.h> */
};
/* A CRL of the signer's: every certificate it revoked, and how long. */
struct ca_crl_req {
	const struct ca_revoked	*revoked;
	size_t			 n;
	uint64_t		 number;	/* cRLNumber */
	time_t			 now;		/* thisUpdate */
	long			 days;		/* nextUpdate - thisUpdate */
};
int		 ca_reason_parse(const char *, int *);
const char	*ca_reason_name(int);
/* The unsigned CRL, for signers. */
X509_CRL	*ca_crl_tbs(const X509 *, const struct ca_crl_req *);

/* ocsp.c: RFC 6960 requests and answers for the certificates we issued. */
#include <openssl/ocsp.h>

#define CA_OCSP_REQ_MAX		4096	/* bytes of DER we read */
#define CA_OCSP_SINGLES_MAX	8	/* certificates asked in one request */
#define CA_OCSP_NONCE_MAX	34	/* RFC 8954: 32 octets, DER-wrapped */

enum ca_cert_status {
	CA_STATUS_UNKNOWN,	/* never issued by this issuer */
	CA_STATUS_GOOD,
	CA_STATUS_REVOKED,
};

struct ca_ocsp_single {
	char			 serial[CA_SERIAL_BYTES * 2 + 8];  /* hex */
	int			 md_nid;	/* the CertID's hash */
	enum ca_cert_status	 status;	/* the caller fills these */
	time_t			 revoked_at;
	int			 reason;	/* CRL_REASON_* */
};

/* What a signer answers: typed, so it can re-check every field. */
struct ca_ocsp_req {
	struct ca_ocsp_single	 singles[CA_OCSP_SINGLES_MAX];
	size_t			 n;
	unsigned char		 nonce[CA_OCSP_NONCE_MAX];  /* as sent */
	size_t			 nonce_len;	/* 0: no nonce asked */
	time_t			 now;		/* thisUpdate */
	long			 validity;	/* seconds to nextUpdate */
};

/*
 * Reads an untrusted DER request about certificates of one of `issuers`:
 * OCSP_RESPONSE_STATUS_SUCCESSFUL with *out (statuses all unknown) and
 * the issuer's index, or the error status to answer: malformedRequest
 * for anything we cannot read, unauthorized for an issuer not ours.
 */
int		 ca_ocsp_request_parse(const unsigned char *, size_t,
		    const X509 *const *, size_t, struct ca_ocsp_req *, size_t *);
/* An unsigned error answer with that status, as DER. */
int		 ca_ocsp_error(int, unsigned char **, size_t *);
/* The unsigned basic response, for signers. */
OCSP_BASICRESP	*ca_ocsp_tbs(const X509 *, const struct ca_ocsp_req *);

/*
 * signer.c: the one narrow interface to a CA signing key.  Requests are
 * typed: a certificate of a profile for a public key, a CRL, or an OCSP
 * answer about serials.  The
 * answer is DER.  A signer issues only the profiles its place allows (a
 * root: intermediates; an intermediate: end entities), narrowed further
 * with ca_signer_restrict(); each implementation re-checks every request
 * itself, so that it stays safe behind a process boundary.
 */
#define CA_ALLOW(profile)	(1u << (profile))
#define CA_SERIAL_HEX_MAX	(2 * CA_SERIAL_BYTES + 2)

struct ca_issue_req {
	struct ca_request	 req;		/* profile, names, days */
	const unsigned char	*spki;		/* SubjectPublicKeyInfo DER */
	size_t			 spki_len;
	time_t			 now;
};

struct ca_issued {
	unsigned char	*der;			/* OPENSSL_free(), or clear */
	size_t		 len;
	char		 serial[CA_SERIAL_HEX_MAX + 1];
	time_t		 not_after;
};

/*
 * A checkpoint of iotad's audit chain: its head record and hash at a
 * time.  The signer signs its own encoding of these fields
 * (checkpoint.h), never bytes it is handed.
 */
#define CA_CHECKPOINT_HEAD_LEN	32
struct ca_checkpoint_req {
	int64_t		 record_id;	/* >= 1 */
	unsigned char	 head[CA_CHECKPOINT_HEAD_LEN];
	time_t		 at;
};

struct ca_signer;
struct ca_signer_ops {
	int	(*issue)(struct ca_signer *, const struct ca_issue_req *,
		    struct ca_issued *);
	int	(*crl)(struct ca_signer *, const struct ca_crl_req *,
		    unsigned char **, size_t *);
	int	(*ocsp)(struct ca_signer *, const struct ca_ocsp_req *,
		    unsigned char **, size_t *);
	int	(*checkpoint)(struct ca_signer *,
		    const struct ca_checkpoint_req *, unsigned char **,
		    size_t *);
	void	(*free)(void *);
};

/*
 * signer-remote.c: the key in another process, reached through `link`:
 * call() sends one request frame (signer-wire.h) and returns the answer's
 * body (free()), or -1 after ca_seterr() and ca_set_unavailable() when
 * the signer cannot be reached.  Takes ownership of the certificate.
 */
struct ca_signer_link {
	int	(*call)(void *, const unsigned char *, size_t, unsigned char **,
		    size_t *);
	void	*arg;
};
struct ca_signer *ca_signer_remote(X509 *, const struct ca_signer_link *);

/* signer-local.c: the key in this process.  Both take ownership. */
struct ca_signer *ca_signer_new(X509 *, EVP_PKEY *);
/* No certificate yet: the signer of a root's own certificate. */
struct ca_signer *ca_signer_self(EVP_PKEY *);

/* Another implementation behind the same interface; takes `cert`. */
struct ca_signer *ca_signer_wrap(const struct ca_signer_ops *, void *, X509 *);
void		*ca_signer_impl(const struct ca_signer *);
void		 ca_signer_free(struct ca_signer *);
/* NULL for a self-signing signer. */
const X509	*ca_signer_cert(const struct ca_signer *);
int		 ca_signer_allows(const struct ca_signer *, enum ca_profile);
void		 ca_signer_restrict(struct ca_signer *, unsigned int);
/* 0 with *out filled (ca_issued_clear() it), or -1 and ca_errstr(). */
int		 ca_signer_issue(struct ca_signer *, const struct ca_issue_req *,
		    struct ca_issued *);
void		 ca_issued_clear(struct ca_issued *);
/* The CRL as DER (OPENSSL_free() it). */
int		 ca_signer_crl(struct ca_signer *, const struct ca_crl_req *,
		    unsigned char **, size_t *);
/* A signed OCSPResponse as DER (OPENSSL_free() it). */
int		 ca_signer_ocsp(struct ca_signer *, const struct ca_ocsp_req *,
		    unsigned char **, size_t *);
/* An audit checkpoint's signature (OPENSSL_free() it). */
int		 ca_signer_checkpoint(struct ca_signer *,
		    const struct ca_checkpoint_req *, unsigned char **,
		    size_t *);

/*
 * issue.c: for the offline commands, which keep OpenSSL objects; through
 * the signer like everything else.
 */
X509		*ca_issue_for_key(struct ca_signer *, EVP_PKEY *,
		    const struct ca_request *, time_t);
X509		*ca_issue_for_csr(struct ca_signer *, const struct ca_csr *,
		    const struct ca_request *, time_t);
X509_CRL	*ca_crl_build(struct ca_signer *, const struct ca_revoked *,
		    size_t, uint64_t, time_t, long);

/* pkcs7.c: certificates as a certs-only PKCS#7 (EST), DER, OPENSSL_free. */
int		 ca_certs_pkcs7(X509 *const *, size_t, unsigned char **,
		    size_t *);

/* pem.c: small file helpers shared by every caller. */
/* Reads a whole regular file of at most `max` bytes; free() the result. */
unsigned char	*ca_file_read(const char *, size_t, size_t *);
/* Creates a new file (never overwrites) with `mode`, synced. */
int		 ca_file_write_new(const char *, const void *, size_t, int);
X509		*ca_cert_read(const char *);
/* New file holding the PEM of `certs`, in order. */
int		 ca_certs_write_new(const char *, X509 *const *, size_t, int);
/* PEM of one or more certificates, in order; free(). */
char		*ca_certs_pem(X509 *const *, size_t, size_t *);
time_t		 ca_time_from_asn1(const ASN1_TIME *);
/* SHA-256 fingerprint as AA:BB:...; static buffer. */
const char	*ca_cert_fingerprint(const X509 *);

#endif
