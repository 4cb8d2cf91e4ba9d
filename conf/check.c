/*
 * conf_table_check_files(): what `iotad -n` looks at beyond syntax.  Each
 * path key names what it expects (enum conf_check): a readable file, a
 * secret one, a hex key, the CA directory, a private directory, a file
 * to append to.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf-int.h"
#include "encode.h"
#include "errbuf.h"

#define HEXKEY_LEN	64	/* a raw 256-bit key in hex */

/*
 * What the CA directory holds for iotad; names as in ca/cadir.h.  The
 * key is a file or, on a token, the file of its URI: either will do.
 */
static const char *const cadir_files[] = {
	"intermediate.crt", "intermediate.key", "ca-chain.pem", NULL
};
#define CADIR_KEY_URI	"intermediate.key.uri"


/* "path: strerror(errno)" */
static int
check_errno(const char *path, char *why, size_t len)
{
	errbuf_set(why, len, "%s: %s", path, strerror(errno));
	return -1;
}

/* A readable regular file; a secret one admits no group or others. */
static int
check_file(const char *path, int secret, char *why, size_t len)
{
	struct stat	 st;

	if (stat(path, &st) == -1 || access(path, R_OK) == -1)
		return check_errno(path, why, len);
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(why, len, "%s: not a regular file", path);
		return -1;
	}
	if (secret && (st.st_mode & 077) != 0) {
		errbuf_set(why, len, "%s: mode %04o lets group or others in "
		    "(chmod 600)", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* HEXKEY_LEN hex digits, and maybe a newline. */
static int
check_is_hexkey(const char *buf, size_t n)
{
	size_t	 i;

	if (n != HEXKEY_LEN && !(n == HEXKEY_LEN + 1 && buf[n - 1] == '\n'))
		return 0;
	for (i = 0; i < HEXKEY_LEN; i++)
		if (hex_digit((unsigned char)buf[i]) == -1)
			return 0;
	return 1;
}

/* A secret file holding a hex key; the bytes never leave this frame. */
static int
check_hexkey(const char *path, char *why, size_t len)
{
	char	 buf[HEXKEY_LEN + 2];
	size_t	 n = 0;
	ssize_t	 r = 1;
	int	 fd, ok;

	if (check_file(path, 1, why, len) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) == -1)
		return check_errno(path, why, len);
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	close(fd);
	ok = r >= 0 && check_is_hexkey(buf, n);
	explicit_bzero(buf, sizeof(buf));
	if (r < 0)
		return check_errno(path, why, len);
	if (!ok) {
		errbuf_set(why, len, "%s: not %d hexadecimal digits (a raw "
		    "256-bit key)", path, HEXKEY_LEN);
		return -1;
	}
	return 0;
}

/* The key's URI file, if there is one: else the key's name stays. */
static void
uri_instead(const char *dir, char *path, size_t size)
{
	char uri[PATH_MAX];

	if ((size_t)snprintf(uri, sizeof(uri), "%s/%s", dir, CADIR_KEY_URI) <
	    sizeof(uri) && access(uri, F_OK) == 0)
		snprintf(path, size, "%s", uri);
}

static int
check_cadir(const char *dir, char *why, size_t len)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	size_t		 i;

	if (stat(dir, &st) == -1)
		return check_errno(dir, why, len);
	if (!S_ISDIR(st.st_mode)) {
		errbuf_set(why, len, "%s: not a directory", dir);
		return -1;
	}
	for (i = 0; cadir_files[i] != NULL; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, cadir_files[i]) >=
		    (int)sizeof(path)) {
			errbuf_set(why, len, "%s: path too long", dir);
			return -1;
		}
		if (strcmp(cadir_files[i], "intermediate.key") == 0 &&
		    access(path, F_OK) == -1)
			uri_instead(dir, path, sizeof(path));
		/* Only the key is secret; it is encrypted, yet kept 0600. */
		if (check_file(path, strstr(cadir_files[i], ".key") != NULL,
		    why, len) == -1)
			return -1;
	}
	return 0;
}

static int
check_dir(const char *path, char *why, size_t len)
{
	struct stat	 st;

	if (stat(path, &st) == -1 || access(path, W_OK | X_OK) == -1)
		return check_errno(path, why, len);
	if (!S_ISDIR(st.st_mode)) {
		errbuf_set(why, len, "%s: not a directory", path);
		return -1;
	}
	if ((st.st_mode & 022) != 0) {
		errbuf_set(why, len, "%s: mode %04o lets group or others "
		    "write (chmod 700)", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* A file that does not exist yet: may its directory take it? */
static int
check_creatable(const char *path, char *why, size_t len)
{
	char	*dir, *slash;
	int	 rc;

	if ((dir = strdup(path)) == NULL) {
		errbuf_set(why, len, "out of memory");
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		rc = access(".", W_OK | X_OK);
	else {
		slash[slash == dir] = '\0';	/* "/x" leaves "/" */
		rc = access(dir, W_OK | X_OK);
	}
	free(dir);
	if (rc == -1) {
		errbuf_set(why, len, "%s: cannot be created: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* An existing file we may append to, or one we may create. */
static int
check_output(const char *path, char *why, size_t len)
{
	struct stat	 st;

	if (stat(path, &st) == -1)
		return errno == ENOENT ? check_creatable(path, why, len) :
		    check_errno(path, why, len);
	if (S_ISDIR(st.st_mode)) {
		errbuf_set(why, len, "%s: is a directory", path);
		return -1;
	}
	if (access(path, W_OK) == -1)
		return check_errno(path, why, len);
	return 0;
}

static int
check_path(enum conf_check check, const char *path, char *why, size_t len)
{
	switch (check) {
	case CONF_CHECK_FILE:
		return check_file(path, 0, why, len);
	case CONF_CHECK_SECRET:
		return check_file(path, 1, why, len);
	case CONF_CHECK_HEXKEY:
		return check_hexkey(path, why, len);
	case CONF_CHECK_CADIR:
		return check_cadir(path, why, len);
	case CONF_CHECK_DIR:
		return check_dir(path, why, len);
	case CONF_CHECK_OUTPUT:
		return check_output(path, why, len);
	default:
		return 0;
	}
}

int
conf_table_check_files(const struct conf_table *t, const void *base,
    char *err, size_t errlen)
{
	const struct conf_key	*k;
	const char		*path;
	char			 why[CONF_ERRLEN];
	size_t			 i;

	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		if (k->check == CONF_CHECK_NONE || !conf_key_is_string(k) ||
		    (path = *conf_field_string(k, base)) == NULL)
			continue;
		if (check_path(k->check, path, why, sizeof(why)) == -1) {
			errbuf_set(err, errlen, "%s: %s", k->name, why);
			return -1;
		}
	}
	return 0;
}
