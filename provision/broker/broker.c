/*
 * RabbitMQ's management HTTP API: vhosts, device users with their
 * permissions and topic permissions, one at a time or through a
 * definitions import, deletion and disconnection.  A pool of curl easy
 * handles lets many threads call at once and keeps connections alive.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "broker.h"
#include "encode.h"
#include "errbuf.h"

#define POOL_MAX	16		/* idle curl handles kept */
#define ANSWER_MAX	(64 * 1024)	/* kept of an answer; the rest dropped */
#define MAP_ANSWER_MAX	(64 * 1024 * 1024)	/* the whole map, or an error */
#define DETAIL_MAX	80		/* of RabbitMQ's error, in a message */
#define PATH_MAX_LEN	2048
#define PATTERN_MAX	(2 * 2 * BROKER_NAME_MAX + 64)
#define TIMEOUT_DEFAULT	10000L		/* ms */
#define HASHING		"rabbit_password_hashing_sha256"
#define EXCHANGE	"amq.topic"
#define DISCONNECT_WHY	"X-Reason: iota: device credentials revoked"
#define VHOSTS_PARAM	"mqtt_default_vhosts"
#define VHOSTS_PATH	"/api/global-parameters/" VHOSTS_PARAM

/* A change to the map waiting for the thread that writes it. */
struct vhost_op {
	struct vhost_op	*next;
	const char	*user;
	const char	*vhost;		/* NULL: remove */
	char		*err;
	size_t		 errlen;
	int		 rc, done;
};

struct broker {
	char		*base;		/* no trailing '/' */
	char		*user;
	char		*password;
	char		*ca_file;
	long		 timeout_ms;
	int		 https;
	pthread_mutex_t	 lock;		/* the pool */
	CURL		*idle[POOL_MAX];
	size_t		 nidle;
	/*
	 * mqtt_default_vhosts: one read-modify-write at a time (the
	 * management API has no compare-and-set); the changes that arrive
	 * meanwhile queue up and go together in the next one.
	 */
	pthread_mutex_t	 vlock;
	pthread_cond_t	 vdone;
	struct vhost_op	*vqueue, **vtail;
	int		 vbusy;
};

/*
 * What RabbitMQ answered: up to max bytes kept (data is NUL-terminated,
 * never NULL after answer_init()); beyond that the rest is dropped, or,
 * when strict, the transfer is stopped and the call fails.
 */
struct answer {
	char	*data;
	size_t	 len, cap, max;
	int	 strict, overflow;
};

/* One HTTP exchange with the management API. */
struct call {
	const char	*method;
	const char	*path;		/* percent-encoded */
	const char	*body;		/* JSON, or NULL */
	const char	*header;	/* one extra header, or NULL */
	const char	*what;		/* "creating user x": for messages */
	int		 missing_ok;	/* 404 is success */
	long		 status;
	struct answer	*answer;
};

/* The permissions of one device, regex-escaped and anchored. */
struct patterns {
	char	configure[PATTERN_MAX];
	char	write[PATTERN_MAX];
	char	read[PATTERN_MAX];
	char	topic_write[PATTERN_MAX];
	char	topic_read[PATTERN_MAX];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

#define seterr	errbuf_set

const char *
broker_strerror(int rc)
{
	switch (rc) {
	case BROKER_OK:
		return "ok";
	case BROKER_UNAVAILABLE:
		return "broker unavailable";
	case BROKER_REFUSED:
		return "refused by the broker";
	case BROKER_ERROR:
		return "broker adapter error";
	}
	return "";
}

/* Names. */

/* User and vhost names: 1..BROKER_NAME_MAX printable ASCII, no space. */
static int
name_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (s[n] <= ' ' || s[n] > '~')
			return 0;
	return n > 0 && n <= BROKER_NAME_MAX;
}

/* Group and device names become topic levels: [A-Za-z0-9_-] only. */
static int
level_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '-')
			return 0;
	return n > 0 && n <= BROKER_NAME_MAX;
}

