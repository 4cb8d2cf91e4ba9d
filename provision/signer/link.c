/* iotad's side of its signer process: link.h. */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "link-int.h"
#include "log.h"
#include "prom.h"

/* --- signers coming and going ------------------------------------------ */

/* With the lock: the old signer's sockets close once no one uses them. */
static void
retire(struct signer_link *k, struct gen *g)
{
	if (g == NULL)
		return;
	if (k->cur == g)
		k->cur = NULL;
	g->retired = 1;
	if (g->refs == 0)
		gen_free(g);
}

/* A message from the supervisor, with the sockets it carries. */
static int
recv_msg(int ctl, struct supervise_msg *m, int *fds, int seconds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SIGNER_CHANNELS_MAX)];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct pollfd pfd = { ctl, POLLIN, 0 };
	struct cmsghdr *cm;
	ssize_t n;
	int got = 0;

	if (seconds >= 0 && poll(&pfd, 1, seconds * 1000) != 1)
		return -1;
	while ((n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*m))
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			got = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	if (got > SIGNER_CHANNELS_MAX)
		got = 0;
	if (got > 0)
		memcpy(fds, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int) *
		    (size_t)got);
	if (m->kind == SUPERVISE_SPAWNED && (got != m->nfds || got < 1)) {
		for (int i = 0; i < got; i++)
			close(fds[i]);
		return -1;
	}
	return 0;
}

/* A new signer's hello: the issuers it holds keys for. */
static struct gen *
hello(struct signer_link *k, const struct supervise_msg *m, const int *fds,
    char *err, size_t errlen)
{
	struct wire_answer no;
	unsigned char *body;
	struct gen *g;
	size_t len;
	int n;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		for (int i = 0; i < m->nfds; i++)
			close(fds[i]);
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	g->pid = m->pid;
	g->n = m->nfds;
	for (int i = 0; i < g->n; i++) {
		g->ch[i].fd = fds[i];
		set_timeout(fds[i], i == 0 ? HELLO_SECONDS : CALL_SECONDS);
	}
	if (read_frame(&g->ch[0], &body, &len) == -1) {
		errbuf_set(err, errlen, "the signer (pid %d) did not start: %s "
		    "(its reason is in the log)", (int)m->pid, strerror(errno));
		gen_free(g);
		return NULL;
	}
	pthread_mutex_lock(&k->lock);
	n = wire_get_hello(body, len, k->serials, LEDGER_MAX_ISSUERS);
	k->nserials = n > 0 ? (size_t)n : 0;
	pthread_mutex_unlock(&k->lock);
	if (n < 1 && wire_get_answer(body, len, &no) == 0 &&
	    no.status == WIRE_REFUSED)
		errbuf_set(err, errlen, "%s", no.reason);
	else if (n < 1)
		errbuf_set(err, errlen, "the signer (pid %d) said a malformed "
		    "hello", (int)m->pid);
	free(body);
	if (n < 1) {
		gen_free(g);
		return NULL;
	}
	set_timeout(fds[0], CALL_SECONDS);
	return g;
}

static void
install(struct signer_link *k, struct gen *g)
{
	pthread_mutex_lock(&k->lock);
	retire(k, k->cur);
	k->cur = g;
	k->installs++;
	wake_queue(k);
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	log_info("signer: pid %d ready, holding %zu key%s", (int)g->pid,
	    k->nserials, k->nserials == 1 ? "" : "s");
}

