/*
 * The RabbitMQ management adapter.  Without a broker: password hashes and
 * passwords, what goes on the wire (paths, bodies, headers) against a fake
 * HTTP server in a thread, and every way a call fails.  With a broker
 * (RABBIT_MGMT_URL, RABBIT_MGMT_CREDS a file "user:password", and
 * RABBIT_AMQP_PORT for the AMQP checks): the rights a device ends with,
 * exactly, and what they let it do.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "broker.h"
#include "tap.h"

#define MGMT_PW		"mgmt-Secret-pw"
#define ERRLEN		512
#define REQS_KEPT	16
#define REQ_MAX		(1024 * 1024)

/* A fake management API: one request per connection, recorded. */
struct fake {
	int		 fd;
	int		 port;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	int		 stop;
	int		 status;	/* the answer to every request */
	char		 body[512];
	int		 silent;	/* accept, read, never answer */
	SSL_CTX		*tls;		/* HTTPS when set */
	int		 nreq;
	char		*reqs[REQS_KEPT];	/* the first ones, whole */
	/*
	 * A global parameter store instead of the fixed answer, when set:
	 * GET of /api/global-parameters/... answers 200 with what the last
	 * PUT sent (or 404), PUT keeps its body (or answers write_fail),
	 * DELETE forgets it.
	 */
	int		 params;
	char		*param;		/* the stored body, or NULL */
	int		 write_fail;	/* status of PUT and DELETE; 0: 204 */
	int		 ngets;		/* GETs of the store */
};

static struct fake fk;

/* A client of the fake: plain or TLS. */
struct peer {
	int	 fd;
	SSL	*ssl;
};

static ssize_t
peer_read(struct peer *p, char *buf, size_t len)
{
	int n;

	if (p->ssl == NULL)
		return read(p->fd, buf, len);
	n = SSL_read(p->ssl, buf, (int)len);
	return n > 0 ? n : -1;
}

static void
peer_write(struct peer *p, const char *buf, size_t len)
{
	if (p->ssl != NULL)
		SSL_write(p->ssl, buf, (int)len);
	else if (send(p->fd, buf, len, MSG_NOSIGNAL) < 0)
		return;
}

