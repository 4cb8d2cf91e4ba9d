#!/bin/bash
# Hostile and broken input to iotactl ca: each refused with the right exit
# code, one clear line on stderr, nothing on stdout, and the CA untouched.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl

T=$T_TMP
CA=$T/ca
ca_init "$CA" || bail_out "ca init failed"
mkcsr p256 "$T/good" /CN=good || bail_out "openssl req failed"
ossl req -in "$T/good.csr" -outform DER -out "$T/good.der"

# The spec: "2 usage error (unknown verb/option, missing required option,
# bad option value like unknown --key-type or --profile)". A value that is
# not even well-formed (a serial that is not hex) counts as one here.
BADVAL=2

# sign_fails CODE REGEX DESC CSR [ARGS...]
sign_fails() {
	local code=$1 re=$2 desc=$3 csr=$4
	shift 4
	run_fail_nochange "$CA" "$code" "$re" "$desc" -- \
	    "$IOTACTL" ca sign --dir "$CA" --csr "$csr" --name dev-1 \
	    --passphrase-file "$PASS" "$@"
}

# Sanity: the good CSR is accepted, in both encodings, so the refusals
# below are about the input.
ok "ca_sign '$CA' '$T/good.csr' ok-pem" "control: the good PEM CSR is signed"
ok "ca_sign '$CA' '$T/good.der' ok-der" "control: the good DER CSR is signed"

# --- passphrase and files -----------------------------------------------------
printf 'not the passphrase\n' >"$T/wrong"
run_fail_nochange "$CA" 1 'cannot decrypt .*intermediate\.key: wrong passphrase\?' \
    "sign with a wrong passphrase" -- \
    "$IOTACTL" ca sign --dir "$CA" --csr "$T/good.csr" --name dev-1 \
    --passphrase-file "$T/wrong"
run_fail_nochange "$CA" 1 'cannot decrypt .*root\.key: wrong passphrase\?' \
    "crl --root with a wrong passphrase" -- \
    "$IOTACTL" ca crl --dir "$CA" --root --passphrase-file "$T/wrong"
run_fail_nochange "$CA" 1 'nosuch-pass' "a missing passphrase file" -- \
    "$IOTACTL" ca sign --dir "$CA" --csr "$T/good.csr" --name dev-1 \
    --passphrase-file "$T/nosuch-pass"
run_fail_nochange "$CA" 1 'nosuch-env' "IOTA_CA_PASSPHRASE_FILE names a missing file" -- \
    env IOTA_CA_PASSPHRASE_FILE="$T/nosuch-env" \
    "$IOTACTL" ca sign --dir "$CA" --csr "$T/good.csr" --name dev-1
run_fail_nochange "$CA" 1 'no passphrase: use --passphrase-file or IOTA_CA_PASSPHRASE_FILE' \
    "sign without a passphrase source or terminal" -- \
    "$IOTACTL" ca sign --dir "$CA" --csr "$T/good.csr" --name dev-1

sign_fails 1 'nosuch\.csr' "a missing CSR file" "$T/nosuch.csr"
cp "$T/good.csr" "$T/unreadable.csr"
chmod 000 "$T/unreadable.csr"
if [ "$(id -u)" = 0 ]; then
	skip "running as root, which reads a mode 000 file anyway" 3
else
	sign_fails 1 'unreadable\.csr' "an unreadable CSR file" "$T/unreadable.csr"
fi
mkdir "$T/adir.csr"
sign_fails 1 'adir\.csr' "a directory as CSR" "$T/adir.csr"
sign_fails 1 '/dev/zero|regular|too (large|big)|CSR' "/dev/zero as CSR (must not hang)" /dev/zero

# --- not a CA -----------------------------------------------------------------
mkdir "$T/empty"
run_fail_nochange "$T/empty" 1 'is not an iota CA directory' "sign in an empty directory" -- \
    "$IOTACTL" ca sign --dir "$T/empty" --csr "$T/good.csr" --name dev-1 \
    --passphrase-file "$PASS"
