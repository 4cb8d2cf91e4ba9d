/*
 * iotactl renew: run on the device.  Show the current certificate to iotad
 * in the TLS handshake, send a CSR for a new key, keep what comes back.
 *
 * The new key is on disk (KEY.new) before the request leaves: if the answer
 * is lost, the next run sends the same key with the same old certificate
 * and iotad answers with the certificate it issued.  KEY.new replaces KEY,
 * then the chain is written, the certificate last; each file through a
 * temporary name and a rename.  --daemon renews at about two thirds of each
 * certificate's lifetime (with jitter), backs off on failure, and runs
 * --exec after each renewal.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "devfiles.h"
#include "remote.h"

#define BACKOFF_MIN	10		/* seconds, doubled on each failure */
#define BACKOFF_MAX	3600

struct renew_args {
	struct remote_opts	 ro;
	const char		*root;		/* --root */
	const char		*cert;
	const char		*key;
	const char		*out;
	const char		*exec;
	enum ca_key_type	 type;
	int			 same_key;
	int			 daemon;
	long			 period;	/* --renew-period, seconds */
};

/* Where the files are, and where the renewed ones go. */
struct renew_files {
	char	dir[PATH_MAX];
	char	crt[PATH_MAX];
	char	key[PATH_MAX];
	char	newkey[PATH_MAX];
	char	chain[PATH_MAX];
};

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
renew_option(const struct cli_cmd *cmd, void *args, int key, const char *val)
{
	struct renew_args *a = args;

	if (key == 'k' && ca_key_type_parse(val, &a->type) == -1)
		return cli_usage_error(cmd, "--key-type: %s", ca_errstr());
	if (key == 'p' && ((a->period = cli_duration(val)) < 1 ||
	    a->period > 365L * 86400))
		return cli_usage_error(cmd, "--renew-period: \"%s\" is not a "
		    "duration from 1s to 365d (N, Ns, Nm, Nh or Nd)", val);
	return 0;
}

static int
name_in(char *out, const char *dir, const char *path, const char *suffix)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	return (size_t)snprintf(out, PATH_MAX, "%s/%s%s", dir, basename(copy),
	    suffix) >= PATH_MAX ? -1 : 0;
}

static int
file_paths(const struct cli_cmd *cmd, const struct renew_args *a,
    struct renew_files *f)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", a->cert);
	snprintf(f->dir, sizeof(f->dir), "%s", a->out != NULL ? a->out :
	    dirname(copy));
	if (name_in(f->crt, f->dir, a->cert, "") == -1 ||
	    name_in(f->key, f->dir, a->key, "") == -1 ||
	    name_in(f->newkey, f->dir, a->key, ".new") == -1 ||
	    (size_t)snprintf(f->chain, sizeof(f->chain), "%s/ca-chain.pem",
	    f->dir) >= sizeof(f->chain))
		return cli_usage_error(cmd, "a path is too long");
	return 0;
}

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct renew_args *a,
    struct renew_files *f)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0 ||
	    (rc = cli_no_operands(cmd, argc, argv)) != 0)
		return rc;
	if (a->cert == NULL || a->key == NULL)
		return cli_usage_error(cmd, "--cert and --key are required");
	if (a->exec != NULL && !a->daemon)
		return cli_usage_error(cmd, "--exec goes with --daemon");
	if (a->period != 0 && !a->daemon)
		return cli_usage_error(cmd, "--renew-period goes with --daemon");
	if (a->out != NULL && dev_prepare_dir(a->out) == -1)
		return EXIT_FAIL;
	return file_paths(cmd, a, f);
}

static EVP_PKEY *
read_key(const char *path)
{
	EVP_PKEY *key;

	if ((key = ca_key_read(path, NULL, 0)) == NULL)
		cli_error("%s: %s", path, ca_errstr());
	return key;
}

/* The key of the certificate to come: a pending one first (a retry). */
static EVP_PKEY *
next_key(const struct renew_args *a, const struct renew_files *f,
    EVP_PKEY *current)
{
	EVP_PKEY *key;
	struct stat st;

	if (a->same_key) {
		EVP_PKEY_up_ref(current);
		return current;
	}
	if (stat(f->newkey, &st) == 0)
		return read_key(f->newkey);
	if ((key = ca_key_generate(a->type)) == NULL) {
		cli_error("%s", ca_errstr());
		return NULL;
	}
	if (dev_write_key(f->dir, f->newkey, key) == -1) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* The subject's CN, for the CSR; iotad takes the identity from the cert. */
static const char *
common_name(const X509 *cert, char *buf, size_t len)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
	    NID_commonName, buf, (int)len) <= 0)
		snprintf(buf, len, "device");
	return buf;
}

