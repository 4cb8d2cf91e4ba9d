/*
 * The PKCS#11 API itself, for what the pkcs11 engine cannot do: find the
 * token a URI names (to tell "no such token" from "no such key") and
 * generate a key pair on it (libp11 0.4.12 generates RSA only).  URIs are
 * parsed and written by p11-kit.  The module is opened with dlopen(3), so
 * it is the very instance the engine loads; it is finalized only if this
 * file initialized it, never under the engine's sessions.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "token.h"

#define KEY_ID_BYTES	16

struct p11 {
	void			*dl;
	CK_FUNCTION_LIST_PTR	 f;
	int			 owned;		/* we initialized: finalize */
};

static P11KitUri *
uri_parse(const char *s)
{
	P11KitUri *uri;
	int rc;

	if ((uri = p11_kit_uri_new()) == NULL) {
		ca_seterr("out of memory");
		return NULL;
	}
	if ((rc = p11_kit_uri_parse(s, P11_KIT_URI_FOR_ANY, uri)) !=
	    P11_KIT_URI_OK) {
		ca_seterr("not a PKCS#11 URI (RFC 7512): %s",
		    p11_kit_uri_message(rc));
		p11_kit_uri_free(uri);
		return NULL;
	}
	return uri;
}

/* The PIN is the passphrase file's: never in a URI that is kept. */
static int
uri_fit_for_key(P11KitUri *uri)
{
	CK_ATTRIBUTE_PTR label = p11_kit_uri_get_attribute(uri, CKA_LABEL);
	CK_ATTRIBUTE_PTR class = p11_kit_uri_get_attribute(uri, CKA_CLASS);

	if (p11_kit_uri_get_pin_value(uri) != NULL ||
	    p11_kit_uri_get_pin_source(uri) != NULL)
		ca_seterr("a CA key URI carries no PIN (pin-value, "
		    "pin-source): the PIN comes from the passphrase file");
	else if (label == NULL || label->ulValueLen == 0)
		ca_seterr("a CA key URI names its object (object=LABEL)");
	else if (class != NULL && (class->ulValueLen != sizeof(CK_ULONG) ||
	    *(CK_ULONG *)class->pValue != CKO_PRIVATE_KEY))
		ca_seterr("a CA key URI names a private key (type=private)");
	else
		return 0;
	return -1;
}

int
ca_token_uri_check(const char *s)
{
	P11KitUri *uri;
	int rc;

	if ((uri = uri_parse(s)) == NULL)
		return -1;
	rc = uri_fit_for_key(uri);
	p11_kit_uri_free(uri);
	return rc;
}

static int
p11_open(struct p11 *p, const char *module)
{
	CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
	CK_C_GetFunctionList get;
	CK_RV rv;

	memset(p, 0, sizeof(*p));
	if (access(module, R_OK) == -1) {
		ca_seterr("PKCS#11 module %s not found", module);
		return -1;
	}
	if ((p->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		ca_seterr("cannot load the PKCS#11 module %s", module);
		return -1;
	}
	get = (CK_C_GetFunctionList)dlsym(p->dl, "C_GetFunctionList");
	if (get == NULL || get(&p->f) != CKR_OK || p->f == NULL) {
		ca_seterr("%s is not a PKCS#11 module", module);
		dlclose(p->dl);
		return -1;
	}
	rv = p->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		ca_seterr("the PKCS#11 module %s does not start (0x%lx)",
		    module, (unsigned long)rv);
		dlclose(p->dl);
		return -1;
	}
	p->owned = rv == CKR_OK;
	return 0;
}

static void
p11_close(struct p11 *p)
{
	if (p->owned)
		p->f->C_Finalize(NULL);
	dlclose(p->dl);
}

