#!/bin/bash
# CA keys on a PKCS#11 token (a private SoftHSM2 token directory): `iotactl
# ca init` generates root and intermediate on their tokens and leaves no
# private key in the CA directory; iotad signs with the token's key (a
# device provisioned through the API verifies against the root); `ca
# rotate` makes the next intermediate on the token, iotad picks it up on
# SIGHUP and after a restart, the old one's CRL still served.  A wrong PIN,
# a missing token, object or module get one clear line, and a wrong PIN
# keeps iotad from starting.  Skipped only where softhsm2 is not installed.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

MODULE=/usr/lib/softhsm/libsofthsm2.so
if ! command -v softhsm2-util >/dev/null 2>&1 || [ ! -r "$MODULE" ]; then
	echo "1..0 # SKIP softhsm2 not installed"
	exit 0
fi
HAVE_P11TOOL=0
command -v pkcs11-tool >/dev/null 2>&1 && HAVE_P11TOOL=1

T=$T_TMP
D=$T/iotad
CA=$D/ca
mkdir -p "$D" "$T/tokens" || bail_out "mkdir"

# --- two tokens of their own: the root's and the online intermediate's ----------
export SOFTHSM2_CONF=$T/softhsm2.conf
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/tokens" >"$SOFTHSM2_CONF"
ROOT_PIN=root-pin-8146
PIN=online-pin-5293
for t in "iota-root $ROOT_PIN" "iota-online $PIN"; do
	set -- $t
	softhsm2-util --init-token --free --label "$1" --pin "$2" \
	    --so-pin so-pin-0917 >/dev/null 2>&1 || bail_out "softhsm2-util --init-token $1"
done
(umask 077 && printf '%s\n' "$ROOT_PIN" >"$T/root.pin" &&
    printf '%s\n' "$PIN" >"$D/pass" && printf 'not-the-pin\n' >"$T/wrong.pin")
KEYS=(--passphrase-file "$T/root.pin" --intermediate-passphrase-file "$D/pass"
    --pkcs11-module "$MODULE")

# p11 ARGS...: pkcs11-tool on the online token, logged in.
p11() {
	pkcs11-tool --module "$MODULE" --token-label iota-online --login \
	    --pin "$PIN" "$@" 2>/dev/null
}
# token_pubkey LABEL: the public key the token holds under LABEL, as PEM.
token_pubkey() {
	p11 --read-object --type pubkey --label "$1" -o "$T/pub.der" >/dev/null &&
	    ossl pkey -pubin -inform DER -in "$T/pub.der"
}
# no_private_key_file DIR: no file under DIR holds a private key.
no_private_key_file() {
	[ -z "$(find "$1" -type f -exec grep -l 'PRIVATE KEY' {} +)" ] &&
	    [ -z "$(find "$1" -name '*.key' -print)" ]
}

# --- iotactl ca init onto the tokens ----------------------------------------------
run "$IOTACTL" ca init --dir "$CA" "${KEYS[@]}" \
    --root-uri 'pkcs11:token=iota-root;object=root' \
    --intermediate-uri 'pkcs11:token=iota-online;object=intermediate-1'
is "$RC" 0 "ca init onto the tokens: exit 0" || bail_out "ca init: $ERR"
is "$ERR" "" "ca init: nothing on stderr"
ok "no_private_key_file '$CA'" "the CA directory holds no private key file"
ok "[ ! -e '$CA/root.key' ] && [ ! -e '$CA/intermediate.key' ]" \
    "no root.key, no intermediate.key"
like "$(cat "$CA/intermediate.key.uri" 2>&1)" \
    '^pkcs11:token=iota-online;id=(%[0-9A-F]{2}){16};object=intermediate-1;type=private$' \
    "intermediate.key.uri: token, id, label, type of the new key"
like "$(cat "$CA/root.key.uri" 2>&1)" '^pkcs11:token=iota-root;.*object=root;type=private$' \
    "root.key.uri names the key on the root's token"
is "$(file_mode "$CA/intermediate.key.uri")" 600 "intermediate.key.uri mode 0600"
ok "! grep -rqF -e '$PIN' -e '$ROOT_PIN' '$CA'" "no PIN anywhere in the CA directory"
ok "ossl verify -x509_strict -CAfile '$CA/root.crt' '$CA/intermediate.crt'" \
    "the intermediate verifies against the root"
if [ "$HAVE_P11TOOL" = 1 ]; then
	is "$(token_pubkey intermediate-1)" "$(cert_pubkey "$CA/intermediate.crt")" \
	    "the token's key intermediate-1 is intermediate.crt's"
	like "$(p11 -O --type privkey --label intermediate-1)" \
	    'Access: +sensitive, always sensitive, never extractable, local' \
	    "the private key was made on the token: sensitive, never extractable"
