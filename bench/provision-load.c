/*
 * Load generator of the provisioning benchmark: POSTs pre-made JSON
 * bodies over HTTPS, from C connections at once, kept alive or one fresh
 * TLS connection per request, and prints what it saw on one line:
 *
 *   requests N ok N failed N seconds S rate R p50_ms X p99_ms Y
 *
 * usage:
 *   provision-load make  N FIRST GROUP PREFIX IOTA_OUT CFSSL_OUT
 *       N P-256 keys and CSRs for devices PREFIX<FIRST>...: IOTA_OUT gets {"device","group","csr"}
 *       bodies for iotad, CFSSL_OUT {"certificate_request"} bodies for
 *       cfssl serve; the same CSRs, one body per line.
 *   provision-load run HOST PORT PATH BODIES CONCURRENCY keepalive|fresh
 *       [AUTH_FILE]
 *       AUTH_FILE holds the Authorization header's value (a provisioning
 *       secret is never put on a command line); a body line "AUTH<TAB>BODY"
 *       brings its own (devices of many groups).  2xx answers are "ok".
 *       A body that starts with '{' goes as JSON, any other as a form
 *       (RabbitMQ's HTTP auth backend asking iotad).  LOAD_SOURCES=N
 *       spreads the connections over the source addresses 127.0.1.1-N.
 *
 * The server's certificate is not verified: this measures, it does not
 * trust, and it runs on loopback only.
 */
#define _GNU_SOURCE	/* strcasestr */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define ANSWER_MAX	(256 * 1024)

struct load {
	const char	*host, *port, *path;
	char		 auth[1024];
	char		**bodies;
	char		**auths;	/* per body, or NULL: auth */
	size_t		 n;
	int		 fresh;
	int		 sources;	/* LOAD_SOURCES: 127.0.1.x to bind */
	unsigned int	 source_next;
	SSL_CTX		*ctx;
	pthread_mutex_t	 lock;
	size_t		 next;
	size_t		 ok, failed;
	double		*latency;	/* ms, per request */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "provision-load: %s\n", what);
	exit(1);
}

/* --- make: keys, CSRs and bodies -------------------------------------- */

static char *
csr_pem(const char *cn)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	BIO *mem = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (key == NULL || req == NULL || name == NULL || mem == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_REQ(mem, req) != 1)
		die("cannot make a CSR");
	len = BIO_get_mem_data(mem, &data);
	if ((out = malloc(len + 1)) == NULL)
		die("out of memory");
	memcpy(out, data, len);
	out[len] = '\0';
	BIO_free(mem);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return out;
}

/* PEM as a JSON string body: newlines as \n. */
static void
put_json_pem(FILE *fp, const char *pem)
{
	for (; *pem != '\0'; pem++)
		if (*pem == '\n')
			fputs("\\n", fp);
		else
			fputc(*pem, fp);
}

static int
make(int argc, char **argv)
{
	FILE *iota, *cfssl;
	char cn[256];
	long n, first;

	if (argc != 8)
		die("usage: make N FIRST GROUP PREFIX IOTA_OUT CFSSL_OUT");
	n = strtol(argv[2], NULL, 10);
	first = strtol(argv[3], NULL, 10);
	if ((iota = fopen(argv[6], "w")) == NULL ||
	    (cfssl = fopen(argv[7], "w")) == NULL)
		die("cannot write the bodies");
	for (long i = first; i < first + n; i++) {
		char *pem;

		snprintf(cn, sizeof(cn), "%s%ld", argv[5], i);
		pem = csr_pem(cn);
		fprintf(iota, "{\"device\":\"%s\",\"group\":\"%s\",\"csr\":\"",
		    cn, argv[4]);
		put_json_pem(iota, pem);
		fputs("\"}\n", iota);
		fputs("{\"certificate_request\":\"", cfssl);
		put_json_pem(cfssl, pem);
		fputs("\"}\n", cfssl);
		free(pem);
	}
	if (fclose(iota) != 0 || fclose(cfssl) != 0)
		die("cannot write the bodies");
	return 0;
}

/* --- run: the load ----------------------------------------------------- */

/* A TCP connection with Nagle off (the handshake's last flight and the
 * request would otherwise wait for a delayed ACK), then TLS. */
/*
 * Many devices come from many addresses: iotad admits a bounded number
 * of connections per address, so with LOAD_SOURCES=N the connections
 * take their source from 127.0.1.1 to 127.0.1.N in turn.
 */
