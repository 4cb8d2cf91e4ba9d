/* Telling systemd where iotad is: notify.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

#ifdef IOTA_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

#include "log.h"

/* One message; a failure to send is logged, never fatal. */
static void
notify_send(const char *msg)
{
	int rc;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	if ((rc = sd_notify(0, msg)) < 0)
		log_warn("sd_notify: cannot tell systemd: error %d", -rc);
}

void
notify_ready(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%lu\nSTATUS=%s",
	    (unsigned long)getpid(), status);
	notify_send(msg);
}

/* systemd 253 and on want the time of the request with RELOADING=1. */
void
notify_reloading(void)
{
	struct timespec ts;
	char msg[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\n"
	    "STATUS=reloading", (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping");
}

void
notify_status(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	notify_send(msg);
}

#else	/* without libsystemd: nothing to tell */

void
notify_ready(const char *status)
{
	(void)status;
}

void
notify_reloading(void)
{
}

void
notify_stopping(void)
{
}

void
notify_status(const char *fmt, ...)
{
	(void)fmt;
}

#endif
