/*
 * iota-consumer: a small service on rabbitmq-c that reads device messages
 * from RabbitMQ and prints one line per message:
 *
 *     topic=devices/g1/d1/telemetry group=g1 device=d1 payload=21.5
 *
 * The topic is the routing key in MQTT form (RabbitMQ's MQTT plugin turns
 * "/" into "."; a "." inside an MQTT level comes back as "/" too).  group=
 * and device= appear for keys devices.<group>.<device>[.<rest>].  Bytes
 * that are not printable ASCII are escaped (\\, \n, \r, \t, \xHH), and so
 * are spaces everywhere but in the payload, which comes last.
 *
 * The queue is the consumer's own: server-named, exclusive, auto-delete,
 * bound to the exchange with each binding key.  Each message is printed,
 * flushed, then acknowledged.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#define PROGNAME	"iota-consumer"
#define EXIT_USAGE	2	/* bad command line; 1 is any other failure */
#define CHANNEL		1
#define FRAME_MAX	131072
#define HEARTBEAT	30	/* seconds; rabbitmq-c beats while we wait */
#define PREFETCH	64
#define BINDINGS_MAX	16
#define PASSWORD_MAX	1024
#define CONNECT_TIMEOUT	30	/* seconds, when --timeout does not say */
#define TIMEOUT_MAX	86400

struct opts {
	const char	*host;
	int		 port;
	const char	*vhost;
	const char	*user;
	const char	*password_file;
	const char	*exchange;
	const char	*bindings[BINDINGS_MAX];
	int		 nbindings;
	long		 count;		/* 0: forever */
	long		 timeout;	/* seconds without a message; 0: none */
	const char	*ready_file;
};

__attribute__((format(printf, 1, 2)))
static void
error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s --user USER --password-file FILE [--host HOST] "
	    "[--port PORT]\n"
	    "           [--vhost VHOST] [--exchange NAME] [--binding KEY]... "
	    "[--count N]\n"
	    "           [--timeout SECONDS] [--ready-file FILE]\n"
	    "\n"
	    "Reads messages from RabbitMQ and prints one line for each:\n"
	    "  topic=<routing key, dots as slashes> [group=G device=D] "
	    "payload=<escaped>\n"
	    "\n"
	    "options:\n"
	    "  --host HOST            broker address (127.0.0.1)\n"
	    "  --port PORT            AMQP port (5672)\n"
	    "  --vhost VHOST          virtual host (/)\n"
	    "  --user USER            broker user\n"
	    "  --password-file FILE   its password: the file's first line\n"
	    "  --exchange NAME        exchange to bind to (amq.topic, where "
	    "MQTT lands)\n"
	    "  --binding KEY          binding key, repeatable (devices.#)\n"
	    "  --count N              exit 0 after N messages (0: never)\n"
	    "  --timeout SECONDS      exit 1 after SECONDS without a message "
	    "(0: never)\n"
	    "  --ready-file FILE      once bound, create FILE instead of "
	    "printing\n"
	    "                         \"ready\" on standard error\n"
	    "  -h, --help             this text\n",
	    PROGNAME);
}

/* --- the command line -------------------------------------------------- */

static int
number(const char *opt, const char *arg, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
		error("%s: \"%s\" is not a number in %ld..%ld", opt, arg, min,
		    max);
		return -1;
	}
	*out = v;
	return 0;
}

enum { O_HOST = 256, O_PORT, O_VHOST, O_USER, O_PASSWORD_FILE, O_EXCHANGE,
    O_BINDING, O_COUNT, O_TIMEOUT, O_READY_FILE };

