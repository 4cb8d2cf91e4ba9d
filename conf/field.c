/*
 * A key's field in the struct its table describes: found by the key's
 * dotted name, read by type, stored from the text of a value, freed.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-int.h"
#include "errbuf.h"

int
conf_key_is_string(const struct conf_key *k)
{
	return k->type == CONF_STRING || k->type == CONF_PATH;
}

const struct conf_key *
conf_key_find(const struct conf_table *t, const char *name)
{
	size_t	 i;

	for (i = 0; i < t->nkeys; i++)
		if (strcmp(t->keys[i].name, name) == 0)
			return &t->keys[i];
	return NULL;
}

int
conf_key_is_section(const struct conf_table *t, const char *name)
{
	size_t	 i, len = strlen(name);

	for (i = 0; i < t->nkeys; i++)
		if (strncmp(t->keys[i].name, name, len) == 0 &&
		    t->keys[i].name[len] == '.')
			return 1;
	return 0;
}

char **
conf_field_string(const struct conf_key *k, const void *base)
{
	return (char **)(void *)((char *)(uintptr_t)base + k->offset);
}

long long
conf_field_number(const struct conf_key *k, const void *base)
{
	const char	*p = (const char *)base + k->offset;

	switch (k->type) {
	case CONF_DURATION:
		return *(const long long *)(const void *)p;
	case CONF_SIZE:
		return (long long)*(const size_t *)(const void *)p;
	default:
		return *(const int *)(const void *)p;
	}
}

static void
field_set_number(const struct conf_key *k, void *base, long long n)
{
	char	*p = (char *)base + k->offset;

	switch (k->type) {
	case CONF_DURATION:
		*(long long *)(void *)p = n;
		break;
	case CONF_SIZE:
		*(size_t *)(void *)p = (size_t)n;
		break;
	default:
		*(int *)(void *)p = (int)n;
		break;
	}
}

/* A path relative to dir (NULL: none) becomes absolute. */
static char *
field_path(const char *dir, const char *s)
{
	const char	*sep;
	char		*p;
	size_t		 len;

	if (s[0] == '/' || dir == NULL)
		return strdup(s);
	sep = dir[strlen(dir) - 1] == '/' ? "" : "/";
	len = strlen(dir) + strlen(sep) + strlen(s) + 1;
	if ((p = malloc(len)) != NULL)
		snprintf(p, len, "%s%s%s", dir, sep, s);
	return p;
}

static int
field_set_string(const struct conf_key *k, void *base, const char *dir,
    const char *s, char *why, size_t len)
{
	char	**slot = conf_field_string(k, base), *v;

	if (*s == '\0') {
		errbuf_set(why, len, "must not be empty (leave the key out "
		    "instead)");
		return -1;
	}
	v = k->type == CONF_PATH ? field_path(dir, s) : strdup(s);
	if (v == NULL) {
		errbuf_set(why, len, "out of memory");
		return -1;
	}
	if (k->type == CONF_PATH && strlen(v) >= PATH_MAX) {
		free(v);
		errbuf_set(why, len, "path is longer than %d bytes", PATH_MAX);
		return -1;
	}
	free(*slot);
	*slot = v;
	return 0;
}

int
conf_field_set(const struct conf_key *k, void *base, const char *dir,
    const char *s, size_t slen, char *why, size_t len)
{
	long long	 n;

	if (strlen(s) != slen) {
		errbuf_set(why, len, "contains a NUL character");
		return -1;
	}
	if (conf_key_is_string(k))
		return field_set_string(k, base, dir, s, why, len);
	if (conf_value_parse(k, s, &n, why, len) == -1)
		return -1;
	field_set_number(k, base, n);
	return 0;
}

void
conf_table_free(const struct conf_table *t, void *base)
{
	char	**slot;
	size_t	 i;

	if (base == NULL)
		return;
	for (i = 0; i < t->nkeys; i++) {
		if (!conf_key_is_string(&t->keys[i]))
			continue;
		slot = conf_field_string(&t->keys[i], base);
		free(*slot);
		*slot = NULL;
	}
}
