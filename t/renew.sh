#!/bin/bash
# Renewal over mutual TLS: a provisioned device shows its certificate in
# the handshake and sends a CSR with a new key; it gets the next
# certificate for the same identity, and a lost answer retried gets the
# same one.  After expiry (clock moved with faketime) it renews within its
# group's grace and is refused past it, with the way out named.  Revoked,
# foreign, server, superseded and absent certificates are refused.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
CA=$D/ca
iotad_setup "$D"
iotad_start || bail_out "iotad did not start"

tenant_add acme OP || bail_out "tenant"
group_add "$OP" g1 SECRET || bail_out "group"
devices_add "$OP" g1 d1 d2 || bail_out "devices"
for dev in d1 d2; do
	device_key "$T/$dev"
	provision "$SECRET" g1 "$dev" "$T/$dev.csr"
	[ "$STATUS" = 201 ] || bail_out "provision $dev: $STATUS $BODY"
	save_provisioned "$T/$dev"
done

# renew CERT KEY CSR: POST /v1/renew over mTLS; STATUS, BODY.
renew() {
	API_ARGS=(--cert "$1" --key "$2")
	api POST /v1/renew "" "$(jq -cn --rawfile c "$3" '{csr: $c}')"
	API_ARGS=()
}

verify() {
	ossl verify -x509_strict -CAfile "$CACERT" -untrusted "$CA/intermediate.crt" \
	    -purpose sslclient "$1" 2>&1
}

# --- renew with the live certificate and a new key ---------------------------------
device_key "$T/n1"
renew "$T/d1.crt" "$T/d1.key" "$T/n1.csr"
is_status 201 "d1 renews over mTLS with a new key"
jf .certificate >"$T/n1.crt"
like "$(verify "$T/n1.crt")" ': OK$' "the new certificate verifies (client purpose)"
is "$(subject_of "$T/n1.crt")" "$(subject_of "$T/d1.crt")" "the same subject"
is "$(ossl x509 -in "$T/n1.crt" -noout -ext subjectAltName | tail -1 | tr -d ' ')" \
    "URI:urn:iota:device:acme:g1:d1" "the same identity (URI SAN)"
isnt "$(serial_of "$T/n1.crt")" "$(serial_of "$T/d1.crt")" "a new serial"
is "$(ossl x509 -in "$T/n1.crt" -noout -pubkey)" "$(ossl pkey -in "$T/n1.key" -pubout)" \
    "the new key, from the CSR"
api GET /v1/groups/g1/devices/d1 "$OP"
is "$(jf .serial)" "$(serial_of "$T/n1.crt")" "the registry now names the new certificate"
is "$(jf .state)" provisioned "the device stays provisioned"

# A lost answer, retried with the old certificate and the same new key.
renew "$T/d1.crt" "$T/d1.key" "$T/n1.csr"
is_status 200 "the retry of that renewal: 200"
is "$(jf .serial)" "$(serial_of "$T/n1.crt")" "... the same certificate"
# The old certificate cannot renew again with yet another key.
device_key "$T/x1"
renew "$T/d1.crt" "$T/d1.key" "$T/x1.csr"
is_error 409 superseded "the replaced certificate renews again with another key"
# The new one renews, with the same key too.
renew "$T/n1.crt" "$T/n1.key" "$T/n1.csr"
is_status 201 "the new certificate renews, keeping its key"
jf .certificate >"$T/n1b.crt"
save_provisioned "$T/cur"

# --- iotactl renew --------------------------------------------------------------------------
CLI_ENV=(env IOTA_SERVER="$IOTAD_URL" IOTA_CA_FILE="$CACERT")
mkdir -p "$T/dev" && cp "$T/cur.crt" "$T/dev/dev.crt" && cp "$T/n1.key" "$T/dev/dev.key"
run "${CLI_ENV[@]}" "$IOTACTL" renew --cert "$T/dev/dev.crt" --key "$T/dev/dev.key"
is "$RC" 0 "iotactl renew: exit 0" || diag "$ERR"
like "$OUT" 'serial' "... prints the new serial"
like "$(verify "$T/dev/dev.crt")" ': OK$' "the certificate in place verifies"
is "$(ossl x509 -in "$T/dev/dev.crt" -noout -pubkey)" "$(ossl pkey -in "$T/dev/dev.key" -pubout)" \
    "... and goes with the key in place (a new one)"
isnt "$(ossl pkey -in "$T/dev/dev.key" -pubout)" "$(ossl pkey -in "$T/n1.key" -pubout)" \
    "the key is new"
ok "[ ! -e '$T/dev/dev.key.new' ] && [ -s '$T/dev/ca-chain.pem' ]" \
    "no pending key left; the chain written"
is "$(file_mode "$T/dev/dev.key")" 600 "the key is 0600"
# An answer lost: the pending key is there, the old certificate too.
cp "$T/dev/dev.crt" "$T/dev/old.crt"; cp "$T/dev/dev.key" "$T/dev/old.key"
run "${CLI_ENV[@]}" "$IOTACTL" renew --cert "$T/dev/old.crt" --key "$T/dev/old.key" \
    --out "$T/lost"
