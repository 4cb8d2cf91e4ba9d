/* Key pairs: the types we create and accept, and their files. */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "ca.h"

/* scrypt as `openssl pkcs8 -scrypt` does it: 16 MiB, within OpenSSL's cap. */
#define SCRYPT_N	16384
#define SCRYPT_R	8
#define SCRYPT_P	1

#define RSA_MIN_BITS	2048
#define RSA_MAX_BITS	8192

static const struct {
	enum ca_key_type type;
	const char	*name;
	const char	*algorithm;
	const char	*group;		/* EC curve */
	unsigned int	 bits;		/* RSA */
} key_types[] = {
	{ CA_KEY_EC_P256, "ec-p256", "EC", "P-256", 0 },
	{ CA_KEY_EC_P384, "ec-p384", "EC", "P-384", 0 },
	{ CA_KEY_ED25519, "ed25519", "ED25519", NULL, 0 },
	{ CA_KEY_RSA_3072, "rsa-3072", "RSA", NULL, 3072 },
};
#define NKEY_TYPES	(sizeof(key_types) / sizeof(key_types[0]))

int
ca_key_type_parse(const char *name, enum ca_key_type *type)
{
	for (size_t i = 0; i < NKEY_TYPES; i++) {
		if (strcmp(key_types[i].name, name) == 0) {
			*type = key_types[i].type;
			return 0;
		}
	}
	ca_seterr("unknown key type \"%s\" (ec-p256, ec-p384, ed25519, "
	    "rsa-3072)", name);
	return -1;
}

const char *
ca_key_type_name(enum ca_key_type type)
{
	return key_types[type].name;
}

EVP_PKEY *
ca_key_generate(enum ca_key_type type)
{
	EVP_PKEY *key = NULL;

	if (key_types[type].group != NULL)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", key_types[type].group);
	else if (key_types[type].bits != 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)key_types[type].bits);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, key_types[type].algorithm);
	if (key == NULL)
		ca_seterr("cannot generate a %s key", key_types[type].name);
	return key;
}

static int
bio_to_new_file(const char *path, BIO *bio)
{
	char *data;
	long len;

	len = BIO_get_mem_data(bio, &data);
	return ca_file_write_new(path, data, (size_t)len, 0600);
}

int
ca_key_write_encrypted(const char *path, EVP_PKEY *key, const char *pass,
    size_t passlen)
{
	PKCS8_PRIV_KEY_INFO *p8inf = NULL;
	X509_ALGOR *pbe = NULL;
	X509_SIG *p8 = NULL;
	BIO *bio = NULL;
	int rc = -1;

	if ((p8inf = EVP_PKEY2PKCS8(key)) == NULL ||
	    (pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL,
	    SCRYPT_N, SCRYPT_R, SCRYPT_P)) == NULL ||
	    (p8 = PKCS8_set0_pbe(pass, (int)passlen, p8inf, pbe)) == NULL) {
		ca_seterr("cannot encrypt the private key");
		goto out;
	}
	pbe = NULL;	/* owned by p8 now */
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PKCS8(bio, p8) != 1) {
		ca_seterr("cannot encode the private key");
		goto out;
	}
	rc = bio_to_new_file(path, bio);
out:
	BIO_free(bio);
	X509_SIG_free(p8);
	X509_ALGOR_free(pbe);
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	return rc;
}

int
ca_key_write_plain(const char *path, EVP_PKEY *key)
{
	BIO *bio;
	int rc = -1;

	/* secmem: the plaintext key is wiped when the BIO goes. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
		ca_seterr("cannot encode the private key");
	else
		rc = bio_to_new_file(path, bio);
	BIO_free(bio);
	return rc;
}

struct passphrase {
	const char	*pass;
	size_t		 len;
};

static int
passphrase_cb(char *buf, int size, int rwflag, void *arg)
{
	const struct passphrase *pp = arg;

	if (pp == NULL || pp->pass == NULL || pp->len > (size_t)size)
		return -1;
	memcpy(buf, pp->pass, pp->len);
	return (int)pp->len;
}

EVP_PKEY *
ca_key_read(const char *path, const char *pass, size_t passlen)
{
	struct passphrase pp = { pass, passlen };
	unsigned char *data;
	size_t len;
	BIO *bio;
	EVP_PKEY *key;

	if ((data = ca_file_read(path, 64 * 1024, &len)) == NULL)
		return NULL;
	bio = BIO_new_mem_buf(data, (int)len);
	key = bio == NULL ? NULL :
	    PEM_read_bio_PrivateKey(bio, NULL, passphrase_cb, &pp);
	BIO_free(bio);
	if (key == NULL) {
		if (strstr((char *)data, "-----BEGIN ENCRYPTED PRIVATE KEY") != NULL)
			ca_seterr("cannot decrypt %s: wrong passphrase?", path);
		else
			ca_seterr("%s: not a PEM private key", path);
	}
	OPENSSL_clear_free(data, len);
	return key;
}

const char *
ca_key_describe(const EVP_PKEY *key)
{
	static _Thread_local char buf[64];
	char group[48];

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(key,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1)
			return "EC (unknown curve)";
		if (strcmp(group, "prime256v1") == 0)
			return "EC P-256";
		if (strcmp(group, "secp384r1") == 0)
			return "EC P-384";
		snprintf(buf, sizeof(buf), "EC %s", group);
		return buf;
	case EVP_PKEY_ED25519:
		return "Ed25519";
	case EVP_PKEY_RSA:
		snprintf(buf, sizeof(buf), "RSA %d", EVP_PKEY_get_bits(key));
		return buf;
	default:
		return OBJ_nid2sn(EVP_PKEY_get_base_id(key));
	}
}

/* The keys a certificate of ours may carry. */
int
ca_pubkey_check(const EVP_PKEY *key)
{
	const char *what = ca_key_describe(key);
	int bits;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		if (strcmp(what, "EC P-256") == 0 ||
		    strcmp(what, "EC P-384") == 0)
			return 0;
		break;
	case EVP_PKEY_ED25519:
		return 0;
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(key);
		if (bits < RSA_MIN_BITS) {
			ca_seterr("RSA key of %d bits is too small (minimum %d)",
			    bits, RSA_MIN_BITS);
			return -1;
		}
		if (bits > RSA_MAX_BITS) {
			ca_seterr("RSA key of %d bits is too large (maximum %d)",
			    bits, RSA_MAX_BITS);
			return -1;
		}
		return 0;
	}
	ca_seterr("key type %s not allowed (EC P-256, EC P-384, Ed25519, "
	    "RSA 2048-8192)", what != NULL ? what : "unknown");
	return -1;
}