mkdir "$T/other"
printf 'hello\n' >"$T/other/README"
cp "$CA/root.crt" "$T/other/"
run_fail_nochange "$T/other" 1 'is not an iota CA directory' "revoke in a directory that is not a CA" -- \
    "$IOTACTL" ca revoke --dir "$T/other" 0123456789ABCDEF
run_fail_nochange "$T/other" 1 'is not an iota CA directory' "show in a directory that is not a CA" -- \
    "$IOTACTL" ca show --dir "$T/other"
run_fail_nochange "$T/other" 1 'is not an iota CA directory' "rotate in a directory that is not a CA" -- \
    "$IOTACTL" ca rotate --dir "$T/other" --passphrase-file "$PASS"
run_fail_nochange "$T/nosuchdir" 1 'nosuchdir' "sign with a missing DIR" -- \
    "$IOTACTL" ca sign --dir "$T/nosuchdir" --csr "$T/good.csr" --name dev-1 \
    --passphrase-file "$PASS"

# --- broken CSRs --------------------------------------------------------------
: >"$T/empty.csr"
sign_fails 1 'CSR: (cannot parse|empty)' "an empty CSR" "$T/empty.csr"
# Hostile bytes are the same on every run: a keyed AES-CTR stream per seed
# (random input could parse far enough to get another message, now and then).
prng() { head -c "$2" /dev/zero | ossl enc -aes-128-ctr -nosalt \
    -K "$(printf '%032x' "$1")" -iv 0 2>/dev/null; }
for seed in 1 2 3 4 5 6 7 8; do
	prng "$seed" 300 >"$T/garbage.csr"
	sign_fails 1 'CSR: cannot parse' "300 pseudo-random bytes (seed $seed)" "$T/garbage.csr"
done
# What once made a random case fail now and then: a first byte with tag
# number 16, constructed, but not universal class (0xF0 is [PRIVATE 16]).
{ printf '\360\003abc'; head -c 100 /dev/zero | tr '\0' x; } >"$T/private16.der"
sign_fails 1 'CSR: cannot parse' "a [PRIVATE 16] element, not a SEQUENCE" \
    "$T/private16.der"
lines=$(wc -l <"$T/good.csr")
head -n $((lines / 2)) "$T/good.csr" >"$T/half.csr"
sign_fails 1 'CSR: cannot parse' "a PEM CSR cut in half" "$T/half.csr"
size=$(wc -c <"$T/good.der")
head -c $((size - 20)) "$T/good.der" >"$T/cut.der"
sign_fails 1 'CSR: cannot parse' "a DER CSR missing its last 20 bytes" "$T/cut.der"
head -c $((size / 2)) "$T/good.der" >"$T/half.der"
sign_fails 1 'CSR: cannot parse' "a DER CSR cut in half" "$T/half.der"
{
	echo '-----BEGIN CERTIFICATE REQUEST-----'
	prng 9 400 | base64 -w 64
	echo '-----END CERTIFICATE REQUEST-----'
} >"$T/wrapped.csr"
sign_fails 1 'CSR: cannot parse' "PEM-wrapped random bytes" "$T/wrapped.csr"
{ cat "$T/good.der"; printf 'trailing'; } >"$T/trailing.der"
sign_fails 1 'CSR: (cannot parse|.*trailing)' "a DER CSR with trailing bytes" "$T/trailing.der"
sign_fails 1 'CSR: cannot parse' "a certificate instead of a CSR" "$CA/root.crt"

# Hand-made requests, correctly signed: the control is signed; one whose
# subject is not a Name, or whose attributes are not Attributes, is not a
# PKCS#10 request (openssl cannot load it) and is refused.
raw_csr "$T/good.key" "$(der_name_cn raw)" >"$T/raw-ok.der"
ok "ossl req -in '$T/raw-ok.der' -inform DER -noout -verify" \
    "control: openssl loads and verifies the hand-made request"
ok "ca_sign '$CA' '$T/raw-ok.der' raw-ok" "control: iotactl signs the hand-made request"
raw_csr "$T/good.key" 020105 >"$T/raw-int.der"
fails "ossl req -in '$T/raw-int.der' -inform DER -noout" \
    "openssl cannot load a request whose subject is an INTEGER"
