/* Lock-free counters and histograms, written as Prometheus text. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prom.h"

void
metric_add(struct metric_counter *c, unsigned long long n)
{
	atomic_fetch_add_explicit(&c->n, n, memory_order_relaxed);
}

unsigned long long
metric_get(struct metric_counter *c)
{
	return atomic_load_explicit(&c->n, memory_order_relaxed);
}

struct timespec
metric_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

double
metric_since(struct timespec start)
{
	struct timespec now = metric_now();

	return (double)(now.tv_sec - start.tv_sec) +
	    (double)(now.tv_nsec - start.tv_nsec) / 1e9;
}

void
metric_observe(struct metric_histogram *h, double seconds)
{
	size_t i;

	if (seconds < 0)
		seconds = 0;
	for (i = 0; i < h->nbounds && seconds > h->bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns,
	    (unsigned long long)(seconds * 1e9 + 0.5), memory_order_relaxed);
}

void
metric_head(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metric_sample(FILE *fp, const char *name, const char *labels,
    unsigned long long v)
{
	if (labels != NULL && *labels != '\0')
		fprintf(fp, "%s{%s} %llu\n", name, labels, v);
	else
		fprintf(fp, "%s %llu\n", name, v);
}

const char *
metric_label_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[o++] = '\\';
			buf[o++] = *s == '\n' ? 'n' : *s;
		} else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * The buckets are read once, and _count is their total: a scrape during
 * an observation may miss it in _sum, never disagree with +Inf.
 */
void
metric_histogram_write(FILE *fp, const char *name, const char *help,
    struct metric_histogram *h)
{
	unsigned long long total = 0;
	size_t i;

	metric_head(fp, name, "histogram", help);
	for (i = 0; i <= h->nbounds; i++) {
		total += atomic_load_explicit(&h->counts[i],
		    memory_order_relaxed);
		if (i < h->nbounds)
			fprintf(fp, "%s_bucket{le=\"%g\"} %llu\n", name,
			    h->bounds[i], total);
		else
			fprintf(fp, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			    total);
	}
	fprintf(fp, "%s_sum %.9f\n%s_count %llu\n", name,
	    (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) /
	    1e9, name, total);
}
