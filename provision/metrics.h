/*
 * What iotad counts, for GET /metrics (docs/API.md, iotad(8) METRICS):
 * process-wide counters that handlers move as they answer.  The rest of
 * the exposition (the limiter's, the connection guard's, the registry's
 * expiring certificates) is read at scrape time by api/metrics.c.
 */
#ifndef IOTA_PROVISION_METRICS_H
#define IOTA_PROVISION_METRICS_H

#include "prom.h"

/* How a provisioning or renewal request ended: the label "outcome". */
enum metrics_outcome {
	OUTCOME_ISSUED,		/* a new certificate */
	OUTCOME_AGAIN,		/* a retry, answered from the record */
	OUTCOME_REFUSED,	/* 4xx: the gate's or the flow's refusal */
	OUTCOME_UNAVAILABLE,	/* 503: the broker or the signer is away */
	OUTCOME_ERROR,		/* any other 5xx */
	OUTCOME_N
};
extern const char *const metrics_outcome_names[OUTCOME_N];

struct iota_metrics {
	struct metric_counter	 provisions[OUTCOME_N];
	struct metric_counter	 renewals[OUTCOME_N];
	struct metric_histogram	 provision_seconds;	/* both flows */
	struct metric_counter	 certs_issued;
	struct metric_counter	 certs_revoked;
	struct metric_histogram	 commit_seconds;	/* store.c's batches */
};
extern struct iota_metrics iota_metrics;

/*
 * A provisioning (renewing 0) or renewal (1) answered: its outcome from
 * `again` and the status, and, with a start, its time.
 */
struct http_response;
void	metrics_flow_done(int, const struct http_response *, int,
	    const struct timespec *);

#endif