static int
install(const struct renew_args *a, const struct renew_files *f,
    struct issued *is)
{
	if (!a->same_key && dev_commit(f->dir, f->newkey, f->key) == -1)
		return -1;
	if (dev_write_certs(f->dir, f->chain, is->chain, is->nchain) == -1 ||
	    dev_write_certs(f->dir, f->crt, &is->cert, 1) == -1)
		return -1;
	return 0;
}

static int
call(const struct cli_cmd *cmd, const struct renew_args *a, const char *cert,
    const char *keypath, const char *csr, json_t **answer)
{
	struct remote *r = NULL;
	json_t *body;
	int rc;

	if ((rc = remote_connect(cmd, &a->ro, "", &r)) != 0)
		return rc;
	if (remote_client_cert(r, cert, keypath) == -1) {
		remote_free(r);
		return EXIT_FAIL;
	}
	if ((body = json_pack("{s:s}", "csr", csr)) == NULL) {
		cli_error("out of memory");
		rc = EXIT_FAIL;
	} else
		rc = remote_call(r, "POST", "/v1/renew", body, answer);
	json_decref(body);
	remote_free(r);
	return rc;
}

/* One renewal of CERT with KEY into the files; the new cert's notAfter. */
static int
renew_once(const struct cli_cmd *cmd, const struct renew_args *a,
    const char *certpath, const char *keypath, const struct renew_files *f)
{
	X509 *cert;
	EVP_PKEY *key = NULL, *next = NULL;
	struct issued is = { 0 };
	json_t *answer = NULL;
	char cn[128], *csr = NULL;
	int rc = EXIT_FAIL;

	if ((cert = ca_cert_read(certpath)) == NULL) {
		cli_error("%s: %s", certpath, ca_errstr());
		return EXIT_FAIL;
	}
	if ((key = read_key(keypath)) == NULL)
		goto out;
	if (X509_check_private_key(cert, key) != 1) {
		cli_error("%s is not the key of %s", keypath, certpath);
		goto out;
	}
	if ((next = next_key(a, f, key)) == NULL ||
	    (csr = dev_make_csr(next, common_name(cert, cn, sizeof(cn)))) ==
	    NULL)
		goto out;
	if ((rc = call(cmd, a, certpath, keypath, csr, &answer)) != 0 ||
	    (rc = dev_take_answer(answer, next, &is)) != 0 ||
	    (rc = dev_verify_chain(&is, dev_chain_root(a->root, &a->ro))) != 0)
		goto out;
	if ((rc = install(a, f, &is) == -1 ? EXIT_FAIL : 0) == 0) {
		out_kv("serial", out_value(json_object_get(answer, "serial")));
		out_kv("not after", out_time(json_object_get(answer,
		    "not_after")));
		out_kv("key", f->key);
		out_kv("certificate", f->crt);
		out_kv("chain", f->chain);
		fflush(stdout);
	}
out:
	dev_issued_free(&is);
	json_decref(answer);
	free(csr);
	EVP_PKEY_free(next);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

/* A random offset in [-span, span]. */
static long
jitter(long span)
{
	unsigned int r;

	if (span <= 0 || RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return 0;
	return (long)(r % (2 * (unsigned long)span + 1)) - span;
}

/* When the certificate at PATH is due: 2/3 of its life, or the period. */
static time_t
due(const struct renew_args *a, const char *path, time_t now)
{
	X509 *cert;
	time_t from, to, when;

	if (a->period > 0)
		return now + a->period;
	if ((cert = ca_cert_read(path)) == NULL)
		return now;
	from = ca_time_from_asn1(X509_get0_notBefore(cert));
	to = ca_time_from_asn1(X509_get0_notAfter(cert));
	X509_free(cert);
	when = from + (to - from) * 2 / 3 + jitter((to - from) / 20);
	return when > now ? when : now;
}

/* Sleeps until `when` or a stop; 0 on time, -1 when asked to stop. */
static int
sleep_until(time_t when)
{
	while (!stopping && time(NULL) < when)
		sleep(1);
	return stopping ? -1 : 0;
}

static void
run_hook(const char *cmd)
{
	int rc;

	if (cmd == NULL)
		return;
	if ((rc = system(cmd)) != 0)
		cli_error("--exec: \"%s\" exited with status %d", cmd, rc);
}

/* Refusals that a retry cannot change: revoked, expired, superseded. */
static int
permanent(int rc)
{
	return rc == EXIT_AUTH || rc == EXIT_CONFLICT || rc == EXIT_USAGE;
}

static int
daemon_loop(const struct cli_cmd *cmd, const struct renew_args *a,
    const struct renew_files *f)
{
	const char *cert = a->cert, *key = a->key;
	long backoff = 0;
	time_t when;
	int rc;

	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	for (when = due(a, cert, time(NULL)); sleep_until(when) == 0; ) {
		if ((rc = renew_once(cmd, a, cert, key, f)) == 0) {
			cert = f->crt;
			key = f->key;
			backoff = 0;
			run_hook(a->exec);
			when = due(a, cert, time(NULL));
			printf("next renewal at %lld\n", (long long)when);
			fflush(stdout);
			continue;
		}
		if (permanent(rc))
			return rc;
		backoff = backoff == 0 ? BACKOFF_MIN : backoff * 2;
		if (backoff > BACKOFF_MAX)
			backoff = BACKOFF_MAX;
		when = time(NULL) + backoff + jitter(backoff / 4);
		cli_error("renewal failed; trying again in %ld s",
		    (long)(when - time(NULL)));
	}
	return 0;
}

static int
exec_renew(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct renew_args a = { .type = CA_KEY_EC_P256 };
	struct renew_files f;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a, &f)) != 0)
		return rc == -1 ? 0 : rc;
	if (a.daemon)
		return daemon_loop(cmd, &a, &f);
	return renew_once(cmd, &a, a.cert, a.key, &f);
}