static char *
read_request(struct peer *p)
{
	char *buf = malloc(REQ_MAX + 1), *hend, *cl;
	size_t len = 0, want = 0;
	ssize_t n;

	while (buf != NULL && len < REQ_MAX) {
		if ((n = peer_read(p, buf + len, REQ_MAX - len)) <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if ((hend = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (want == 0) {
			cl = strstr(buf, "\r\nContent-Length:");
			want = (size_t)(hend + 4 - buf) +
			    (cl != NULL && cl < hend ? strtoul(cl + 17, NULL, 10) :
			    0);
		}
		if (len >= want)
			break;
	}
	return buf;
}

static void
answer_with(struct peer *p, int status, const char *body)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d Fake\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", status, strlen(body));
	peer_write(p, head, (size_t)n);
	peer_write(p, body, strlen(body));
}

static void
answer(struct peer *p)
{
	char body[sizeof(fk.body)];
	int status;

	pthread_mutex_lock(&fk.mu);
	status = fk.status;
	memcpy(body, fk.body, sizeof(body));
	pthread_mutex_unlock(&fk.mu);
	answer_with(p, status, body);
}

/*
 * The store of fk.params: the request applied, the answer's status
 * returned and its body in *body (to free).
 */
static int
param_request(const char *req, char **body)
{
	const char *b = strstr(req, "\r\n\r\n");
	char *keep = NULL;
	int status;

	pthread_mutex_lock(&fk.mu);
	if (strncmp(req, "GET ", 4) == 0) {
		fk.ngets++;
		status = fk.param != NULL ? 200 : 404;
		*body = strdup(fk.param != NULL ? fk.param : "{\"error\":"
		    "\"Object Not Found\",\"reason\":\"Not Found\"}");
	} else if ((status = fk.write_fail) != 0)
		*body = strdup("");
	else {
		if (strncmp(req, "PUT ", 4) == 0 && b != NULL)
			keep = strdup(b + 4);
		free(fk.param);
		fk.param = keep;
		status = 204;
		*body = strdup("");
	}
	pthread_mutex_unlock(&fk.mu);
	return status;
}

/* The store's content, set by the test (NULL: none). */
static void
param_set(const char *body)
{
	pthread_mutex_lock(&fk.mu);
	free(fk.param);
	fk.param = body != NULL ? strdup(body) : NULL;
	fk.write_fail = 0;
	fk.ngets = 0;
	pthread_mutex_unlock(&fk.mu);
}

static void
record(char *req)
{
	pthread_mutex_lock(&fk.mu);
	if (fk.nreq < REQS_KEPT) {
		fk.reqs[fk.nreq] = req;
		req = NULL;
	}
	fk.nreq++;
	pthread_mutex_unlock(&fk.mu);
	free(req);
}

static void
serve(int c)
{
	struct peer p = { c, NULL };
	SSL_CTX *tls;
	char *req;

	pthread_mutex_lock(&fk.mu);
	tls = fk.tls;
	pthread_mutex_unlock(&fk.mu);
	if (tls != NULL && ((p.ssl = SSL_new(tls)) == NULL ||
	    SSL_set_fd(p.ssl, c) != 1 || SSL_accept(p.ssl) != 1))
		goto out;	/* the client did not trust us: nothing recorded */
	req = read_request(&p);
	if (__atomic_load_n(&fk.params, __ATOMIC_SEQ_CST) && req != NULL) {
		char *body = NULL;
		int status = param_request(req, &body);

		record(req);
		answer_with(&p, status, body != NULL ? body : "");
		free(body);
		goto done;
	}
	record(req);
	while (__atomic_load_n(&fk.silent, __ATOMIC_SEQ_CST) &&
	    !__atomic_load_n(&fk.stop, __ATOMIC_SEQ_CST))
		poll(NULL, 0, 20);	/* until the test has seen its timeout */
	answer(&p);
done:
	if (p.ssl != NULL)
		SSL_shutdown(p.ssl);
out:
	SSL_free(p.ssl);
	close(c);
}

static void *
fake_main(void *arg)
{
	struct pollfd p = { .events = POLLIN };
	int c;

	(void)arg;
	p.fd = fk.fd;
	while (!__atomic_load_n(&fk.stop, __ATOMIC_SEQ_CST)) {
		if (poll(&p, 1, 50) != 1)
			continue;
		if ((c = accept(fk.fd, NULL, NULL)) != -1)
			serve(c);
	}
	return NULL;
}

/* A loopback socket bound to a free port; listening or not. */
static int
bound_socket(int *port, int listening)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1 ||
	    (listening && listen(fd, 64) == -1))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static void
fake_start(void)
{
	pthread_mutex_init(&fk.mu, NULL);
	if ((fk.fd = bound_socket(&fk.port, 1)) == -1 ||
	    pthread_create(&fk.thread, NULL, fake_main, NULL) != 0) {
		printf("Bail out! no fake server: %s\n", strerror(errno));
		exit(1);
	}
}

static void
fake_reset(int status, const char *body)
{
	pthread_mutex_lock(&fk.mu);
	for (int i = 0; i < fk.nreq && i < REQS_KEPT; i++) {
		free(fk.reqs[i]);
		fk.reqs[i] = NULL;
	}
	fk.nreq = 0;
	fk.status = status;
	snprintf(fk.body, sizeof(fk.body), "%s", body);
	pthread_mutex_unlock(&fk.mu);
}

static void
fake_stop(void)
{
	__atomic_store_n(&fk.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(fk.thread, NULL);
	close(fk.fd);
	fake_reset(0, "");
	pthread_mutex_destroy(&fk.mu);
}

/* The request line of request i, "METHOD PATH". */
static char *
req_line(int i, char *out, size_t outlen)
{
	const char *r = i < REQS_KEPT ? fk.reqs[i] : NULL;
	size_t n;

	out[0] = '\0';
	if (r == NULL)
		return out;
	n = strcspn(r, "\r");
	if (n >= 9 && strncmp(r + n - 9, " HTTP/1.1", 9) == 0)
		n -= 9;
	snprintf(out, outlen, "%.*s", (int)n, r);
	return out;
}

static const char *
req_body(int i)
{
	const char *r = i < REQS_KEPT ? fk.reqs[i] : NULL, *b;

	return r != NULL && (b = strstr(r, "\r\n\r\n")) != NULL ? b + 4 : "";
}

static struct broker *
fake_broker(long timeout_ms, char *err)
{
	char url[64];
	struct broker_config cf = { url, "admin", MGMT_PW, NULL, timeout_ms };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", fk.port);
	return broker_new(&cf, err, ERRLEN);
}

static int
one_line(const char *s)
{
	return s[0] != '\0' && strchr(s, '\n') == NULL &&
	    strchr(s, '\r') == NULL;
}

/* Hashes and passwords. */

static void
test_hash(void)
{
	char h[BROKER_HASH_LEN + 1], h2[BROKER_HASH_LEN + 1];
	unsigned char raw[64], md[32], in[64];
	unsigned int mdlen = sizeof(md);
	int n;

	ok(broker_password_hash("correct horse", h, sizeof(h)) == 0,
	    "a password hashed");
	is_int(strlen(h), BROKER_HASH_LEN, "48 base64 characters");
	n = EVP_DecodeBlock(raw, (unsigned char *)h, BROKER_HASH_LEN);
	is_int(n, BROKER_SALT_LEN + 32, "decodes to 4 + 32 bytes");
	memcpy(in, raw, BROKER_SALT_LEN);
	memcpy(in + BROKER_SALT_LEN, "correct horse", 13);
	EVP_Digest(in, BROKER_SALT_LEN + 13, md, &mdlen, EVP_sha256(), NULL);
	ok(memcmp(raw + BROKER_SALT_LEN, md, 32) == 0,
	    "SHA-256(salt || password) follows the salt");
	ok(broker_password_hash("correct horse", h2, sizeof(h2)) == 0 &&
	    strcmp(h, h2) != 0, "a new salt each time");
	ok(broker_password_hash("x", h, BROKER_HASH_LEN) == -1,
	    "a short buffer is refused");
}

static int
b64url_only(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_password(void)
{
	static char pw[1000][BROKER_PASSWORD_LEN + 1];
	int seen[256] = { 0 }, distinct = 0, dup = 0, bad = 0;

	for (int i = 0; i < 1000; i++) {
		bad += broker_random_password(pw[i], sizeof(pw[i])) != 0 ||
		    strlen(pw[i]) != BROKER_PASSWORD_LEN || !b64url_only(pw[i]);
		for (const char *p = pw[i]; *p != '\0'; p++)
			distinct += seen[(unsigned char)*p]++ == 0;
	}
	is_int(bad, 0, "1000 passwords of 43 base64url characters (256 bits)");
	qsort(pw, 1000, sizeof(pw[0]), cmp_str);
	for (int i = 1; i < 1000; i++)
		dup += strcmp(pw[i - 1], pw[i]) == 0;
	is_int(dup, 0, "all different");
	is_int(distinct, 64, "every base64url character occurs");
	ok(broker_random_password(pw[0], BROKER_PASSWORD_LEN) == -1,
	    "a short buffer is refused");
}

/* Configuration. */

static void
test_new(void)
{
	const char *bad[] = { "ftp://127.0.0.1", "127.0.0.1:15672",
	    "http://admin:" MGMT_PW "@127.0.0.1:15672", "http://",
	    "http://h/api?x=1", "http://h /x" };
	struct broker_config cf = { NULL, "admin", MGMT_PW, NULL, 1000 };
	char err[ERRLEN];
	struct broker *b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cf.mgmt_url = bad[i];
		b = broker_new(&cf, err, sizeof(err));
		ok(b == NULL && one_line(err) && strstr(err, MGMT_PW) == NULL,
		    "URL %zu refused, one line, no password: %s", i, err);
		broker_free(b);
	}
	cf.mgmt_url = "https://127.0.0.1:15671/";
	ok((b = broker_new(&cf, err, sizeof(err))) != NULL, "https accepted");
	broker_free(b);
	broker_free(NULL);
	ok(1, "broker_free(NULL) is a no-op");
	is_str(broker_strerror(BROKER_UNAVAILABLE), "broker unavailable",
	    "codes have names");
}

/* What goes on the wire. */

static const struct broker_device dev1 = {
	"/", "t1.dev-1@x{username}", "", "grp_1", "dev-1"
};

static void
test_device_put(void)
{
	char err[ERRLEN] = "", line[512];
	struct broker *b = fake_broker(2000, err);
	int rc;

	fake_reset(204, "");
	rc = broker_device_put(b, &dev1, err, sizeof(err));
	is_int(rc, BROKER_OK, "device put: %s", err);
	is_int(fk.nreq, 3, "three calls");
	is_str(req_line(0, line, sizeof(line)),
	    "PUT /api/users/t1%2Edev-1%40x%7Busername%7D",
	    "the user first, its name percent-encoded");
	is_str(req_body(0), "{\"password_hash\":\"\",\"hashing_algorithm\":"
	    "\"rabbit_password_hashing_sha256\",\"tags\":\"\"}",
	    "the user's body: the hash, no password");
	is_str(req_line(1, line, sizeof(line)),
	    "PUT /api/topic-permissions/%2F/t1%2Edev-1%40x%7Busername%7D",
	    "then its topic permissions, vhost / as %%2F");
	is_str(req_body(1), "{\"exchange\":\"amq.topic\",\"write\":"
	    "\"^devices\\\\.grp_1\\\\.dev\\\\-1(\\\\..*)?$\",\"read\":"
	    "\"^commands\\\\.grp_1\\\\.dev\\\\-1(\\\\..*)?$\"}",
	    "topic permissions: own prefixes, anchored, escaped");
	is_str(req_line(2, line, sizeof(line)),
	    "PUT /api/permissions/%2F/t1%2Edev-1%40x%7Busername%7D",
	    "then its permissions");
	is_str(req_body(2), "{\"configure\":\"^mqtt-subscription-t1\\\\.dev"
	    "\\\\-1\\\\@x\\\\{username\\\\}qos[01]$\",\"write\":\"^(amq\\\\."
	    "topic|mqtt-subscription-t1\\\\.dev\\\\-1\\\\@x\\\\{username\\\\}"
	    "qos[01])$\",\"read\":\"^(amq\\\\.topic|mqtt-subscription-t1\\\\."
	    "dev\\\\-1\\\\@x\\\\{username\\\\}qos[01])$\"}",
	    "permissions: amq.topic and its own queues, nothing expanded");
	like(fk.reqs[0], "\r\nAuthorization: Basic YWRtaW46bWdtdC1TZWNyZXQtcHc=",
	    "Basic authentication as the management user");
	like(fk.reqs[0], "\r\nContent-Type: application/json",
	    "JSON declared");
	broker_free(b);
}

static void
test_bad_input(void)
{
	struct broker_device d[] = { dev1, dev1, dev1, dev1, dev1, dev1 };
	char err[ERRLEN], h[BROKER_HASH_LEN + 1];
	struct broker *b = fake_broker(2000, err);

	d[0].group = "a.b";
	d[1].device = "a+b";
	d[2].device = "#";
	d[3].user = "a b";
	d[4].vhost = "";
	broker_password_hash("pw", h, sizeof(h));
	h[10] = '\0';
	d[5].password_hash = h;
	fake_reset(204, "");
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		err[0] = '\0';
		is_int(broker_device_put(b, &d[i], err, sizeof(err)),
		    BROKER_ERROR, "bad device %zu refused: %s", i, err);
	}
	ok(strstr(err, h) == NULL, "the hash is not quoted");
	is_int(broker_devices_put(b, d, 6, err, sizeof(err)), BROKER_ERROR,
	    "a batch with a bad device refused");
	is_int(broker_vhost_ensure(b, "a\nb", err, sizeof(err)), BROKER_ERROR,
	    "a vhost name with a newline refused");
	is_int(broker_user_delete(b, "", err, sizeof(err)), BROKER_ERROR,
	    "an empty user name refused");
	is_int(fk.nreq, 0, "nothing was sent");
	broker_free(b);
}

static void
test_batch(void)
{
	static struct broker_device d[BROKER_BATCH_MAX + 1];
	char err[ERRLEN] = "", line[512];
	struct broker *b = fake_broker(5000, err);
	json_t *j;

	for (size_t i = 0; i < BROKER_BATCH_MAX + 1; i++)
		d[i] = dev1;
	fake_reset(204, "");
	is_int(broker_devices_put(b, d, 3, err, sizeof(err)), BROKER_OK,
	    "batch of 3: %s", err);
	is_int(fk.nreq, 2, "two imports");
	is_str(req_line(0, line, sizeof(line)), "POST /api/definitions",
	    "a definitions import");
	j = json_loads(req_body(0), 0, NULL);
	ok(json_array_size(json_object_get(j, "users")) == 3 &&
	    json_array_size(json_object_get(j, "topic_permissions")) == 3 &&
	    json_object_size(j) == 2,
	    "first: users and topic permissions, nothing else");
	is_str(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "users"), 0), "name")), dev1.user,
	    "users are named");
	json_decref(j);
	j = json_loads(req_body(1), 0, NULL);
	ok(json_array_size(json_object_get(j, "permissions")) == 3 &&
	    json_object_size(j) == 1, "then the permissions alone");
	is_str(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "permissions"), 2), "vhost")), "/",
	    "permissions name their vhost");
	json_decref(j);
	fake_reset(204, "");
	is_int(broker_devices_put(b, d, BROKER_BATCH_MAX + 1, err,
	    sizeof(err)), BROKER_OK, "batch of %d", BROKER_BATCH_MAX + 1);
	is_int(fk.nreq, 4, "in two chunks");
	fake_reset(500, "");
	is_int(broker_devices_put(b, d, 3, err, sizeof(err)),
	    BROKER_UNAVAILABLE, "a failed first import...");
	is_int(fk.nreq, 1, "...sends no permissions");
	is_int(broker_devices_put(b, d, 0, err, sizeof(err)), BROKER_OK,
	    "an empty batch is done");
	broker_free(b);
}

