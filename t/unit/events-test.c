/*
 * Lifecycle events: refusals and an unreachable broker everywhere; with
 * RABBIT_AMQP_PORT and RABBIT_MGMT_CREDS (a "user:password" file of an
 * administrator) also against a real RabbitMQ: confirmed publishes read
 * back, the exchange durable, reconnection through a proxy the test
 * controls (idle close, close under a publish, silence), many threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "events.h"
#include "tap.h"

#define PASSWORD	"s3cret-never-shown"
#define BODY		"{\"event\":\"device.provisioned\",\"tenant\":\"t1\"," \
			"\"group\":\"g1\",\"device\":\"d1\",\"serial\":\"0A1B\"," \
			"\"at\":1893456000}"
#define THREADS		4
#define PER_THREAD	25

static int amqp_port;
static char admin_user[256], admin_pass[256];

static int
one_line(const char *s)
{
	return s[0] != '\0' && strchr(s, '\n') == NULL;
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A loopback listener on a port the kernel picks; its port in *port. */
static int
listener(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1) {
		perror("listener");
		exit(99);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static struct events_config
config(int port)
{
	struct events_config c = {
		.host = "127.0.0.1",
		.port = port,
		.user = admin_user[0] != '\0' ? admin_user : "iotad",
		.password = admin_pass[0] != '\0' ? admin_pass : PASSWORD,
		.timeout = 2,
	};

	return c;
}

/* --- without a broker -------------------------------------------------- */

static void
test_config(void)
{
	struct events_config c = config(1);
	char err[256];

	c.user = NULL;
	ok(events_open(&c, err, sizeof(err)) == NULL, "no user: refused");
	like(err, "user and password", "and says so");
	c = config(1);
	c.exchange = "bad name";
	ok(events_open(&c, err, sizeof(err)) == NULL, "exchange name checked");
	c = config(1);
	c.timeout = -1;
	ok(events_open(&c, err, sizeof(err)) == NULL, "negative timeout");
	c = config(1);
	c.host = "evil\nhost";
	ok(events_open(&c, err, sizeof(err)) == NULL,
	    "a host that would break the error line");
	is_str(events_strerror(EVENTS_UNREACHABLE), "broker unreachable",
	    "code names");
	is_str(events_strerror(42), "unknown error", "unknown code");
}

static void
test_unreachable(void)
{
	struct events_config c;
	struct events *ev;
	char err[256], want[64];
	int fd, port;

	fd = listener(&port);
	close(fd);			/* nobody listens there now */
	c = config(port);
	c.password = PASSWORD;
	snprintf(want, sizeof(want), "broker 127.0.0.1:%d: cannot connect:",
	    port);
	ok(events_open(&c, err, sizeof(err)) == NULL,
	    "open: a closed port is an error");
	like(err, want, "naming the broker");
	ok(one_line(err), "one line: %s", err);
	ok(strstr(err, PASSWORD) == NULL, "no password in it");
	c.defer_connect = 1;
	ev = events_open(&c, err, sizeof(err));
	ok(ev != NULL, "deferred open succeeds without a broker");
	is_int(events_publish(ev, EVENT_DEVICE_PROVISIONED, BODY, err,
	    sizeof(err)), EVENTS_UNREACHABLE, "publish: EVENTS_UNREACHABLE");
	like(err, want, "naming the broker");
	ok(one_line(err) && strstr(err, PASSWORD) == NULL,
	    "one line, no password");
	is_int(events_publish(ev, "bad key", BODY, err, sizeof(err)),
	    EVENTS_INVALID, "a routing key with a space: EVENTS_INVALID");
	is_int(events_publish(ev, EVENT_DEVICE_REVOKED, NULL, err,
	    sizeof(err)), EVENTS_INVALID, "no body: EVENTS_INVALID");
	events_close(ev);
	events_close(NULL);
}

/* A peer that accepts (in the kernel) and never says a word. */
static void
test_silent(void)
{
	struct events_config c;
	char err[256];
	double t0;
	int fd, port;

	fd = listener(&port);
	c = config(port);
	c.password = PASSWORD;
	c.timeout = 1;
	t0 = now_s();
	ok(events_open(&c, err, sizeof(err)) == NULL,
	    "a silent peer: open fails");
	ok(now_s() - t0 < 3.0, "within the timeout (%.2f s)", now_s() - t0);
	like(err, "no answer within 1 s", "and says it timed out");
	ok(one_line(err), "one line: %s", err);
	close(fd);
}

/* --- a proxy the test drives: pass, close, close on data, freeze ------- */

struct proxy {
	int		 lfd, port, upstream;
	int		 cmd[2], ack[2];
	int		 accepted;
	pthread_t	 thread;
};

static int
connect_to(int port)
{
	struct sockaddr_in sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Copies what from has to to; -1 on EOF or error. */
static int
pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return -1;
	for (ssize_t off = 0, w; off < n; off += w)
		if ((w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL)) <= 0)
			return -1;
	return 0;
}

