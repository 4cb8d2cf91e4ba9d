/* lib/prom.c: buckets, sums and the text format, byte for byte. */
#include <stdio.h>
#include <stdlib.h>

#include "prom.h"
#include "tap.h"

static const double bounds[] = { 0.01, 0.1, 1 };

/* What fn writes, as a string the caller frees. */
static char *
written(void (*fn)(FILE *, void *), void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		abort();
	fn(fp, arg);
	fclose(fp);
	return text;
}

static void
histogram(FILE *fp, void *arg)
{
	metric_histogram_write(fp, "t_seconds", "A test.", arg);
}

static void
samples(FILE *fp, void *arg)
{
	char v[32];

	(void)arg;
	metric_head(fp, "t_total", "counter", "Things.");
	metric_sample(fp, "t_total", NULL, 3);
	metric_sample(fp, "t_total", "k=\"v\"", 18446744073709551615ULL);
	metric_sample(fp, "t_info", metric_label_escape("a\"b\\c\nd", v,
	    sizeof(v)), 1);
}

int
main(void)
{
	struct metric_histogram h = { .bounds = bounds, .nbounds = 3 };
	struct metric_counter c = { 0 };
	char *s;

	metric_add(&c, 2);
	metric_add(&c, 5);
	is_int((int)metric_get(&c), 7, "a counter adds");
	metric_observe(&h, 0.01);	/* le is inclusive */
	metric_observe(&h, 0.05);
	metric_observe(&h, 0.5);
	metric_observe(&h, 7);
	metric_observe(&h, -1);		/* a clock step: counted as 0 */
	s = written(histogram, &h);
	is_str(s, "# HELP t_seconds A test.\n"
	    "# TYPE t_seconds histogram\n"
	    "t_seconds_bucket{le=\"0.01\"} 2\n"
	    "t_seconds_bucket{le=\"0.1\"} 3\n"
	    "t_seconds_bucket{le=\"1\"} 4\n"
	    "t_seconds_bucket{le=\"+Inf\"} 5\n"
	    "t_seconds_sum 7.560000000\n"
	    "t_seconds_count 5\n", "a histogram: cumulative buckets, sum, count");
	free(s);
	s = written(samples, NULL);
	is_str(s, "# HELP t_total Things.\n# TYPE t_total counter\n"
	    "t_total 3\nt_total{k=\"v\"} 18446744073709551615\n"
	    "t_info{a\\\"b\\\\c\\nd} 1\n",
	    "samples with and without labels, a value escaped");
	free(s);
	ok(metric_since(metric_now()) >= 0, "time since a start is not negative");
	return tap_done();
}
