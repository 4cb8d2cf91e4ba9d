/* What the remote verbs print: tables for people, JSON for scripts. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"

#define TABLE_MAX_COLS	8

static int progress_shown;	/* a bar without its newline on stderr */

void
out_progress(size_t done, size_t total)
{
	char bar[41];
	size_t fill = total > 0 ? done * 40 / total : 40;

	memset(bar, '#', fill);
	memset(bar + fill, '.', 40 - fill);
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %zu/%zu", bar, done, total);
	fflush(stderr);
	progress_shown = 1;
}

void
out_progress_end(void)
{
	if (progress_shown)
		fputc('\n', stderr);
	progress_shown = 0;
}

void
out_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	out_progress_end();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_error("%s", msg);
}

void
out_clean(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in != '\0' && n + 4 < size; in++) {
		unsigned char c = (unsigned char)*in;

		out[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[n] = '\0';
	if (*in != '\0')
		strcpy(out + n, "...");
}

const char *
out_time(const json_t *v)
{
	static char buf[32];
	struct tm tm;
	time_t t;

	if (!json_is_integer(v))
		return "-";
	t = (time_t)json_integer_value(v);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "?";
	return buf;
}

const char *
out_value(const json_t *v)
{
	static char buf[256];

	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return buf;
	}
	if (json_is_string(v)) {
		out_clean(json_string_value(v), buf, sizeof(buf));
		return buf[0] != '\0' ? buf : "-";
	}
	if (json_is_true(v) || json_is_false(v))
		return json_is_true(v) ? "yes" : "no";
	return "-";
}

int
out_json(const json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2)) != 0 ||
	    fputc('\n', stdout) == EOF) {
		cli_error("cannot write to standard output");
		return EXIT_FAIL;
	}
	return 0;
}

void
out_kv(const char *key, const char *value)
{
	printf("%-16s %s\n", key, value);
}

/* A table of strings, as wide as its widest cells, for `list`. */
struct table {
	size_t	  ncols;
	size_t	  ncells;
	size_t	  cap;
	char	**cells;
};

struct table *
table_new(size_t ncols, const char *const *header)
{
	struct table *t;

	if (ncols > TABLE_MAX_COLS || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ncols = ncols;
	for (size_t i = 0; i < ncols; i++)
		if (table_cell(t, header[i]) == -1) {
			table_free(t);
			return NULL;
		}
	return t;
}

int
table_cell(struct table *t, const char *text)
{
	char **cells;
	size_t cap;

	if (t->ncells == t->cap) {
		cap = t->cap ? 2 * t->cap : 256;
		if ((cells = reallocarray(t->cells, cap, sizeof(*cells))) ==
		    NULL)
			return -1;
		t->cells = cells;
		t->cap = cap;
	}
	if ((t->cells[t->ncells] = strdup(text)) == NULL)
		return -1;
	t->ncells++;
	return 0;
}

void
table_print(const struct table *t, FILE *fp)
{
	size_t width[TABLE_MAX_COLS] = { 0 }, len, c;

	for (size_t i = 0; i < t->ncells; i++)
		if ((len = strlen(t->cells[i])) > width[i % t->ncols])
			width[i % t->ncols] = len;
	for (size_t i = 0; i < t->ncells; i++) {
		c = i % t->ncols;
		if (c + 1 == t->ncols)
			fprintf(fp, "%s\n", t->cells[i]);
		else
			fprintf(fp, "%-*s  ", (int)width[c], t->cells[i]);
	}
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

int
out_device(const json_t *d, enum output_format format)
{
	if (format == OUTPUT_JSON)
		return out_json(d);
	out_kv("device", out_value(json_object_get(d, "name")));
	out_kv("group", out_value(json_object_get(d, "group")));
	out_kv("state", out_value(json_object_get(d, "state")));
	out_kv("serial", out_value(json_object_get(d, "serial")));
	out_kv("not after", out_time(json_object_get(d, "not_after")));
	out_kv("provisioned at", out_time(json_object_get(d, "provisioned_at")));
	return 0;
}