/* Relays one connection until it ends or a command ends it; 0: quit. */
static int
relay(struct proxy *p, int c, int u)
{
	struct pollfd pfd[3];
	int frozen = 0, kill_on_data = 0, quit = 0;
	char cmd;

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = p->cmd[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = frozen ? -1 : c, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = frozen ? -1 : u, .events = POLLIN };
		if (poll(pfd, 3, -1) == -1 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			if (read(p->cmd[0], &cmd, 1) != 1 || cmd == 'q') {
				quit = 1;
				break;
			}
			if (cmd == 'k')
				break;		/* acknowledged once closed */
			frozen = cmd == 'f';
			kill_on_data = cmd == 'd';
			if (write(p->ack[1], "a", 1) != 1)
				return 0;
			continue;
		}
		if (pfd[1].revents != 0 && (kill_on_data || pump(c, u) == -1))
			break;
		if (pfd[2].revents != 0 && pump(u, c) == -1)
			break;
	}
	close(c);
	close(u);
	if (!quit && pfd[0].revents & POLLIN && write(p->ack[1], "a", 1) != 1)
		return 0;
	return !quit;
}

static void *
proxy_main(void *arg)
{
	struct proxy *p = arg;
	struct pollfd pfd[2];
	char cmd;
	int c, u;

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = p->cmd[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = p->lfd, .events = POLLIN };
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			return NULL;
		if (pfd[0].revents & POLLIN) {
			if (read(p->cmd[0], &cmd, 1) != 1 || cmd == 'q')
				return NULL;
			if (write(p->ack[1], "a", 1) != 1)	/* idle: no-op */
				return NULL;
			continue;
		}
		if ((c = accept(p->lfd, NULL, NULL)) == -1)
			continue;
		__atomic_add_fetch(&p->accepted, 1, __ATOMIC_SEQ_CST);
		if ((u = connect_to(p->upstream)) == -1) {
			close(c);
			continue;
		}
		if (!relay(p, c, u))
			return NULL;
	}
}

static void
proxy_start(struct proxy *p, int upstream)
{
	memset(p, 0, sizeof(*p));
	p->upstream = upstream;
	p->lfd = listener(&p->port);
	if (pipe(p->cmd) == -1 || pipe(p->ack) == -1 ||
	    pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
		perror("proxy");
		exit(99);
	}
}

/* k: close the connection now; d: close it when the client next writes;
 * f: freeze both ways; p: pass again.  Returns once the proxy has acted. */
static void
proxy_do(struct proxy *p, char cmd)
{
	char a;

	if (write(p->cmd[1], &cmd, 1) != 1 || read(p->ack[0], &a, 1) != 1) {
		perror("proxy_do");
		exit(99);
	}
}

static int
accepted(struct proxy *p)
{
	return __atomic_load_n(&p->accepted, __ATOMIC_SEQ_CST);
}

static void
proxy_stop(struct proxy *p)
{
	if (write(p->cmd[1], "q", 1) != 1)
		exit(99);
	pthread_join(p->thread, NULL);
	close(p->lfd);
	close(p->cmd[0]);
	close(p->cmd[1]);
	close(p->ack[0]);
	close(p->ack[1]);
}

/* --- a plain rabbitmq-c client to look at what arrived ----------------- */

