#!/bin/bash
# iotactl ca init: the files it writes, their modes and encryption, the root
# and intermediate profiles as openssl sees them, the passphrase sources, and
# refusals that leave the directory as it was.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl

T=$T_TMP

key_type_re() {
	case $1 in
	ec-p256) echo 'NIST CURVE: P-256' ;;
	ec-p384) echo 'NIST CURVE: P-384' ;;
	ed25519) echo 'Public Key Algorithm: ED25519' ;;
	rsa-3072) echo 'Public-Key: \(3072 bit\)' ;;
	esac
}

# check_key KEY CERT RIGHT WRONG LABEL: an encrypted PKCS#8 key, 0600, with
# scrypt and AES-256-CBC, that openssl opens with RIGHT (and then it is
# CERT's key) but not with WRONG.
check_key() {
	local f=$1 c=$2 right=$3 wrong=$4 l=$5
	is "$(file_mode "$f")" 600 "$l: mode 0600"
	ok "grep -q '^-----BEGIN ENCRYPTED PRIVATE KEY-----' '$f'" \
	    "$l: PEM header ENCRYPTED PRIVATE KEY"
	fails "grep -q 'BEGIN PRIVATE KEY\|BEGIN EC PRIVATE KEY\|BEGIN RSA PRIVATE KEY' '$f'" \
	    "$l: no unencrypted key block"
	like "$(ossl asn1parse -in "$f" 2>&1)" 'OBJECT +:scrypt.*OBJECT +:aes-256-cbc' \
	    "$l: PBES2 with scrypt and aes-256-cbc"
	fails "ossl pkey -in '$f' -passin 'pass:$wrong' -noout" \
	    "$l: openssl refuses the wrong passphrase"
	is "$(key_pubkey "$f" "$right" 2>&1)" "$(cert_pubkey "$c")" \
	    "$l: openssl opens it with the right passphrase; it is ${c##*/}'s key"
}

# check_ca DIR KEYTYPE NAME: the full set of checks, passphrase $PASS.
check_ca() {
	local d=$1 kt=$2 name=$3 f n
	local l="$kt${name:+ --name $name}"
	for f in root.crt root.key intermediate.crt intermediate.key \
	    ca-chain.pem index crlnumber; do
		ok "[ -f '$d/$f' ]" "$l: $f written"
	done
	ok "[ -d '$d/certs' ]" "$l: certs/ created"
	check_key "$d/root.key" "$d/root.crt" "$PASS_TEXT" wrong-passphrase \
	    "$l: root.key"
	check_key "$d/intermediate.key" "$d/intermediate.crt" "$PASS_TEXT" \
	    wrong-passphrase "$l: intermediate.key"
	like "$(cert_text "$d/root.crt")" "$(key_type_re "$kt")" \
	    "$l: root key type"
	like "$(cert_text "$d/intermediate.crt")" \
	    "$(key_type_re "$kt")" "$l: intermediate key type"

	# root
	local rs
	rs=$(subject_of "$d/root.crt")
	is "$(issuer_of "$d/root.crt")" "$rs" "$l: root is self-issued"
	ok "ossl verify -x509_strict -CAfile '$d/root.crt' '$d/root.crt'" \
	    "$l: root self-signature verifies"
	like "$rs" "(^|,)CN=$name Root CA(,|\$)" "$l: root CN"
	like "$rs" "(^|,)O=$name(,|\$)" "$l: root O"
	like "$(ext_of "$d/root.crt" basicConstraints)" \
	    'critical'$'\n'' *CA:TRUE' "$l: root basicConstraints critical CA:TRUE"
	like "$(ext_of "$d/root.crt" keyUsage)" \
	    'critical'$'\n'' *Certificate Sign, CRL Sign$' \
	    "$l: root keyUsage critical Certificate Sign, CRL Sign"
	like "$(ski_of "$d/root.crt")" '^([0-9A-F]{2}:)+[0-9A-F]{2}$' \
	    "$l: root has a subject key identifier"

	# intermediate
	local is_
	is_=$(subject_of "$d/intermediate.crt")
	is "$(issuer_of "$d/intermediate.crt")" "$rs" \
	    "$l: intermediate issued by the root"
	like "$is_" "(^|,)CN=$name Intermediate CA 1(,|\$)" "$l: intermediate CN"
	like "$is_" "(^|,)O=$name(,|\$)" "$l: intermediate O"
	like "$(ext_of "$d/intermediate.crt" basicConstraints)" \
	    'critical'$'\n'' *CA:TRUE, pathlen:0$' \
	    "$l: intermediate basicConstraints critical CA:TRUE, pathlen:0"
	like "$(ext_of "$d/intermediate.crt" keyUsage)" \
	    'critical'$'\n'' *Certificate Sign, CRL Sign$' \
	    "$l: intermediate keyUsage critical Certificate Sign, CRL Sign"
	is "$(aki_of "$d/intermediate.crt")" "$(ski_of "$d/root.crt")" \
	    "$l: intermediate AKI = root SKI"
	like "$(ski_of "$d/intermediate.crt")" '^([0-9A-F]{2}:)+[0-9A-F]{2}$' \
	    "$l: intermediate has a subject key identifier"
	isnt "$(serial_of "$d/intermediate.crt")" "$(serial_of "$d/root.crt")" \
	    "$l: root and intermediate serials differ"
	ok "ossl verify -x509_strict -CAfile '$d/root.crt' '$d/intermediate.crt'" \
	    "$l: openssl verify -x509_strict intermediate against root"

	# ca-chain.pem: intermediate then root, nothing else
	n=$(pem_split "$d/ca-chain.pem" "$T/chain")
	is "$n" 2 "$l: ca-chain.pem holds two certificates"
	is "$(fingerprint_of "$T/chain1.pem")" "$(fingerprint_of "$d/intermediate.crt")" \
	    "$l: ca-chain.pem starts with the intermediate"
	is "$(fingerprint_of "$T/chain2.pem")" "$(fingerprint_of "$d/root.crt")" \
	    "$l: ca-chain.pem ends with the root"
	rm -f "$T"/chain*.pem
}

