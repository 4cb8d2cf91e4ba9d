/* The CA directory of `iotactl ca`: paths, lock, signers, the record. */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cadir.h"
#include "token.h"

struct cadir_path
cadir_path(const struct cadir *cd, const char *name)
{
	struct cadir_path p;

	/* Too long a path names nothing that exists, and says so in errors. */
	if ((size_t)snprintf(p.s, sizeof(p.s), "%s/%s", cd->path, name) >=
	    sizeof(p.s))
		snprintf(p.s, sizeof(p.s), "(path too long)");
	return p;
}

static int
take_lock(struct cadir *cd)
{
	struct cadir_path path = cadir_path(cd, CADIR_LOCK);

	cd->lockfd = open(path.s, O_RDWR | O_CLOEXEC);
	if (cd->lockfd == -1 && errno == ENOENT)
		cd->lockfd = open(path.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (cd->lockfd == -1 || flock(cd->lockfd, LOCK_EX) == -1) {
		ca_seterr("cannot lock %s: %s", path.s, strerror(errno));
		return -1;
	}
	return 0;
}

static struct cadir *
cadir_alloc(const char *path)
{
	struct cadir *cd;

	if ((cd = calloc(1, sizeof(*cd))) == NULL ||
	    (cd->path = strdup(path)) == NULL) {
		free(cd);
		ca_seterr("out of memory");
		return NULL;
	}
	cd->lockfd = -1;
	return cd;
}

static int
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

struct cadir *
cadir_create(const char *path)
{
	struct cadir *cd;
	struct stat st;

	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		ca_seterr("%s exists and is not a directory", path);
		return NULL;
	}
	if ((cd = cadir_alloc(path)) == NULL)
		return NULL;
	if (exists(cadir_file(cd, CADIR_INDEX)) ||
	    exists(cadir_file(cd, CADIR_ROOT_CRT))) {
		ca_seterr("%s already holds a CA", path);
		goto fail;
	}
	if (mkdir(path, 0700) == 0)
		cd->created = 1;
	else if (errno != EEXIST) {
		ca_seterr("cannot create %s: %s", path, strerror(errno));
		goto fail;
	}
	if (mkdir(cadir_file(cd, CADIR_CERTS), 0700) == -1 && errno != EEXIST) {
		ca_seterr("cannot create %s: %s", path, strerror(errno));
		goto fail;
	}
	if (take_lock(cd) == -1)
		goto fail;
	return cd;
fail:
	cadir_close(cd);
	return NULL;
}