static int
bind_source(struct load *l, int fd, int family)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	unsigned int k;

	if (l->sources <= 0 || family != AF_INET)
		return 0;
	pthread_mutex_lock(&l->lock);
	k = l->source_next++ % (unsigned int)l->sources;
	pthread_mutex_unlock(&l->lock);
	src.sin_addr.s_addr = htonl(0x7f000101u + k);
	return bind(fd, (struct sockaddr *)&src, sizeof(src));
}

static SSL *
tls_connect(struct load *l)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	SSL *ssl;
	int fd, one = 1;

	if (getaddrinfo(l->host, l->port, &hints, &ai) != 0)
		return NULL;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd == -1 || bind_source(l, fd, ai->ai_family) == -1 || connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
		if (fd != -1)
			close(fd);
		freeaddrinfo(ai);
		return NULL;
	}
	freeaddrinfo(ai);
	if ((ssl = SSL_new(l->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, l->host) != 1 ||
	    SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	return ssl;
}

static void
tls_close(SSL *ssl)
{
	int fd;

	if (ssl == NULL)
		return;
	fd = SSL_get_fd(ssl);
	SSL_free(ssl);
	close(fd);
}

static int
write_all(SSL *ssl, const char *buf, size_t len)
{
	size_t done;

	while (len > 0) {
		if (SSL_write_ex(ssl, buf, len, &done) != 1)
			return -1;
		buf += done;
		len -= done;
	}
	return 0;
}

/* Reads one answer (Content-Length or chunked); returns the status, or -1.
 * *keep: the connection may serve another request. */
static int
read_answer(SSL *ssl, char *buf, size_t cap, int *keep)
{
	size_t len = 0, got, head = 0, want = 0;
	char *end = NULL, *cl;
	int status, chunked;

	while (end == NULL) {
		if (len + 1 >= cap || SSL_read_ex(ssl, buf + len,
		    cap - len - 1, &got) != 1)
			return -1;
		len += got;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	head = end + 4 - buf;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	*keep = strcasestr(buf, "\r\nconnection: close") == NULL;
	chunked = strcasestr(buf, "\r\ntransfer-encoding: chunked") != NULL;
	if ((cl = strcasestr(buf, "\r\ncontent-length:")) != NULL && cl < end)
		want = strtoul(cl + 17, NULL, 10);
	for (;;) {
		if (!chunked && len - head >= want)
			break;
		if (chunked && strstr(buf + head, "\r\n0\r\n\r\n") != NULL)
			break;
		if (len + 1 >= cap || SSL_read_ex(ssl, buf + len,
		    cap - len - 1, &got) != 1)
			return -1;
		len += got;
		buf[len] = '\0';
	}
	return status;
}

static int
one_request(struct load *l, SSL **sslp, size_t i, char *buf)
{
	const char *body = l->bodies[i];
	const char *auth = l->auths[i] != NULL ? l->auths[i] : l->auth;
	char head[2048];
	int n, status, keep = 0;
	size_t blen = strlen(body);

	for (int attempt = 0; attempt < 2; attempt++) {
		if (*sslp == NULL && (*sslp = tls_connect(l)) == NULL)
			return -1;
		n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\n"
		    "Host: %s\r\nContent-Type: %s\r\n"
		    "%s%s%sContent-Length: %zu\r\n%s\r\n", l->path, l->host,
		    body[0] == '{' ? "application/json" :
		    "application/x-www-form-urlencoded",
		    auth[0] != '\0' ? "Authorization: " : "", auth,
		    auth[0] != '\0' ? "\r\n" : "", strlen(body),
		    l->fresh ? "Connection: close\r\n" : "");
		/* One write: head and body in separate records would meet
		 * Nagle and delayed ACKs (40 ms a request). */
		if ((size_t)n + blen >= ANSWER_MAX)
			return -1;
		memcpy(buf, head, n);
		memcpy(buf + n, body, blen);
		if (write_all(*sslp, buf, n + blen) == 0 &&
		    (status = read_answer(*sslp, buf, ANSWER_MAX, &keep)) > 0) {
			if (!keep || l->fresh) {
				tls_close(*sslp);
				*sslp = NULL;
			}
			return status;
		}
		/* A kept connection the server had closed: once more. */
		tls_close(*sslp);
		*sslp = NULL;
		if (l->fresh)
			break;
	}
	return -1;
}

static void *
worker(void *arg)
{
	struct load *l = arg;
	SSL *ssl = NULL;
	char *buf;
	size_t i;
	double t0;
	int status;

	if ((buf = malloc(ANSWER_MAX)) == NULL)
		die("out of memory");
	for (;;) {
		pthread_mutex_lock(&l->lock);
		i = l->next++;
		pthread_mutex_unlock(&l->lock);
		if (i >= l->n)
			break;
		t0 = now_s();
		status = one_request(l, &ssl, i, buf);
		l->latency[i] = (now_s() - t0) * 1000;
		pthread_mutex_lock(&l->lock);
		if (status >= 200 && status < 300)
			l->ok++;
		else {
			if (l->failed++ == 0)
				fprintf(stderr, "provision-load: first failure: "
				    "status %d: %.200s\n", status,
				    status > 0 ? buf : "no answer");
		}
		pthread_mutex_unlock(&l->lock);
	}
	tls_close(ssl);
	free(buf);
	return NULL;
}

static void
read_bodies(struct load *l, const char *file)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0, have = 0;
	ssize_t len;
	char *tab;

	if ((fp = fopen(file, "r")) == NULL)
		die("cannot read the bodies");
	while ((len = getline(&line, &cap, fp)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (l->n == have) {
			have = have ? 2 * have : 1024;
			if ((l->bodies = realloc(l->bodies, have *
			    sizeof(char *))) == NULL || (l->auths =
			    realloc(l->auths, have * sizeof(char *))) == NULL)
				die("out of memory");
		}
		l->auths[l->n] = NULL;
		if ((tab = strchr(line, '\t')) != NULL) {
			*tab = '\0';
			if ((l->auths[l->n] = strdup(line)) == NULL)
				die("out of memory");
		}
		if ((l->bodies[l->n++] = strdup(tab != NULL ? tab + 1 :
		    line)) == NULL)
			die("out of memory");
	}
	free(line);
	fclose(fp);
}

static void
read_auth(struct load *l, const char *file)
{
	FILE *fp;

	if ((fp = fopen(file, "r")) == NULL ||
	    fgets(l->auth, sizeof(l->auth), fp) == NULL)
		die("cannot read the authorization file");
	l->auth[strcspn(l->auth, "\r\n")] = '\0';
	fclose(fp);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
run(int argc, char **argv)
{
	struct load l = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t *t;
	double t0, secs;
	long c;

	if (argc != 8 && argc != 9)
		die("usage: run HOST PORT PATH BODIES CONCURRENCY "
		    "keepalive|fresh [AUTH_FILE]");
	l.host = argv[2];
	l.port = argv[3];
	l.path = argv[4];
	read_bodies(&l, argv[5]);
	c = strtol(argv[6], NULL, 10);
	if (getenv("LOAD_SOURCES") != NULL)
		l.sources = (int)strtol(getenv("LOAD_SOURCES"), NULL, 10);
	l.fresh = strcmp(argv[7], "fresh") == 0;
	if (argc == 9)
		read_auth(&l, argv[8]);
	if (c < 1 || c > 1024 || l.n == 0)
		die("bad concurrency or no bodies");
	if ((l.ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (l.latency = calloc(l.n, sizeof(double))) == NULL ||
	    (t = calloc(c, sizeof(*t))) == NULL)
		die("out of memory");
	SSL_CTX_set_verify(l.ctx, SSL_VERIFY_NONE, NULL);
	t0 = now_s();
	for (long i = 0; i < c; i++)
		if (pthread_create(&t[i], NULL, worker, &l) != 0)
			die("cannot start a thread");
	for (long i = 0; i < c; i++)
		pthread_join(t[i], NULL);
	secs = now_s() - t0;
	qsort(l.latency, l.n, sizeof(double), cmp_double);
	printf("requests %zu ok %zu failed %zu seconds %.3f rate %.1f "
	    "p50_ms %.2f p99_ms %.2f\n", l.n, l.ok, l.failed, secs,
	    l.ok / secs, l.latency[l.n / 2], l.latency[(l.n * 99) / 100]);
	SSL_CTX_free(l.ctx);
	return l.failed != 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "make") == 0)
		return make(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return run(argc, argv);
	fprintf(stderr, "usage: provision-load make|run ...\n");
	return 2;
}
