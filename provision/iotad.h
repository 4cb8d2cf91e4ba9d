/*
 * iotad: the provisioning daemon.  One struct holds what every handler
 * needs; handlers get it from http_request_arg().
 */
#ifndef IOTA_IOTAD_H
#define IOTA_IOTAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "ca.h"
#include "caller.h"
#include "conf.h"
#include "devlock.h"
#include "quota.h"
#include "http.h"
#include "log.h"
#include "ratelimit.h"
#include "router.h"
#include "registry.h"
#include "store.h"

#include <jansson.h>

struct broker_mode;
struct ledger;
struct ledger_keys;
struct signer_link;

/* What iotad signs with; a reload (reload.c) swaps it whole. */
struct iotad_ca {
	struct ledger		*ledger;	/* issuers, CRLs, OCSP */
	struct ca_signer	*signer;	/* the ledger's current one */
	char			*chain_pem;	/* issuers, then the root */
	char			*crl_url;	/* CDP of new certs, or NULL */
	char			*ocsp_url;	/* AIA of new certs, or NULL */
};

struct ledger_schedule;

struct iotad {
	struct iotad_conf	 conf;
	const char		*config_path;	/* -c, read again on SIGHUP */
	struct store		*store;
	struct broker_mode	*broker;	/* broker.mode, chosen at start */
	struct signer_link	*signer_link;	/* the process with the keys */
	int			 listen_fd;	/* bound before privileges go */
	int			 plain_fd;	/* 0: no revocation listener */
	int			 metrics_fd;	/* 0: no metrics listener */
	/* The HTTPS listener, once it serves: its guard's counters. */
	struct http_server	*_Atomic https;
	/*
	 * Requests hold `swap` for reading (the router's enter/leave); a
	 * reload takes it for writing to swap `ca` and a few settings.
	 */
	pthread_rwlock_t	 swap;
	struct iotad_ca		 ca;
	struct ledger_schedule	*schedule;	/* re-signs CRLs in time */
	char			*revocation_base;	/* URL, or NULL */
	struct ratelimit	*failures;	/* keys "g:<group>", "c:<addr>" */
	int			 lock;		/* statelock_take(), while serving */
	struct devlocks		 devices;	/* one device's requests take turns */
	struct quotas		 quotas;	/* provisionings in flight */
};

/*
 * One registration takes at most DEVICE_ADD_NAMES_MAX names; its body
 * limit fits that many of the longest ("name" and JSON punctuation).
 */
#define DEVICE_ADD_NAMES_MAX	10000
#define DEVICE_ADD_BODY_MAX	(DEVICE_ADD_NAMES_MAX * (REG_NAME_MAX + 4) + 256)

/* privsep.c: the steps of a start, in this order; -1 and err. */
int	iotad_listen(struct iotad *, char *, size_t);
int	iotad_signer_start(struct iotad *, char *, size_t);
int	iotad_drop_privileges(struct iotad *, char *, size_t);

/* reload.c */
/* `keys` NULL: the keys in this process, as `iotad -n` checks them. */
int	iotad_ca_load(const struct iotad_conf *, const struct ledger_keys *,
	    const char *, struct iotad_ca *, char *, size_t);
int	iotad_ca_urls(struct iotad_ca *, const char *, char *, size_t);
void	iotad_ca_free(struct iotad_ca *);
/*
 * The CA directory's modes: one warn() per finding (a group-writable
 * directory or key, a group- or world-writable chain file, root.key
 * present); -1 and `err` for what must stop iotad (a world-writable
 * directory or key file).
 */
int	iotad_ca_audit(const char *, void (*)(const char *, ...), char *,
	    size_t);
/* SIGHUP: the configuration and the CA again, or nothing and one line. */
void	iotad_reload(struct iotad *);

/*
 * auditsign.c: signed checkpoints of the audit chain.  audit_checkpoint()
 * signs the head now: 0, 1 when there is no record yet, -1 after logging
 * why.  The schedule calls it every interval seconds (0: never).
 */
struct audit_schedule;
int	audit_checkpoint(struct iotad *, time_t);
struct audit_schedule *audit_schedule_start(struct iotad *, long long);
void	audit_schedule_stop(struct audit_schedule *);

/* common.c: the route table and what handlers share. */
extern const struct route iotad_routes[];
extern const size_t iotad_nroutes;
/* The plain-HTTP listener's: CRLs and OCSP alone. */
extern const struct route revocation_routes[];
extern const size_t revocation_nroutes;
/* The metrics listener's (metrics.listen http): /metrics alone. */
extern const struct route metrics_routes[];
extern const size_t metrics_nroutes;

