#!/bin/bash
# Revocation that every relying party sees: a device certificate names
# iotad's CRL and OCSP responder; after `revoke` the served CRL lists it
# (openssl verify -crl_check says revoked), OCSP answers revoked (good for
# a live one, unknown for a serial never issued), `iotactl ca crl` lists it
# too (one index per issuer), the key is never certified again, and every
# bad request gets a clear answer.  openssl is the outside judge.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
CA=$D/ca
iotad_setup "$D" "revocation:
  port: 0"

# rev_start: iotad, and the plain-HTTP port it logged (REV_URL).
rev_start() {
	local off
	off=$(stat -c %s "$IOTAD_LOG" 2>/dev/null || echo 0)
	iotad_start || return 1
	REV_PORT=$(tail -c +"$((off + 1))" "$IOTAD_LOG" | sed -n \
	    's|.* revocation listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' |
	    head -1)
	REV_URL=http://127.0.0.1:$REV_PORT
	[ -n "$REV_PORT" ]
}
rev_start || bail_out "iotad did not start with a revocation listener"
INTER=$CA/intermediate.crt
ISSUER=$(serial_of "$INTER")

tenant_add acme OP || bail_out "tenant"
group_add "$OP" g1 SECRET || bail_out "group"
devices_add "$OP" g1 d1 d2 d3 || bail_out "devices"
for dev in d1 d2; do
	device_key "$T/$dev"
	provision "$SECRET" g1 "$dev" "$T/$dev.csr"
	[ "$STATUS" = 201 ] || bail_out "provision $dev: $STATUS $BODY"
	save_provisioned "$T/$dev"
done
S1=$(serial_of "$T/d1.crt")
S2=$(serial_of "$T/d2.crt")

# fetch URL FILE: plain HTTP, as a relying party fetches; sets STATUS.
fetch() {
	STATUS=$(curl -sS --max-time 20 -o "$2" -w '%{http_code}' "$1" 2>&1)
}

# crl_pem FILE: the CRL iotad serves now, as PEM in FILE.
crl_pem() {
	fetch "$REV_URL/crl/$ISSUER.crl" "$1.der" &&
	    ossl crl -inform DER -in "$1.der" -out "$1" 2>/dev/null
}

crl_verify() {
	ossl verify -x509_strict -crl_check -CAfile "$CACERT" \
	    -untrusted "$INTER" -CRLfile "$2" "$1" 2>&1
}

# ocsp CERT...: openssl's own client against iotad's responder (POST, a
# nonce it checks), the response verified against the root.
ocsp() {
	local args=() c
	for c in "$@"; do args+=(-cert "$c"); done
	ossl ocsp -issuer "$INTER" "${args[@]}" -url "$REV_URL/ocsp" \
	    -CAfile "$CACERT" -timeout 20 2>&1
}

crl_number() {
	printf '%d' "$(ossl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=//')"
}

# --- what a device certificate names ---------------------------------------------
text=$(ossl x509 -in "$T/d1.crt" -noout -text)
like "$text" "X509v3 CRL Distribution Points: *"$'\n'" *Full Name:"$'\n'" *URI:$REV_URL/crl/$ISSUER.crl" \
    "device certificate: a CRL distribution point at iotad's plain listener"
like "$text" "OCSP - URI:$REV_URL/ocsp" \
    "device certificate: an OCSP responder in its AIA"
like "$(sed -n 's/.*revocation: CRLs at \(.*\), OCSP at .*/\1/p' "$IOTAD_LOG")" \
    "^$REV_URL/crl/$ISSUER\\.crl\$" "iotad logs the URLs it puts into certificates"

# --- before any revocation ---------------------------------------------------------
crl_pem "$T/crl0.pem"
is "$STATUS" 200 "GET the CRL named in the certificate, no credential"
ok "[ -s '$T/crl0.pem' ]" "the CRL is DER that openssl reads"
like "$(ossl crl -in "$T/crl0.pem" -noout -CAfile "$D/ca/ca-chain.pem" 2>&1)" \
    'verify OK' "the CRL's signature verifies against the chain"
unlike "$(ossl crl -in "$T/crl0.pem" -noout -text)" "Serial Number: $S1" \
    "the CRL does not list d1 yet"
ok "crl_verify '$T/d1.crt' '$T/crl0.pem' | grep -q '^$T/d1.crt: OK'" \
    "openssl verify -crl_check: d1 OK"
out=$(ocsp "$T/d1.crt" "$T/d2.crt")
like "$out" 'Response verify OK' "OCSP: the answer verifies against the root"
like "$out" "$T/d1.crt: good" "OCSP: d1 good"
like "$out" "$T/d2.crt: good" "OCSP: d2 good"
unlike "$out" 'WARNING: no nonce' "OCSP: the nonce comes back"
fetch "$REV_URL/crl" "$T/crl-current.der"
is "$STATUS" 200 "GET /crl: the current issuer's CRL"

