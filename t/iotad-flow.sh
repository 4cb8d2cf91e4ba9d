#!/bin/bash
# The seed flow over HTTPS against a real iotad: an admin makes a tenant,
# its operator a group (the secret shown once) and devices, a device
# provisions itself with a CSR and gets a certificate that verifies and
# names it.  Then the rest of the API in use: retries, paging, rotation,
# quotas, deletion, revoke and enable; `iotad -n` and `-T`; and a restart
# that keeps everything.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
iotad_setup "$D" "provisioning:
  secret_overlap: 1h"
T0=$(date +%s)

# --- iotad -n and -T ----------------------------------------------------------
run "$IOTAD" -c "$IOTAD_CONF" -n
is "$RC" 0 "iotad -n: exit 0" || diag "$ERR"
like "$OUT" 'configuration OK' "iotad -n: says the configuration is OK"
run "$IOTAD" -c "$IOTAD_CONF" -T
is "$RC" 0 "iotad -T: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/printed.yaml"
printed=$OUT
like "$printed" $'\n  secret_overlap: (1h|60m|3600s?)\n' "iotad -T: shows the configured overlap"
like "$printed" $'\n  failures_per_minute: 10\n' "iotad -T: shows a default (ratelimit.failures_per_minute)"
run "$IOTAD" -c "$T/printed.yaml" -n
is "$RC" 0 "the printed configuration loads back: iotad -c printed -n" || diag "$ERR"
run "$IOTAD" -c "$T/printed.yaml" -T
is "$OUT" "$printed" "the printed configuration prints the same again"
printf 'listen:\n  adress: 127.0.0.1\n' >"$T/typo.yaml"
run "$IOTAD" -c "$T/typo.yaml" -n
isnt "$RC" 0 "iotad -n on an unknown key: fails"
like "$ERR" 'typo\.yaml:2:[0-9]+' "iotad -n on an unknown key: names file:line:column"

# --- start, health ------------------------------------------------------------
iotad_start || bail_out "iotad did not start"
pass "iotad listening on 127.0.0.1:$IOTAD_PORT (port 0: a free one)"
is "$(file_mode "$IOTAD_STATE/admin.token")" 600 "--init wrote the admin token 0600"
like "$ADMIN" '^iota_admin_[A-Za-z0-9_-]{43}$' "the admin token has the documented form"

api GET /v1/health ""
is_status 200 "GET /v1/health without credentials"
is "$(jq -c . <<<"$BODY")" '{"status":"ok","ratelimit":{"evicted":0,"refused":0}}' \
    "  its body: ok, and the limiter's pressure counters"
like "$(header Content-Type)" '^application/json' "health: Content-Type application/json"

# --- tenant, group ------------------------------------------------------------
api POST /v1/tenants "$ADMIN" '{"name":"acme"}'
is_status 201 "admin creates tenant acme"
is "$(jf '[.tenant, (.token | test("^iota_op_[A-Za-z0-9_-]{43}$"))] | @tsv')" \
    $'acme\ttrue' "tenant: {tenant, token}, the token of the documented form"
OP=$(jf .token)
api POST /v1/tenants "$ADMIN" '{"name":"other"}'
OP2=$(jf .token)

api POST /v1/groups "$OP" '{"name":"sensors"}'
is_status 201 "operator creates group sensors"
SECRET=$(jf .provisioning_secret)
like "$SECRET" '^PS[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$' "the provisioning secret has the documented form"
is "$(jf '.group | [.name, .devices, .provisioned, .quota, .secret_expires] | @json')" \
    '["sensors",0,0,null,null]' "the new GROUP: name, no devices, no quota, no expiry"
created=$(jf .group.created)
ok "[ '$created' -ge $((T0 - 5)) ] && [ '$created' -le $(($(date +%s) + 5)) ]" \
    "GROUP.created is now ($created)"
is "$(jf '.group | keys | join(",")')" "certificate_days,created,devices,name,provisioned,quota,renew_grace,secret_expires" \
    "GROUP has exactly the documented fields"

