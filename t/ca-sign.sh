#!/bin/bash
# iotactl ca sign: device (and server) certificates from CSRs made by openssl,
# in PEM and DER, for every allowed key type; identity comes from --name only.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl

T=$T_TMP
CA=$T/ca

# The spec: "2 usage error (unknown verb/option, missing required option,
# bad option value like unknown --key-type or --profile)"; a malformed
# name or address given as an option value is one.
BADVAL=2
ca_init "$CA" || bail_out "ca init failed"

# issued_count: the number of issued certificates `ca show` reports.
issued_count() {
	iota ca show --dir "$CA" 2>/dev/null |
	    sed -n 's/^.*[Ii]ssued[^0-9]*\([0-9][0-9]*\).*$/\1/p' | head -1
}

# check_device CERT CSR NAME LABEL
check_device() {
	local c=$1 csr=$2 name=$3 l=$4
	ok "verify_chain sslclient '$c'" \
	    "$l: openssl verify -x509_strict -purpose sslclient"
	is "$(subject_of "$c")" "CN=$name" "$l: subject is CN=$name only"
	is "$(ext_value "$c" subjectAltName)" "URI:urn:iota:device:$name" \
	    "$l: SAN is URI:urn:iota:device:$name only"
	is "$(cert_pubkey "$c")" "$(csr_pubkey "$csr")" \
	    "$l: certificate key is the CSR's"
}

# One of each allowed key type, PEM and DER.
n0=$(issued_count)
i=0
for kt in p256 p384 ed25519 rsa2048; do
	mkcsr "$kt" "$T/$kt" "/CN=from-csr-$kt/O=Ignored" ||
	    bail_out "openssl req $kt failed"
	ossl req -in "$T/$kt.csr" -outform DER -out "$T/$kt.der"
	for fmt in csr der; do
		name=dev-$kt-$fmt
		run "$IOTACTL" ca sign --dir "$CA" --csr "$T/$kt.$fmt" \
		    --name "$name" --passphrase-file "$PASS"
		is "$RC" 0 "sign $kt ${fmt/csr/pem}: exit 0" || diag "$ERR"
		printf '%s\n' "$OUT" >"$T/$name.crt"
		check_device "$T/$name.crt" "$T/$kt.csr" "$name" \
		    "$kt ${fmt/csr/pem}"
		i=$((i + 1))
	done
done

# The full device profile, on the P-256 one.
C=$T/dev-p256-csr.crt
is "$(grep -c 'BEGIN CERTIFICATE' "$C")" 1 "stdout holds one certificate"
is "$(issuer_of "$C")" "$(subject_of "$CA/intermediate.crt")" \
    "issued by the intermediate"
is "$(aki_of "$C")" "$(ski_of "$CA/intermediate.crt")" "AKI = intermediate SKI"
like "$(ski_of "$C")" '^([0-9A-F]{2}:)+[0-9A-F]{2}$' "has an SKI"
is "$(ext_value "$C" extendedKeyUsage)" 'TLS Web Client Authentication' \
    "EKU clientAuth only"
like "$(ext_value "$C" keyUsage)" '(^|, )Digital Signature(,|$)' \
    "keyUsage digitalSignature"
unlike "$(ext_value "$C" keyUsage)" 'Certificate Sign|CRL Sign' \
    "keyUsage has no CA bits"
unlike "$(ext_value "$C" basicConstraints)" 'CA:TRUE' "not a CA"
fails "verify_chain sslserver '$C'" "a device certificate is not a TLS server"
day=86400
ok "valid_for '$C' 365" \
    "default validity 365 days"

# Recorded: certs/SERIAL.pem holds the same certificate; show counts it.
s=$(serial_of "$C")
ok "[ -f '$CA/certs/$s.pem' ]" "recorded as certs/$s.pem"
is "$(fingerprint_of "$CA/certs/$s.pem" 2>/dev/null)" "$(fingerprint_of "$C")" \
    "certs/SERIAL.pem is the certificate printed"
like "$n0" '^[0-9]+$' "show reports an issued count ($n0)"
is "$(issued_count)" "$((n0 + i))" "show counts the $i certificates signed"

# A CSR asking for more gets a plain device leaf.
mkcsr p256 "$T/greedy" "/CN=admin/O=Evil Corp" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:5" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth,clientAuth,codeSigning" \
    -addext "subjectAltName=DNS:evil.example,IP:10.0.0.1,URI:urn:iota:device:admin,email:a@evil.example" ||
    bail_out "openssl req with extensions failed"
like "$(ossl req -in "$T/greedy.csr" -noout -text)" 'CA:TRUE' \
    "the greedy CSR really asks for CA:TRUE"
ca_sign "$CA" "$T/greedy.csr" meek-1 >"$T/greedy.crt"
check_device "$T/greedy.crt" "$T/greedy.csr" meek-1 "greedy CSR"
unlike "$(ext_value "$T/greedy.crt" basicConstraints)" 'CA:TRUE' \
    "greedy CSR: no CA:TRUE"
