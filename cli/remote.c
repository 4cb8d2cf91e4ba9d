/*
 * The one HTTPS client of iotactl: a libcurl easy handle kept for the whole
 * command (paging and chunks reuse its connection), HTTPS only, TLS 1.2 or
 * later, the peer verified against --ca-file or the system's store, JSON in
 * and out, bounded answers, and every failure said in one line.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "remote.h"

struct answer {
	char	*data;
	size_t	 len;
	size_t	 cap;
	int	 too_large;
};

struct remote {
	CURL		*curl;
	char		*base;
	char		*auth;		/* "Authorization: Bearer ..." */
	long		 status;
	struct answer	 answer;
	char		 errbuf[CURL_ERROR_SIZE];
};

static void
answer_reset(struct answer *a)
{
	if (a->data != NULL)
		OPENSSL_cleanse(a->data, a->len);	/* secrets come back */
	a->len = 0;
	a->too_large = 0;
}

static size_t
answer_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb, cap;
	char *p;

	if (n > REMOTE_MAX_ANSWER - a->len) {
		a->too_large = 1;
		return 0;
	}
	if (a->len + n + 1 > a->cap) {
		cap = a->cap ? a->cap : 16384;
		while (cap < a->len + n + 1)
			cap *= 2;
		if ((p = OPENSSL_clear_realloc(a->data, a->cap, cap)) == NULL)
			return 0;
		a->data = p;
		a->cap = cap;
	}
	memcpy(a->data + a->len, ptr, n);
	a->len += n;
	a->data[a->len] = '\0';
	return n;
}

static int
setup(struct remote *r, const char *ca_file)
{
	CURL *c = r->curl;
	char ua[64];

	snprintf(ua, sizeof(ua), "iotactl/%s", IOTA_VERSION);
	return curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    (ca_file != NULL &&
	    curl_easy_setopt(c, CURLOPT_CAINFO, ca_file)) ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    (long)REMOTE_CONNECT_TIMEOUT) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)REMOTE_TIMEOUT) ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)REMOTE_MAX_ANSWER) ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, ua) ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf) ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, answer_write) ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->answer);
}

struct remote *
remote_new(const char *base, const char *ca_file, const char *bearer)
{
	struct remote *r;
	size_t len;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		out_error("cannot initialize libcurl");
		return NULL;
	}
	len = strlen("Authorization: Bearer ") + strlen(bearer) + 1;
	if ((r->base = strdup(base)) == NULL ||
	    (r->auth = malloc(len)) == NULL ||
	    (r->curl = curl_easy_init()) == NULL) {
		out_error("out of memory");
		remote_free(r);
		return NULL;
	}
	snprintf(r->auth, len, "Authorization: Bearer %s", bearer);
	if (bearer[0] == '\0') {
		free(r->auth);
		r->auth = NULL;
	}
	if (setup(r, ca_file) != 0) {
		out_error("this libcurl cannot do what iotactl needs "
		    "(HTTPS, TLS 1.2)");
		remote_free(r);
		return NULL;
	}
	return r;
}

int
remote_client_cert(struct remote *r, const char *cert, const char *key)
{
	if (curl_easy_setopt(r->curl, CURLOPT_SSLCERT, cert) ||
	    curl_easy_setopt(r->curl, CURLOPT_SSLCERTTYPE, "PEM") ||
	    curl_easy_setopt(r->curl, CURLOPT_SSLKEY, key) ||
	    curl_easy_setopt(r->curl, CURLOPT_SSLKEYTYPE, "PEM")) {
		out_error("this libcurl cannot present a client certificate");
		return -1;
	}
	return 0;
}

void
remote_free(struct remote *r)
{
	if (r == NULL)
		return;
	if (r->curl != NULL)
		curl_easy_cleanup(r->curl);
	if (r->auth != NULL)
		OPENSSL_clear_free(r->auth, strlen(r->auth));
	OPENSSL_clear_free(r->answer.data, r->answer.cap);
	free(r->base);
	free(r);
	curl_global_cleanup();
}

long
remote_status(const struct remote *r)
{
	return r->status;
}

const char *
remote_string(const json_t *answer, const char *key)
{
	const json_t *v = json_object_get(answer, key);

	if (!json_is_string(v)) {
		out_error("the server's answer has no \"%s\"", key);
		return NULL;
	}
	return json_string_value(v);
}