static int
hash_ok(const char *h)
{
	size_t n;

	if (h == NULL)
		return 0;
	for (n = 0; h[n] != '\0'; n++)
		if (!isalnum((unsigned char)h[n]) && h[n] != '+' &&
		    h[n] != '/' && h[n] != '=')
			return 0;
	return n == 0 || n == BROKER_HASH_LEN;
}

/* RFC 3986 unreserved but '.' and '~' (no dot segments): -1 if too long. */
static int
pct_encode(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	unsigned char c;

	for (; *in != '\0'; in++) {
		c = (unsigned char)*in;
		if (o + 4 > outlen)
			return -1;
		if (isalnum(c) || c == '-' || c == '_')
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return 0;
}

/*
 * A literal for a PCRE pattern: every character but a letter, a digit and
 * '_' gets a backslash (which, before a non-alphanumeric, always means the
 * character itself).  A '{' escaped also stops {username}-style expansion.
 */
static int
re_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		if (o + 3 > outlen)
			return -1;
		if (!isalnum((unsigned char)*in) && *in != '_')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
	return 0;
}

static int
device_ok(const struct broker_device *d, char *err, size_t errlen)
{
	if (!name_ok(d->user)) {
		seterr(err, errlen, "broker user name: 1 to %d printable ASCII "
		    "characters, no space", BROKER_NAME_MAX);
		return 0;
	}
	if (!name_ok(d->vhost)) {
		seterr(err, errlen, "vhost name for user %s: 1 to %d printable "
		    "ASCII characters, no space", d->user, BROKER_NAME_MAX);
		return 0;
	}
	if (!level_ok(d->group) || !level_ok(d->device)) {
		seterr(err, errlen, "group or device name for user %s: only "
		    "A-Z a-z 0-9 _ - may reach a topic", d->user);
		return 0;
	}
	if (!hash_ok(d->password_hash)) {
		seterr(err, errlen, "password hash for user %s: not one of "
		    "broker_password_hash() or empty", d->user);
		return 0;
	}
	return 1;
}

static int
make_patterns(const struct broker_device *d, struct patterns *p)
{
	char user[2 * BROKER_NAME_MAX + 1], group[2 * BROKER_NAME_MAX + 1];
	char device[2 * BROKER_NAME_MAX + 1];

	if (re_escape(d->user, user, sizeof(user)) == -1 ||
	    re_escape(d->group, group, sizeof(group)) == -1 ||
	    re_escape(d->device, device, sizeof(device)) == -1)
		return -1;
	snprintf(p->configure, sizeof(p->configure),
	    "^mqtt-subscription-%sqos[01]$", user);
	snprintf(p->write, sizeof(p->write),
	    "^(amq\\.topic|mqtt-subscription-%sqos[01])$", user);
	snprintf(p->read, sizeof(p->read), "%s", p->write);
	snprintf(p->topic_write, sizeof(p->topic_write),
	    "^devices\\.%s\\.%s(\\..*)?$", group, device);
	snprintf(p->topic_read, sizeof(p->topic_read),
	    "^commands\\.%s\\.%s(\\..*)?$", group, device);
	return 0;
}

/* Passwords. */

int
broker_password_hash(const char *password, char *out, size_t outlen)
{
	unsigned char buf[BROKER_SALT_LEN + 32];
	unsigned int mdlen = 32;
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;

	if (password == NULL || outlen < BROKER_HASH_LEN + 1)
		return -1;
	if (RAND_bytes(buf, BROKER_SALT_LEN) != 1 ||
	    (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, buf, BROKER_SALT_LEN) != 1 ||
	    EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
	    EVP_DigestFinal_ex(ctx, buf + BROKER_SALT_LEN, &mdlen) != 1)
		goto out;
	EVP_EncodeBlock((unsigned char *)out, buf, sizeof(buf));
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int
broker_random_password(char *out, size_t outlen)
{
	if (outlen < BROKER_PASSWORD_LEN + 1)
		return -1;
	return b64url_random(BROKER_PASSWORD_BYTES, out);
}

/* The handle pool. */

static void
curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* "http://" or "https://", a host, no userinfo, query or fragment. */
static int
url_ok(const char *url, int *https)
{
	const char *host, *end;

	if (strncmp(url, "https://", 8) == 0)
		*https = 1;
	else if (strncmp(url, "http://", 7) == 0)
		*https = 0;
	else
		return 0;
	host = url + (*https ? 8 : 7);
	end = host + strcspn(host, "/");
	if (end == host || memchr(host, '@', (size_t)(end - host)) != NULL)
		return 0;
	for (const char *p = url; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == '?' || *p == '#')
			return 0;
	return 1;
}

static char *
strdup_or_null(const char *s, int *failed)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		*failed = 1;
	return p;
}

