/*
 * CRLs (RFC 5280) and OCSP (RFC 6960, appendix A: GET and POST) for every
 * issuer iotad serves.  No credential: relying parties fetch them, over
 * HTTPS here or on the plain-HTTP listener of revocation.port.  A
 * request the responder cannot read gets an OCSP error answer (200, as
 * the RFC has it); only the HTTP around it (method, content type, size)
 * gets an HTTP error.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "encode.h"
#include "iotad.h"
#include "json.h"
#include "ledger.h"

#define CRL_SUFFIX	".crl"

static void
respond_der(struct http_response *resp, const char *type, unsigned char *der,
    size_t len)
{
	http_respond_body(resp, 200, type, der, len);
	OPENSSL_free(der);
}

static void
crl_of(struct http_request *req, struct http_response *resp,
    const char *serial)
{
	struct iotad *d = http_request_arg(req);
	unsigned char *der;
	size_t len;
	int rc;

	if ((rc = ledger_crl(d->ca.ledger, serial, time(NULL), &der, &len)) == 0) {
		respond_der(resp, "application/pkix-crl", der, len);
		return;
	}
	if (rc == 1)
		http_respond_error(resp, 404, "not_found",
		    "no CRL of an issuer with that serial here");
	else if (ca_unavailable())
		api_signer_unavailable(resp);
	else {
		log_error("CRL: %s", ca_errstr());
		http_respond_error(resp, 500, "internal", "internal error");
	}
}

void
handle_crl_current(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	(void)c;
	crl_of(req, resp, NULL);
}

/* /crl/SERIAL.crl: the serial as the CDP of a certificate names it. */
void
handle_crl(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	const char *file = http_request_param(req, "file");
	size_t len = strlen(file), slen = strlen(CRL_SUFFIX);
	char serial[CA_SERIAL_HEX_MAX + 1];

	(void)c;
	if (len <= slen || len - slen > CA_SERIAL_HEX_MAX ||
	    strcmp(file + len - slen, CRL_SUFFIX) != 0 ||
	    strspn(file, "0123456789ABCDEF") != len - slen) {
		http_respond_error(resp, 404, "not_found", "CRLs are at "
		    "/crl/SERIAL.crl, SERIAL in upper-case hex");
		return;
	}
	snprintf(serial, sizeof(serial), "%.*s", (int)(len - slen), file);
	crl_of(req, resp, serial);
}

static void
answer_ocsp(struct http_request *req, struct http_response *resp,
    const unsigned char *der, size_t len)
{
	struct iotad *d = http_request_arg(req);
	unsigned char *out;
	size_t outlen;

	if (ledger_ocsp(d->ca.ledger, d->store, der, len, time(NULL), &out,
	    &outlen) == -1) {
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	respond_der(resp, "application/ocsp-response", out, outlen);
}

void
handle_ocsp_post(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	const char *body;
	size_t len;

	(void)c;
	body = http_request_body(req, &len);
	answer_ocsp(req, resp, (const unsigned char *)body, len);
}

/* GET /ocsp/BASE64: the request's DER in the path, '/' and "%2F" alike. */
void
handle_ocsp_get(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	const char *b64 = http_request_param(req, "request");
	unsigned char der[CA_OCSP_REQ_MAX];
	size_t len = 0;

	(void)c;
	if (b64_decode(b64, strlen(b64), der, sizeof(der), &len, 0) == -1)
		len = 0;	/* answered malformedRequest */
	answer_ocsp(req, resp, der, len);
}
