/*
 * Giving up root: iotad's front end once its ports are bound, the signer
 * once it has read its key.  One line in `err` when it cannot.
 */
#ifndef IOTA_PRIVDROP_H
#define IOTA_PRIVDROP_H

#include <stddef.h>

/*
 * Become `user` (NULL: stay as started) for good, with its group and no
 * other; then no-new-privileges.  Not started as root, `user` must be
 * the user already running.  0, or -1 and err.
 */
int	privdrop(const char *, char *, size_t);
/* What privdrop() left: "uid 65534 (nobody), gid 65534", for the log. */
void	privdrop_describe(char *, size_t);

#endif
