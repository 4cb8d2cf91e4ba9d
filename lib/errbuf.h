/*
 * Error buffers: a function that fails writes one line into its caller's
 * buffer and returns an error code.  A NULL buffer or a zero length is
 * allowed and means "the caller does not want to know".  Control
 * characters become '?': an error is always one line, whatever a path or
 * a value in it held.
 */
#ifndef IOTA_ERRBUF_H
#define IOTA_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

void	errbuf_set(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	errbuf_vset(char *, size_t, const char *, va_list)
	    __attribute__((format(printf, 3, 0)));

#endif