static amqp_connection_state_t
raw_open(void)
{
	amqp_connection_state_t c = amqp_new_connection();
	amqp_socket_t *s = amqp_tcp_socket_new(c);
	amqp_rpc_reply_t r;

	if (s == NULL || amqp_socket_open(s, "127.0.0.1", amqp_port) != 0) {
		printf("Bail out! cannot reach the broker on %d\n", amqp_port);
		exit(1);
	}
	r = amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
	    admin_user, admin_pass);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		printf("Bail out! cannot log in as %s\n", admin_user);
		exit(1);
	}
	amqp_channel_open(c, 1);
	return c;
}

static void
raw_close(amqp_connection_state_t c)
{
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
}

/* An exclusive queue bound to exchange with key; its name (free()). */
static char *
raw_queue(amqp_connection_state_t c, const char *exchange, const char *key)
{
	amqp_queue_declare_ok_t *q;
	char *name;

	q = amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	if (q == NULL || (name = strndup(q->queue.bytes, q->queue.len)) == NULL)
		return NULL;
	amqp_queue_bind(c, 1, amqp_cstring_bytes(name),
	    amqp_cstring_bytes(exchange), amqp_cstring_bytes(key),
	    amqp_empty_table);
	if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) {
		free(name);
		return NULL;
	}
	return name;
}

/* Messages ready in the queue (exact: a confirm follows the enqueue). */
static long
raw_count(amqp_connection_state_t c, const char *queue)
{
	amqp_queue_declare_ok_t *q;

	q = amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 1, 0, 1, 1,
	    amqp_empty_table);
	return q == NULL ? -1 : (long)q->message_count;
}

struct got {
	char			 key[256];
	amqp_message_t		 msg;
};

static int
raw_get(amqp_connection_state_t c, const char *queue, struct got *g)
{
	amqp_rpc_reply_t r;
	amqp_basic_get_ok_t *m;

	r = amqp_basic_get(c, 1, amqp_cstring_bytes(queue), 1);
	if (r.reply_type != AMQP_RESPONSE_NORMAL ||
	    r.reply.id != AMQP_BASIC_GET_OK_METHOD)
		return -1;
	m = r.reply.decoded;
	snprintf(g->key, sizeof(g->key), "%.*s", (int)m->routing_key.len,
	    (const char *)m->routing_key.bytes);
	r = amqp_read_message(c, 1, &g->msg, 0);
	return r.reply_type == AMQP_RESPONSE_NORMAL ? 0 : -1;
}

/* Drains the queue; how many messages it held. */
static long
raw_drain(amqp_connection_state_t c, const char *queue)
{
	struct got g;
	long n = 0;

	while (raw_get(c, queue, &g) == 0) {
		amqp_destroy_message(&g.msg);
		n++;
	}
	return n;
}

/* --- against the broker ------------------------------------------------ */

static void
test_roundtrip(void)
{
	struct events_config cfg = config(amqp_port);
	amqp_connection_state_t c = raw_open();
	amqp_basic_properties_t *p;
	struct events *ev;
	struct got g;
	char err[256], *q;

	ev = events_open(&cfg, err, sizeof(err));
	if (!ok(ev != NULL, "open against the broker"))
		printf("#   %s\n", err);
	if (ev == NULL)
		exit(1);
	q = raw_queue(c, EVENTS_EXCHANGE_DEFAULT, "device.#");
	ok(q != NULL, "a queue bound to iota.events");
	is_int(events_publish(ev, EVENT_DEVICE_PROVISIONED, BODY, err,
	    sizeof(err)), EVENTS_OK, "published and confirmed");
	is_int(raw_count(c, q), 1, "one message in the queue at once");
	ok(raw_get(c, q, &g) == 0, "read it back");
	p = &g.msg.properties;
	is_str(g.key, EVENT_DEVICE_PROVISIONED, "routing key");
	ok(p->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG &&
	    p->delivery_mode == AMQP_DELIVERY_PERSISTENT, "persistent");
	ok(p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG &&
	    p->content_type.len == strlen("application/json") &&
	    memcmp(p->content_type.bytes, "application/json",
	    p->content_type.len) == 0, "content type application/json");
	ok(g.msg.body.len == strlen(BODY) &&
	    memcmp(g.msg.body.bytes, BODY, strlen(BODY)) == 0, "body intact");
	amqp_destroy_message(&g.msg);
	is_int(events_publish(ev, EVENT_DEVICE_REVOKED, "{}", err,
	    sizeof(err)), EVENTS_OK, "a second event on the same connection");
	is_int(raw_drain(c, q), 1, "and it arrived");
	events_close(ev);
	free(q);
	raw_close(c);
}

