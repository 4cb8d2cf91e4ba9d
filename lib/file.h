/* Small files of secrets and settings, read whole and bounded. */
#ifndef IOTA_FILE_H
#define IOTA_FILE_H

#include <stddef.h>

/*
 * The first line of a regular file of at most `max` bytes, without its
 * line end, NUL-terminated; *len its length.  Free it with
 * file_line_free(), which wipes it.  NULL after one line in err.
 */
char	*file_first_line(const char *, size_t, size_t *, char *, size_t);
void	 file_line_free(char *, size_t);

#endif
