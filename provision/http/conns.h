/*
 * The connection guard: what MHD's own limits leave open to a few hostile
 * clients.  Each connection is known from accept to close, with its state:
 * waiting for a request head, serving one, or idle between requests.
 *
 * - A request head must be complete within head_seconds of the accept (or
 *   of the previous answer, idle_seconds then): a client trickling a
 *   header line now and then is dropped, not waited for.
 * - Past per_address connections from one address, a request is answered
 *   429 and its connection closed; MHD itself resets connections past a
 *   hard limit a little higher (there is no HTTP before TLS).
 * - Under pressure (three quarters of `total` in use), idle keep-alive
 *   connections go first, then heads older than 2 s, so that a new client
 *   (an operator, a health check, a device) always finds a slot.
 * A watchdog thread drops a connection by shutting its socket down; MHD's
 * thread then closes it as if the client had.
 */
#ifndef IOTA_CONNS_H
#define IOTA_CONNS_H

#include <microhttpd.h>

struct conns;

struct conns_config {
	unsigned int	 per_address;
	unsigned int	 total;
	unsigned int	 head_seconds;
	unsigned int	 idle_seconds;
};

struct conns_stats {
	unsigned long long	 slow_heads;	/* dropped: head too slow */
	unsigned long long	 reclaimed;	/* dropped: pressure */
	unsigned long long	 over_address;	/* answered 429 */
	unsigned int		 open;
};

struct conns	*conns_start(const struct conns_config *);
void		 conns_stop(struct conns *);
/* MHD_OPTION_NOTIFY_CONNECTION, with the conns as its closure. */
void		 conns_notify(void *, struct MHD_Connection *, void **,
		    enum MHD_ConnectionNotificationCode);
/* A request head is complete: 1 if its address is over its limit. */
int		 conns_head(struct conns *, struct MHD_Connection *);
/* Its answer is sent; close: its connection goes now. */
void		 conns_done(struct conns *, struct MHD_Connection *, int close);
void		 conns_stats(struct conns *, struct conns_stats *);

#endif
