/*
 * Every command of iotactl, in the order the usage lists them, and the
 * dispatch from the words of the command line to a descriptor.  A command
 * is one word ("add") or a word and a verb ("group set").
 */
#include <string.h>

#include "cli.h"

static const struct cli_cmd *const commands[] = {
	&cmd_ca_init, &cmd_ca_issue, &cmd_ca_sign, &cmd_ca_revoke,
	&cmd_ca_crl, &cmd_ca_show, &cmd_ca_rotate,
	&cmd_cert_inspect, &cmd_audit_verify,
	&cmd_tenant_add, &cmd_add, &cmd_list_groups, &cmd_list_devices,
	&cmd_list_certs,
	&cmd_show, &cmd_revoke, &cmd_enable, &cmd_group_rotate,
	&cmd_group_set, &cmd_group_delete, &cmd_provision, &cmd_renew,
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* The length of the first word of `name`. */
static size_t
word_len(const char *name)
{
	return strcspn(name, " ");
}

static int
has_word(const struct cli_cmd *c, const char *word)
{
	size_t len = word_len(c->name);

	return strlen(word) == len && strncmp(c->name, word, len) == 0;
}

static void
list_commands(const char *word, int remote, FILE *fp)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if ((word != NULL && !has_word(commands[i], word)) ||
		    (word == NULL && commands[i]->remote != remote))
			continue;
		fprintf(fp, "  %-20s %s\n", word != NULL ? commands[i]->name +
		    word_len(commands[i]->name) + 1 : commands[i]->name,
		    commands[i]->brief);
	}
}

void
cli_usage(FILE *fp)
{
	fprintf(fp, "usage: %s [-h | --help] [-V | --version] command [args]\n"
	    "\ncommands:\n", cli_progname);
	list_commands(NULL, 0, fp);
	fprintf(fp, "\nremote commands, talking to iotad (--server URL or "
	    "IOTA_SERVER):\n");
	list_commands(NULL, 1, fp);
	fprintf(fp, "\n'%s COMMAND --help' describes each command; see "
	    "iotactl(1).\n", cli_progname);
}

static void
word_usage(const char *word, FILE *fp)
{
	fprintf(fp, "usage: %s %s verb [options]\n\nverbs:\n", cli_progname,
	    word);
	list_commands(word, 0, fp);
	fprintf(fp, "\n'%s %s VERB --help' lists a verb's options.\n",
	    cli_progname, word);
}

/* The command named "word" or "word verb" (verb NULL: "word" alone). */
static const struct cli_cmd *
find(const char *word, const char *verb)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *name = commands[i]->name;
		size_t len = word_len(name);

		if (!has_word(commands[i], word))
			continue;
		if (verb == NULL ? name[len] == '\0' :
		    name[len] == ' ' && strcmp(name + len + 1, verb) == 0)
			return commands[i];
	}
	return NULL;
}

/* Any command under `word`: its first one, or NULL. */
static const struct cli_cmd *
first_under(const char *word)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (has_word(commands[i], word))
			return commands[i];
	return NULL;
}

/*
 * argv[0] is the command's first word.  A remote verb's name is not
 * repeated in an error: a secret typed in the wrong place must not come
 * back on the terminal.
 */
int
cli_dispatch(int argc, char **argv)
{
	const char *word = argv[0];
	const struct cli_cmd *c, *any = first_under(word);

	if (any == NULL) {
		cli_error("unknown command \"%s\" (see '%s --help')", word,
		    cli_progname);
		return EXIT_USAGE;
	}
	if ((c = find(word, NULL)) != NULL)
		return c->exec(c, argc, argv);
	if (argc < 2) {
		cli_error("%s: no verb (see '%s %s --help')", word,
		    cli_progname, word);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		word_usage(word, stdout);
		return 0;
	}
	if ((c = find(word, argv[1])) != NULL)
		return c->exec(c, argc - 1, argv + 1);
	if (any->remote)
		cli_error("%s: unknown verb (see '%s %s --help')", word,
		    cli_progname, word);
	else
		cli_error("%s: unknown verb \"%s\" (see '%s %s --help')",
		    word, argv[1], cli_progname, word);
	return EXIT_USAGE;
}