/* The one slot whose token the URI matches. */
static int
slot_of(struct p11 *p, P11KitUri *uri, CK_SLOT_ID *slot)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64;
	CK_TOKEN_INFO info;
	int found = 0;

	if (p->f->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK)
		n = 0;
	for (CK_ULONG i = 0; i < n; i++) {
		if (p->f->C_GetTokenInfo(ids[i], &info) != CKR_OK ||
		    !(info.flags & CKF_TOKEN_INITIALIZED) ||
		    !p11_kit_uri_match_token_info(uri, &info))
			continue;
		*slot = ids[i];
		found++;
	}
	if (found == 1)
		return 0;
	ca_seterr(found ? "more than one token matches the URI: name it "
	    "by serial too" : "no such token: none of the module's tokens "
	    "matches the URI");
	return -1;
}

int
ca_token_find(const char *module, const char *s)
{
	P11KitUri *uri;
	struct p11 p;
	CK_SLOT_ID slot;
	int rc = -1;

	if ((uri = uri_parse(s)) == NULL)
		return -1;
	if (p11_open(&p, module) == 0) {
		rc = slot_of(&p, uri, &slot);
		p11_close(&p);
	}
	p11_kit_uri_free(uri);
	return rc;
}

/* A logged-in read-write session; *ours says whether to log out. */
static int
session_open(struct p11 *p, CK_SLOT_ID slot, const char *pin, size_t pinlen,
    CK_SESSION_HANDLE *h, int *ours)
{
	CK_RV rv;

	if (p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, h) != CKR_OK) {
		ca_seterr("cannot open a session on the token");
		return -1;
	}
	rv = p->f->C_Login(*h, CKU_USER, (CK_UTF8CHAR_PTR)pin, pinlen);
	*ours = rv == CKR_OK;
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return 0;
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
		ca_seterr("wrong PIN for the token");
	else if (rv == CKR_PIN_LOCKED)
		ca_seterr("the token's PIN is locked");
	else
		ca_seterr("cannot log in to the token (0x%lx)",
		    (unsigned long)rv);
	p->f->C_CloseSession(*h);
	return -1;
}

static void
session_close(struct p11 *p, CK_SESSION_HANDLE h, int ours)
{
	if (ours)
		p->f->C_Logout(h);
	p->f->C_CloseSession(h);
}

/* Any object at all under that label: a new key never shadows one. */
static int
label_taken(struct p11 *p, CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR label)
{
	CK_OBJECT_HANDLE obj;
	CK_ULONG n = 0;

	if (p->f->C_FindObjectsInit(h, label, 1) != CKR_OK)
		return -1;
	p->f->C_FindObjects(h, &obj, 1, &n);
	p->f->C_FindObjectsFinal(h);
	return n > 0;
}

static const CK_BYTE oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const CK_BYTE rsa_e[] = { 0x01, 0x00, 0x01 };
static CK_ULONG rsa_bits = 3072;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* The mechanism and the public template's attributes of a key type. */
static int
key_params(enum ca_key_type type, CK_MECHANISM *m, CK_ATTRIBUTE *a,
    CK_ULONG *n)
{
	switch (type) {
	case CA_KEY_EC_P256:
	case CA_KEY_EC_P384:
		m->mechanism = CKM_EC_KEY_PAIR_GEN;
		a[0].type = CKA_EC_PARAMS;
		a[0].pValue = (void *)(type == CA_KEY_EC_P256 ? oid_p256 :
		    oid_p384);
		a[0].ulValueLen = type == CA_KEY_EC_P256 ? sizeof(oid_p256) :
		    sizeof(oid_p384);
		*n = 1;
		return 0;
	case CA_KEY_RSA_3072:
		m->mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		a[0] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &rsa_bits,
		    sizeof(rsa_bits) };
		a[1] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, (void *)rsa_e,
		    sizeof(rsa_e) };
		*n = 2;
		return 0;
	default:
		ca_seterr("%s keys are not made on a token here (the pkcs11 "
		    "engine of Debian 12 signs with EC and RSA keys only)",
		    ca_key_type_name(type));
		return -1;
	}
}

