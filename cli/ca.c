/* iotactl ca: the verbs of security staff, on a local CA directory. */
#include <string.h>

#include "cli.h"

static const struct cli_cmd *ca_verbs[] = {
	&cmd_ca_init, &cmd_ca_issue, &cmd_ca_sign, &cmd_ca_revoke,
	&cmd_ca_crl, &cmd_ca_show, &cmd_ca_rotate,
};
#define NVERBS	(sizeof(ca_verbs) / sizeof(ca_verbs[0]))

static void
ca_usage(FILE *fp)
{
	fprintf(fp, "usage: %s ca verb [options]\n\nverbs:\n", cli_progname);
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(fp, "  %-8s %s\n", ca_verbs[i]->name, ca_verbs[i]->brief);
	fprintf(fp, "\n'%s ca VERB --help' lists a verb's options.\n",
	    cli_progname);
}

int
cmd_ca(int argc, char **argv)
{
	if (argc < 2) {
		cli_error("ca: no verb (see '%s ca --help')", cli_progname);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		ca_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NVERBS; i++)
		if (strcmp(argv[1], ca_verbs[i]->name) == 0)
			return ca_verbs[i]->exec(ca_verbs[i], argc - 1, argv + 1);
	cli_error("ca: unknown verb \"%s\" (see '%s ca --help')", argv[1],
	    cli_progname);
	return EXIT_USAGE;
}
