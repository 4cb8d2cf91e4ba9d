/*
 * The signer whose key is in another process: each request becomes one
 * frame (signer-wire.c) sent through the link, and the answer's DER comes
 * back.  Nothing here holds a key; the other side checks every request
 * again, so this side's checks only spare it the trip.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ca.h"
#include "signer-wire.h"

struct remote {
	struct ca_signer_link	 link;
	char			 issuer[CA_SERIAL_HEX_MAX + 1];
};

/* One request out, one answer back; -1 for a refusal or no answer. */
static int
ask(struct remote *r, struct wire_buf *frame, unsigned char **body,
    struct wire_answer *a)
{
	size_t len;
	int rc;

	rc = r->link.call(r->link.arg, frame->p, frame->len, body, &len);
	wire_buf_free(frame);
	if (rc == -1)
		return -1;
	if (wire_get_answer(*body, len, a) == -1) {
		free(*body);
		*body = NULL;
		return -1;
	}
	if (a->status != WIRE_OK) {
		ca_seterr("the signer refused: %s", a->reason);
		free(*body);
		*body = NULL;
		return -1;
	}
	return 0;
}

/* The DER of an answer into memory of OpenSSL's, as local signers give. */
static int
der_out(const struct wire_answer *a, unsigned char **der, size_t *len)
{
	if ((*der = OPENSSL_malloc(a->der_len)) == NULL) {
		ca_seterr("out of memory");
		return -1;
	}
	memcpy(*der, a->der, a->der_len);
	*len = a->der_len;
	return 0;
}

static int
remote_issue(struct ca_signer *s, const struct ca_issue_req *req,
    struct ca_issued *out)
{
	struct remote *r = ca_signer_impl(s);
	struct wire_buf frame;
	struct wire_answer a;
	unsigned char *body = NULL;
	int rc;

	if (ca_request_check(&req->req) == -1 ||
	    wire_put_issue(&frame, r->issuer, req) == -1 ||
	    ask(r, &frame, &body, &a) == -1)
		return -1;
	if ((rc = der_out(&a, &out->der, &out->len)) == 0) {
		snprintf(out->serial, sizeof(out->serial), "%s", a.serial);
		out->not_after = (time_t)a.not_after;
	}
	free(body);
	return rc;
}

/* A frame built (or not: built == -1) whose answer is DER alone. */
static int
ask_der(struct remote *r, int built, struct wire_buf *frame,
    unsigned char **der, size_t *len)
{
	struct wire_answer a;
	unsigned char *body = NULL;
	int rc;

	if (built == -1 || ask(r, frame, &body, &a) == -1)
		return -1;
	rc = der_out(&a, der, len);
	free(body);
	return rc;
}

static int
remote_crl(struct ca_signer *s, const struct ca_crl_req *req,
    unsigned char **der, size_t *len)
{
	struct remote *r = ca_signer_impl(s);
	struct wire_buf frame;

	return ask_der(r, wire_put_crl(&frame, r->issuer, req), &frame, der,
	    len);
}

static int
remote_ocsp(struct ca_signer *s, const struct ca_ocsp_req *req,
    unsigned char **der, size_t *len)
{
	struct remote *r = ca_signer_impl(s);
	struct wire_buf frame;

	return ask_der(r, wire_put_ocsp(&frame, r->issuer, req), &frame, der,
	    len);
}

static int
remote_checkpoint(struct ca_signer *s, const struct ca_checkpoint_req *req,
    unsigned char **sig, size_t *len)
{
	struct remote *r = ca_signer_impl(s);
	struct wire_buf frame;

	return ask_der(r, wire_put_checkpoint(&frame, r->issuer, req), &frame,
	    sig, len);
}

static void
remote_free(void *impl)
{
	free(impl);
}

static const struct ca_signer_ops remote_ops = {
	.issue = remote_issue,
	.crl = remote_crl,
	.ocsp = remote_ocsp,
	.checkpoint = remote_checkpoint,
	.free = remote_free,
};

struct ca_signer *
ca_signer_remote(X509 *cert, const struct ca_signer_link *link)
{
	struct ca_signer *s;
	struct remote *r;
	char *hex;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (hex = ca_serial_hex(X509_get0_serialNumber(cert))) == NULL) {
		free(r);
		ca_seterr("out of memory");
		return NULL;
	}
	snprintf(r->issuer, sizeof(r->issuer), "%s", hex);
	free(hex);
	r->link = *link;
	if ((s = ca_signer_wrap(&remote_ops, r, cert)) == NULL)
		free(r);
	return s;
}
