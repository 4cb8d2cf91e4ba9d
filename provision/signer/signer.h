/*
 * iota-signer: the process that holds iotad's CA keys (link.h starts
 * it).  It answers typed requests (signer-wire.h) over the sockets it was
 * given and checks each again on its own, so that an iotad under an
 * attacker's control still cannot make it sign a CA certificate, a name
 * that is not a device's, a validity the clock does not allow, or
 * anything but its four kinds of object (a device certificate, a CRL, an
 * OCSP answer, an audit checkpoint).
 */
#ifndef IOTA_SIGNER_H
#define IOTA_SIGNER_H

#include <time.h>

#include "ca.h"
#include "signer-wire.h"

#define KEYRING_MAX	16
#define CLOCK_SLACK	CA_BACKDATE	/* seconds a request's time may be off */
#define CRL_DAYS_MAX	30
#define OCSP_SECONDS_MAX (7 * 86400L)

struct keyring {
	struct {
		char			 serial[CA_SERIAL_HEX_MAX + 1];
		struct ca_signer	*signer;
		uint64_t		 last_crl;	/* number, 0: none yet */
	} keys[KEYRING_MAX];
	size_t	n;
};

/* policy.c: 0 if the request may be signed at `now`; else the reason. */
int	policy_check(const struct wire_request *, time_t, char *, size_t);
int	policy_crl_number(struct keyring *, size_t, uint64_t, char *, size_t);

/*
 * serve.c: the answer frame to one request frame's body (a refusal for
 * anything malformed or refused, with the reason logged).  -1 only when
 * not even a refusal could be built.
 */
int	serve_one(struct keyring *, const unsigned char *, size_t,
	    struct wire_buf *);

/*
 * sandbox.c: the system calls signing needs, no more (with a token: its
 * files opened for reading too); their number.
 */
int	sandbox_enter(int, char *, size_t);

#endif