struct broker *
broker_new(const struct broker_config *cf, char *err, size_t errlen)
{
	struct broker *b;
	int https, failed = 0;
	size_t len;

	if (cf->mgmt_url == NULL || !url_ok(cf->mgmt_url, &https)) {
		seterr(err, errlen, "broker management URL: http:// or "
		    "https:// and a host, credentials apart");
		return NULL;
	}
	if (cf->user == NULL || cf->password == NULL) {
		seterr(err, errlen, "broker management credentials missing");
		return NULL;
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		seterr(err, errlen, "cannot initialize libcurl");
		return NULL;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->vlock, NULL);
	pthread_cond_init(&b->vdone, NULL);
	b->vtail = &b->vqueue;
	b->https = https;
	b->timeout_ms = cf->timeout_ms > 0 ? cf->timeout_ms : TIMEOUT_DEFAULT;
	b->base = strdup_or_null(cf->mgmt_url, &failed);
	b->user = strdup_or_null(cf->user, &failed);
	b->password = strdup_or_null(cf->password, &failed);
	b->ca_file = strdup_or_null(cf->ca_file, &failed);
	if (failed) {
		seterr(err, errlen, "out of memory");
		broker_free(b);
		return NULL;
	}
	len = strlen(b->base);
	while (len > 0 && b->base[len - 1] == '/')
		b->base[--len] = '\0';
	return b;
}

void
broker_free(struct broker *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nidle; i++)
		curl_easy_cleanup(b->idle[i]);
	pthread_mutex_destroy(&b->lock);
	pthread_mutex_destroy(&b->vlock);
	pthread_cond_destroy(&b->vdone);
	free(b->base);
	free(b->user);
	if (b->password != NULL)
		OPENSSL_clear_free(b->password, strlen(b->password));
	free(b->ca_file);
	free(b);
}

static CURL *
pool_take(struct broker *b)
{
	CURL *c = NULL;

	pthread_mutex_lock(&b->lock);
	if (b->nidle > 0)
		c = b->idle[--b->nidle];
	pthread_mutex_unlock(&b->lock);
	return c != NULL ? c : curl_easy_init();
}

/* A handle whose call failed may hold a broken connection: not kept. */
static void
pool_give(struct broker *b, CURL *c, int healthy)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	if (healthy && b->nidle < POOL_MAX) {
		b->idle[b->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	if (c != NULL)
		curl_easy_cleanup(c);
}

/* HTTP. */

static void
answer_init(struct answer *a, size_t max, int strict)
{
	static char empty[1];

	a->data = empty;
	a->len = a->cap = 0;
	a->max = max;
	a->strict = strict;
	a->overflow = 0;
}

static void
answer_free(struct answer *a)
{
	if (a->cap > 0)
		free(a->data);
	answer_init(a, a->max, a->strict);
}

/* Empty again, for another call (the shared empty string is never written). */
static void
answer_reset(struct answer *a)
{
	a->len = 0;
	if (a->cap > 0)
		a->data[0] = '\0';
	a->overflow = 0;
}

/* A short count (0) stops the transfer: no memory, or strict and too big. */
static size_t
answer_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb, keep, cap;
	char *p;

	keep = n < a->max - a->len ? n : a->max - a->len;
	if (keep < n && a->strict) {
		a->overflow = 1;
		return 0;
	}
	if (a->len + keep + 1 > a->cap) {
		for (cap = a->cap > 0 ? a->cap : 4096; cap < a->len + keep + 1;)
			cap *= 2;
		if ((p = realloc(a->cap > 0 ? a->data : NULL, cap)) == NULL)
			return 0;
		if (a->cap == 0)
			p[0] = '\0';
		a->data = p;
		a->cap = cap;
	}
	memcpy(a->data + a->len, ptr, keep);
	a->len += keep;
	a->data[a->len] = '\0';
	return n;
}

