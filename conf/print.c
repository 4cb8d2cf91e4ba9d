/*
 * Printing: the effective configuration as YAML that conf_table_load()
 * reads back (`iotad -T`), and every key's help (conf_help()).
 *
 * The YAML is made by libyaml's emitter, so that it is quoted the way
 * libyaml's parser reads it: strings double-quoted whatever they hold,
 * numbers, booleans and names plain, an unset key as `~`.  A section's
 * mapping opens at its first row and closes after its last, which works
 * because a section's rows are listed together (conf_table_verify()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "conf-int.h"
#include "errbuf.h"

/* One print in progress. */
struct printer {
	yaml_emitter_t	 em;
	const char	*key;		/* being printed, for messages */
	int		 unmade;	/* an event could not be made */
};

/* Emits ev if its initialisation (made) worked; libyaml then owns it. */
static int
print_event(struct printer *p, yaml_event_t *ev, int made)
{
	if (!made) {
		p->unmade = 1;
		return -1;
	}
	return yaml_emitter_emit(&p->em, ev) ? 0 : -1;
}

/* len -1: all of s. */
static int
print_scalar(struct printer *p, const char *s, int len,
    yaml_scalar_style_t style)
{
	yaml_event_t	 ev;

	return print_event(p, &ev, yaml_scalar_event_initialize(&ev, NULL,
	    NULL, (const yaml_char_t *)s, len, 1, 1, style));
}

static int
print_mapping_start(struct printer *p)
{
	yaml_event_t	 ev;

	return print_event(p, &ev, yaml_mapping_start_event_initialize(&ev,
	    NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
}

static int
print_mapping_end(struct printer *p)
{
	yaml_event_t	 ev;

	return print_event(p, &ev, yaml_mapping_end_event_initialize(&ev));
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

/* Closes the mappings of prev that name is not in; "" closes them all. */
static int
print_close(struct printer *p, const char *prev, const char *name)
{
	int	 n = depth(prev) - shared_sections(prev, name);

	while (n-- > 0)
		if (print_mapping_end(p) == -1)
			return -1;
	return 0;
}

/* Opens the mappings of name that prev was not in. */
static int
print_open(struct printer *p, const char *prev, const char *name)
{
	const char	*seg = name, *dot;
	int		 d = 0, from = shared_sections(prev, name);

	for (; (dot = strchr(seg, '.')) != NULL; seg = dot + 1, d++)
		if (d >= from &&
		    (print_scalar(p, seg, (int)(dot - seg),
		    YAML_PLAIN_SCALAR_STYLE) == -1 ||
		    print_mapping_start(p) == -1))
			return -1;
	return 0;
}

static int
print_value(struct printer *p, const struct conf_key *k, const void *base)
{
	const char	*s;
	char		 buf[64];

	if (!conf_key_is_string(k)) {
		s = conf_value_format(k, conf_field_number(k, base), buf,
		    sizeof(buf));
		return print_scalar(p, s, -1, YAML_PLAIN_SCALAR_STYLE);
	}
	if ((s = *conf_field_string(k, base)) == NULL)
		return print_scalar(p, "~", -1, YAML_PLAIN_SCALAR_STYLE);
	return print_scalar(p, s, -1, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int
print_keys(struct printer *p, const struct conf_table *t, const void *base)
{
	const struct conf_key	*k;
	const char		*prev = "", *leaf;
	size_t			 i;

	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		p->key = k->name;
		leaf = strrchr(k->name, '.');
		leaf = leaf != NULL ? leaf + 1 : k->name;
		if (print_close(p, prev, k->name) == -1 ||
		    print_open(p, prev, k->name) == -1 ||
		    print_scalar(p, leaf, -1, YAML_PLAIN_SCALAR_STYLE) == -1 ||
		    print_value(p, k, base) == -1)
			return -1;
		prev = k->name;
	}
	p->key = NULL;
	return print_close(p, prev, "");
}

/* One implicit document ("---" and "..." left out): one mapping. */
static int
print_document(struct printer *p, const struct conf_table *t,
    const void *base)
{
	yaml_event_t	 ev;

	if (print_event(p, &ev, yaml_stream_start_event_initialize(&ev,
	    YAML_UTF8_ENCODING)) == -1 ||
	    print_event(p, &ev, yaml_document_start_event_initialize(&ev,
	    NULL, NULL, NULL, 1)) == -1 ||
	    print_mapping_start(p) == -1 ||
	    print_keys(p, t, base) == -1 ||
	    print_mapping_end(p) == -1 ||
	    print_event(p, &ev, yaml_document_end_event_initialize(&ev,
	    1)) == -1 ||
	    print_event(p, &ev, yaml_stream_end_event_initialize(&ev)) == -1)
		return -1;
	return yaml_emitter_flush(&p->em) ? 0 : -1;
}

static void
print_error(const struct printer *p, char *err, size_t errlen)
{
	const char	*problem = p->em.problem ? p->em.problem : "error";

	if (p->unmade && p->key != NULL)
		errbuf_set(err, errlen, "%s: cannot print the value (not "
		    "UTF-8, or out of memory)", p->key);
	else if (p->unmade || p->em.error == YAML_MEMORY_ERROR)
		errbuf_set(err, errlen, "cannot print the configuration: "
		    "out of memory");
	else if (p->em.error == YAML_WRITER_ERROR)
		errbuf_set(err, errlen, "cannot print the configuration: "
		    "%s: %s", problem, strerror(errno));
	else
		errbuf_set(err, errlen, "cannot print the configuration: %s",
		    problem);
}

int
conf_table_print(const struct conf_table *t, FILE *fp, const void *base,
    char *err, size_t errlen)
{
	struct printer	 p;
	int		 rc = -1;

	memset(&p, 0, sizeof(p));
	if (!yaml_emitter_initialize(&p.em)) {
		errbuf_set(err, errlen, "cannot print the configuration: "
		    "out of memory");
		return -1;
	}
	yaml_emitter_set_output_file(&p.em, fp);
	yaml_emitter_set_unicode(&p.em, 1);	/* UTF-8 as it is */
	yaml_emitter_set_width(&p.em, -1);	/* a value is one line */
	yaml_emitter_set_indent(&p.em, 2);
	yaml_emitter_set_break(&p.em, YAML_LN_BREAK);
	if (print_document(&p, t, base) == -1)
		print_error(&p, err, errlen);
	else if (fflush(fp) == EOF || ferror(fp))
		errbuf_set(err, errlen, "cannot print the configuration: %s",
		    strerror(errno));
	else
		rc = 0;
	yaml_emitter_delete(&p.em);
	return rc;
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
