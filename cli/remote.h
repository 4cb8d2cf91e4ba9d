/*
 * iotactl's remote verbs: the one HTTPS client of iotad (remote.c), the
 * options every remote verb shares (remote-opts.c) and their output
 * (output.c).  The contract is docs/API.md.
 */
#ifndef IOTA_REMOTE_H
#define IOTA_REMOTE_H

#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

/* Exit statuses, as docs/API.md fixes them; 0 success, 2 EXIT_USAGE. */
#define EXIT_FAIL		1	/* any other failure */
#define EXIT_AUTH		3	/* 401, 403 */
#define EXIT_NOT_FOUND		4	/* 404 */
#define EXIT_CONFLICT		5	/* 409 */
#define EXIT_RATE_LIMITED	6	/* 429 */
#define EXIT_UNREACHABLE	7	/* network, TLS, 5xx, a broken answer */

#define REMOTE_MAX_ANSWER	(8 * 1024 * 1024)	/* bytes */
#define REMOTE_CONNECT_TIMEOUT	10			/* seconds */
#define REMOTE_TIMEOUT		120			/* seconds, in all */
#define REMOTE_TOKEN_MAX	1024			/* bytes */

/* -o table|json: a CLI_CALL row; the verb's option() calls
 * remote_parse_output(). */
#define REMOTE_OUTPUT_OPT \
	CLI_CALL_OPT("output", 'o', "FORMAT", "table (the default) or json", 'o')

/* The forms of --secret-expires, for --help. */
#define REMOTE_WHEN_HELP \
	"the secret's expiry: YYYY-MM-DD or\n" \
	"YYYY-MM-DDTHH:MM:SSZ (UTC), @UNIXTIME, or N[smhd]\n" \
	"from now (N alone: seconds)"

/* What the command line said; the environment fills the gaps later. */
struct remote_opts {
	const char	*server;
	const char	*ca_file;
	const char	*token;
	const char	*token_file;
};

enum output_format {
	OUTPUT_TABLE,
	OUTPUT_JSON,
};

struct remote;

/* remote.c: the HTTPS client. */
/* base: "https://host[:port][/prefix]" without a trailing slash; the
 * bearer credential is copied and wiped again by remote_free(). */
struct remote	*remote_new(const char *, const char *, const char *);
void		 remote_free(struct remote *);
/* Present this certificate and key (PEM files) in the TLS handshake. */
int		 remote_client_cert(struct remote *, const char *, const char *);
/*
 * METHOD base+PATH with BODY (or none) as JSON.  On a 2xx answer returns 0
 * and, if `answer` is not NULL, the JSON object of the answer in it (NULL
 * for an empty answer).  Otherwise says why in one line and returns the
 * exit status: the server's {"error","message"} mapped by HTTP status,
 * EXIT_UNREACHABLE for network and TLS failures.
 */
int		 remote_call(struct remote *, const char *, const char *,
		    json_t *, json_t **);
/* The HTTP status of the last answer (201 and 200 differ for provision). */
long		 remote_status(const struct remote *);
/* A string member of an answer, or NULL after saying it is missing (the
 * caller returns EXIT_UNREACHABLE: the server is not keeping the contract). */
const char	*remote_string(const json_t *, const char *);
/* Exit status for an HTTP status. */
int		 remote_exit_status(long);

/* remote-opts.c: options, credentials and arguments of the remote verbs. */
/* Server and root from options or environment, bearer from `bearer` or
 * else the operator token; returns 0 or the exit status, having said why. */
int		 remote_connect(const struct cli_cmd *, const struct remote_opts *,
		    const char *, struct remote **);
/* Where a credential may come from, in this order: the option with the
 * value, the option with a file, the variable with the value, the variable
 * with a file.  `what` names it in errors; its value never appears. */
struct secret_source {
	const char	*what;		/* "token" */
	const char	*opt;		/* "--token" */
	const char	*file_opt;	/* "--token-file" */
	const char	*env;		/* "IOTA_TOKEN" */
	const char	*env_file;	/* "IOTA_TOKEN_FILE" */
	const char	*value;		/* what the command line gave */
	const char	*file;
};
/* Returns 0 with *out allocated (remote_secret_free() wipes it), or the
 * exit status after one line. */
int		 remote_secret(const struct cli_cmd *,
		    const struct secret_source *, char **);
void		 remote_secret_free(char *);
/* A tenant, group or device name as docs/API.md allows; else exit 2. */
int		 remote_check_name(const struct cli_cmd *, const char *,
		    const char *);
/* DEVICE -g GROUP [-o table|json] and the remote options, for show, revoke
 * and enable: returns 0, -1 after --help, or the exit status. */
struct device_args {
	struct remote_opts	 ro;
	const char		*group;
	const char		*device;
	enum output_format	 format;
	const char		*reason;	/* revoke --reason */
	char			 path[256];	/* /v1/groups/G/devices/D */
};
extern const struct cli_opt remote_device_opts[];
int		 remote_device_option(const struct cli_cmd *, void *, int,
		    const char *);
int		 remote_parse_device(const struct cli_cmd *, int, char **,
		    struct device_args *);
/* show, revoke, enable: the device's path plus a suffix, the device out. */
int	remote_device_verb(const struct cli_cmd *, int, char **, const char *,
	    const char *);
/* The same with a body (NULL: none), built from the parsed arguments. */
int	remote_device_verb_with(const struct cli_cmd *, int, char **,
	    const char *, const char *, json_t *(*)(const struct cli_cmd *,
	    const struct device_args *, int *));
/* Prints a DEVICE object of the API in the chosen format. */
int		 out_device(const json_t *, enum output_format);
int		 remote_parse_output(const struct cli_cmd *, const char *,
		    enum output_format *);
/* --quota N (0..1000000000), or "none" when `none_ok`: *quota = -1. */
int		 remote_parse_quota(const struct cli_cmd *, const char *, int,
		    long long *);
/* --secret-expires: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, @UNIXTIME, or N[smhd]
 * from now; "none" when `none_ok`: *when = -1. */
int		 remote_parse_when(const struct cli_cmd *, const char *, int,
		    time_t, long long *);

/* output.c: what the remote verbs print. */
/* A progress bar on stderr, ended by out_progress_end() or out_error(). */
void		 out_progress(size_t, size_t);
void		 out_progress_end(void);
/* cli_error() on a line of its own, after a progress bar if one shows. */
void		 out_error(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* "2026-11-28T07:54:00Z" or "-" for null or missing. */
const char	*out_time(const json_t *);
/* An integer, a string (cleaned of control characters) or "-". */
const char	*out_value(const json_t *);
/* One line of text from a server, control characters replaced, bounded. */
void		 out_clean(const char *, char *, size_t);
int		 out_json(const json_t *);
void		 out_kv(const char *, const char *);

struct table;
struct table	*table_new(size_t, const char *const *);
/* One cell, copied; rows fill up left to right. */
int		 table_cell(struct table *, const char *);
void		 table_print(const struct table *, FILE *);
void		 table_free(struct table *);

#endif
