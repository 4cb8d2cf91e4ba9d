/*
 * The configuration loader.  libyaml's document API parses the file
 * (keeping line and column of every node), then one walk matches each
 * mapping key against the table: a leaf key gets its value parsed by
 * type, a section is descended into, anything else is an unknown key.
 * The first problem ends the load with one line naming file:line:column;
 * a half-read configuration is never handed out.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "conf-int.h"
#include "errbuf.h"

/* One load in progress. */
struct loader {
	const struct conf_table	*t;
	const char		*path;		/* as given, for messages */
	char			*dir;		/* absolute, for relative paths */
	FILE			*fp;
	yaml_parser_t		 parser;
	int			 have_parser;
	yaml_document_t		 doc;
	int			 have_doc;
	void			*base;		/* the struct being filled */
	unsigned char		*seen;		/* per key: set by the file */
	char			 why[CONF_ERRLEN];	/* a value's problem */
	char			*err;
	size_t			 errlen;
};

static int	 ld_error(struct loader *, yaml_mark_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 walk_mapping(struct loader *, yaml_node_t *, const char *);

/*
 * Errors.
 */

/* "file:line:column: message", with libyaml's 0-based marks made 1-based. */
static int
ld_error(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
	char	 msg[CONF_ERRLEN];
	va_list	 ap;

	va_start(ap, fmt);
	errbuf_vset(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errbuf_set(ld->err, ld->errlen, "%s:%zu:%zu: %s", ld->path,
	    mark.line + 1, mark.column + 1, msg);
	return -1;
}

/* Errors about the file as a whole have no line to name. */
static int
ld_file_error(struct loader *ld, const char *why)
{
	errbuf_set(ld->err, ld->errlen, "%s: %s", ld->path, why);
	return -1;
}

/* A value, from the file or a default; ld->why says what is wrong. */
static int
ld_set(struct loader *ld, const struct conf_key *k, const char *s,
    size_t len)
{
	return conf_field_set(k, ld->base, ld->dir, s, len, ld->why,
	    sizeof(ld->why));
}

/*
 * The walk over the YAML document.
 */

static yaml_node_t *
node(struct loader *ld, int i)
{
	return yaml_document_get_node(&ld->doc, i);
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		return "a single value";
	}
}

static const char *
scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* `key:`, `key: ~` and `key: null` say nothing. */
static int
is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null",
	    "NULL", NULL };
	size_t	 i;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (i = 0; nulls[i] != NULL; i++)
		if (strcmp(scalar(n), nulls[i]) == 0)
			return 1;
	return 0;
}

/* YAML allows it; two values for one key is a mistake nonetheless. */
static int
check_duplicate(struct loader *ld, const yaml_node_t *map,
    const yaml_node_pair_t *p, const char *prefix)
{
	const yaml_node_pair_t	*q;
	const yaml_node_t	*key = node(ld, p->key), *k;
	char			 v[CONF_SHOW_LEN];

	for (q = map->data.mapping.pairs.start; q < p; q++) {
		k = node(ld, q->key);
		if (k->type != YAML_SCALAR_NODE ||
		    k->data.scalar.length != key->data.scalar.length ||
		    memcmp(scalar(k), scalar(key), k->data.scalar.length) != 0)
			continue;
		return ld_error(ld, key->start_mark,
		    "duplicate key \"%s%s%s\" (first at %zu:%zu)", prefix,
		    *prefix != '\0' ? "." : "",
		    conf_show(scalar(key), v, sizeof(v)),
		    k->start_mark.line + 1, k->start_mark.column + 1);
	}
	return 0;
}

static int
unknown_key(struct loader *ld, const yaml_node_t *key, const char *prefix,
    const char *name)
{
	char	 best[CONF_NAME_MAX + 1], v[CONF_SHOW_LEN];

	conf_show(name, v, sizeof(v));
	if (strchr(scalar(key), '.') != NULL &&
	    (conf_key_find(ld->t, name) != NULL ||
	    conf_key_is_section(ld->t, name)))
		return ld_error(ld, key->start_mark, "unknown key \"%s\" "
		    "(dotted names are written as nested mappings)", v);
	if (conf_suggest(ld->t, prefix, scalar(key), best, sizeof(best)) == 0)
		return ld_error(ld, key->start_mark,
		    "unknown key \"%s\" (did you mean \"%s\"?)", v, best);
	return ld_error(ld, key->start_mark, "unknown key \"%s\"", v);
}

/* The dotted name of a mapping key; keys never contain dots themselves. */
static int
key_name(struct loader *ld, const yaml_node_t *key, const char *prefix,
    char *name, size_t len)
{
	const char	*s = scalar(key);
	int		 n;

	n = snprintf(name, len, "%s%s%s", prefix, *prefix != '\0' ? "." : "",
	    s);
	if (n < 0 || (size_t)n >= len || *s == '\0' ||
	    strlen(s) != key->data.scalar.length) {
		snprintf(name, len, "%s", s);
		return unknown_key(ld, key, "", name);
	}
	if (strchr(s, '.') != NULL)
		return unknown_key(ld, key, prefix, name);
	return 0;
}

