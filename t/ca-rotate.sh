#!/bin/bash
# iotactl ca rotate: a new intermediate under the same root; the old one is
# archived and what it signed still verifies; the root key may live elsewhere.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl

T=$T_TMP
CA=$T/ca
ca_init "$CA" || bail_out "ca init failed"
mkcsr p256 "$T/dev" /CN=x || bail_out "openssl req failed"
ca_sign "$CA" "$T/dev.csr" before >"$T/before.crt" || bail_out "ca sign failed"

S1=$(serial_of "$CA/intermediate.crt")
cp "$CA/intermediate.crt" "$T/i1.crt"
cp "$CA/intermediate.key" "$T/i1.key"
ROOT_DER=$(fingerprint_of "$CA/root.crt")

# A failed rotation (wrong passphrase) changes nothing.
printf 'not the passphrase\n' >"$T/wrong"
run_fail_nochange "$CA" 1 'cannot decrypt .*root\.key: wrong passphrase\?' \
    "rotate with a wrong passphrase" -- \
    "$IOTACTL" ca rotate --dir "$CA" --passphrase-file "$T/wrong"

run "$IOTACTL" ca rotate --dir "$CA" --passphrase-file "$PASS"
is "$RC" 0 "rotate: exit 0" || diag "$ERR"
is "$ERR" "" "rotate: nothing on stderr"
S2=$(serial_of "$CA/intermediate.crt")
isnt "$S2" "$S1" "new intermediate has a new serial"
isnt "$(cert_pubkey "$CA/intermediate.crt")" "$(cert_pubkey "$T/i1.crt")" \
    "new intermediate has a new key"
is "$(key_pubkey "$CA/intermediate.key" "$PASS_TEXT")" \
    "$(cert_pubkey "$CA/intermediate.crt")" "intermediate.key matches the new certificate"
is "$(file_mode "$CA/intermediate.key")" 600 "new intermediate.key mode 0600"
ok "grep -q '^-----BEGIN ENCRYPTED PRIVATE KEY-----' '$CA/intermediate.key'" \
    "new intermediate.key encrypted"
like "$(subject_of "$CA/intermediate.crt")" '(^|,)CN=iota Intermediate CA 2(,|$)' \
    "subject says Intermediate CA 2"
like "$(ext_of "$CA/intermediate.crt" basicConstraints)" \
    'critical'$'\n'' *CA:TRUE, pathlen:0$' "new intermediate: CA:TRUE, pathlen:0"
is "$(aki_of "$CA/intermediate.crt")" "$(ski_of "$CA/root.crt")" \
    "new intermediate: AKI = root SKI"
ok "ossl verify -x509_strict -CAfile '$CA/root.crt' '$CA/intermediate.crt'" \
    "openssl verifies the new intermediate against the root"
is "$(fingerprint_of "$CA/root.crt")" "$ROOT_DER" "root.crt unchanged"
day=86400
ok "valid_for '$CA/intermediate.crt' 1825" \
    "default validity 1825 days"

# archive/
is "$(fingerprint_of "$CA/archive/$S1.crt" 2>/dev/null)" "$(fingerprint_of "$T/i1.crt")" \
    "archive/SERIAL.crt is the old intermediate"
ok "cmp -s '$CA/archive/$S1.key' '$T/i1.key'" "archive/SERIAL.key is the old key"
is "$(file_mode "$CA/archive/$S1.key" 2>/dev/null)" 600 "archived key mode 0600"

# ca-chain.pem rewritten
n=$(pem_split "$CA/ca-chain.pem" "$T/chain")
is "$n" 2 "ca-chain.pem holds two certificates"
is "$(fingerprint_of "$T/chain1.pem")" "$(fingerprint_of "$CA/intermediate.crt")" \
    "ca-chain.pem starts with the new intermediate"
is "$(fingerprint_of "$T/chain2.pem")" "$ROOT_DER" "ca-chain.pem ends with the root"

# Old leaves verify with the archived intermediate, not with the new one.
ok "verify_chain sslclient '$T/before.crt' '$CA/archive/$S1.crt'" \
    "a certificate signed before verifies with root + archived intermediate"
fails "verify_chain sslclient '$T/before.crt' '$CA/intermediate.crt'" \
    "... and not with the new intermediate alone"

# New leaves come from the new intermediate.
ca_sign "$CA" "$T/dev.csr" after >"$T/after.crt"
is "$(issuer_of "$T/after.crt")" "$(subject_of "$CA/intermediate.crt")" \
    "a new certificate is issued by the new intermediate"
is "$(aki_of "$T/after.crt")" "$(ski_of "$CA/intermediate.crt")" \
    "a new certificate: AKI = new intermediate SKI"
ok "verify_chain sslclient '$T/after.crt'" "a new certificate verifies"
fails "verify_chain sslclient '$T/after.crt' '$T/i1.crt'" \
    "... and not with the old intermediate"

like "$(iota ca show --dir "$CA" 2>&1)" "$S1" "show lists the archived intermediate"

# Root key moved off the machine; separate passphrases; --key-type, --days.
mkdir "$T/offline"
mv "$CA/root.key" "$T/offline/root.key"
printf 'a new intermediate passphrase\n' >"$T/ip"
run_fail_nochange "$CA" 1 'root\.key' "rotate without the root key" -- \
    "$IOTACTL" ca rotate --dir "$CA" --passphrase-file "$PASS"
run_fail_nochange "$CA" 1 'nosuch\.key' "rotate --root-key to a missing file" -- \
    "$IOTACTL" ca rotate --dir "$CA" --root-key "$T/offline/nosuch.key" \
    --passphrase-file "$PASS"
run "$IOTACTL" ca rotate --dir "$CA" --root-key "$T/offline/root.key" \
    --passphrase-file "$PASS" --intermediate-passphrase-file "$T/ip" \
    --key-type ec-p384 --days 100
is "$RC" 0 "rotate --root-key PATH --key-type ec-p384 --days 100: exit 0" ||
    diag "$ERR"
like "$(subject_of "$CA/intermediate.crt")" '(^|,)CN=iota Intermediate CA 3(,|$)' \
    "third intermediate says CA 3"
ok "[ -f '$CA/archive/$S2.crt' ] && [ -f '$CA/archive/$S1.crt' ]" \
    "both old intermediates archived"
ok "[ ! -e '$CA/root.key' ]" "no root.key written back into DIR"
like "$(cert_text "$CA/intermediate.crt")" 'NIST CURVE: P-384' \
    "--key-type ec-p384"
ok "valid_for '$CA/intermediate.crt' 100" \
    "--days 100"
ok "ossl pkey -in '$CA/intermediate.key' -passin 'pass:a new intermediate passphrase' -noout" \
    "new intermediate key uses --intermediate-passphrase-file"
ok "ossl verify -x509_strict -CAfile '$CA/root.crt' '$CA/intermediate.crt'" \
    "openssl verifies the third intermediate"
run "$IOTACTL" ca sign --dir "$CA" --csr "$T/dev.csr" --name third \
    --intermediate-passphrase-file "$T/ip"
is "$RC" 0 "sign with the third intermediate: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/third.crt"
ok "verify_chain sslclient '$T/third.crt'" "its certificate verifies"

done_testing
