#!/bin/bash
# The inventory: `iotactl list certs` (all, one group, --expiring, JSON)
# against a real iotad, and `iotactl cert inspect` on what iotad issued
# (PEM and DER), compared with what openssl reads; bad files and bad
# filters are refused with one line.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
iotad_setup "$D" "revocation:
  port: 0"
iotad_start || bail_out "iotad did not start"
export IOTA_SERVER=$IOTAD_URL IOTA_CA_FILE=$CACERT

tenant_add acme OP || bail_out "tenant"
tenant_add other OP2 || bail_out "tenant other"
export IOTA_TOKEN=$OP
group_add "$OP" short SHORT '{}' || bail_out "group short"
group_add "$OP" long LONG '{}' || bail_out "group long"
api PATCH /v1/groups/short "$OP" '{"certificate_days": 1}'
devices_add "$OP" short s1 s2 || bail_out "devices"
devices_add "$OP" long l1 || bail_out "devices"
for pair in "short s1 $SHORT" "short s2 $SHORT" "long l1 $LONG"; do
	set -- $pair
	device_key "$T/$2"
	provision "$3" "$1" "$2" "$T/$2.csr"
	[ "$STATUS" = 201 ] || bail_out "provision $2: $STATUS $BODY"
	save_provisioned "$T/$2"
done
api POST /v1/groups/short/devices/s2/revoke "$OP" '{"reason":"keyCompromise"}'
[ "$STATUS" = 200 ] || bail_out "revoke s2"

# --- list certs ---------------------------------------------------------------------
run "$IOTACTL" list certs -o json
is "$RC" 0 "list certs -o json: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/all.json"
is "$(jq '.certificates | length' "$T/all.json")" 3 "three certificates"
is "$(jq -r '.certificates | map(.device) | (.[0:2] | sort) + .[2:] | join(",")' "$T/all.json")" \
    "s1,s2,l1" "the one-day group's first, l1 last"
is "$(jq '[.certificates | map(.not_after) | . as $a | range(1; length) | select($a[.] < $a[. - 1])] | length' "$T/all.json")" \
    0 "soonest expiry first"
is "$(jq -r '.certificates[] | select(.device == "s2") | [.status, .reason] | @tsv' "$T/all.json")" \
    $'revoked\tkeyCompromise' "s2: revoked, for key compromise"
is "$(jq -r '.certificates[] | select(.device == "s1") | [.status, .current, .serial] | @tsv' "$T/all.json")" \
    "valid	true	$(serial_of "$T/s1.crt")" "s1: valid, current, its serial"
run "$IOTACTL" list certs -g long
is "$RC" 0 "list certs -g long: exit 0"
like "$OUT" "$(serial_of "$T/l1.crt")" "... lists l1's certificate"
unlike "$OUT" "$(serial_of "$T/s1.crt")" "... and not the other group's"
like "$OUT" '^SERIAL +GROUP +DEVICE +STATUS +NOT-AFTER +CURRENT' "... as a table with a header"
run "$IOTACTL" list certs --expiring 2d -o json
is "$(jq -r '.certificates | map(.device) | join(",")' <<<"$OUT")" "s1" \
    "--expiring 2d: only the valid one-day certificate"
run "$IOTACTL" list certs --expiring 0 -o json
is "$(jq '.certificates | length' <<<"$OUT")" 0 "--expiring 0: none"
IOTA_TOKEN=$OP2 run "$IOTACTL" list certs -o json
is "$(jq '.certificates | length' <<<"$OUT")" 0 "another tenant sees none of them"
run "$IOTACTL" list certs -g nosuch
is "$RC" 4 "list certs -g nosuch: exit 4 (not found)"
run "$IOTACTL" list certs --expiring soon
is "$RC" 2 "list certs --expiring soon: usage error"
api GET "/v1/certificates?expiring=-1" "$OP"
is_error 400 bad_request "the API: a negative expiring"
api GET "/v1/certificates?limit=0" "$OP"
is_error 400 bad_request "the API: limit 0"
api GET "/v1/certificates" "$ADMIN"
is_error 403 forbidden "the API: the admin token (an operator's route)"

# --- cert inspect -------------------------------------------------------------------------
run "$IOTACTL" cert inspect "$T/s1.crt" -o json
is "$RC" 0 "cert inspect -o json: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/s1.json"
is "$(jq -r .serial "$T/s1.json")" "$(serial_of "$T/s1.crt")" "the serial, as openssl reads it"
is "$(jq -r .subject "$T/s1.json")" "$(subject_of "$T/s1.crt")" "the subject"
is "$(jq -r '.names[] | select(.type == "URI") | .value' "$T/s1.json")" \
    "urn:iota:device:acme:short:s1" "the device's URI name"
like "$(jq -r '.crl[0]' "$T/s1.json")" '^http://127\.0\.0\.1:[0-9]+/crl/[0-9A-F]+\.crl$' \
    "the CRL it names"
like "$(jq -r '.ocsp[0]' "$T/s1.json")" '^http://127\.0\.0\.1:[0-9]+/ocsp$' "the OCSP responder"
is "$(jq -r '.usages | join(",")' "$T/s1.json")" clientAuth "client authentication only"
is "$(jq -r .ca "$T/s1.json")" false "not a CA"
is "$(jq -r .sha256 "$T/s1.json")" \
    "$(ossl x509 -in "$T/s1.crt" -noout -fingerprint -sha256 | sed 's/^.*=//')" \
    "the fingerprint, as openssl computes it"
ossl x509 -in "$T/s1.crt" -outform DER -out "$T/s1.der"
run "$IOTACTL" cert inspect "$T/s1.der" -o json
is "$(jq -r .serial <<<"$OUT")" "$(serial_of "$T/s1.crt")" "a DER file reads the same"
run "$IOTACTL" cert inspect "$D/ca/root.crt"
like "$OUT" 'CA +yes' "the root: a CA"
head -c 500 /dev/urandom >"$T/junk"
run_fail 1 'not a certificate' "cert inspect of junk" -- "$IOTACTL" cert inspect "$T/junk"
run_fail 1 '.' "cert inspect of a missing file" -- "$IOTACTL" cert inspect "$T/nosuch"
run_fail 2 '.' "cert inspect without a file" -- "$IOTACTL" cert inspect

done_testing
