/* Files and PEM: the few ways bytes enter and leave the engine. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "ca.h"

static unsigned char *
read_fd(int fd, const char *path, size_t max, size_t *lenp)
{
	struct stat st;
	unsigned char *buf;
	size_t len = 0;
	ssize_t n;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		ca_seterr("%s: not a regular file", path);
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		ca_seterr("%s: larger than %zu bytes", path, max);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

unsigned char *
ca_file_read(const char *path, size_t max, size_t *lenp)
{
	unsigned char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		ca_seterr("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = read_fd(fd, path, max, lenp);
	close(fd);
	return buf;
}

int
ca_file_write_new(const char *path, const void *data, size_t len, int mode)
{
	const char *p = data;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd == -1) {
		ca_seterr("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	while (len > 0 && (n = write(fd, p, len)) > 0) {
		p += n;
		len -= (size_t)n;
	}
	if (len > 0 || fsync(fd) == -1 || close(fd) == -1) {
		ca_seterr("cannot write %s: %s", path, strerror(errno));
		if (len > 0)
			close(fd);
		unlink(path);
		return -1;
	}
	return 0;
}

X509 *
ca_cert_read(const char *path)
{
	unsigned char *data;
	size_t len;
	BIO *bio;
	X509 *cert = NULL;

	if ((data = ca_file_read(path, 256 * 1024, &len)) == NULL)
		return NULL;
	if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL)
		cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(data);
	if (cert == NULL)
		ca_seterr("%s: not a PEM certificate", path);
	return cert;
}

static char *
bio_to_string(BIO *bio, size_t *lenp)
{
	char *data, *copy;
	long len;

	len = BIO_get_mem_data(bio, &data);
	if ((copy = malloc((size_t)len + 1)) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	memcpy(copy, data, (size_t)len);
	copy[len] = '\0';
	*lenp = (size_t)len;
	return copy;
}

char *
ca_certs_pem(X509 *const *certs, size_t n, size_t *lenp)
{
	BIO *bio;
	char *pem = NULL;
	size_t i;

	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (PEM_write_bio_X509(bio, certs[i]) != 1)
			break;
	if (i == n)
		pem = bio_to_string(bio, lenp);
	else
		ca_seterr("cannot encode a certificate");
	BIO_free(bio);
	return pem;
}

const char *
ca_cert_fingerprint(const X509 *cert)
{
	static _Thread_local char buf[3 * EVP_MAX_MD_SIZE + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len, i;

	if (X509_digest(cert, EVP_sha256(), md, &len) != 1)
		return "?";
	for (i = 0; i < len; i++)
		snprintf(buf + 3 * i, 4, "%02X%s", md[i], i + 1 < len ? ":" : "");
	return buf;
}

int
ca_certs_write_new(const char *path, X509 *const *certs, size_t n, int mode)
{
	char *pem;
	size_t len;
	int rc;

	if ((pem = ca_certs_pem(certs, n, &len)) == NULL)
		return -1;
	rc = ca_file_write_new(path, pem, len, mode);
	free(pem);
	return rc;
}