# check_ca_brief DIR KEYTYPE: what depends on the key type.
check_ca_brief() {
	local d=$1 kt=$2
	like "$(cert_text "$d/root.crt")" "$(key_type_re "$kt")" "$kt: root key type"
	like "$(cert_text "$d/intermediate.crt")" "$(key_type_re "$kt")" \
	    "$kt: intermediate key type"
	ok "grep -q '^-----BEGIN ENCRYPTED PRIVATE KEY-----' '$d/root.key' &&
	    grep -q '^-----BEGIN ENCRYPTED PRIVATE KEY-----' '$d/intermediate.key'" \
	    "$kt: both keys encrypted"
	is "$(key_pubkey "$d/intermediate.key" "$PASS_TEXT" 2>&1)" \
	    "$(cert_pubkey "$d/intermediate.crt")" \
	    "$kt: openssl opens intermediate.key; it belongs to intermediate.crt"
	ok "ossl verify -x509_strict -CAfile '$d/root.crt' '$d/root.crt'" \
	    "$kt: root self-signature verifies"
	ok "ossl verify -x509_strict -CAfile '$d/root.crt' '$d/intermediate.crt'" \
	    "$kt: openssl verify -x509_strict intermediate against root"
	ok "same_cert '$d/ca-chain.pem' '$d/intermediate.crt'" \
	    "$kt: ca-chain.pem starts with the intermediate"
}

# init_ok DIR KEYTYPE: init with $PASS and check its output.
init_ok() {
	local d=$1 kt=$2
	run "$IOTACTL" ca init --dir "$d" --key-type "$kt" --passphrase-file "$PASS"
	is "$RC" 0 "init --key-type $kt: exit 0" || diag "$ERR"
	is "$ERR" "" "init --key-type $kt: nothing on stderr"
	local fp
	for fp in "$(fingerprint_of "$d/root.crt")" \
	    "$(fingerprint_of "$d/intermediate.crt")"; do
		like "$(printf %s "$OUT" | tr -d ':' | tr a-f A-F)" "${fp//:/}" \
		    "init --key-type $kt: prints SHA-256 fingerprint ${fp:0:11}..."
	done
	like "$OUT" "$d/root.crt" "init --key-type $kt: prints the paths written"
}

init_ok "$T/ca-ec-p256" ec-p256
check_ca "$T/ca-ec-p256" ec-p256 iota
for kt in ec-p384 ed25519 rsa-3072; do
	init_ok "$T/ca-$kt" "$kt"
	check_ca_brief "$T/ca-$kt" "$kt"
done

# DIR created 0700 when missing.
D=$T/ca-ec-p256
is "$(file_mode "$D")" 700 "a missing DIR is created with mode 0700"

# Validity: defaults 7300 and 1825 days, and the options; --name.
ok "valid_for '$D/root.crt' 7300" "root valid for 7300 days by default"
ok "valid_for '$D/intermediate.crt' 1825" \
    "intermediate valid for 1825 days by default"
ca_init "$T/named" --name "Acme Test" --root-days 400 --intermediate-days 30
ok "valid_for '$T/named/root.crt' 400" "--root-days 400"
ok "valid_for '$T/named/intermediate.crt' 30" "--intermediate-days 30"
like "$(subject_of "$T/named/root.crt")" '(^|,)CN=Acme Test Root CA(,|$)' \
    "--name: root CN"
like "$(subject_of "$T/named/root.crt")" '(^|,)O=Acme Test(,|$)' "--name: root O"
like "$(subject_of "$T/named/intermediate.crt")" \
    '(^|,)CN=Acme Test Intermediate CA 1(,|$)' "--name: intermediate CN"
like "$(subject_of "$T/named/intermediate.crt")" '(^|,)O=Acme Test(,|$)' \
    "--name: intermediate O"

# An existing empty directory is fine; exactly 8 characters are enough.
mkdir "$T/empty"
printf '12345678' >"$T/eight"
ok "iota ca init --dir '$T/empty' --passphrase-file '$T/eight'" \
    "init into an existing empty directory, 8 characters without a newline"
