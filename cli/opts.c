/*
 * The one option parser of iotactl: a verb's descriptor declares its
 * options (cli.h), this turns them into getopt_long's tables, stores or
 * hands over each value, and writes the verb's --help from the same rows.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define OPTS_MAX	40		/* rows in one verb, --help included */
#define KEY_BASE	1000		/* getopt's val for row i: KEY_BASE + i */
#define HELP_COLUMN_MAX	40		/* where help text starts, at most */

static const struct cli_opt help_row = {
	"help", 'h', NULL, "show this help", CLI_FLAG, 0, 0,
};

/* The verb's rows, then --help; returns how many. */
static size_t
rows_of(const struct cli_cmd *cmd, const struct cli_opt **rows)
{
	size_t n = 0;

	for (const struct cli_opt *o = cmd->opts; o != NULL && o->name != NULL;
	    o++) {
		/* A table too long is this program's bug: never drop a row. */
		if (n == OPTS_MAX - 1) {
			fprintf(stderr, "%s: internal error: %s has more than "
			    "%d options\n", cli_progname, cmd->name,
			    OPTS_MAX - 1);
			abort();
		}
		rows[n++] = o;
	}
	rows[n++] = &help_row;
	return n;
}

static void
build_tables(const struct cli_opt **rows, size_t n, struct option *lo,
    char *shortopts)
{
	char *sp = shortopts;

	for (size_t i = 0; i < n; i++) {
		lo[i] = (struct option){ rows[i]->name,
		    rows[i]->arg != NULL ? required_argument : no_argument,
		    NULL, KEY_BASE + (int)i };
		if (rows[i]->short_name != 0) {
			*sp++ = (char)rows[i]->short_name;
			if (rows[i]->arg != NULL)
				*sp++ = ':';
		}
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	*sp = '\0';
}

/* The row getopt_long returned, by long key or short letter. */
static const struct cli_opt *
row_of(const struct cli_opt **rows, size_t n, int ch)
{
	if (ch >= KEY_BASE && (size_t)(ch - KEY_BASE) < n)
		return rows[ch - KEY_BASE];
	for (size_t i = 0; i < n; i++)
		if (ch != 0 && rows[i]->short_name == ch)
			return rows[i];
	return NULL;
}

static int
apply(const struct cli_cmd *cmd, const struct cli_opt *o, void *args,
    const char *val)
{
	char *base = args, flag[64];

	switch (o->kind) {
	case CLI_STRING:
		*(const char **)(void *)(base + o->at) = val;
		return 0;
	case CLI_FLAG:
		*(int *)(void *)(base + o->at) = 1;
		return 0;
	case CLI_DAYS:
		snprintf(flag, sizeof(flag), "--%s", o->name);
		return cli_days(flag, val, (long *)(void *)(base + o->at)) ==
		    -1 ? EXIT_USAGE : 0;
	case CLI_KEY_TYPE:
		if (ca_key_type_parse(val,
		    (enum ca_key_type *)(void *)(base + o->at)) == -1)
			return cli_usage_error(cmd, "%s", ca_errstr());
		return 0;
	case CLI_CALL:
		return cmd->option(cmd, args, o->key, val);
	}
	return EXIT_USAGE;
}

int
cli_parse(const struct cli_cmd *cmd, int argc, char **argv, void *args)
{
	const struct cli_opt *rows[OPTS_MAX], *o;
	struct option lo[OPTS_MAX + 1];
	char shortopts[2 * OPTS_MAX + 1];
	size_t n = rows_of(cmd, rows);
	int ch, rc;

	build_tables(rows, n, lo, shortopts);
	optind = 1;
	while ((ch = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		if ((o = row_of(rows, n, ch)) == NULL)
			return cli_bad_option(cmd, argc, argv);
		if (o == &help_row) {
			cli_help(cmd, stdout);
			return -1;
		}
		if ((rc = apply(cmd, o, args, optarg)) != 0)
			return rc;
	}
	return 0;
}

/* "  -g, --group GROUP" */
static int
left_column(const struct cli_opt *o, char *buf, size_t len)
{
	char sh[8] = "";

	if (o->short_name != 0)
		snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
	return snprintf(buf, len, "  %s--%s%s%s", sh, o->name,
	    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
}

static int
help_column(const struct cli_opt **rows, size_t n)
{
	char buf[128];
	int w, col = 0;

	for (size_t i = 0; i < n; i++)
		if ((w = left_column(rows[i], buf, sizeof(buf)) + 2) > col &&
		    w <= HELP_COLUMN_MAX)
			col = w;
	return col;
}

/* Help text after the left column; its later lines indented to `col`. */
static void
print_row(const struct cli_opt *o, int col, FILE *fp)
{
	char buf[128];
	const char *line = o->help, *nl;
	int w = left_column(o, buf, sizeof(buf));

	fputs(buf, fp);
	if (w >= col)
		fprintf(fp, "\n%*s", col, "");
	else
		fprintf(fp, "%*s", col - w, "");
	while ((nl = strchr(line, '\n')) != NULL) {
		fprintf(fp, "%.*s\n%*s", (int)(nl - line), line, col, "");
		line = nl + 1;
	}
	fprintf(fp, "%s\n", line);
}

void
cli_help(const struct cli_cmd *cmd, FILE *fp)
{
	const struct cli_opt *rows[OPTS_MAX];
	size_t n = rows_of(cmd, rows);
	int col = help_column(rows, n);

	fprintf(fp, "usage: %s %s %s\n\n%s\n\noptions:\n", cli_progname,
	    cmd->name, cmd->args, cmd->summary);
	for (size_t i = 0; i < n; i++)
		print_row(rows[i], col, fp);
}