static int
walk_null(struct loader *ld, const struct conf_key *k, const yaml_node_t *v)
{
	char	**slot;

	if (!conf_key_is_string(k) || k->def != NULL ||
	    (k->flags & CONF_REQUIRED))
		return ld_error(ld, v->start_mark, "%s: missing value",
		    k->name);
	slot = conf_field_string(k, ld->base);
	free(*slot);
	*slot = NULL;
	return 0;
}

static int
walk_leaf(struct loader *ld, const struct conf_key *k, const yaml_node_t *v)
{
	ld->seen[k - ld->t->keys] = 1;
	if (v->type != YAML_SCALAR_NODE)
		return ld_error(ld, v->start_mark, "%s: expected %s, found %s",
		    k->name, conf_types[k->type].noun, node_kind(v));
	if (is_null(v))
		return walk_null(ld, k, v);
	if (ld_set(ld, k, scalar(v), v->data.scalar.length) == -1)
		return ld_error(ld, v->start_mark, "%s: %s", k->name, ld->why);
	return 0;
}

static int
walk_pair(struct loader *ld, yaml_node_t *map, const yaml_node_pair_t *p,
    const char *prefix)
{
	yaml_node_t		*key = node(ld, p->key), *v = node(ld, p->value);
	const struct conf_key	*k;
	char			 name[CONF_NAME_MAX + 1];

	if (key->type != YAML_SCALAR_NODE)
		return ld_error(ld, key->start_mark,
		    "a key must be a name, not %s", node_kind(key));
	if (check_duplicate(ld, map, p, prefix) == -1 ||
	    key_name(ld, key, prefix, name, sizeof(name)) == -1)
		return -1;
	if ((k = conf_key_find(ld->t, name)) != NULL)
		return walk_leaf(ld, k, v);
	if (!conf_key_is_section(ld->t, name))
		return unknown_key(ld, key, prefix, name);
	if (is_null(v))
		return 0;	/* every line of the section commented out */
	if (v->type != YAML_MAPPING_NODE)
		return ld_error(ld, v->start_mark, "%s: expected a mapping "
		    "of keys, found %s", name, node_kind(v));
	return walk_mapping(ld, v, name);
}

static int
walk_mapping(struct loader *ld, yaml_node_t *map, const char *prefix)
{
	yaml_node_pair_t	*p;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++)
		if (walk_pair(ld, map, p, prefix) == -1)
			return -1;
	return 0;
}

/* The value of `seg` (not NUL-terminated) in a mapping; *mark its key. */
static yaml_node_t *
lookup(struct loader *ld, yaml_node_t *map, const char *seg, size_t len,
    yaml_mark_t *mark)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*key;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		key = node(ld, p->key);
		if (key->type == YAML_SCALAR_NODE &&
		    key->data.scalar.length == len &&
		    memcmp(scalar(key), seg, len) == 0) {
			*mark = key->start_mark;
			return node(ld, p->value);
		}
	}
	return NULL;
}

/* A missing key is blamed on its closest section present, or the top. */
static yaml_mark_t
missing_mark(struct loader *ld, const char *name)
{
	yaml_node_t	*map = yaml_document_get_root_node(&ld->doc), *v;
	yaml_mark_t	 mark = { 0, 0, 0 };
	const char	*seg = name, *dot;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return mark;
	mark = map->start_mark;
	while ((dot = strchr(seg, '.')) != NULL) {
		v = lookup(ld, map, seg, dot - seg, &mark);
		if (v == NULL || v->type != YAML_MAPPING_NODE)
			break;
		map = v;
		seg = dot + 1;
	}
	return mark;
}

static int
check_required(struct loader *ld)
{
	const struct conf_key	*k;
	size_t			 i;

	for (i = 0; i < ld->t->nkeys; i++) {
		k = &ld->t->keys[i];
		if ((k->flags & CONF_REQUIRED) && !ld->seen[i])
			return ld_error(ld, missing_mark(ld, k->name),
			    "missing required key \"%s\"", k->name);
	}
	return 0;
}

/*
 * The file.
 */

/* Reader errors come as a byte offset; count lines up to it. */
static yaml_mark_t
offset_mark(struct loader *ld, size_t offset)
{
	yaml_mark_t	 m = { offset, 0, 0 };
	size_t		 i;
	int		 c;

	clearerr(ld->fp);
	if (fseek(ld->fp, 0, SEEK_SET) == -1)
		return m;
	for (i = 0; i < offset && (c = getc(ld->fp)) != EOF; i++) {
		if (c == '\n') {
			m.line++;
			m.column = 0;
		} else
			m.column++;
	}
	return m;
}