api GET /v1/groups/sensors "$OP"
is_status 200 "GET the group"
ok "! grep -qF -- '$SECRET' '$T_TMP/.api.body'" "the secret is shown once: not in GET /v1/groups/sensors"
api GET /v1/groups "$OP"
ok "! grep -qF -- '$SECRET' '$T_TMP/.api.body'" "the secret is shown once: not in GET /v1/groups"
api POST /v1/groups "$OP" '{"name":"sensors"}'
is_error 409 exists "the same group again"

# --- devices ------------------------------------------------------------------
api POST /v1/groups/sensors/devices "$OP" '{"name":"dev-1"}'
is_status 201 "register dev-1"
is "$(jq -c . <<<"$BODY")" '{"created":["dev-1"],"duplicates":[]}' "register dev-1: created"
api POST /v1/groups/sensors/devices "$OP" \
    '{"names":["dev-2","dev-1","dev-3","dev-4","dev-5","dev-3"]}'
is_status 201 "bulk registration"
is "$(jf '[(.created | sort), (.duplicates | sort)] | @json')" \
    '[["dev-2","dev-3","dev-4","dev-5"],["dev-1","dev-3"]]' \
    "bulk registration: the new ones created, the duplicates reported"
api POST /v1/groups/sensors/devices "$OP" '{"name":"dev-1"}'
is_error 409 exists "one name that exists"
like "$(grep 'action=device.add' "$IOTAD_LOG" | tail -n 1)" 'outcome=exists ' \
    "the 409 is audited outcome=exists, not ok"
like "$(grep 'action=device.add' "$IOTAD_LOG" | tail -n 2 | head -n 1)" 'outcome=ok ' \
    "(the bulk registration before it: outcome=ok)"

api GET /v1/groups/sensors/devices/dev-1 "$OP"
is_status 200 "show dev-1"
is "$(jq -c . <<<"$BODY")" \
    '{"name":"dev-1","group":"sensors","state":"registered","serial":null,"not_after":null,"provisioned_at":null}' \
    "a registered DEVICE: no serial, no dates"

# --- provisioning ---------------------------------------------------------------
# The CSR asks for another identity: the certificate takes the registry's.
device_key "$T/dev-1" "/CN=intruder/O=evil/OU=evil"
provision "$SECRET" sensors dev-1 "$T/dev-1.csr"
is_status 201 "dev-1 provisions itself with the group's secret"
is "$(jf 'keys | join(",")')" "ca_chain,certificate,device,group,not_after,serial" \
    "PROVISIONED has exactly the documented fields"
is "$(jf '[.device, .group] | @tsv')" $'dev-1\tsensors' "PROVISIONED names the device and group"
save_provisioned "$T/dev-1"
SERIAL1=$(jf .serial)
NOT_AFTER1=$(jf .not_after)

# check_cert PREFIX TENANT GROUP DEVICE SERIAL: the certificate in PREFIX.crt
# with the chain it came with in PREFIX.chain.
check_cert() {
	local p=$1 who="$4 ($5)"
	ok "ossl verify -x509_strict -purpose sslclient -CAfile '$CACERT' \
	    -untrusted '$p.chain' '$p.crt'" \
	    "$who: verifies (x509_strict, sslclient) with its chain and the root"
	is "$(subject_of "$p.crt")" "CN=$4,OU=$3,O=$2" "$who: subject O=$2 OU=$3 CN=$4"
	is "$(ext_value "$p.crt" subjectAltName)" "URI:urn:iota:device:$2:$3:$4" \
	    "$who: the only SAN is URI:urn:iota:device:$2:$3:$4"
	is "$(ext_value "$p.crt" basicConstraints)" "CA:FALSE" "$who: CA:FALSE"
	is "$(ext_value "$p.crt" extendedKeyUsage)" "TLS Web Client Authentication" \
	    "$who: EKU clientAuth only"
	is "$(ext_value "$p.crt" keyUsage)" "Digital Signature" "$who: KU digitalSignature only"
	is "$(serial_of "$p.crt")" "$5" "$who: the serial answered is the certificate's"
}

