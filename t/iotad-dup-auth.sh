#!/bin/bash
# Two Authorization headers in one request: which one counts would be a
# guess, so neither does: 400 bad_request on every kind of route, and
# nothing is written; one header of the same value still works.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
iotad_setup "$T/iotad"
iotad_start || bail_out "iotad did not start"
tenant_add acme OP || bail_out "tenant"
group_add "$OP" g1 SECRET || bail_out "group"

twice() {
	local token=$1
	shift
	API_ARGS=(-H "Authorization: Bearer $token")
	api "$@"
	API_ARGS=()
}
# refused DESC METHOD PATH TOKEN-SENT-TWICE [BODY]: 400, the database as it was.
refused() {
	local desc=$1 before
	shift
	before=$(db_digest)
	twice "$3" "$@"
	is_error 400 bad_request "$desc"
	like "$(jf .message)" 'more than one Authorization header' "$desc: says why"
	is "$(db_digest)" "$before" "$desc: the registry unchanged"
}

refused "POST /v1/tenants, the admin token twice" POST /v1/tenants "$ADMIN" '{"name":"bravo"}'
api POST /v1/tenants "$ADMIN" '{"name":"bravo"}'
is_status 201 "control: the same with one header makes tenant bravo"

refused "POST /v1/groups, the operator token twice" POST /v1/groups "$OP" '{"name":"g2"}'
api GET /v1/groups "$OP"
is "$(jf '[.groups[].name] | join(" ")')" "g1" "  no group g2"

# The operator's token and the admin's: neither may stand for the other.
before=$(db_digest)
API_ARGS=(-H "Authorization: Bearer $ADMIN")
api POST /v1/groups "$OP" '{"name":"g3"}'
API_ARGS=()
is_error 400 bad_request "POST /v1/groups with the operator's and the admin's token"
is "$(db_digest)" "$before" "  the registry unchanged"

# Case does not make it another header.
before=$(db_digest)
API_ARGS=(-H "authorization: Bearer $OP")
api DELETE /v1/groups/g1 "$OP"
API_ARGS=()
is_error 400 bad_request "DELETE /v1/groups/g1 with Authorization and authorization"
api GET /v1/groups/g1 "$OP"
is_status 200 "  g1 is still there"
is "$(db_digest)" "$before" "  the registry unchanged"

# A provisioning secret twice, and the open route.
devices_add "$OP" g1 d1 || bail_out "devices"
device_key "$T/d1"
before=$(db_digest)
API_ARGS=(-H "Authorization: Bearer $SECRET")
provision "$SECRET" g1 d1 "$T/d1.csr"
API_ARGS=()
is_error 400 bad_request "POST /v1/provision with the secret twice"
api GET /v1/groups/g1/devices/d1 "$OP"
is "$(jf .state)" registered "  d1 is still registered"
is "$(db_digest)" "$before" "  the registry unchanged"
twice x GET /v1/health x
is_error 400 bad_request "GET /v1/health (anyone) with two Authorization headers"
api GET /v1/health ""
is_status 200 "control: GET /v1/health without one"

done_testing
