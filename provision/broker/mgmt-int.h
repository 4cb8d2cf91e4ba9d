/*
 * Private to the management API client (provision/broker/mgmt-*.c,
 * objects.c, definitions.c, vhost-map.c): the client's state and the
 * calls its files share.  Everything else uses broker.h.
 */
#ifndef IOTA_MGMT_INT_H
#define IOTA_MGMT_INT_H

#include <pthread.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "broker.h"

#define POOL_MAX	16		/* idle curl handles kept */
#define ANSWER_MAX	(64 * 1024)	/* kept of an answer; the rest dropped */
#define MAP_ANSWER_MAX	(64 * 1024 * 1024)	/* the whole map, or an error */
#define DETAIL_MAX	80		/* of RabbitMQ's error, in a message */
#define PATH_MAX_LEN	2048
#define PATTERN_MAX	(2 * 2 * BROKER_NAME_MAX + 64)
#define TIMEOUT_DEFAULT	10000L		/* ms */
#define HASHING		"rabbit_password_hashing_sha256"
#define EXCHANGE	"amq.topic"
#define DISCONNECT_WHY	"X-Reason: iota: device credentials revoked"
#define VHOSTS_PARAM	"mqtt_default_vhosts"
#define VHOSTS_PATH	"/api/global-parameters/" VHOSTS_PARAM

/* A change to the map waiting for the thread that writes it. */
struct vhost_op {
	struct vhost_op	*next;
	const char	*user;
	const char	*vhost;		/* NULL: remove */
	char		*err;
	size_t		 errlen;
	int		 rc, done;
};

struct broker {
	char		*base;		/* no trailing '/' */
	char		*user;
	char		*password;
	char		*ca_file;
	long		 timeout_ms;
	int		 https;
	pthread_mutex_t	 lock;		/* the pool */
	CURL		*idle[POOL_MAX];
	size_t		 nidle;
	/*
	 * mqtt_default_vhosts: one read-modify-write at a time (the
	 * management API has no compare-and-set); the changes that arrive
	 * meanwhile queue up and go together in the next one.
	 */
	pthread_mutex_t	 vlock;
	pthread_cond_t	 vdone;
	struct vhost_op	*vqueue, **vtail;
	int		 vbusy;
};

/*
 * What RabbitMQ answered: up to max bytes kept (data is NUL-terminated,
 * never NULL after mgmt_answer_init()); beyond that the rest is dropped, or,
 * when strict, the transfer is stopped and the call fails.
 */
struct answer {
	char	*data;
	size_t	 len, cap, max;
	int	 strict, overflow;
};

/* One HTTP exchange with the management API. */
struct call {
	const char	*method;
	const char	*path;		/* percent-encoded */
	const char	*body;		/* JSON, or NULL */
	const char	*header;	/* one extra header, or NULL */
	const char	*what;		/* "creating user x": for messages */
	int		 missing_ok;	/* 404 is success */
	long		 status;
	struct answer	*answer;
};

/* The permissions of one device, regex-escaped and anchored. */
struct patterns {
	char	configure[PATTERN_MAX];
	char	write[PATTERN_MAX];
	char	read[PATTERN_MAX];
	char	topic_write[PATTERN_MAX];
	char	topic_read[PATTERN_MAX];
};

#define seterr	errbuf_set

/* mgmt-http.c: one exchange; 0 (BROKER_OK) or a BROKER_* code after one
 * line in err.  The path is percent-encoded already. */
int	mgmt_call(struct broker *, struct call *, char *, size_t);
/* METHOD path with no body, an optional extra header. */
int	mgmt_simple_call(struct broker *, const char *, const char *,
	    const char *, const char *, char *, size_t);
/* METHOD path with a JSON body (not consumed). */
int	mgmt_json_call(struct broker *, const char *, const char *, json_t *,
	    const char *, char *, size_t);
/* PUT or DELETE at prefix/a[/b], each name percent-encoded. */
int	mgmt_put(struct broker *, const char *, const char *, const char *,
	    json_t *, const char *, char *, size_t);
int	mgmt_delete(struct broker *, const char *, const char *, const char *,
	    const char *, char *, size_t);
void	mgmt_answer_init(struct answer *, size_t, int);
void	mgmt_answer_free(struct answer *);
/* A user or vhost name RabbitMQ and our URLs both take. */
int	mgmt_name_ok(const char *);

/* objects.c: a device's names checked, its patterns and JSON objects. */
int	mgmt_device_ok(const struct broker_device *, char *, size_t);
int	mgmt_patterns(const struct broker_device *, struct patterns *);
json_t	*mgmt_user_json(const struct broker_device *, int);
json_t	*mgmt_permissions_json(const struct broker_device *,
	    const struct patterns *, int);
json_t	*mgmt_topic_json(const struct broker_device *, const struct patterns *,
	    int);

#endif
