/*
 * Counters and fixed-bucket histograms that any thread may move without a
 * lock (C11 atomics), and the Prometheus text exposition format (0.0.4)
 * they are scraped in.  Nothing here knows what iota counts: see
 * provision/metrics.h for iotad's.
 */
#ifndef IOTA_PROM_H
#define IOTA_PROM_H

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#define METRIC_BUCKETS_MAX	16	/* upper bounds, +Inf aside */

struct metric_counter {
	atomic_ullong	 n;
};

/*
 * bounds: ascending upper bounds in seconds; the counts are per bucket
 * (not cumulative), counts[nbounds] is +Inf's.  The sum is kept in
 * nanoseconds.  A static one starts empty.
 */
struct metric_histogram {
	const double	*bounds;
	size_t		 nbounds;
	atomic_ullong	 counts[METRIC_BUCKETS_MAX + 1];
	atomic_ullong	 sum_ns;
};

void	metric_add(struct metric_counter *, unsigned long long);
unsigned long long metric_get(struct metric_counter *);
/* A monotonic start, and the seconds since it. */
struct timespec metric_now(void);
double	metric_since(struct timespec);
void	metric_observe(struct metric_histogram *, double);

/* The text format: "# HELP" and "# TYPE" lines, then the samples. */
void	metric_head(FILE *, const char *, const char *, const char *);
/* name{labels} value; labels NULL or "" for none, else k="v",... */
void	metric_sample(FILE *, const char *, const char *, unsigned long long);
/* A label value escaped as the format says (\\, \", \n) into buf. */
const char *metric_label_escape(const char *, char *, size_t);
/* The whole histogram: its head, the buckets, _sum and _count. */
void	metric_histogram_write(FILE *, const char *, const char *,
	    struct metric_histogram *);

#endif