static void
test_delete_disconnect(void)
{
	char err[ERRLEN] = "", line[512];
	struct broker *b = fake_broker(2000, err);

	fake_reset(404, "{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}");
	is_int(broker_user_delete(b, "d/1", err, sizeof(err)), BROKER_OK,
	    "deleting a user that is gone is done");
	is_str(req_line(0, line, sizeof(line)), "DELETE /api/users/d%2F1",
	    "DELETE /api/users/NAME");
	fake_reset(204, "");
	is_int(broker_user_disconnect(b, "d/1", err, sizeof(err)), BROKER_OK,
	    "disconnect");
	is_str(req_line(0, line, sizeof(line)),
	    "DELETE /api/connections/username/d%2F1",
	    "DELETE /api/connections/username/NAME");
	like(fk.reqs[0], "\r\nX-Reason: ", "with a reason");
	fake_reset(401, "{\"error\":\"not_authorized\",\"reason\":\"Login failed\"}");
	is_int(broker_user_delete(b, "d1", err, sizeof(err)), BROKER_REFUSED,
	    "401 is refused");
	is_str(err, "deleting user d1: RabbitMQ answered 401 (not_authorized: "
	    "Login failed)", "and said in one line");
	ok(strstr(err, MGMT_PW) == NULL, "without the management password");
	broker_free(b);
}

static void
test_failures(void)
{
	char err[ERRLEN] = "", h[BROKER_HASH_LEN + 1], body[256];
	struct broker_device d = dev1;
	struct broker *b = fake_broker(500, err);
	struct broker_config cf = { NULL, "admin", MGMT_PW, NULL, 2000 };
	char url[64];
	int port, fd;

	fake_reset(500, "<html>boom</html>");
	is_int(broker_vhost_ensure(b, "t1", err, sizeof(err)),
	    BROKER_UNAVAILABLE, "500 is unavailable");
	is_str(err, "creating vhost t1: RabbitMQ answered 500",
	    "said in one line");
	broker_password_hash("pw", h, sizeof(h));
	d.password_hash = h;
	snprintf(body, sizeof(body), "{\"error\":\"bad_request\",\"reason\":"
	    "[\"not_base64\",\"%s\"]}", h);
	fake_reset(400, body);
	is_int(broker_device_put(b, &d, err, sizeof(err)), BROKER_REFUSED,
	    "400 is refused");
	ok(strstr(err, h) == NULL && strstr(err, "not_base64") != NULL,
	    "the fault named, the echoed hash left out: %s", err);
	fake_reset(200, "{}");
	is_int(broker_ping(b, err, sizeof(err)), BROKER_ERROR,
	    "a server that is not RabbitMQ");
	fake_reset(200, "{\"rabbitmq_version\":\"3.10.8\"}");
	is_int(broker_ping(b, err, sizeof(err)), BROKER_OK, "ping");
	is_str(req_line(0, err, sizeof(err)),
	    "GET /api/overview?columns=rabbitmq_version",
	    "GET /api/overview");
	fake_reset(204, "");
	__atomic_store_n(&fk.silent, 1, __ATOMIC_SEQ_CST);
	is_int(broker_user_delete(b, "d1", err, sizeof(err)),
	    BROKER_UNAVAILABLE, "no answer within the timeout is unavailable");
	ok(one_line(err) && strstr(err, "unreachable") != NULL,
	    "said in one line: %s", err);
	__atomic_store_n(&fk.silent, 0, __ATOMIC_SEQ_CST);
	broker_free(b);

	fd = bound_socket(&port, 0);	/* bound, not listening: refused */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	cf.mgmt_url = url;
	b = broker_new(&cf, err, sizeof(err));
	is_int(broker_ping(b, err, sizeof(err)), BROKER_UNAVAILABLE,
	    "nobody listening is unavailable");
	ok(one_line(err) && strstr(err, MGMT_PW) == NULL,
	    "said in one line, no password: %s", err);
	close(fd);
	broker_free(b);
}