check_cert "$T/dev-1" acme sensors dev-1 "$SERIAL1"
is "$(enddate_of "$T/dev-1.crt")" "$NOT_AFTER1" "dev-1: not_after is the certificate's notAfter"
is "$(cert_pubkey "$T/dev-1.crt")" "$(csr_pubkey "$T/dev-1.csr")" "dev-1: the CSR's public key"
is "$(pem_split "$T/dev-1.chain" "$T/chain-part")" 2 "ca_chain: two certificates"
ok "same_cert '$T/chain-part1.pem' '$D/ca/intermediate.crt'" "ca_chain: the intermediate first"
ok "same_cert '$T/chain-part2.pem' '$CACERT'" "ca_chain: then the root"

api GET /v1/groups/sensors/devices/dev-1 "$OP"
is "$(jf '[.state, .serial, .not_after] | @tsv')" $'provisioned\t'"$SERIAL1"$'\t'"$NOT_AFTER1" \
    "dev-1 shows provisioned with its serial and expiry"
pa=$(jf .provisioned_at)
ok "[ '$pa' -ge $((T0 - 5)) ] && [ '$pa' -le $(($(date +%s) + 5)) ]" \
    "dev-1: provisioned_at is now ($pa)"
api GET /v1/groups/sensors "$OP"
is "$(jf '[.devices, .provisioned] | @tsv')" $'5\t1' "the group counts 5 devices, 1 provisioned"

# A lost answer: the same key again gets the same certificate.
provision "$SECRET" sensors dev-1 "$T/dev-1.csr"
is_status 200 "retry with the same key"
is "$(jf '[.serial, .not_after] | @tsv')" "$SERIAL1"$'\t'"$NOT_AFTER1" \
    "retry: the same serial and expiry"
jf .certificate >"$T/dev-1-again.crt"
ok "same_cert '$T/dev-1.crt' '$T/dev-1-again.crt'" "retry: the very same certificate"
# Another CSR for the same key (other subject): still a retry.
ossl req -new -key "$T/dev-1.key" -subj /CN=again -out "$T/dev-1b.csr"
provision "$SECRET" sensors dev-1 "$T/dev-1b.csr"
is "$STATUS $(jf .serial)" "200 $SERIAL1" "a new CSR for the same key: the same certificate (200)"

# A CSR asking to be a CA, with SANs of its own, still gets a plain leaf.
device_key "$T/dev-2" /CN=dev-2 \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth,clientAuth" \
    -addext "subjectAltName=DNS:evil.example,IP:10.0.0.1,URI:urn:iota:device:acme:sensors:dev-1"
ok "ossl req -in '$T/dev-2.csr' -noout -text | grep -q 'CA:TRUE'" \
    "control: the CSR does ask for CA:TRUE"
provision "$SECRET" sensors dev-2 "$T/dev-2.csr"
is_status 201 "dev-2 with a CSR asking for CA:TRUE and extra SANs"
save_provisioned "$T/dev-2"
check_cert "$T/dev-2" acme sensors dev-2 "$(jf .serial)"
SERIAL2=$(jf .serial)

# --- paging ------------------------------------------------------------------------
api POST /v1/groups "$OP" '{"name":"fleet"}'
names=()
for ((i = 0; i < 120; i++)); do names+=("$(printf 'p-%03d' "$i")"); done
devices_add "$OP" fleet "${names[@]}"
is "$(jf '.created | length')" 120 "bulk registration of 120 devices"
all=$(printf '%s\n' "${names[@]}")

api GET /v1/groups/fleet/devices "$OP"
is "$(jf '[(.devices | length), .total, .offset] | @tsv')" $'100\t120\t0' \
    "list: the default page is 100 of total 120, offset 0"
api GET "/v1/groups/fleet/devices?offset=100&limit=50" "$OP"
is "$(jf '[(.devices | length), .total, .offset] | @tsv')" $'20\t120\t100' \
    "list offset=100 limit=50: the last 20"
got=
for off in 0 50 100; do
	api GET "/v1/groups/fleet/devices?offset=$off&limit=50" "$OP"
	got+=$(jf '.devices[].name')$'\n'
