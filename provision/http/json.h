/*
 * JSON bodies on jansson: reading a request's object, and answering with
 * one.  Every error iotad sends is {"error": code, "message": text}: the
 * code is for programs and stable, the message for people; neither ever
 * carries a secret or the detail meant for the log.
 */
#ifndef IOTA_JSON_H
#define IOTA_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "http.h"

#define JSON_WHYLEN	128	/* enough for any reason we write */

/*
 * The body as a JSON object (a new reference), or NULL and one line in
 * why: "empty body", "body is not a JSON object", or where and what the
 * syntax error is.  Duplicate keys are an error: two "csr" keys would let
 * two parsers disagree on what was asked.  The reason quotes nothing of
 * the body, so it is safe to send back and to log.
 */
json_t		*http_request_json(const struct http_request *, char *, size_t);
/* The same for any bytes: what the fuzz target calls. */
json_t		*json_body_parse(const char *, size_t, char *, size_t);

/* Takes the reference, even on failure; NULL or a dump failure give 500. */
void		 http_respond_json(struct http_response *, unsigned int,
		    json_t *);
void		 http_respond_error(struct http_response *, unsigned int,
		    const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

#endif