sign_fails 1 'CSR: cannot parse' "a signed request whose subject is an INTEGER" \
    "$T/raw-int.der"
raw_csr "$T/good.key" "$(der_name_cn raw)" 020101 >"$T/raw-attr.der"
fails "ossl req -in '$T/raw-attr.der' -inform DER -noout" \
    "openssl cannot load a request whose attributes hold an INTEGER"
sign_fails 1 'CSR: cannot parse' "a signed request whose attributes hold an INTEGER" \
    "$T/raw-attr.der"

# Flip one bit in the last byte (inside the signature) of the DER CSR.
last=$(tail -c 1 "$T/good.der" | od -An -tu1 | tr -d ' ')
{ head -c $((size - 1)) "$T/good.der"
  printf "\\$(printf %03o $((last ^ 1)))"; } >"$T/badsig.der"
ok "! cmp -s '$T/good.der' '$T/badsig.der' && [ $(wc -c <"$T/badsig.der") = $size ]" \
    "bad-signature CSR differs in one byte"
like "$(ossl req -in "$T/badsig.der" -inform DER -noout -verify 2>&1)" \
    'verify failure' "openssl agrees its signature is bad"
sign_fails 1 'CSR: signature does not match its public key' \
    "a CSR whose signature does not match" "$T/badsig.der"
ossl req -in "$T/badsig.der" -inform DER -out "$T/badsig.csr"
sign_fails 1 'CSR: signature does not match its public key' \
    "the same in PEM" "$T/badsig.csr"

# --- keys not on the allowed list ---------------------------------------------
mkcsr rsa1024 "$T/rsa1024" /CN=x
sign_fails 1 'CSR: RSA key of 1024 bits is too small \(minimum 2048\)' \
    "an RSA-1024 CSR" "$T/rsa1024.csr"
mkcsr dsa "$T/dsa" /CN=x 2>/dev/null
ok "[ -s '$T/dsa.csr' ]" "openssl made a DSA CSR"
sign_fails 1 'CSR: key type .*not allowed' "a DSA CSR" "$T/dsa.csr"
for kt in p521 secp256k1 ed448; do
	mkcsr "$kt" "$T/$kt" /CN=x
	sign_fails 1 'CSR: key type .*not allowed' "a $kt CSR" "$T/$kt.csr"
done

# P-256, but with explicit curve parameters (RFC 5480: MUST NOT); a
# certificate carrying them fails openssl verify -x509_strict.
mkcsr p256 "$T/explicit" /CN=x -pkeyopt ec_param_enc:explicit
like "$(ossl req -in "$T/explicit.csr" -noout -text)" 'Field Type: prime-field' \
    "openssl made a CSR with explicit EC parameters"
sign_fails 1 'CSR: .*(explicit|not allowed|param)' \
    "a P-256 CSR with explicit curve parameters" "$T/explicit.csr"

# --- oversized: a real CSR of more than 16 KiB, PEM and DER -------------------
big=$(head -c 13000 /dev/zero | tr '\0' a)
mkcsr p256 "$T/big" /CN=x -addext "1.2.3.4.5=ASN1:UTF8String:$big"
ossl req -in "$T/big.csr" -outform DER -out "$T/big.der"
ok "[ $(wc -c <"$T/big.csr") -gt 16384 ] && [ $(wc -c <"$T/big.der") -lt 16384 ]" \
    "big.csr is over 16 KiB (its DER is not)"
sign_fails 1 'too (large|big|long)|exceeds|maximum|16 ?KiB|16384' \
    "a PEM CSR over 16 KiB" "$T/big.csr"
big=$(head -c 17000 /dev/zero | tr '\0' a)
mkcsr p256 "$T/big2" /CN=x -addext "1.2.3.4.5=ASN1:UTF8String:$big"
ossl req -in "$T/big2.csr" -outform DER -out "$T/big2.der"
sign_fails 1 'too (large|big|long)|exceeds|maximum|16 ?KiB|16384' \
    "a DER CSR over 16 KiB" "$T/big2.der"

