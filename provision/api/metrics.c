/*
 * GET /metrics: iotad's metrics in the Prometheus text format (0.0.4),
 * on the HTTPS listener to the admin, or on a plain-HTTP listener of its
 * own (metrics.listen).  Counters come from metrics.h; the limiter's, the
 * connection guard's and the registry's expiring certificates are read
 * now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "broker.h"
#include "conns.h"
#include "iotad.h"
#include "json.h"
#include "link.h"
#include "metrics.h"

#define DAY	(24 * 60 * 60)

struct expiring_job {
	int64_t		 now;
	int64_t		 within7, within30;
};

static int
expiring(sqlite3 *db, void *arg)
{
	struct expiring_job *j = arg;
	int rc;

	if ((rc = registry_expiring_count(db, j->now, j->now + 7 * DAY,
	    &j->within7)) != 0)
		return rc;
	return registry_expiring_count(db, j->now, j->now + 30 * DAY,
	    &j->within30);
}

static void
counter(FILE *fp, const char *name, const char *help, unsigned long long v)
{
	metric_head(fp, name, "counter", help);
	metric_sample(fp, name, NULL, v);
}

static void
outcomes(FILE *fp, const char *name, const char *help,
    struct metric_counter *c)
{
	char labels[64];
	int i;

	metric_head(fp, name, "counter", help);
	for (i = 0; i < OUTCOME_N; i++) {
		snprintf(labels, sizeof(labels), "outcome=\"%s\"",
		    metrics_outcome_names[i]);
		metric_sample(fp, name, labels, metric_get(&c[i]));
	}
}

static void
flows(FILE *fp)
{
	outcomes(fp, "iota_provisions_total", "Provisioning requests "
	    "(POST /v1/provision, EST simpleenroll) by outcome.",
	    iota_metrics.provisions);
	outcomes(fp, "iota_renewals_total", "Renewal requests (POST "
	    "/v1/renew, EST simplereenroll) by outcome.", iota_metrics.renewals);
	metric_histogram_write(fp, "iota_provision_duration_seconds",
	    "Handling time of provisioning and renewal requests past the "
	    "gate.", &iota_metrics.provision_seconds);
	counter(fp, "iota_certificates_issued_total", "Device certificates "
	    "issued.", metric_get(&iota_metrics.certs_issued));
	counter(fp, "iota_certificates_revoked_total", "Device certificates "
	    "revoked (revoke, or enable of a provisioned device).",
	    metric_get(&iota_metrics.certs_revoked));
}

/* -1 when the registry cannot be read: no half exposition then. */
static int
registry(FILE *fp, struct iotad *d)
{
	struct expiring_job j = { .now = time(NULL) };
	char err[256];

	if (store_read(d->store, expiring, &j, err, sizeof(err)) != 0) {
		log_error("metrics: %s", err);
		return -1;
	}
	metric_head(fp, "iota_certificates_expiring", "gauge", "Provisioned "
	    "devices whose certificate ends within the window.");
	metric_sample(fp, "iota_certificates_expiring", "within=\"7d\"",
	    (unsigned long long)j.within7);
	metric_sample(fp, "iota_certificates_expiring", "within=\"30d\"",
	    (unsigned long long)j.within30);
	metric_histogram_write(fp, "iota_store_commit_duration_seconds",
	    "Transaction time of each group commit of the registry.",
	    &iota_metrics.commit_seconds);
	return 0;
}

static void
guards(FILE *fp, struct iotad *d)
{
	struct http_server *https = atomic_load(&d->https);
	struct conns_stats cs = { 0 };
	unsigned long long calls, failed, evicted = 0, full = 0;

	broker_call_stats(&calls, &failed);
	counter(fp, "iota_broker_calls_total", "RabbitMQ management API calls "
	    "made.", calls);
	counter(fp, "iota_broker_failures_total", "RabbitMQ management API "
	    "calls that failed (no answer, or not a success).", failed);
	if (d->failures != NULL)
		ratelimit_pressure(d->failures, 0, &evicted, &full);
	counter(fp, "iota_signer_restarts_total", "Signer processes started "
	    "again after the one serving was lost (or a start failed).",
	    signer_link_restarts());
	counter(fp, "iota_ratelimit_refused_total", "Failed credentials that "
	    "met a table of waiting addresses.", full);
	counter(fp, "iota_ratelimit_evicted_total", "Counting addresses "
	    "evicted for new ones.", evicted);
	if (https != NULL)
		http_conn_stats(https, &cs);
	counter(fp, "iota_http_slow_heads_total", "HTTPS connections dropped: "
	    "request head too slow.", cs.slow_heads);
	counter(fp, "iota_http_reclaimed_total", "HTTPS connections dropped "
	    "under pressure.", cs.reclaimed);
	counter(fp, "iota_http_over_address_total", "HTTPS requests answered "
	    "429: too many connections from one address.", cs.over_address);
	metric_head(fp, "iota_http_connections", "gauge", "Open HTTPS "
	    "connections.");
	metric_sample(fp, "iota_http_connections", NULL, cs.open);
}

static void
build_info(FILE *fp)
{
	char v[64], labels[96];

	metric_head(fp, "iota_build_info", "gauge", "The version of iotad, "
	    "always 1.");
	snprintf(labels, sizeof(labels), "version=\"%s\"",
	    metric_label_escape(IOTA_VERSION, v, sizeof(v)));
	metric_sample(fp, "iota_build_info", labels, 1);
}

void
handle_metrics(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int rc;

	/* The HTTPS route exists only while metrics.listen is admin. */
	if (c->class == CALLER_ADMIN &&
	    d->conf.metrics.listen != CONF_METRICS_ADMIN) {
		http_respond_error(resp, 404, "not_found", "no such resource");
		return;
	}
	if ((fp = open_memstream(&text, &len)) == NULL) {
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	flows(fp);
	rc = registry(fp, d);
	guards(fp, d);
	build_info(fp);
	if (fclose(fp) != 0 || rc == -1)
		http_respond_error(resp, 500, "internal", "internal error");
	else
		http_respond_body(resp, 200, "text/plain; version=0.0.4; "
		    "charset=utf-8", text, len);
	free(text);
}
