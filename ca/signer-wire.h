/*
 * The signer's messages: the typed requests of ca.h (a certificate, a
 * CRL, an OCSP answer, an audit checkpoint) and their answers as length-checked frames, so
 * that a signer in a process of its own can be asked across a socket.
 *
 * A frame is a 4-byte big-endian length, then that many bytes: one byte
 * of kind, the issuer's serial, then the fields in a fixed order.  Every
 * string has a two-byte length (0xffff: none); every count and length is checked
 * against the limits of ca.h before anything is copied.  The decoder
 * trusts nothing: a frame it cannot read whole and exactly is refused.
 */
#ifndef IOTA_SIGNER_WIRE_H
#define IOTA_SIGNER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

#define WIRE_FRAME_MAX		(32u * 1024 * 1024)	/* a CRL of ~500k */
#define WIRE_CRL_MAX		500000			/* entries */
#define WIRE_STR_MAX		1024			/* bytes */

enum wire_kind {
	WIRE_HELLO = 1,		/* signer -> front end: the issuers it holds */
	WIRE_ISSUE,
	WIRE_CRL,
	WIRE_OCSP,
	WIRE_CHECKPOINT,	/* an audit chain's head */
	WIRE_ANSWER = 0x40,	/* signer -> front end: DER, or a refusal */
};

enum wire_status {
	WIRE_OK,
	WIRE_REFUSED,		/* the signer would not: the message says why */
};

/* A growing buffer; a failed append sets `failed` and stops there. */
struct wire_buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
	int		 failed;
};
void	wire_buf_free(struct wire_buf *);
/* Bytes at the end, as they are (answers of a batch, one after another). */
void	wire_buf_append(struct wire_buf *, const void *, size_t);

/* Requests, front end -> signer; the frame's 4-byte length included. */
int	wire_put_issue(struct wire_buf *, const char *,
	    const struct ca_issue_req *);
int	wire_put_crl(struct wire_buf *, const char *, const struct ca_crl_req *);
int	wire_put_ocsp(struct wire_buf *, const char *,
	    const struct ca_ocsp_req *);
int	wire_put_checkpoint(struct wire_buf *, const char *,
	    const struct ca_checkpoint_req *);
/*
 * Signer -> front end: the issuers it holds, and answers.  An answer is
 * DER (with the certificate's serial and notAfter when it is one) or a
 * refusal and its reason.
 */
struct wire_answer {
	enum wire_status	 status;
	const unsigned char	*der;
	size_t			 der_len;
	char			 serial[CA_SERIAL_HEX_MAX + 1];
	int64_t			 not_after;
	char			 reason[WIRE_STR_MAX + 1];
};
int	wire_put_hello(struct wire_buf *, const char (*)[CA_SERIAL_HEX_MAX + 1],
	    size_t);
int	wire_put_answer(struct wire_buf *, const struct wire_answer *);

/*
 * A request as the signer reads it: the fields of the typed request,
 * pointing into storage of its own.  Free with wire_request_free().
 */
struct wire_request {
	enum wire_kind		 kind;
	char			 issuer[CA_SERIAL_HEX_MAX + 1];
	struct ca_issue_req	 issue;
	struct ca_crl_req	 crl;
	struct ca_ocsp_req	 ocsp;
	struct ca_checkpoint_req checkpoint;
	char			*strings;	/* the issue's names */
	size_t			 strings_used;
	unsigned char		 spki[CA_SPKI_MAX];
	struct ca_revoked	*revoked;	/* the CRL's entries */
	char			(*serials)[CA_SERIAL_HEX_MAX + 1];
};

/* The frame's body (after the length); -1 and a reason in `err`. */
int	wire_get_request(const unsigned char *, size_t, struct wire_request *,
	    char *, size_t);
void	wire_request_free(struct wire_request *);

/* An answer's body; `der` points into it. */
int	wire_get_answer(const unsigned char *, size_t, struct wire_answer *);

/* The hello's issuer serials, at most `max`; their number, or -1. */
int	wire_get_hello(const unsigned char *, size_t,
	    char (*)[CA_SERIAL_HEX_MAX + 1], size_t);

/* The length in a frame's first 4 bytes. */
uint32_t wire_frame_len(const unsigned char[4]);

#endif