int
remote_exit_status(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 401:
	case 403:
		return EXIT_AUTH;
	case 404:
		return EXIT_NOT_FOUND;
	case 409:
		return EXIT_CONFLICT;
	case 429:
		return EXIT_RATE_LIMITED;
	default:
		return status >= 500 ? EXIT_UNREACHABLE : EXIT_FAIL;
	}
}

/* The method, the body and the headers of one request. */
static int
prepare(struct remote *r, const char *method, const char *url,
    const char *body, struct curl_slist **hp)
{
	CURL *c = r->curl;
	struct curl_slist *h = NULL, *t;
	int is_get = strcmp(method, "GET") == 0;
	int custom = !is_get && strcmp(method, "POST") != 0;
	const char *lines[] = { r->auth, "Accept: application/json",
	    "Content-Type: application/json", "Expect:" };

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (lines[i] == NULL)	/* no bearer: a client certificate */
			continue;
		if ((t = curl_slist_append(h, lines[i])) == NULL) {
			curl_slist_free_all(h);
			return -1;
		}
		h = t;
	}
	*hp = h;
	if (curl_easy_setopt(c, CURLOPT_URL, url) ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) ||
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, custom ? method : NULL))
		return -1;
	if (is_get || (body == NULL && strcmp(method, "DELETE") == 0))
		return curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) ? -1 : 0;
	if (body == NULL)
		body = "";
	return curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body)) ||
	    curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body) ? -1 : 0;
}

/* The server's own words, {"error","message"}, when it sent them. */
static int
server_error(struct remote *r, const char *url)
{
	json_t *j, *e, *m;
	char msg[512], code[64];
	int rc = remote_exit_status(r->status);

	j = json_loadb(r->answer.data ? r->answer.data : "", r->answer.len,
	    0, NULL);
	e = json_object_get(j, "error");
	m = json_object_get(j, "message");
	if (!json_is_string(e) || !json_is_string(m)) {
		out_error("%s: the server answered HTTP %ld", url, r->status);
		json_decref(j);
		return rc;
	}
	out_clean(json_string_value(m), msg, sizeof(msg));
	out_clean(json_string_value(e), code, sizeof(code));
	out_error("%s (%s)", msg, code);
	json_decref(j);
	return rc;
}

static int
parse_answer(struct remote *r, const char *url, json_t **answer)
{
	json_error_t err;

	*answer = NULL;
	if (r->answer.len == 0)
		return 0;
	*answer = json_loadb(r->answer.data, r->answer.len,
	    JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(*answer)) {
		json_decref(*answer);
		*answer = NULL;
		out_error("%s: the server's answer is not a JSON object", url);
		return EXIT_UNREACHABLE;
	}
	return 0;
}

static int
perform(struct remote *r, const char *url)
{
	CURLcode res;
	char why[CURL_ERROR_SIZE + 64];

	r->errbuf[0] = '\0';
	r->status = 0;
	answer_reset(&r->answer);
	if ((res = curl_easy_perform(r->curl)) == CURLE_OK) {
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
		return 0;
	}
	if (r->answer.too_large || res == CURLE_FILESIZE_EXCEEDED) {
		out_error("%s: the server's answer is larger than %d MiB", url,
		    REMOTE_MAX_ANSWER / (1024 * 1024));
		return EXIT_UNREACHABLE;
	}
	out_clean(r->errbuf[0] ? r->errbuf : curl_easy_strerror(res), why,
	    sizeof(why));
	out_error("cannot reach %s: %s", url, why);
	return EXIT_UNREACHABLE;
}

int
remote_call(struct remote *r, const char *method, const char *path,
    json_t *body, json_t **answer)
{
	struct curl_slist *h = NULL;
	char *url = NULL, *text = NULL;
	size_t len;
	int rc = EXIT_FAIL;

	if (answer != NULL)
		*answer = NULL;
	len = strlen(r->base) + strlen(path) + 1;
	if ((url = malloc(len)) == NULL ||
	    (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)) {
		out_error("out of memory");
		goto out;
	}
	snprintf(url, len, "%s%s", r->base, path);
	if (prepare(r, method, url, text, &h) == -1) {
		out_error("cannot prepare the request to %s", url);
		goto out;
	}
	if ((rc = perform(r, url)) != 0)
		goto out;
	if (r->status < 200 || r->status >= 300)
		rc = server_error(r, url);
	else if (answer != NULL)
		rc = parse_answer(r, url, answer);
out:
	(void)curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	free(text);
	free(url);
	return rc;
}
