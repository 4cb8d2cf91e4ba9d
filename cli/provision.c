/*
 * iotactl provision: run on the device.  Make a key and a CSR here, send
 * the CSR with the group's provisioning secret, keep the certificate and
 * the CA chain iotad answers with.
 *
 * The key is on disk before the request leaves: if the answer is lost, the
 * next run sends the same key again, and iotad answers with the same
 * certificate.  DIR/DEVICE.crt is written last, so it marks a finished
 * provisioning; every file is written to a temporary name and renamed.
 *
 *   DEVICE.crt   DEVICE.key.new   DEVICE.key   what happens
 *   -            -                -            new key -> DEVICE.key
 *   -            -                yes          retry: reuse DEVICE.key
 *   -            yes              any          retry: reuse DEVICE.key.new
 *   yes          any              any          refused without --force
 *   yes, --force -                any          new key -> DEVICE.key.new
 *   yes, --force yes              any          retry: reuse DEVICE.key.new
 *
 * DEVICE.key.new replaces DEVICE.key only once iotad has answered, after
 * DEVICE.crt is removed, so a crash anywhere leaves a state the table
 * above continues from.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "remote.h"

#define MAX_CHAIN	8

struct prov_args {
	struct remote_opts	 ro;
	const char		*device;
	const char		*group;
	const char		*out;
	const char		*secret;
	const char		*secret_file;
	enum ca_key_type	 type;
	int			 type_given;
	int			 force;
};

struct prov_files {
	char	key[PATH_MAX];
	char	newkey[PATH_MAX];
	char	crt[PATH_MAX];
	char	chain[PATH_MAX];
	char	broker[PATH_MAX];
	char	*pending;	/* key or newkey: the key being provisioned */
};

static int
prov_option(const struct cli_cmd *cmd, void *args, int key, const char *val)
{
	struct prov_args *a = args;

	if (ca_key_type_parse(val, &a->type) == -1)
		return cli_usage_error(cmd, "--key-type: %s", ca_errstr());
	a->type_given = 1;
	return 0;
}

static int
parse(const struct cli_cmd *cmd, int argc, char **argv, struct prov_args *a)
{
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, a)) != 0 ||
	    (rc = cli_one_operand(cmd, argc, argv, "DEVICE", &a->device)) != 0)
		return rc;
	if (a->group == NULL || a->out == NULL)
		return cli_usage_error(cmd, "-g GROUP and --out DIR are "
		    "required");
	if (remote_check_name(cmd, "device", a->device) != 0)
		return EXIT_USAGE;
	return remote_check_name(cmd, "group", a->group);
}

/* --- files -------------------------------------------------------------- */

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int
prepare_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		cli_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cli_error("%s is not a directory", dir);
		return -1;
	}
	return 0;
}

static int
file_paths(const char *dir, const char *device, struct prov_files *f)
{
	if ((size_t)snprintf(f->key, sizeof(f->key), "%s/%s.key", dir,
	    device) >= sizeof(f->key) ||
	    (size_t)snprintf(f->newkey, sizeof(f->newkey), "%s/%s.key.new",
	    dir, device) >= sizeof(f->newkey) ||
	    (size_t)snprintf(f->crt, sizeof(f->crt), "%s/%s.crt", dir,
	    device) >= sizeof(f->crt) ||
	    (size_t)snprintf(f->chain, sizeof(f->chain), "%s/ca-chain.pem",
	    dir) >= sizeof(f->chain) ||
	    (size_t)snprintf(f->broker, sizeof(f->broker), "%s/broker.json",
	    dir) >= sizeof(f->broker)) {
		cli_error("--out: the path is too long");
		return -1;
	}
	return 0;
}

