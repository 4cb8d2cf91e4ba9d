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
#include "link.h"
#include "log.h"
#include "signer-wire.h"

#define CALL_SECONDS	10	/* a signature takes a millisecond */
#define HELLO_SECONDS	60	/* scrypt over every key, on a slow machine */
#define BACKOFF_MAX_MS	10000

/* One signer process: its sockets, each carrying one request at a time. */
struct chan {
	int	fd;
	int	busy;
	int	dead;
};
struct gen {
	pid_t		 pid;
	int		 n;
	struct chan	 ch[SIGNER_CHANNELS_MAX];
	int		 refs;		/* requests on its sockets now */
	int		 retired;	/* replaced: closed when refs is 0 */
};

struct signer_link {
	pthread_mutex_t	 lock;
	pthread_cond_t	 changed;
	int		 ctl;		/* the supervisor's socket */
	pid_t		 supervisor;
	struct gen	*cur;		/* NULL: no signer now */
	unsigned long	 installs;	/* signers installed so far */
	unsigned long	 failures;	/* signers that never said hello */
	char		 serials[LEDGER_MAX_ISSUERS][CA_SERIAL_HEX_MAX + 1];
	size_t		 nserials;
	pthread_t	 watcher;
	int		 watching;
	int		 stopping;
	char		*why;		/* at start: where the error goes */
	size_t		 whylen;
};

static struct timespec
deadline_in(int seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += seconds;
	return ts;
}

static int
ms_left(const struct timespec *until)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (until->tv_sec - now.tv_sec) * 1000LL +
	    (until->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/* --- frames over one socket -------------------------------------------- */

static int
send_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
recv_all(int fd, unsigned char *p, size_t len, const struct timespec *until)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;
	int rc;

	while (len > 0) {
		if ((rc = poll(&pfd, 1, ms_left(until))) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1 || (n = recv(fd, p, len, 0)) == 0) {
			if (rc != -1)
				errno = EPIPE;
			return -1;
		}
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One frame's body, malloc'd; -1 with errno. */
static int
read_frame(int fd, int seconds, unsigned char **body, size_t *len)
{
	struct timespec until = deadline_in(seconds);
	unsigned char head[4];
	uint32_t n;

	if (recv_all(fd, head, 4, &until) == -1)
		return -1;
	if ((n = wire_frame_len(head)) == 0 || n > WIRE_FRAME_MAX) {
		errno = EPROTO;
		return -1;
	}
	if ((*body = malloc(n)) == NULL)
		return -1;
	if (recv_all(fd, *body, n, &until) == -1) {
		free(*body);
		*body = NULL;
		return -1;
	}
	*len = n;
	return 0;
}

/* --- signers coming and going ------------------------------------------ */

static void
gen_free(struct gen *g)
{
	for (int i = 0; i < g->n; i++)
		close(g->ch[i].fd);
	free(g);
}

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
	for (int i = 0; i < g->n; i++)
		g->ch[i].fd = fds[i];
	if (read_frame(fds[0], HELLO_SECONDS, &body, &len) == -1) {
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
	return g;
}

static void
install(struct signer_link *k, struct gen *g)
{
	pthread_mutex_lock(&k->lock);
	retire(k, k->cur);
	k->cur = g;
	k->installs++;
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

/* One that lived a while is restarted at once; a crash loop waits. */
static int
respawn(struct signer_link *k, int *backoff_ms, int lived)
{
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
	if (lost)
		retire(k, k->cur);
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

/* --- requests ---------------------------------------------------------- */

static int
unavailable(const char *why)
{
	ca_seterr("the signer is unavailable: %s", why);
	ca_set_unavailable();
	return -1;
}

/* A free socket of the current signer, or NULL and why; with the lock. */
static struct chan *
take_chan(struct signer_link *k, struct gen **gp, const char **why)
{
	struct timespec until;
	int alive;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CALL_SECONDS;
	for (;;) {
		struct gen *g = k->cur;

		if (g == NULL) {
			*why = "it is not running";
			return NULL;
		}
		alive = 0;
		for (int i = 0; i < g->n; i++) {
			if (g->ch[i].dead)
				continue;
			alive++;
			if (!g->ch[i].busy) {
				g->ch[i].busy = 1;
				g->refs++;
				*gp = g;
				return &g->ch[i];
			}
		}
		if (alive == 0) {
			*why = "it does not answer";
			return NULL;
		}
		if (pthread_cond_timedwait(&k->changed, &k->lock, &until) ==
		    ETIMEDOUT) {
			*why = "it is busy";
			return NULL;
		}
	}
}

static int
call(void *arg, const unsigned char *frame, size_t len, unsigned char **body,
    size_t *blen)
{
	struct signer_link *k = arg;
	struct gen *g = NULL;
	struct chan *ch;
	const char *why;
	int rc, e;

	pthread_mutex_lock(&k->lock);
	ch = take_chan(k, &g, &why);
	pthread_mutex_unlock(&k->lock);
	if (ch == NULL)
		return unavailable(why);
	rc = send_all(ch->fd, frame, len);
	if (rc == 0)
		rc = read_frame(ch->fd, CALL_SECONDS, body, blen);
	e = errno;
	pthread_mutex_lock(&k->lock);
	ch->busy = 0;
	if (rc == -1)
		ch->dead = 1;	/* a frame may be half-way: never reused */
	if (--g->refs == 0 && g->retired)
		gen_free(g);
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	return rc == 0 ? 0 : unavailable(strerror(e));
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
	struct ca_signer_link link = { call, arg };
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
