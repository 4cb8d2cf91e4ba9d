/*
 * What iotad signs with (the ledger of intermediates, the chain it hands
 * out, the revocation URLs it names), loaded at start and again on SIGHUP,
 * and the reload itself: everything new is loaded and checked first; only
 * then, under the write side of the lock every request holds for reading,
 * is it swapped in, so no request in flight sees half of each.  A reload
 * that fails keeps what runs and says why in one line.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadir.h"
#include "file.h"
#include "token.h"
#include "iotad.h"
#include "link.h"
#include "ledger.h"

#define URL_FMT_CRL	"%s/crl/%s.crl"

void
iotad_ca_free(struct iotad_ca *ca)
{
	ledger_free(ca->ledger);
	free(ca->chain_pem);
	free(ca->crl_url);
	free(ca->ocsp_url);
	memset(ca, 0, sizeof(*ca));
}

static char *
url_of(const char *base, const char *path, const char *serial, char *err,
    size_t errlen)
{
	char buf[CA_URL_MAX + 1];
	char *url;

	if ((size_t)snprintf(buf, sizeof(buf), path, base, serial) >=
	    sizeof(buf) || ca_http_url_check(buf) == -1) {
		snprintf(err, errlen, "revocation.url: %s", ca_errstr());
		return NULL;
	}
	if ((url = strdup(buf)) == NULL)
		snprintf(err, errlen, "out of memory");
	return url;
}

int
iotad_ca_urls(struct iotad_ca *ca, const char *base, char *err, size_t errlen)
{
	if (base == NULL)
		return 0;
	if ((ca->crl_url = url_of(base, URL_FMT_CRL,
	    ledger_current_serial(ca->ledger), err, errlen)) == NULL ||
	    (ca->ocsp_url = url_of(base, "%s/ocsp%s", "", err, errlen)) == NULL)
		return -1;
	return 0;
}

/* A key file, or the file naming a key on a token (its URI). */
static int
key_name(const char *name)
{
	size_t len = strlen(name);

	return (len > 4 && strcmp(name + len - 4, ".key") == 0) ||
	    (len > 8 && strcmp(name + len - 8, ".key.uri") == 0);
}

/*
 * The files of DIR named *.key or *.key.uri: with `warn` NULL, -1 and `err` for the
 * first world-writable one; else one warning per group-writable one.
 */
static int
audit_keys(const char *dir, void (*warn)(const char *, ...), char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dp;
	int rc = 0;

	if ((dp = opendir(dir)) == NULL)
		return 0;	/* cadir_open() says what is wrong with it */
	while (rc == 0 && (de = readdir(dp)) != NULL) {
		if (!key_name(de->d_name) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path) || stat(path, &st) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (warn == NULL && (st.st_mode & S_IWOTH)) {
			snprintf(err, errlen, "%s is world-writable: anyone "
			    "could replace the CA's key (chmod 600 it)", path);
			rc = -1;
		} else if (warn != NULL && (st.st_mode & S_IWGRP))
			warn("%s is group-writable (chmod 600 it)", path);
	}
	closedir(dp);
	return rc;
}

int
iotad_ca_audit(const char *dir, void (*warn)(const char *, ...), char *err,
    size_t errlen)
{
	static const char *const certs[] = { CADIR_CHAIN, CADIR_ROOT_CRT,
	    CADIR_INTER_CRT };
	char path[PATH_MAX], archive[PATH_MAX];
	struct stat st;

	if (stat(dir, &st) == -1)
		return 0;	/* cadir_open() says why */
	snprintf(archive, sizeof(archive), "%s/%s", dir, CADIR_ARCHIVE);
	/* The refusals first: then their line is the only one. */
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "ca.dir %s is world-writable: anyone "
		    "could replace the CA (chmod 700 it)", dir);
		return -1;
	}
	if (audit_keys(dir, NULL, err, errlen) == -1 ||
	    audit_keys(archive, NULL, err, errlen) == -1)
		return -1;
	if (st.st_mode & S_IWGRP)
		warn("ca.dir %s is group-writable (chmod 700 it)", dir);
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, certs[i]);
		if (stat(path, &st) == 0 && (st.st_mode & (S_IWOTH | S_IWGRP)))
			warn("%s is %s-writable: anyone in it could change the "
			    "chain devices get (chmod 644 it)", path,
			    st.st_mode & S_IWOTH ? "world" : "group");
	}
	snprintf(path, sizeof(path), "%s/%s", dir, CADIR_ROOT_KEY);
	if (lstat(path, &st) == 0)
		warn("%s is in the CA directory: the root key belongs offline "
		    "(iotad never uses it)", path);
	snprintf(path, sizeof(path), "%s/%s", dir, CADIR_ROOT_KEY_URI);
	if (lstat(path, &st) == 0)
		warn("%s is in the CA directory: keep the root on a token that "
		    "iotad's PIN does not open (iotad never uses it)", path);
	(void)audit_keys(dir, warn, err, errlen);
	(void)audit_keys(archive, warn, err, errlen);
	return 0;
}