static const struct option longopts[] = {
	{ "host", required_argument, NULL, O_HOST },
	{ "port", required_argument, NULL, O_PORT },
	{ "vhost", required_argument, NULL, O_VHOST },
	{ "user", required_argument, NULL, O_USER },
	{ "password-file", required_argument, NULL, O_PASSWORD_FILE },
	{ "exchange", required_argument, NULL, O_EXCHANGE },
	{ "binding", required_argument, NULL, O_BINDING },
	{ "count", required_argument, NULL, O_COUNT },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "ready-file", required_argument, NULL, O_READY_FILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option into o; -1 after saying what is wrong. */
static int
option(struct opts *o, int c, const char *arg)
{
	long port;

	switch (c) {
	case O_HOST:		o->host = arg; return 0;
	case O_VHOST:		o->vhost = arg; return 0;
	case O_USER:		o->user = arg; return 0;
	case O_PASSWORD_FILE:	o->password_file = arg; return 0;
	case O_EXCHANGE:	o->exchange = arg; return 0;
	case O_READY_FILE:	o->ready_file = arg; return 0;
	case O_PORT:
		if (number("--port", arg, 1, 65535, &port) == -1)
			return -1;
		o->port = (int)port;
		return 0;
	case O_COUNT:
		return number("--count", arg, 0, LONG_MAX, &o->count);
	case O_TIMEOUT:
		return number("--timeout", arg, 0, TIMEOUT_MAX, &o->timeout);
	case O_BINDING:
		if (o->nbindings == BINDINGS_MAX) {
			error("at most %d --binding", BINDINGS_MAX);
			return -1;
		}
		o->bindings[o->nbindings++] = arg;
		return 0;
	default:
		error("unknown option (see '%s --help')", PROGNAME);
		return -1;
	}
}

/* 0: run; 1: help was printed; -1: usage error, said. */
static int
parse_args(int argc, char *argv[], struct opts *o)
{
	int c;

	*o = (struct opts){ .host = "127.0.0.1", .port = AMQP_PROTOCOL_PORT,
	    .vhost = "/", .exchange = "amq.topic" };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			error("%s: unknown option or missing argument (see "
			    "'%s --help')", argv[optind - 1], PROGNAME);
			return -1;
		}
		if (option(o, c, optarg) == -1)
			return -1;
	}
	if (optind < argc) {
		error("unexpected argument \"%s\" (see '%s --help')",
		    argv[optind], PROGNAME);
		return -1;
	}
	if (o->user == NULL || o->password_file == NULL) {
		error("--user and --password-file are required (see '%s "
		    "--help')", PROGNAME);
		return -1;
	}
	if (o->nbindings == 0)
		o->bindings[o->nbindings++] = "devices.#";
	return 0;
}

/* The first line of path, never echoed anywhere. */
static int
read_password(const char *path, char out[PASSWORD_MAX + 2])
{
	FILE *f;
	size_t len;

	if ((f = fopen(path, "r")) == NULL) {
		error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(out, PASSWORD_MAX + 2, f) == NULL)
		out[0] = '\0';
	fclose(f);
	len = strcspn(out, "\r\n");
	if (len == 0 || len > PASSWORD_MAX) {
		error("%s: %s password on the first line", path,
		    len ? "too long a" : "no");
		explicit_bzero(out, PASSWORD_MAX + 2);
		return -1;
	}
	out[len] = '\0';
	return 0;
}

/* --- the broker -------------------------------------------------------- */

static void
print_text(FILE *fp, amqp_bytes_t b)
{
	const unsigned char *p = b.bytes;

	for (size_t i = 0; i < b.len && i < 200; i++)
		fputc(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?', fp);
}

/* Why an RPC failed, in one line; 0 if it did not. */
static int
check_rpc(amqp_rpc_reply_t r, const char *what)
{
	const amqp_method_t *m = &r.reply;
	amqp_bytes_t text;

	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return 0;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		error("%s: %s", what, amqp_error_string2(r.library_error));
		return -1;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (m->id == AMQP_CONNECTION_CLOSE_METHOD)
			text = ((amqp_connection_close_t *)m->decoded)->reply_text;
		else if (m->id == AMQP_CHANNEL_CLOSE_METHOD)
			text = ((amqp_channel_close_t *)m->decoded)->reply_text;
		else
			text = amqp_cstring_bytes("unexpected answer");
		fprintf(stderr, "%s: %s: ", PROGNAME, what);
		print_text(stderr, text);
		fputc('\n', stderr);
		return -1;
	default:
		error("%s: no answer", what);
		return -1;
	}
}