# --- revoke d1 ------------------------------------------------------------------------
api POST /v1/groups/g1/devices/d1/revoke "$OP" '{"reason":"keyCompromise"}'
is_status 200 "revoke d1 with reason keyCompromise"
crl_pem "$T/crl1.pem"
text=$(ossl crl -in "$T/crl1.pem" -noout -text)
like "$text" "Serial Number: $S1"$'\n'" *Revocation Date: [^"$'\n'"]*"$'\n'" *CRL entry extensions:"$'\n'" *X509v3 CRL Reason Code: *"$'\n'" *Key Compromise" \
    "the served CRL lists d1, reason Key Compromise, at once"
unlike "$text" "Serial Number: $S2" "the served CRL does not list d2"
like "$(crl_verify "$T/d1.crt" "$T/crl1.pem")" 'certificate revoked' \
    "openssl verify -crl_check: d1 revoked"
ok "crl_verify '$T/d2.crt' '$T/crl1.pem' | grep -q '^$T/d2.crt: OK'" \
    "openssl verify -crl_check: d2 still OK"
n0=$(crl_number "$T/crl0.pem")
n1=$(crl_number "$T/crl1.pem")
ok "[ $n1 -gt $n0 ]" "the re-signed CRL has a higher number ($n0, then $n1)"
out=$(ocsp "$T/d1.crt" "$T/d2.crt")
like "$out" "$T/d1.crt: revoked" "OCSP: d1 revoked"
like "$out" "Reason: keyCompromise" "OCSP: with its reason"
like "$out" "$T/d2.crt: good" "OCSP: d2 good"
out=$(ossl ocsp -issuer "$INTER" -serial 0x0123456789ABCDEF -url "$REV_URL/ocsp" \
    -CAfile "$CACERT" -timeout 20 2>&1)
like "$out" '0x0123456789ABCDEF: unknown' "OCSP: unknown for a serial never issued"

# The same question over GET, base64 in the path (RFC 6960 A.1), with '/'
# escaped as nginx sends it and raw as other clients do.
ossl ocsp -issuer "$INTER" -cert "$T/d1.crt" -no_nonce -reqout "$T/req.der" \
    2>/dev/null || bail_out "openssl ocsp -reqout"
b64=$(base64 -w0 <"$T/req.der")
esc=$(printf %s "$b64" | jq -sRr @uri)
fetch "$REV_URL/ocsp/$esc" "$T/get.der"
is "$STATUS" 200 "OCSP GET, base64 percent-encoded: 200"
like "$(ossl ocsp -respin "$T/get.der" -issuer "$INTER" -cert "$T/d1.crt" \
    -CAfile "$CACERT" 2>&1)" "$T/d1.crt: revoked" "OCSP GET: d1 revoked"
fetch "$REV_URL/ocsp/$b64" "$T/get-raw.der"
is "$STATUS" 200 "OCSP GET, base64 as it is ('/' unescaped): 200"
like "$(ossl ocsp -respin "$T/get-raw.der" -issuer "$INTER" -cert "$T/d1.crt" \
    -CAfile "$CACERT" 2>&1)" "$T/d1.crt: revoked" "OCSP GET, raw: d1 revoked"

# --- one ledger: iotactl ca and iotad agree ---------------------------------------------
run "$IOTACTL" ca crl --dir "$CA" --passphrase-file "$D/pass"
is "$RC" 0 "iotactl ca crl: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/ca-crl.pem"
like "$(ossl crl -in "$T/ca-crl.pem" -noout -text)" "Serial Number: $S1" \
    "iotactl ca crl lists the device certificate iotad revoked"
nc=$(crl_number "$T/ca-crl.pem")
ok "[ $nc -gt $n1 ]" "its CRL number follows iotad's ($n1, then $nc): one counter"
run "$IOTACTL" ca revoke --dir "$CA" "$S1"
like "$ERR" 'already revoked' "iotactl ca revoke of the device's serial: already revoked"
run "$IOTACTL" ca revoke --dir "$CA" "$S2"
isnt "$RC" 0 "iotactl ca revoke of a live device certificate: refused"
like "$ERR" 'iotactl revoke' "... pointing to iotactl revoke DEVICE -g GROUP"
like "$(iota ca show --dir "$CA")" 'device certificates' \
    "iotactl ca show says where device certificates are kept"

# A server certificate revoked with iotactl ca: iotad's CRL and OCSP see it.
run "$IOTACTL" ca issue --dir "$CA" --passphrase-file "$D/pass" \
    --server-name svc.example --out "$T/svc"