static int
ask_spawn(struct signer_link *k)
{
	char c = SUPERVISE_SPAWN;

	return send(k->ctl, &c, 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static void
describe_exit(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
}

/* Signers asked for since start, the first aside: for metrics. */
static struct metric_counter restarts;

unsigned long long
signer_link_restarts(void)
{
	return metric_get(&restarts);
}

/* One that lived a while is restarted at once; a crash loop waits. */
static int
respawn(struct signer_link *k, int *backoff_ms, int lived)
{
	metric_add(&restarts, 1);
	*backoff_ms = lived ? 0 : *backoff_ms == 0 ? 100 :
	    *backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff_ms * 2;
	if (*backoff_ms > 0)
		nanosleep(&(struct timespec){ *backoff_ms / 1000,
		    (*backoff_ms % 1000) * 1000000L }, NULL);
	return ask_spawn(k);
}

/* What the supervisor says, one message; 0 while it is there. */
static int
handle(struct signer_link *k, int seconds, int *backoff_ms, time_t *born)
{
	struct supervise_msg m;
	struct gen *g;
	char err[256], how[64];
	int fds[SIGNER_CHANNELS_MAX], lost;

	if (recv_msg(k->ctl, &m, fds, seconds) == -1)
		return -1;
	if (m.kind == SUPERVISE_SPAWNED) {
		if ((g = hello(k, &m, fds, err, sizeof(err))) == NULL) {
			if (k->why != NULL)	/* at start: iotad's own error */
				errbuf_set(k->why, k->whylen, "%s", err);
			else
				log_error("%s", err);
			pthread_mutex_lock(&k->lock);
			k->failures++;
			lost = k->cur == NULL;
			pthread_cond_broadcast(&k->changed);
			pthread_mutex_unlock(&k->lock);
			/* None to fall back on (after a crash): try again. */
			return lost && k->watching ? respawn(k, backoff_ms, 0) :
			    0;
		}
		install(k, g);
		*born = time(NULL);
		return 0;
	}
	pthread_mutex_lock(&k->lock);
	lost = k->cur != NULL && k->cur->pid == m.pid;
	if (lost) {
		retire(k, k->cur);
		wake_queue(k);	/* they answer 503 now, not in 10 s */
	}
	if (m.pid == 0)
		k->failures++;
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	if (!lost)
		return 0;
	describe_exit(m.status, how, sizeof(how));
	log_error("signer: pid %d %s; answering 503 until a new one is "
	    "ready", (int)m.pid, how);
	return respawn(k, backoff_ms, time(NULL) - *born > 10);
}

static void *
watch(void *arg)
{
	struct signer_link *k = arg;
	time_t born = time(NULL);
	int backoff = 0;

	while (handle(k, -1, &backoff, &born) == 0)
		;
	if (!__atomic_load_n(&k->stopping, __ATOMIC_RELAXED)) {
		log_error("signer: the supervisor is gone; stopping");
		kill(getpid(), SIGTERM);
	}
	return NULL;
}

struct signer_link *
signer_link_start(const struct signer_link_config *c, char *err,
    size_t errlen)
{
	struct signer_link *k;
	time_t born = 0;
	int sv[2], backoff = 0;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->changed, NULL);
	k->tail = &k->queue;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (k->supervisor = fork()) == -1) {
		errbuf_set(err, errlen, "cannot start the signer: %s",
		    strerror(errno));
		free(k);
		return NULL;
	}
	if (k->supervisor == 0) {
		close(sv[0]);
		supervise(sv[1], c);
	}
	close(sv[1]);
	k->ctl = sv[0];
	k->why = err;
	k->whylen = errlen;
	errbuf_set(err, errlen, "the signer could not start (%s): its reason "
	    "is in the log", c->program);
	if (ask_spawn(k) == -1 || handle(k, HELLO_SECONDS, &backoff, &born) ==
	    -1 || k->cur == NULL) {
		signer_link_stop(k);
		return NULL;
	}
	k->why = NULL;
	return k;
}

int
signer_link_watch(struct signer_link *k, char *err, size_t errlen)
{
	if (pthread_create(&k->watcher, NULL, watch, k) != 0) {
		errbuf_set(err, errlen, "cannot start the signer's watcher");
		return -1;
	}
	k->watching = 1;
	return 0;
}

int
signer_link_renew(struct signer_link *k, char *err, size_t errlen)
{
	struct timespec until;
	unsigned long installs, failures;
	int rc = 0;

	pthread_mutex_lock(&k->lock);
	installs = k->installs;
	failures = k->failures;
	if (ask_spawn(k) == -1)
		rc = -1;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HELLO_SECONDS + 5;
	while (rc == 0 && k->installs == installs && k->failures == failures)
		if (pthread_cond_timedwait(&k->changed, &k->lock, &until) ==
		    ETIMEDOUT)
			rc = -1;
	if (k->installs == installs)
		rc = -1;
	pthread_mutex_unlock(&k->lock);
	if (rc == -1)
		errbuf_set(err, errlen, "a new signer did not start (its "
		    "reason is in the log); the old one goes on");
	return rc;
}

pid_t
signer_link_pid(struct signer_link *k)
{
	pid_t pid;

	pthread_mutex_lock(&k->lock);
	pid = k->cur != NULL ? k->cur->pid : 0;
	pthread_mutex_unlock(&k->lock);
	return pid;
}

void
signer_link_stop(struct signer_link *k)
{
	if (k == NULL)
		return;
	__atomic_store_n(&k->stopping, 1, __ATOMIC_RELAXED);
	/* The supervisor sees its socket close and takes the signer along. */
	shutdown(k->ctl, SHUT_RDWR);
	if (k->watching)
		pthread_join(k->watcher, NULL);
	close(k->ctl);
	waitpid(k->supervisor, NULL, 0);
	pthread_mutex_lock(&k->lock);
	retire(k, k->cur);
	pthread_mutex_unlock(&k->lock);
	pthread_cond_destroy(&k->changed);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* --- the ledger's keys ------------------------------------------------- */

static int
holds(struct signer_link *k, const char *serial)
{
	int found = 0;

	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < k->nserials && !found; i++)
		found = strcmp(k->serials[i], serial) == 0;
	pthread_mutex_unlock(&k->lock);
	return found;
}

static struct ca_signer *
remote_signer(const struct cadir *cd, const char *serial, void *arg)
{
	struct ca_signer_link link = { signer_link_call, arg };
	struct ca_signer *s;
	char *hex;
	X509 *cert;

	cert = serial == NULL ? cadir_intermediate_cert(cd) :
	    cadir_archived_cert(cd, serial);
	if (cert == NULL)
		return NULL;
	if ((hex = ca_serial_hex(X509_get0_serialNumber(cert))) == NULL ||
	    !holds(arg, hex)) {
		ca_seterr("the signer holds no key for the intermediate with "
		    "serial %s", hex != NULL ? hex : "?");
		free(hex);
		X509_free(cert);
		return NULL;
	}
	free(hex);
	if ((s = ca_signer_remote(cert, &link)) == NULL)
		X509_free(cert);
	return s;
}

struct ledger_keys
signer_link_keys(struct signer_link *k)
{
	return (struct ledger_keys){ remote_signer, k };
}
