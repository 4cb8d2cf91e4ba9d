/* iotad's counters; api/metrics.c writes them out. */
#include "http.h"
#include "metrics.h"

const char *const metrics_outcome_names[OUTCOME_N] = {
	"issued", "again", "refused", "unavailable", "error",
};

/* Request handling from 5 ms to 10 s; a commit from 0.5 ms to 1 s. */
static const double flow_bounds[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
static const double commit_bounds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
};
#define NBOUNDS(a)	(sizeof(a) / sizeof((a)[0]))

struct iota_metrics iota_metrics = {
	.provision_seconds = { .bounds = flow_bounds,
	    .nbounds = NBOUNDS(flow_bounds) },
	.commit_seconds = { .bounds = commit_bounds,
	    .nbounds = NBOUNDS(commit_bounds) },
};

static enum metrics_outcome
outcome_of(const struct http_response *resp, int again)
{
	unsigned int status = http_response_status(resp);

	if (status >= 200 && status < 300)
		return again ? OUTCOME_AGAIN : OUTCOME_ISSUED;
	if (status == 503)
		return OUTCOME_UNAVAILABLE;
	if (status >= 400 && status < 500)
		return OUTCOME_REFUSED;
	return OUTCOME_ERROR;
}

void
metrics_flow_done(int renewing, const struct http_response *resp, int again,
    const struct timespec *start)
{
	enum metrics_outcome o = outcome_of(resp, again);

	metric_add(renewing ? &iota_metrics.renewals[o] :
	    &iota_metrics.provisions[o], 1);
	if (o == OUTCOME_ISSUED)
		metric_add(&iota_metrics.certs_issued, 1);
	if (start != NULL)
		metric_observe(&iota_metrics.provision_seconds,
		    metric_since(*start));
}
