/*
 * The HTTP client of RabbitMQ's management API: a pool of curl easy
 * handles that many threads share and that keeps connections alive, the
 * bounded answer buffer, and one call() that turns every failure into a
 * BROKER_* code and one line.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "errbuf.h"
#include "prom.h"
#include "mgmt-int.h"

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

int
mgmt_name_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (s[n] <= ' ' || s[n] > '~')
			return 0;
	return n > 0 && n <= BROKER_NAME_MAX;
}

static int
mgmt_pct_encode(const char *in, char *out, size_t outlen)
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

void
mgmt_answer_init(struct answer *a, size_t max, int strict)
{
	static char empty[1];

	a->data = empty;
	a->len = a->cap = 0;
	a->max = max;
	a->strict = strict;
	a->overflow = 0;
}

void
mgmt_answer_free(struct answer *a)
{
	if (a->cap > 0)
		free(a->data);
	mgmt_answer_init(a, a->max, a->strict);
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
setup(struct broker *b, CURL *c, struct answer *a, char *errbuf,
    long timeout_ms)
{
	return curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
	    b->https ? "https" : "http") ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(c, CURLOPT_PROXY, "") ||
	    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L) ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) ||
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

/* Management API calls made, of every broker of the process, and failed. */
static struct metric_counter calls, failures;

void
broker_call_stats(unsigned long long *made, unsigned long long *failed)
{
	*made = metric_get(&calls);
	*failed = metric_get(&failures);
}

int
mgmt_call(struct broker *b, struct call *cl, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURL *c = NULL;
	CURLcode crc;
	long timeout_ms;
	int rc = BROKER_ERROR;

	answer_reset(cl->answer);
	/* This request's broker time is spent: no call at all. */
	if ((timeout_ms = (long)broker_deadline_left_ms(b->timeout_ms)) <= 0) {
		seterr(err, errlen, "%s: RabbitMQ management at %s: no answer "
		    "within broker.timeout", cl->what, b->base);
		return BROKER_UNAVAILABLE;
	}
	if ((c = pool_take(b)) == NULL || (headers = make_headers(cl)) == NULL) {
		seterr(err, errlen, "%s: out of memory", cl->what);
		goto out;
	}
	curl_easy_reset(c);
	metric_add(&calls, 1);
	if (setup(b, c, cl->answer, errbuf, timeout_ms) != 0 ||
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
	if (rc != BROKER_OK && c != NULL && headers != NULL)
		metric_add(&failures, 1);
	curl_slist_free_all(headers);
	pool_give(b, c, rc == BROKER_OK || rc == BROKER_REFUSED);
	return rc;
}

/* A call without a body and without interest in the answer. */
int
mgmt_simple_call(struct broker *b, const char *method, const char *path,
    const char *header, const char *what, char *err, size_t errlen)
{
	struct answer a;
	struct call cl = { method, path, NULL, header, what, 1, 0, &a };
	int rc;

	mgmt_answer_init(&a, ANSWER_MAX, 0);
	rc = mgmt_call(b, &cl, err, errlen);
	mgmt_answer_free(&a);
	return rc;
}

/* Sends the JSON (the reference is taken), cleansing the text after. */
int
mgmt_json_call(struct broker *b, const char *method, const char *path,
    json_t *body, const char *what, char *err, size_t errlen)
{
	struct answer a;
	struct call cl = { method, path, NULL, NULL, what, 0, 0, &a };
	char *text = NULL;
	int rc = BROKER_ERROR;

	mgmt_answer_init(&a, ANSWER_MAX, 0);
	if (body == NULL ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		seterr(err, errlen, "%s: out of memory", what);
		goto out;
	}
	cl.body = text;
	rc = mgmt_call(b, &cl, err, errlen);
out:
	if (text != NULL)
		OPENSSL_clear_free(text, strlen(text));
	mgmt_answer_free(&a);
	json_decref(body);
	return rc;
}

/* The resources. */

static int
mgmt_path(char *out, size_t outlen, const char *prefix, const char *a,
    const char *b)
{
	char ea[3 * BROKER_NAME_MAX + 1], eb[3 * BROKER_NAME_MAX + 1] = "";
	int n;

	if (mgmt_pct_encode(a, ea, sizeof(ea)) == -1 ||
	    (b != NULL && mgmt_pct_encode(b, eb, sizeof(eb)) == -1))
		return -1;
	n = snprintf(out, outlen, "%s/%s%s%s", prefix, ea, b ? "/" : "", eb);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* PUT prefix/a[/b] with the body (the reference is taken). */
int
mgmt_put(struct broker *b, const char *prefix, const char *a, const char *bn,
    json_t *body, const char *what, char *err, size_t errlen)
{
	char path[PATH_MAX_LEN];

	if (mgmt_path(path, sizeof(path), prefix, a, bn) == -1) {
		json_decref(body);
		seterr(err, errlen, "%s: names too long", what);
		return BROKER_ERROR;
	}
	return mgmt_json_call(b, "PUT", path, body, what, err, errlen);
}

int
broker_ping(struct broker *b, char *err, size_t errlen)
{
	struct answer a;
	struct call cl = { "GET", "/api/overview?columns=rabbitmq_version",
	    NULL, NULL, "reaching the broker", 0, 0, &a };
	json_t *root = NULL;
	int rc = BROKER_ERROR;

	mgmt_answer_init(&a, ANSWER_MAX, 0);
	if ((rc = mgmt_call(b, &cl, err, errlen)) != BROKER_OK)
		goto out;
	root = json_loadb(cl.answer->data, cl.answer->len, 0, NULL);
	if (!json_is_string(json_object_get(root, "rabbitmq_version"))) {
		seterr(err, errlen, "%s: %s does not answer as RabbitMQ's "
		    "management API", cl.what, b->base);
		rc = BROKER_ERROR;
	}
out:
	json_decref(root);
	mgmt_answer_free(&a);
	return rc;
}

int
mgmt_delete(struct broker *b, const char *prefix, const char *user,
    const char *header, const char *what, char *err, size_t errlen)
{
	char path[PATH_MAX_LEN];

	if (!mgmt_name_ok(user)) {
		seterr(err, errlen, "broker user name: 1 to %d printable ASCII "
		    "characters, no space", BROKER_NAME_MAX);
		return BROKER_ERROR;
	}
	mgmt_path(path, sizeof(path), prefix, user, NULL);	/* fits */
	return mgmt_simple_call(b, "DELETE", path, header, what, err, errlen);
}