is "$RC" 0 "renew into another directory" || diag "$ERR"
first=$(serial_of "$T/lost/old.crt")
cp "$T/lost/old.key" "$T/lost/old.key.new"
run "${CLI_ENV[@]}" "$IOTACTL" renew --cert "$T/dev/old.crt" --key "$T/dev/old.key" \
    --out "$T/lost"
is "$RC" 0 "the same renewal again, its new key pending (an answer lost)" || diag "$ERR"
is "$(serial_of "$T/lost/old.crt")" "$first" "... gets the same certificate"
run "${CLI_ENV[@]}" "$IOTACTL" renew --cert "$T/dev/dev.crt" --key "$T/d2.key"
is "$RC" 1 "a key that is not the certificate's: exit 1"
like "$ERR" 'is not the key of' "... saying so"
run "${CLI_ENV[@]}" "$IOTACTL" renew --cert "$T/dev/dev.crt"
is "$RC" 2 "renew without --key: usage error"
run "${CLI_ENV[@]}" "$IOTACTL" renew --cert "$T/dev/dev.crt" --key "$T/dev/dev.key" --exec true
is "$RC" 2 "--exec without --daemon: usage error"

# --daemon: renews on its period, runs the hook, stops on a refusal.
cp "$T/lost/old.crt" "$T/dev/dev.crt"; cp "$T/lost/old.key" "$T/dev/dev.key"
: >"$T/hook"
"${CLI_ENV[@]}" "$IOTACTL" renew --cert "$T/dev/dev.crt" --key "$T/dev/dev.key" \
    --daemon --renew-period 1s --exec "echo renewed >>'$T/hook'" \
    >"$T/daemon.out" 2>"$T/daemon.err" &
DAEMON=$!
for ((i = 0; i < 200; i++)); do
	[ "$(wc -l <"$T/hook" 2>/dev/null)" -ge 2 ] 2>/dev/null && break
	sleep 0.1
done
ok "[ \"\$(wc -l <'$T/hook')\" -ge 2 ]" "--daemon renewed twice and ran the hook each time"
like "$(verify "$T/dev/dev.crt")" ': OK$' "the daemon's certificate verifies"
kill -TERM "$DAEMON"; wait "$DAEMON"
is "$?" 0 "the daemon stops on SIGTERM, exit 0"
"${CLI_ENV[@]}" "$IOTACTL" renew --cert "$T/dev/dev.crt" --key "$T/dev/dev.key" \
    --daemon --renew-period 1s >"$T/daemon2.out" 2>"$T/daemon2.err" &
DAEMON=$!
api POST /v1/groups/g1/devices/d1/revoke "$OP"
is_status 200 "revoke d1 while its daemon runs"
for ((i = 0; i < 100; i++)); do
	kill -0 "$DAEMON" 2>/dev/null || break
	sleep 0.1
done
wait "$DAEMON"
is "$?" 3 "the daemon stops on the refusal, exit 3"
like "$(cat "$T/daemon2.err")" 'revoked' "... saying the certificate is revoked"
api POST /v1/groups/g1/devices/d1/enable "$OP"
device_key "$T/d1c"
provision "$SECRET" g1 d1 "$T/d1c.csr"
is_status 201 "d1 provisions again, for the tests below"
save_provisioned "$T/cur"
cp "$T/d1c.key" "$T/n1.key"

# --- who may not renew -------------------------------------------------------------------
api POST /v1/renew "" "$(jq -cn --rawfile c "$T/n1.csr" '{csr: $c}')"
is_error 401 unauthorized "no client certificate"
ca_init "$T/foreign" || bail_out "foreign CA"
mkcsr p256 "$T/f" /CN=d1 || bail_out "csr"
ca_sign "$T/foreign" "$T/f.csr" d1 >"$T/f.crt" || bail_out "foreign sign"
renew "$T/f.crt" "$T/f.key" "$T/n1.csr"
is_error 401 unauthorized "a certificate of another root, same names"
renew "$D/server.crt" "$D/server.key" "$T/n1.csr"
is_error 401 unauthorized "iotad's own server certificate (of the same CA)"
mkcsr p256 "$T/own" /CN=d1 || bail_out "csr"
ca_sign "$CA" "$T/own.csr" d1 >"$T/own.crt" || bail_out "ca sign"
renew "$T/own.crt" "$T/own.key" "$T/n1.csr"
is_error 401 unauthorized "a device certificate from iotactl ca sign, not iotad's"
API_ARGS=(--cert "$T/d2.crt" --key "$T/d2.key")
api POST /v1/renew "" "$(jq -cn --rawfile c "$T/n1.csr" '{csr: $c, device: "d1"}')"
API_ARGS=()
is_error 400 bad_request "a body that names a device (the identity is the certificate's)"
for body in '' '{"csr":1}' '{"csr":"not a csr"}' '[1]'; do
	API_ARGS=(--cert "$T/d2.crt" --key "$T/d2.key")
	api POST /v1/renew "" "$body"
	API_ARGS=()
	like "$STATUS $(_error_code)" '^400 (bad_request|csr_rejected)$' \
	    "renew with the body '$body': 400"
