/*
 * iotad's side of its signer process.  At start, before any thread, iotad
 * forks a supervisor that keeps the privileges it was started with and
 * does only two things: start a signer when iotad asks (socketpairs, fork,
 * exec) and tell iotad when one exits.  The signer (signer/main.c) alone
 * reads the CA keys; iotad talks to it over the socketpairs in frames of
 * signer-wire.h, one request per socket at a time.
 *
 * A signer that dies makes every request fail at once as unavailable
 * (iotad answers 503); iotad asks for a new one, with a growing pause if
 * they keep dying.  When iotad dies the supervisor sees its socket close
 * and takes the signer with it.
 */
#ifndef IOTA_SIGNER_LINK_H
#define IOTA_SIGNER_LINK_H

#include <sys/types.h>

#include <stddef.h>

#include "ledger.h"

#define SIGNER_CHANNELS_MAX	16

struct signer_link_config {
	const char	*program;	/* iota-signer */
	const char	*ca_dir;
	const char	*passphrase_file;
	const char	*pkcs11_module;	/* NULL: the default */
	const char	*user;		/* NULL: as iotad was started */
	int		 channels;
	int		 seccomp;
	int		 log_fd;	/* where the signer's lines go */
	const char	*log_level;
};

struct signer_link;

/*
 * Forks the supervisor, has it start the signer and waits for the
 * signer's hello.  Call before any thread exists.  NULL and err.
 */
struct signer_link *signer_link_start(const struct signer_link_config *,
		    char *, size_t);
/* From here on, a thread watches for signers that die; after signals. */
int		 signer_link_watch(struct signer_link *, char *, size_t);
/* Signers started again (after a loss or a failed start), process-wide. */
unsigned long long signer_link_restarts(void);
/* The ledger's keys: signers for the CA directory's certificates. */
struct ledger_keys signer_link_keys(struct signer_link *);
/* A new signer that reads the keys anew (a reload); the old one stays
   on failure.  0, or -1 and err. */
int		 signer_link_renew(struct signer_link *, char *, size_t);
pid_t		 signer_link_pid(struct signer_link *);
void		 signer_link_stop(struct signer_link *);

/* supervise.c: the supervisor's loop, in the child; never returns. */
void		 supervise(int, const struct signer_link_config *)
		    __attribute__((noreturn));

/* The messages between supervisor and iotad (SOCK_SEQPACKET). */
#define SUPERVISE_SPAWN		'S'	/* iotad: start a signer */
enum supervise_kind {
	SUPERVISE_SPAWNED = 1,	/* pid, and its sockets attached */
	SUPERVISE_EXITED,	/* pid, wait status */
};
struct supervise_msg {
	int	kind;
	pid_t	pid;
	int	status;
	int	nfds;
};

#endif
