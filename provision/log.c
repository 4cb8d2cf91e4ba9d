/* iotad's log and audit trail: one line per event, never a secret. */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"
#include "log.h"

static const char *level_names[] = { "error", "warn", "info", "debug" };
/* syslog(3)'s priorities, for journald: err warning info debug. */
static const int level_prio[] = { 3, 4, 6, 7 };
#define AUDIT_PRIO	5	/* notice */

static struct {
	pthread_mutex_t	 lock;
	enum log_level	 level;
	FILE		*log;		/* NULL: stderr */
	FILE		*audit;		/* NULL: the log */
	const char	*program;	/* the name on each line */
	int		 journal;	/* stderr is journald's stream */
} lg = { PTHREAD_MUTEX_INITIALIZER, LOG_LEVEL_INFO, NULL, NULL, "iotad", 0 };

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

/*
 * systemd sets JOURNAL_STREAM to "DEV:INO" of the stream it gives a
 * service; standard error is that stream only while they match (a shell
 * in between may have sent it elsewhere).
 */
static int
stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(2, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(enum log_level level, const char *file, const char *audit_file)
{
	pthread_mutex_lock(&lg.lock);
	lg.level = level;
	lg.journal = stderr_is_journal();
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

/* One file anew at its path; the old one stays when that fails. */
static int
reopen_one(FILE **fpp, const char *path, char *err, size_t errlen)
{
	FILE *fp;

	if (*fpp == NULL || path == NULL)
		return 0;
	if ((fp = open_append(path)) == NULL) {
		errbuf_set(err, errlen, "cannot reopen %s (kept the old one): "
		    "%s", path, strerror(errno));
		return -1;
	}
	fclose(*fpp);
	*fpp = fp;
	return 0;
}

int
log_reopen(const char *file, const char *audit_file, char *err,
    size_t errlen)
{
	int rc;

	pthread_mutex_lock(&lg.lock);
	rc = reopen_one(&lg.log, file, err, errlen);
	if (reopen_one(&lg.audit, audit_file, err, errlen) == -1)
		rc = -1;
	pthread_mutex_unlock(&lg.lock);
	return rc;
}

static void
stamp(char *buf, size_t len)
{
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Into the journal: its priority first, and no time (journald adds it). */
static void
write_line(FILE *fp, int prio, const char *what, const char *fmt, va_list ap)
{
	char when[32];

	if (fp == stderr && lg.journal)
		fprintf(fp, "<%d>%s %s: ", prio, lg.program, what);
	else {
		stamp(when, sizeof(when));
		fprintf(fp, "%s %s %s: ", when, lg.program, what);
	}
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
		write_line(lg.log != NULL ? lg.log : stderr, level_prio[level],
		    level_names[level], fmt, ap);
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
		    level_prio[LOG_LEVEL_WARN], level_names[LOG_LEVEL_WARN],
		    fmt, ap);
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
	write_line(fp, AUDIT_PRIO, "audit", fmt, ap);
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
