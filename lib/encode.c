/* Hex, base64url and PEM armour, written once for every part of iota. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "encode.h"

#define PEM_LINE	64	/* characters, RFC 7468 2 */
#define PEM_LINE_BYTES	48	/* the bytes they encode */

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int
hex_decode(const char *hex, unsigned char *out, size_t len)
{
	int hi, lo;

	for (size_t i = 0; i < len; i++) {
		if ((hi = hex_digit((unsigned char)hex[2 * i])) == -1 ||
		    (lo = hex_digit((unsigned char)hex[2 * i + 1])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
b64url_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

void
b64url_encode(const unsigned char *in, size_t len, char *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, n = 0;
	unsigned long v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
		out[n++] = alphabet[v >> 6 & 63];
		out[n++] = alphabet[v & 63];
	}
	if (i < len) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)in[i + 1] << 8;
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
		if (i + 1 < len)
			out[n++] = alphabet[v >> 6 & 63];
	}
	out[n] = '\0';
}

int
b64url_random(size_t len, char *out)
{
	unsigned char raw[256];

	if (len > sizeof(raw) || RAND_bytes(raw, (int)len) != 1)
		return -1;
	b64url_encode(raw, len, out);
	OPENSSL_cleanse(raw, len);
	return 0;
}

char *
pem_armour(const char *label, const unsigned char *der, size_t len,
    size_t *outlen)
{
	size_t lines = (len + PEM_LINE_BYTES - 1) / PEM_LINE_BYTES;
	size_t cap = 2 * strlen(label) + 32 + lines * (PEM_LINE + 1) + 1;
	size_t n, chunk;
	char *pem;

	if ((pem = malloc(cap)) == NULL)
		return NULL;
	n = (size_t)snprintf(pem, cap, "-----BEGIN %s-----\n", label);
	for (size_t off = 0; off < len; off += chunk) {
		chunk = len - off < PEM_LINE_BYTES ? len - off : PEM_LINE_BYTES;
		n += (size_t)EVP_EncodeBlock((unsigned char *)pem + n, der + off,
		    (int)chunk);
		pem[n++] = '\n';
	}
	n += (size_t)snprintf(pem + n, cap - n, "-----END %s-----\n", label);
	if (outlen != NULL)
		*outlen = n;
	return pem;
}

/* The value of a base64 digit (RFC 4648 4), -1 for anything else. */
static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * Strict: only the alphabet, '=' only as the last one or two characters
 * of a final quantum of four, no bits left over; line breaks (CR, LF) are
 * skipped only when `lines` is set (EST bodies come in lines).
 */
int
b64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
    size_t *outlen, int lines)
{
	unsigned int acc = 0;
	size_t n = 0, digits = 0, pad = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i], v;

		if (lines && (c == '\r' || c == '\n'))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value(c)) < 0)
			return -1;
		acc = acc << 6 | (unsigned int)v;
		if (++digits % 4 == 0) {
			if (n + 3 > cap)
				return -1;
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	switch (digits % 4) {
	case 0:
		if (pad != 0)
			return -1;
		break;
	case 2:
		if ((pad != 0 && pad != 2) || (acc & 0xf) != 0 || n + 1 > cap)
			return -1;
		out[n++] = (unsigned char)(acc >> 4);
		break;
	case 3:
		if (pad > 1 || (acc & 0x3) != 0 || n + 2 > cap)
			return -1;
		out[n++] = (unsigned char)(acc >> 10);
		out[n++] = (unsigned char)(acc >> 2);
		break;
	default:
		return -1;
	}
	*outlen = n;
	return 0;
}

/* Base64 in lines of 64 characters, each ending "\n" (RFC 2045 allows 76). */
char *
b64_lines(const unsigned char *in, size_t len, size_t *outlen)
{
	size_t lines = (len + 47) / 48, cap = lines * 66 + 1, n = 0;
	char *out;

	if ((out = malloc(cap)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 48) {
		size_t chunk = len - i < 48 ? len - i : 48;

		n += (size_t)EVP_EncodeBlock((unsigned char *)out + n, in + i,
		    (int)chunk);
		out[n++] = '\n';
	}
	out[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return out;
}
