#!/bin/bash
# iotactl ca issue: a server key and certificate (leaf then intermediate) that
# openssl accepts for TLS servers, with the names asked for and nothing else.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl

T=$T_TMP
CA=$T/ca
OUTD=$T/out
mkdir "$OUTD"

# The spec: "2 usage error (unknown verb/option, missing required option,
# bad option value like unknown --key-type or --profile)"; a malformed
# name or address given as an option value is one.
BADVAL=2
ca_init "$CA" || bail_out "ca init failed"

issue() {
	run "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$PASS" "$@"
}

issue --server-name broker.example --dns mqtt.example --ip 127.0.0.1 \
    --ip ::1 --ip 2001:db8::7 --out "$OUTD/srv"
is "$RC" 0 "issue: exit 0" || diag "$ERR"
is "$ERR" "" "issue: nothing on stderr"

# PREFIX.crt: leaf then intermediate
n=$(pem_split "$OUTD/srv.crt" "$T/part")
is "$n" 2 "srv.crt holds two certificates"
is "$(fingerprint_of "$T/part2.pem")" "$(fingerprint_of "$CA/intermediate.crt")" \
    "srv.crt: second is the intermediate"
LEAF=$T/part1.pem
like "$(subject_of "$LEAF")" '(^|,)CN=broker\.example(,|$)' "leaf CN=broker.example"
is "$(issuer_of "$LEAF")" "$(subject_of "$CA/intermediate.crt")" \
    "leaf issued by the intermediate"

# PREFIX.key: plain PKCS#8, 0600, P-256 by default, belongs to the leaf
is "$(file_mode "$OUTD/srv.key")" 600 "srv.key mode 0600"
ok "grep -q '^-----BEGIN PRIVATE KEY-----' '$OUTD/srv.key'" \
    "srv.key is plain PKCS#8"
ok "ossl pkey -in '$OUTD/srv.key' -noout -passin pass: </dev/null" \
    "openssl reads srv.key without a passphrase"
is "$(key_pubkey "$OUTD/srv.key")" "$(cert_pubkey "$LEAF")" \
    "srv.key belongs to the leaf"
like "$(cert_text "$LEAF")" 'NIST CURVE: P-256' \
    "default key type is P-256"

# openssl as judge
ok "verify_chain sslserver '$LEAF'" \
    "openssl verify -x509_strict -purpose sslserver"
ok "verify_chain sslserver '$OUTD/srv.crt'" \
    "openssl verify reads srv.crt (leaf first)"
for h in broker.example mqtt.example; do
	ok "ossl verify -x509_strict -purpose sslserver -verify_hostname $h \
	    -CAfile '$CA/root.crt' -untrusted '$CA/intermediate.crt' '$LEAF'" \
	    "valid for host $h"
done
for ip in 127.0.0.1 ::1 2001:db8::7; do
	ok "ossl verify -x509_strict -purpose sslserver -verify_ip $ip \
	    -CAfile '$CA/root.crt' -untrusted '$CA/intermediate.crt' '$LEAF'" \
	    "valid for IP $ip"
done
fails "ossl verify -purpose sslserver -verify_hostname other.example \
    -CAfile '$CA/root.crt' -untrusted '$CA/intermediate.crt' '$LEAF'" \
    "not valid for another host"

san=$(ext_value "$LEAF" subjectAltName)
for want in 'DNS:broker\.example' 'DNS:mqtt\.example' 'IP Address:127\.0\.0\.1' \
    'IP Address:0:0:0:0:0:0:0:1' 'IP Address:2001:DB8:0:0:0:0:0:7'; do
	like "$san" "(^|, )$want(,|\$)" "SAN has ${want//\\/}"
done
is "$(grep -o , <<<"$san" | wc -l)" 4 "SAN has exactly five entries"
like "$(ext_value "$LEAF" extendedKeyUsage)" 'TLS Web Server Authentication' \
    "EKU serverAuth"
unlike "$(ext_value "$LEAF" keyUsage)" 'Certificate Sign|CRL Sign' \
    "keyUsage has no CA bits"
unlike "$(ext_value "$LEAF" basicConstraints)" 'CA:TRUE' "not a CA"
is "$(aki_of "$LEAF")" "$(ski_of "$CA/intermediate.crt")" \
    "leaf AKI = intermediate SKI"
like "$(ski_of "$LEAF")" '^([0-9A-F]{2}:)+[0-9A-F]{2}$' "leaf has an SKI"
ok "[ $(enddate_of "$LEAF") -le $(enddate_of "$CA/intermediate.crt") ]" \
    "leaf notAfter <= intermediate notAfter"
