/* Device files: devfiles.h. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "devfiles.h"
#include "remote.h"

int
dev_prepare_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		cli_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cli_error("%s is not a directory", dir);
		return -1;
	}
	return 0;
}

void
dev_sync_dir(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

/* DIR/.NAME.PID.tmp beside the file it becomes. */
int
dev_temp_path(const char *dir, const char *final, char *tmp, size_t size)
{
	const char *base = strrchr(final, '/');

	base = base != NULL ? base + 1 : final;
	if ((size_t)snprintf(tmp, size, "%s/.%s.%ld.tmp", dir, base,
	    (long)getpid()) >= size) {
		cli_error("--out: the path is too long");
		return -1;
	}
	(void)unlink(tmp);	/* a leftover of a crashed run of ours */
	return 0;
}

int
dev_commit(const char *dir, const char *tmp, const char *final)
{
	if (rename(tmp, final) == -1) {
		cli_error("cannot rename %s to %s: %s", tmp, final,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	dev_sync_dir(dir);
	return 0;
}

int
dev_write_key(const char *dir, const char *path, EVP_PKEY *key)
{
	char tmp[PATH_MAX];

	if (dev_temp_path(dir, path, tmp, sizeof(tmp)) == -1)
		return -1;
	if (ca_key_write_plain(tmp, key) == -1) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return dev_commit(dir, tmp, path);
}

int
dev_write_certs(const char *dir, const char *path, X509 *const *certs, size_t n)
{
	char tmp[PATH_MAX];

	if (dev_temp_path(dir, path, tmp, sizeof(tmp)) == -1)
		return -1;
	if (ca_certs_write_new(tmp, certs, n, 0644) == -1) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return dev_commit(dir, tmp, path);
}

/* The broker credentials, 0600: they hold the device's password. */
int
dev_write_broker(const char *dir, const char *path, const json_t *broker)
{
	char tmp[PATH_MAX], *text;
	int rc;

	if (dev_temp_path(dir, path, tmp, sizeof(tmp)) == -1)
		return -1;
	if ((text = json_dumps(broker, JSON_INDENT(2))) == NULL) {
		cli_error("out of memory");
		return -1;
	}
	rc = ca_file_write_new(tmp, text, strlen(text), 0600);
	OPENSSL_clear_free(text, strlen(text));
	if (rc == -1) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return dev_commit(dir, tmp, path);
}

char *
dev_make_csr(EVP_PKEY *key, const char *device)
{
	X509_REQ *req;
	BIO *bio = NULL;
	char *pem = NULL, *data;
	long len;
	int ed = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;

	if ((req = X509_REQ_new()) == NULL ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_UTF8, (const unsigned char *)device, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, ed ? NULL : EVP_sha256()) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(bio, req) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (pem = strndup(data, (size_t)len)) == NULL)
		cli_error("cannot make the certification request");
	BIO_free(bio);
	X509_REQ_free(req);
	return pem;
}

/* The certificates in a PEM string; 0 if there is none or junk. */
size_t
dev_parse_certs(const char *pem, X509 **certs, size_t max)
{
	BIO *bio;
	size_t n = 0;
	X509 *c;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return 0;
	while (n < max && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		certs[n++] = c;
	BIO_free(bio);
	return n;
}

void
dev_issued_free(struct issued *is)
{
	X509_free(is->cert);
	for (size_t i = 0; i < is->nchain; i++)
		X509_free(is->chain[i]);
}

/* The answer keeps the contract: a certificate for our key, a chain. */
int
dev_take_answer(const json_t *answer, EVP_PKEY *key, struct issued *is)
{
	const char *cert, *chain;

	if ((cert = remote_string(answer, "certificate")) == NULL ||
	    (chain = remote_string(answer, "ca_chain")) == NULL)
		return EXIT_UNREACHABLE;
	if (dev_parse_certs(cert, &is->cert, 1) != 1 ||
	    (is->nchain = dev_parse_certs(chain, is->chain, MAX_CHAIN)) == 0) {
		cli_error("the server's answer holds no PEM certificate or "
		    "chain");
		return EXIT_UNREACHABLE;
	}
	if (X509_check_private_key(is->cert, key) != 1) {
		cli_error("the server's certificate is not for this device's "
		    "key");
		return EXIT_UNREACHABLE;
	}
	return 0;
}


/*
 * The certificate verifies with the chain it came with up to `root` (PEM,
 * one or more certificates; NULL: the system's store), for a TLS client.
 * The chain is only untrusted intermediates: a root the server sends is
 * worth nothing unless `root` holds it too.
 */
int
dev_verify_chain(const struct issued *is, const char *root)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain = NULL;
	int ok = 0, err = X509_V_OK;

	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    (chain = sk_X509_new_null()) == NULL) {
		cli_error("out of memory");
		goto out;
	}
	if (root != NULL ? X509_STORE_load_file(store, root) != 1 :
	    X509_STORE_set_default_paths(store) != 1) {
		cli_error("cannot load the root %s to verify the chain with",
		    root != NULL ? root : "of the system's store");
		goto out;
	}
	for (size_t i = 0; i < is->nchain; i++)
		if (!sk_X509_push(chain, is->chain[i])) {
			cli_error("out of memory");
			goto out;
		}
	if (X509_STORE_CTX_init(ctx, store, is->cert, chain) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1) {
		cli_error("cannot verify the server's certificate chain");
		goto out;
	}
	if (X509_verify_cert(ctx) == 1)
		ok = 1;
	else
		err = X509_STORE_CTX_get_error(ctx);
	if (!ok)
		cli_error("the server's certificate does not chain to the "
		    "root %s: %s; nothing written", root != NULL ? root :
		    "of the system's store", X509_verify_cert_error_string(err));
out:
	sk_X509_free(chain);	/* the certificates stay the caller's */
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok ? 0 : EXIT_UNREACHABLE;
}

const char *
dev_chain_root(const char *root, const struct remote_opts *ro)
{
	const char *env;

	if (root != NULL)
		return root;
	if (ro->ca_file != NULL)
		return ro->ca_file;
	return (env = getenv("IOTA_CA_FILE")) != NULL && *env != '\0' ? env :
	    NULL;
}