/* The keys in this process: `iotad -n` checking the passphrase. */
struct local_keys {
	const char	*pass;
	size_t		 len;
};

static struct ca_signer *
local_signer(const struct cadir *cd, const char *serial, void *arg)
{
	struct local_keys *k = arg;

	return serial == NULL ? cadir_intermediate_signer(cd, k->pass, k->len) :
	    cadir_archived_signer(cd, serial, k->pass, k->len);
}

static struct ledger *
open_local(const struct iotad_conf *conf, char *err, size_t errlen)
{
	struct local_keys lk;
	struct ledger_keys keys = { local_signer, &lk };
	struct ledger *l;
	char *pass;

	/* Keys on a token (ca.dir's *.key.uri) come from this module. */
	if (ca_token_set_module(conf->ca.pkcs11_module) == -1) {
		snprintf(err, errlen, "ca.pkcs11_module: %s", ca_errstr());
		return NULL;
	}
	if ((pass = file_first_line(conf->ca.passphrase_file, 4096, &lk.len,
	    err, errlen)) == NULL)
		return NULL;
	lk.pass = pass;
	l = ledger_open(conf->ca.dir, &keys, conf->revocation.crl_days, err,
	    errlen);
	file_line_free(pass, lk.len);
	return l;
}

int
iotad_ca_load(const struct iotad_conf *conf, const struct ledger_keys *keys,
    const char *base, struct iotad_ca *ca, char *err, size_t errlen)
{
	struct cadir *cd;
	X509 *root = NULL;
	int rc = -1;

	memset(ca, 0, sizeof(*ca));
	if ((cd = cadir_open(conf->ca.dir, 0)) == NULL) {
		snprintf(err, errlen, "ca.dir: %s", ca_errstr());
		return -1;
	}
	ca->ledger = keys != NULL ? ledger_open(conf->ca.dir, keys,
	    conf->revocation.crl_days, err, errlen) : open_local(conf, err,
	    errlen);
	if (ca->ledger == NULL)
		goto out;
	/* The online path issues device certificates and nothing else. */
	ca->signer = ledger_signer(ca->ledger);
	ca_signer_restrict(ca->signer, CA_ALLOW(CA_PROFILE_DEVICE));
	if ((root = cadir_root_cert(cd)) == NULL ||
	    (ca->chain_pem = ledger_chain_pem(ca->ledger, root)) == NULL) {
		snprintf(err, errlen, "the CA chain: %s", ca_errstr());
		goto out;
	}
	rc = iotad_ca_urls(ca, base, err, errlen);
out:
	X509_free(root);
	cadir_close(cd);
	if (rc == -1)
		iotad_ca_free(ca);
	return rc;
}