/* HTTPS: a self-signed certificate for 127.0.0.1, its PEM in a file. */
static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);
	X509_EXTENSION *ext;
	X509V3_CTX v;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, key);
	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v, NID_subject_alt_name,
	    "IP:127.0.0.1");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, key, EVP_sha256());
	return x;
}

static int
pem_file(X509 *x, char *path)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/broker-test-XXXXXX");
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	PEM_write_X509(f, x);
	return fclose(f);
}

static void
test_tls(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *key2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *cert = self_signed(key), *other = self_signed(key2);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char url[64], ours[32], theirs[32], err[ERRLEN] = "";
	struct broker_config cf = { url, "admin", MGMT_PW, ours, 5000 };
	struct broker *b;

	if (pem_file(cert, ours) == -1 || pem_file(other, theirs) == -1 ||
	    SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		printf("Bail out! no TLS fixture\n");
		exit(1);
	}
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", fk.port);
	pthread_mutex_lock(&fk.mu);
	fk.tls = ctx;
	pthread_mutex_unlock(&fk.mu);
	fake_reset(200, "{\"rabbitmq_version\":\"3.10.8\"}");
	b = broker_new(&cf, err, sizeof(err));
	is_int(broker_ping(b, err, sizeof(err)), BROKER_OK,
	    "https, the server verified with ca_file: %s", err);
	broker_free(b);
	cf.ca_file = theirs;
	b = broker_new(&cf, err, sizeof(err));
	is_int(broker_ping(b, err, sizeof(err)), BROKER_ERROR,
	    "a certificate ca_file does not vouch for is refused");
	like(err, "not usable (URL or TLS settings)", "as our side's doing: %s", err);
	broker_free(b);
	cf.ca_file = NULL;
	b = broker_new(&cf, err, sizeof(err));
	is_int(broker_ping(b, err, sizeof(err)), BROKER_ERROR,
	    "without ca_file, the system's anchors do not vouch for it");
	broker_free(b);
	is_int(fk.nreq, 1, "no request reached an unverified server");
	pthread_mutex_lock(&fk.mu);
	fk.tls = NULL;
	pthread_mutex_unlock(&fk.mu);
	unlink(ours);
	unlink(theirs);
	SSL_CTX_free(ctx);
	X509_free(cert);
	X509_free(other);
	EVP_PKEY_free(key);
	EVP_PKEY_free(key2);
}

struct worker {
	struct broker	*b;
	int		 failed;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char err[ERRLEN];

	for (int i = 0; i < 25; i++)
		w->failed += broker_device_put(w->b, &dev1, err,
		    sizeof(err)) != BROKER_OK;
	return NULL;
}

static void
test_threads(void)
{
	struct worker w[8];
	pthread_t t[8];
	char err[ERRLEN];
	struct broker *b = fake_broker(5000, err);
	int failed = 0;

	fake_reset(201, "");
	for (int i = 0; i < 8; i++) {
		w[i].b = b;
		w[i].failed = 0;
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		failed += w[i].failed;
	}
	is_int(failed, 0, "8 threads, 200 devices, one broker");
	is_int(fk.nreq, 600, "600 calls");
	broker_free(b);
}

/* mqtt_default_vhosts against the fake's parameter store. */

#define VH_PATH	"/api/global-parameters/mqtt_default_vhosts"

/* The stored map as compact JSON with sorted keys, or "(none)". */
static char *
stored_map(char *out, size_t outlen)
{
	json_t *j, *v;
	char *t = NULL;

	pthread_mutex_lock(&fk.mu);
	j = fk.param != NULL ? json_loads(fk.param, 0, NULL) : NULL;
	pthread_mutex_unlock(&fk.mu);
	v = json_object_get(j, "value");
	if (v != NULL)
		t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(out, outlen, "%s", t != NULL ? t : j != NULL ? "(no value)" :
	    "(none)");
	free(t);
	json_decref(j);
	return out;
}