is "$RC" 0 "ca issue a server certificate" || diag "$ERR"
out=$(ocsp "$T/svc.crt")
like "$out" "$T/svc.crt: good" "OCSP: the server certificate is good"
run "$IOTACTL" ca revoke --dir "$CA" "$(serial_of "$T/svc.crt")" --reason superseded
is "$RC" 0 "iotactl ca revoke the server certificate" || diag "$ERR"
crl_pem "$T/crl2.pem"
text=$(ossl crl -in "$T/crl2.pem" -noout -text)
like "$text" "Serial Number: $(serial_of "$T/svc.crt")" \
    "iotad's CRL lists the server certificate iotactl ca revoked"
like "$text" "Serial Number: $S1" "... and still d1"
like "$(ocsp "$T/svc.crt")" "$T/svc.crt: revoked" "OCSP: the server certificate revoked"

# --- a revoked key is never certified again -----------------------------------------------
api POST /v1/groups/g1/devices/d1/enable "$OP"
is_status 200 "enable d1"
provision "$SECRET" g1 d1 "$T/d1.csr"
is_error 403 key_revoked "d1 provisions again with its revoked key"
provision "$SECRET" g1 d3 "$T/d1.csr"
is_error 403 key_revoked "another device provisions with d1's revoked key"
device_key "$T/d1b"
provision "$SECRET" g1 d1 "$T/d1b.csr"
is_status 201 "d1 provisions with a new key"
save_provisioned "$T/d1b"
out=$(ocsp "$T/d1.crt" "$T/d1b.crt")
like "$out" "$T/d1.crt: revoked" "OCSP: the old certificate stays revoked"
like "$out" "$T/d1b.crt: good" "OCSP: the new one is good"

# Enabling a provisioned device ends its certificate: superseded.
api POST /v1/groups/g1/devices/d2/enable "$OP"
is_status 200 "enable the provisioned d2"
like "$(ocsp "$T/d2.crt")" "Reason: superseded" "OCSP: d2's certificate revoked as superseded"

# --- iotactl revoke --reason -------------------------------------------------------------
device_key "$T/d3"
provision "$SECRET" g1 d3 "$T/d3.csr"
is_status 201 "d3 provisions"
save_provisioned "$T/d3"
run env IOTA_SERVER="$IOTAD_URL" IOTA_CA_FILE="$CACERT" IOTA_TOKEN="$OP" \
    "$IOTACTL" revoke d3 -g g1 --reason nosuch
is "$RC" 2 "iotactl revoke --reason nosuch: usage error, exit 2"
like "$ERR" 'not a reason' "... saying the reason is unknown"
like "$(ocsp "$T/d3.crt")" "$T/d3.crt: good" "... and d3 stays good"
run env IOTA_SERVER="$IOTAD_URL" IOTA_CA_FILE="$CACERT" IOTA_TOKEN="$OP" \
    "$IOTACTL" revoke d3 -g g1 --reason cessationOfOperation
is "$RC" 0 "iotactl revoke d3 -g g1 --reason cessationOfOperation" || diag "$ERR"
like "$(ocsp "$T/d3.crt")" "Reason: cessationOfOperation" \
    "OCSP: d3 revoked, for that reason"

# --- the index misses a revocation (iotad stopped in between): start-up fixes it -------
iotad_stop || bail_out "iotad_stop"
cp "$CA/index" "$T/index.full"
grep -v "^$S1	" "$CA/index" >"$T/index.cut" && cat "$T/index.cut" >"$CA/index"
unlike "$(cat "$CA/index")" "$S1" "the index has lost d1's line (as if iotad died before it)"
rev_start || bail_out "iotad did not restart"
like "$(cat "$CA/index")" "$S1" "after a start, iotad has put it back from the registry"
crl_pem "$T/crl3.pem"
like "$(ossl crl -in "$T/crl3.pem" -noout -text)" "Serial Number: $S1" \
    "the CRL lists d1 again"

