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

#include "devfiles.h"
#include "remote.h"


struct prov_args {
	struct remote_opts	 ro;
	const char		*root;		/* --root */
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
	return dev_write_key(a->out, f->pending, *keyp);
}

/* --- the request -------------------------------------------------------- */

/* CN=DEVICE; iotad takes only the public key from it. */
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
		dev_sync_dir(a->out);
		if (dev_commit(a->out, f->newkey, f->key) == -1)
			return -1;
	}
	if (dev_write_certs(a->out, f->chain, is->chain, is->nchain) == -1 ||
	    (json_is_object(broker) &&
	    dev_write_broker(a->out, f->broker, broker) == -1) ||
	    dev_write_certs(a->out, f->crt, &is->cert, 1) == -1)
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

	if (dev_prepare_dir(a->out) == -1 || file_paths(a->out, a->device, f) ==
	    -1 || choose_key(a, f, &key) == -1 ||
	    (csr = dev_make_csr(key, a->device)) == NULL)
		goto out;
	if ((body = json_pack("{s:s, s:s, s:s}", "device", a->device, "group",
	    a->group, "csr", csr)) == NULL) {
		cli_error("out of memory");
		goto out;
	}
	if ((rc = remote_call(r, "POST", "/v1/provision", body, &answer)) != 0 ||
	    (rc = dev_take_answer(answer, key, &is)) != 0 ||
	    (rc = dev_verify_chain(&is, dev_chain_root(a->root, &a->ro))) != 0)
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
	dev_issued_free(&is);
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
	CLI_STR("root", 0, "FILE", "the root the certificate and chain iotad "
	    "answers\nwith must verify to (default: the --ca-file root)",
	    struct prov_args, root),
	CLI_OPT_END,
};

const struct cli_cmd cmd_provision = {
	"provision",
	"provision this device: key, CSR, certificate",
	"DEVICE -g GROUP --out DIR [--provision-secret-file FILE]\n"
	"    [--key-type TYPE] [--force] [--server URL] [--ca-file FILE]\n"
	"    [--root FILE]",
	"Generate the device's key and a CSR here, send the CSR with the group's\n"
	"provisioning secret to iotad, and write DIR/DEVICE.key (unencrypted\n"
	"PKCS#8, mode 0600), DIR/DEVICE.crt and DIR/ca-chain.pem, once the\n"
	"certificate verifies with that chain up to --root.  A run that did\n"
	"not finish is taken up again with the same key; an existing\n"
	"DIR/DEVICE.crt is refused without --force.",
	provision_opts,
	prov_option,
	exec_provision,
	1,
};