static void
test_default_vhost(void)
{
	char err[ERRLEN] = "", line[512], map[1024], *big;
	struct broker *b = fake_broker(5000, err);
	json_t *j;
	size_t n;

	__atomic_store_n(&fk.params, 1, __ATOMIC_SEQ_CST);
	fake_reset(0, "");
	param_set(NULL);
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "acme", err,
	    sizeof(err)), BROKER_OK, "default vhost set with no map yet: %s",
	    err);
	is_int(fk.nreq, 2, "two calls");
	is_str(req_line(0, line, sizeof(line)), "GET " VH_PATH,
	    "the map read first");
	is_str(req_line(1, line, sizeof(line)), "PUT " VH_PATH,
	    "then written whole");
	is_str(req_body(1), "{\"name\":\"mqtt_default_vhosts\",\"value\":"
	    "{\"acme.g1.d1\":\"acme\"}}", "as {name, value: {CN: vhost}}");
	like(fk.reqs[1], "\r\nContent-Type: application/json", "JSON declared");

	fake_reset(0, "");
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "acme", err,
	    sizeof(err)), BROKER_OK, "the same again");
	is_int(fk.nreq, 1, "read, unchanged, not written");

	param_set("{\"name\":\"mqtt_default_vhosts\",\"value\":"
	    "{\"acme.g1.d1\":\"acme\",\"O=ops,CN=probe\":\"ops\"}}");
	is_int(broker_default_vhost_set(b, "acme.g1.d2", "acme", err,
	    sizeof(err)), BROKER_OK, "a second device");
	is_int(broker_default_vhost_set(b, "beta.g1.d2", "beta", err,
	    sizeof(err)), BROKER_OK, "a device of another tenant");
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "other", err,
	    sizeof(err)), BROKER_OK, "an entry moved to another vhost");
	is_str(stored_map(map, sizeof(map)), "{\"O=ops,CN=probe\":\"ops\","
	    "\"acme.g1.d1\":\"other\",\"acme.g1.d2\":\"acme\","
	    "\"beta.g1.d2\":\"beta\"}",
	    "every entry kept, the operator's too, d1's replaced");
	is_int(broker_default_vhost_set(b, "acme.g1.d1", NULL, err,
	    sizeof(err)), BROKER_OK, "an entry removed");
	is_str(stored_map(map, sizeof(map)), "{\"O=ops,CN=probe\":\"ops\","
	    "\"acme.g1.d2\":\"acme\",\"beta.g1.d2\":\"beta\"}",
	    "only that one went");
	fake_reset(0, "");
	is_int(broker_default_vhost_set(b, "acme.g1.d1", NULL, err,
	    sizeof(err)), BROKER_OK, "removing it again is done");
	is_int(fk.nreq, 1, "  read, nothing written");
	broker_default_vhost_set(b, "acme.g1.d2", NULL, err, sizeof(err));
	broker_default_vhost_set(b, "beta.g1.d2", NULL, err, sizeof(err));
	fake_reset(0, "");
	is_int(broker_default_vhost_set(b, "O=ops,CN=probe", NULL, err,
	    sizeof(err)), BROKER_OK, "the last entry removed");
	is_str(req_line(1, line, sizeof(line)), "DELETE " VH_PATH,
	    "an empty map is deleted, not written");
	is_str(stored_map(map, sizeof(map)), "(none)", "  no map left");

	param_set("{\"name\":\"mqtt_default_vhosts\",\"value\":[]}");
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "acme", err,
	    sizeof(err)), BROKER_OK, "an empty map as [] (Erlang's empty "
	    "proplist) is an empty map");
	is_str(stored_map(map, sizeof(map)), "{\"acme.g1.d1\":\"acme\"}",
	    "  and gets the entry");

	param_set("{\"name\":\"mqtt_default_vhosts\",\"value\":\"x\"}");
	fake_reset(0, "");
	err[0] = '\0';
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "acme", err,
	    sizeof(err)), BROKER_ERROR, "a value that is not an object...");
	is_int(fk.nreq, 1, "  ...is not overwritten");
	ok(one_line(err) && strstr(err, "left as it is") != NULL,
	    "  said in one line: %s", err);

	/* Bigger than any other answer (64 KiB is kept of those). */
	j = json_object();
	for (int i = 0; i < 3000; i++) {
		snprintf(line, sizeof(line), "t%04d.group-%04d.device-%04d", i,
		    i, i);
		json_object_set_new(j, line, json_string("tenant-vhost"));
	}
	j = json_pack("{s:s, s:o}", "name", "mqtt_default_vhosts", "value", j);
	big = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	param_set(big);
	ok(strlen(big) > 100000, "a map of 3000 entries, %zu bytes",
	    strlen(big));
	free(big);
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "acme", err,
	    sizeof(err)), BROKER_OK, "gets one more: %s", err);
	pthread_mutex_lock(&fk.mu);
	j = json_loads(fk.param, 0, NULL);
	pthread_mutex_unlock(&fk.mu);
	n = json_object_size(json_object_get(j, "value"));
	is_int(n, 3001, "and has all 3001: nothing lost to a short read");
	json_decref(j);

	/* More than the adapter reads: an error, never a partial write. */
	n = 65 * 1024 * 1024;
	if ((big = malloc(n + 128)) != NULL) {
		int o = snprintf(big, 128, "{\"name\":\"mqtt_default_vhosts\","
		    "\"value\":{\"a\":\"");
		memset(big + o, 'v', n);
		strcpy(big + o + n, "\"}}");
		param_set(big);
		free(big);
	}
	fake_reset(0, "");
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "acme", err,
	    sizeof(err)), BROKER_ERROR, "a map larger than 64 MiB is refused");
	is_int(fk.nreq, 1, "  and not written");
	like(err, "larger than", "  said: %s", err);

	param_set(NULL);
	pthread_mutex_lock(&fk.mu);
	fk.write_fail = 503;
	pthread_mutex_unlock(&fk.mu);
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "acme", err,
	    sizeof(err)), BROKER_UNAVAILABLE, "a failed write is unavailable");
	is_str(err, "writing mqtt_default_vhosts: RabbitMQ answered 503",
	    "  said in one line");
	param_set(NULL);

	fake_reset(0, "");
	is_int(broker_default_vhost_set(b, "a b", "acme", err, sizeof(err)),
	    BROKER_ERROR, "a user name with a space refused");
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "", err, sizeof(err)),
	    BROKER_ERROR, "an empty vhost name refused");
	is_int(broker_default_vhost_set(b, "", NULL, err, sizeof(err)),
	    BROKER_ERROR, "an empty user name refused");
	is_int(fk.nreq, 0, "  nothing was sent");
	__atomic_store_n(&fk.params, 0, __ATOMIC_SEQ_CST);

	fake_reset(500, "");
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "acme", err,
	    sizeof(err)), BROKER_UNAVAILABLE, "a failed read is unavailable");
	is_int(fk.nreq, 1, "  and nothing is written");
	fake_reset(401, "{\"error\":\"not_authorized\",\"reason\":"
	    "\"Not administrator user\"}");
	is_int(broker_default_vhost_set(b, "acme.g1.d1", "acme", err,
	    sizeof(err)), BROKER_REFUSED, "a management user without the "
	    "administrator tag is refused");
	is_str(err, "reading mqtt_default_vhosts: RabbitMQ answered 401 "
	    "(not_authorized: Not administrator user)", "  said in one line");
	broker_free(b);
}

struct vworker {
	struct broker	*b;
	int		 id, n, failed;
	int		 remove;
};

static void *
vworker_main(void *arg)
{
	struct vworker *w = arg;
	char err[ERRLEN], user[64], vhost[16];

	for (int i = 0; i < w->n; i++) {
		snprintf(user, sizeof(user), "t%d.g%d.d%03d", w->id % 2, w->id,
		    i);
		snprintf(vhost, sizeof(vhost), "t%d", w->id % 2);
		w->failed += broker_default_vhost_set(w->b, user,
		    w->remove ? NULL : vhost, err, sizeof(err)) != BROKER_OK;
	}
	return NULL;
}

/* Runs 8 workers of n changes each; the failures. */
static int
vworkers(struct broker *b, int n, int remove)
{
	struct vworker w[8];
	pthread_t t[8];
	int failed = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (struct vworker){ b, i, n, 0, remove };
		pthread_create(&t[i], NULL, vworker_main, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		failed += w[i].failed;
	}
	return failed;
}

/* Every entry the workers make, with its vhost: the missing ones. */
static int
vworkers_missing(json_t *map)
{
	char user[64], vhost[16];
	int missing = 0;

	for (int id = 0; id < 8; id++)
		for (int i = 0; i < 25; i++) {
			snprintf(user, sizeof(user), "t%d.g%d.d%03d", id % 2, id,
			    i);
			snprintf(vhost, sizeof(vhost), "t%d", id % 2);
			missing += !json_is_string(json_object_get(map, user)) ||
			    strcmp(json_string_value(json_object_get(map, user)),
			    vhost) != 0;
		}
	return missing;
}