done
is "${got%$'\n'}" "$all" "pages of 50 give every device once, in name order"
api GET "/v1/groups/fleet/devices?limit=1&offset=119" "$OP"
is "$(jf '[.devices[].name, .total] | @tsv')" $'p-119\t120' "limit=1 offset=119: the last one"
api GET "/v1/groups/fleet/devices?offset=500" "$OP"
is "$(jf '[(.devices | length), .total] | @tsv')" $'0\t120' "an offset past the end: an empty page"
api GET "/v1/groups/fleet/devices?limit=1000" "$OP"
is "$(jf '.devices | length')" 120 "limit=1000 (the maximum)"
is "$(jf '[.devices[] | keys | join(",")] | unique | .[]')" \
    "group,name,not_after,provisioned_at,serial,state" "DEVICE has exactly the documented fields"

api GET /v1/groups "$OP"
is_status 200 "list groups"
is "$(jf '[.groups[] | [.name, .devices, .provisioned]] | @json')" \
    '[["fleet",120,0],["sensors",5,2]]' "list groups: both, with their counts"
api GET /v1/groups "$OP2"
is "$(jq -c . <<<"$BODY")" '{"groups":[]}' "another tenant's operator lists none of them"

# --- rotation with an overlap (1h) ----------------------------------------------------
now=$(date +%s)
api POST /v1/groups/sensors/rotate-secret "$OP"
is_status 200 "rotate the secret"
SECRET2=$(jf .provisioning_secret)
like "$SECRET2" '^PS[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$' "rotate: a new secret of the documented form"
isnt "$SECRET2" "$SECRET" "rotate: the secret changed"
isnt "${SECRET2%%.*}" "${SECRET%%.*}" "rotate: a new public id, so failures counted against the old one never touch it"
pvu=$(jf .previous_valid_until)
ok "[ '$pvu' -ge $((now + 3600 - 5)) ] && [ '$pvu' -le $(($(date +%s) + 3600 + 5)) ]" \
    "rotate: previous_valid_until is now + 1h ($pvu)"
device_key "$T/dev-3"
provision "$SECRET2" sensors dev-3 "$T/dev-3.csr"
is_status 201 "the new secret provisions dev-3"
device_key "$T/dev-4"
provision "$SECRET" sensors dev-4 "$T/dev-4.csr"
is_status 201 "the old secret still provisions dev-4 during the overlap"
api POST /v1/groups/sensors/rotate-secret "$OP"
SECRET3=$(jf .provisioning_secret)
device_key "$T/dev-5"
provision "$SECRET" sensors dev-5 "$T/dev-5.csr"
is_error 401 unauthorized "after a second rotation the first secret is gone"
provision "$SECRET2" sensors dev-5 "$T/dev-5.csr"
is_status 201 "the second secret is the one in overlap now"

# --- PATCH -----------------------------------------------------------------------------
future=$((now + 86400))
api PATCH /v1/groups/fleet "$OP" "{\"quota\":7,\"secret_expires\":$future}"
is_status 200 "PATCH quota and secret_expires"
is "$(jf '[.quota, .secret_expires] | @tsv')" $'7\t'"$future" "PATCH answers the new GROUP"
api PATCH /v1/groups/fleet "$OP" '{}'
is "$STATUS $(jf '[.quota, .secret_expires] | @tsv')" $'200 7\t'"$future" "PATCH {} changes nothing"
api PATCH /v1/groups/fleet "$OP" '{"quota":null}'
is "$(jf '[.quota, .secret_expires] | @json')" "[null,$future]" "PATCH quota null clears the quota only"
api PATCH /v1/groups/fleet "$OP" '{"secret_expires":null,"quota":3}'
api GET /v1/groups/fleet "$OP"
is "$(jf '[.quota, .secret_expires] | @json')" '[3,null]' "GET shows what PATCH set"

# --- signals and the state directory's lock ----------------------------------------
kill -HUP "$IOTAD_PID"
for ((i = 0; i < 100; i++)); do
	grep -q 'reloaded: signing with intermediate' "$IOTAD_LOG" && break
	sleep 0.05
done
like "$(grep 'SIGHUP' "$IOTAD_LOG")" 'info: SIGHUP: reloading ' \
    "SIGHUP: a log line saying it reloads (t/reload.sh tests the reload)"
