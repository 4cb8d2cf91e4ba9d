/*
 * libFuzzer target: a frame as iota-signer reads it from iotad, which an
 * attacker in control of iotad writes at will.  The decoder must refuse
 * what it cannot read whole, without a leak or undefined behaviour; what
 * it accepts must encode back to the very same bytes (one reading per
 * frame, nothing dropped or invented); the signer's policy must then
 * decide without fault.  Answers and hellos, read by iotad, too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signer.h"

static void
same_again(const uint8_t *data, size_t size, const struct wire_request *w)
{
	struct wire_buf b;
	int rc;

	switch (w->kind) {
	case WIRE_ISSUE:
		rc = wire_put_issue(&b, w->issuer, &w->issue);
		break;
	case WIRE_CRL:
		rc = wire_put_crl(&b, w->issuer, &w->crl);
		break;
	case WIRE_OCSP:
		rc = wire_put_ocsp(&b, w->issuer, &w->ocsp);
		break;
	case WIRE_CHECKPOINT:
		rc = wire_put_checkpoint(&b, w->issuer, &w->checkpoint);
		break;
	default:
		abort();	/* the decoder accepted a kind it has no reader for */
	}
	if (rc != 0 || b.len != size + 4 || memcmp(b.p + 4, data, size) != 0)
		abort();
	wire_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char serials[4][CA_SERIAL_HEX_MAX + 1], err[256];
	struct wire_request w;
	struct wire_answer a;

	if (wire_get_request(data, size, &w, err, sizeof(err)) == 0) {
		same_again(data, size, &w);
		(void)policy_check(&w, (time_t)1800000000, err, sizeof(err));
		wire_request_free(&w);
	} else if (memchr(err, '\n', strlen(err)) != NULL)
		abort();	/* a reason is one line */
	if (wire_get_answer(data, size, &a) == 0 && a.der_len > size)
		abort();
	(void)wire_get_hello(data, size, serials, 4);
	return 0;
}
