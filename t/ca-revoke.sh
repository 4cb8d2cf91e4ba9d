#!/bin/bash
# iotactl ca revoke and ca crl: revocations recorded without a key, CRLs that
# openssl accepts and that make it reject exactly the revoked certificates.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl

T=$T_TMP
CA=$T/ca
ca_init "$CA" || bail_out "ca init failed"
mkcsr p256 "$T/dev" /CN=x || bail_out "openssl req failed"
for c in a b c; do
	ca_sign "$CA" "$T/dev.csr" "dev-$c" >"$T/$c.crt" ||
	    bail_out "ca sign dev-$c failed"
done
SA=$(serial_of "$T/a.crt")
SC=$(serial_of "$T/c.crt")

revoked_count() {
	iota ca show --dir "$CA" 2>/dev/null |
	    sed -n 's/^.*[Rr]evoked[^0-9]*\([0-9][0-9]*\).*$/\1/p' | head -1
}

# crl_verify CERT CRL [INTERMEDIATE]: openssl verify with -crl_check.
crl_verify() {
	ossl verify -x509_strict -crl_check -CAfile "$CA/root.crt" \
	    -untrusted "${3:-$CA/intermediate.crt}" -CRLfile "$2" "$1" 2>&1
}

crl_number() {
	printf '%d' "$(ossl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=//')"
}

date_of() { date -u -d "$1" +%s; }

r0=$(revoked_count)

# Revoke a by its serial as printed by openssl; c with colons, lower case,
# and a reason. No passphrase anywhere: revoke needs no key.
run "$IOTACTL" ca revoke --dir "$CA" "$SA"
is "$RC" 0 "revoke SERIAL (no passphrase): exit 0" || diag "$ERR"
colons=$(printf %s "$SC" | tr A-F a-f | sed 's/../&:/g; s/:$//')
run "$IOTACTL" ca revoke --dir "$CA" "$colons" --reason keyCompromise
is "$RC" 0 "revoke with colons, lower case, --reason keyCompromise: exit 0" ||
    diag "$ERR"
like "$r0" '^[0-9]+$' "show reports a revoked count ($r0)"
is "$(revoked_count)" "$((r0 + 2))" "show counts two more revoked"

# CRL from the intermediate
run "$IOTACTL" ca crl --dir "$CA" --passphrase-file "$PASS"
is "$RC" 0 "crl: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/crl1.pem"
text=$(ossl crl -in "$T/crl1.pem" -noout -text 2>&1)
like "$text" 'Version 2 \(0x1\)' "CRL v2"
like "$(ossl crl -in "$T/crl1.pem" -noout -CAfile "$CA/ca-chain.pem" 2>&1)" \
    'verify OK' "CRL signature verifies against the chain"
is "$(ossl crl -in "$T/crl1.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" \
    "$(subject_of "$CA/intermediate.crt")" "CRL issuer is the intermediate"
like "$text" "Authority Key Identifier: *"$'\n'" *(keyid:)?$(ski_of "$CA/intermediate.crt")" \
    "CRL AKI = intermediate SKI"
like "$text" 'X509v3 CRL Number' "CRL has a CRL number"
like "$text" 'Next Update: [A-Z]' "CRL has Next Update"
like "$text" "Serial Number: $SA" "CRL lists a"
like "$text" "Serial Number: $SC"$'\n'" *Revocation Date: [^"$'\n'"]*"$'\n'" *CRL entry extensions:"$'\n'" *X509v3 CRL Reason Code: *"$'\n'" *Key Compromise" \
    "CRL lists c with reason Key Compromise"
unlike "$text" "Serial Number: $(serial_of "$T/b.crt")" "CRL does not list b"
now=$(date -u +%s)
next=$(date_of "$(ossl crl -in "$T/crl1.pem" -noout -nextupdate | sed 's/^.*=//')")
ok "[ $next -gt $((now + 6 * 86400)) ] && [ $next -le $((now + 7 * 86400 + 60)) ]" \
    "Next Update is 7 days ahead by default"

like "$(crl_verify "$T/a.crt" "$T/crl1.pem")" 'certificate revoked' \
    "openssl verify -crl_check: a is revoked"
