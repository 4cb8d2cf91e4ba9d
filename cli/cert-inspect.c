/*
 * iotactl cert inspect FILE: what a certificate says, as iota reads it:
 * subject, issuer, serial, validity, key, names, usages, the CRL and OCSP
 * it names.  PEM or DER; the first certificate of a PEM chain.  Nothing
 * is checked against a CA: that is `openssl verify`'s job.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "remote.h"

#define CERT_FILE_MAX	(256 * 1024)

struct inspect_args {
	const char		*file;
	enum output_format	 format;
};

static int
inspect_option(const struct cli_cmd *cmd, void *args, int key, const char *val)
{
	struct inspect_args *a = args;

	(void)key;
	return remote_parse_output(cmd, val, &a->format) != 0 ? EXIT_USAGE : 0;
}

static X509 *
read_cert(const char *path)
{
	unsigned char *data;
	const unsigned char *p;
	X509 *cert = NULL;
	BIO *bio;
	size_t len;

	if ((data = ca_file_read(path, CERT_FILE_MAX, &len)) == NULL) {
		cli_error("%s", ca_errstr());
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL)
		cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (cert == NULL) {
		p = data;
		if ((cert = d2i_X509(NULL, &p, (long)len)) != NULL &&
		    p != data + len) {
			X509_free(cert);
			cert = NULL;
		}
	}
	free(data);
	if (cert == NULL)
		cli_error("%s: not a certificate (PEM or DER)", path);
	return cert;
}

static json_t *
name_of(const X509_NAME *name)
{
	char *s = NULL;
	long n;
	BIO *bio = BIO_new(BIO_s_mem());
	json_t *j = NULL;

	if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >=
	    0 && (n = BIO_get_mem_data(bio, &s)) >= 0)
		j = json_stringn(s, (size_t)n);
	BIO_free(bio);
	return j != NULL ? j : json_string("");
}

static const char *
time_of(const ASN1_TIME *t, char *buf, size_t len)
{
	time_t when = ca_time_from_asn1(t);
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* URIs, DNS names and addresses of a GENERAL_NAMES, as text. */
static void
add_names(json_t *arr, const GENERAL_NAMES *gens)
{
	char ip[64];

	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;

		if (g->type == GEN_URI || g->type == GEN_DNS) {
			s = g->d.ia5;
			json_array_append_new(arr, json_pack("{s:s, s:s#}",
			    "type", g->type == GEN_URI ? "URI" : "DNS",
			    "value", ASN1_STRING_get0_data(s),
			    (size_t)ASN1_STRING_length(s)));
		} else if (g->type == GEN_IPADD) {
			s = g->d.ip;
			if (ASN1_STRING_length(s) == 4)
				snprintf(ip, sizeof(ip), "%d.%d.%d.%d",
				    s->data[0], s->data[1], s->data[2],
				    s->data[3]);
			else
				snprintf(ip, sizeof(ip), "(IPv6, %d bytes)",
				    ASN1_STRING_length(s));
			json_array_append_new(arr, json_pack("{s:s, s:s}",
			    "type", "IP", "value", ip));
		}
	}
}

static json_t *
crl_points(X509 *cert)
{
	CRL_DIST_POINTS *dps = X509_get_ext_d2i(cert,
	    NID_crl_distribution_points, NULL, NULL);
	json_t *arr = json_array(), *names;

	for (int i = 0; i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		names = json_array();
		add_names(names, dp->distpoint->name.fullname);
		for (size_t k = 0; k < json_array_size(names); k++)
			json_array_append(arr, json_object_get(
			    json_array_get(names, k), "value"));
		json_decref(names);
	}
	CRL_DIST_POINTS_free(dps);
	return arr;
}

static json_t *
ocsp_points(X509 *cert)
{
	AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(cert, NID_info_access,
	    NULL, NULL);
	json_t *arr = json_array();

	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);

		if (OBJ_obj2nid(ad->method) == NID_ad_OCSP &&
		    ad->location->type == GEN_URI)
			json_array_append_new(arr, json_stringn((const char *)
			    ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier),
			    (size_t)ASN1_STRING_length(ad->location->d.uniformResourceIdentifier)));
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	return arr;
}

