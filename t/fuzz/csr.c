/*
 * libFuzzer target: a certification request from the network, as
 * /v1/provision (PEM or DER in JSON), EST's simpleenroll (base64 DER) and
 * renewal hand it to the CA engine.  Whatever comes in, ca_csr_parse()
 * refuses it or returns a request whose key passes the key policy, with
 * nothing leaked; and what it accepts, OpenSSL's own parser accepts too,
 * signature included (the fast path once took a BIT STRING with unused
 * bits that OpenSSL refuses).  The fast path is also checked alone, both
 * ways, key included.
 *
 * The asymmetry is intended: ca_csr_parse() refuses some requests OpenSSL
 * takes (a version other than 0, an EC point in hybrid form, a digest
 * under 256 bits, anything after the PEM block), so the check is one way,
 * accepted here => accepted by OpenSSL.  The fast path leaves those
 * requests to the general path (0) rather than refusing them, so what it
 * refuses OpenSSL still refuses; and what it accepts must pass the same
 * policy as the general path, checked by policy_accepts() below.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca.h"
#include "encode.h"

/* OpenSSL's verdict on the same bytes: 1 if it reads and verifies them. */
static int
openssl_accepts(const unsigned char *data, size_t size)
{
	const unsigned char *p = data;
	X509_REQ *req = NULL;
	BIO *bio;
	int ok;

	if (size > 0 && data[0] == 0x30) {
		req = d2i_X509_REQ(NULL, &p, (long)size);
		if (req != NULL && p != data + size) {
			X509_REQ_free(req);
			req = NULL;
		}
	} else if ((bio = BIO_new_mem_buf(data, (int)size)) != NULL) {
		req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ok = req != NULL && X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) ==
	    1;
	X509_REQ_free(req);
	return ok;
}

/*
 * The general path's policy beyond OpenSSL's parse, restated: fast path
 * accepts => general path accepts.  The key policy itself is ca_csr_parse's
 * check on the way out.
 */
static int
policy_accepts(X509_REQ *req)
{
	const unsigned char *pk;
	int mdnid, pknid, pklen;

	if (X509_REQ_get_version(req) != X509_REQ_VERSION_1 ||
	    X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL,
	    X509_REQ_get_X509_PUBKEY(req)) != 1 ||
	    !OBJ_find_sigid_algs(X509_REQ_get_signature_nid(req), &mdnid,
	    &pknid))
		return 0;
	if (pknid == NID_X9_62_id_ecPublicKey &&
	    (pklen < 1 || (pk[0] != 0x02 && pk[0] != 0x03 && pk[0] != 0x04)))
		return 0;
	return mdnid == NID_undef || mdnid == NID_sha256 ||
	    mdnid == NID_sha384 || mdnid == NID_sha512;
}

/*
 * The fast path alone against OpenSSL on DER: what it accepts, OpenSSL
 * verifies, with the same SubjectPublicKeyInfo; what it refuses (a bad
 * signature), OpenSSL refuses too.  0 ("not mine") goes to the general
 * path, which is OpenSSL's parser.
 */
static void
fast(const unsigned char *der, size_t size)
{
	const unsigned char *p = der;
	unsigned char *spki = NULL, *theirs = NULL;
	X509_REQ *req;
	size_t n = 0;
	long objlen;
	int rc, len, tag, class;

	/* As ca_csr_parse() calls it: one DER object, nothing after it. */
	rc = ASN1_get_object(&p, &objlen, &tag, &class, (long)size);
	if ((rc & 0x80) || p + objlen != der + size)
		return;
	p = der;
	rc = ca_csr_parse_fast(der, (long)size, &spki, &n);
	if (rc == 0)
		return;
	if (rc == -1) {
		if (spki != NULL || openssl_accepts(der, size))
			abort();	/* refused here, accepted by OpenSSL */
		return;
	}
	if (rc != 1 || !openssl_accepts(der, size))
		abort();
	/* The request may end before size; OpenSSL's parse says where. */
	if ((req = d2i_X509_REQ(NULL, &p, (long)size)) == NULL ||
	    !policy_accepts(req))
		abort();	/* taken here, refused by the general path */
	len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &theirs);
	if (len <= 0 || (size_t)len != n || memcmp(spki, theirs, n) != 0)
		abort();	/* not the key OpenSSL read */
	OPENSSL_free(theirs);
	OPENSSL_free(spki);
	X509_REQ_free(req);
}

static void
parse(const unsigned char *data, size_t size)
{
	struct ca_csr *csr;
	const unsigned char *spki;
	size_t n;

	if (size > 0 && data[0] == 0x30)
		fast(data, size);
	if ((csr = ca_csr_parse(data, size)) == NULL)
		return;
	spki = ca_csr_spki(csr, &n);
	if (spki == NULL || n == 0 || n > CA_SPKI_MAX)
		abort();
	ca_csr_free(csr);
	if (!openssl_accepts(data, size))
		abort();	/* accepted here, refused by OpenSSL */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char der[CA_CSR_MAX];
	size_t len;

	parse(data, size);
	if (b64_decode((const char *)data, size, der, sizeof(der), &len, 1) == 0)
		parse(der, len);
	return 0;
}
