#!/bin/bash
# What iotad's HTTPS layer refuses before any handler runs, each refusal
# leaving the registry as it was: TLS 1.2 without an AEAD suite, a body
# of another Content-Type than the route's.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
iotad_setup "$T/iotad"
iotad_start || bail_out "iotad did not start"
tenant_add acme OP || bail_out "tenant acme"
group_add "$OP" g1 SECRET || bail_out "group g1"

state() { API_SRC='' snapshot "$OP" g1; printf '%s' "$SNAP"; }
BEFORE=$(state)

# --- TLS -------------------------------------------------------------------------
# hello VERSION-FLAG CIPHER-FLAG CIPHERS: the suite s_client ends up with, or
# "(none)" when the handshake fails.
hello() {
	local out
	out=$(timeout 20 "$OPENSSL" s_client -connect "127.0.0.1:$IOTAD_PORT" \
	    -CAfile "$CACERT" "$1" "$2" "$3" </dev/null 2>&1)
	sed -n 's/^New, [^,]*, Cipher is \([A-Z0-9_-]*\)$/\1/p' <<<"$out" |
	    grep -v '^(NONE)$' | head -1 | grep . || echo "(none)"
}
is "$(hello -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA)" "(none)" \
    "TLS 1.2 with ECDHE-ECDSA-AES128-SHA (CBC, HMAC-SHA1): no handshake"
is "$(hello -tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384)" "(none)" \
    "TLS 1.2 with ECDHE-ECDSA-AES256-SHA384 (CBC): no handshake"
is "$(hello -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)" \
    ECDHE-ECDSA-AES128-GCM-SHA256 "TLS 1.2 with AES128-GCM: accepted"
is "$(hello -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305)" \
    ECDHE-ECDSA-CHACHA20-POLY1305 "TLS 1.2 with ChaCha20-Poly1305: accepted"
is "$(hello -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384)" \
    TLS_AES_256_GCM_SHA384 "TLS 1.3: accepted"
is "$(state)" "$BEFORE" "after the handshakes the registry is as it was"

# --- Content-Type ------------------------------------------------------------------
devices_add "$OP" g1 d1 || bail_out "device d1"
device_key "$T/d1"
BEFORE=$(state)
GROUP='{"name":"g2"}'
for type in text/plain application/jsonx application/x-www-form-urlencoded \
    'application/json-seq; charset=utf-8' application/pkcs10; do
	API_TYPE=$type api POST /v1/groups "$OP" "$GROUP"
	is_error 415 unsupported_media_type "POST /v1/groups as $type"
done
STATUS=$(curl -sS --max-time 20 --cacert "$CACERT" -o "$T/body" -w '%{http_code}' \
    -H "Authorization: Bearer $OP" -H 'Content-Type:' --data-binary "$GROUP" \
    "$IOTAD_URL/v1/groups")
BODY=$(cat "$T/body")
is_error 415 unsupported_media_type "POST /v1/groups without a Content-Type"
API_TYPE=text/plain provision "$SECRET" g1 d1 "$T/d1.csr"
is_error 415 unsupported_media_type "POST /v1/provision as text/plain"
API_TYPE=application/x-www-form-urlencoded \
    api POST /v1/groups/g1/devices/d1/revoke "$OP" '{"reason":"keyCompromise"}'
is_error 415 unsupported_media_type "POST .../revoke as a form"
API_TYPE=application/json api POST /.well-known/est/simpleenroll "" \
    "$(ossl req -in "$T/d1.csr" -outform DER | base64)" --user "d1:$SECRET"
is_error 415 unsupported_media_type "EST simpleenroll as application/json"
is "$(printf '%s\n' "$BODY" | wc -l)" 1 "  one line"
is "$(state)" "$BEFORE" "after the refusals the registry is as it was"

API_TYPE='Application/JSON ; charset=utf-8' api POST /v1/groups "$OP" "$GROUP"
is_status 201 "POST /v1/groups as 'Application/JSON ; charset=utf-8'"
API_TYPE=text/plain api POST /v1/groups/g1/rotate-secret "$OP"
isnt "$STATUS" 415 "no body: the Content-Type does not matter"
done_testing