static json_t *
usages(X509 *cert)
{
	static const struct { uint32_t bit; const char *name; } eku[] = {
		{ XKU_SSL_SERVER, "serverAuth" }, { XKU_SSL_CLIENT, "clientAuth" },
		{ XKU_OCSP_SIGN, "OCSPSigning" }, { XKU_CODE_SIGN, "codeSigning" },
	};
	json_t *arr = json_array();
	uint32_t x = X509_get_extended_key_usage(cert);

	for (size_t i = 0; i < sizeof(eku) / sizeof(eku[0]); i++)
		if (x != UINT32_MAX && (x & eku[i].bit))
			json_array_append_new(arr, json_string(eku[i].name));
	return arr;
}

static json_t *
describe(X509 *cert)
{
	char from[32], to[32], *serial;
	GENERAL_NAMES *san;
	json_t *o, *names = json_array();
	time_t now = time(NULL);
	EVP_PKEY *key = X509_get0_pubkey(cert);

	serial = ca_serial_hex(X509_get0_serialNumber(cert));
	if ((san = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
	    NULL)) != NULL)
		add_names(names, san);
	GENERAL_NAMES_free(san);
	o = json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o,"
	    " s:o, s:o, s:s}",
	    "subject", name_of(X509_get_subject_name(cert)),
	    "issuer", name_of(X509_get_issuer_name(cert)),
	    "serial", serial != NULL ? serial : "",
	    "not_before", time_of(X509_get0_notBefore(cert), from, sizeof(from)),
	    "not_after", time_of(X509_get0_notAfter(cert), to, sizeof(to)),
	    "status", ca_time_from_asn1(X509_get0_notAfter(cert)) < now ?
	    "expired" : ca_time_from_asn1(X509_get0_notBefore(cert)) > now ?
	    "not yet valid" : "within its validity",
	    "key", key != NULL ? ca_key_describe(key) : "unknown",
	    "ca", X509_check_ca(cert) != 0,
	    "names", names, "usages", usages(cert),
	    "crl", crl_points(cert), "ocsp", ocsp_points(cert),
	    "sha256", ca_cert_fingerprint(cert));
	free(serial);
	return o;
}

static void
print_list(const char *label, const json_t *arr, const char *key)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		out_kv(i == 0 ? label : "", json_string_value(key != NULL ?
		    json_object_get(v, key) : v));
	if (json_array_size(arr) == 0)
		out_kv(label, "-");
}

static int
print_text(const json_t *o)
{
	static const char *const scalars[][2] = {
		{ "subject", "subject" }, { "issuer", "issuer" },
		{ "serial", "serial" }, { "not before", "not_before" },
		{ "not after", "not_after" }, { "status", "status" },
		{ "key", "key" },
	};

	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
		out_kv(scalars[i][0], json_string_value(json_object_get(o,
		    scalars[i][1])));
	out_kv("CA", json_is_true(json_object_get(o, "ca")) ? "yes" : "no");
	print_list("names", json_object_get(o, "names"), "value");
	print_list("usages", json_object_get(o, "usages"), NULL);
	print_list("CRL", json_object_get(o, "crl"), NULL);
	print_list("OCSP", json_object_get(o, "ocsp"), NULL);
	out_kv("SHA-256", json_string_value(json_object_get(o, "sha256")));
	return 0;
}

static int
exec_inspect(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct inspect_args a = { .format = OUTPUT_TABLE };
	X509 *cert;
	json_t *o;
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, &a)) != 0 ||
	    (rc = cli_one_operand(cmd, argc, argv, "FILE", &a.file)) != 0)
		return rc == -1 ? 0 : rc;
	if ((cert = read_cert(a.file)) == NULL)
		return EXIT_FAIL;
	if ((o = describe(cert)) == NULL) {
		cli_error("out of memory");
		rc = EXIT_FAIL;
	} else
		rc = a.format == OUTPUT_JSON ? out_json(o) : print_text(o);
	json_decref(o);
	X509_free(cert);
	return rc;
}

static const struct cli_opt inspect_opts[] = {
	REMOTE_OUTPUT_OPT,
	CLI_OPT_END,
};

const struct cli_cmd cmd_cert_inspect = {
	"cert inspect",
	"show what a certificate says",
	"FILE [-o table|json]",
	"Print what the certificate in FILE (PEM, the first of a chain, or\n"
	"DER) says: subject, issuer, serial, validity and whether now is in\n"
	"it, key, names, usages, the CRL and OCSP responder it names, its\n"
	"SHA-256 fingerprint.  Nothing is verified against a CA.",
	inspect_opts,
	inspect_option,
	exec_inspect,
	0,
};
