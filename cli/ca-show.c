/* iotactl ca show: what the CA is and what it has issued. */
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cadir.h"
#include "cli.h"

struct show_args {
	struct ca_common	 c;
};

static void
print_time(const char *label, const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(buf, "?");
	printf("  %-12s %s\n", label, buf);
}

static void
print_cert(const char *what, const X509 *cert)
{
	char *serial = ca_serial_hex(X509_get0_serialNumber(cert));
	char subject[256];

	X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
	printf("%s: %s\n", what, subject);
	printf("  %-12s %s\n", "serial", serial != NULL ? serial : "?");
	printf("  %-12s %s\n", "key", ca_key_describe(X509_get0_pubkey(cert)));
	print_time("not before", X509_get0_notBefore(cert));
	print_time("not after", X509_get0_notAfter(cert));
	printf("  %-12s %s\n", "sha256", ca_cert_fingerprint(cert));
	free(serial);
}

static void
print_archive(const struct cadir *cd)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	X509 *cert;
	size_t len;

	if ((d = opendir(cadir_file(cd, CADIR_ARCHIVE))) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".crt") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", CADIR_ARCHIVE, de->d_name);
		if ((cert = ca_cert_read(cadir_file(cd, path))) != NULL)
			print_cert("archived intermediate", cert);
		X509_free(cert);
	}
	closedir(d);
}

static void
print_counts(const struct cadir_index *idx)
{
	size_t issued[4] = { 0 }, revoked = 0;

	for (size_t i = 0; i < idx->n; i++) {
		issued[idx->entries[i].profile]++;
		revoked += idx->entries[i].status == 'R';
	}
	printf("issued: %zu (device %zu, server %zu, intermediate %zu)\n",
	    issued[CA_PROFILE_DEVICE] + issued[CA_PROFILE_SERVER] +
	    issued[CA_PROFILE_INTERMEDIATE], issued[CA_PROFILE_DEVICE],
	    issued[CA_PROFILE_SERVER], issued[CA_PROFILE_INTERMEDIATE]);
	printf("revoked: %zu\n", revoked);
	printf("device certificates that iotad issues are kept in its "
	    "registry (iotactl list devices); each is listed here once "
	    "revoked, so that every CRL of the issuer has it\n");
}

static int
exec_show(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct show_args a = { { 0 } };
	struct cadir_index idx;
	struct cadir *cd;
	X509 *root = NULL, *inter = NULL;
	int rc;

	if ((rc = cli_parse(cmd, argc, argv, &a)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = cli_no_operands(cmd, argc, argv)) != 0)
		return rc;
	if ((rc = cli_need_dir(cmd, &a.c)) != 0)
		return rc;
	if ((cd = cli_open_ca(&a.c, 0)) == NULL)
		return 1;
	rc = 1;
	if ((root = cadir_root_cert(cd)) == NULL ||
	    (inter = cadir_intermediate_cert(cd)) == NULL ||
	    cadir_index_load(cd, &idx) == -1) {
		cli_error("%s", ca_errstr());
		goto out;
	}
	print_cert("root", root);
	print_cert("intermediate", inter);
	print_archive(cd);
	print_counts(&idx);
	cadir_index_free(&idx);
	rc = 0;
out:
	X509_free(root);
	X509_free(inter);
	cadir_close(cd);
	return rc;
}

static const struct cli_opt show_opts[] = {
	CLI_OPTS_CA_DIR(struct show_args, c),
	CLI_OPT_END,
};

const struct cli_cmd cmd_ca_show = {
	"ca show",
	"show the CA and what it issued",
	"--dir DIR",
	"Show the root, the intermediate and archived intermediates (subject,\n"
	"serial, key, validity, SHA-256 fingerprint) and counts of issued and\n"
	"revoked certificates. Needs no passphrase.",
	show_opts,
	NULL,
	exec_show,
	0,
};
