/* The signer's frames: signer-wire.h. */
#include <stdlib.h>
#include <string.h>

#include "signer-wire.h"

#define NO_STRING	0xffffu

/* --- writing ---------------------------------------------------------- */

void
wire_buf_free(struct wire_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void
put(struct wire_buf *b, const void *p, size_t n)
{
	unsigned char *np;
	size_t cap;

	if (b->failed)
		return;
	if (b->len + n > WIRE_FRAME_MAX + 4) {
		b->failed = 1;
		return;
	}
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 512;
		while (cap < b->len + n)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
wire_buf_append(struct wire_buf *b, const void *p, size_t n)
{
	put(b, p, n);
}

static void
put_u8(struct wire_buf *b, unsigned int v)
{
	unsigned char c = (unsigned char)v;

	put(b, &c, 1);
}

static void
put_be(struct wire_buf *b, uint64_t v, int bytes)
{
	unsigned char c[8];

	for (int i = 0; i < bytes; i++)
		c[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	put(b, c, (size_t)bytes);
}

static void
put_str(struct wire_buf *b, const char *s)
{
	size_t n;

	if (s == NULL) {
		put_be(b, NO_STRING, 2);
		return;
	}
	if ((n = strlen(s)) > WIRE_STR_MAX) {
		b->failed = 1;
		return;
	}
	put_be(b, n, 2);
	put(b, s, n);
}

static void
put_bytes(struct wire_buf *b, const unsigned char *p, size_t n)
{
	put_be(b, n, 4);
	put(b, p, n);
}

/* Room for the length, then the kind and the issuer. */
static void
begin(struct wire_buf *b, enum wire_kind kind, const char *issuer)
{
	memset(b, 0, sizeof(*b));
	put_be(b, 0, 4);
	put_u8(b, kind);
	put_str(b, issuer);
}

static int
end(struct wire_buf *b)
{
	size_t body;

	if (b->failed) {
		ca_seterr("a signer message could not be built");
		wire_buf_free(b);
		return -1;
	}
	body = b->len - 4;
	for (int i = 0; i < 4; i++)
		b->p[i] = (unsigned char)(body >> (8 * (3 - i)));
	return 0;
}

int
wire_put_issue(struct wire_buf *b, const char *issuer,
    const struct ca_issue_req *r)
{
	const struct ca_request *q = &r->req;

	begin(b, WIRE_ISSUE, issuer);
	put_u8(b, q->profile);
	put_str(b, q->common_name);
	put_str(b, q->organization);
	put_str(b, q->unit);
	if (q->ndns > CA_MAX_SAN || q->nip > CA_MAX_SAN)
		b->failed = 1;
	put_u8(b, q->ndns);
	for (size_t i = 0; i < q->ndns && i < CA_MAX_SAN; i++)
		put_str(b, q->dns[i]);
	put_u8(b, q->nip);
	for (size_t i = 0; i < q->nip && i < CA_MAX_SAN; i++)
		put_str(b, q->ip[i]);
	put_str(b, q->uri);
	put_be(b, (uint64_t)q->days, 8);
	put_str(b, q->crl_url);
	put_str(b, q->ocsp_url);
	put_bytes(b, r->spki, r->spki_len);
	put_be(b, (uint64_t)r->now, 8);
	return end(b);
}

int
wire_put_crl(struct wire_buf *b, const char *issuer, const struct ca_crl_req *r)
{
	begin(b, WIRE_CRL, issuer);
	put_be(b, r->number, 8);
	put_be(b, (uint64_t)r->now, 8);
	put_be(b, (uint64_t)r->days, 8);
	if (r->n > WIRE_CRL_MAX)
		b->failed = 1;
	put_be(b, r->n, 4);
	for (size_t i = 0; i < r->n && !b->failed; i++) {
		put_str(b, r->revoked[i].serial);
		put_be(b, (uint64_t)r->revoked[i].when, 8);
		put_u8(b, (unsigned int)r->revoked[i].reason);
	}
	return end(b);
}

int
wire_put_ocsp(struct wire_buf *b, const char *issuer,
    const struct ca_ocsp_req *r)
{
	begin(b, WIRE_OCSP, issuer);
	if (r->n > CA_OCSP_SINGLES_MAX || r->nonce_len > CA_OCSP_NONCE_MAX)
		b->failed = 1;
	put_u8(b, r->n);
	for (size_t i = 0; i < r->n && i < CA_OCSP_SINGLES_MAX; i++) {
		const struct ca_ocsp_single *s = &r->singles[i];

		put_str(b, s->serial);
		put_be(b, (uint64_t)s->md_nid, 4);
		put_u8(b, s->status);
		put_be(b, (uint64_t)s->revoked_at, 8);
		put_u8(b, (unsigned int)s->reason);
	}
	put_bytes(b, r->nonce, r->nonce_len <= CA_OCSP_NONCE_MAX ?
	    r->nonce_len : 0);
	put_be(b, (uint64_t)r->now, 8);
	put_be(b, (uint64_t)r->validity, 8);
	return end(b);
}

int
wire_put_checkpoint(struct wire_buf *b, const char *issuer,
    const struct ca_checkpoint_req *r)
{
	begin(b, WIRE_CHECKPOINT, issuer);
	put_be(b, (uint64_t)r->record_id, 8);
	put(b, r->head, CA_CHECKPOINT_HEAD_LEN);
	put_be(b, (uint64_t)r->at, 8);
	return end(b);
}

int
wire_put_hello(struct wire_buf *b, const char (*serials)[CA_SERIAL_HEX_MAX + 1],
    size_t n)
{
	begin(b, WIRE_HELLO, NULL);
	put_u8(b, n);
	for (size_t i = 0; i < n; i++)
		put_str(b, serials[i]);
	return end(b);
}

int
wire_put_answer(struct wire_buf *b, const struct wire_answer *a)
{
	begin(b, WIRE_ANSWER, NULL);
	put_u8(b, a->status);
	put_bytes(b, a->der, a->status == WIRE_OK ? a->der_len : 0);
	put_str(b, a->serial);
	put_be(b, (uint64_t)a->not_after, 8);
	put_str(b, a->reason);
	return end(b);
}

/* --- reading ---------------------------------------------------------- */

struct rd {
	const unsigned char	*p;
	size_t			 left;
	const char		*bad;	/* the first thing that did not fit */
};

static const unsigned char *
take(struct rd *r, size_t n, const char *what)
{
	const unsigned char *p = r->p;

	if (r->bad != NULL)
		return NULL;
	if (n > r->left) {
		r->bad = what;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint64_t
get_be(struct rd *r, int bytes, const char *what)
{
	const unsigned char *p;
	uint64_t v = 0;

	if ((p = take(r, (size_t)bytes, what)) == NULL)
		return 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* A signed 64-bit field (two's complement): times, days and seconds. */
static int64_t
get_time(struct rd *r, const char *what)
{
	uint64_t v = get_be(r, 8, what);

	return v > INT64_MAX ? -(int64_t)(~v) - 1 : (int64_t)v;
}

/* Into `out` (room for `max` bytes and a NUL); 0 absent, 1 present. */
static int
get_str(struct rd *r, char *out, size_t max, const char *what)
{
	const unsigned char *p;
	uint64_t n = get_be(r, 2, what);

	if (r->bad != NULL || n == NO_STRING)
		return 0;
	if (n > max || (p = take(r, (size_t)n, what)) == NULL ||
	    memchr(p, '\0', (size_t)n) != NULL) {
		if (r->bad == NULL)
			r->bad = what;
		return 0;
	}
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	return 1;
}

/* A string of the issue's, kept in the request's storage. */
static const char *
get_name(struct rd *r, struct wire_request *w, size_t room, const char *what)
{
	char *s = w->strings + w->strings_used;
	size_t max = room - w->strings_used - 1;

	if (max > WIRE_STR_MAX)
		max = WIRE_STR_MAX;
	if (!get_str(r, s, max, what))
		return NULL;
	w->strings_used += strlen(s) + 1;
	return s;
}

static void
get_issue(struct rd *r, struct wire_request *w, size_t room)
{
	struct ca_request *q = &w->issue.req;
	const unsigned char *k;
	uint64_t n, profile = get_be(r, 1, "profile");

	if (profile > CA_PROFILE_DEVICE && r->bad == NULL)
		r->bad = "profile";
	q->profile = (enum ca_profile)profile;
	q->common_name = get_name(r, w, room, "common name");
	q->organization = get_name(r, w, room, "organization");
	q->unit = get_name(r, w, room, "unit");
	if ((n = get_be(r, 1, "DNS names")) > CA_MAX_SAN && r->bad == NULL)
		r->bad = "DNS names";
	for (q->ndns = 0; q->ndns < n && r->bad == NULL; q->ndns++)
		if ((q->dns[q->ndns] = get_name(r, w, room, "DNS name")) ==
		    NULL && r->bad == NULL)
			r->bad = "DNS name";
	if ((n = get_be(r, 1, "IP addresses")) > CA_MAX_SAN && r->bad == NULL)
		r->bad = "IP addresses";
	for (q->nip = 0; q->nip < n && r->bad == NULL; q->nip++)
		if ((q->ip[q->nip] = get_name(r, w, room, "IP address")) ==
		    NULL && r->bad == NULL)
			r->bad = "IP address";
	q->uri = get_name(r, w, room, "URI");
	q->days = (long)get_time(r, "days");
	q->crl_url = get_name(r, w, room, "CRL URL");
	q->ocsp_url = get_name(r, w, room, "OCSP URL");
	if ((n = get_be(r, 4, "key")) > CA_SPKI_MAX && r->bad == NULL)
		r->bad = "key";
	if ((k = take(r, (size_t)n, "key")) != NULL) {
		memcpy(w->spki, k, (size_t)n);
		w->issue.spki = w->spki;
		w->issue.spki_len = (size_t)n;
	}
	w->issue.now = (time_t)get_time(r, "time");
}

static void
get_crl(struct rd *r, struct wire_request *w)
{
	struct ca_crl_req *c = &w->crl;
	uint64_t n;

	c->number = get_be(r, 8, "CRL number");
	c->now = (time_t)get_time(r, "time");
	c->days = (long)get_time(r, "days");
	/* Each entry takes at least 11 bytes: no allocation beyond the frame. */
	if ((n = get_be(r, 4, "entries")) > WIRE_CRL_MAX || n > r->left / 11) {
		if (r->bad == NULL)
			r->bad = "entries";
		return;
	}
	if (r->bad != NULL || n == 0)
		return;
	w->revoked = calloc((size_t)n, sizeof(*w->revoked));
	w->serials = calloc((size_t)n, sizeof(*w->serials));
	if (w->revoked == NULL || w->serials == NULL) {
		r->bad = "entries (out of memory)";
		return;
	}
	for (c->n = 0; c->n < n && r->bad == NULL; c->n++) {
		struct ca_revoked *v = &w->revoked[c->n];

		if (!get_str(r, w->serials[c->n], CA_SERIAL_HEX_MAX, "serial") &&
		    r->bad == NULL)
			r->bad = "serial";
		v->serial = w->serials[c->n];
		v->when = (time_t)get_time(r, "revocation time");
		v->reason = (int)get_be(r, 1, "reason");
	}
	c->revoked = w->revoked;
}

static void
get_ocsp(struct rd *r, struct wire_request *w)
{
	struct ca_ocsp_req *o = &w->ocsp;
	const unsigned char *k;
	uint64_t n = get_be(r, 1, "certificates");

	if ((n == 0 || n > CA_OCSP_SINGLES_MAX) && r->bad == NULL)
		r->bad = "certificates";
	for (o->n = 0; o->n < n && r->bad == NULL; o->n++) {
		struct ca_ocsp_single *s = &o->singles[o->n];
		uint64_t st;

		if (!get_str(r, s->serial, sizeof(s->serial) - 1, "serial") &&
		    r->bad == NULL)
			r->bad = "serial";
		s->md_nid = (int)get_be(r, 4, "hash");
		if ((st = get_be(r, 1, "status")) > CA_STATUS_REVOKED &&
		    r->bad == NULL)
			r->bad = "status";
		s->status = (enum ca_cert_status)st;
		s->revoked_at = (time_t)get_time(r, "revocation time");
		s->reason = (int)get_be(r, 1, "reason");
	}
	if ((n = get_be(r, 4, "nonce")) > CA_OCSP_NONCE_MAX && r->bad == NULL)
		r->bad = "nonce";
	if ((k = take(r, (size_t)n, "nonce")) != NULL) {
		memcpy(o->nonce, k, (size_t)n);
		o->nonce_len = (size_t)n;
	}
	o->now = (time_t)get_time(r, "time");
	o->validity = (long)get_time(r, "validity");
}

static void
get_checkpoint(struct rd *r, struct wire_request *w)
{
	struct ca_checkpoint_req *c = &w->checkpoint;
	const unsigned char *h;

	c->record_id = get_time(r, "record");
	if ((h = take(r, CA_CHECKPOINT_HEAD_LEN, "head")) != NULL)
		memcpy(c->head, h, CA_CHECKPOINT_HEAD_LEN);
	c->at = (time_t)get_time(r, "time");
}

int
wire_get_request(const unsigned char *p, size_t len, struct wire_request *w,
    char *err, size_t errlen)
{
	struct rd r = { p, len, NULL };
	uint64_t kind;

	memset(w, 0, sizeof(*w));
	if (len > WIRE_FRAME_MAX) {
		snprintf(err, errlen, "a message of %zu bytes", len);
		return -1;
	}
	kind = get_be(&r, 1, "kind");
	w->kind = (enum wire_kind)kind;
	if (!get_str(&r, w->issuer, CA_SERIAL_HEX_MAX, "issuer") &&
	    r.bad == NULL)
		r.bad = "issuer";
	if (r.bad == NULL && kind == WIRE_ISSUE) {
		/* The names fit in the frame; a NUL each on top. */
		if ((w->strings = malloc(len + 2 * CA_MAX_SAN + 16)) == NULL)
			r.bad = "names (out of memory)";
		else
			get_issue(&r, w, len + 2 * CA_MAX_SAN + 16);
	} else if (r.bad == NULL && kind == WIRE_CRL)
		get_crl(&r, w);
	else if (r.bad == NULL && kind == WIRE_OCSP)
		get_ocsp(&r, w);
	else if (r.bad == NULL && kind == WIRE_CHECKPOINT)
		get_checkpoint(&r, w);
	else if (r.bad == NULL)
		r.bad = "kind";
	if (r.bad == NULL && r.left != 0)
		r.bad = "trailing bytes";
	if (r.bad != NULL) {
		snprintf(err, errlen, "a malformed message (%s)", r.bad);
		wire_request_free(w);
		return -1;
	}
	return 0;
}

void
wire_request_free(struct wire_request *w)
{
	free(w->strings);
	free(w->revoked);
	free(w->serials);
	w->strings = NULL;
	w->revoked = NULL;
	w->serials = NULL;
}

int
wire_get_answer(const unsigned char *p, size_t len, struct wire_answer *a)
{
	struct rd r = { p, len, NULL };
	uint64_t n;

	memset(a, 0, sizeof(*a));
	if (get_be(&r, 1, "kind") != WIRE_ANSWER)
		r.bad = "kind";
	(void)get_be(&r, 2, "issuer");		/* always absent */
	a->status = (enum wire_status)get_be(&r, 1, "status");
	n = get_be(&r, 4, "DER");
	if ((a->der = take(&r, (size_t)n, "DER")) != NULL)
		a->der_len = (size_t)n;
	(void)get_str(&r, a->serial, CA_SERIAL_HEX_MAX, "serial");
	a->not_after = get_time(&r, "notAfter");
	(void)get_str(&r, a->reason, WIRE_STR_MAX, "reason");
	if (r.bad != NULL || r.left != 0 || a->status > WIRE_REFUSED ||
	    (a->status == WIRE_OK && a->der_len == 0)) {
		ca_seterr("the signer answered a malformed message");
		return -1;
	}
	return 0;
}

int
wire_get_hello(const unsigned char *p, size_t len,
    char (*serials)[CA_SERIAL_HEX_MAX + 1], size_t max)
{
	struct rd r = { p, len, NULL };
	uint64_t n;
	size_t i;

	if (get_be(&r, 1, "kind") != WIRE_HELLO)
		return -1;
	(void)get_be(&r, 2, "issuer");
	if ((n = get_be(&r, 1, "issuers")) > max)
		return -1;
	for (i = 0; i < n; i++)
		if (!get_str(&r, serials[i], CA_SERIAL_HEX_MAX, "serial"))
			return -1;
	return r.bad == NULL && r.left == 0 ? (int)n : -1;
}

uint32_t
wire_frame_len(const unsigned char b[4])
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}