# --- bad input -------------------------------------------------------------------------------
# ocsp_raw DATA-FILE [TYPE]: POST, the answer's status line from openssl.
ocsp_raw() {
	STATUS=$(curl -sS --max-time 20 -o "$T/raw.der" -w '%{http_code}' \
	    -H "Content-Type: ${2:-application/ocsp-request}" \
	    --data-binary "@$1" "$REV_URL/ocsp" 2>&1)
	RESP=$(ossl ocsp -respin "$T/raw.der" -resp_text -noverify 2>&1 | head -3)
}
head -c 300 /dev/urandom >"$T/garbage"
ocsp_raw "$T/garbage"
is "$STATUS" 200 "OCSP POST of garbage: an OCSP answer (200)"
like "$RESP" 'malformedrequest' "... saying malformedRequest"
head -c 60 "$T/req.der" >"$T/truncated"
ocsp_raw "$T/truncated"
like "$RESP" 'malformedrequest' "OCSP POST of a truncated request: malformedRequest"
{ cat "$T/req.der"; printf 'x'; } >"$T/trailing"
ocsp_raw "$T/trailing"
like "$RESP" 'malformedrequest' "OCSP POST with a byte after the request: malformedRequest"
ossl ocsp -issuer "$CACERT" -cert "$T/d2.crt" -reqout "$T/foreign.der" 2>/dev/null
ocsp_raw "$T/foreign.der"
like "$RESP" 'unauthorized' "OCSP for an issuer not iotad's (the root): unauthorized"
args=()
for i in $(seq 1 9); do args+=(-serial "0x$i"); done
ossl ocsp -issuer "$INTER" "${args[@]}" -reqout "$T/many.der" 2>/dev/null
ocsp_raw "$T/many.der"
like "$RESP" 'malformedrequest' "OCSP asking 9 certificates at once (8 at most): malformedRequest"
ocsp_raw "$T/req.der" application/json
is "$STATUS" 415 "OCSP POST with the wrong content type: 415"
head -c 5000 /dev/zero >"$T/big"
ocsp_raw "$T/big"
is "$STATUS" 413 "OCSP POST over 4 KiB: 413"
fetch "$REV_URL/ocsp/not*base64" "$T/bad-get.der"
like "$STATUS $(ossl ocsp -respin "$T/bad-get.der" -resp_text -noverify 2>&1 | head -3)" \
    '^200 .*malformedrequest' "OCSP GET of something not base64: malformedRequest"
fetch "$REV_URL/ocsp/QUJD" "$T/abc.der"
like "$(ossl ocsp -respin "$T/abc.der" -resp_text -noverify 2>&1 | head -3)" \
    'malformedrequest' "OCSP GET of base64 that is not a request: malformedRequest"
for p in /crl/1234.crl /crl/abc.crl /crl/$ISSUER /crl/$ISSUER.crl.x; do
	fetch "$REV_URL$p" "$T/bad.crl"
	is "$STATUS" 404 "GET $p: 404"
done
for p in /v1/health /v1/groups /auth/user; do
	fetch "$REV_URL$p" "$T/other"
	is "$STATUS" 404 "the plain listener serves nothing but CRLs and OCSP: $p 404"
done
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$REV_URL/crl" 2>&1)
is "$STATUS" 405 "DELETE /crl: 405"
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' "$REV_URL/v1%2Fhealth" 2>&1)
is "$STATUS" 400 "a %2F outside an OCSP GET: 400"
devices_add "$OP" g1 d4 || bail_out "device d4"
for body in '{"reason":"nosuch"}' '{"reason":"keyCompromise","x":1}' \
    '{"reason":"removeFromCRL"}' '{"reason":7}' '["keyCompromise"]' '{"reason":'; do
	api POST /v1/groups/g1/devices/d4/revoke "$OP" "$body"
	is_error 400 bad_request "revoke with the body $body"
done
api GET /v1/groups/g1/devices/d4 "$OP"
is "$(jf .state)" registered "after the refusals d4 is unchanged"
# Over HTTPS too, and without a credential.
STATUS=$(curl -sS --max-time 20 --cacert "$CACERT" -o "$T/https.crl" \
    -w '%{http_code}' "$IOTAD_URL/crl/$ISSUER.crl" 2>&1)
is "$STATUS" 200 "the CRL over HTTPS, without a credential"
cmp -s "$T/https.crl" "$T/crl3.pem.der"
is "$?" 0 "... the same CRL as on the plain listener"

# --- a flood from a few addresses: every answer signed, the API still up -------------------
ossl ocsp -issuer "$INTER" -cert "$T/d2.crt" -no_nonce -reqout "$T/d2req.der" \
    2>/dev/null
seq 1 200 | xargs -P 16 -I{} sh -c '
	src=127.0.0.$(( {} % 3 + 1 ))
	curl -sS --max-time 30 --interface $src -o "$1/flood.{}" -w "%{http_code}\n" \
	    -H "Content-Type: application/ocsp-request" --data-binary @"$1/d2req.der" "$2/ocsp"
' _ "$T" "$REV_URL" >"$T/flood.codes" 2>&1
is "$(sort "$T/flood.codes" | uniq -c | sed 's/^ *//')" "200 200" \
    "200 OCSP requests from 3 addresses, 16 at once: 200 answers of 200"
bad=0
for f in "$T"/flood.*; do
	[ "$f" = "$T/flood.codes" ] && continue
	out=$(ossl ocsp -respin "$f" -issuer "$INTER" -cert "$T/d2.crt" \
	    -no_nonce -CAfile "$CACERT" 2>&1)
	[[ $out == *"d2.crt: revoked"* ]] && continue
	[ "$bad" = 0 ] && diag "$f: $out"
	bad=$((bad + 1))
done
is "$bad" 0 "every flood answer verifies and says revoked"
api GET /v1/health ""
is_status 200 "the API answers after the flood"

done_testing
