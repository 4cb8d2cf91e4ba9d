/* The last error of the calling thread, as one line for a human. */
#include <stdarg.h>
#include <stdio.h>

#include <openssl/err.h>

#include "ca.h"

static _Thread_local char errbuf[512];

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
	ERR_clear_error();
}