like "$(grep 'reloaded:' "$IOTAD_LOG")" 'reloaded: signing with intermediate [0-9A-F]+, 1 issuer served' \
    "... and one saying it did"
ok "_alive $IOTAD_PID" "SIGHUP does not stop iotad"
api GET /v1/health ""
is_status 200 "after SIGHUP iotad still serves"
run "$IOTAD" -c "$IOTAD_CONF"
is "$RC" 1 "a second iotad on the same state directory: exit 1"
is "$ERR" "iotad: state directory $IOTAD_STATE is in use by iotad PID $IOTAD_PID" \
    "a second iotad: one line naming the first one's PID"
is "$(cat "$IOTAD_STATE/iotad.pid")" "$IOTAD_PID" "STATE/iotad.pid still names the first one"
api GET /v1/health ""
is_status 200 "the first iotad is unaffected"

# --- restart: everything is still there ---------------------------------------------
snapshot "$OP" sensors fleet
before=$SNAP
api GET /v1/groups "$OP"
groups_before=$(jq -cS . <<<"$BODY")
iotad_restart || bail_out "iotad did not restart"
is "$IOTAD_RC" 0 "iotad stops on SIGTERM with status 0"
like "$(tail -n 5 "$IOTAD_LOG")" 'stopping on signal 15' "iotad logs why it stopped"
snapshot "$OP" sensors fleet
is "$SNAP" "$before" "after a restart: the same groups and devices, states and serials"
api GET /v1/groups "$OP"
is "$(jq -cS . <<<"$BODY")" "$groups_before" "after a restart: the same group list"
provision "$SECRET3" sensors dev-1 "$T/dev-1.csr"
is "$STATUS $(jf .serial)" "200 $SERIAL1" "after a restart: the current secret works, and dev-1's retry finds its certificate"
jf .certificate >"$T/dev-1-restart.crt"
ok "same_cert '$T/dev-1.crt' '$T/dev-1-restart.crt'" "after a restart: the very same certificate"
provision "$SECRET2" sensors dev-2 "$T/dev-2.csr"
is "$STATUS $(jf .serial)" "200 $SERIAL2" "after a restart: the secret in overlap still works"
api POST /v1/tenants "$ADMIN" '{"name":"third"}'
is_status 201 "after a restart: the admin token still works"

# --- rotation without an overlap -------------------------------------------------------
iotad_stop
iotad_write_conf "provisioning:
  secret_overlap: 0s"
iotad_start || bail_out "iotad did not start with secret_overlap 0s"
api POST /v1/groups/fleet/rotate-secret "$OP"
FLEET2=$(jf .provisioning_secret)
pvu=$(jf .previous_valid_until)
ok "[ '$pvu' -le $(date +%s) ]" "overlap 0s: previous_valid_until is now ($pvu)"
api GET /v1/groups/fleet "$OP"
is "$(jf .quota)" 3 "the quota survived the restart"
api POST /v1/groups/fleet/rotate-secret "$OP"
FLEET3=$(jf .provisioning_secret)
device_key "$T/p-000"
provision "$FLEET2" fleet p-000 "$T/p-000.csr"
is_error 401 unauthorized "overlap 0s: the old secret stops at once"
provision "$FLEET3" fleet p-000 "$T/p-000.csr"
is_status 201 "overlap 0s: the new secret works"

# --- revoke, enable, provision again -----------------------------------------------------
api POST /v1/groups/sensors/devices/dev-1/revoke "$OP"
is_status 200 "revoke dev-1"
is "$(jf .state)" revoked "revoke answers the DEVICE, revoked"
api POST /v1/groups/sensors/devices/dev-1/enable "$OP"
is_status 200 "enable dev-1"
is "$(jf .state)" registered "enable: back to registered"
device_key "$T/dev-1-new"
provision "$SECRET3" sensors dev-1 "$T/dev-1-new.csr"
is_status 201 "dev-1 provisions again with a new key"
save_provisioned "$T/dev-1-new"
SERIAL1N=$(jf .serial)
isnt "$SERIAL1N" "$SERIAL1" "a new certificate (new serial)"
check_cert "$T/dev-1-new" acme sensors dev-1 "$SERIAL1N"
is "$(cert_pubkey "$T/dev-1-new.crt")" "$(csr_pubkey "$T/dev-1-new.csr")" "for the new key"
api GET /v1/groups/sensors/devices/dev-1 "$OP"
is "$(jf '[.state, .serial] | @tsv')" $'provisioned\t'"$SERIAL1N" "dev-1 shows the new serial"
provision "$SECRET3" sensors dev-1 "$T/dev-1.csr"
is_error 409 key_mismatch "the old key is refused now"

