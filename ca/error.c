/* The last error of the calling thread, as one line for a human. */
#include <stdarg.h>
#include <stdio.h>

#include <openssl/err.h>

#include "ca.h"

static _Thread_local char errbuf[512];
static _Thread_local int unavailable;

const char *
ca_errstr(void)
{
	return errbuf[0] != '\0' ? errbuf : "unknown error";
}

/*
 * Records why the engine failed.  OpenSSL's own error queue is drained:
 * its stack of library messages is detail the caller does not show.
 */
void
ca_seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	unavailable = 0;
	ERR_clear_error();
}

/*
 * After ca_seterr(): the failure was the signer's absence, not a refusal
 * (its process died or does not answer).  Callers answer "try later".
 */
void
ca_set_unavailable(void)
{
	unavailable = 1;
}

int
ca_unavailable(void)
{
	return unavailable;
}