/* 0 if `name` is a safe name; otherwise answers 400 and returns -1. */
int	api_check_name(struct http_response *, const char *, const char *);
/* A registry code as an HTTP answer (404, 409, 500). */
void	api_registry_error(struct http_response *, int, const char *);
/* The group named in the path, in the caller's tenant; -1 after 404. */
int	api_find_group(struct http_request *, struct http_response *,
	    const struct caller *, struct reg_group *);
int	api_find_group_named(struct http_request *, struct http_response *,
	    const struct caller *, const char *, struct reg_group *);
/* A number from the query, def when absent; -1 if not in min..max. */
int	api_query_number(struct http_request *, const char *, int64_t,
	    int64_t, int64_t, int64_t *);
#define API_PAGE_DEFAULT	100
#define API_PAGE_MAX		1000
/* The audit row of a caller's request: actor, tenant, client, now, "ok". */
struct reg_audit api_audit_of(struct http_request *, const struct caller *,
	    const char *);
/* An audit row in a transaction of its own, for refusals; and the line. */
void	api_audit_alone(struct iotad *, const struct reg_audit *);
/* The audit line of a row (into audit.file when set, else the log). */
void	api_audit_line(const struct reg_audit *);
/* How long after expiry a device of the group may renew, in seconds. */
int64_t	api_renew_grace(const struct iotad *, const struct reg_group *);
/* The group's certificate validity in days, or the configuration's. */
long	api_cert_days(const struct iotad *, const struct reg_group *);
/* 503, Retry-After 1: the signer process is away (ca_unavailable()). */
void	api_signer_unavailable(struct http_response *);
/* 503 with the configured Retry-After: the broker is down. */
void	api_unavailable(struct iotad *, struct http_response *);
/*
 * A lifecycle event, recorded inside the write job of the change it tells
 * of (when events are on); REG_OK or REG_ERROR.  api_events_kick() after
 * the commit sends it at once.
 */
int	api_event(sqlite3 *, struct iotad *, const char *, const char *,
	    const char *, const char *, const char *, int64_t);
void	api_events_kick(struct iotad *);
/* The store's events table as the outbox's source. */
extern const struct outbox_source *api_outbox_source(struct iotad *);
/* Runs a write job; on a store failure logs it and answers 500. */
int	api_write(struct iotad *, struct http_response *, store_job, void *,
	    const char *);
json_t	*api_group_json(const struct reg_group *);
json_t	*api_device_json(const struct reg_device *, const char *);

/* The handlers, one file per object of the API. */
void	handle_health(struct http_request *, struct http_response *,
	    const struct caller *);
/* metrics.c: Prometheus text */
void	handle_metrics(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_tenant_create(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_tenant_list(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_tenant_show(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_tenant_delete(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_token_create(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_token_list(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_token_revoke(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_group_list(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_group_create(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_group_show(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_group_patch(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_group_delete(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_group_rotate(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_device_add(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_device_list(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_device_show(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_device_revoke(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_device_enable(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_provision(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_cert_list(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_renew(struct http_request *, struct http_response *,
	    const struct caller *);
/*
 * provision.c's flows, for its JSON handlers and EST's (est.c): a front
 * end other than the JSON one answers the certificate (DER) its own way.
 */
typedef void	(*provision_answer_fn)(struct http_response *,
		    const unsigned char *, size_t);
void	provision_enroll(struct http_request *, struct http_response *,
	    const struct caller *, const char *, const char *,
	    const unsigned char *, size_t, provision_answer_fn);
void	provision_renew(struct http_request *, struct http_response *,
	    const struct caller *, const unsigned char *, size_t,
	    provision_answer_fn);
/* est.c: RFC 7030 */
void	handle_est_cacerts(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_est_csrattrs(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_est_enroll(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_est_reenroll(struct http_request *, struct http_response *,
	    const struct caller *);
/* revocation.c: CRLs and OCSP */
void	handle_crl_current(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_crl(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_ocsp_post(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_ocsp_get(struct http_request *, struct http_response *,
	    const struct caller *);
/* api-auth.c: RabbitMQ's HTTP auth backend */
void	handle_auth_user(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_auth_vhost(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_auth_resource(struct http_request *, struct http_response *,
	    const struct caller *);
void	handle_auth_topic(struct http_request *, struct http_response *,
	    const struct caller *);

#endif
