/*
 * What the files of conf/ share with each other and with no one else.
 *
 *	value.c		the value syntaxes: text to number and back, by type
 *	field.c		a key's field in the struct a table describes
 *	load.c		the YAML walk: conf_table_load()
 *	suggest.c	the key closest to a misspelt one
 *	print.c		the effective configuration as YAML, and help
 *	verify.c	the table's own soundness
 *	check.c		the files and directories the paths name
 *	conf.c		iotad's entry points over iotad_conf_table
 */
#ifndef IOTA_CONF_INT_H
#define IOTA_CONF_INT_H

#include <stddef.h>

#include "conf.h"

#define CONF_SHOW_MAX	40	/* bytes of a bad value quoted in a message */
#define CONF_SHOW_LEN	(CONF_SHOW_MAX + 4)	/* with "..." and a NUL */

/* What each type is called in help and in messages. */
struct conf_type_name {
	const char	*name;		/* help: "integer" */
	const char	*noun;		/* "expected an integer" */
	const char	*example;	/* "is not a duration (such as ...)" */
	int		 ranged;	/* has min..max */
};

/* value.c */
extern const struct conf_type_name conf_types[];
extern const size_t conf_ntypes;
/* Syntax by type, then bounds; why says what is wrong. */
int		 conf_value_parse(const struct conf_key *, const char *,
		    long long *, char *, size_t);
/* A number as the file would say it: "8443", "64k", "30s", "info". */
const char	*conf_value_format(const struct conf_key *, long long, char *,
		    size_t);
size_t		 conf_choices_count(const struct conf_key *);
/* "error, warn, info, debug" with sep ", " */
const char	*conf_choices_list(const struct conf_key *, const char *,
		    char *, size_t);
/* A value fit to quote: at most CONF_SHOW_MAX bytes, cut between characters. */
const char	*conf_show(const char *, char *, size_t);

/* field.c */
int		 conf_key_is_string(const struct conf_key *);
const struct conf_key *conf_key_find(const struct conf_table *, const char *);
/* Some key lies below the name, which is thus a mapping. */
int		 conf_key_is_section(const struct conf_table *, const char *);
char		**conf_field_string(const struct conf_key *, const void *);
long long	 conf_field_number(const struct conf_key *, const void *);
/* The one way a value, from the file or a default, is stored. */
int		 conf_field_set(const struct conf_key *, void *, const char *,
		    const char *, size_t, char *, size_t);

/* suggest.c */
/* The key or section below prefix closest to a word, if close enough. */
int		 conf_suggest(const struct conf_table *, const char *,
		    const char *, char *, size_t);

#endif
