/*
 * iotad's entry points: the table machinery (load.c, print.c, check.c)
 * over iotad_conf_table (conf-table.c).
 */
#include <stdio.h>

#include "conf.h"

int
conf_load(const char *path, struct iotad_conf *out, char *err,
    size_t errlen)
{
	return conf_table_load(&iotad_conf_table, path, out, err, errlen);
}

void
conf_free(struct iotad_conf *conf)
{
	conf_table_free(&iotad_conf_table, conf);
}

int
conf_print(FILE *fp, const struct iotad_conf *conf, char *err, size_t errlen)
{
	return conf_table_print(&iotad_conf_table, fp, conf, err, errlen);
}

int
conf_check_files(const struct iotad_conf *conf, char *err, size_t errlen)
{
	return conf_table_check_files(&iotad_conf_table, conf, err, errlen);
}

void
conf_help(FILE *fp)
{
	conf_table_help(&iotad_conf_table, fp);
}
