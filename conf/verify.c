/*
 * The table checked against itself (the unit test runs this): names,
 * types, bounds and defaults, and the grouping of sections that
 * printing relies on.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "conf-int.h"
#include "errbuf.h"

/* Lower-case words of [a-z0-9_] joined by single dots. */
static int
verify_name(const char *name)
{
	const char	*p;
	int		 prev_dot = 1;

	if (strlen(name) > CONF_NAME_MAX)
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (*p == '.' && prev_dot)
			return 0;
		if (*p != '.' && !islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '_')
			return 0;
		prev_dot = *p == '.';
	}
	return !prev_dot;
}

/* Every section of key i is contiguous up to i, as printing needs. */
static int
verify_grouped(const struct conf_table *t, size_t i)
{
	const char	*name = t->keys[i].name, *dot;
	size_t		 j, plen;

	for (dot = strchr(name, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		plen = dot - name + 1;
		if (i == 0 || strncmp(t->keys[i - 1].name, name, plen) == 0)
			continue;
		for (j = 0; j + 1 < i; j++)
			if (strncmp(t->keys[j].name, name, plen) == 0)
				return 0;
	}
	return 1;
}

static const char *
verify_shape(const struct conf_table *t, size_t i)
{
	const struct conf_key	*k = &t->keys[i];

	if (k->name == NULL || !verify_name(k->name))
		return "bad name";
	if (conf_key_find(t, k->name) != k)
		return "listed twice";
	if (conf_key_is_section(t, k->name))
		return "both a key and a section";
	if (!verify_grouped(t, i))
		return "its section is not listed together";
	if (k->help == NULL || k->help[0] == '\0')
		return "no help";
	if ((unsigned)k->type >= conf_ntypes)
		return "bad type";
	if (k->check != CONF_CHECK_NONE && k->type != CONF_PATH)
		return "a check on something not a path";
	return NULL;
}

static const char *
verify_bounds(const struct conf_key *k)
{
	if ((k->flags & CONF_REQUIRED) && k->def != NULL)
		return "required, yet has a default";
	if (!conf_key_is_string(k) && !(k->flags & CONF_REQUIRED) &&
	    k->def == NULL)
		return "a number needs a default";
	if (k->type == CONF_ENUM && conf_choices_count(k) == 0)
		return "no choices";
	if (!conf_types[k->type].ranged)
		return NULL;
	if (k->min > k->max)
		return "min above max";
	if (k->type == CONF_INT && (k->min < INT_MIN || k->max > INT_MAX))
		return "bounds beyond int";
	if (k->type != CONF_INT && k->min < 0)
		return "negative bound";
	return NULL;
}

/* The default goes through the loader's own setter, into scratch. */
static int
verify_default(const struct conf_table *t, const struct conf_key *k,
    char *why, size_t len)
{
	char	 buf[CONF_ERRLEN];
	void	*scratch;
	int	 rc;

	if (k->def == NULL)
		return 0;
	if ((scratch = calloc(1, t->size)) == NULL) {
		errbuf_set(why, len, "out of memory");
		return -1;
	}
	rc = conf_field_set(k, scratch, NULL, k->def, strlen(k->def), buf,
	    sizeof(buf));
	if (rc == -1)
		errbuf_set(why, len, "default: %s", buf);
	conf_table_free(t, scratch);
	free(scratch);
	return rc;
}

int
conf_table_verify(const struct conf_table *t, char *err, size_t errlen)
{
	const struct conf_key	*k;
	const char		*why;
	char			 buf[CONF_ERRLEN];
	size_t			 i;

	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		if ((why = verify_shape(t, i)) == NULL &&
		    (why = verify_bounds(k)) == NULL &&
		    verify_default(t, k, buf, sizeof(buf)) == -1)
			why = buf;
		if (why != NULL) {
			errbuf_set(err, errlen, "key %zu (%s): %s", i,
			    k->name ? k->name : "?", why);
			return -1;
		}
	}
	return 0;
}
