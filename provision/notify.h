/*
 * Telling systemd where iotad is (sd_notify(3), Type=notify): ready once
 * it listens, reloading around a SIGHUP, stopping; and a status line.
 * Nothing is sent without NOTIFY_SOCKET, and nothing at all in a build
 * without libsystemd (configure --without-libsystemd).
 */
#ifndef IOTA_NOTIFY_H
#define IOTA_NOTIFY_H

void	notify_ready(const char *);
void	notify_reloading(void);
void	notify_stopping(void);
void	notify_status(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