# Just under the limit: a CSR of 13 KB DER is fine.
sign_ok=$(ca_sign "$CA" "$T/big.der" big-ok 2>&1)
like "$sign_ok" 'BEGIN CERTIFICATE' "a 13 KB DER CSR (under 16 KiB) is signed"

# --- output that cannot be written --------------------------------------------
to_full=(sh -c 'exec "$0" "$@" >/dev/full')
run_fail 1 'stdout|write' "sign with stdout on a full disk" -- \
    "${to_full[@]}" "$IOTACTL" ca sign --dir "$CA" --csr "$T/good.csr" --name full-1 \
    --passphrase-file "$PASS"
run_fail 1 'stdout|write' "crl with stdout on a full disk" -- \
    "${to_full[@]}" "$IOTACTL" ca crl --dir "$CA" --passphrase-file "$PASS"
run_fail 1 'stdout|write' "show with stdout on a full disk" -- \
    "${to_full[@]}" "$IOTACTL" ca show --dir "$CA"

# --- usage errors: exit 2 -----------------------------------------------------
run_fail_nochange "$T/kt" 2 'key-type|rsa-1024' "init --key-type rsa-1024" -- \
    "$IOTACTL" ca init --dir "$T/kt" --key-type rsa-1024 --passphrase-file "$PASS"
run_fail_nochange "$CA" 2 'key-type|dsa' "issue --key-type dsa" -- \
    "$IOTACTL" ca issue --dir "$CA" --server-name s.example --out "$T/s" \
    --key-type dsa --passphrase-file "$PASS"
sign_fails 2 'profile|root' "sign --profile root" "$T/good.csr" --profile root
sign_fails 2 'profile|nosuch' "sign --profile nosuch" "$T/good.csr" --profile nosuch
sign_fails 2 'frobnicate' "sign --frobnicate" "$T/good.csr" --frobnicate
sign_fails 2 'days' "sign --days 0" "$T/good.csr" --days 0
sign_fails 2 'days' "sign --days -1" "$T/good.csr" --days -1
sign_fails 2 'days' "sign --days 12x" "$T/good.csr" --days 12x
sign_fails 2 'days' "sign --days 99999999999999999999" "$T/good.csr" \
    --days 99999999999999999999
run_fail_nochange "$CA" 2 'name' "sign without --name" -- \
    "$IOTACTL" ca sign --dir "$CA" --csr "$T/good.csr" --passphrase-file "$PASS"
run_fail_nochange "$CA" 2 'csr' "sign without --csr" -- \
    "$IOTACTL" ca sign --dir "$CA" --name dev-1 --passphrase-file "$PASS"
run_fail_nochange "$CA" 2 'dir' "sign without --dir" -- \
    "$IOTACTL" ca sign --csr "$T/good.csr" --name dev-1 --passphrase-file "$PASS"
run_fail_nochange "$CA" 2 'name' "sign --name with no value" -- \
    "$IOTACTL" ca sign --dir "$CA" --csr "$T/good.csr" --passphrase-file "$PASS" --name
run_fail_nochange "$CA" 2 'extra|unexpected|argument|operand' "sign with a stray operand" -- \
    "$IOTACTL" ca sign --dir "$CA" --csr "$T/good.csr" --name dev-1 \
    --passphrase-file "$PASS" stray

# --- serials ------------------------------------------------------------------
run_fail_nochange "$CA" 1 'serial 0*(1234ABCD5678EF90|1234abcd5678ef90) was never issued by this CA' \
    "revoke a serial never issued" -- \
    "$IOTACTL" ca revoke --dir "$CA" 1234abcd5678ef90
for s in 'xyz' '12:3G' '0x' '' '12 34' 'AB-CD'; do
	run_fail_nochange "$CA" "$BADVAL" 'serial' "revoke malformed serial '$s'" -- \
	    "$IOTACTL" ca revoke --dir "$CA" "$s"
done
long=$(head -c 100 /dev/zero | tr '\0' 1)
run_fail_nochange "$CA" 1 'serial' "revoke a 100-digit serial" -- \
    "$IOTACTL" ca revoke --dir "$CA" "$long"

done_testing