static amqp_connection_state_t
connect_broker(const struct opts *o, const char *password)
{
	struct timeval tv = { o->timeout > 0 ? o->timeout : CONNECT_TIMEOUT, 0 };
	amqp_table_entry_t name = {	/* for the management UI */
		.key = amqp_cstring_bytes("connection_name"),
		.value = { .kind = AMQP_FIELD_KIND_UTF8,
		    .value.bytes = amqp_cstring_bytes(PROGNAME) },
	};
	amqp_table_t props = { .num_entries = 1, .entries = &name };
	amqp_connection_state_t conn;
	amqp_socket_t *sock;
	char what[600];
	int status;

	if ((conn = amqp_new_connection()) == NULL ||
	    (sock = amqp_tcp_socket_new(conn)) == NULL) {
		error("out of memory");
		return NULL;
	}
	if ((status = amqp_socket_open_noblock(sock, o->host, o->port, &tv))
	    != AMQP_STATUS_OK) {
		error("cannot connect to %s:%d: %s", o->host, o->port,
		    amqp_error_string2(status));
		amqp_destroy_connection(conn);
		return NULL;
	}
	amqp_set_handshake_timeout(conn, &tv);
	amqp_set_rpc_timeout(conn, &tv);
	snprintf(what, sizeof(what), "login as %s to vhost %s at %s:%d",
	    o->user, o->vhost, o->host, o->port);
	if (check_rpc(amqp_login_with_properties(conn, o->vhost, 0, FRAME_MAX,
	    HEARTBEAT, &props, AMQP_SASL_METHOD_PLAIN, o->user, password),
	    what) == -1) {
		amqp_destroy_connection(conn);
		return NULL;
	}
	amqp_channel_open(conn, CHANNEL);
	if (check_rpc(amqp_get_rpc_reply(conn), "open channel") == -1) {
		amqp_destroy_connection(conn);
		return NULL;
	}
	return conn;
}

