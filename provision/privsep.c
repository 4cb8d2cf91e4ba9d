/*
 * iotad's start as a privilege-separated daemon: the ports bound, the
 * signer started (it alone reads the CA keys), then the front end gives
 * up root.  Each step says in the log what it did.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iotad.h"
#include "link.h"
#include "privdrop.h"

#ifndef IOTA_SIGNER_PATH
#define IOTA_SIGNER_PATH	"/usr/local/libexec/iota/iota-signer"
#endif
#define SIGNER_NAME		"iota-signer"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/*
 * The signer of the configuration, else the one beside iotad's own
 * executable (a build tree, or an install that keeps them together),
 * else the installed one.
 */
static const char *
signer_program(const struct iotad_conf *c, char *buf, size_t len)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (c->signer.program != NULL)
		return c->signer.program;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return IOTA_SIGNER_PATH;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	if ((size_t)snprintf(buf, len, "%.*s/%s", (int)(len - sizeof(SIGNER_NAME)
	    - 1), self, SIGNER_NAME) >= len)
		return IOTA_SIGNER_PATH;
	return access(buf, X_OK) == 0 ? buf : IOTA_SIGNER_PATH;
}

int
iotad_listen(struct iotad *d, char *err, size_t errlen)
{
	d->listen_fd = http_listen(d->conf.listen.address, d->conf.listen.port,
	    err, errlen);
	if (d->listen_fd == -1)
		return -1;
	d->plain_fd = 0;
	if (d->conf.revocation.port >= 0 && (d->plain_fd = http_listen(
	    d->conf.revocation.address, d->conf.revocation.port, err,
	    errlen)) == -1)
		return -1;
	d->metrics_fd = 0;
	if (d->conf.metrics.listen == CONF_METRICS_HTTP && (d->metrics_fd =
	    http_listen(d->conf.metrics.address, d->conf.metrics.port, err,
	    errlen)) == -1)
		return -1;
	return 0;
}

int
iotad_signer_start(struct iotad *d, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct signer_link_config c = {
		.program = signer_program(&d->conf, path, sizeof(path)),
		.ca_dir = d->conf.ca.dir,
		.passphrase_file = d->conf.ca.passphrase_file,
		.pkcs11_module = d->conf.ca.pkcs11_module,
		.user = d->conf.signer.user != NULL ? d->conf.signer.user :
		    d->conf.process.user,
		.channels = d->conf.signer.channels,
		.seccomp = d->conf.signer.seccomp == CONF_ON,
		.log_fd = log_fd(),
		.log_level = level_names[d->conf.log.level],
	};

	if ((d->signer_link = signer_link_start(&c, err, errlen)) == NULL)
		return -1;
	return 0;
}

int
iotad_drop_privileges(struct iotad *d, char *err, size_t errlen)
{
	char who[128];

	if (privdrop(d->conf.process.user, err, errlen) == -1)
		return -1;
	privdrop_describe(who, sizeof(who));
	if (geteuid() == 0)
		log_warn("iotad runs as root: set process.user to run it as a "
		    "user of its own");
	log_info("front end: pid %d runs as %s, no-new-privileges; the CA "
	    "key is in the signer, pid %d", (int)getpid(), who,
	    (int)signer_link_pid(d->signer_link));
	return 0;
}