like "$(crl_verify "$T/c.crt" "$T/crl1.pem")" 'certificate revoked' \
    "openssl verify -crl_check: c is revoked"
ok "crl_verify '$T/b.crt' '$T/crl1.pem'" \
    "openssl verify -crl_check: b still verifies"

# Every reason of the spec reaches the CRL as openssl names it.
declare -A reason_text=(
	[cACompromise]='CA Compromise' [affiliationChanged]='Affiliation Changed'
	[superseded]='Superseded' [cessationOfOperation]='Cessation Of Operation'
	[certificateHold]='Certificate Hold' [unspecified]=''
)
for r in "${!reason_text[@]}"; do
	ca_sign "$CA" "$T/dev.csr" "reason-$r" >"$T/reason-$r.crt"
	run "$IOTACTL" ca revoke --dir "$CA" "$(serial_of "$T/reason-$r.crt")" --reason "$r"
	is "$RC" 0 "revoke --reason $r: exit 0" || diag "$ERR"
done
crl=$(iota ca crl --dir "$CA" --passphrase-file "$PASS" | ossl crl -noout -text 2>&1)
for r in "${!reason_text[@]}"; do
	s=$(serial_of "$T/reason-$r.crt")
	entry=$(printf '%s\n' "$crl" | awk -v s="Serial Number: $s" '
	    index($0, s) { p = 1; print; next }
	    p && /Serial Number:|Signature Algorithm/ { exit }
	    p { print }')
	like "$entry" "Serial Number: $s" "CRL lists the certificate revoked for $r"
	if [ -n "${reason_text[$r]}" ]; then
		like "$entry" "Reason Code: *"$'\n'" *${reason_text[$r]}\$" \
		    "CRL gives reason ${reason_text[$r]}"
	else
		unlike "$entry" "Reason Code: *"$'\n'" *[A-Z]([^U]|\$)" \
		    "CRL: unspecified gives no other reason"
	fi
done

# A second CRL: higher number, --days
run "$IOTACTL" ca crl --dir "$CA" --passphrase-file "$PASS" --days 3
is "$RC" 0 "crl --days 3: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/crl2.pem"
n1=$(crl_number "$T/crl1.pem")
n2=$(crl_number "$T/crl2.pem")
ok "[ '$n2' -gt '$n1' ]" "CRL number increases ($n1 then $n2)"
next=$(date_of "$(ossl crl -in "$T/crl2.pem" -noout -nextupdate | sed 's/^.*=//')")
ok "[ $next -gt $((now + 2 * 86400)) ] && [ $next -le $((now + 3 * 86400 + 60)) ]" \
    "--days 3: Next Update 3 days ahead"

# Errors: clear, and the directory untouched.
run_fail_nochange "$CA" 1 "serial 0*ABCDEF0123456789 was never issued by this CA.s .iotactl ca.; a device certificate is revoked through iotad: iotactl revoke DEVICE -g GROUP" \
    "revoke an unknown serial" -- \
    "$IOTACTL" ca revoke --dir "$CA" ABCDEF0123456789
run_fail_nochange "$CA" 1 'already revoked' "revoke twice" -- \
    "$IOTACTL" ca revoke --dir "$CA" "$SA"
run_fail_nochange "$CA" 2 'reason' "revoke --reason nosuch" -- \
    "$IOTACTL" ca revoke --dir "$CA" "$(serial_of "$T/b.crt")" --reason nosuch
run_fail_nochange "$CA" 2 'serial|SERIAL' "revoke without a serial" -- \
    "$IOTACTL" ca revoke --dir "$CA"

# Root CRL covering a revoked intermediate: rotate, revoke the old one.
OLD=$(serial_of "$CA/intermediate.crt")
cp "$CA/intermediate.crt" "$T/old-intermediate.crt"
ok "iota ca rotate --dir '$CA' --passphrase-file '$PASS'" "rotate"
run "$IOTACTL" ca revoke --dir "$CA" "$OLD" --reason superseded
is "$RC" 0 "revoke the old intermediate: exit 0" || diag "$ERR"
run "$IOTACTL" ca crl --dir "$CA" --root --passphrase-file "$PASS"
is "$RC" 0 "crl --root: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/root-crl.pem"
text=$(ossl crl -in "$T/root-crl.pem" -noout -text 2>&1)
is "$(ossl crl -in "$T/root-crl.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" \
    "$(subject_of "$CA/root.crt")" "root CRL issuer is the root"
like "$(ossl crl -in "$T/root-crl.pem" -noout -CAfile "$CA/root.crt" 2>&1)" \
    'verify OK' "root CRL signature verifies against the root"
like "$text" "Authority Key Identifier: *"$'\n'" *(keyid:)?$(ski_of "$CA/root.crt")" \
    "root CRL AKI = root SKI"
like "$text" "Serial Number: $OLD" "root CRL lists the old intermediate"
like "$text" 'Superseded' "root CRL gives the reason"
unlike "$text" "Serial Number: $SA" "root CRL does not list leaves"
like "$(ossl verify -x509_strict -crl_check -CAfile "$CA/root.crt" \
    -CRLfile "$T/root-crl.pem" "$T/old-intermediate.crt" 2>&1)" \
    'certificate revoked' "openssl: the old intermediate is revoked"
ok "ossl verify -x509_strict -crl_check -CAfile '$CA/root.crt' \
    -CRLfile '$T/root-crl.pem' '$CA/intermediate.crt'" \
    "openssl: the new intermediate is not"

# Leaves of the retired intermediate: revocable, on a CRL that the archived
# intermediate signs (crl --issuer), not on the current intermediate's.
run "$IOTACTL" ca revoke --dir "$CA" "$(serial_of "$T/b.crt")" --reason superseded
is "$RC" 0 "revoke b, issued by the retired intermediate: exit 0" || diag "$ERR"
run "$IOTACTL" ca crl --dir "$CA" --issuer "$OLD" --passphrase-file "$PASS"
is "$RC" 0 "crl --issuer OLD: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/old-crl.pem"
text=$(ossl crl -in "$T/old-crl.pem" -noout -text 2>&1)
like "$(ossl crl -in "$T/old-crl.pem" -noout -CAfile "$T/old-intermediate.crt" 2>&1)" \
    'verify OK' "crl --issuer: signed by the archived intermediate"
like "$text" "Serial Number: $(serial_of "$T/b.crt")" "crl --issuer: lists b"
like "$text" "Serial Number: $SA" "crl --issuer: still lists a"
like "$(crl_verify "$T/b.crt" "$T/old-crl.pem" "$T/old-intermediate.crt")" \
    'certificate revoked' "openssl verify -crl_check: b is revoked"
run "$IOTACTL" ca crl --dir "$CA" --passphrase-file "$PASS"
printf '%s\n' "$OUT" >"$T/new-crl.pem"
unlike "$(ossl crl -in "$T/new-crl.pem" -noout -text 2>&1)" \
    "Serial Number: ($SA|$(serial_of "$T/b.crt"))" \
    "the new intermediate's CRL lists none of the old one's leaves"
run_fail_nochange "$CA" 1 'root' "revoke the root" -- \
    "$IOTACTL" ca revoke --dir "$CA" "$(serial_of "$CA/root.crt")"
run_fail_nochange "$CA" 1 '.' "crl --issuer with a serial that is not an archived intermediate" -- \
    "$IOTACTL" ca crl --dir "$CA" --issuer "$SA" --passphrase-file "$PASS"

# --root with the root key moved away: fails clearly, then --root-key works.
mkdir "$T/offline"
mv "$CA/root.key" "$T/offline/root.key"
run_fail_nochange "$CA" 1 'root\.key' "crl --root without the root key" -- \
    "$IOTACTL" ca crl --dir "$CA" --root --passphrase-file "$PASS"
run "$IOTACTL" ca crl --dir "$CA" --root --root-key "$T/offline/root.key" \
    --passphrase-file "$PASS"
is "$RC" 0 "crl --root --root-key PATH: exit 0" || diag "$ERR"
printf '%s\n' "$OUT" >"$T/root-crl2.pem"
like "$(ossl crl -in "$T/root-crl2.pem" -noout -CAfile "$CA/root.crt" 2>&1)" \
    'verify OK' "--root-key: root CRL verifies"

done_testing
