/*
 * The files a device keeps (key, certificate, chain, broker credentials),
 * written as provision and renew both write them: to a temporary name
 * beside the file, synced, renamed, the directory synced.  Errors are
 * said with cli_error(); -1 then.
 */
#ifndef IOTA_DEVFILES_H
#define IOTA_DEVFILES_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "remote.h"

#define MAX_CHAIN	8

/* What iotad answered: the certificate and its chain. */
struct issued {
	X509	*cert;
	X509	*chain[MAX_CHAIN];
	size_t	 nchain;
};

/* DIR, made 0700 if missing. */
int	 dev_prepare_dir(const char *);
void	 dev_sync_dir(const char *);
/* DIR/.NAME.PID.tmp beside `final`. */
int	 dev_temp_path(const char *, const char *, char *, size_t);
/* rename(tmp, final), then the directory synced. */
int	 dev_commit(const char *, const char *, const char *);
int	 dev_write_key(const char *, const char *, EVP_PKEY *);
int	 dev_write_certs(const char *, const char *, X509 *const *, size_t);
/* 0600: the broker credentials hold the device's password. */
int	 dev_write_broker(const char *, const char *, const json_t *);
/* A PEM CSR for the key, CN = name; free(). */
char	*dev_make_csr(EVP_PKEY *, const char *);
size_t	 dev_parse_certs(const char *, X509 **, size_t);
void	 dev_issued_free(struct issued *);
/* The answer keeps the contract: a certificate for `key`, a chain. */
int	 dev_take_answer(const json_t *, EVP_PKEY *, struct issued *);
/* The certificate verifies with its chain up to the root in the PEM file
 * (NULL: the system's store), purpose TLS client; else one line and
 * EXIT_UNREACHABLE. */
int	 dev_verify_chain(const struct issued *, const char *);
/* The root the answer must chain to: --root, else the TLS root (--ca-file,
 * else IOTA_CA_FILE); NULL: the system's store. */
const char *dev_chain_root(const char *, const struct remote_opts *);

#endif