else
	skip "pkcs11-tool (opensc) not installed" 2
fi

# --- iotad signs with the token's key -------------------------------------------------
run "$IOTACTL" ca issue --dir "$CA" "${KEYS[@]}" --server-name localhost \
    --ip 127.0.0.1 --out "$D/server"
is "$RC" 0 "ca issue (iotad's server certificate) signs on the token" ||
    bail_out "ca issue: $ERR"
IOTAD_DIR=$D IOTAD_CONF=$D/iotad.yaml IOTAD_LOG=$D/iotad.log
IOTAD_STATE=$D/state CACERT=$CA/root.crt
iotad_write_conf "revocation:
  port: 0"
sed -i "s|^  passphrase_file: .*|&\n  pkcs11_module: $MODULE|" "$IOTAD_CONF"
like "$(cat "$IOTAD_CONF")" "pkcs11_module: $MODULE" "iotad.yaml names ca.pkcs11_module"
run "$IOTAD" -c "$IOTAD_CONF" --init || bail_out "iotad --init ($RC): $ERR"
ADMIN=$(cat "$IOTAD_STATE/admin.token") || bail_out "no admin token"
at_exit iotad_cleanup
iotad_start || bail_out "iotad did not start with its key on the token"
pass "iotad starts with the intermediate key on the token"
rev_url() {
	printf 'http://127.0.0.1:%s' "$(sed -n \
	    's|.* revocation listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' \
	    "$IOTAD_LOG" | tail -1)"
}

tenant_add acme OP || bail_out "tenant"
group_add "$OP" g1 SECRET || bail_out "group"
devices_add "$OP" g1 d1 d2 || bail_out "devices"
device_key "$T/d1"
provision "$SECRET" g1 d1 "$T/d1.csr"
is_status 201 "d1 provisioned through the API" || bail_out "provision d1: $BODY"
save_provisioned "$T/d1"
like "$(issuer_of "$T/d1.crt")" 'Intermediate CA 1' "d1's certificate comes from intermediate 1"
like "$(ossl verify -CAfile "$CA/root.crt" -untrusted "$CA/intermediate.crt" "$T/d1.crt" 2>&1)" \
    ': OK$' "openssl verify: d1's certificate chains to the root"
OLD=$(serial_of "$CA/intermediate.crt")
cp "$CA/intermediate.crt" "$T/old-inter.crt"
cp "$CA/intermediate.key.uri" "$T/old-inter.uri"

# --- ca rotate onto the token, SIGHUP --------------------------------------------------
run "$IOTACTL" ca rotate --dir "$CA" "${KEYS[@]}" \
    --intermediate-uri 'pkcs11:token=iota-online;object=intermediate-2'
is "$RC" 0 "ca rotate onto the token (root from its own): exit 0" || diag "$ERR"
is "$ERR" "" "ca rotate: nothing on stderr"
NEW=$(serial_of "$CA/intermediate.crt")
isnt "$NEW" "$OLD" "a new intermediate"
like "$(cat "$CA/intermediate.key.uri")" 'object=intermediate-2;type=private$' \
    "intermediate.key.uri names the new key"
ok "cmp -s '$CA/archive/$OLD.key.uri' '$T/old-inter.uri'" \
    "archive/SERIAL.key.uri names the old one"
ok "no_private_key_file '$CA'" "still no private key file in the CA directory"
if [ "$HAVE_P11TOOL" = 1 ]; then
	is "$(token_pubkey intermediate-2)" "$(cert_pubkey "$CA/intermediate.crt")" \
	    "the token's key intermediate-2 is the new intermediate.crt's"
else
	skip "pkcs11-tool (opensc) not installed"
fi

kill -HUP "$IOTAD_PID"
for ((i = 0; i < 200; i++)); do
	grep -q "reloaded: signing with intermediate $NEW" "$IOTAD_LOG" && break
	sleep 0.05
done
like "$(grep 'reloaded:' "$IOTAD_LOG")" "intermediate $NEW, 2 issuers served" \
    "SIGHUP: iotad signs with the new intermediate, serves both"
device_key "$T/d2"
provision "$SECRET" g1 d2 "$T/d2.csr"
is_status 201 "d2 provisioned after the rotation" || diag "$BODY"
save_provisioned "$T/d2"
like "$(issuer_of "$T/d2.crt")" 'Intermediate CA 2' "d2's certificate comes from intermediate 2"
like "$(ossl verify -CAfile "$CA/root.crt" -untrusted "$CA/intermediate.crt" "$T/d2.crt" 2>&1)" \
    ': OK$' "openssl verify: d2's certificate chains to the root through the new intermediate"
fails "ossl verify -CAfile '$CA/root.crt' -untrusted '$T/old-inter.crt' '$T/d2.crt'" \
    "... and not through the old one"

