#!/bin/bash
# EST (RFC 7030) the way the RFC describes it, with curl and openssl as the
# client: cacerts read by openssl pkcs7, csrattrs by asn1parse,
# simpleenroll with HTTP Basic (device name, provisioning secret) and a
# base64 PKCS#10, under a label naming the group and without one,
# simplereenroll over mutual TLS.  Wrong credentials, bodies and content
# types are refused and change nothing; a flood of wrong passwords locks out.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
CA=$D/ca
iotad_setup "$D"
iotad_start || bail_out "iotad did not start"
EST=/.well-known/est

tenant_add acme OP || bail_out "tenant"
group_add "$OP" g1 SECRET || bail_out "group g1"
group_add "$OP" g2 SECRET2 || bail_out "group g2"
devices_add "$OP" g1 d1 d2 d3 || bail_out "devices"

# est METHOD PATH [curl args...]: STATUS, the body in T/est.body, HEADERS.
est() {
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -sS --max-time 20 --cacert "$CACERT" -X "$method" \
	    -o "$T/est.body" -D "$T/est.head" -w '%{http_code}' "$@" \
	    "$IOTAD_URL$path" 2>"$T/est.err")
	[ -n "$STATUS" ] || STATUS=000
	HEADERS=$(tr -d '\r' <"$T/est.head")
}

# csr_b64 PREFIX: a new key and its CSR as base64 DER, in T/PREFIX.b64.
csr_b64() {
	device_key "$T/$1"
	ossl req -in "$T/$1.csr" -outform DER | base64 >"$T/$1.b64"
}

enroll() {	# PATH USER:PASSWORD FILE [curl args...]
	local path=$1 user=$2 file=$3
	shift 3
	est POST "$path" --user "$user" \
	    -H "Content-Type: ${EST_TYPE:-application/pkcs10}" \
	    --data-binary "@$file" "$@"
}

# certs_of: the certificates of a base64 certs-only answer, as text.
certs_of() {
	base64 -d <"$T/est.body" | ossl pkcs7 -inform DER -print_certs 2>&1
}

verify() {
	ossl verify -x509_strict -CAfile "$CACERT" -untrusted "$CA/intermediate.crt" \
	    -purpose sslclient "$1" 2>&1
}

# --- cacerts, csrattrs ---------------------------------------------------------------
est GET "$EST/cacerts"
is "$STATUS" 200 "cacerts, no credential: 200"
like "$(header Content-Type)" '^application/pkcs7-mime' "cacerts: application/pkcs7-mime"
is "$(header Content-Transfer-Encoding)" base64 "cacerts: base64 transfer encoding"
text=$(certs_of)
like "$text" "subject=.*CN *= *iota Intermediate CA 1" "openssl pkcs7 -print_certs: the intermediate"
like "$text" "subject=.*CN *= *iota Root CA" "... and the root"
est GET "$EST/g1/cacerts"
is "$STATUS" 200 "cacerts under a label: 200"
est GET "$EST/csrattrs"
is "$STATUS" 200 "csrattrs: 200"
like "$(header Content-Type)" '^application/csrattrs' "csrattrs: application/csrattrs"
attrs=$(base64 -d <"$T/est.body" | ossl asn1parse -inform DER 2>&1)
like "$attrs" 'ecdsa-with-SHA256' "csrattrs asks for ecdsa-with-SHA256"
like "$attrs" 'prime256v1' "... and a P-256 key"

# --- simpleenroll with HTTP Basic ---------------------------------------------------------
csr_b64 d1
enroll "$EST/simpleenroll" "d1:$SECRET" "$T/d1.b64"
is "$STATUS" 200 "simpleenroll, Basic d1:secret, base64 PKCS#10: 200"
like "$(header Content-Type)" '^application/pkcs7-mime' "... application/pkcs7-mime"
certs_of >"$T/d1.crt"
like "$(verify "$T/d1.crt")" ': OK$' "the enrolled certificate verifies"
like "$(subject_of "$T/d1.crt")" '^CN=d1,OU=g1,O=acme$' "... and names d1 of g1"
api GET /v1/groups/g1/devices/d1 "$OP"
is "$(jf .state)" provisioned "d1 is provisioned"
is "$(jf .serial)" "$(serial_of "$T/d1.crt")" "... with that certificate"
enroll "$EST/simpleenroll" "d1:$SECRET" "$T/d1.b64"
is "$STATUS" 200 "the same request again (a lost answer): 200"
certs_of >"$T/d1-again.crt"
is "$(serial_of "$T/d1-again.crt")" "$(serial_of "$T/d1.crt")" "... the same certificate"
csr_b64 d2
enroll "$EST/g1/simpleenroll" "d2:$SECRET" "$T/d2.b64"
is "$STATUS" 200 "simpleenroll under the label g1: 200"
certs_of >"$T/d2.crt"
like "$(subject_of "$T/d2.crt")" '^CN=d2,OU=g1' "... d2 of g1"

