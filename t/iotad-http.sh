#!/bin/bash
# What iotad's HTTPS layer refuses before any handler runs, each refusal
# leaving the registry as it was: TLS 1.2 without an AEAD suite.
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

is "$(state)" "$BEFORE" "the registry is as it was"
done_testing