struct cadir *
cadir_open(const char *path, int lock)
{
	struct cadir *cd;
	struct stat st;

	if (stat(path, &st) == -1) {
		ca_seterr("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((cd = cadir_alloc(path)) == NULL)
		return NULL;
	if (!S_ISDIR(st.st_mode) || !exists(cadir_file(cd, CADIR_INDEX)) ||
	    !exists(cadir_file(cd, CADIR_INTER_CRT))) {
		ca_seterr("%s is not an iota CA directory", path);
		goto fail;
	}
	if (lock && take_lock(cd) == -1)
		goto fail;
	return cd;
fail:
	cadir_close(cd);
	return NULL;
}

void
cadir_close(struct cadir *cd)
{
	if (cd == NULL)
		return;
	if (cd->lockfd != -1)
		close(cd->lockfd);
	free(cd->path);
	free(cd);
}

X509 *
cadir_root_cert(const struct cadir *cd)
{
	return ca_cert_read(cadir_file(cd, CADIR_ROOT_CRT));
}

X509 *
cadir_intermediate_cert(const struct cadir *cd)
{
	return ca_cert_read(cadir_file(cd, CADIR_INTER_CRT));
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static EVP_PKEY *
key_from_uri_file(const char *path, const char *pass, size_t passlen)
{
	EVP_PKEY *key;
	char *uri;

	if ((uri = ca_token_uri_read(path)) == NULL)
		return NULL;
	key = ca_token_key_load(uri, pass, passlen);
	free(uri);
	return key;
}

/*
 * A CA key is an encrypted file or, named by PATH.uri instead, a key on
 * a token; `path` may also be a pkcs11: URI or a .uri file itself.  The
 * passphrase is the token's PIN then.
 */
static EVP_PKEY *
key_read(const char *path, const char *pass, size_t passlen)
{
	char uri[PATH_MAX];

	if (ca_token_is_uri(path))
		return ca_token_key_load(path, pass, passlen);
	if (ends_with(path, CADIR_URI_SUFFIX))
		return key_from_uri_file(path, pass, passlen);
	if ((size_t)snprintf(uri, sizeof(uri), "%s%s", path,
	    CADIR_URI_SUFFIX) >= sizeof(uri) || !exists(uri))
		return ca_key_read(path, pass, passlen);
	if (exists(path)) {
		ca_seterr("both %s and %s exist: a CA key is a file or on a "
		    "token, not both", path, uri);
		return NULL;
	}
	return key_from_uri_file(uri, pass, passlen);
}

static struct ca_signer *
signer_from_files(const char *crtpath, const char *keypath, const char *pass,
    size_t passlen)
{
	struct ca_signer *s;
	EVP_PKEY *key;
	X509 *cert;

	if ((cert = ca_cert_read(crtpath)) == NULL)
		return NULL;
	if ((key = key_read(keypath, pass, passlen)) == NULL) {
		X509_free(cert);
		return NULL;
	}
	if ((s = ca_signer_new(cert, key)) == NULL) {
		ca_seterr("%s does not belong to %s", keypath, crtpath);
		X509_free(cert);
		EVP_PKEY_free(key);
	}
	return s;
}

struct ca_signer *
cadir_intermediate_signer(const struct cadir *cd, const char *pass,
    size_t passlen)
{
	return signer_from_files(cadir_file(cd, CADIR_INTER_CRT),
	    cadir_file(cd, CADIR_INTER_KEY), pass, passlen);
}

struct ca_signer *
cadir_archived_signer(const struct cadir *cd, const char *serial,
    const char *pass, size_t passlen)
{
	char crt[256], key[256];

	snprintf(crt, sizeof(crt), "%s/%s.crt", CADIR_ARCHIVE, serial);
	snprintf(key, sizeof(key), "%s/%s.key", CADIR_ARCHIVE, serial);
	if (!exists(cadir_file(cd, crt))) {
		ca_seterr("no archived intermediate with serial %s", serial);
		return NULL;
	}
	return signer_from_files(cadir_file(cd, crt), cadir_file(cd, key),
	    pass, passlen);
}

X509 *
cadir_archived_cert(const struct cadir *cd, const char *serial)
{
	char crt[256];

	snprintf(crt, sizeof(crt), "%s/%s.crt", CADIR_ARCHIVE, serial);
	return ca_cert_read(cadir_file(cd, crt));
}

/* archive/SERIAL.crt, as `iotactl ca rotate` leaves them. */
int
cadir_issuers(const struct cadir *cd,
    int (*each)(const struct cadir *, const char *, void *), void *arg)
{
	char serial[CA_SERIAL_HEX_MAX + 1];
	struct dirent *de;
	DIR *d;
	int rc;

	if ((rc = each(cd, NULL, arg)) == -1)
		return -1;
	if ((d = opendir(cadir_file(cd, CADIR_ARCHIVE))) == NULL)
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n <= 4 || n - 4 > CA_SERIAL_HEX_MAX ||
		    strcmp(de->d_name + n - 4, ".crt") != 0)
			continue;
		snprintf(serial, sizeof(serial), "%.*s", (int)(n - 4),
		    de->d_name);
		rc = each(cd, serial, arg);
	}
	closedir(d);
	return rc;
}

struct ca_signer *
cadir_root_signer(const struct cadir *cd, const char *keypath,
    const char *pass, size_t passlen)
{
	return signer_from_files(cadir_file(cd, CADIR_ROOT_CRT),
	    keypath != NULL ? keypath : cadir_file(cd, CADIR_ROOT_KEY), pass,
	    passlen);
}

static int
sync_dir(const char *path)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
cadir_write_atomic(const struct cadir *cd, const char *name,
    const void *data, size_t len, int mode)
{
	char tmp[PATH_MAX];
	struct cadir_path path = cadir_path(cd, name);

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", cd->path, name) >=
	    sizeof(tmp)) {
		ca_seterr("path too long");
		return -1;
	}
	unlink(tmp);
	if (ca_file_write_new(tmp, data, len, mode) == -1)
		return -1;
	if (rename(tmp, path.s) == -1 || sync_dir(cd->path) == -1) {
		ca_seterr("cannot replace %s: %s", path.s, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static char *
subject_line(const X509 *cert)
{
	BIO *bio;
	char *data, *line = NULL;
	long len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0 && (len = BIO_get_mem_data(bio, &data)) >= 0)
		line = strndup(data, (size_t)len);
	BIO_free(bio);
	return line;
}

static int
write_cert_file(const struct cadir *cd, X509 *cert, const char *serial)
{
	char name[PATH_MAX];
	size_t len;
	char *pem;
	int rc;

	snprintf(name, sizeof(name), "%s/%s.pem", CADIR_CERTS, serial);
	if ((pem = ca_certs_pem(&cert, 1, &len)) == NULL)
		return -1;
	rc = ca_file_write_new(cadir_file(cd, name), pem, len, 0644);
	free(pem);
	if (rc == 0)
		rc = sync_dir(cadir_file(cd, CADIR_CERTS));
	return rc;
}

int
cadir_record(const struct cadir *cd, X509 *cert, const X509 *issuer,
    enum ca_profile profile)
{
	struct cadir_entry e = { .status = 'V', .profile = profile };
	int rc = -1;

	e.serial = ca_serial_hex(X509_get0_serialNumber(cert));
	e.issuer = ca_serial_hex(X509_get0_serialNumber(issuer));
	e.subject = subject_line(cert);
	e.not_after = ca_time_from_asn1(X509_get0_notAfter(cert));
	if (e.serial == NULL || e.issuer == NULL || e.subject == NULL)
		ca_seterr("out of memory");
	else if (write_cert_file(cd, cert, e.serial) == 0)
		rc = cadir_index_append(cd, &e);
	free(e.serial);
	free(e.issuer);
	free(e.subject);
	return rc;
}

/*
 * A certificate revoked elsewhere (iotad's device certificates, which
 * the index lists once revoked so that every CRL of the issuer holds it).
 */
int
cadir_append_revoked(const struct cadir *cd, const X509 *cert,
    const X509 *issuer, time_t when, int reason)
{
	struct cadir_entry e = { .status = 'R', .profile = CA_PROFILE_DEVICE,
	    .revoked_at = when, .reason = reason };
	int rc = -1;

	e.serial = ca_serial_hex(X509_get0_serialNumber(cert));
	e.issuer = ca_serial_hex(X509_get0_serialNumber(issuer));
	e.subject = subject_line(cert);
	e.not_after = ca_time_from_asn1(X509_get0_notAfter(cert));
	if (e.serial == NULL || e.issuer == NULL || e.subject == NULL)
		ca_seterr("out of memory");
	else
		rc = cadir_index_append(cd, &e);
	free(e.serial);
	free(e.issuer);
	free(e.subject);
	return rc;
}

/* The revoked entries this issuer signed (the serials stay the index's). */
static struct ca_revoked *
revoked_by(const struct cadir_index *idx, const char *issuer, size_t *np)
{
	struct ca_revoked *r;
	size_t n = 0;

	if ((r = calloc(idx->n + 1, sizeof(*r))) == NULL)
		return NULL;
	for (size_t i = 0; i < idx->n; i++) {
		const struct cadir_entry *e = &idx->entries[i];

		if (e->status != 'R' || strcmp(e->issuer, issuer) != 0 ||
		    strcmp(e->serial, issuer) == 0)
			continue;
		r[n].serial = e->serial;
		r[n].when = e->revoked_at;
		r[n++].reason = e->reason;
	}
	*np = n;
	return r;
}

int
cadir_crl(const struct cadir *cd, struct ca_signer *signer, time_t now,
    long days, unsigned char **der, size_t *len)
{
	struct cadir_index idx;
	struct ca_revoked *revoked = NULL;
	struct ca_crl_req r = { .now = now, .days = days };
	char *issuer;
	int rc = -1;

	if (cadir_index_load(cd, &idx) == -1)
		return -1;
	issuer = ca_serial_hex(X509_get0_serialNumber(ca_signer_cert(signer)));
	if (issuer == NULL || (revoked = revoked_by(&idx, issuer, &r.n)) == NULL)
		ca_seterr("out of memory");
	else if ((r.number = cadir_next_crlnumber(cd)) != 0) {
		r.revoked = revoked;
		rc = ca_signer_crl(signer, &r, der, len);
	}
	free(revoked);
	free(issuer);
	cadir_index_free(&idx);
	return rc;
}

struct cadir_entry *
cadir_index_find(const struct cadir_index *idx, const char *serial)
{
	for (size_t i = 0; i < idx->n; i++)
		if (strcmp(idx->entries[i].serial, serial) == 0)
			return &idx->entries[i];
	return NULL;
}

int
cadir_revoke(const struct cadir *cd, const char *serial, int reason,
    time_t now)
{
	struct cadir_index idx;
	struct cadir_entry *e;
	int rc = -1;

	if (cadir_index_load(cd, &idx) == -1)
		return -1;
	if ((e = cadir_index_find(&idx, serial)) == NULL)
		ca_seterr("serial %s was never issued by this CA's `iotactl "
		    "ca`; a device certificate is revoked through iotad: "
		    "iotactl revoke DEVICE -g GROUP", serial);
	else if (e->profile == CA_PROFILE_ROOT)
		ca_seterr("serial %s is the root: a root is retired, not "
		    "revoked", serial);
	else if (e->status == 'R')
		ca_seterr("serial %s is already revoked", serial);
	else {
		e->status = 'R';
		e->revoked_at = now;
		e->reason = reason;
		rc = cadir_index_save(cd, &idx);
	}
	cadir_index_free(&idx);
	return rc;
}

uint64_t
cadir_next_crlnumber(const struct cadir *cd)
{
	unsigned char *data;
	char buf[32];
	uint64_t number = 0;
	size_t len;

	if ((data = ca_file_read(cadir_file(cd, CADIR_CRLNUMBER), 64,
	    &len)) == NULL)
		return 0;
	number = strtoull((char *)data, NULL, 10) + 1;
	free(data);
	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", number);
	if (cadir_write_atomic(cd, CADIR_CRLNUMBER, buf, strlen(buf), 0644) == -1)
		return 0;
	return number;
}
