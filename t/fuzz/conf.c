/*
 * libFuzzer target: iotad's YAML configuration, through conf_load() as
 * `iotad -c` reads it.  Whatever comes in: a refusal says where and why
 * in one line; a configuration that loads prints (`iotad -T`) as YAML
 * that loads again and prints the same, with nothing leaked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static char dir[64], path[96], printed[96];

static void
cleanup(void)
{
	unlink(path);
	unlink(printed);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* In memory where there is one: a file per input, written. */
	snprintf(dir, sizeof(dir), "%s/iota-fuzz-conf.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/iotad.yaml", dir);
	snprintf(printed, sizeof(printed), "%s/printed.yaml", dir);
	atexit(cleanup);
	return 0;
}

/* The configuration printed into a new string; the file stays. */
static char *
print(const struct iotad_conf *c, const char *file)
{
	char err[CONF_ERRLEN], *s;
	FILE *f;
	long n;

	if ((f = fopen(file, "w+")) == NULL || conf_print(f, c, err,
	    sizeof(err)) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		abort();
	if ((s = calloc(1, (size_t)n + 1)) == NULL ||
	    fread(s, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iotad_conf c, c2;
	char err[CONF_ERRLEN], *one, *two;
	FILE *f;

	if ((f = fopen(path, "w")) == NULL || fwrite(data, 1, size, f) != size ||
	    fclose(f) != 0)
		abort();
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	if (conf_load(path, &c, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			abort();
		return 0;
	}
	one = print(&c, printed);
	memset(&c2, 0, sizeof(c2));
	if (conf_load(printed, &c2, err, sizeof(err)) != 0) {
		fprintf(stderr, "printed configuration refused: %s\n%s", err,
		    one);
		abort();
	}
	two = print(&c2, printed);
	if (strcmp(one, two) != 0)
		abort();
	free(one);
	free(two);
	conf_free(&c);
	conf_free(&c2);
	return 0;
}