static int
yaml_error(struct loader *ld)
{
	const yaml_parser_t	*p = &ld->parser;
	const char		*problem = p->problem ? p->problem : "error";

	if (p->error == YAML_MEMORY_ERROR)
		return ld_file_error(ld, "out of memory");
	if (p->error == YAML_READER_ERROR)
		return ld_error(ld, offset_mark(ld, p->problem_offset),
		    "%s", problem);
	if (p->context == NULL)
		return ld_error(ld, p->problem_mark, "YAML syntax error: %s",
		    problem);
	return ld_error(ld, p->problem_mark,
	    "YAML syntax error: %s (%s at %zu:%zu)", problem, p->context,
	    p->context_mark.line + 1, p->context_mark.column + 1);
}

/* A file is one document; a second one would be silently ignored. */
static int
check_single(struct loader *ld)
{
	yaml_document_t	 next;
	yaml_node_t	*root;
	int		 rc = 0;

	if (!yaml_parser_load(&ld->parser, &next))
		return yaml_error(ld);
	if ((root = yaml_document_get_root_node(&next)) != NULL)
		rc = ld_error(ld, root->start_mark, "a second YAML document "
		    "(the configuration is one document)");
	yaml_document_delete(&next);
	return rc;
}

static int
ld_parse(struct loader *ld)
{
	yaml_node_t	*root;

	yaml_parser_set_input_file(&ld->parser, ld->fp);
	if (!yaml_parser_load(&ld->parser, &ld->doc))
		return yaml_error(ld);
	ld->have_doc = 1;
	root = yaml_document_get_root_node(&ld->doc);
	if (root == NULL || is_null(root))
		return check_required(ld);	/* empty: all defaults */
	if (root->type != YAML_MAPPING_NODE)
		return ld_error(ld, root->start_mark, "expected a mapping "
		    "of keys, found %s", node_kind(root));
	if (walk_mapping(ld, root, "") == -1 || check_required(ld) == -1)
		return -1;
	return check_single(ld);
}

/* The file's directory, absolute, against which relative paths resolve. */
static int
ld_dir(struct loader *ld)
{
	const char	*slash = strrchr(ld->path, '/');
	char		*d;

	if (slash == NULL)
		d = strdup(".");
	else if (slash == ld->path)
		d = strdup("/");
	else
		d = strndup(ld->path, slash - ld->path);
	if (d == NULL)
		return ld_file_error(ld, "out of memory");
	ld->dir = realpath(d, NULL);
	free(d);
	if (ld->dir == NULL)
		return ld_file_error(ld, strerror(errno));
	return 0;
}

/* Non-blocking, so that a FIFO is refused instead of waited on. */
static int
ld_open(struct loader *ld)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open(ld->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return ld_file_error(ld, strerror(errno));
	if (fstat(fd, &st) == -1 || (ld->fp = fdopen(fd, "rb")) == NULL) {
		close(fd);
		return ld_file_error(ld, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return ld_file_error(ld, "not a regular file");
	if (st.st_size > CONF_FILE_MAX)
		return ld_file_error(ld, "larger than 1m: not a "
		    "configuration file");
	return ld_dir(ld);
}

static int
ld_defaults(struct loader *ld)
{
	const struct conf_key	*k;
	size_t			 i;

	for (i = 0; i < ld->t->nkeys; i++) {
		k = &ld->t->keys[i];
		if (k->def != NULL &&
		    ld_set(ld, k, k->def, strlen(k->def)) == -1)
			return ld_file_error(ld, ld->why);
	}
	return 0;
}

static int
ld_run(struct loader *ld)
{
	if ((ld->base = calloc(1, ld->t->size)) == NULL ||
	    (ld->seen = calloc(ld->t->nkeys, 1)) == NULL)
		return ld_file_error(ld, "out of memory");
	if (ld_open(ld) == -1 || ld_defaults(ld) == -1)
		return -1;
	if (!yaml_parser_initialize(&ld->parser))
		return ld_file_error(ld, "out of memory");
	ld->have_parser = 1;
	return ld_parse(ld);
}

static void
ld_close(struct loader *ld)
{
	if (ld->have_doc)
		yaml_document_delete(&ld->doc);
	if (ld->have_parser)
		yaml_parser_delete(&ld->parser);
	if (ld->fp != NULL)
		fclose(ld->fp);
	conf_table_free(ld->t, ld->base);
	free(ld->base);
	free(ld->seen);
	free(ld->dir);
}

int
conf_table_load(const struct conf_table *t, const char *path, void *out,
    char *err, size_t errlen)
{
	struct loader	 ld;
	int		 rc;

	memset(&ld, 0, sizeof(ld));
	ld.t = t;
	ld.path = path;
	ld.err = err;
	ld.errlen = errlen;
	if ((rc = ld_run(&ld)) == 0) {
		memcpy(out, ld.base, t->size);
		free(ld.base);
		ld.base = NULL;
	}
	ld_close(&ld);
	return rc;
}
