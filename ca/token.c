/*
 * The pkcs11 engine: the one place that loads it.  Debian 12 has no
 * PKCS#11 provider for OpenSSL 3.0, so keys on a token come through the
 * engine of libengine-pkcs11-openssl (libp11 0.4.12), whose EVP_PKEYs
 * sign through the token under the usual EVP calls.  The engine API is
 * deprecated in OpenSSL 3.0; this file alone uses it.
 *
 * The engine is loaded on first use in the process that uses it (a
 * freshly exec'd signer needs nothing set up beforehand), bound to one
 * module, and kept until exit: the keys it hands out live on it.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/ui.h>

#include "token.h"

#ifndef P11KIT_PROXY
#define P11KIT_PROXY	"/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so"
#endif

/* CKR_PIN_INCORRECT and CKR_PIN_LOCKED, as libp11 reports them. */
#define LIBP11_CKR_LIB		"PKCS#11 module"
#define CKR_PIN_INCORRECT_	0xa0
#define CKR_PIN_LOCKED_		0xa4

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static char		*module_set;	/* NULL: the default */
static ENGINE		*engine;	/* once loaded, for good */
static char		*engine_module;	/* the module it is bound to */

int
ca_token_is_uri(const char *s)
{
	return strncmp(s, CA_TOKEN_URI_PREFIX,
	    sizeof(CA_TOKEN_URI_PREFIX) - 1) == 0;
}

static const char *
module_default(void)
{
	return access(CA_TOKEN_SOFTHSM, R_OK) == 0 ? CA_TOKEN_SOFTHSM :
	    P11KIT_PROXY;
}

int
ca_token_set_module(const char *path)
{
	char *copy = NULL;
	int rc = 0;

	if (path != NULL && (copy = strdup(path)) == NULL) {
		ca_seterr("out of memory");
		return -1;
	}
	pthread_mutex_lock(&lock);
	if (engine != NULL && strcmp(engine_module, path != NULL ? path :
	    module_default()) != 0) {
		ca_seterr("the pkcs11 engine is bound to %s already: a "
		    "change of module needs a restart", engine_module);
		free(copy);
		rc = -1;
	} else {
		free(module_set);
		module_set = copy;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

const char *
ca_token_module(void)
{
	return module_set != NULL ? module_set : module_default();
}

/* Quiet: libp11 writes its errors on stderr, not all of them harmless. */
static ENGINE *
engine_load(const char *module)
{
	ENGINE *e;

	if (access(module, R_OK) == -1) {
		ca_seterr("PKCS#11 module %s not found", module);
		return NULL;
	}
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		ca_seterr("the OpenSSL pkcs11 engine is not installed "
		    "(Debian: libengine-pkcs11-openssl)");
		return NULL;
	}
	if (!ENGINE_ctrl_cmd_string(e, "QUIET", NULL, 0) ||
	    !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0) ||
	    !ENGINE_init(e)) {
		ca_seterr("the pkcs11 engine does not start with %s", module);
		ENGINE_free(e);
		return NULL;
	}
	ENGINE_free(e);		/* ENGINE_init's reference stays */
	return e;
}

/* Under the lock. */
static ENGINE *
engine_get(void)
{
	const char *module = ca_token_module();

	if (engine != NULL)
		return engine;
	if ((engine_module = strdup(module)) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	if ((engine = engine_load(module)) == NULL) {
		free(engine_module);
		engine_module = NULL;
	}
	return engine;
}

/* What the error queue says of a failed login, or 0. */
static const char *
login_failure(void)
{
	const char *lib;
	unsigned long e;

	while ((e = ERR_get_error()) != 0) {
		if ((lib = ERR_lib_error_string(e)) == NULL ||
		    strcmp(lib, LIBP11_CKR_LIB) != 0)
			continue;
		if (ERR_GET_REASON(e) == CKR_PIN_INCORRECT_)
			return "wrong PIN for the token";
		if (ERR_GET_REASON(e) == CKR_PIN_LOCKED_)
			return "the token's PIN is locked";
	}
	return NULL;
}

/* The engine says "not found" for both: the token search tells which. */
static void
say_why_not(const char *uri)
{
	const char *login = login_failure();
	char why[256];

	if (login != NULL)
		ca_seterr("%s (%s)", login, uri);
	else if (ca_token_find(engine_module, uri) == -1) {
		snprintf(why, sizeof(why), "%s", ca_errstr());
		ca_seterr("%s: %s (module %s)", uri, why, engine_module);
	} else
		ca_seterr("no such key on the token: nothing matches %s", uri);
}

/*
 * The PIN is handed over for this load only; UI_null() makes sure the
 * engine never falls back to asking at a terminal.
 */
static EVP_PKEY *
load_with_pin(ENGINE *e, const char *uri, const char *pin, size_t pinlen)
{
	char buf[CA_PASSPHRASE_MAX + 1];
	EVP_PKEY *key = NULL;

	if (pinlen == 0 || pinlen >= sizeof(buf)) {
		ca_seterr("no PIN for %s: it is read from the passphrase "
		    "file", uri);
		return NULL;
	}
	memcpy(buf, pin, pinlen);
	buf[pinlen] = '\0';
	if (ENGINE_ctrl_cmd_string(e, "PIN", buf, 0))
		key = ENGINE_load_private_key(e, uri,
		    (UI_METHOD *)UI_null(), NULL);	/* never written to */
	OPENSSL_cleanse(buf, sizeof(buf));
	if (key == NULL)
		say_why_not(uri);
	return key;
}

EVP_PKEY *
ca_token_key_load(const char *uri, const char *pin, size_t pinlen)
{
	EVP_PKEY *key = NULL;
	ENGINE *e;

	if (ca_token_uri_check(uri) == -1)
		return NULL;
	pthread_mutex_lock(&lock);
	if ((e = engine_get()) != NULL)
		key = load_with_pin(e, uri, pin, pinlen);
	pthread_mutex_unlock(&lock);
	return key;
}

char *
ca_token_uri_read(const char *path)
{
	unsigned char *data;
	size_t size, len = 0;
	char *uri, why[256] = "not a pkcs11: URI";

	if ((data = ca_file_read(path, CA_TOKEN_URI_MAX, &size)) == NULL)
		return NULL;
	while (len < size && data[len] != '\n' && data[len] != '\r')
		len++;
	uri = strndup((char *)data, len);
	free(data);
	if (uri == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	if (ca_token_is_uri(uri) && ca_token_uri_check(uri) == 0)
		return uri;
	if (ca_token_is_uri(uri))
		snprintf(why, sizeof(why), "%s", ca_errstr());
	ca_seterr("%s: %s", path, why);
	free(uri);
	return NULL;
}