static void
sync_dir(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

/* DIR/.NAME.PID.tmp beside the file it becomes. */
static int
temp_path(const char *dir, const char *final, char *tmp, size_t size)
{
	const char *base = strrchr(final, '/');

	base = base != NULL ? base + 1 : final;
	if ((size_t)snprintf(tmp, size, "%s/.%s.%ld.tmp", dir, base,
	    (long)getpid()) >= size) {
		cli_error("--out: the path is too long");
		return -1;
	}
	(void)unlink(tmp);	/* a leftover of a crashed run of ours */
	return 0;
}

static int
commit(const char *dir, const char *tmp, const char *final)
{
	if (rename(tmp, final) == -1) {
		cli_error("cannot rename %s to %s: %s", tmp, final,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	sync_dir(dir);
	return 0;
}

static int
write_key(const char *dir, const char *path, EVP_PKEY *key)
{
	char tmp[PATH_MAX];

	if (temp_path(dir, path, tmp, sizeof(tmp)) == -1)
		return -1;
	if (ca_key_write_plain(tmp, key) == -1) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return commit(dir, tmp, path);
}

static int
write_certs(const char *dir, const char *path, X509 *const *certs, size_t n)
{
	char tmp[PATH_MAX];

	if (temp_path(dir, path, tmp, sizeof(tmp)) == -1)
		return -1;
	if (ca_certs_write_new(tmp, certs, n, 0644) == -1) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return commit(dir, tmp, path);
}

/* The broker credentials, 0600: they hold the device's password. */
static int
write_broker(const char *dir, const char *path, const json_t *broker)
{
	char tmp[PATH_MAX], *text;
	int rc;

	if (temp_path(dir, path, tmp, sizeof(tmp)) == -1)
		return -1;
	if ((text = json_dumps(broker, JSON_INDENT(2))) == NULL) {
		cli_error("out of memory");
		return -1;
	}
	rc = ca_file_write_new(tmp, text, strlen(text), 0600);
	OPENSSL_clear_free(text, strlen(text));
	if (rc == -1) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return commit(dir, tmp, path);
}

/* A key of an unfinished run is taken up again, unless --key-type asks
 * for another type: then the user decides, by removing it. */
static EVP_PKEY *
pending_key(const struct prov_args *a, const char *path)
{
	static const char *const described[] = {
		[CA_KEY_EC_P256] = "EC P-256",
		[CA_KEY_EC_P384] = "EC P-384",
		[CA_KEY_ED25519] = "Ed25519",
		[CA_KEY_RSA_3072] = "RSA 3072",
	};
	EVP_PKEY *key;

	if ((key = ca_key_read(path, NULL, 0)) == NULL) {
		cli_error("%s (remove it to start over with a new key)",
		    ca_errstr());
		return NULL;
	}
	if (a->type_given &&
	    strcmp(ca_key_describe(key), described[a->type]) != 0) {
		cli_error("%s, of an unfinished run, is not of type %s: remove "
		    "it to start over with a new key", path,
		    ca_key_type_name(a->type));
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* The key to provision, per the table at the top; a new one is on disk
 * before this returns. */
static int
choose_key(const struct prov_args *a, struct prov_files *f, EVP_PKEY **keyp)
{
	int have_crt = exists(f->crt);

	if (have_crt && !a->force) {
		cli_error("%s exists: %s is provisioned already (--force "
		    "provisions it again, with a new key)", f->crt, a->device);
		return -1;
	}
	if (exists(f->newkey))
		f->pending = f->newkey;
	else if (!have_crt && exists(f->key))
		f->pending = f->key;
	if (f->pending != NULL)
		return (*keyp = pending_key(a, f->pending)) != NULL ? 0 : -1;
	f->pending = have_crt ? f->newkey : f->key;
	if ((*keyp = ca_key_generate(a->type)) == NULL) {
		cli_error("%s", ca_errstr());
		return -1;
	}
	return write_key(a->out, f->pending, *keyp);
}

/* --- the request -------------------------------------------------------- */

/* CN=DEVICE; iotad takes only the public key from it. */
static char *
make_csr(EVP_PKEY *key, const char *device)
{
	X509_REQ *req;
	BIO *bio = NULL;
	char *pem = NULL, *data;
	long len;
	int ed = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;

	if ((req = X509_REQ_new()) == NULL ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_UTF8, (const unsigned char *)device, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, ed ? NULL : EVP_sha256()) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(bio, req) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (pem = strndup(data, (size_t)len)) == NULL)
		cli_error("cannot make the certification request");
	BIO_free(bio);
	X509_REQ_free(req);
	return pem;
}

/* The certificates in a PEM string; 0 if there is none or junk. */
static size_t
parse_certs(const char *pem, X509 **certs, size_t max)
{
	BIO *bio;
	size_t n = 0;
	X509 *c;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return 0;
	while (n < max && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		certs[n++] = c;
	BIO_free(bio);
	return n;
}

struct issued {
	X509	*cert;
	X509	*chain[MAX_CHAIN];
	size_t	 nchain;
};

static void
issued_free(struct issued *is)
{
	X509_free(is->cert);
	for (size_t i = 0; i < is->nchain; i++)
		X509_free(is->chain[i]);
}

/* The answer keeps the contract: a certificate for our key, a chain. */
static int
take_answer(const json_t *answer, EVP_PKEY *key, struct issued *is)
{
	const char *cert, *chain;

	if ((cert = remote_string(answer, "certificate")) == NULL ||
	    (chain = remote_string(answer, "ca_chain")) == NULL)
		return EXIT_UNREACHABLE;
	if (parse_certs(cert, &is->cert, 1) != 1 ||
	    (is->nchain = parse_certs(chain, is->chain, MAX_CHAIN)) == 0) {
		cli_error("the server's answer holds no PEM certificate or "
		    "chain");
		return EXIT_UNREACHABLE;
	}
	if (X509_check_private_key(is->cert, key) != 1) {
		cli_error("the server's certificate is not for this device's "
		    "key");
		return EXIT_UNREACHABLE;
	}
	return 0;
}

/*
 * The pending key becomes DEVICE.key, then the chain and the broker
 * credentials, DEVICE.crt last: its presence says provisioning finished.
 */
static int
install(const struct prov_args *a, const struct prov_files *f,
    struct issued *is, const json_t *broker)
{
	if (f->pending == f->newkey) {
		if (unlink(f->crt) == -1 && errno != ENOENT) {
			cli_error("cannot remove %s: %s", f->crt,
			    strerror(errno));
			return -1;
		}
		sync_dir(a->out);
		if (commit(a->out, f->newkey, f->key) == -1)
			return -1;
	}
	if (write_certs(a->out, f->chain, is->chain, is->nchain) == -1 ||
	    (json_is_object(broker) &&
	    write_broker(a->out, f->broker, broker) == -1) ||
	    write_certs(a->out, f->crt, &is->cert, 1) == -1)
		return -1;
	return 0;
}

static int
provision(struct remote *r, const struct prov_args *a, struct prov_files *f)
{
	EVP_PKEY *key = NULL;
	json_t *body = NULL, *answer = NULL;
	struct issued is = { 0 };
	char *csr = NULL;
	int rc = EXIT_FAIL;

	if (prepare_dir(a->out) == -1 || file_paths(a->out, a->device, f) ==
	    -1 || choose_key(a, f, &key) == -1 ||
	    (csr = make_csr(key, a->device)) == NULL)
		goto out;
	if ((body = json_pack("{s:s, s:s, s:s}", "device", a->device, "group",
	    a->group, "csr", csr)) == NULL) {
		cli_error("out of memory");
		goto out;
	}
	if ((rc = remote_call(r, "POST", "/v1/provision", body, &answer)) != 0 ||
	    (rc = take_answer(answer, key, &is)) != 0)
		goto out;
	rc = install(a, f, &is, json_object_get(answer, "broker")) == -1 ?
	    EXIT_FAIL : 0;
	if (rc == 0) {
		out_kv("device", a->device);
		out_kv("group", a->group);
		out_kv("serial", out_value(json_object_get(answer, "serial")));
		out_kv("not after", out_time(json_object_get(answer,
		    "not_after")));
		out_kv("key", f->key);
		out_kv("certificate", f->crt);
		out_kv("chain", f->chain);
		if (json_is_object(json_object_get(answer, "broker")))
			out_kv("broker", f->broker);
	}
out:
	issued_free(&is);
	json_decref(answer);
	json_decref(body);
	free(csr);
	EVP_PKEY_free(key);
	return rc;
}

static int
exec_provision(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct prov_args a = { .type = CA_KEY_EC_P256 };
	struct prov_files f = { .pending = NULL };
	struct secret_source src = { "provisioning secret",
	    "--provision-secret", "--provision-secret-file",
	    "IOTA_PROVISION_SECRET", "IOTA_PROVISION_SECRET_FILE", NULL, NULL };
	struct remote *r = NULL;
	char *secret = NULL;
	int rc;

	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	src.value = a.secret;
	src.file = a.secret_file;
	if ((rc = remote_secret(cmd, &src, &secret)) != 0)
		return rc;
	rc = remote_connect(cmd, &a.ro, secret, &r);
	remote_secret_free(secret);
	if (rc == 0)
		rc = provision(r, &a, &f);
	remote_free(r);
	return rc;
}

static const struct cli_opt provision_opts[] = {
	CLI_STR("group", 'g', "GROUP", "the device's group", struct prov_args,
	    group),
	CLI_STR("out", 0, "DIR", "where the files go (made 0700 if missing)",
	    struct prov_args, out),
	CLI_STR("provision-secret-file", 0, "FILE",
	    "the group's provisioning secret, on the first line\n"
	    "(or IOTA_PROVISION_SECRET_FILE)", struct prov_args, secret_file),
	CLI_STR("provision-secret", 0, "SECRET",
	    "the secret itself (or IOTA_PROVISION_SECRET)", struct prov_args,
	    secret),
	CLI_CALL_OPT("key-type", 0, "TYPE",
	    "ec-p256 (default), ec-p384, ed25519, rsa-3072", 0),
	CLI_FLAG_OPT("force", 0, "provision again over DIR/DEVICE.crt, with a "
	    "new\nkey (an operator must enable the device first)",
	    struct prov_args, force),
	CLI_OPTS_SERVER(struct prov_args, ro),
	CLI_OPT_END,
};

const struct cli_cmd cmd_provision = {
	"provision",
	"provision this device: key, CSR, certificate",
	"DEVICE -g GROUP --out DIR [--provision-secret-file FILE]\n"
	"    [--key-type TYPE] [--force] [--server URL] [--ca-file FILE]",
	"Generate the device's key and a CSR here, send the CSR with the group's\n"
	"provisioning secret to iotad, and write DIR/DEVICE.key (unencrypted\n"
	"PKCS#8, mode 0600), DIR/DEVICE.crt and DIR/ca-chain.pem.  A run that\n"
	"did not finish is taken up again with the same key; an existing\n"
	"DIR/DEVICE.crt is refused without --force.",
	provision_opts,
	prov_option,
	exec_provision,
	1,
};
