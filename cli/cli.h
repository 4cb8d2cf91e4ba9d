/* iotactl: one descriptor per subcommand, as tmux does it. */
#ifndef IOTA_CLI_H
#define IOTA_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "ca.h"

#define EXIT_USAGE	2	/* bad command line; 1 is any other failure */

/*
 * One option of a verb.  Rows of a value kind store into the verb's
 * argument struct at `at` (the last one given wins); CLI_CALL rows
 * go to the verb's option() with `key`, for values that need parsing or
 * may repeat.
 */
enum cli_opt_kind {
	CLI_STRING,	/* const char * */
	CLI_FLAG,	/* int, set to 1 */
	CLI_DAYS,	/* long, 1..36500 */
	CLI_KEY_TYPE,	/* enum ca_key_type */
	CLI_CALL,
};

struct cli_opt {
	const char		*name;		/* long name, without "--" */
	int			 short_name;	/* 'g', or 0 */
	const char		*arg;		/* "FILE"; NULL: takes none */
	const char		*help;		/* lines for --help */
	enum cli_opt_kind	 kind;
	size_t			 at;
	int			 key;
};

#define CLI_STR(n, s, a, h, T, f) \
	{ n, s, a, h, CLI_STRING, offsetof(T, f), 0 }
#define CLI_FLAG_OPT(n, s, h, T, f) \
	{ n, s, NULL, h, CLI_FLAG, offsetof(T, f), 0 }
#define CLI_DAYS_OPT(n, h, T, f) \
	{ n, 0, "N", h, CLI_DAYS, offsetof(T, f), 0 }
#define CLI_KEY_TYPE_OPT(T, f) \
	{ "key-type", 0, "TYPE", "ec-p256 (default), ec-p384, ed25519, rsa-3072", \
	    CLI_KEY_TYPE, offsetof(T, f), 0 }
#define CLI_CALL_OPT(n, s, a, h, k) \
	{ n, s, a, h, CLI_CALL, 0, k }
#define CLI_OPT_END	{ NULL, 0, NULL, NULL, CLI_STRING, 0, 0 }

/* The option groups several verbs share: T is the verb's argument struct,
 * m its struct ca_common (CA_*) or struct remote_opts (SERVER, TOKEN). */
#define CLI_OPTS_CA_DIR(T, m) \
	CLI_STR("dir", 0, "DIR", "the CA directory", T, m.dir)
#define CLI_OPTS_CA_KEYS(T, m) \
	CLI_STR("passphrase-file", 0, "FILE", \
	    "the CA passphrase (or IOTA_CA_PASSPHRASE_FILE)", T, \
	    m.passfile), \
	CLI_STR("intermediate-passphrase-file", 0, "FILE", \
	    "the intermediate key's, if it has its own\n" \
	    "(or IOTA_CA_INTERMEDIATE_PASSPHRASE_FILE)", T, m.inter_passfile), \
	CLI_STR("pkcs11-module", 0, "PATH", \
	    "the PKCS#11 module of keys on a token\n" \
	    "(or IOTA_PKCS11_MODULE; default: SoftHSM's, else p11-kit's)", \
	    T, m.pkcs11_module)
#define CLI_OPTS_CA_ROOT_KEY(T, m) \
	CLI_STR("root-key", 0, "PATH", "the root key, if not DIR/root.key:\n" \
	    "a key file, a .uri file or a pkcs11: URI", T, m.root_key)
#define CLI_OPTS_SERVER(T, m) \
	CLI_STR("server", 0, "URL", "iotad's https:// URL (or IOTA_SERVER)", \
	    T, m.server), \
	CLI_STR("ca-file", 0, "FILE", "the root certificate that " \
	    "authenticates iotad\n(or IOTA_CA_FILE; default: the system's " \
	    "store)", T, m.ca_file)
#define CLI_OPTS_TOKEN(T, m) \
	CLI_STR("token-file", 0, "FILE", \
	    "read the bearer token from FILE (or IOTA_TOKEN_FILE)", T, \
	    m.token_file), \
	CLI_STR("token", 0, "TOKEN", "the bearer token (or IOTA_TOKEN)", T, \
	    m.token)
