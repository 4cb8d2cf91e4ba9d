/*
 * EST's HTTP Basic credentials (RFC 7617, RFC 7030 3.2.3), parsed apart
 * from the gate that proves them, so that the parse can be fuzzed alone.
 */
#ifndef IOTA_BASIC_H
#define IOTA_BASIC_H

#define BASIC_MAX	512	/* bytes of "device:secret" */

enum basic_status {
	BASIC_OK,
	BASIC_MISSING,		/* no "Basic " header, bad base64, a NUL */
	BASIC_BAD_USER,		/* no ':', or the user is no device name */
};

/*
 * Decodes an Authorization header into buf: on BASIC_OK, *user is the
 * device's name (at most REG_NAME_MAX bytes, ca_name_is_safe) and
 * *secret the rest, both into buf.  The caller wipes buf.
 */
enum basic_status basic_parse(const char *, unsigned char[BASIC_MAX + 1],
		    const char **, const char **);

#endif