day=86400
ok "valid_for '$LEAF' 397" \
    "default validity 397 days"
ok "[ -f '$CA/certs/$(serial_of "$LEAF")'.pem ]" \
    "recorded as certs/SERIAL.pem"

# --key-type, --days
issue --server-name ed.example --key-type ed25519 --days 10 --out "$OUTD/ed"
is "$RC" 0 "issue --key-type ed25519 --days 10: exit 0" || diag "$ERR"
like "$(cert_text "$OUTD/ed.crt")" 'Public Key Algorithm: ED25519' \
    "--key-type ed25519"
ok "valid_for '$OUTD/ed.crt' 10" \
    "--days 10"
ok "verify_chain sslserver '$OUTD/ed.crt'" "ed25519 server certificate verifies"

# A leaf never outlives its issuer: intermediate for 30 days, leaf default 397.
ca_init "$T/short" --intermediate-days 30
run "$IOTACTL" ca issue --dir "$T/short" --passphrase-file "$PASS" \
    --server-name clamp.example --out "$OUTD/clamp"
is "$RC" 0 "issue under a 30-day intermediate: exit 0" || diag "$ERR"
ok "[ $(enddate_of "$OUTD/clamp.crt" 2>/dev/null || echo 9999999999) -le \
    $(enddate_of "$T/short/intermediate.crt") ]" \
    "leaf notAfter clamped to the intermediate's"

# Refuses to overwrite, even when only one of the two files exists.
before=$(dir_manifest "$OUTD")
run_fail_nochange "$CA" 1 'exists|overwrite' "issue onto existing PREFIX" -- \
    "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$PASS" \
    --server-name broker.example --out "$OUTD/srv"
unchanged "$OUTD" "$before" "existing PREFIX.crt and PREFIX.key untouched"
mv "$OUTD/srv.crt" "$OUTD/srv.crt.saved"
before=$(dir_manifest "$OUTD")
run_fail_nochange "$CA" 1 'exists|overwrite' "issue onto existing PREFIX.key" -- \
    "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$PASS" \
    --server-name broker.example --out "$OUTD/srv"
unchanged "$OUTD" "$before" "existing PREFIX.key untouched, no PREFIX.crt"

# An --out that cannot be written: refused before anything is recorded.
run_fail_nochange "$CA" 1 'nonexistent' "issue --out into a missing directory" -- \
    "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$PASS" \
    --server-name ok.example --out "$T/nonexistent/srv"

# Bad names and addresses: usage errors, nothing written.
before=$(dir_manifest "$OUTD")
for ip in 999.1.1.1 1.2.3 10.0.0.1/8 fe80::zz localhost ''; do
	run_fail_nochange "$CA" "$BADVAL" 'ip|IP|address' "issue --ip '$ip'" -- \
	    "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$PASS" \
	    --server-name ok.example --ip "$ip" --out "$OUTD/bad"
done
for name in 'bad name' '-dash.example' 'a..b' 'x/y' 'semi;colon' ''; do
	run_fail_nochange "$CA" "$BADVAL" 'name' "issue --server-name '$name'" -- \
	    "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$PASS" \
	    --server-name "$name" --out "$OUTD/bad"
done
run_fail_nochange "$CA" "$BADVAL" 'name|dns|DNS' "issue --dns 'bad name'" -- \
    "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$PASS" \
    --server-name ok.example --dns 'bad name' --out "$OUTD/bad"
# One SAN too many, of either kind: a usage error that says the limit.
for kind in dns ip; do
	many=()
	for ((i = 0; i < 32; i++)); do
		[ "$kind" = dns ] && many+=(--dns "d$i.example") ||
		    many+=(--ip "10.0.0.$i")
	done
	run_fail_nochange "$CA" "$BADVAL" 'too many SANs \(at most 31\)' \
	    "issue with 32 --$kind" -- "$IOTACTL" ca issue --dir "$CA" \
	    --passphrase-file "$PASS" --server-name ok.example "${many[@]}" \
	    --out "$OUTD/bad"
done
run_fail_nochange "$CA" 2 'server-name' "issue without --server-name" -- \
    "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$PASS" --out "$OUTD/bad"
run_fail_nochange "$CA" 2 'out' "issue without --out" -- \
    "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$PASS" \
    --server-name ok.example
unchanged "$OUTD" "$before" "no PREFIX files written by refused requests"

done_testing
