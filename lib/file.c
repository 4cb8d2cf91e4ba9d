/* Reading the small files iotad's secrets live in. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "errbuf.h"
#include "file.h"

static char *
read_all(int fd, const char *path, size_t max, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		errbuf_set(err, errlen, "%s: not a regular file", path);
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		errbuf_set(err, errlen, "%s: larger than %zu bytes", path, max);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	*lenp = got;
	return buf;
}

char *
file_first_line(const char *path, size_t max, size_t *lenp, char *err,
    size_t errlen)
{
	size_t size;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		errbuf_set(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	buf = read_all(fd, path, max, &size, err, errlen);
	close(fd);
	if (buf == NULL)
		return NULL;
	*lenp = strcspn(buf, "\r\n");
	OPENSSL_cleanse(buf + *lenp, size - *lenp);
	return buf;
}

void
file_line_free(char *line, size_t len)
{
	if (line != NULL)
		OPENSSL_clear_free(line, len + 1);
}
