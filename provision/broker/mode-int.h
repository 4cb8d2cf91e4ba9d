/* Internal to the broker modes: their table of operations and state. */
#ifndef IOTA_BROKER_MODE_INT_H
#define IOTA_BROKER_MODE_INT_H

#include <pthread.h>

#include "broker.h"
#include "mode.h"

#define MODE_VHOSTS_MAX	64	/* vhosts known to exist, per process */

struct broker_batch;
struct events;
struct outbox;
struct store;

struct broker_mode_ops {
	const char	*name;
	int		(*device)(struct broker_mode *,
			    const struct broker_who *, struct creds *);
	/* Takes a device's credentials away at the broker: NULL, nothing. */
	int		(*remove)(struct broker_mode *, const struct creds *);
	int		(*ask)(struct broker_mode *, enum broker_question,
			    const struct router_query *);
};

struct broker_mode {
	const struct broker_mode_ops *ops;
	int			 cert_login;	/* broker.login certificate */
	char			*mqtt_url;
	struct store		*db;		/* the broker database */
	struct broker		*mgmt;		/* management API, if any */
	struct broker_batch	*batch;		/* management: imports */
	struct events		*events;
	struct outbox		*outbox;
	pthread_mutex_t		 vlock;
	char			*vhosts[MODE_VHOSTS_MAX];
};

extern const struct broker_mode_ops mode_none_ops, mode_management_ops,
	    mode_auth_backend_ops;

/* mode.c, for the modes: */
/* The device's record, or a new one (pending or active) with fresh
 * credentials. */
int	mode_record(struct broker_mode *, const struct broker_who *,
	    struct creds *, enum creds_state *, enum creds_state);
int	mode_activate(struct broker_mode *, int64_t);
int	mode_forget(struct broker_mode *, int64_t);
/* A tenant's vhost at the broker, made once per process. */
int	mode_vhost(struct broker_mode *, const char *);
void	mode_vhost_forget(struct broker_mode *);
/* The live connections of a user, closed when the API is reachable. */
int	mode_disconnect(struct broker_mode *, const char *);

#endif
