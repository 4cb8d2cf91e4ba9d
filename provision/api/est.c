/*
 * EST (RFC 7030) under /.well-known/est/ and /.well-known/est/LABEL/, a
 * label naming a group of the caller's tenant: cacerts, csrattrs,
 * simpleenroll (HTTP Basic with the device's name and its group's
 * provisioning secret, or the device's certificate) and simplereenroll
 * (the device's certificate).  Bodies are base64 (Content-Transfer-Encoding
 * base64, RFC 7030 4.1.3), requests application/pkcs10, answers
 * application/pkcs7-mime certs-only.  Enrollment is provisioning and
 * re-enrollment is renewal: the same flows, guarantees and refusals.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>

#include "encode.h"
#include "iotad.h"
#include "json.h"
#include "ledger.h"

#define EST_PKCS7	"application/pkcs7-mime; smime-type=certs-only"

/*
 * CsrAttrs (RFC 7030 4.5.2): ecdsa-with-SHA256, and an id-ecPublicKey
 * attribute naming prime256v1: the key iotactl makes.
 */
static const unsigned char csrattrs_der[] = {
	0x30, 0x21,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
	0x30, 0x15,
	0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
	0x31, 0x0a,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
};

static void
respond_b64(struct http_response *resp, unsigned int status, const char *type,
    const unsigned char *der, size_t len)
{
	size_t n;
	char *text;

	if ((text = b64_lines(der, len, &n)) == NULL) {
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	http_respond_header(resp, "Content-Transfer-Encoding", "base64");
	http_respond_body(resp, status, type, text, n);
	free(text);
}

static int
pkcs7_of(X509 *const *certs, size_t n, struct http_response *resp,
    unsigned int status)
{
	unsigned char *der;
	size_t len;

	if (ca_certs_pkcs7(certs, n, &der, &len) == -1) {
		log_error("EST: %s", ca_errstr());
		http_respond_error(resp, 500, "internal", "internal error");
		return -1;
	}
	respond_b64(resp, status, EST_PKCS7, der, len);
	OPENSSL_free(der);
	return 0;
}

/* RFC 7030 4.2.3: 200 with the certificate, a retry too. */
static void
answer_cert(struct http_response *resp, const unsigned char *der,
    size_t len)
{
	const unsigned char *p = der;
	X509 *cert;

	if ((cert = d2i_X509(NULL, &p, (long)len)) == NULL) {
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	pkcs7_of(&cert, 1, resp, 200);
	X509_free(cert);
}

/* The CA certificates: the chain iotad hands out, intermediate first. */
void
handle_est_cacerts(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	struct iotad *d = http_request_arg(req);
	X509 *certs[LEDGER_MAX_ISSUERS + 1];	/* every issuer and the root */
	size_t n = 0;
	BIO *bio;

	(void)c;
	if ((bio = BIO_new_mem_buf(d->ca.chain_pem, -1)) == NULL) {
		http_respond_error(resp, 500, "internal", "internal error");
		return;
	}
	while (n < LEDGER_MAX_ISSUERS + 1 && (certs[n] =
	    PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		n++;
	BIO_free(bio);
	if (n == 0)
		http_respond_error(resp, 500, "internal", "internal error");
	else
		pkcs7_of(certs, n, resp, 200);
	while (n > 0)
		X509_free(certs[--n]);
}

void
handle_est_csrattrs(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	(void)req;
	(void)c;
	respond_b64(resp, 200, "application/csrattrs", csrattrs_der,
	    sizeof(csrattrs_der));
}

/* The CSR of a request (the route takes application/pkcs10); -1 after 4xx. */
static int
csr_of(struct http_request *req, struct http_response *resp,
    unsigned char *der, size_t cap, size_t *len)
{
	const char *body;
	size_t n;

	body = http_request_body(req, &n);
	if (b64_decode(body, n, der, cap, len, 1) == -1 || *len == 0) {
		http_respond_error(resp, 400, "bad_request", "the body is not "
		    "a base64 PKCS#10 request of at most %d bytes", CA_CSR_MAX);
		return -1;
	}
	return 0;
}

/* The group the label names: none, or the caller's own. */
static const char *
label_group(struct http_request *req, const struct caller *c)
{
	const char *label = http_request_param(req, "label");

	return label != NULL ? label : c->group.name;
}

void
handle_est_enroll(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	unsigned char der[CA_CSR_MAX];
	size_t len;

	if (csr_of(req, resp, der, sizeof(der), &len) == -1)
		return;
	if (c->class == CALLER_DEVICE_CERT) {
		if (strcmp(label_group(req, c), c->group.name) != 0) {
			http_respond_error(resp, 403, "forbidden",
			    "the label names another group than the "
			    "certificate's");
			return;
		}
		provision_renew(req, resp, c, der, len, answer_cert);
	} else
		provision_enroll(req, resp, c, c->est_device,
		    label_group(req, c), der, len, answer_cert);
}

void
handle_est_reenroll(struct http_request *req, struct http_response *resp,
    const struct caller *c)
{
	handle_est_enroll(req, resp, c);
}