static int
generate(struct p11 *p, CK_SESSION_HANDLE h, enum ca_key_type type,
    CK_ATTRIBUTE *label, CK_ATTRIBUTE *id)
{
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_ATTRIBUTE pub[6] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		*label, *id,
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		*label, *id,
	};
	CK_OBJECT_HANDLE hpub, hpriv;
	CK_ULONG n;
	CK_RV rv;

	if (key_params(type, &mech, pub + 4, &n) == -1)
		return -1;
	rv = p->f->C_GenerateKeyPair(h, &mech, pub, 4 + n, priv,
	    sizeof(priv) / sizeof(*priv), &hpub, &hpriv);
	if (rv != CKR_OK) {
		ca_seterr("the token did not generate the %s key (0x%lx)",
		    ca_key_type_name(type), (unsigned long)rv);
		return -1;
	}
	return 0;
}

/* The URI of what was made: the token as given, label, id, private. */
static char *
key_uri(P11KitUri *uri, CK_ATTRIBUTE *id)
{
	CK_OBJECT_CLASS class = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE type = { CKA_CLASS, &class, sizeof(class) };
	char *s = NULL;

	/* A given id is the URI's own: setting it again would free it. */
	if ((p11_kit_uri_get_attribute(uri, CKA_ID) == NULL &&
	    p11_kit_uri_set_attribute(uri, id) != P11_KIT_URI_OK) ||
	    p11_kit_uri_set_attribute(uri, &type) != P11_KIT_URI_OK ||
	    p11_kit_uri_format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &s) !=
	    P11_KIT_URI_OK) {
		ca_seterr("cannot write the key's URI");
		return NULL;
	}
	return s;
}

/* The id the URI gives, else a random one (the engine finds keys by it). */
static int
key_id(P11KitUri *uri, CK_BYTE *buf, CK_ATTRIBUTE *id)
{
	CK_ATTRIBUTE_PTR given = p11_kit_uri_get_attribute(uri, CKA_ID);

	if (given != NULL && given->ulValueLen > 0) {
		*id = *given;
		return 0;
	}
	if (RAND_bytes(buf, KEY_ID_BYTES) != 1) {
		ca_seterr("no randomness for the key's id");
		return -1;
	}
	*id = (CK_ATTRIBUTE){ CKA_ID, buf, KEY_ID_BYTES };
	return 0;
}

static char *
generate_on(struct p11 *p, P11KitUri *uri, enum ca_key_type type,
    const char *pin, size_t pinlen)
{
	CK_ATTRIBUTE label = *p11_kit_uri_get_attribute(uri, CKA_LABEL), id;
	CK_BYTE idbuf[KEY_ID_BYTES];
	CK_SESSION_HANDLE h;
	CK_SLOT_ID slot;
	char *s = NULL;
	int ours, taken;

	if (key_id(uri, idbuf, &id) == -1 || slot_of(p, uri, &slot) == -1 ||
	    session_open(p, slot, pin, pinlen, &h, &ours) == -1)
		return NULL;
	if ((taken = label_taken(p, h, &label)) != 0)
		ca_seterr(taken == -1 ? "cannot search the token" :
		    "the token already holds an object labelled %.*s",
		    (int)label.ulValueLen, (char *)label.pValue);
	else if (generate(p, h, type, &label, &id) == 0)
		s = key_uri(uri, &id);
	session_close(p, h, ours);
	return s;
}

char *
ca_token_generate(const char *module, const char *s, enum ca_key_type type,
    const char *pin, size_t pinlen)
{
	P11KitUri *uri;
	struct p11 p;
	char *made = NULL;

	if ((uri = uri_parse(s)) == NULL)
		return NULL;
	if (uri_fit_for_key(uri) == 0 && p11_open(&p, module) == 0) {
		made = generate_on(&p, uri, type, pin, pinlen);
		p11_close(&p);
	}
	p11_kit_uri_free(uri);
	return made;
}
