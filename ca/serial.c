/* Certificate serial numbers: random, positive, at least 64 bits. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/rand.h>

#include "ca.h"

/*
 * 16 random bytes with the top bit cleared: positive, 127 bits of entropy,
 * and a non-zero first octet so the DER length never shrinks.
 */
int
ca_serial_random(ASN1_INTEGER *serial)
{
	unsigned char buf[CA_SERIAL_BYTES];

	if (RAND_bytes(buf, sizeof(buf)) != 1) {
		ca_seterr("random number generator failed");
		return -1;
	}
	buf[0] &= 0x7f;
	buf[0] |= 0x40;
	if (ASN1_STRING_set(serial, buf, sizeof(buf)) != 1) {
		ca_seterr("out of memory");
		return -1;
	}
	serial->type = V_ASN1_INTEGER;
	return 0;
}

char *
ca_serial_hex(const ASN1_INTEGER *serial)
{
	BIGNUM *bn;
	char *hex, *copy;

	if ((bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL)
		return NULL;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	if (hex == NULL)
		return NULL;
	copy = strdup(hex);
	OPENSSL_free(hex);
	return copy;
}

/* Accepts "0A1B", "0a:1b" and "0x0a1b", as people copy them around. */
ASN1_INTEGER *
ca_serial_parse(const char *text)
{
	char clean[2 * 64 + 1];
	size_t n = 0;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial;

	if (strncmp(text, "0x", 2) == 0 || strncmp(text, "0X", 2) == 0)
		text += 2;
	for (; *text != '\0'; text++) {
		if (*text == ':')
			continue;
		if (!isxdigit((unsigned char)*text) || n + 1 >= sizeof(clean))
			return NULL;
		clean[n++] = *text;
	}
	clean[n] = '\0';
	if (n == 0 || BN_hex2bn(&bn, clean) == 0)
		return NULL;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return serial;
}
