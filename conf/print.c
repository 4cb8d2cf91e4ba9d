/*
 * Printing: the effective configuration as YAML that conf_table_load()
 * reads back (`iotad -T`), and every key's help (conf_help()).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf-int.h"

/* One UTF-8 character at p: its length, or 0 if malformed. */
static size_t
utf8_decode(const unsigned char *p, uint32_t *cp)
{
	size_t	 n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, *cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, *cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, *cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	return n;
}

/*
 * Characters libyaml takes as they are inside double quotes: printable
 * (its reader refuses the rest) and not a line break (it would fold).
 */
static int
yaml_plain_char(uint32_t c)
{
	if (c == '"' || c == '\\' || c == 0x2028 || c == 0x2029 ||
	    c == 0xfeff)
		return 0;
	return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) ||
	    (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* A double-quoted scalar that reads back byte for byte. */
static void
print_quoted(FILE *fp, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 c;
	size_t			 n;

	putc('"', fp);
	for (; *p != '\0'; p += n) {
		if ((n = utf8_decode(p, &c)) == 0) {
			fprintf(fp, "\\x%02X", *p);	/* cannot happen */
			n = 1;
		} else if (yaml_plain_char(c))
			fwrite(p, 1, n, fp);
		else if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", (int)c);
		else if (c <= 0xff)
			fprintf(fp, "\\x%02X", (unsigned)c);
		else if (c <= 0xffff)
			fprintf(fp, "\\u%04X", (unsigned)c);
		else
			fprintf(fp, "\\U%08X", (unsigned)c);
	}
	putc('"', fp);
}

static int
depth(const char *name)
{
	int	 n = 0;

	while ((name = strchr(name, '.')) != NULL) {
		n++;
		name++;
	}
	return n;
}

/* How many leading sections two dotted names share. */
static int
shared_sections(const char *a, const char *b)
{
	int	 n = 0;
	size_t	 i;

	for (i = 0; a[i] != '\0' && a[i] == b[i]; i++)
		if (a[i] == '.')
			n++;
	return n;
}

/* Opens the mappings `name` needs that `prev` did not open. */
static void
print_sections(FILE *fp, const char *prev, const char *name)
{
	const char	*seg = name, *dot;
	int		 depth = 0, from = shared_sections(prev, name);

	for (; (dot = strchr(seg, '.')) != NULL; seg = dot + 1, depth++)
		if (depth >= from)
			fprintf(fp, "%*s%.*s:\n", depth * 2, "",
			    (int)(dot - seg), seg);
}

static void
print_key(FILE *fp, const struct conf_key *k, const void *base)
{
	const char	*leaf = strrchr(k->name, '.'), *s;
	char		 buf[64];

	leaf = leaf != NULL ? leaf + 1 : k->name;
	fprintf(fp, "%*s%s: ", depth(k->name) * 2, "",
	    leaf);
	if (!conf_key_is_string(k))
		fputs(conf_value_format(k, conf_field_number(k, base), buf,
		    sizeof(buf)), fp);
	else if ((s = *conf_field_string(k, base)) == NULL)
		fputs("~", fp);
	else
		print_quoted(fp, s);
	putc('\n', fp);
}

void
conf_table_print(const struct conf_table *t, FILE *fp, const void *base)
{
	size_t	 i;

	for (i = 0; i < t->nkeys; i++) {
		print_sections(fp, i > 0 ? t->keys[i - 1].name : "",
		    t->keys[i].name);
		print_key(fp, &t->keys[i], base);
	}
}

/* Help text, indented and wrapped before column 76. */
static void
print_wrapped(FILE *fp, const char *s, int indent)
{
	int	 col = 0, w;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		w = (int)strcspn(s, " ");
		if (col > indent && col + 1 + w > 76) {
			putc('\n', fp);
			col = 0;
		}
		if (col == 0)
			col = fprintf(fp, "%*s", indent, "");
		else
			col += fprintf(fp, " ");
		col += fprintf(fp, "%.*s", w, s);
		s += w;
	}
	if (col > 0)
		putc('\n', fp);
}

static void
help_key(FILE *fp, const struct conf_key *k)
{
	char	 lo[32], hi[32], list[CONF_ERRLEN / 2];

	if (k->type == CONF_ENUM)
		fprintf(fp, "%s: %s", k->name,
		    conf_choices_list(k, "|", list, sizeof(list)));
	else
		fprintf(fp, "%s: %s", k->name, conf_types[k->type].name);
	if (conf_types[k->type].ranged)
		fprintf(fp, " %s..%s",
		    conf_value_format(k, k->min, lo, sizeof(lo)),
		    conf_value_format(k, k->max, hi, sizeof(hi)));
	if (k->flags & CONF_REQUIRED)
		fputs("; required\n", fp);
	else if (k->def != NULL)
		fprintf(fp, "; default %s\n", k->def);
	else
		fputs("; not set by default\n", fp);
	print_wrapped(fp, k->help, 4);
}

void
conf_table_help(const struct conf_table *t, FILE *fp)
{
	size_t	 i;

	for (i = 0; i < t->nkeys; i++)
		help_key(fp, &t->keys[i]);
}
