/* iotad's log and audit trail: one line per event, never a secret. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *level_names[] = { "error", "warn", "info", "debug" };

static struct {
	pthread_mutex_t	 lock;
	enum log_level	 level;
	FILE		*log;		/* NULL: stderr */
	FILE		*audit;		/* NULL: the log */
	const char	*program;	/* the name on each line */
} lg = { PTHREAD_MUTEX_INITIALIZER, LOG_LEVEL_INFO, NULL, NULL, "iotad" };

void
log_set_program(const char *name)
{
	lg.program = name;
}

int
log_fd(void)
{
	return lg.log != NULL ? fileno(lg.log) : 2;
}

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
log_init(enum log_level level, const char *file, const char *audit_file)
{
	pthread_mutex_lock(&lg.lock);
	lg.level = level;
	lg.log = open_append(file);
	lg.audit = open_append(audit_file);
	pthread_mutex_unlock(&lg.lock);
}

void
log_close(void)
{
	pthread_mutex_lock(&lg.lock);
	if (lg.log != NULL)
		fclose(lg.log);
	if (lg.audit != NULL)
		fclose(lg.audit);
	lg.log = lg.audit = NULL;
	pthread_mutex_unlock(&lg.lock);
}

static void
stamp(char *buf, size_t len)
{
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
write_line(FILE *fp, const char *what, const char *fmt, va_list ap)
{
	char when[32];

	stamp(when, sizeof(when));
	fprintf(fp, "%s %s %s: ", when, lg.program, what);
	vfprintf(fp, fmt, ap);
	fputc('\n', fp);
	fflush(fp);
}

/* A reload's; requests read the level without a lock, as one int. */
void
log_set_level(enum log_level level)
{
	__atomic_store_n(&lg.level, level, __ATOMIC_RELAXED);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&lg.lock);
	if (level <= __atomic_load_n(&lg.level, __ATOMIC_RELAXED)) {
		va_start(ap, fmt);
		write_line(lg.log != NULL ? lg.log : stderr, level_names[level],
		    fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&lg.lock);
}

void
log_warn_fn(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&lg.lock);
	if (LOG_LEVEL_WARN <= __atomic_load_n(&lg.level, __ATOMIC_RELAXED)) {
		va_start(ap, fmt);
		write_line(lg.log != NULL ? lg.log : stderr,
		    level_names[LOG_LEVEL_WARN], fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&lg.lock);
}

void
log_audit(const char *fmt, ...)
{
	va_list ap;
	FILE *fp;

	pthread_mutex_lock(&lg.lock);
	fp = lg.audit != NULL ? lg.audit : lg.log != NULL ? lg.log : stderr;
	va_start(ap, fmt);
	write_line(fp, "audit", fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&lg.lock);
}

/* libmicrohttpd's request lines: client method path status bytes ms. */
void
log_http(void *arg, const char *line)
{
	(void)arg;
	log_info("%s", line);
}