static const struct cli_opt renew_opts[] = {
	CLI_STR("cert", 0, "FILE", "the current certificate (PEM)",
	    struct renew_args, cert),
	CLI_STR("key", 0, "FILE", "its key (PKCS#8 PEM, unencrypted)",
	    struct renew_args, key),
	CLI_STR("out", 0, "DIR", "where the renewed files go, under the same "
	    "names\n(default: beside --cert)", struct renew_args, out),
	CLI_CALL_OPT("key-type", 0, "TYPE",
	    "of the new key: ec-p256 (default), ec-p384, ed25519,\nrsa-3072",
	    'k'),
	CLI_FLAG_OPT("same-key", 0, "keep the current key", struct renew_args,
	    same_key),
	CLI_FLAG_OPT("daemon", 0, "keep renewing, at about 2/3 of each "
	    "lifetime", struct renew_args, daemon),
	CLI_CALL_OPT("renew-period", 0, "DURATION",
	    "with --daemon: renew every DURATION instead", 'p'),
	CLI_STR("exec", 0, "COMMAND", "with --daemon: run COMMAND (sh -c) "
	    "after each\nrenewal", struct renew_args, exec),
	CLI_OPTS_SERVER(struct renew_args, ro),
	CLI_STR("root", 0, "FILE", "the root the certificate and chain iotad "
	    "answers\nwith must verify to (default: the --ca-file root)",
	    struct renew_args, root),
	CLI_OPT_END,
};

const struct cli_cmd cmd_renew = {
	"renew",
	"renew this device's certificate over mutual TLS",
	"--cert FILE --key FILE [--out DIR] [--key-type TYPE | --same-key]\n"
	"    [--daemon [--renew-period DURATION] [--exec COMMAND]]\n"
	"    [--server URL] [--ca-file FILE] [--root FILE]",
	"Show the current certificate to iotad in the TLS handshake and send a\n"
	"CSR for a new key (--same-key: the current one); write the new key,\n"
	"DIR/ca-chain.pem and the new certificate, each atomically, the\n"
	"certificate last.  A run whose answer was lost is taken up again\n"
	"with the same new key (KEY.new).  An expired certificate renews\n"
	"within its group's grace.  --daemon renews at about two thirds of\n"
	"each lifetime, with jitter, backs off on failures, stops on a\n"
	"refusal (revoked, expired past the grace) with its exit status.",
	renew_opts,
	renew_option,
	exec_renew,
	1,
};
