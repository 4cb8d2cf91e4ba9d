/*
 * iota-signer: started by iotad's supervisor (link.h) with its sockets as
 * descriptors 3, 4, ...  It reads the CA keys, gives up root and every
 * system call it does not need, says hello with the issuers it holds and
 * answers requests, one thread a socket, until iotad closes them.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadir.h"
#include "file.h"
#include "log.h"
#include "privdrop.h"
#include "token.h"
#include "signer.h"

#define FIRST_FD	3

struct options {
	const char	*ca_dir;
	const char	*passphrase_file;
	const char	*user;
	const char	*pkcs11_module;
	int		 channels;
	int		 seccomp;
	enum log_level	 level;
};

static struct keyring ring;
static int on_token;		/* a key is a PKCS#11 token's */

static void __attribute__((noreturn))
die(const char *fmt, const char *arg)
{
	log_error(fmt, arg);
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: iota-signer --ca-dir DIR --passphrase-file "
	    "FILE --channels N [--pkcs11-module PATH] [--user USER]\n"
	    "    [--no-seccomp] [--log-level L]\n"
	    "iotad starts it; it is not run by hand.\n");
	exit(2);
}

static enum log_level
level_of(const char *s)
{
	static const char *names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum log_level)i;
	usage();
}

static void
parse(int argc, char *argv[], struct options *o)
{
	static const struct option longopts[] = {
		{ "ca-dir", required_argument, NULL, 'd' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "pkcs11-module", required_argument, NULL, 'm' },
		{ "channels", required_argument, NULL, 'n' },
		{ "no-seccomp", no_argument, NULL, 'S' },
		{ "log-level", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->seccomp = 1;
	o->level = LOG_LEVEL_INFO;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->ca_dir = optarg; break;
		case 'p': o->passphrase_file = optarg; break;
		case 'u': o->user = optarg; break;
		case 'm': o->pkcs11_module = optarg; break;
		case 'n': o->channels = atoi(optarg); break;
		case 'S': o->seccomp = 0; break;
		case 'l': o->level = level_of(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || o->ca_dir == NULL || o->passphrase_file == NULL ||
	    o->channels < 1 || o->channels > KEYRING_MAX)
		usage();
}

/* Only iotad's sockets: run by hand, there is nothing to answer. */
static void
check_sockets(int n)
{
	struct stat st;

	for (int i = 0; i < n; i++)
		if (fstat(FIRST_FD + i, &st) == -1 || !S_ISSOCK(st.st_mode))
			die("%s", "descriptors 3 and on are not iotad's sockets "
			    "(iotad starts the signer)");
}

struct load_job {
	const char	*pass;
	size_t		 len;
	time_t		 now;
};

static int
load_key(const struct cadir *cd, const char *serial, void *arg)
{
	struct load_job *j = arg;
	struct ca_signer *s;
	char *hex, uri[256];

	if (ring.n == KEYRING_MAX) {
		ca_seterr("more than %d intermediates", KEYRING_MAX);
		return -1;
	}
	snprintf(uri, sizeof(uri), "%s/%s%s", serial == NULL ? "." :
	    CADIR_ARCHIVE, serial == NULL ? CADIR_INTER_KEY : serial,
	    serial == NULL ? CADIR_URI_SUFFIX : ".key" CADIR_URI_SUFFIX);
	if (access(cadir_file(cd, uri), F_OK) == 0)
		on_token = 1;
	s = serial == NULL ? cadir_intermediate_signer(cd, j->pass, j->len) :
	    cadir_archived_signer(cd, serial, j->pass, j->len);
	if (s == NULL)
		return -1;
	/* An archived one past its time signs nothing any more. */
	if (serial != NULL && ca_time_from_asn1(X509_get0_notAfter(
	    ca_signer_cert(s))) < j->now) {
		ca_signer_free(s);
		return 0;
	}
	if ((hex = ca_serial_hex(X509_get0_serialNumber(ca_signer_cert(s)))) ==
	    NULL) {
		ca_signer_free(s);
		return -1;
	}
	ca_signer_restrict(s, CA_ALLOW(CA_PROFILE_DEVICE));
	snprintf(ring.keys[ring.n].serial, sizeof(ring.keys[0].serial), "%s",
	    hex);
	ring.keys[ring.n++].signer = s;
	free(hex);
	return 0;
}

/* Instead of a hello: why there is none, for iotad's one-line error. */
static void
say_no(const char *why)
{
	struct wire_answer a = { .status = WIRE_REFUSED };
	struct wire_buf b;

	snprintf(a.reason, sizeof(a.reason), "%s", why);
	if (wire_put_answer(&b, &a) == 0) {
		(void)send(FIRST_FD, b.p, b.len, MSG_NOSIGNAL);
		wire_buf_free(&b);
	}
}

static void
load_keys(const struct options *o)
{
	struct load_job j = { .now = time(NULL) };
	struct cadir *cd = NULL;
	char err[512], *pass;
	int rc;

	if ((pass = file_first_line(o->passphrase_file, 4096, &j.len, err,
	    sizeof(err))) == NULL)
		die("%s", err);
	j.pass = pass;
	if (ca_token_set_module(o->pkcs11_module) == -1)
		rc = -1;
	else if ((cd = cadir_open(o->ca_dir, 0)) == NULL)
		rc = -1;
	else
		rc = cadir_issuers(cd, load_key, &j);
	file_line_free(pass, j.len);
	cadir_close(cd);
	if (rc == -1) {
		say_no(ca_errstr());
		die("cannot load the CA keys: %s", ca_errstr());
	}
}

static int
send_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One socket's bytes read and not yet answered. */
struct inbox {
	unsigned char	*p;
	size_t		 have;
	size_t		 cap;
};

/* More bytes from iotad, at least one; 0 at its end, -1 on an error. */
static int
fill(int fd, struct inbox *in, size_t want)
{
	unsigned char *np;
	size_t cap = in->cap ? in->cap : 65536;
	ssize_t n;

	while (cap < want)
		cap *= 2;
	if (cap != in->cap) {
		if ((np = realloc(in->p, cap)) == NULL)
			return -1;
		in->p = np;
		in->cap = cap;
	}
	while ((n = recv(fd, in->p + in->have, in->cap - in->have, 0)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0)
		return n == 0 ? 0 : -1;
	in->have += (size_t)n;
	return 1;
}

/*
 * Every whole frame read so far, answered into `out` in order; the bytes
 * of a frame not yet whole stay.  -1 for a frame that cannot be framed.
 */
static int
answer_all(int fd, struct inbox *in, struct wire_buf *all, size_t *need)
{
	struct wire_buf one;
	size_t off = 0;
	uint32_t n;

	*need = 4;
	while (in->have - off >= 4) {
		n = wire_frame_len(in->p + off);
		if (n == 0 || n > WIRE_FRAME_MAX) {
			/* What follows cannot be framed: this socket is done. */
			log_warn("refused a frame of %u bytes; closing socket %d",
			    (unsigned int)n, fd);
			return -1;
		}
		if (in->have - off - 4 < n) {
			*need = 4 + (size_t)n;
			break;
		}
		memset(&one, 0, sizeof(one));
		if (serve_one(&ring, in->p + off + 4, n, &one) == -1)
			return -1;
		wire_buf_append(all, one.p, one.len);
		wire_buf_free(&one);
		off += 4 + (size_t)n;
	}
	memmove(in->p, in->p + off, in->have - off);
	in->have -= off;
	return all->failed ? -1 : 0;
}

/*
 * One socket's requests until iotad closes it: what one read brought (a
 * batch, as a rule) is answered in one write.
 */
static void *
channel(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct inbox in = { NULL, 0, 0 };
	struct wire_buf out;
	size_t need = 4;

	while (fill(fd, &in, need) == 1) {
		memset(&out, 0, sizeof(out));
		if (answer_all(fd, &in, &out, &need) == -1 ||
		    (out.len > 0 && send_all(fd, out.p, out.len) == -1)) {
			wire_buf_free(&out);
			break;
		}
		wire_buf_free(&out);
	}
	free(in.p);
	close(fd);
	return NULL;
}

static void
say_hello(void)
{
	char serials[KEYRING_MAX][CA_SERIAL_HEX_MAX + 1];
	struct wire_buf b;

	for (size_t i = 0; i < ring.n; i++)
		memcpy(serials[i], ring.keys[i].serial, sizeof(serials[i]));
	if (wire_put_hello(&b, serials, ring.n) == -1 ||
	    send_all(FIRST_FD, b.p, b.len) == -1)
		die("%s", "cannot say hello to iotad");
	wire_buf_free(&b);
}

int
main(int argc, char *argv[])
{
	struct options o = { 0 };
	pthread_t threads[KEYRING_MAX];
	char err[256], who[128], filter[160] = "seccomp off";
	int n;

	log_set_program("iota-signer");
	parse(argc, argv, &o);
	log_init(o.level, NULL, NULL);
	/* The supervisor gone means iotad is: nothing left to sign for. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		exit(1);
	/* No core dump, no ptrace by the same user: the key stays here. */
	prctl(PR_SET_DUMPABLE, 0);
	check_sockets(o.channels);
	load_keys(&o);
	if (privdrop(o.user, err, sizeof(err)) == -1)
		die("%s", err);
	for (int i = 0; i < o.channels; i++)
		if (pthread_create(&threads[i], NULL, channel,
		    (void *)(intptr_t)(FIRST_FD + i)) != 0)
			die("%s", "cannot start a thread");
	privdrop_describe(who, sizeof(who));
	if (o.seccomp) {
		if ((n = sandbox_enter(on_token, err, sizeof(err))) == -1)
			die("%s", err);
		snprintf(filter, sizeof(filter), "seccomp: %d system calls%s%s",
		    n, on_token ? " (a token's files: read only)" : "",
#ifdef __SANITIZE_ADDRESS__
		    " (a sanitizer build: others logged, not refused)"
#else
		    ""
#endif
		    );
	}
	log_info("pid %d holds %zu key%s; runs as %s; no-new-privileges, not "
	    "dumpable, %s", (int)getpid(), ring.n, ring.n == 1 ? "" : "s", who,
	    filter);
	say_hello();
	for (int i = 0; i < o.channels; i++)
		pthread_join(threads[i], NULL);
	for (size_t i = 0; i < ring.n; i++)
		ca_signer_free(ring.keys[i].signer);
	return 0;
}