# --- deleting groups ----------------------------------------------------------------------
api POST /v1/groups "$OP" '{"name":"solo"}'
SOLO=$(jf .provisioning_secret)
devices_add "$OP" solo s-1 s-2
device_key "$T/s-1"
provision "$SOLO" solo s-1 "$T/s-1.csr"
is_status 201 "solo/s-1 provisioned"
api DELETE /v1/groups/solo "$OP"
is_error 409 group_not_empty "delete a group with a provisioned device"
api GET /v1/groups/solo "$OP"
is "$STATUS $(jf '[.devices, .provisioned] | @tsv')" $'200 2\t1' "the group is still there, unchanged"
api POST /v1/groups/solo/devices/s-1/revoke "$OP"
api DELETE /v1/groups/solo "$OP"
is_status 204 "delete it once its device is revoked"
is "$BODY" "" "204: no body"
api GET /v1/groups/solo "$OP"
is_error 404 not_found "the deleted group is gone"
api GET /v1/groups/solo/devices/s-2 "$OP"
is_error 404 not_found "and its devices with it"
provision "$SOLO" solo s-2 "$T/s-1.csr"
is_error 401 unauthorized "and its secret"
api POST /v1/groups "$OP" '{"name":"empty"}'
devices_add "$OP" empty e-1 e-2
api DELETE /v1/groups/empty "$OP"
is_status 204 "a group of registered devices only is deleted"

# --- 10,000 names in one registration, with the default limits -------------------
group_add "$OP" bulk SBULK || bail_out "group bulk"
# The longest names there are: 64 characters, the documented maximum.
awk 'BEGIN { printf "{\"names\":["; for (i = 0; i < 10000; i++)
    printf "%s\"%s%05d\"", (i ? "," : ""), substr(sprintf("%064d", 0), 1, 59), i
    printf "]}" }' >"$T/bulk.json"
ok "[ $(stat -c %s "$T/bulk.json") -gt 65536 ]" \
    "10,000 names of 64 characters: larger than the default limits.max_body"
api_file POST /v1/groups/bulk/devices "$OP" "$T/bulk.json"
is_status 201 "10,000 names in one registration: 201"
is "$(jf '[(.created | length), (.duplicates | length)] | @json')" '[10000,0]' \
    "all 10,000 created"
api GET /v1/groups/bulk "$OP"
is "$(jf .devices)" 10000 "the group counts them"
sed 's/]}$/,"one-too-many"]}/' "$T/bulk.json" >"$T/bulk1.json"
api_file POST /v1/groups/bulk/devices "$OP" "$T/bulk1.json"
is_error 400 bad_request "10,001 names: 400"
head -c 800000 /dev/zero | tr '\0' ' ' >"$T/huge.json"
api_file POST /v1/groups/bulk/devices "$OP" "$T/huge.json"
is_error 413 too_large "a registration body past the route's limit: 413"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big.json"
api_file POST /v1/groups "$OP" "$T/big.json"
is_error 413 too_large "other routes keep limits.max_body: 413"
# A client that waits for 100-continue is refused before it sends the body.
API_ARGS=(-H 'Expect: 100-continue')
api_file POST /v1/groups "$OP" "$T/big.json"
API_ARGS=()
is_error 413 too_large "a body over the limit, with Expect: 100-continue: 413"
api GET /v1/groups/bulk "$OP"
is "$(jf .devices)" 10000 "the refused registrations changed nothing"

iotad_stop
is "$IOTAD_RC" 0 "iotad exits 0 on SIGTERM"
done_testing
