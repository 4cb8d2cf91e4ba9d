/*
 * Audit checkpoints: what the CA signer signs when iotad checkpoints its
 * audit chain (ca_signer_checkpoint()), and the check of such a
 * signature against an issuer certificate, for `iotactl audit verify`.
 *
 *   tbs = "iota audit checkpoint v1\0" || be64(record_id) || head ||
 *       be64(at)
 *
 * signed with the CA key as the key is: ECDSA with SHA-256 (SHA-384 above
 * 256 bits), Ed25519, or RSA PKCS#1 v1.5 with SHA-256.  The tag keeps
 * these signatures apart from anything else the key signs.
 */
#ifndef IOTA_CHECKPOINT_H
#define IOTA_CHECKPOINT_H

#include "ca.h"

#define CA_CHECKPOINT_TAG	"iota audit checkpoint v1"
#define CA_CHECKPOINT_TBS_LEN	(sizeof(CA_CHECKPOINT_TAG) + 8 + \
				    CA_CHECKPOINT_HEAD_LEN + 8)

/* A request a signer may sign: a record id >= 1 and a time >= 0. */
int		 ca_checkpoint_check(const struct ca_checkpoint_req *);
void		 ca_checkpoint_tbs(const struct ca_checkpoint_req *,
		    unsigned char [CA_CHECKPOINT_TBS_LEN]);
/* The digest for the key's type; NULL for Ed25519. */
const EVP_MD	*ca_checkpoint_md(const EVP_PKEY *);
/*
 * 0 if the issuer's key signed this checkpoint at a time the issuer was
 * valid, else -1 and ca_errstr().
 */
int		 ca_checkpoint_verify(const struct ca_checkpoint_req *,
		    const unsigned char *, size_t, const X509 *);

#endif