# --- simplereenroll, and simpleenroll with a certificate --------------------------------------
csr_b64 r1
est POST "$EST/simplereenroll" --cert "$T/d1.crt" --key "$T/d1.key" \
    -H 'Content-Type: application/pkcs10' --data-binary "@$T/r1.b64"
is "$STATUS" 200 "simplereenroll over mutual TLS: 200"
certs_of >"$T/r1.crt"
like "$(verify "$T/r1.crt")" ': OK$' "the re-enrolled certificate verifies"
is "$(subject_of "$T/r1.crt")" "$(subject_of "$T/d1.crt")" "... the same subject"
isnt "$(serial_of "$T/r1.crt")" "$(serial_of "$T/d1.crt")" "... a new serial"
csr_b64 r2
est POST "$EST/g1/simpleenroll" --cert "$T/r1.crt" --key "$T/r1.key" \
    -H 'Content-Type: application/pkcs10' --data-binary "@$T/r2.b64"
is "$STATUS" 200 "simpleenroll with the device's certificate, no Basic: 200"
certs_of >"$T/r2.crt"
est POST "$EST/g2/simpleenroll" --cert "$T/r2.crt" --key "$T/r2.key" \
    -H 'Content-Type: application/pkcs10' --data-binary "@$T/r2.b64"
is "$STATUS" 403 "... under the label of another group: 403"
est POST "$EST/simplereenroll" -H 'Content-Type: application/pkcs10' \
    --data-binary "@$T/r2.b64"
is "$STATUS" 401 "simplereenroll without a certificate: 401"
est POST "$EST/simplereenroll" --user "d1:$SECRET" \
    -H 'Content-Type: application/pkcs10' --data-binary "@$T/r2.b64"
is "$STATUS" 401 "simplereenroll with Basic only (a caller of the wrong class): 401"

# --- refusals that change nothing --------------------------------------------------------------
csr_b64 d3
api GET /v1/groups/g1/devices/d3 "$OP"
before=$BODY
enroll "$EST/simpleenroll" "d3:wrong" "$T/d3.b64"
is "$STATUS" 401 "a wrong password: 401"
like "$(header WWW-Authenticate)" '^Basic realm=' "... asking for Basic"
est POST "$EST/simpleenroll" -H 'Content-Type: application/pkcs10' --data-binary "@$T/d3.b64"
is "$STATUS" 401 "no credential: 401"
enroll "$EST/simpleenroll" "nosuch:$SECRET" "$T/d3.b64"
is "$STATUS" 403 "a device not registered: 403"
enroll "$EST/g2/simpleenroll" "d3:$SECRET" "$T/d3.b64"
is "$STATUS" 401 "a label naming another group than the secret's: 401"
EST_TYPE=application/json enroll "$EST/simpleenroll" "d3:$SECRET" "$T/d3.b64"
is "$STATUS" 415 "the wrong content type: 415"
printf 'this is not base64!\n' >"$T/junk"
enroll "$EST/simpleenroll" "d3:$SECRET" "$T/junk"
is "$STATUS" 400 "a body that is not base64: 400"
ossl req -in "$T/d3.csr" -outform DER | head -c 100 | base64 >"$T/cut.b64"
enroll "$EST/simpleenroll" "d3:$SECRET" "$T/cut.b64"
is "$STATUS" 400 "a truncated PKCS#10: 400"
enroll "$EST/simpleenroll" "d3:$SECRET" "$T/d3.csr"
is "$STATUS" 400 "a PEM CSR instead of base64 DER: 400"
head -c 40000 /dev/zero | base64 >"$T/big.b64"
enroll "$EST/simpleenroll" "d3:$SECRET" "$T/big.b64"
is "$STATUS" 413 "an oversized body: 413"
api GET /v1/groups/g1/devices/d3 "$OP"
is "$BODY" "$before" "after the refusals d3 is as it was"

# --- a flood of wrong passwords from one address ---------------------------------------------
codes=
for i in $(seq 1 14); do
	enroll "$EST/simpleenroll" "d3:PSwrong.$i" "$T/d3.b64" --interface 127.0.0.9
	codes+="$STATUS "
done
like "$codes" '429' "wrong Basic passwords from one address end in 429 ($codes)"
enroll "$EST/simpleenroll" "d3:$SECRET" "$T/d3.b64"
is "$STATUS" 200 "another address still enrolls"

done_testing
