/* The state directory's lock: see statelock.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statelock.h"

#define LOCK_NAME	"iotad.pid"

static int
lock_whole(int fd, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = F_WRLCK;
	fl->l_whence = SEEK_SET;
	return fcntl(fd, F_SETLK, fl);
}

/* The holder's PID, from the kernel first and the file second. */
static long
holder(int fd, struct flock *fl)
{
	char buf[24];
	ssize_t n;

	if (fcntl(fd, F_GETLK, fl) == 0 && fl->l_type != F_UNLCK)
		return (long)fl->l_pid;
	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int
statelock_take(const char *dir, char *err, size_t errlen)
{
	char path[4096], pid[24];
	struct flock fl;
	int fd, len;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME) >=
	    sizeof(path)) {
		snprintf(err, errlen, "state.dir: path too long");
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (lock_whole(fd, &fl) == -1) {
		if (errno == EACCES || errno == EAGAIN)
			snprintf(err, errlen, "state directory %s is in use by "
			    "iotad PID %ld", dir, holder(fd, &fl));
		else
			snprintf(err, errlen, "%s: lock: %s", path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, len, 0) != len) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
