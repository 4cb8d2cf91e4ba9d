/*
 * The signer's seccomp filter: what reading sockets, signing and exiting
 * need, nothing that opens a file (but a token's, for reading), a socket
 * or a process.  Any other
 * system call fails with EPERM (a kill would take ASan's and glibc's
 * harmless probes with it); the filter holds for every thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <seccomp.h>

#include "errbuf.h"
#include "signer.h"

#ifdef __SANITIZE_ADDRESS__
/*
 * The sanitizer build (--enable-sanitizers) only: ASan's and LeakSanitizer's
 * runtime calls what the signer never does (an alternate signal stack per
 * thread, /proc/self/maps, a tracer process at exit), so there the filter
 * logs what falls outside instead of refusing it.
 */
#define DENIED		SCMP_ACT_LOG
#else
#define DENIED		SCMP_ACT_ERRNO(EPERM)
#endif

static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg), SCMP_SYS(close), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(futex), SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap),
	SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(madvise),
	SCMP_SYS(getrandom), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(sched_yield), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(restart_syscall),
};

/*
 * A token's module (SoftHSM) reads its object files and takes read locks
 * on them at each signature: opens for reading only, and fcntl().
 */
static int
allow_token(scmp_filter_ctx ctx)
{
	int rc;

	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 0);
	return rc;
}

/* The number of system calls allowed, or -1 and err. */
int
sandbox_enter(int token, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc = 0;

	if ((ctx = seccomp_init(DENIED)) == NULL) {
		errbuf_set(err, errlen, "seccomp: cannot make a filter");
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]);
	    i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	if (rc == 0 && token)
		rc = allow_token(ctx);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		errbuf_set(err, errlen, "seccomp: %s", strerror(-rc));
		return -1;
	}
	return (int)(sizeof(allowed) / sizeof(allowed[0])) + (token ? 2 : 0);
}