/* The consumer's own queue, bound and consumed from. */
static int
subscribe(amqp_connection_state_t conn, const struct opts *o)
{
	amqp_queue_declare_ok_t *q;
	amqp_bytes_t queue;
	char what[600];

	q = amqp_queue_declare(conn, CHANNEL, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	if (check_rpc(amqp_get_rpc_reply(conn), "declare a queue") == -1)
		return -1;
	if ((queue = amqp_bytes_malloc_dup(q->queue)).bytes == NULL) {
		error("out of memory");
		return -1;
	}
	for (int i = 0; i < o->nbindings; i++) {
		snprintf(what, sizeof(what), "bind to exchange %s with %s",
		    o->exchange, o->bindings[i]);
		amqp_queue_bind(conn, CHANNEL, queue,
		    amqp_cstring_bytes(o->exchange),
		    amqp_cstring_bytes(o->bindings[i]), amqp_empty_table);
		if (check_rpc(amqp_get_rpc_reply(conn), what) == -1)
			goto fail;
	}
	/* No more in flight than --count will take. */
	amqp_basic_qos(conn, CHANNEL, 0, o->count > 0 && o->count < PREFETCH ?
	    (uint16_t)o->count : PREFETCH, 0);
	if (check_rpc(amqp_get_rpc_reply(conn), "set prefetch") == -1)
		goto fail;
	amqp_basic_consume(conn, CHANNEL, queue, amqp_empty_bytes, 0, 0, 1,
	    amqp_empty_table);
	if (check_rpc(amqp_get_rpc_reply(conn), "consume") == -1)
		goto fail;
	amqp_bytes_free(queue);
	return 0;
 fail:
	amqp_bytes_free(queue);
	return -1;
}

/* "ready" on stderr, or path created whole (written aside, renamed). */
static int
announce_ready(const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (path == NULL) {
		fprintf(stderr, "ready\n");
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    (f = fopen(tmp, "w")) == NULL) {
		error("%s: cannot create", path);
		return -1;
	}
	fputs("ready\n", f);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		error("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* --- printing ---------------------------------------------------------- */

/* Bytes as text: printable ASCII as it is, the rest escaped. */
static void
put_escaped(FILE *fp, const unsigned char *p, size_t len, int space_ok)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\')
			fputs("\\\\", fp);
		else if (p[i] == '\n')
			fputs("\\n", fp);
		else if (p[i] == '\r')
			fputs("\\r", fp);
		else if (p[i] == '\t')
			fputs("\\t", fp);
		else if (p[i] > 0x20 && p[i] < 0x7f)
			fputc(p[i], fp);
		else if (p[i] == ' ' && space_ok)
			fputc(' ', fp);
		else
			fprintf(fp, "\\x%02x", p[i]);
	}
}

/* The routing key as an MQTT topic: dots become slashes. */
static void
put_topic(FILE *fp, amqp_bytes_t key)
{
	const unsigned char *p = key.bytes;

	for (size_t i = 0; i < key.len; i++) {
		if (p[i] == '.')
			fputc('/', fp);
		else
			put_escaped(fp, p + i, 1, 0);
	}
}

/* Length of the level of key that starts at off (up to a dot or the end). */
static size_t
level(amqp_bytes_t key, size_t off)
{
	const char *p = key.bytes, *dot;

	if (off >= key.len)
		return 0;
	dot = memchr(p + off, '.', key.len - off);
	return dot != NULL ? (size_t)(dot - (p + off)) : key.len - off;
}

/* " group=G device=D" for devices.G.D[.rest], G and D not empty. */
static void
put_device(FILE *fp, amqp_bytes_t key)
{
	const unsigned char *p = key.bytes;
	size_t g, d;

	if (key.len < 8 || memcmp(p, "devices.", 8) != 0)
		return;
	if ((g = level(key, 8)) == 0 || 8 + g >= key.len ||
	    (d = level(key, 8 + g + 1)) == 0)
		return;
	fputs(" group=", fp);
	put_escaped(fp, p + 8, g, 0);
	fputs(" device=", fp);
	put_escaped(fp, p + 8 + g + 1, d, 0);
}

static void
print_message(FILE *fp, const amqp_envelope_t *env)
{
	fputs("topic=", fp);
	put_topic(fp, env->routing_key);
	put_device(fp, env->routing_key);
	fputs(" payload=", fp);
	put_escaped(fp, env->message.body.bytes, env->message.body.len, 1);
	fputc('\n', fp);
}

/* --- the loop ---------------------------------------------------------- */

/* Something other than a delivery arrived: 0 if it can be skipped. */
static int
on_other_frame(amqp_connection_state_t conn)
{
	amqp_frame_t f;
	amqp_rpc_reply_t r = { .reply_type = AMQP_RESPONSE_SERVER_EXCEPTION };
	int status;

	if ((status = amqp_simple_wait_frame(conn, &f)) != AMQP_STATUS_OK) {
		error("connection lost: %s", amqp_error_string2(status));
		return -1;
	}
	if (f.frame_type != AMQP_FRAME_METHOD ||
	    (f.payload.method.id != AMQP_CHANNEL_CLOSE_METHOD &&
	    f.payload.method.id != AMQP_CONNECTION_CLOSE_METHOD))
		return 0;
	r.reply = f.payload.method;
	check_rpc(r, "the broker closed the connection");
	return -1;
}

/* Prints and acknowledges messages; the exit status. */
static int
consume(amqp_connection_state_t conn, const struct opts *o)
{
	struct timeval tv = { o->timeout, 0 };
	amqp_envelope_t env;
	amqp_rpc_reply_t r;
	int status;

	for (long n = 0; o->count == 0 || n < o->count;) {
		amqp_maybe_release_buffers(conn);
		r = amqp_consume_message(conn, &env, o->timeout > 0 ? &tv :
		    NULL, 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			print_message(stdout, &env);
			status = fflush(stdout) == 0 ? amqp_basic_ack(conn,
			    CHANNEL, env.delivery_tag, 0) : -1;
			amqp_destroy_envelope(&env);
			if (status != AMQP_STATUS_OK) {
				error(status == -1 ? "cannot write to "
				    "standard output" : "cannot acknowledge");
				return 1;
			}
			n++;
		} else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT) {
			error("no message within %ld s", o->timeout);
			return 1;
		} else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
			if (on_other_frame(conn) == -1)
				return 1;
		} else {
			check_rpc(r, "consume");
			return 1;
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	amqp_connection_state_t conn;
	char password[PASSWORD_MAX + 2];
	int rc;

	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc == 1 ? 0 : EXIT_USAGE;
	if (read_password(o.password_file, password) == -1)
		return 1;
	conn = connect_broker(&o, password);
	explicit_bzero(password, sizeof(password));
	if (conn == NULL)
		return 1;
	rc = subscribe(conn, &o) == 0 && announce_ready(o.ready_file) == 0 ?
	    consume(conn, &o) : 1;
	amqp_channel_close(conn, CHANNEL, AMQP_REPLY_SUCCESS);
	amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(conn);
	return rc;
}
