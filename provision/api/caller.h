/*
 * Who may call a route, as the route table says, and who is calling, as
 * the gate (gate.c) has proven before any handler runs.
 */
#ifndef IOTA_CALLER_H
#define IOTA_CALLER_H

#include <stdint.h>

#include "registry.h"
#include "router.h"

enum caller_class {
	CALLER_ANYONE		= 1 << 0,	/* no credential */
	CALLER_ADMIN		= 1 << 1,	/* the admin token */
	CALLER_OPERATOR		= 1 << 2,	/* a tenant's operator token */
	CALLER_DEVICE_SECRET	= 1 << 3,	/* a group's provisioning secret */
	CALLER_BROKER		= 1 << 4,	/* RabbitMQ, from auth_clients */
	CALLER_DEVICE_CERT	= 1 << 5,	/* a device's certificate, mTLS */
	CALLER_EST_BASIC	= 1 << 6,	/* EST: Basic device:secret */
};
#define CALLER_KNOWN	(CALLER_ANYONE | CALLER_ADMIN | CALLER_OPERATOR | \
			 CALLER_DEVICE_SECRET | CALLER_BROKER | CALLER_DEVICE_CERT | \
			 CALLER_EST_BASIC)

struct caller {
	enum caller_class	 class;
	int64_t			 tenant_id;	/* REG_NONE: admin, broker */
	char			 tenant[REG_NAME_MAX + 1];  /* device secret */
	struct reg_group	 group;		/* device secret, cert: its group */
	/* A device certificate: the device and the certificate it showed. */
	struct reg_device	 dev;
	char			 serial[REG_SERIAL_MAX + 1];
	int64_t			 not_after;
	char			 est_device[REG_NAME_MAX + 1];	/* Basic's user */
};

/* The route table's gate: see route_gate in router.h. */
int	 api_gate(struct http_request *, struct http_response *,
	    const struct route *, struct caller *);
/* -1 and one line if a row names a class the gate cannot prove yet. */
int	 api_routes_check(const struct route *, size_t, char *, size_t);
/* "operator", "admin|operator", ...: for --routes and logs. */
void	 api_callers_name(unsigned int, char *, size_t);
/*
 * A provisioning secret found wanting after the gate (the body names
 * another group): counted as the gate counts its own refusals.
 */
void	 api_secret_failed(struct http_request *, const char *);

#endif
