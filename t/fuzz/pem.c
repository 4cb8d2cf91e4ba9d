/*
 * libFuzzer target: the PEM files iotad and iotactl read (certificates,
 * chains, private keys), through ca_cert_read() and ca_key_read() as
 * they read them, and pem_armour() against OpenSSL's PEM reader.
 * Whatever comes in: no crash or leak; a certificate read writes out and
 * reads back the same; the armour of any bytes reads back as those bytes.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "ca.h"
#include "encode.h"

static char path[64], again[64];

static void
cleanup(void)
{
	unlink(path);
	unlink(again);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	/* In memory where there is one: a file per input, written. */
	snprintf(path, sizeof(path), "%s/iota-fuzz-pem.%ld",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
	snprintf(again, sizeof(again), "%s.again", path);
	if ((fd = mkstemp(strcat(path, "XXXXXX"))) == -1)
		abort();
	close(fd);
	atexit(cleanup);
	return 0;
}

static void
put(const char *file, const void *data, size_t size)
{
	FILE *f;

	if ((f = fopen(file, "w")) == NULL ||
	    fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

static void
cert(void)
{
	X509 *c, *c2;
	char *pem;
	size_t len;

	if ((c = ca_cert_read(path)) == NULL)
		return;
	if ((pem = ca_certs_pem(&c, 1, &len)) == NULL)
		abort();
	put(again, pem, len);
	if ((c2 = ca_cert_read(again)) == NULL || X509_cmp(c, c2) != 0 ||
	    strcmp(ca_cert_fingerprint(c), ca_cert_fingerprint(c2)) != 0)
		abort();
	unlink(again);
	free(pem);
	X509_free(c2);
	X509_free(c);
}

/* No passphrase: a KDF's cost is the file's to choose, not ours. */
static void
key(void)
{
	EVP_PKEY *k;

	if ((k = ca_key_read(path, NULL, 0)) == NULL)
		return;
	if (ca_key_describe(k) == NULL)
		abort();
	(void)ca_pubkey_check(k);
	EVP_PKEY_free(k);
}

static void
armour(const uint8_t *data, size_t size)
{
	char *pem, *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long len = 0;
	size_t n;
	BIO *bio;

	if ((pem = pem_armour("CERTIFICATE", data, size, &n)) == NULL)
		abort();
	if (strlen(pem) != n || (bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
		abort();
	if (PEM_read_bio(bio, &name, &header, &der, &len) != 1 ||
	    strcmp(name, "CERTIFICATE") != 0 || *header != '\0' ||
	    (size_t)len != size || memcmp(der, data, size) != 0)
		abort();
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	free(pem);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	put(path, data, size);
	cert();
	/* OpenSSL 3's key decoders cost a millisecond even on junk; only a
	 * "PRIVATE KEY-----" label can be a key, so spare them the rest. */
	if (memmem(data, size, "PRIVATE KEY-----", 16) != NULL)
		key();
	if (size > 0)
		armour(data, size);
	return 0;
}
