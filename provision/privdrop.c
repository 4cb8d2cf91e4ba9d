/* Giving up root for good: privdrop.h. */
#define _GNU_SOURCE	/* setresuid, close_range */
#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "privdrop.h"

static int
become(const struct passwd *pw, char *err, size_t errlen)
{
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		errbuf_set(err, errlen, "cannot become %s: %s", pw->pw_name,
		    strerror(errno));
		return -1;
	}
	/* For good: a way back to root would undo all of it. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		errbuf_set(err, errlen, "still able to become root after "
		    "switching to %s", pw->pw_name);
		return -1;
	}
	return 0;
}

int
privdrop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = NULL;

	if (user != NULL && (pw = getpwnam(user)) == NULL) {
		errbuf_set(err, errlen, "no such user: %s", user);
		return -1;
	}
	if (pw != NULL && geteuid() == 0 && become(pw, err, errlen) == -1)
		return -1;
	if (pw != NULL && geteuid() != pw->pw_uid) {
		errbuf_set(err, errlen, "not started as root, so cannot run "
		    "as %s", user);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		errbuf_set(err, errlen, "no-new-privileges: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
privdrop_describe(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(getuid());

	snprintf(buf, len, "uid %u (%s), gid %u", (unsigned int)getuid(),
	    pw != NULL ? pw->pw_name : "?", (unsigned int)getgid());
}