ok "ossl pkey -in '$T/empty/intermediate.key' -passin pass:12345678 -noout" \
    "... wrote the CA, key encrypted with the 8 characters"

# A second init refuses and changes nothing.
run_fail_nochange "$D" 1 'already|exists' "init twice" -- \
    "$IOTACTL" ca init --dir "$D" --key-type ec-p256 --passphrase-file "$PASS"

# Separate intermediate passphrase, from the option and from the environment.
printf 'root passphrase one\n' >"$T/rp"
printf 'intermediate passphrase two\n' >"$T/ip"
ok "iota ca init --dir '$T/sep' --passphrase-file '$T/rp' \
    --intermediate-passphrase-file '$T/ip'" \
    "init with --intermediate-passphrase-file"
check_key "$T/sep/root.key" "$T/sep/root.crt" 'root passphrase one' \
    'intermediate passphrase two' "--intermediate-passphrase-file: root.key"
check_key "$T/sep/intermediate.key" "$T/sep/intermediate.crt" \
    'intermediate passphrase two' 'root passphrase one' \
    "--intermediate-passphrase-file: intermediate.key"

# Only the first line of a passphrase file counts.
printf 'first line here\nsecond line\n' >"$T/two-lines"
ok "IOTA_CA_PASSPHRASE_FILE='$T/two-lines' iota ca init --dir '$T/env'" \
    "init with IOTA_CA_PASSPHRASE_FILE (a two-line file)"
ok "ossl pkey -in '$T/env/root.key' -passin 'pass:first line here' -noout &&
    ossl pkey -in '$T/env/intermediate.key' -passin 'pass:first line here' -noout" \
    "IOTA_CA_PASSPHRASE_FILE: both keys use its first line"

ok "IOTA_CA_PASSPHRASE_FILE='$T/rp' IOTA_CA_INTERMEDIATE_PASSPHRASE_FILE='$T/ip' \
    iota ca init --dir '$T/env2'" \
    "init with IOTA_CA_INTERMEDIATE_PASSPHRASE_FILE"
ok "ossl pkey -in '$T/env2/root.key' -passin 'pass:root passphrase one' -noout &&
    ossl pkey -in '$T/env2/intermediate.key' -passin 'pass:intermediate passphrase two' -noout" \
    "IOTA_CA_INTERMEDIATE_PASSPHRASE_FILE: each key its own passphrase"

printf 'wrong passphrase\n' >"$T/wp"
ok "IOTA_CA_PASSPHRASE_FILE='$T/wp' iota ca init --dir '$T/opt' --passphrase-file '$T/rp'" \
    "--passphrase-file wins over IOTA_CA_PASSPHRASE_FILE"
ok "ossl pkey -in '$T/opt/root.key' -passin 'pass:root passphrase one' -noout" \
    "--passphrase-file wins: root.key opens with the option's passphrase"

# Refusals: DIR not created.
printf '1234567\n' >"$T/seven"
run_fail_nochange "$T/short" 1 'passphrase too short \(at least 8 characters\)' \
    "7-character passphrase" -- \
    "$IOTACTL" ca init --dir "$T/short" --passphrase-file "$T/seven"
run_fail_nochange "$T/short2" 1 'passphrase too short \(at least 8 characters\)' \
    "7-character intermediate passphrase" -- \
    "$IOTACTL" ca init --dir "$T/short2" --passphrase-file "$PASS" \
    --intermediate-passphrase-file "$T/seven"
run_fail_nochange "$T/nopass" 1 \
    'no passphrase: use --passphrase-file or IOTA_CA_PASSPHRASE_FILE' \
    "no passphrase source and no terminal" -- \
    "$IOTACTL" ca init --dir "$T/nopass"
run_fail_nochange "$T/rootkey" 2 'root-key' "init does not take --root-key" -- \
    "$IOTACTL" ca init --dir "$T/rootkey" --passphrase-file "$PASS" \
    --root-key "$T/elsewhere.key"

# show needs no passphrase.
run "$IOTACTL" ca show --dir "$D"
is "$RC" 0 "show without a passphrase: exit 0" || diag "$ERR"
like "$OUT" 'iota Root CA' "show: root subject"
like "$OUT" 'iota Intermediate CA 1' "show: intermediate subject"
like "$(printf %s "$OUT" | tr -d : | tr a-f A-F)" \
    "$(fingerprint_of "$D/root.crt" | tr -d :)" "show: root fingerprint"
like "$(printf %s "$OUT" | tr -d : | tr a-f A-F)" \
    "$(fingerprint_of "$D/intermediate.crt" | tr -d :)" "show: intermediate fingerprint"
like "$OUT" "$(serial_of "$D/root.crt")" "show: root serial"
like "$OUT" "$(serial_of "$D/intermediate.crt")" "show: intermediate serial"
like "$OUT" 'P-256' "show: key type"
run "$IOTACTL" ca show --dir "$T/ca-ed25519"
like "$OUT" '[Ee]d25519|ED25519' "show: key type ed25519"

done_testing