/* Everything but the request itself; the handle was reset. */
static int
setup(struct broker *b, CURL *c, struct answer *a, char *errbuf)
{
	return curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
	    b->https ? "https" : "http") ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(c, CURLOPT_PROXY, "") ||
	    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L) ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, b->timeout_ms) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, b->timeout_ms) ||
	    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) ||
	    curl_easy_setopt(c, CURLOPT_USERNAME, b->user) ||
	    curl_easy_setopt(c, CURLOPT_PASSWORD, b->password) ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) ||
	    (b->ca_file != NULL &&
	    curl_easy_setopt(c, CURLOPT_CAINFO, b->ca_file)) ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "iotad") ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, answer_write) ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
}

static int
set_request(struct broker *b, CURL *c, const struct call *cl,
    struct curl_slist *headers)
{
	char url[PATH_MAX_LEN + 512];
	int n;

	n = snprintf(url, sizeof(url), "%s%s", b->base, cl->path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return -1;
	return curl_easy_setopt(c, CURLOPT_URL, url) ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) ||
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, cl->method) ||
	    (cl->body != NULL &&
	    (curl_easy_setopt(c, CURLOPT_POSTFIELDS, cl->body) ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(cl->body)))) ? -1 : 0;
}

static struct curl_slist *
make_headers(const struct call *cl)
{
	struct curl_slist *h = NULL, *t;
	const char *lines[] = { "Content-Type: application/json", "Expect:",
	    cl->header };

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (lines[i] == NULL)
			continue;
		if ((t = curl_slist_append(h, lines[i])) == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

/* Configuration, not the network: a retry will not help. */
static int
curl_ours(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_LOGIN_DENIED:
		return 1;
	default:
		return 0;
	}
}

static int
transport_failed(struct broker *b, const struct call *cl, CURLcode rc,
    const char *errbuf, char *err, size_t errlen)
{
	seterr(err, errlen, "%s: RabbitMQ management at %s %s: %s", cl->what,
	    b->base, curl_ours(rc) ? "not usable (URL or TLS settings)" :
	    "unreachable", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
	return curl_ours(rc) ? BROKER_ERROR : BROKER_UNAVAILABLE;
}

/* Printable ASCII of s, at most DETAIL_MAX of it. */
static void
clean_copy(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s != '\0' && o + 1 < outlen && o < DETAIL_MAX; s++)
		out[o++] = *s >= ' ' && *s <= '~' ? *s : '?';
	out[o] = '\0';
}

/*
 * RabbitMQ's {"error": E, "reason": R} as "E: R".  R may quote what was
 * sent (a rejected hash comes back as ["not_base64", HASH]): of a list,
 * only its first element, which names the fault, is kept.
 */
static void
answer_detail(const struct answer *a, char *out, size_t outlen)
{
	char e[DETAIL_MAX + 1] = "", r[DETAIL_MAX + 1] = "";
	json_t *root, *reason;

	out[0] = '\0';
	if ((root = json_loadb(a->data, a->len, 0, NULL)) == NULL)
		return;
	if (json_is_string(json_object_get(root, "error")))
		clean_copy(json_string_value(json_object_get(root, "error")),
		    e, sizeof(e));
	reason = json_object_get(root, "reason");
	if (json_is_array(reason))
		reason = json_array_get(reason, 0);
	if (json_is_string(reason))
		clean_copy(json_string_value(reason), r, sizeof(r));
	json_decref(root);
	if (e[0] != '\0' || r[0] != '\0')
		snprintf(out, outlen, " (%s%s%s)", e, e[0] && r[0] ? ": " : "",
		    r);
}

static int
status_rc(const struct call *cl, char *err, size_t errlen)
{
	char detail[2 * DETAIL_MAX + 8];

	if (cl->status >= 200 && cl->status < 300)
		return BROKER_OK;
	if (cl->status == 404 && cl->missing_ok)
		return BROKER_OK;
	answer_detail(cl->answer, detail, sizeof(detail));
	seterr(err, errlen, "%s: RabbitMQ answered %ld%s", cl->what,
	    cl->status, detail);
	return cl->status >= 500 ? BROKER_UNAVAILABLE : BROKER_REFUSED;
}

static int
call(struct broker *b, struct call *cl, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURL *c = NULL;
	CURLcode crc;
	int rc = BROKER_ERROR;

	answer_reset(cl->answer);
	if ((c = pool_take(b)) == NULL || (headers = make_headers(cl)) == NULL) {
		seterr(err, errlen, "%s: out of memory", cl->what);
		goto out;
	}
	curl_easy_reset(c);
	if (setup(b, c, cl->answer, errbuf) != 0 ||
	    set_request(b, c, cl, headers) != 0) {
		seterr(err, errlen, "%s: this libcurl cannot make the request",
		    cl->what);
		goto out;
	}
	if ((crc = curl_easy_perform(c)) != CURLE_OK && cl->answer->overflow) {
		seterr(err, errlen, "%s: RabbitMQ's answer is larger than %zu "
		    "bytes", cl->what, cl->answer->max);
		goto out;
	}
	if (crc != CURLE_OK) {
		rc = transport_failed(b, cl, crc, errbuf, err, errlen);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &cl->status);
	rc = status_rc(cl, err, errlen);
out:
	curl_slist_free_all(headers);
	pool_give(b, c, rc == BROKER_OK || rc == BROKER_REFUSED);
	return rc;
}

/* A call without a body and without interest in the answer. */
static int
simple_call(struct broker *b, const char *method, const char *path,
    const char *header, const char *what, char *err, size_t errlen)
{
	struct answer a;
	struct call cl = { method, path, NULL, header, what, 1, 0, &a };
	int rc;

	answer_init(&a, ANSWER_MAX, 0);
	rc = call(b, &cl, err, errlen);
	answer_free(&a);
	return rc;
}

/* Sends the JSON (the reference is taken), cleansing the text after. */
static int
json_call(struct broker *b, const char *method, const char *path,
    json_t *body, const char *what, char *err, size_t errlen)
{
	struct answer a;
	struct call cl = { method, path, NULL, NULL, what, 0, 0, &a };
	char *text = NULL;
	int rc = BROKER_ERROR;

	answer_init(&a, ANSWER_MAX, 0);
	if (body == NULL ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		seterr(err, errlen, "%s: out of memory", what);
		goto out;
	}
	cl.body = text;
	rc = call(b, &cl, err, errlen);
out:
	if (text != NULL)
		OPENSSL_clear_free(text, strlen(text));
	answer_free(&a);
	json_decref(body);
	return rc;
}

/* The resources. */

static int
path_of(char *out, size_t outlen, const char *prefix, const char *a,
    const char *b)
{
	char ea[3 * BROKER_NAME_MAX + 1], eb[3 * BROKER_NAME_MAX + 1] = "";
	int n;

	if (pct_encode(a, ea, sizeof(ea)) == -1 ||
	    (b != NULL && pct_encode(b, eb, sizeof(eb)) == -1))
		return -1;
	n = snprintf(out, outlen, "%s/%s%s%s", prefix, ea, b ? "/" : "", eb);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* PUT prefix/a[/b] with the body (the reference is taken). */
static int
put_at(struct broker *b, const char *prefix, const char *a, const char *bn,
    json_t *body, const char *what, char *err, size_t errlen)
{
	char path[PATH_MAX_LEN];

	if (path_of(path, sizeof(path), prefix, a, bn) == -1) {
		json_decref(body);
		seterr(err, errlen, "%s: names too long", what);
		return BROKER_ERROR;
	}
	return json_call(b, "PUT", path, body, what, err, errlen);
}

int
broker_ping(struct broker *b, char *err, size_t errlen)
{
	struct answer a;
	struct call cl = { "GET", "/api/overview?columns=rabbitmq_version",
	    NULL, NULL, "reaching the broker", 0, 0, &a };
	json_t *root = NULL;
	int rc = BROKER_ERROR;

	answer_init(&a, ANSWER_MAX, 0);
	if ((rc = call(b, &cl, err, errlen)) != BROKER_OK)
		goto out;
	root = json_loadb(cl.answer->data, cl.answer->len, 0, NULL);
	if (!json_is_string(json_object_get(root, "rabbitmq_version"))) {
		seterr(err, errlen, "%s: %s does not answer as RabbitMQ's "
		    "management API", cl.what, b->base);
		rc = BROKER_ERROR;
	}
out:
	json_decref(root);
	answer_free(&a);
	return rc;
}

int
broker_vhost_ensure(struct broker *b, const char *vhost, char *err,
    size_t errlen)
{
	char what[BROKER_NAME_MAX + 32];

	if (!name_ok(vhost)) {
		seterr(err, errlen, "vhost name: 1 to %d printable ASCII "
		    "characters, no space", BROKER_NAME_MAX);
		return BROKER_ERROR;
	}
	snprintf(what, sizeof(what), "creating vhost %s", vhost);
	return put_at(b, "/api/vhosts", vhost, NULL, json_object(), what, err,
	    errlen);
}

/* The objects as PUT takes them; with ids, as a definitions file has them. */
static json_t *
user_json(const struct broker_device *d, int ids)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:s}", "password_hash", d->password_hash,
	    "hashing_algorithm", HASHING, "tags", "");
	if (o != NULL && ids &&
	    json_object_set_new(o, "name", json_string(d->user)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
add_ids(json_t *o, const struct broker_device *d, int ids)
{
	if (o == NULL || !ids)
		return o;
	if (json_object_set_new(o, "user", json_string(d->user)) == -1 ||
	    json_object_set_new(o, "vhost", json_string(d->vhost)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
permissions_json(const struct broker_device *d, const struct patterns *p,
    int ids)
{
	return add_ids(json_pack("{s:s, s:s, s:s}", "configure", p->configure,
	    "write", p->write, "read", p->read), d, ids);
}

static json_t *
topic_json(const struct broker_device *d, const struct patterns *p, int ids)
{
	return add_ids(json_pack("{s:s, s:s, s:s}", "exchange", EXCHANGE,
	    "write", p->topic_write, "read", p->topic_read), d, ids);
}

int
broker_device_put(struct broker *b, const struct broker_device *d,
    char *err, size_t errlen)
{
	char what[2 * BROKER_NAME_MAX + 64];
	struct patterns p;
	int rc;

	if (!device_ok(d, err, errlen))
		return BROKER_ERROR;
	if (make_patterns(d, &p) == -1) {
		seterr(err, errlen, "names of user %s too long", d->user);
		return BROKER_ERROR;
	}
	snprintf(what, sizeof(what), "creating user %s", d->user);
	if ((rc = put_at(b, "/api/users", d->user, NULL, user_json(d, 0),
	    what, err, errlen)) != BROKER_OK)
		return rc;
	snprintf(what, sizeof(what), "topic permissions of %s in vhost %s",
	    d->user, d->vhost);
	if ((rc = put_at(b, "/api/topic-permissions", d->vhost, d->user,
	    topic_json(d, &p, 0), what, err, errlen)) != BROKER_OK)
		return rc;
	snprintf(what, sizeof(what), "permissions of %s in vhost %s", d->user,
	    d->vhost);
	return put_at(b, "/api/permissions", d->vhost, d->user,
	    permissions_json(d, &p, 0), what, err, errlen);
}

/* Appends the device's entries to the import's three arrays. */
static int
definitions_add(json_t *users, json_t *topics, json_t *perms,
    const struct broker_device *d)
{
	struct patterns p;

	if (make_patterns(d, &p) == -1)
		return -1;
	return json_array_append_new(users, user_json(d, 1)) ||
	    json_array_append_new(topics, topic_json(d, &p, 1)) ||
	    json_array_append_new(perms, permissions_json(d, &p, 1)) ? -1 : 0;
}

/* One chunk: users and topic permissions first, permissions after. */
static int
import_chunk(struct broker *b, const struct broker_device *d, size_t n,
    char *err, size_t errlen)
{
	json_t *users = json_array(), *topics = json_array();
	json_t *perms = json_array(), *first, *second;
	char what[BROKER_NAME_MAX + 64];
	int rc = BROKER_ERROR;

	for (size_t i = 0; i < n; i++)
		if (definitions_add(users, topics, perms, &d[i]) == -1) {
			seterr(err, errlen, "importing users: out of memory");
			goto out;
		}
	first = json_pack("{s:O, s:O}", "users", users, "topic_permissions",
	    topics);
	second = json_pack("{s:O}", "permissions", perms);
	snprintf(what, sizeof(what), "importing %zu users (first %s)", n,
	    d[0].user);
	if ((rc = json_call(b, "POST", "/api/definitions", first, what, err,
	    errlen)) == BROKER_OK)
		rc = json_call(b, "POST", "/api/definitions", second, what,
		    err, errlen);
	else
		json_decref(second);
out:
	json_decref(users);
	json_decref(topics);
	json_decref(perms);
	return rc;
}

int
broker_devices_put(struct broker *b, const struct broker_device *d,
    size_t n, char *err, size_t errlen)
{
	size_t chunk;
	int rc = BROKER_OK;

	for (size_t i = 0; i < n; i++)
		if (!device_ok(&d[i], err, errlen))
			return BROKER_ERROR;
	for (size_t i = 0; i < n && rc == BROKER_OK; i += chunk) {
		chunk = n - i < BROKER_BATCH_MAX ? n - i : BROKER_BATCH_MAX;
		rc = import_chunk(b, d + i, chunk, err, errlen);
	}
	return rc;
}

/* DELETE prefix/user, no body; 404 is done. */
static int
delete_at(struct broker *b, const char *prefix, const char *user,
    const char *header, const char *what, char *err, size_t errlen)
{
	char path[PATH_MAX_LEN];

	if (!name_ok(user)) {
		seterr(err, errlen, "broker user name: 1 to %d printable ASCII "
		    "characters, no space", BROKER_NAME_MAX);
		return BROKER_ERROR;
	}
	path_of(path, sizeof(path), prefix, user, NULL);	/* fits */
	return simple_call(b, "DELETE", path, header, what, err, errlen);
}

int
broker_user_delete(struct broker *b, const char *user, char *err,
    size_t errlen)
{
	char what[BROKER_NAME_MAX + 32];

	snprintf(what, sizeof(what), "deleting user %s", user ? user : "");
	return delete_at(b, "/api/users", user, NULL, what, err, errlen);
}

int
broker_user_disconnect(struct broker *b, const char *user, char *err,
    size_t errlen)
{
	char what[BROKER_NAME_MAX + 32];

	snprintf(what, sizeof(what), "closing connections of %s",
	    user ? user : "");
	return delete_at(b, "/api/connections/username", user, DISCONNECT_WHY,
	    what, err, errlen);
}

/*
 * mqtt_default_vhosts, the certificate login's vhost map.  RabbitMQ keeps
 * one such map per broker, {"CN": "vhost", ...}, as a global runtime
 * parameter: it is read whole, changed, and written whole, so changes are
 * serialised here (one read-modify-write at a time in this process) and
 * those that queue up meanwhile are applied together.  Entries iotad did
 * not make are kept as they are.
 */

/*
 * The map as RabbitMQ has it now: a new reference to an object, empty if
 * there is none.  An empty map may come back as [] (Erlang's empty
 * proplist); anything else that is not an object is refused, never
 * overwritten.
 */
static int
vhosts_read(struct broker *b, json_t **map, char *err, size_t errlen)
{
	struct answer a;
	struct call cl = { "GET", VHOSTS_PATH, NULL, NULL,
	    "reading " VHOSTS_PARAM, 1, 0, &a };
	json_t *root = NULL, *value;
	int rc;

	*map = NULL;
	answer_init(&a, MAP_ANSWER_MAX, 1);
	if ((rc = call(b, &cl, err, errlen)) != BROKER_OK)
		goto out;
	rc = BROKER_ERROR;
	if (cl.status == 404) {
		if ((*map = json_object()) == NULL)
			seterr(err, errlen, "%s: out of memory", cl.what);
		else
			rc = BROKER_OK;
		goto out;
	}
	root = json_loadb(a.data, a.len, 0, NULL);
	value = json_object_get(root, "value");
	if (json_is_object(value))
		*map = json_incref(value);
	else if (json_is_array(value) && json_array_size(value) == 0)
		*map = json_object();
	else {
		seterr(err, errlen, "%s: RabbitMQ's answer has no JSON object "
		    "as its value: left as it is", cl.what);
		goto out;
	}
	if (*map == NULL)
		seterr(err, errlen, "%s: out of memory", cl.what);
	else
		rc = BROKER_OK;
out:
	json_decref(root);
	answer_free(&a);
	return rc;
}

/* The map written back whole; an empty one is deleted. */
static int
vhosts_write(struct broker *b, json_t *map, char *err, size_t errlen)
{
	if (json_object_size(map) == 0)
		return simple_call(b, "DELETE", VHOSTS_PATH, NULL,
		    "clearing " VHOSTS_PARAM, err, errlen);
	return json_call(b, "PUT", VHOSTS_PATH, json_pack("{s:s, s:O}",
	    "name", VHOSTS_PARAM, "value", map), "writing " VHOSTS_PARAM,
	    err, errlen);
}

/* One read-modify-write for the queued changes, in their order. */
static int
vhosts_apply(struct broker *b, struct vhost_op *ops, char *err,
    size_t errlen)
{
	json_t *map, *before = NULL;
	int rc, failed = 0;

	if ((rc = vhosts_read(b, &map, err, errlen)) != BROKER_OK)
		return rc;
	if ((before = json_deep_copy(map)) == NULL)
		failed = 1;
	for (struct vhost_op *o = ops; o != NULL && !failed; o = o->next)
		if (o->vhost != NULL)
			failed = json_object_set_new(map, o->user,
			    json_string(o->vhost)) == -1;
		else
			json_object_del(map, o->user);	/* -1: not there */
	if (failed) {
		seterr(err, errlen, "updating " VHOSTS_PARAM ": out of memory");
		rc = BROKER_ERROR;
	} else if (!json_equal(map, before))
		rc = vhosts_write(b, map, err, errlen);
	json_decref(before);
	json_decref(map);
	return rc;
}

int
broker_default_vhost_set(struct broker *b, const char *user,
    const char *vhost, char *err, size_t errlen)
{
	struct vhost_op op = { NULL, user, vhost, err, errlen, BROKER_ERROR, 0 };
	struct vhost_op *batch;
	char msg[512];
	int rc;

	if (!name_ok(user)) {
		seterr(err, errlen, "broker user name: 1 to %d printable ASCII "
		    "characters, no space", BROKER_NAME_MAX);
		return BROKER_ERROR;
	}
	if (vhost != NULL && !name_ok(vhost)) {
		seterr(err, errlen, "vhost name for user %s: 1 to %d printable "
		    "ASCII characters, no space", user, BROKER_NAME_MAX);
		return BROKER_ERROR;
	}
	pthread_mutex_lock(&b->vlock);
	*b->vtail = &op;
	b->vtail = &op.next;
	while (!op.done) {
		if (b->vbusy) {
			pthread_cond_wait(&b->vdone, &b->vlock);
			continue;
		}
		/* Ours is in the queue: this thread writes for all of it. */
		batch = b->vqueue;
		b->vqueue = NULL;
		b->vtail = &b->vqueue;
		b->vbusy = 1;
		pthread_mutex_unlock(&b->vlock);
		msg[0] = '\0';
		rc = vhosts_apply(b, batch, msg, sizeof(msg));
		pthread_mutex_lock(&b->vlock);
		for (struct vhost_op *o = batch, *next; o != NULL; o = next) {
			next = o->next;		/* o may go once done */
			if (rc != BROKER_OK)
				seterr(o->err, o->errlen, "%s", msg);
			o->rc = rc;
			o->done = 1;
		}
		b->vbusy = 0;
		pthread_cond_broadcast(&b->vdone);
	}
	pthread_mutex_unlock(&b->vlock);
	return op.rc;
}
