/*
 * What link.c (signers coming and going), frames.c (frames over one
 * socket) and batch.c (requests, in batches) share: link.h's insides.
 */
#ifndef IOTA_LINK_INT_H
#define IOTA_LINK_INT_H

#include <pthread.h>

#include "link.h"
#include "signer-wire.h"

#define CALL_SECONDS	10	/* a signature takes a millisecond */
#define HELLO_SECONDS	60	/* scrypt over every key, on a slow machine */
#define BACKOFF_MAX_MS	10000

#define BATCH_MAX	16	/* requests written to a socket at once */

/*
 * One signer process: its sockets.  A socket carries one batch at a time:
 * the requests waiting when it was free, written at once, answered in
 * order (the signer reads what came in one read and answers in one write).
 */
struct chan {
	int		 fd;
	int		 busy;
	int		 dead;
	unsigned char	*rbuf;		/* answers read, not yet taken */
	size_t		 rhave;
	size_t		 rcap;
};
struct gen {
	pid_t		 pid;
	int		 n;
	struct chan	 ch[SIGNER_CHANNELS_MAX];
	int		 refs;		/* requests on its sockets now */
	int		 retired;	/* replaced: closed when refs is 0 */
};

/* A request waiting for, or in, a batch; on its caller's stack. */
enum pending_state { QUEUED, TAKEN, ANSWERED, FAILED };
struct pending {
	const unsigned char	*frame;
	size_t			 len;
	unsigned char		*body;		/* the answer's, malloc'd */
	size_t			 blen;
	enum pending_state	 state;
	int			 err;		/* errno, when FAILED */
	pthread_cond_t		 done;
	struct pending		*next;
};

struct signer_link {
	pthread_mutex_t	 lock;
	pthread_cond_t	 changed;
	struct pending	*queue;		/* FIFO of QUEUED requests */
	struct pending	**tail;
	int		 ctl;		/* the supervisor's socket */
	pid_t		 supervisor;
	struct gen	*cur;		/* NULL: no signer now */
	unsigned long	 installs;	/* signers installed so far */
	unsigned long	 failures;	/* signers that never said hello */
	char		 serials[LEDGER_MAX_ISSUERS][CA_SERIAL_HEX_MAX + 1];
	size_t		 nserials;
	pthread_t	 watcher;
	int		 watching;
	int		 stopping;
	char		*why;		/* at start: where the error goes */
	size_t		 whylen;
};

/* frames.c: frames over one socket, and a signer's sockets. */
int	send_all(int, const unsigned char *, size_t);
/* Blocking reads give up after `seconds` (SO_RCVTIMEO): no poll needed. */
void	set_timeout(int, int);
/* The socket's next frame body, malloc'd; -1 with errno. */
int	read_frame(struct chan *, unsigned char **, size_t *);

/* A signer's sockets, closed, and their buffers. */
void	gen_free(struct gen *);

/* batch.c: with the lock, wake every queued request; and the call. */
void	wake_queue(struct signer_link *);
int	signer_link_call(void *, const unsigned char *, size_t,
	    unsigned char **, size_t *);

#endif