#define CLI_OPTS_REMOTE(T, m)	CLI_OPTS_SERVER(T, m), CLI_OPTS_TOKEN(T, m)

struct cli_cmd {
	const char		*name;		/* "ca issue", "group set", "add" */
	const char		*brief;		/* for the lists of verbs */
	const char		*args;		/* synopsis after the name */
	const char		*summary;	/* for --help */
	const struct cli_opt	*opts;		/* CLI_OPT_END last */
	/* CLI_CALL rows: 0, or the exit status after one line. */
	int			(*option)(const struct cli_cmd *, void *, int,
				    const char *);
	int			(*exec)(const struct cli_cmd *, int, char **);
	int			 remote;	/* talks to iotad */
};

/* Keys of the CLI_CALL rows of the ca verbs. */
enum {
	OPT_DNS = 256,
	OPT_IP,
	OPT_PROFILE,
	OPT_REASON,
	OPT_ISSUER,
};

/* What the ca verbs share: where the CA is and where its secrets are. */
struct ca_common {
	const char	*dir;
	const char	*passfile;
	const char	*inter_passfile;
	const char	*root_key;
	const char	*pkcs11_module;
};

struct passphrase {
	char	buf[CA_PASSPHRASE_MAX + 1];
	size_t	len;
};

/* iotactl.c */
extern const char *cli_progname;

/* args.c: errors and values shared by the verbs. */
void	cli_error(const char *, ...) __attribute__((format(printf, 1, 2)));
/* "90", "90s", "10m", "6h", "30d" as seconds (0..3650d), or -1. */
long	cli_duration(const char *);
/* One line naming the verb's --help; returns EXIT_USAGE. */
int	cli_usage_error(const struct cli_cmd *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* A getopt_long failure, naming the option but never its value. */
int	cli_bad_option(const struct cli_cmd *, int, char **);
int	cli_days(const char *, const char *, long *);
int	cli_need_dir(const struct cli_cmd *, const struct ca_common *);
/* --dns (OPT_DNS) or --ip into the request; `reserved` DNS slots are
 * kept in front (the server name). */
int	cli_san_add(const struct cli_cmd *, struct ca_request *, int,
	    const char *, int);
/* After cli_parse(): a usage error if operands are left. */
int	cli_no_operands(const struct cli_cmd *, int, char **);
/* After cli_parse(): exactly one operand, `what` names it in the error. */
int	cli_one_operand(const struct cli_cmd *, int, char **, const char *,
	    const char **);

/* opts.c: parses argv by cmd's option rows into `args`; returns 0 with
 * optind at the first operand, -1 after --help, or the exit status. */
int	cli_parse(const struct cli_cmd *, int, char **, void *);
void	cli_help(const struct cli_cmd *, FILE *);

/* commands.c: the table of commands. */
void	cli_usage(FILE *);
/* argv[0] is a command's first word ("ca", "add"). */
int	cli_dispatch(int, char **);

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

/* ca-token.c: CA keys on a PKCS#11 token; the PIN is the passphrase. */
int	 cli_token_module(const struct ca_common *);
EVP_PKEY *cli_token_key_new(const char *, enum ca_key_type,
	    const struct passphrase *, char **);
int	 cli_token_uri_write(const char *, const char *);

/* One file per command; the ca verbs start with ca-. */
extern const struct cli_cmd cmd_ca_init, cmd_ca_issue, cmd_ca_sign,
	    cmd_ca_revoke, cmd_ca_crl, cmd_ca_show, cmd_ca_rotate;
extern const struct cli_cmd cmd_tenant_add, cmd_add, cmd_list_groups,
	    cmd_list_devices, cmd_show, cmd_revoke, cmd_enable,
	    cmd_group_rotate, cmd_group_set, cmd_group_delete, cmd_provision,
	    cmd_renew, cmd_list_certs, cmd_cert_inspect;
/* audit.c: works on iotad's registry, locally. */
extern const struct cli_cmd cmd_audit_verify;

#endif
