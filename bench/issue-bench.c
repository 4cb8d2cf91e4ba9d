/*
 * Issuance benchmark: P-256 CSR (DER) in, device certificate (DER) out,
 * in process, CPU microseconds per certificate.  Printed beside bare
 * ECDSA P-256 sign + verify measured in the same run, the floor that no
 * issuance path can go under, so that a noisy machine shows as noise in
 * both figures rather than as a change in ours.
 *
 * The two are measured in interleaved rounds and the median round of each
 * is reported, so a burst of load from elsewhere lands in one round, not in
 * the figure.  For scale, the naive OpenSSL 3.0 path (d2i_X509_REQ,
 * X509_REQ_verify, X509_set_pubkey, X509_sign) is measured the same way.
 *
 * usage: issue-bench [N]   (default 2000 certificates per figure)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"

#define NCSR	64	/* distinct CSRs, cycled */
#define ROUNDS	7

static double
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static EVP_PKEY *
p256(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static unsigned char *
make_csr(int *len)
{
	EVP_PKEY *key = p256();
	X509_REQ *req = X509_REQ_new();
	unsigned char *der = NULL;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_ASC, (const unsigned char *)"bench", -1, -1, 0);
	X509_REQ_set_pubkey(req, key);
	X509_REQ_sign(req, key, EVP_sha256());
	*len = i2d_X509_REQ(req, &der);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return der;
}

static struct ca_signer *
make_intermediate(EVP_PKEY **ikeyp)
{
	struct ca_request rreq = { .profile = CA_PROFILE_ROOT,
	    .common_name = "bench Root CA", .days = 3650 };
	struct ca_request ireq = { .profile = CA_PROFILE_INTERMEDIATE,
	    .common_name = "bench Intermediate CA 1", .days = 1825 };
	EVP_PKEY *rkey = p256(), *ikey = p256();
	struct ca_signer *self, *root;
	X509 *rcert, *icert;

	EVP_PKEY_up_ref(rkey);
	self = ca_signer_self(rkey);
	rcert = ca_issue_for_key(self, rkey, &rreq, time(NULL));
	ca_signer_free(self);
	root = ca_signer_new(rcert, rkey);
	icert = ca_issue_for_key(root, ikey, &ireq, time(NULL));
	ca_signer_free(root);
	EVP_PKEY_up_ref(ikey);
	*ikeyp = ikey;
	return ca_signer_new(icert, ikey);
}

/* The floor: one ECDSA P-256 signature and one verification. */
static double
bench_ecdsa(int n)
{
	unsigned char msg[300], sig[80];
	EVP_PKEY *key = p256();
	double t0;
	size_t siglen;

	memset(msg, 0x5a, sizeof(msg));
	t0 = cpu_us();
	for (int i = 0; i < n; i++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		siglen = sizeof(sig);
		EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key);
		EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg));
		EVP_MD_CTX_free(ctx);
		ctx = EVP_MD_CTX_new();
		EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key);
		if (EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) != 1)
			abort();
		EVP_MD_CTX_free(ctx);
	}
	EVP_PKEY_free(key);
	return (cpu_us() - t0) / n;
}

static double
bench_issue(struct ca_signer *inter, unsigned char **csr, int *len, int n)
{
	struct ca_request req = { .profile = CA_PROFILE_DEVICE,
	    .common_name = "sensor-0001", .organization = "tenant",
	    .unit = "group", .uri = "urn:iota:device:sensor-0001", .days = 365 };
	time_t now = time(NULL);
	double t0 = cpu_us();

	for (int i = 0; i < n; i++) {
		struct ca_csr *c = ca_csr_parse(csr[i % NCSR], (size_t)len[i % NCSR]);
		struct ca_issue_req r = { .req = req, .now = now };
		struct ca_issued out;

		if (c != NULL)
			r.spki = ca_csr_spki(c, &r.spki_len);
		if (c == NULL || ca_signer_issue(inter, &r, &out) == -1) {
			fprintf(stderr, "issue-bench: %s\n", ca_errstr());
			exit(1);
		}
		ca_issued_clear(&out);
		ca_csr_free(c);
	}
	return (cpu_us() - t0) / n;
}

/* The obvious way with OpenSSL 3.0's API, for comparison. */
static double
bench_naive(struct ca_signer *inter, EVP_PKEY *ikey, unsigned char **csr,
    int *len, int n)
{
	const X509 *icert = ca_signer_cert(inter);
	double t0 = cpu_us();

	for (int i = 0; i < n; i++) {
		const unsigned char *p = csr[i % NCSR];
		X509_REQ *req = d2i_X509_REQ(NULL, &p, len[i % NCSR]);
		X509 *cert = X509_new();
		unsigned char *der = NULL;
		X509V3_CTX ctx;
		X509_EXTENSION *ext;

		if (req == NULL || X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1)
			abort();
		X509_set_version(cert, X509_VERSION_3);
		ca_serial_random(X509_get_serialNumber(cert));
		X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN",
		    MBSTRING_ASC, (const unsigned char *)"sensor-0001", -1, -1, 0);
		X509_set_issuer_name(cert, X509_get_subject_name(icert));
		X509_gmtime_adj(X509_getm_notBefore(cert), 0);
		X509_gmtime_adj(X509_getm_notAfter(cert), 365 * 86400L);
		X509_set_pubkey(cert, X509_REQ_get0_pubkey(req));
		X509V3_set_ctx(&ctx, (X509 *)icert, cert, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage, "clientAuth");
		X509_add_ext(cert, ext, -1);
		X509_EXTENSION_free(ext);
		if (X509_sign(cert, ikey, EVP_sha256()) <= 0 ||
		    i2d_X509(cert, &der) <= 0)
			abort();
		OPENSSL_free(der);
		X509_free(cert);
		X509_REQ_free(req);
	}
	return (cpu_us() - t0) / n;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp_double);
	return v[ROUNDS / 2];
}

int
main(int argc, char *argv[])
{
	int n = argc > 1 ? atoi(argv[1]) : 2000, len[NCSR];
	unsigned char *csr[NCSR];
	EVP_PKEY *ikey;
	struct ca_signer *inter = make_intermediate(&ikey);
	double floor[ROUNDS], ours[ROUNDS], naive[ROUNDS], f, o;

	if (n < ROUNDS || inter == NULL)
		return 2;
	for (int i = 0; i < NCSR; i++)
		csr[i] = make_csr(&len[i]);
	bench_issue(inter, csr, len, n / 10 + 1);	/* warm up */
	for (int r = 0; r < ROUNDS; r++) {
		floor[r] = bench_ecdsa(n / ROUNDS);
		ours[r] = bench_issue(inter, csr, len, n / ROUNDS);
		naive[r] = bench_naive(inter, ikey, csr, len, n / ROUNDS);
	}
	f = median(floor);
	o = median(ours);
	printf("issuance, P-256 CSR (DER) -> certificate (DER), CPU time, "
	    "median of %d rounds of %d\n", ROUNDS, n / ROUNDS);
	printf("  ECDSA P-256 sign+verify (floor):  %8.1f us\n", f);
	printf("  iota parse + ca_signer_issue:     %8.1f us per certificate\n", o);
	printf("  naive OpenSSL 3.0 X509 API path:  %8.1f us per certificate\n",
	    median(naive));
	printf("  iota over the floor:              %8.1f us (%.2fx)\n", o - f,
	    o / f);
	EVP_PKEY_free(ikey);
	for (int i = 0; i < NCSR; i++)
		OPENSSL_free(csr[i]);
	ca_signer_free(inter);
	return 0;
}
