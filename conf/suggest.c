/*
 * Did you mean: the key or section closest to a misspelt one, among
 * those of the same mapping, by edit distance.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf-int.h"

#define SUGGEST_MAX	2	/* edits beyond which a guess is noise */

/* Levenshtein distance; SIZE_MAX for names too long to bother with. */
static size_t
suggest_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), row[CONF_NAME_MAX + 1];
	size_t	 i, j, diag, up, best;

	if (la > CONF_NAME_MAX || lb > CONF_NAME_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The segment of name right below prefix ("" is the top), or NULL. */
static const char *
suggest_below(const char *name, const char *prefix, size_t plen)
{
	if (plen == 0)
		return name;
	if (strncmp(name, prefix, plen) != 0 || name[plen] != '.')
		return NULL;
	return name + plen + 1;
}

int
conf_suggest(const struct conf_table *t, const char *prefix,
    const char *word, char *out, size_t len)
{
	size_t		 i, plen = strlen(prefix), d, best = SIZE_MAX;
	const char	*name;
	char		 seg[CONF_NAME_MAX + 1];

	for (i = 0; i < t->nkeys; i++) {
		if ((name = suggest_below(t->keys[i].name, prefix,
		    plen)) == NULL)
			continue;
		snprintf(seg, sizeof(seg), "%.*s", (int)strcspn(name, "."),
		    name);
		if ((d = suggest_distance(word, seg)) < best &&
		    snprintf(out, len, "%s%s%s", prefix, plen > 0 ? "." : "",
		    seg) < (int)len)
			best = d;
	}
	return best <= SUGGEST_MAX && best < strlen(word) ? 0 : -1;
}
