/*
 * Test fixture maker: a certificate from a CA directory at a pinned time,
 * not recorded anywhere.  Tests use it for expired and not-yet-valid
 * certificates, which iotactl rightly never makes.
 *
 * usage: mkcert CADIR PASSFILE CSR NAME PROFILE NOW DAYS   (PEM on stdout)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "ca.h"
#include "cadir.h"

int
main(int argc, char *argv[])
{
	struct ca_request req = { .common_name = NULL };
	struct cadir *cd;
	struct ca_signer *signer;
	struct ca_csr *csr;
	unsigned char *data;
	char *pass, uri[128];
	size_t len, plen;
	X509 *cert;

	if (argc != 8) {
		fprintf(stderr, "usage: mkcert CADIR PASSFILE CSR NAME "
		    "device|server NOW DAYS\n");
		return 2;
	}
	req.common_name = argv[4];
	req.days = atol(argv[7]);
	if (ca_profile_parse(argv[5], &req.profile) == -1)
		return 2;
	snprintf(uri, sizeof(uri), "urn:iota:device:%s", argv[4]);
	if (req.profile == CA_PROFILE_DEVICE)
		req.uri = uri;
	else {
		req.dns[0] = argv[4];
		req.ndns = 1;
	}
	if ((cd = cadir_open(argv[1], 0)) == NULL ||
	    (pass = (char *)ca_file_read(argv[2], 4096, &plen)) == NULL ||
	    (signer = cadir_intermediate_signer(cd, pass,
	    strcspn(pass, "\r\n"))) == NULL ||
	    (data = ca_file_read(argv[3], CA_CSR_MAX, &len)) == NULL ||
	    (csr = ca_csr_parse(data, len)) == NULL ||
	    (cert = ca_issue_for_csr(signer, csr, &req,
	    (time_t)atoll(argv[6]))) == NULL) {
		fprintf(stderr, "mkcert: %s\n", ca_errstr());
		return 1;
	}
	PEM_write_X509(stdout, cert);
	return 0;
}