done
api GET /v1/groups/g1/devices/d2 "$OP"
is "$(jf .serial)" "$(serial_of "$T/d2.crt")" "after the refusals d2 is unchanged"

# A flood of foreign certificates from one address ends in a lockout.
codes=
for i in $(seq 1 14); do
	API_SRC=127.0.0.7 renew "$T/f.crt" "$T/f.key" "$T/n1.csr"
	codes+="$STATUS "
done
like "$codes" '429' "foreign certificates from one address end in 429 ($codes)"
renew "$T/d2.crt" "$T/d2.key" "$T/d2.csr"
like "$STATUS" '^20[01]$' "a device at another address still renews"

# A revoked certificate, and a revoked key.
api POST /v1/groups/g1/devices/d2/revoke "$OP"
is_status 200 "revoke d2"
device_key "$T/n2"
renew "$T/d2.crt" "$T/d2.key" "$T/n2.csr"
is_error 403 certificate_revoked "d2's revoked certificate renews"
renew "$T/cur.crt" "$T/n1.key" "$T/d2.csr"
is_error 403 key_revoked "d1 renews with d2's revoked key"

# --- expiry: a one-day certificate, the clock moved ----------------------------------------
# libfaketime preloaded into iotad itself (the faketime wrapper would fork,
# and a signal to it would not reach iotad); the multi-threaded build.
FAKETIME_LIB=
for f in /usr/lib/*/faketime/libfaketimeMT.so.1; do
	[ -f "$f" ] && FAKETIME_LIB=$f
done
[ -n "$FAKETIME_LIB" ] || bail_out "libfaketime is needed (scripts/install-deps --test)"
# An AddressSanitizer build wants its runtime first: it is, being linked
# in; the preloaded library only comes before it in the list.
at_clock() {	# OFFSET: iotad from now on runs that far ahead
	IOTAD_WRAP=("${IOTAD_WRAP_SAVE[@]}" env LD_PRELOAD="$FAKETIME_LIB"
	    FAKETIME="$1" FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_NO_CACHE=1
	    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
}
run env IOTA_SERVER="$IOTAD_URL" IOTA_CA_FILE="$CACERT" IOTA_TOKEN="$OP" \
    "$IOTACTL" group set g1 --certificate-days 1 --renew-grace 2d
is "$RC" 0 "iotactl group set g1 --certificate-days 1 --renew-grace 2d" || diag "$ERR"
like "$OUT" 'certificate days +1' "... prints the group's validity"
api GET /v1/groups/g1 "$OP"
is "$(jf '[.certificate_days, .renew_grace] | @tsv')" $'1\t172800' "the group shows its policy"
for bad in "--certificate-days 0" "--certificate-days 3651" "--renew-grace 366d" \
    "--renew-grace x" "--certificate-days 1x"; do
	# shellcheck disable=SC2086
	run env IOTA_SERVER="$IOTAD_URL" IOTA_CA_FILE="$CACERT" IOTA_TOKEN="$OP" \
	    "$IOTACTL" group set g1 $bad
	is "$RC" 2 "iotactl group set $bad: usage error"
done
for body in '{"certificate_days": 0}' '{"certificate_days": 3651}' \
    '{"renew_grace": -1}' '{"renew_grace": 31536001}' '{"certificate_days": "1"}'; do
	api PATCH /v1/groups/g1 "$OP" "$body"
	is_error 400 bad_request "group policy $body"
done
device_key "$T/s1"
renew "$T/cur.crt" "$T/n1.key" "$T/s1.csr"
is_status 201 "renew under the new policy"
jf .certificate >"$T/s1.crt"
left=$(( $(date -u -d "$(ossl x509 -in "$T/s1.crt" -noout -enddate | sed 's/^notAfter=//')" +%s) - $(date +%s) ))
ok "[ $left -gt 86000 ] && [ $left -le 86400 ]" "a one-day certificate ($left s)"

# iotad under a clock 1.5 days on: expired, inside the grace.
iotad_stop || bail_out "stop"
IOTAD_WRAP_SAVE=("${IOTAD_WRAP[@]}")
at_clock +36h
iotad_start || bail_out "iotad under faketime did not start"
device_key "$T/s2"
renew "$T/s1.crt" "$T/s1.key" "$T/s2.csr"
is_status 201 "expired 12 hours ago, inside the grace: renewed"
jf .certificate >"$T/s2.crt"
iotad_stop
at_clock +5d
iotad_start || bail_out "iotad under faketime did not start"
device_key "$T/s3"
renew "$T/s2.crt" "$T/s2.key" "$T/s3.csr"
is_error 403 certificate_expired "expired days ago, past the grace: refused"
like "$(jf .message)" 'iotactl enable' "... naming the operator's way out"
iotad_stop
IOTAD_WRAP=("${IOTAD_WRAP_SAVE[@]}")
iotad_start || bail_out "iotad did not restart"
like "$(grep -c '"action":"renew"\|renew' "$D/iotad.log")" '^[1-9]' "renewals are in the log"

done_testing