static void
test_default_vhost_threads(void)
{
	char err[ERRLEN] = "", map[64];
	struct broker *b = fake_broker(5000, err);
	json_t *j;
	int gets;

	__atomic_store_n(&fk.params, 1, __ATOMIC_SEQ_CST);
	fake_reset(0, "");
	param_set(NULL);
	is_int(vworkers(b, 25, 0), 0, "8 threads set 200 entries at once");
	pthread_mutex_lock(&fk.mu);
	j = json_loads(fk.param != NULL ? fk.param : "", 0, NULL);
	gets = fk.ngets;
	pthread_mutex_unlock(&fk.mu);
	is_int(json_object_size(json_object_get(j, "value")), 200,
	    "the map has 200 entries");
	is_int(vworkers_missing(json_object_get(j, "value")), 0,
	    "each with its vhost: no update lost");
	json_decref(j);
	ok(gets <= 200, "%d read-modify-writes for 200 changes", gets);
	is_int(vworkers(b, 25, 1), 0, "8 threads remove them at once");
	is_str(stored_map(map, sizeof(map)), "(none)", "no map left");
	__atomic_store_n(&fk.params, 0, __ATOMIC_SEQ_CST);
	param_set(NULL);
	broker_free(b);
}

/* Against a real RabbitMQ. */

struct real {
	char		 url[256];
	char		 user[256];
	char		 password[256];
	int		 amqp_port;
	struct broker	*b;
	char		 vhost[64];
};

static struct real rl;

struct answer_buf {
	char	*d;
	size_t	 len;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct answer_buf *a = arg;
	char *q;

	if ((q = realloc(a->d, a->len + size * n + 1)) == NULL)
		return 0;
	a->d = q;
	memcpy(a->d + a->len, p, size * n);
	a->len += size * n;
	a->d[a->len] = '\0';
	return size * n;
}

static json_t *mgmt_body(const char *, const char *, const char *, long *);

/* The management API seen by the test itself: status, JSON answer. */
static json_t *
mgmt(const char *method, const char *path, long *status)
{
	return mgmt_body(method, path, NULL, status);
}

/* The same with a JSON body. */
static json_t *
mgmt_body(const char *method, const char *path, const char *body,
    long *status)
{
	struct answer_buf a = { NULL, 0 };
	struct curl_slist *hdr = NULL;
	char url[1024];
	CURL *c = curl_easy_init();
	json_t *j = NULL;

	*status = 0;
	snprintf(url, sizeof(url), "%s%s", rl.url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_USERNAME, rl.user);
	curl_easy_setopt(c, CURLOPT_PASSWORD, rl.password);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (body != NULL) {
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (a.d != NULL)
		j = json_loads(a.d, 0, NULL);
	free(a.d);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return j;
}

static int
read_creds(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[256], *colon;

	if (f == NULL || fgets(line, sizeof(line), f) == NULL ||
	    (colon = strchr(line, ':')) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	*colon = '\0';
	snprintf(rl.user, sizeof(rl.user), "%s", line);
	snprintf(rl.password, sizeof(rl.password), "%s", colon + 1);
	return 0;
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(none)";
}

/* The rights of d at the broker are exactly these. */
static void
check_rights(const struct broker_device *d, const char *queue_re,
    const char *grp, const char *dev)
{
	char path[512], want[512];
	json_t *j;
	long st;

	snprintf(path, sizeof(path), "/api/users/%s/permissions", d->user);
	j = mgmt("GET", path, &st);
	ok(st == 200 && json_array_size(j) == 1,
	    "%s: permissions in one vhost only", d->user);
	is_str(jstr(json_array_get(j, 0), "vhost"), d->vhost, "its vhost");
	snprintf(want, sizeof(want), "^mqtt-subscription-%sqos[01]$",
	    queue_re);
	is_str(jstr(json_array_get(j, 0), "configure"), want,
	    "configure: its own subscription queues");
	snprintf(want, sizeof(want),
	    "^(amq\\.topic|mqtt-subscription-%sqos[01])$", queue_re);
	is_str(jstr(json_array_get(j, 0), "write"), want,
	    "write: amq.topic and its queues");
	is_str(jstr(json_array_get(j, 0), "read"), want,
	    "read: amq.topic and its queues");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/users/%s/topic-permissions",
	    d->user);
	j = mgmt("GET", path, &st);
	ok(st == 200 && json_array_size(j) == 1,
	    "one topic permission");
	is_str(jstr(json_array_get(j, 0), "exchange"), "amq.topic",
	    "on amq.topic");
	snprintf(want, sizeof(want), "^devices\\.%s\\.%s(\\..*)?$", grp, dev);
	is_str(jstr(json_array_get(j, 0), "write"), want,
	    "publishes under devices.G.D only");
	snprintf(want, sizeof(want), "^commands\\.%s\\.%s(\\..*)?$", grp, dev);
	is_str(jstr(json_array_get(j, 0), "read"), want,
	    "reads under commands.G.D only");
	json_decref(j);
}

/* AMQP as the device. */

static amqp_connection_state_t
amqp_as(const char *vhost, const char *user, const char *password)
{
	amqp_connection_state_t conn = amqp_new_connection();
	amqp_socket_t *s = amqp_tcp_socket_new(conn);
	struct timeval tv = { 10, 0 };
	amqp_rpc_reply_t r;

	if (s == NULL ||
	    amqp_socket_open_noblock(s, "127.0.0.1", rl.amqp_port, &tv) != 0)
		goto fail;
	r = amqp_login(conn, vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
	    user, password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		goto fail;
	return conn;
fail:
	amqp_destroy_connection(conn);
	return NULL;
}

/* 1: the last RPC on channel ch succeeded; 0: the channel was closed. */
static int
rpc_ok(amqp_connection_state_t conn, amqp_channel_t ch)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);
	amqp_channel_close_ok_t close_ok = { 0 };

	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return 1;
	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
		amqp_send_method(conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD,
		    &close_ok);
	return 0;
}

/* Publishes with a confirm: 1 acked, 0 refused (channel closed). */
static int
publish(amqp_connection_state_t conn, amqp_channel_t ch, const char *key)
{
	amqp_channel_close_ok_t close_ok = { 0 };
	struct timeval tv = { 10, 0 };
	amqp_frame_t f;

	amqp_channel_open(conn, ch);
	amqp_confirm_select(conn, ch);
	if (!rpc_ok(conn, ch))
		return 0;
	if (amqp_basic_publish(conn, ch, amqp_cstring_bytes("amq.topic"),
	    amqp_cstring_bytes(key), 0, 0, NULL, amqp_cstring_bytes("x")) != 0)
		return 0;
	for (;;) {
		if (amqp_simple_wait_frame_noblock(conn, &f, &tv) != 0)
			return 0;
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			amqp_channel_close(conn, ch, AMQP_REPLY_SUCCESS);
			return 1;
		}
		if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD)
			amqp_send_method(conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD,
			    &close_ok);
		return 0;
	}
}