unlike "$(cert_text "$T/greedy.crt")" \
    'evil|10\.0\.0\.1|admin|Code Signing|TLS Web Server|Certificate Sign' \
    "greedy CSR: none of the requested names, usages or bits"
# and openssl agrees it cannot act as a CA
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/sub.key" -subj /CN=sub -out "$T/sub.csr" 2>/dev/null
ossl x509 -req -in "$T/sub.csr" -CA "$T/greedy.crt" -CAkey "$T/greedy.key" \
    -CAcreateserial -out "$T/sub.crt" -days 1 2>/dev/null
cat "$CA/intermediate.crt" "$T/greedy.crt" >"$T/untrusted.pem"
fails "ossl verify -CAfile '$CA/root.crt' -untrusted '$T/untrusted.pem' '$T/sub.crt'" \
    "a certificate signed by the device key does not verify"

# Serials: unique, positive, at least 64 bits, at most 20 octets.
serials=
for i in $(seq 1 20); do
	ca_sign "$CA" "$T/p256.csr" "serial-$i" >"$T/s.crt" 2>/dev/null
	serials="$serials$(serial_of "$T/s.crt")"$'\n'
done
is "$(printf %s "$serials" | grep -c .)" 20 "20 signings gave 20 serials"
is "$(printf %s "$serials" | sort -u | grep -c .)" 20 "the 20 serials are unique"
short=$(printf %s "$serials" | awk '
    { s = $0; sub(/^0+/, "", s) }
    length(s) < 16 || (length(s) == 16 && s ~ /^[0-7]/) || length(s) > 40 ||
    s !~ /^[0-9A-F]+$/ { print }')
is "$short" "" "every serial positive, >= 64 bits, <= 20 octets"

# Concurrent signings (the .lock): every one recorded, none lost.
n0=$(issued_count)
pids=
for i in 1 2 3 4 5 6 7 8; do
	ca_sign "$CA" "$T/p256.csr" "par-$i" >"$T/par-$i.crt" 2>"$T/par-$i.err" &
	pids="$pids $!"
done
failed=0
for p in $pids; do wait "$p" || failed=$((failed + 1)); done
is "$failed" 0 "8 concurrent signings all succeed" || diag "$(cat "$T"/par-*.err)"
is "$(issued_count)" "$((n0 + 8))" "show counts all 8"
missing=
for i in 1 2 3 4 5 6 7 8; do
	s=$(serial_of "$T/par-$i.crt")
	[ -n "$s" ] && same_cert "$CA/certs/$s.pem" "$T/par-$i.crt" || missing="$missing par-$i"
done
is "$missing" "" "each concurrent certificate is in certs/"

# One SAN too many: a usage error that says the limit, nothing signed.
many=()
for ((i = 0; i < 32; i++)); do many+=(--dns "d$i.example"); done
run_fail_nochange "$CA" "$BADVAL" 'too many SANs \(at most 31\)' \
    "sign with 32 --dns" -- "$IOTACTL" ca sign --dir "$CA" \
    --csr "$T/p256.csr" --profile server --name srv.example "${many[@]}" \
    --passphrase-file "$PASS"

# --profile server
run "$IOTACTL" ca sign --dir "$CA" --csr "$T/p256.csr" --profile server \
    --name srv.example --dns alt.example --ip 127.0.0.1 --ip ::1 \
    --passphrase-file "$PASS"
is "$RC" 0 "sign --profile server: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/srv.crt"
ok "verify_chain sslserver '$T/srv.crt'" \
    "server profile: openssl verify -purpose sslserver"
ok "ossl verify -x509_strict -purpose sslserver -verify_hostname alt.example \
    -verify_ip ::1 -CAfile '$CA/root.crt' -untrusted '$CA/intermediate.crt' \
    '$T/srv.crt'" "server profile: valid for alt.example and ::1"
is "$(subject_of "$T/srv.crt")" "CN=srv.example" "server profile: CN=NAME"
san=$(ext_value "$T/srv.crt" subjectAltName)
like "$san" '(^|, )DNS:srv\.example(,|$)' "server profile: SAN DNS:NAME"
like "$san" '(^|, )DNS:alt\.example(,|$)' "server profile: SAN --dns"
like "$san" '(^|, )IP Address:127\.0\.0\.1(,|$)' "server profile: SAN --ip"
unlike "$san" 'URI:' "server profile: no device URI"
like "$(ext_value "$T/srv.crt" extendedKeyUsage)" 'TLS Web Server Authentication' \
    "server profile: EKU serverAuth"

# --days
ca_sign "$CA" "$T/p256.csr" short-lived --days 10 >"$T/days.crt"
ok "valid_for '$T/days.crt' 10" "--days 10"

# A device name that is not a safe name is refused.
for name in 'a b' '../etc' 'x/y' 'semi;colon' ''; do
	run_fail_nochange "$CA" "$BADVAL" 'name' "sign --name '$name'" -- \
	    "$IOTACTL" ca sign --dir "$CA" --csr "$T/p256.csr" --name "$name" \
	    --passphrase-file "$PASS"
done

done_testing
