/* iotactl: the command of security staff, operators and devices. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_progname = "iotactl";

/*
 * Output that never arrived is a failure, for scripts that read it; a
 * command that failed already said why, in its one line.
 */
static int
flush_stdout(int rc)
{
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
		cli_error("cannot write to standard output");
		return 1;
	}
	return rc;
}

static int
run(int argc, char *argv[])
{
	if (argc < 2) {
		cli_error("no command (see '%s --help')", cli_progname);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cli_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("iotactl %s\n", IOTA_VERSION);
		return 0;
	}
	return cli_dispatch(argc - 1, argv + 1);
}

int
main(int argc, char *argv[])
{
	opterr = 0;	/* we say what went wrong, in one line */
	return flush_stdout(run(argc, argv));
}
