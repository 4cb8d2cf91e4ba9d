/* Command-line plumbing shared by the subcommands. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_error("%s (see '%s %s --help')", msg, cli_progname, cmd->name);
	return EXIT_USAGE;
}

int
cli_days(const char *opt, const char *arg, long *days)
{
	char *end;

	errno = 0;
	*days = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || *days < 1 ||
	    *days > 36500) {
		cli_error("%s: \"%s\" is not a number of days (1..36500)", opt,
		    arg);
		return -1;
	}
	return 0;
}

int
cli_no_operands(const struct cli_cmd *cmd, int argc, char **argv)
{
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	return 0;
}

int
cli_one_operand(const struct cli_cmd *cmd, int argc, char **argv,
    const char *what, const char **out)
{
	if (argc - optind != 1)
		return cli_usage_error(cmd, argc == optind ? "a %s is required" :
		    "one %s, please", what);
	*out = argv[optind];
	return 0;
}

int
cli_san_add(const struct cli_cmd *cmd, struct ca_request *req, int key,
    const char *val, int reserved)
{
	if ((key == OPT_DNS ? req->ndns : req->nip) >= CA_MAX_SAN - 1)
		return cli_usage_error(cmd, "too many SANs (at most %d)",
		    CA_MAX_SAN - 1);
	if (key == OPT_DNS)
		req->dns[reserved + req->ndns++] = val;
	else
		req->ip[req->nip++] = val;
	return 0;
}

int
cli_need_dir(const struct cli_cmd *cmd, const struct ca_common *c)
{
	if (c->dir == NULL)
		return cli_usage_error(cmd, "--dir is required");
	return 0;
}

/* "--provision-secret-x=VALUE" is named without its value. */
int
cli_bad_option(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *what = optind - 1 < argc ? argv[optind - 1] : "?";
	int len = (int)strcspn(what, "=");

	if (optopt != 0 && optopt < 256 && optopt != '?')
		return cli_usage_error(cmd, "bad or incomplete option -%c",
		    optopt);
	if (what[0] != '-')
		return cli_usage_error(cmd, "bad or incomplete option");
	return cli_usage_error(cmd, "bad or incomplete option %.*s", len,
	    what);
}

/* "90", "90s", "10m", "6h", "30d": seconds from 0, or -1. */
long
cli_duration(const char *s)
{
	char *end;
	long n, unit;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || n < 0 || *s == '-' || *s == '+')
		return -1;
	switch (*end) {
	case '\0': case 's':	unit = 1; break;
	case 'm':		unit = 60; break;
	case 'h':		unit = 3600; break;
	case 'd':		unit = 86400; break;
	default:		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	return n > 3650L * 86400 / unit ? -1 : n * unit;
}