static int
declare_bind(amqp_connection_state_t conn, amqp_channel_t ch,
    const char *queue, const char *key)
{
	amqp_channel_open(conn, ch);
	if (!rpc_ok(conn, ch))
		return 0;
	amqp_queue_declare(conn, ch, amqp_cstring_bytes(queue), 0, 0, 0, 1,
	    amqp_empty_table);
	if (!rpc_ok(conn, ch))
		return 0;
	if (key != NULL) {
		amqp_queue_bind(conn, ch, amqp_cstring_bytes(queue),
		    amqp_cstring_bytes("amq.topic"), amqp_cstring_bytes(key),
		    amqp_empty_table);
		if (!rpc_ok(conn, ch))
			return 0;
	}
	amqp_channel_close(conn, ch, AMQP_REPLY_SUCCESS);
	return 1;
}

/* The server closes the connection within 10 s. */
static int
closed_by_server(amqp_connection_state_t conn)
{
	struct timeval tv = { 10, 0 };
	amqp_frame_t f;
	int rc;

	for (;;) {
		rc = amqp_simple_wait_frame_noblock(conn, &f, &tv);
		if (rc == AMQP_STATUS_TIMEOUT)
			return 0;
		if (rc != AMQP_STATUS_OK)
			return 1;
		if (f.frame_type == AMQP_FRAME_METHOD &&
		    f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)
			return 1;
	}
}

static void
test_real_amqp(const struct broker_device *d, const char *password,
    const char *queue)
{
	amqp_connection_state_t conn;
	char key[512];

	if (rl.amqp_port == 0) {
		printf("ok %d # SKIP RABBIT_AMQP_PORT not set\n", ++tap_n);
		return;
	}
	ok(amqp_as(d->vhost, d->user, "wrong") == NULL,
	    "AMQP: a wrong password is refused");
	ok(amqp_as("/", d->user, password) == NULL,
	    "AMQP: another vhost is refused");
	ok((conn = amqp_as(d->vhost, d->user, password)) != NULL,
	    "AMQP: the password whose hash was sent logs in");
	if (conn == NULL)
		return;
	snprintf(key, sizeof(key), "devices.%s.%s.temp", d->group, d->device);
	ok(publish(conn, 1, key), "publishes under its own prefix");
	snprintf(key, sizeof(key), "devices.%s.%s", d->group, d->device);
	ok(publish(conn, 2, key), "and on its prefix itself");
	snprintf(key, sizeof(key), "devices.%s.%sx.temp", d->group, d->device);
	ok(!publish(conn, 3, key), "not on a device whose name extends its");
	ok(!publish(conn, 4, "devices.other.x.temp"), "not on another's");
	snprintf(key, sizeof(key), "commands.%s.%s.set", d->group, d->device);
	ok(!publish(conn, 5, key), "not on its command topic");
	snprintf(key, sizeof(key), "commands.%s.%s.#", d->group, d->device);
	ok(declare_bind(conn, 6, queue, key),
	    "declares and binds its subscription queue to its commands");
	snprintf(key, sizeof(key), "commands.%s.#", d->group);
	ok(!declare_bind(conn, 7, queue, key), "not to its group's commands");
	ok(!declare_bind(conn, 8, queue, "devices.#"), "not to devices.#");
	ok(!declare_bind(conn, 9, "mqtt-subscription-otherqos0", NULL),
	    "declares no other queue");
	amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(conn);
}

/*
 * Revocation: the user deleted, then its connections closed (RabbitMQ
 * 3.10 closes MQTT connections of a deleted user, not AMQP ones).
 */
static void
test_real_revoke(const struct broker_device *d, const char *password,
    const char *path)
{
	amqp_connection_state_t conn = NULL;
	char err[ERRLEN] = "";
	long st;

	if (rl.amqp_port != 0)
		conn = amqp_as(d->vhost, d->user, password);
	is_int(broker_user_delete(rl.b, d->user, err, sizeof(err)), BROKER_OK,
	    "delete: %s", err);
	json_decref(mgmt("GET", path, &st));
	is_int(st, 404, "the user is gone");
	if (conn != NULL) {
		ok(broker_user_disconnect(rl.b, d->user, err, sizeof(err)) ==
		    BROKER_OK && closed_by_server(conn),
		    "disconnect closes its live AMQP connection: %s", err);
		amqp_destroy_connection(conn);
	} else
		printf("ok %d # SKIP RABBIT_AMQP_PORT not set\n", ++tap_n);
	is_int(broker_user_delete(rl.b, d->user, err, sizeof(err)), BROKER_OK,
	    "deleting it again is done");
	is_int(broker_user_disconnect(rl.b, d->user, err, sizeof(err)),
	    BROKER_OK, "disconnecting a user without connections is done");
}

static void
test_real_device(void)
{
	char err[ERRLEN] = "", pw[BROKER_PASSWORD_LEN + 1];
	char h[BROKER_HASH_LEN + 1], user[128], path[256], qre[256], q[256];
	struct broker_device d = { rl.vhost, user, h, "g1", "d1" };
	json_t *j;
	long st;

	snprintf(user, sizeof(user), "t%d.d1@%s", (int)getpid(), rl.vhost);
	broker_random_password(pw, sizeof(pw));
	broker_password_hash(pw, h, sizeof(h));
	is_int(broker_device_put(rl.b, &d, err, sizeof(err)), BROKER_OK,
	    "device put: %s", err);
	is_int(broker_device_put(rl.b, &d, err, sizeof(err)), BROKER_OK,
	    "and again: idempotent");
	snprintf(path, sizeof(path), "/api/users/t%d%%2Ed1%%40%s",
	    (int)getpid(), rl.vhost);
	j = mgmt("GET", path, &st);
	is_int(st, 200, "the user exists");
	is_str(jstr(j, "password_hash"), h, "with the hash sent");
	is_str(jstr(j, "hashing_algorithm"), "rabbit_password_hashing_sha256",
	    "salted SHA-256");
	ok(json_array_size(json_object_get(j, "tags")) == 0, "and no tags");
	json_decref(j);
	snprintf(qre, sizeof(qre), "t%d\\.d1\\@%s", (int)getpid(), rl.vhost);
	for (char *p = qre; (p = strchr(p, '-')) != NULL; p += 2) {
		memmove(p + 1, p, strlen(p) + 1);
		*p = '\\';
	}
	check_rights(&d, qre, "g1", "d1");
	snprintf(q, sizeof(q), "mqtt-subscription-%sqos1", user);
	test_real_amqp(&d, pw, q);
	test_real_revoke(&d, pw, path);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_real_batch(void)
{
	static struct broker_device d[200];
	static char names[200][64], devs[200][16];
	char err[ERRLEN] = "", h[BROKER_HASH_LEN + 1], path[256];
	int missing = 0, wrong = 0, failed = 0, n = 0;
	json_t *j;
	long st;
	double t;

	broker_password_hash("batch", h, sizeof(h));
	for (int i = 0; i < 200; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d-b%03d", (int)getpid(),
		    i);
		snprintf(devs[i], sizeof(devs[i]), "b%03d", i);
		d[i] = (struct broker_device){ rl.vhost, names[i], h, "g2",
		    devs[i] };
	}
	t = now_s();
	is_int(broker_devices_put(rl.b, d, 200, err, sizeof(err)), BROKER_OK,
	    "200 devices in one batch: %s", err);
	printf("# 200 devices imported in %.2f s\n", now_s() - t);
	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "/api/users/%.63s/topic-permissions",
		    names[i]);
		j = mgmt("GET", path, &st);
		missing += st != 200 || json_array_size(j) != 1;
		snprintf(path, sizeof(path), "^devices\\.g2\\.%.15s(\\..*)?$",
		    devs[i]);
		wrong += strcmp(jstr(json_array_get(j, 0), "write"), path) != 0;
		json_decref(j);
	}
	is_int(missing, 0, "every one has its topic permission");
	is_int(wrong, 0, "on its own prefix");
	snprintf(path, sizeof(path), "/api/vhosts/%s/permissions", rl.vhost);
	j = mgmt("GET", path, &st);
	for (size_t i = 0; i < json_array_size(j); i++)	/* and ours */
		n += strncmp(jstr(json_array_get(j, i), "user"), names[0],
		    strlen(names[0]) - 3) == 0;
	is_int(n, 200, "and its permissions in the vhost");
	json_decref(j);
	t = now_s();
	for (int i = 0; i < 200; i++)
		failed += broker_user_delete(rl.b, names[i], err,
		    sizeof(err)) != BROKER_OK;
	is_int(failed, 0, "all deleted");
	printf("# 200 users deleted in %.2f s\n", now_s() - t);
}

