/* iotad's log and audit trail: one line per event, never a secret. */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "iotad.h"

static const char *level_names[] = { "error", "warn", "info", "debug" };

static FILE *
open_append(const char *path)
{
	FILE *fp;

	if (path == NULL || (fp = fopen(path, "ae")) == NULL)
		return NULL;
	setvbuf(fp, NULL, _IOLBF, 0);
	return fp;
}

void
log_open(struct iotad *d)
{
	pthread_mutex_init(&d->loglock, NULL);
	if ((d->log = open_append(d->conf.log.file)) == NULL)
		d->log = stderr;
	d->audit = open_append(d->conf.audit.file);
}

static void
stamp(char *buf, size_t len)
{
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
log_msg(struct iotad *d, int level, const char *fmt, ...)
{
	char when[32];
	va_list ap;

	if (level > d->conf.log.level)
		return;
	stamp(when, sizeof(when));
	pthread_mutex_lock(&d->loglock);
	fprintf(d->log, "%s iotad %s: ", when, level_names[level]);
	va_start(ap, fmt);
	vfprintf(d->log, fmt, ap);
	va_end(ap);
	fputc('\n', d->log);
	fflush(d->log);
	pthread_mutex_unlock(&d->loglock);
}

/* libmicrohttpd's request lines: client method path status bytes ms. */
void
log_http(void *arg, const char *line)
{
	log_msg(arg, CONF_LOG_INFO, "%s", line);
}

void
audit_line(struct iotad *d, const struct reg_audit *a)
{
	char when[32];
	FILE *fp = d->audit != NULL ? d->audit : d->log;

	stamp(when, sizeof(when));
	pthread_mutex_lock(&d->loglock);
	fprintf(fp, "%s iotad audit: tenant=%lld actor=%s action=%s target=%s "
	    "outcome=%s client=%s\n", when, (long long)a->tenant_id, a->actor,
	    a->action, a->target != NULL ? a->target : "-", a->outcome,
	    a->client != NULL ? a->client : "-");
	fflush(fp);
	pthread_mutex_unlock(&d->loglock);
}
