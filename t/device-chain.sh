#!/bin/bash
# The device checks the chain it is given: provision and renew write the
# certificate and ca-chain.pem only if the certificate verifies with that
# chain up to the root the device trusts (--root, default --ca-file), for
# TLS client use.  Here the TLS connection to iotad still verifies with
# the real root, while --root names another CA: refused in one line, exit
# 7, and no certificate, chain or broker.json written.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

unset IOTA_SERVER IOTA_CA_FILE IOTA_TOKEN IOTA_TOKEN_FILE \
    IOTA_PROVISION_SECRET IOTA_PROVISION_SECRET_FILE
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

T=$T_TMP
D=$T/iotad
iotad_setup "$D"
iotad_start || bail_out "iotad did not start"
tenant_add acme OP || bail_out "tenant"
group_add "$OP" g1 SECRET || bail_out "group"
devices_add "$OP" g1 d1 || bail_out "devices"
(umask 077 && printf '%s\n' "$SECRET" >"$T/g1.secret")

# Another root, with the same subject as iotad's, so that only the key and
# signature tell them apart.
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/other.key" -out "$T/other.crt" -days 30 \
    -subj "$(ossl x509 -in "$CACERT" -noout -subject -nameopt RFC2253 |
    sed 's/^subject=/\//; s/,/\//g')" >/dev/null 2>&1 ||
    bail_out "openssl req: no other root"

P=$T/dev
PROV=("$IOTACTL" provision d1 -g g1 --out "$P" --provision-secret-file
    "$T/g1.secret" --server "$IOTAD_URL" --ca-file "$CACERT")

# --- "${PROV[@]}"ision -----------------------------------------------------------------
run "${PROV[@]}" --root "$T/other.crt"
is "$RC" 7 "provision --root OTHER: exit 7"
like "$ERR" '^iotactl: the server.s certificate does not chain to the root .*other\.crt: .*; nothing written$' \
    "  one line: does not chain to that root"
is "$(grep -c . <<<"$ERR")" 1 "  one line on stderr"
is "$(cd "$P" && ls -A | tr '\n' ' ')" "d1.key " \
    "  only the key (for a retry): no certificate, chain or broker.json"
run_fail_nochange "$P" 7 'does not chain to the root' \
    "provision --root OTHER again (the retry with that key)" -- "${PROV[@]}" --root "$T/other.crt"
# The chain alone is no anchor: a --root holding only the intermediate
# (not self-signed, so not trusted by itself) is not enough either.
run_fail_nochange "$P" 7 'does not chain to the root' \
    "provision --root INTERMEDIATE-ONLY" -- "${PROV[@]}" --root "$D/ca/intermediate.crt"

# Control: the default root (--ca-file) is the right one.
run "${PROV[@]}"
is "$RC:$ERR" "0:" "provision with the default root (--ca-file): exit 0"
is "$(cd "$P" && ls -A | tr '\n' ' ')" "ca-chain.pem d1.crt d1.key " \
    "  the certificate and chain written"

# --- renew ---------------------------------------------------------------------
RENEW=("$IOTACTL" renew --cert "$P/d1.crt" --key "$P/d1.key"
    --server "$IOTAD_URL" --ca-file "$CACERT")
# A refused answer is like a lost one: the retry with the same key and the
# right root gets the certificate iotad issued.
SERIAL=$(serial_of "$P/d1.crt")
run "${RENEW[@]}" --root "$T/other.crt"
is "$RC" 7 "renew --root OTHER with a new key: exit 7"
like "$ERR" '^iotactl: the server.s certificate does not chain to the root .*other\.crt: .*; nothing written$' \
    "  one line: does not chain to that root"
is "$(cd "$P" && ls -A | tr '\n' ' ')" "ca-chain.pem d1.crt d1.key d1.key.new " \
    "  only the pending key added (for a retry)"
is "$(serial_of "$P/d1.crt")" "$SERIAL" "  d1.crt unchanged"
run "${RENEW[@]}"
is "$RC:$ERR" "0:" "the retry with the default root: exit 0"
isnt "$(serial_of "$P/d1.crt")" "$SERIAL" "  a new certificate written"
SERIAL=$(serial_of "$P/d1.crt")
run_fail_nochange "$P" 7 '^iotactl: the server.s certificate does not chain to the root .*other\.crt: .*; nothing written$' \
    "renew --same-key --root OTHER" -- "${RENEW[@]}" --same-key --root "$T/other.crt"
run "${RENEW[@]}" --same-key --root "$CACERT"
is "$RC:$ERR" "0:" "the retry with --root REAL: exit 0"
isnt "$(serial_of "$P/d1.crt")" "$SERIAL" "  a new certificate written"
ok "ossl verify -x509_strict -purpose sslclient -CAfile '$CACERT' -untrusted '$P/ca-chain.pem' '$P/d1.crt' >/dev/null" \
    "  it verifies with the chain to the real root"

done_testing
