#!/bin/bash
# Tenant names are unique regardless of case: with acme there, Acme and
# ACME are refused with 409 exists (iotactl: exit 5, one line), and the
# registry is as it was; acme's operator token still works.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

unset IOTA_SERVER IOTA_CA_FILE IOTA_TOKEN IOTA_TOKEN_FILE
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

T=$T_TMP
iotad_setup "$T/iotad"
iotad_start || bail_out "iotad did not start"
tenant_add acme OP || bail_out "tenant acme"
group_add "$OP" g1 SECRET || bail_out "group"

tenants() {
	if [ "$HAVE_SQLCIPHER" = 1 ]; then
		db_query "SELECT name FROM tenants ORDER BY id;" | tr '\n' ' '
	else
		echo "-"
	fi
}
BEFORE_LIST=$(tenants)
[ "$HAVE_SQLCIPHER" = 1 ] && is "$BEFORE_LIST" "acme " "the registry holds acme"

for name in Acme ACME aCmE; do
	before=$(db_digest)
	api POST /v1/tenants "$ADMIN" "{\"name\":\"$name\"}"
	is_error 409 exists "POST /v1/tenants $name with acme there"
	is "$(db_digest)" "$before" "  $name: the registry unchanged"
	is "$(tenants)" "$BEFORE_LIST" "  $name: the tenants unchanged"
done

run_fail 5 '\(exists\)$' "iotactl tenant add Acme" -- "$IOTACTL" tenant add Acme \
    --server "$IOTAD_URL" --ca-file "$CACERT" --token-file "$IOTAD_STATE/admin.token"
is "$(tenants)" "$BEFORE_LIST" "  the tenants unchanged"

api GET /v1/groups "$OP"
is "$STATUS $(jf '[.groups[].name] | join(" ")')" "200 g1" \
    "acme's operator token still sees acme's groups"

api POST /v1/tenants "$ADMIN" '{"name":"acme-2"}'
is_status 201 "control: another name is still made"
[ "$HAVE_SQLCIPHER" = 1 ] && is "$(tenants)" "acme acme-2 " "  the registry holds acme and acme-2"

done_testing
