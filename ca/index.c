/*
 * DIR/index: what the CA issued and revoked, one tab-separated line each:
 *   serial issuer status not_after revoked_at reason profile subject
 * Appends are synced before a certificate leaves; revocations rewrite the
 * file atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadir.h"

#define INDEX_MAX	(64L * 1024 * 1024)
#define NFIELDS		8

static int
parse_line(char *line, struct cadir_entry *e)
{
	char *field[NFIELDS], *end;
	size_t n = 0;

	for (char *p = line; n < NFIELDS; n++) {
		field[n] = p;
		if ((p = strchr(p, '\t')) == NULL) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (n != NFIELDS || (field[2][0] != 'V' && field[2][0] != 'R') ||
	    ca_profile_parse(field[6], &e->profile) == -1)
		return -1;
	e->status = field[2][0];
	e->not_after = (time_t)strtoll(field[3], &end, 10);
	e->revoked_at = (time_t)strtoll(field[4], &end, 10);
	e->reason = (int)strtol(field[5], &end, 10);
	e->serial = strdup(field[0]);
	e->issuer = strdup(field[1]);
	e->subject = strdup(field[7]);
	return e->serial && e->issuer && e->subject ? 0 : -1;
}

static int
index_push(struct cadir_index *idx, size_t *cap)
{
	struct cadir_entry *grown;

	if (idx->n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 64;
	if ((grown = realloc(idx->entries, *cap * sizeof(*grown))) == NULL)
		return -1;
	idx->entries = grown;
	return 0;
}

int
cadir_index_load(const struct cadir *cd, struct cadir_index *idx)
{
	char *data, *line, *next;
	size_t len, cap = 0, lineno = 0;

	idx->entries = NULL;
	idx->n = 0;
	if ((data = (char *)ca_file_read(cadir_file(cd, CADIR_INDEX),
	    INDEX_MAX, &len)) == NULL)
		return -1;
	for (line = data; *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) == NULL) {
			ca_seterr("%s:%zu: truncated entry",
			    cadir_file(cd, CADIR_INDEX), lineno);
			goto fail;
		}
		*next++ = '\0';
		if (index_push(idx, &cap) == -1 ||
		    parse_line(line, &idx->entries[idx->n]) == -1) {
			ca_seterr("%s:%zu: malformed entry",
			    cadir_file(cd, CADIR_INDEX), lineno);
			goto fail;
		}
		idx->n++;
	}
	free(data);
	return 0;
fail:
	free(data);
	cadir_index_free(idx);
	return -1;
}

void
cadir_index_free(struct cadir_index *idx)
{
	for (size_t i = 0; i < idx->n; i++) {
		free(idx->entries[i].serial);
		free(idx->entries[i].issuer);
		free(idx->entries[i].subject);
	}
	free(idx->entries);
	idx->entries = NULL;
	idx->n = 0;
}

static int
format_entry(const struct cadir_entry *e, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%s\t%s\t%c\t%" PRId64 "\t%" PRId64 "\t%d\t%s\t%s\n",
	    e->serial, e->issuer, e->status, (int64_t)e->not_after,
	    (int64_t)e->revoked_at, e->reason, ca_profile_name(e->profile),
	    e->subject);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
cadir_index_append(const struct cadir *cd, const struct cadir_entry *e)
{
	struct cadir_path path = cadir_path(cd, CADIR_INDEX);
	char line[2048];
	int fd, n;

	if ((n = format_entry(e, line, sizeof(line))) == -1) {
		ca_seterr("index entry too long");
		return -1;
	}
	if ((fd = open(path.s, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1) {
		ca_seterr("cannot open %s: %s", path.s, strerror(errno));
		return -1;
	}
	if (write(fd, line, (size_t)n) != n || fsync(fd) == -1) {
		ca_seterr("cannot write %s: %s", path.s, strerror(errno));
		close(fd);
		return -1;
	}
	return close(fd);
}

int
cadir_index_save(const struct cadir *cd, const struct cadir_index *idx)
{
	char *buf, line[2048];
	size_t used = 0, cap = 4096;
	int n, rc;

	if ((buf = malloc(cap)) == NULL)
		return -1;
	for (size_t i = 0; i < idx->n; i++) {
		if ((n = format_entry(&idx->entries[i], line, sizeof(line))) < 0)
			goto fail;
		if (used + (size_t)n > cap) {
			char *grown = realloc(buf, cap = 2 * cap + (size_t)n);
			if (grown == NULL)
				goto fail;
			buf = grown;
		}
		memcpy(buf + used, line, (size_t)n);
		used += (size_t)n;
	}
	rc = cadir_write_atomic(cd, CADIR_INDEX, buf, used, 0600);
	free(buf);
	return rc;
fail:
	ca_seterr("cannot format the index");
	free(buf);
	return -1;
}
