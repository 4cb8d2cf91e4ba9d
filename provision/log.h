/*
 * iotad's log and audit trail: one line per event, never a secret.  Set
 * up once with log_init(); any thread may log from then on, and nothing
 * needs the daemon's context to do it.  Before log_init(), lines go to
 * standard error at level info.  Where standard error is journald's
 * stream (JOURNAL_STREAM), its lines start with their syslog priority,
 * "<6>", and carry no time: journald keeps its own.
 */
#ifndef IOTA_LOG_H
#define IOTA_LOG_H

enum log_level {		/* the order of iotad.yaml's log.level */
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/*
 * Lines of `level` and above go to `file` (NULL or one that cannot be
 * opened: standard error); audit lines to `audit_file`, or the log.
 */
void	log_init(enum log_level, const char *, const char *);
void	log_close(void);
/*
 * The log and audit files opened anew at these paths (after logrotate
 * moved them); one that cannot be keeps its old file, and -1 says so.
 * Standard error is never reopened.
 */
int	log_reopen(const char *, const char *, char *, size_t);
void	log_set_level(enum log_level);
/* The name each line carries ("iotad"); a string that stays. */
void	log_set_program(const char *);
/* The descriptor lines go to, for a child to write to as well. */
int	log_fd(void);

void	log_msg(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* log_warn() as a function, for callbacks. */
void	log_warn_fn(const char *, ...) __attribute__((format(printf, 1, 2)));
#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* One audit line: "... iotad audit: " and the text. */
void	log_audit(const char *, ...) __attribute__((format(printf, 1, 2)));
/* For http.c's per-request lines: (ignored, line). */
void	log_http(void *, const char *);

#endif
