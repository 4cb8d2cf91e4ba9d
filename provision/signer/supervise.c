/*
 * The supervisor: iotad's child that keeps the privileges iotad was
 * started with, so that a signer started after a crash can still read the
 * CA key.  It reads one kind of byte from iotad and holds nothing else:
 * no key, no configuration beyond the signer's command line, no socket
 * but iotad's.  link.h says what it does.
 */
#define _GNU_SOURCE	/* setresuid, close_range */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link.h"
#include "log.h"

#define FIRST_CHANNEL_FD	3
#define ARGV_MAX		20
#define CHILDREN_MAX		8	/* a new signer and the old ones going */

static pid_t children[CHILDREN_MAX];

static void
remember(pid_t pid, pid_t was)
{
	for (int i = 0; i < CHILDREN_MAX; i++)
		if (children[i] == was) {
			children[i] = pid;
			return;
		}
}

/* Every descriptor but these goes: a signer inherits nothing of iotad's. */
static void
close_all_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		close_range(3, (unsigned int)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned int)lo + 1, (unsigned int)hi - 1, 0);
	close_range((unsigned int)hi + 1, ~0u, 0);
}

static void
build_argv(const struct signer_link_config *c, char *argv[ARGV_MAX],
    char *channels, size_t len)
{
	int n = 0;

	snprintf(channels, len, "%d", c->channels);
	argv[n++] = (char *)c->program;
	argv[n++] = "--ca-dir";
	argv[n++] = (char *)c->ca_dir;
	argv[n++] = "--passphrase-file";
	argv[n++] = (char *)c->passphrase_file;
	argv[n++] = "--channels";
	argv[n++] = channels;
	argv[n++] = "--log-level";
	argv[n++] = (char *)c->log_level;
	if (c->pkcs11_module != NULL) {
		argv[n++] = "--pkcs11-module";
		argv[n++] = (char *)c->pkcs11_module;
	}
	if (c->user != NULL) {
		argv[n++] = "--user";
		argv[n++] = (char *)c->user;
	}
	if (!c->seccomp)
		argv[n++] = "--no-seccomp";
	argv[n] = NULL;
}

/* In the new child: its sockets as 3, 4, ..., the log as 2, then exec. */
static void __attribute__((noreturn))
exec_signer(const struct signer_link_config *c, int socks[][2], int n)
{
	char *argv[ARGV_MAX], channels[16];
	sigset_t none;
	int moved[SIGNER_CHANNELS_MAX], devnull;

	/* Out of the way first: a socket may sit where another must go. */
	for (int i = 0; i < n; i++)
		moved[i] = fcntl(socks[i][1], F_DUPFD, 64);
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, 0);
		dup2(devnull, 1);
	}
	if (c->log_fd != 2)
		dup2(c->log_fd, 2);
	for (int i = 0; i < n; i++)
		if (moved[i] == -1 || dup2(moved[i], FIRST_CHANNEL_FD + i) == -1)
			_exit(127);
	close_range((unsigned int)(FIRST_CHANNEL_FD + n), ~0u, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	build_argv(c, argv, channels, sizeof(channels));
	execv(c->program, argv);
	dprintf(2, "iotad: cannot run the signer %s: %s\n", c->program,
	    strerror(errno));
	_exit(127);
}

static void
send_msg(int ctl, const struct supervise_msg *m, const int *fds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SIGNER_CHANNELS_MAX)];
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (m->nfds > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)m->nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)m->nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)m->nfds);
	}
	while (sendmsg(ctl, &mh, MSG_NOSIGNAL) == -1 && errno == EINTR)
		;
}

static void
spawn(int ctl, const struct signer_link_config *c)
{
	struct supervise_msg m = { .kind = SUPERVISE_SPAWNED };
	int socks[SIGNER_CHANNELS_MAX][2], ours[SIGNER_CHANNELS_MAX], n = 0;
	pid_t pid = -1;

	for (; n < c->channels; n++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    socks[n]) == -1)
			break;
	if (n == c->channels && (pid = fork()) == 0)
		exec_signer(c, socks, n);
	else if (n == c->channels && pid != -1) {
		m.pid = pid;
		m.nfds = n;
		remember(pid, 0);
	} else
		m.kind = SUPERVISE_EXITED;	/* pid 0: none started */
	for (int i = 0; i < n; i++) {
		ours[i] = socks[i][0];
		close(socks[i][1]);
	}
	send_msg(ctl, &m, ours);
	for (int i = 0; i < n; i++)
		close(ours[i]);
}

static void
reap(int ctl)
{
	struct supervise_msg m = { .kind = SUPERVISE_EXITED };
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		m.pid = pid;
		m.status = status;
		remember(0, pid);
		send_msg(ctl, &m, NULL);
	}
}

void
supervise(int ctl, const struct signer_link_config *c)
{
	struct pollfd pfd[2];
	struct signalfd_siginfo si;
	sigset_t chld;
	char cmd;
	ssize_t n;

	/* iotad gone (even by SIGKILL): so are we, and our signers after. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NAME, "iotad-supervise");
	close_all_but(ctl, c->log_fd);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_SETMASK, &chld, NULL);
	pfd[0].fd = ctl;
	pfd[0].events = POLLIN;
	pfd[1].fd = signalfd(-1, &chld, SFD_CLOEXEC);
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			if (read(pfd[1].fd, &si, sizeof(si)) == -1 &&
			    errno != EINTR && errno != EAGAIN)
				break;
			reap(ctl);
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((n = recv(ctl, &cmd, 1, 0)) <= 0 &&
			    !(n == -1 && errno == EINTR))
				break;
			if (n == 1 && cmd == SUPERVISE_SPAWN)
				spawn(ctl, c);
		}
	}
	/* iotad went away: the signers go too. */
	for (int i = 0; i < CHILDREN_MAX; i++)
		if (children[i] > 0)
			kill(children[i], SIGTERM);
	_exit(0);
}
