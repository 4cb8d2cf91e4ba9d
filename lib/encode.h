/*
 * Text encodings of bytes: hex, base64url (RFC 4648 5, unpadded: tokens,
 * secrets and passwords) and PEM armour (RFC 7468) made straight from DER.
 */
#ifndef IOTA_ENCODE_H
#define IOTA_ENCODE_H

#include <stddef.h>

/* The value of one hex digit, either case; -1 for anything else. */
int	 hex_digit(int);
/* 2 * len lower-case digits and a NUL into out. */
void	 hex_encode(const unsigned char *, size_t, char *);
/* Exactly 2 * len hex digits into len bytes; -1 on a non-digit. */
int	 hex_decode(const char *, unsigned char *, size_t);

/* Characters of the unpadded base64url form of len bytes. */
#define B64URL_LEN(len)	(((len) * 4 + 2) / 3)
int	 b64url_char(int);
/* B64URL_LEN(len) characters and a NUL into out. */
void	 b64url_encode(const unsigned char *, size_t, char *);
/* len random bytes, encoded; -1 if the generator fails.  Nothing stays. */
int	 b64url_random(size_t, char *);

/*
 * Standard base64 (RFC 4648 4), padding optional, into at most cap bytes:
 * 0 with *outlen, or -1 for anything else than base64 (CR and LF allowed
 * when the last argument is set).
 */
int	 b64_decode(const char *, size_t, unsigned char *, size_t, size_t *,
	    int);

/* Base64 of len bytes in lines of 64 ("\n" after each); free(). */
char	*b64_lines(const unsigned char *, size_t, size_t *);

/*
 * "-----BEGIN label-----", the base64 of der in lines of 64, "-----END
 * label-----", each line ending in "\n"; NUL-terminated, free() it.  NULL
 * when out of memory.
 */
char	*pem_armour(const char *, const unsigned char *, size_t, size_t *);

#endif
