/*
 * Group commit benchmark: durable registry writes per second from 1, 8 and
 * 64 concurrent callers of store_write(), each write answered only after
 * its commit is synced.  One caller pays one sync per write: that is the
 * baseline, measured in the same run on the same disk.  Many callers
 * should share syncs (jobs per commit) and so go faster than the baseline
 * instead of queueing behind it.
 *
 * usage: commit-bench [WRITES]   (default 2000 per configuration)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "store.h"

struct worker {
	struct store	*store;
	int		 first, count;
};

static double
wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
add_tenant(sqlite3 *db, void *arg)
{
	int64_t id;

	return registry_tenant_create(db, arg, time(NULL), &id);
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	char name[32], err[256];

	for (int i = 0; i < w->count; i++) {
		snprintf(name, sizeof(name), "t%d", w->first + i);
		if (store_write(w->store, add_tenant, name, err, sizeof(err)) != 0) {
			fprintf(stderr, "commit-bench: %s\n", err);
			exit(1);
		}
	}
	return NULL;
}

static void
run(struct store *st, int threads, int writes, int *next, double base)
{
	pthread_t tid[64];
	struct worker w[64];
	uint64_t commits = store_commits(st);
	double t0 = wall_s(), rate;

	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){ st, *next + i * (writes / threads),
		    writes / threads };
		pthread_create(&tid[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	*next += writes;
	rate = writes / (wall_s() - t0);
	commits = store_commits(st) - commits;
	printf("  %2d caller%s %8.0f writes/s  %5.1f writes per commit",
	    threads, threads == 1 ? " " : "s", rate,
	    (double)writes / (double)commits);
	if (base > 0)
		printf("  %5.1fx the baseline", rate / base);
	printf("\n");
}

int
main(int argc, char *argv[])
{
	int writes = argc > 1 ? atoi(argv[1]) : 2000, next = 0;
	unsigned char key[STORE_KEY_LEN];
	char dir[] = "/tmp/commit-bench.XXXXXX", path[128], err[256];
	struct store *st;
	double base;

	memset(key, 0x42, sizeof(key));
	if (writes < 64 || mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	if ((st = store_open(path, key, &schema_registry, err, sizeof(err))) == NULL) {
		fprintf(stderr, "commit-bench: %s\n", err);
		return 1;
	}
	printf("durable registry writes (synchronous=FULL, WAL), %d per row, "
	    "in %s\n", writes, dir);
	{
		uint64_t c0 = store_commits(st);
		double t0 = wall_s();

		work(&(struct worker){ st, next, writes / 4 });
		next += writes / 4;
		base = (writes / 4) / (wall_s() - t0);
		printf("   1 caller  %8.0f writes/s  %5.1f writes per commit"
		    "  (baseline)\n", base, (double)(writes / 4) /
		    (double)(store_commits(st) - c0));
	}
	run(st, 8, writes, &next, base);
	run(st, 64, writes, &next, base);
	store_close(st);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	return system(path) == 0 ? 0 : 1;
}