/* Declaring it again as not durable (or not topic) is refused with 406:
 * so it is durable and topic, whatever made it. */
static void
test_durable(void)
{
	amqp_connection_state_t c = raw_open();
	amqp_rpc_reply_t r;

	amqp_exchange_declare(c, 1, amqp_cstring_bytes(EVENTS_EXCHANGE_DEFAULT),
	    amqp_cstring_bytes("topic"), 1, 0, 0, 0, amqp_empty_table);
	ok(amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL,
	    "the exchange exists (passive declare)");
	amqp_exchange_declare(c, 1, amqp_cstring_bytes(EVENTS_EXCHANGE_DEFAULT),
	    amqp_cstring_bytes("topic"), 0, 0, 0, 0, amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	ok(r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
	    ((amqp_channel_close_t *)r.reply.decoded)->reply_code ==
	    AMQP_PRECONDITION_FAILED, "redeclared not durable: 406, so durable");
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
}

static void
test_refused(void)
{
	struct events_config cfg = config(amqp_port);
	amqp_connection_state_t c;
	struct events *ev;
	char err[256];

	cfg.password = PASSWORD;
	ok(events_open(&cfg, err, sizeof(err)) == NULL, "wrong password");
	like(err, "login as", "says the login failed");
	ok(one_line(err) && strstr(err, PASSWORD) == NULL &&
	    strstr(err, admin_pass) == NULL, "one line, no password: %s", err);
	cfg.defer_connect = 1;
	ev = events_open(&cfg, err, sizeof(err));
	is_int(events_publish(ev, EVENT_DEVICE_REVOKED, BODY, err,
	    sizeof(err)), EVENTS_REFUSED, "wrong password: EVENTS_REFUSED");
	events_close(ev);
	cfg = config(amqp_port);
	cfg.vhost = "no-such-vhost";
	cfg.defer_connect = 1;
	ev = events_open(&cfg, err, sizeof(err));
	is_int(events_publish(ev, EVENT_DEVICE_REVOKED, BODY, err,
	    sizeof(err)), EVENTS_REFUSED, "unknown vhost: EVENTS_REFUSED");
	like(err, "no-such-vhost", "naming it: %s", err);
	events_close(ev);
	cfg = config(amqp_port);
	cfg.exchange = "amq.topic";
	ev = events_open(&cfg, err, sizeof(err));
	ok(ev != NULL, "amq.topic: only checked, not declared");
	events_close(ev);
	c = raw_open();
	amqp_exchange_declare(c, 1, amqp_cstring_bytes("iota.t.direct"),
	    amqp_cstring_bytes("direct"), 0, 0, 1, 0, amqp_empty_table);
	cfg.exchange = "iota.t.direct";
	ok(events_open(&cfg, err, sizeof(err)) == NULL,
	    "an exchange of another type is refused");
	like(err, "inequivalent arg 'type'", "the broker's reason: %s", err);
	amqp_exchange_delete(c, 1, amqp_cstring_bytes(cfg.exchange), 0);
	raw_close(c);
}

static void
test_reconnect(void)
{
	struct events_config cfg;
	amqp_connection_state_t c = raw_open();
	struct events *ev;
	struct proxy px;
	char err[256], *q;
	long n;

	proxy_start(&px, amqp_port);
	cfg = config(px.port);
	cfg.timeout = 2;
	q = raw_queue(c, EVENTS_EXCHANGE_DEFAULT, "device.#");
	if ((ev = events_open(&cfg, err, sizeof(err))) == NULL) {
		printf("Bail out! open through the proxy: %s\n", err);
		exit(1);
	}
	proxy_do(&px, 'k');
	is_int(events_publish(ev, EVENT_DEVICE_PROVISIONED, BODY, err,
	    sizeof(err)), EVENTS_OK, "idle connection closed: reconnected");
	is_int(accepted(&px), 2, "on a second connection");
	proxy_do(&px, 'd');
	is_int(events_publish(ev, EVENT_DEVICE_PROVISIONED, BODY, err,
	    sizeof(err)), EVENTS_OK,
	    "connection closed under a publish: published again");
	is_int(accepted(&px), 3, "on a third connection");
	is_int(raw_drain(c, q), 2, "one message each time");
	proxy_do(&px, 'f');
	is_int(events_publish(ev, EVENT_DEVICE_PROVISIONED, BODY, err,
	    sizeof(err)), EVENTS_UNREACHABLE, "a broker gone silent: unreachable");
	like(err, "no confirm within 2 s", "no confirm in time: %s", err);
	proxy_do(&px, 'p');
	is_int(events_publish(ev, EVENT_DEVICE_PROVISIONED, BODY, err,
	    sizeof(err)), EVENTS_OK, "and back again");
	n = raw_drain(c, q);
	ok(n == 1 || n == 2, "at least once: %ld (the unconfirmed one may "
	    "have arrived too)", n);
	events_close(ev);
	proxy_stop(&px);
	free(q);
	raw_close(c);
}

/* Someone deletes the exchange: the channel closes (404), the next
 * connection declares it again. */
static void
test_exchange_gone(void)
{
	struct events_config cfg = config(amqp_port);
	amqp_connection_state_t c = raw_open();
	struct events *ev;
	char err[256];

	cfg.exchange = "iota.events.t";
	if ((ev = events_open(&cfg, err, sizeof(err))) == NULL) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	amqp_exchange_delete(c, 1, amqp_cstring_bytes(cfg.exchange), 0);
	ok(amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL,
	    "exchange deleted behind its back");
	is_int(events_publish(ev, EVENT_DEVICE_REVOKED, BODY, err,
	    sizeof(err)), EVENTS_OK, "publish declares it again");
	amqp_exchange_declare(c, 1, amqp_cstring_bytes(cfg.exchange),
	    amqp_cstring_bytes("topic"), 1, 0, 0, 0, amqp_empty_table);
	ok(amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL,
	    "it exists again");
	amqp_exchange_delete(c, 1, amqp_cstring_bytes(cfg.exchange), 0);
	events_close(ev);
	raw_close(c);
}

struct worker {
	struct events	*ev;
	int		 failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char err[256], body[128];

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		if (events_publish(w->ev, EVENT_DEVICE_PROVISIONED, body, err,
		    sizeof(err)) != EVENTS_OK) {
			printf("# %s\n", err);
			w->failures++;
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	struct events_config cfg = config(amqp_port);
	amqp_connection_state_t c = raw_open();
	struct worker w[THREADS];
	pthread_t t[THREADS];
	char err[256], *q;
	int failures = 0;

	cfg.timeout = 10;
	q = raw_queue(c, EVENTS_EXCHANGE_DEFAULT, "device.provisioned");
	w[0].ev = events_open(&cfg, err, sizeof(err));
	ok(w[0].ev != NULL, "open for %d threads", THREADS);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .ev = w[0].ev };
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
	}
	is_int(failures, 0, "%d confirmed publishes from %d threads",
	    THREADS * PER_THREAD, THREADS);
	is_int(raw_count(c, q), THREADS * PER_THREAD, "all of them arrived");
	events_close(w[0].ev);
	free(q);
	raw_close(c);
}

static int
read_creds(const char *path)
{
	char line[256], *colon;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if ((colon = strchr(line, ':')) == NULL)
		return -1;
	*colon = '\0';
	snprintf(admin_user, sizeof(admin_user), "%s", line);
	snprintf(admin_pass, sizeof(admin_pass), "%s", colon + 1);
	explicit_bzero(line, sizeof(line));
	return 0;
}

int
main(void)
{
	const char *port = getenv("RABBIT_AMQP_PORT");
	const char *creds = getenv("RABBIT_MGMT_CREDS");

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_config();
	test_unreachable();
	test_silent();
	if (port == NULL || creds == NULL) {
		printf("ok %d # SKIP no broker (RABBIT_AMQP_PORT, "
		    "RABBIT_MGMT_CREDS)\n", ++tap_n);
		return tap_done();
	}
	amqp_port = atoi(port);
	if (read_creds(creds) == -1) {
		printf("Bail out! cannot read %s\n", creds);
		return 1;
	}
	test_roundtrip();
	test_durable();
	test_refused();
	test_reconnect();
	test_exchange_gone();
	test_threads();
	return tap_done();
}