/* What a reload cannot change without a restart, by name. */
static void
needs_restart(const struct iotad_conf *a, const struct iotad_conf *b)
{
#define DIFFERS_S(f)	(strcmp(a->f ? a->f : "", b->f ? b->f : "") != 0)
#define DIFFERS(f)	(a->f != b->f)
	static const char *names = "listen, tls, ca.pkcs11_module, state, "
	    "limits, broker, revocation.address or .port, log.file, "
	    "audit.file";

	if (DIFFERS_S(listen.address) || DIFFERS(listen.port) ||
	    DIFFERS_S(tls.certificate) || DIFFERS_S(tls.key) ||
	    DIFFERS_S(tls.key_passphrase_file) ||
	    DIFFERS_S(ca.pkcs11_module) || DIFFERS_S(state.dir) ||
	    DIFFERS_S(state.key_file) || DIFFERS(limits.max_body) ||
	    DIFFERS(limits.max_connections) ||
	    DIFFERS(limits.connection_timeout) ||
	    DIFFERS(limits.connections_per_address) ||
	    DIFFERS(limits.header_timeout) || DIFFERS(broker.mode) ||
	    DIFFERS(broker.login) || DIFFERS_S(broker.mqtt_url) ||
	    DIFFERS_S(broker.management_url) ||
	    DIFFERS_S(revocation.address) || DIFFERS(revocation.port) ||
	    DIFFERS_S(log.file) || DIFFERS_S(audit.file))
		log_warn("reload: a change to %s needs a restart; kept as "
		    "it runs", names);
#undef DIFFERS_S
#undef DIFFERS
}

/* The signer was started with these: a new signer reads the same. */
static int
signer_settings_same(const struct iotad_conf *a, const struct iotad_conf *b,
    char *err, size_t errlen)
{
#define SAME_S(f)	(strcmp(a->f ? a->f : "", b->f ? b->f : "") == 0)
	if (SAME_S(ca.dir) && SAME_S(ca.passphrase_file) &&
	    SAME_S(signer.user) && SAME_S(signer.program) &&
	    SAME_S(process.user) && a->signer.channels == b->signer.channels &&
	    a->signer.seccomp == b->signer.seccomp)
		return 0;
#undef SAME_S
	snprintf(err, errlen, "ca.dir, ca.passphrase_file, process.user or "
	    "signer changed: those take a restart");
	return -1;
}

/* Under the write lock: the new CA and the settings a reload applies. */
static void
swap_in(struct iotad *d, struct iotad_ca *ca, const struct iotad_conf *n)
{
	struct iotad_ca old = d->ca;

	d->ca = *ca;
	*ca = old;
	d->conf.provisioning.certificate_days =
	    n->provisioning.certificate_days;
	d->conf.provisioning.secret_overlap = n->provisioning.secret_overlap;
	d->conf.provisioning.renew_grace = n->provisioning.renew_grace;
	d->conf.revocation.crl_days = n->revocation.crl_days;
	d->conf.log.level = n->log.level;
	log_set_level((enum log_level)n->log.level);
}

void
iotad_reload(struct iotad *d)
{
	struct ledger_keys keys;
	struct iotad_conf n;
	struct iotad_ca ca;
	char err[512];

	memset(&n, 0, sizeof(n));
	if (d->signer_link != NULL)
		keys = signer_link_keys(d->signer_link);
	if (conf_load(d->config_path, &n, err, sizeof(err)) == -1 ||
	    conf_check_files(&n, err, sizeof(err)) == -1 ||
	    signer_settings_same(&d->conf, &n, err, sizeof(err)) == -1 ||
	    iotad_ca_audit(n.ca.dir, log_warn_fn, err, sizeof(err)) == -1 ||
	    (d->signer_link != NULL && signer_link_renew(d->signer_link, err,
	    sizeof(err)) == -1) ||
	    iotad_ca_load(&n, d->signer_link != NULL ? &keys : NULL,
	    d->revocation_base, &ca, err, sizeof(err)) == -1) {
		log_error("reload failed, the running configuration stays: %s",
		    err);
		conf_free(&n);
		return;
	}
	needs_restart(&d->conf, &n);
	if (ledger_publish(ca.ledger, d->store, REG_NONE, err, sizeof(err)) ==
	    -1)
		log_warn("reload: publishing revocations: %s", err);
	ledger_schedule_stop(d->schedule);
	pthread_rwlock_wrlock(&d->swap);
	swap_in(d, &ca, &n);
	pthread_rwlock_unlock(&d->swap);
	if ((d->schedule = ledger_schedule_start(d->ca.ledger)) == NULL)
		log_error("reload: cannot restart the CRL schedule");
	log_info("reloaded: signing with intermediate %s, %zu issuer%s served",
	    ledger_current_serial(d->ca.ledger), ledger_count(d->ca.ledger),
	    ledger_count(d->ca.ledger) == 1 ? "" : "s");
	iotad_ca_free(&ca);	/* the old one, nobody reads it now */
	conf_free(&n);
}
