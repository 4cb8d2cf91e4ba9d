/* iotactl: the command of security staff, operators and devices. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_progname = "iotactl";

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-h | --help] [-V | --version] command [args]\n"
	    "\n"
	    "commands:\n"
	    "  ca init               create a root and an online intermediate\n"
	    "  ca issue              issue a server certificate and its key\n"
	    "  ca sign               sign a CSR as a device or server certificate\n"
	    "  ca revoke             revoke a certificate by serial\n"
	    "  ca crl                print a CRL\n"
	    "  ca show               show the CA and what it issued\n"
	    "  ca rotate             replace the intermediate\n"
	    "\n"
	    "remote commands, talking to iotad (--server URL or IOTA_SERVER):\n"
	    "  tenant add            create a tenant, print its operator token\n"
	    "  add group             create a group, print its provisioning secret\n"
	    "  add                   register a device, or devices from a file\n"
	    "  list groups           list the groups\n"
	    "  list devices          list the devices of a group\n"
	    "  show                  show a device\n"
	    "  revoke                revoke a device\n"
	    "  enable                let a device provision again, with a new key\n"
	    "  group rotate-secret   replace a group's provisioning secret\n"
	    "  group set             set a group's quota or secret expiry\n"
	    "  group delete          delete a group\n"
	    "  provision             provision this device: key, CSR, certificate\n"
	    "\n"
	    "'%s ca VERB --help' and '%s COMMAND --help' describe each command;\n"
	    "see iotactl(1).\n",
	    cli_progname, cli_progname, cli_progname);
}

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

static const struct {
	const char	*name;
	int		(*run)(int, char **);
} commands[] = {
	{ "ca", cmd_ca },
	{ "tenant", cmd_tenant },
	{ "add", cmd_add },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "revoke", cmd_revoke },
	{ "enable", cmd_enable },
	{ "group", cmd_group },
	{ "provision", cmd_provision },
};

static int
run(int argc, char *argv[])
{
	if (argc < 2) {
		cli_error("no command (see '%s --help')", cli_progname);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("iotactl %s\n", IOTA_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	cli_error("unknown command \"%s\" (see '%s --help')", argv[1],
	    cli_progname);
	return EXIT_USAGE;
}

int
main(int argc, char *argv[])
{
	opterr = 0;	/* we say what went wrong, in one line */
	return flush_stdout(run(argc, argv));
}