# A fresh iotad loads both keys from the tokens; the old CRL is still signed.
iotad_restart || bail_out "iotad did not restart"
pass "a restarted iotad loads the current and the archived key from the token"
STATUS=$(curl -sS -o "$T/old.crl" -w '%{http_code}' "$(rev_url)/crl/$OLD.crl")
is "$STATUS" 200 "the old intermediate's CRL is still served"
like "$(ossl crl -inform DER -in "$T/old.crl" -noout -CAfile "$T/old-inter.crt" 2>&1)" \
    'verify OK' "... signed on the token by the old intermediate"
api POST /v1/groups/g1/devices/d1/revoke "$OP"
is_status 200 "revoke d1 (from the old intermediate)"
curl -sS -o "$T/old2.crl" "$(rev_url)/crl/$OLD.crl"
like "$(ossl crl -inform DER -in "$T/old2.crl" -noout -text 2>&1)" \
    "Serial Number: $(serial_of "$T/d1.crt")" "a new CRL of the old intermediate lists d1"
ok "! grep -qF -e '$PIN' -e '$ROOT_PIN' '$IOTAD_LOG' '$D/iotad.out'" \
    "no PIN in iotad's log or output"

# --- one clear line for what goes wrong --------------------------------------------------
mkcsr p256 "$T/x" /CN=x || bail_out "openssl req failed"
SIGN=("$IOTACTL" ca sign --dir "$CA" --csr "$T/x.csr" --name x
    --pkcs11-module "$MODULE" --passphrase-file)
run_fail_nochange "$CA" 1 "wrong PIN for the token \\(pkcs11:token=iota-online;" \
    "ca sign with a wrong PIN" -- "${SIGN[@]}" "$T/wrong.pin"
unlike "$ERR" 'not-the-pin' "... the wrong PIN is not echoed"
run_fail_nochange "$CA" 1 "PKCS#11 module $T/nosuch.so not found" \
    "ca sign with a missing module" -- "$IOTACTL" ca sign --dir "$CA" \
    --csr "$T/x.csr" --name x --pkcs11-module "$T/nosuch.so" --passphrase-file "$D/pass"
run_fail_nochange "$CA" 1 'no such key on the token: nothing matches pkcs11:token=iota-online;object=intermediate-9' \
    "ca crl --root-key naming no object" -- "$IOTACTL" ca crl --dir "$CA" --root \
    --root-key 'pkcs11:token=iota-online;object=intermediate-9' \
    --pkcs11-module "$MODULE" --passphrase-file "$D/pass"
run_fail_nochange "$CA" 1 'pkcs11:token=iota-nosuch;object=root: no such token' \
    "ca crl --root-key naming no token" -- "$IOTACTL" ca crl --dir "$CA" --root \
    --root-key 'pkcs11:token=iota-nosuch;object=root' \
    --pkcs11-module "$MODULE" --passphrase-file "$T/root.pin"
run_fail_nochange "$CA" 1 'the token already holds an object labelled intermediate-2' \
    "rotate onto a label already taken" -- "$IOTACTL" ca rotate --dir "$CA" \
    "${KEYS[@]}" --intermediate-uri 'pkcs11:token=iota-online;object=intermediate-2'
run_fail_nochange "$CA" 1 'a CA key URI carries no PIN' \
    "rotate with a PIN in the URI" -- "$IOTACTL" ca rotate --dir "$CA" "${KEYS[@]}" \
    --intermediate-uri "pkcs11:token=iota-online;object=i3?pin-value=$PIN"
unlike "$ERR" "$PIN" "... and does not echo it"
run_fail 1 'no such token: none of the module' "init onto a missing token" -- \
    "$IOTACTL" ca init --dir "$T/new" "${KEYS[@]}" \
    --root-uri 'pkcs11:token=iota-nosuch;object=root' \
    --intermediate-uri 'pkcs11:token=iota-online;object=i3'
ok "[ ! -e '$T/new' ]" "... and leaves no CA directory behind"

# iotad with a wrong PIN refuses to start, in one line, without the PIN.
iotad_stop
cp "$D/pass" "$T/good.pin"
cp "$T/wrong.pin" "$D/pass"
run "$IOTAD" -c "$IOTAD_CONF"
is "$RC" 1 "iotad with a wrong PIN: exits 1"
like "$ERR" '^iotad: [^'$'\n'']*wrong PIN for the token \(pkcs11:token=iota-online;[^'$'\n'']*\)$' \
    "iotad with a wrong PIN: says so in one line"
unlike "$ERR" 'not-the-pin' "... without the PIN"
cp "$T/good.pin" "$D/pass"
iotad_start
ok "[ -n '$IOTAD_PID' ]" "with the right PIN again, iotad starts"

done_testing
