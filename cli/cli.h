/* iotactl: one descriptor per subcommand, as tmux does it. */
#ifndef IOTA_CLI_H
#define IOTA_CLI_H

#include <stdio.h>

#include "ca.h"

#define EXIT_USAGE	2	/* bad command line; 1 is any other failure */

struct cli_cmd {
	const char	*name;
	const char	*brief;		/* for the list of verbs */
	const char	*args;		/* synopsis after the name */
	const char	*summary;	/* one line */
	const char	*options;	/* the option list for --help */
	int		(*exec)(const struct cli_cmd *, int, char **);
};

/* Long-only options shared by the ca verbs. */
enum {
	OPT_DIR = 256,
	OPT_PASSFILE,
	OPT_INTER_PASSFILE,
	OPT_ROOT_KEY,
	OPT_KEY_TYPE,
	OPT_NAME,
	OPT_DAYS,
	OPT_ROOT_DAYS,
	OPT_INTER_DAYS,
	OPT_SERVER_NAME,
	OPT_DNS,
	OPT_IP,
	OPT_OUT,
	OPT_CSR,
	OPT_PROFILE,
	OPT_REASON,
	OPT_ROOT,
	OPT_ISSUER,
	OPT_HELP = 'h',
};

/* What the ca verbs share: where the CA is and where its secrets are. */
struct ca_common {
	const char	*dir;
	const char	*passfile;
	const char	*inter_passfile;
	const char	*root_key;
};

struct passphrase {
	char	buf[CA_PASSPHRASE_MAX + 1];
	size_t	len;
};

/* iotactl.c */
extern const char *cli_progname;

/* args.c */
void	cli_error(const char *, ...) __attribute__((format(printf, 1, 2)));
int	cli_usage_error(const struct cli_cmd *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	cli_help(const struct cli_cmd *, const char *, FILE *);
int	cli_days(const char *, const char *, long *);
int	cli_common_option(int, const char *, struct ca_common *);
int	cli_need_dir(const struct cli_cmd *, const struct ca_common *);
/* Parse failures of getopt_long: the message and exit status 2. */
int	cli_bad_option(const struct cli_cmd *, int, char **);

/* passphrase.c: never from the command line. */
int	passphrase_root(const struct ca_common *, struct passphrase *, int);
int	passphrase_intermediate(const struct ca_common *, struct passphrase *,
	    int);
void	passphrase_clear(struct passphrase *);

/* intermediate.c: "NAME Intermediate CA GENERATION" under the root. */
X509	*cli_make_intermediate(struct ca_signer *, EVP_PKEY *, const char *,
	    int, long, time_t);

struct cadir;
struct ca_signer *cli_intermediate_signer(const struct cadir *,
	    const struct ca_common *);
struct ca_signer *cli_root_signer(const struct cadir *,
	    const struct ca_common *);
struct cadir *cli_open_ca(const struct ca_common *, int);

/* ca.c and one file per verb */
int	cmd_ca(int, char **);
extern const struct cli_cmd cmd_ca_init, cmd_ca_issue, cmd_ca_sign,
	    cmd_ca_revoke, cmd_ca_crl, cmd_ca_show, cmd_ca_rotate;

/* The remote verbs (remote.h): operators and devices talking to iotad. */
int	cmd_tenant(int, char **);
int	cmd_add(int, char **);
int	cmd_list(int, char **);
int	cmd_show(int, char **);
int	cmd_revoke(int, char **);
int	cmd_enable(int, char **);
int	cmd_group(int, char **);
int	cmd_provision(int, char **);

#endif
