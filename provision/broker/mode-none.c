/* broker.mode none: no broker; devices get a certificate only. */
#include "mode-int.h"

static int
none_device(struct broker_mode *m, const struct broker_who *who,
    struct creds *c)
{
	(void)m;
	(void)who;
	(void)c;
	return BROKER_OK;
}

const struct broker_mode_ops mode_none_ops = {
	.name = "none",
	.device = none_device,
	.remove = NULL,		/* nothing at a broker to take away */
	.ask = NULL,
};