/* The broker's map now: a new reference to its value, or NULL (none). */
static json_t *
real_map(long *st)
{
	json_t *j = mgmt("GET", VH_PATH, st), *v;

	v = json_incref(json_object_get(j, "value"));
	json_decref(j);
	return v;
}

static void
test_real_default_vhost(void)
{
	char err[ERRLEN] = "", user[64], probe[64], body[256];
	json_t *map;
	long st;
	double t;

	snprintf(user, sizeof(user), "t%d.g1.c1", (int)getpid());
	snprintf(probe, sizeof(probe), "O=ops,CN=probe-%d", (int)getpid());
	snprintf(body, sizeof(body), "{\"name\":\"mqtt_default_vhosts\","
	    "\"value\":{\"%s\":\"/\"}}", probe);
	json_decref(mgmt_body("PUT", VH_PATH, body, &st));
	ok(st == 201 || st == 204, "an operator's map entry (PUT: %ld)", st);
	is_int(broker_default_vhost_set(rl.b, user, rl.vhost, err,
	    sizeof(err)), BROKER_OK, "default vhost set: %s", err);
	map = real_map(&st);
	is_str(json_string_value(json_object_get(map, user)), rl.vhost,
	    "RabbitMQ's mqtt_default_vhosts maps the user to its vhost");
	is_str(json_string_value(json_object_get(map, probe)), "/",
	    "and kept the operator's entry");
	json_decref(map);

	t = now_s();
	is_int(vworkers(rl.b, 25, 0), 0, "8 threads set 200 entries at once");
	printf("# 200 entries set in %.2f s\n", now_s() - t);
	map = real_map(&st);
	is_int(vworkers_missing(map), 0, "RabbitMQ has every one of them");
	is_int(json_object_size(map), 202, "and the two before");
	json_decref(map);
	is_int(vworkers(rl.b, 25, 1), 0, "8 threads remove them at once");
	is_int(broker_default_vhost_set(rl.b, user, NULL, err, sizeof(err)),
	    BROKER_OK, "ours removed: %s", err);
	map = real_map(&st);
	ok(json_object_size(map) == 1 &&
	    json_object_get(map, probe) != NULL,
	    "only the operator's entry is left");
	json_decref(map);

	json_decref(mgmt_body("PUT", VH_PATH,
	    "{\"name\":\"mqtt_default_vhosts\",\"value\":{}}", &st));
	map = real_map(&st);
	printf("# an empty map comes back as %s\n",
	    json_is_array(map) ? "[]" : json_is_object(map) ? "{}" : "?");
	json_decref(map);
	is_int(broker_default_vhost_set(rl.b, user, rl.vhost, err,
	    sizeof(err)), BROKER_OK, "set on an empty map: %s", err);
	is_int(broker_default_vhost_set(rl.b, user, NULL, err, sizeof(err)),
	    BROKER_OK, "and removed: %s", err);
	json_decref(mgmt("GET", VH_PATH, &st));
	is_int(st, 404, "the empty map is deleted");
}

static void
test_real(void)
{
	const char *url = getenv("RABBIT_MGMT_URL");
	const char *creds = getenv("RABBIT_MGMT_CREDS");
	const char *port = getenv("RABBIT_AMQP_PORT");
	struct broker_config cf = { NULL, NULL, NULL, NULL, 30000 };
	char err[ERRLEN] = "", path[128];
	long st;

	if (url == NULL || creds == NULL || read_creds(creds) == -1) {
		printf("ok %d # SKIP no broker (RABBIT_MGMT_URL, "
		    "RABBIT_MGMT_CREDS)\n", ++tap_n);
		return;
	}
	snprintf(rl.url, sizeof(rl.url), "%s", url);
	rl.amqp_port = port != NULL ? atoi(port) : 0;
	snprintf(rl.vhost, sizeof(rl.vhost), "iota-t%d", (int)getpid());
	cf.mgmt_url = rl.url;
	cf.user = rl.user;
	cf.password = rl.password;
	ok((rl.b = broker_new(&cf, err, sizeof(err))) != NULL, "broker: %s",
	    err);
	is_int(broker_ping(rl.b, err, sizeof(err)), BROKER_OK, "ping: %s", err);
	is_int(broker_vhost_ensure(rl.b, rl.vhost, err, sizeof(err)),
	    BROKER_OK, "vhost created: %s", err);
	is_int(broker_vhost_ensure(rl.b, rl.vhost, err, sizeof(err)),
	    BROKER_OK, "and again");
	is_int(broker_vhost_ensure(rl.b, "/", err, sizeof(err)), BROKER_OK,
	    "vhost / (%%2F) exists");
	test_real_device();
	test_real_batch();
	test_real_default_vhost();
	snprintf(path, sizeof(path), "/api/vhosts/%s", rl.vhost);
	json_decref(mgmt("DELETE", path, &st));
	is_int(st, 204, "test vhost removed");
	broker_free(rl.b);
	cf.password = "wrong";
	rl.b = broker_new(&cf, err, sizeof(err));
	is_int(broker_ping(rl.b, err, sizeof(err)), BROKER_REFUSED,
	    "a wrong management password is refused: %s", err);
	broker_free(rl.b);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as iotad: broker.h asks for it */
	test_hash();
	test_password();
	test_new();
	fake_start();
	test_device_put();
	test_bad_input();
	test_batch();
	test_delete_disconnect();
	test_failures();
	test_threads();
	test_default_vhost();
	test_default_vhost_threads();
	test_tls();
	fake_stop();
	test_real();
	curl_global_cleanup();
	return tap_done();
}
