#!/bin/bash
# The seed's ingress sees iotad's revocations: a real nginx in front of a
# service checks device certificates provisioned by a real iotad, once
# with OCSP (the responder each certificate names, asked at every
# handshake) and once with the CRLs iotad serves.  Both admit a live
# device and refuse a revoked one; revoke, enable and re-provision: the
# old certificate stays refused, the new one gets in.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/nginx.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

T=$T_TMP
D=$T/iotad
CA=$D/ca
iotad_setup "$D" "revocation:
  port: 0"
iotad_start || bail_out "iotad did not start"
REV_PORT=$(sed -n 's|.* revocation listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' \
    "$IOTAD_LOG" | tail -1)
[ -n "$REV_PORT" ] || bail_out "no revocation listener in the log"
REV_URL=http://127.0.0.1:$REV_PORT
ISSUER=$(serial_of "$CA/intermediate.crt")

tenant_add acme OP || bail_out "tenant"
group_add "$OP" g1 SECRET || bail_out "group"
devices_add "$OP" g1 live gone || bail_out "devices"
for dev in live gone; do
	device_key "$T/$dev"
	provision "$SECRET" g1 "$dev" "$T/$dev.csr"
	[ "$STATUS" = 201 ] || bail_out "provision $dev: $STATUS $BODY"
	save_provisioned "$T/$dev"
done

# get NAME: /whoami through the ingress with NAME's certificate.
get() {
	STATUS=$(curl -sS --max-time 20 --cacert "$CA/root.crt" \
	    --cert "$T/$1.crt" --key "$T/$1.key" -o "$T/$1.body" \
	    -w '%{http_code}' "$NGINX_URL/whoami" 2>"$T/$1.err")
	[ -n "$STATUS" ] || STATUS=000
}

# --- OCSP: nginx asks the responder the certificate names --------------------------
NGINX_OCSP=leaf
nginx_setup "$T/nginx" "$CA/ca-chain.pem" "$D/server.crt" "$D/server.key"
nginx_start || bail_out "cannot start nginx"
get live
is "$STATUS" 200 "OCSP ingress: a live device gets in"
like "$(cat "$T/live.body")" 'subject=<CN=live,OU=g1,O=acme>' "... as itself"
get gone
is "$STATUS" 200 "OCSP ingress: the other device too, before its revocation"
api POST /v1/groups/g1/devices/gone/revoke "$OP" '{"reason":"keyCompromise"}'
is_status 200 "revoke gone"
get gone
is "$STATUS" 400 "OCSP ingress: the revoked device is refused at once"
like "$(cat "$NGINX_DIR/logs/error.log")" 'certificate revoked|OCSP.*revoked' \
    "... nginx says the certificate is revoked"
get live
is "$STATUS" 200 "OCSP ingress: the live device still gets in"

# Enable and provision again with a new key: the old certificate stays out.
api POST /v1/groups/g1/devices/gone/enable "$OP"
is_status 200 "enable gone"
cp "$T/gone.crt" "$T/old.crt"; cp "$T/gone.key" "$T/old.key"
device_key "$T/gone"
provision "$SECRET" g1 gone "$T/gone.csr"
is_status 201 "gone provisions again with a new key"
save_provisioned "$T/gone"
get old
is "$STATUS" 400 "OCSP ingress: the old, revoked certificate is still refused"
get gone
is "$STATUS" 200 "OCSP ingress: the new certificate gets in"
nginx_stop

# --- CRLs: fetched from iotad, as a timer would -------------------------------------
curl -sS --max-time 20 -o "$T/inter.crl" "$REV_URL/crl/$ISSUER.crl" ||
    bail_out "cannot fetch the CRL"
{ ossl crl -inform DER -in "$T/inter.crl" &&
  iota ca crl --dir "$CA" --passphrase-file "$D/pass" --root; } >"$T/crls.pem" ||
    bail_out "CRLs"
NGINX_OCSP=
nginx_setup "$T/nginx-crl" "$CA/ca-chain.pem" "$D/server.crt" "$D/server.key" \
    "$T/crls.pem"
nginx_start || bail_out "cannot start nginx with the CRLs"
get old
is "$STATUS" 400 "CRL ingress: the revoked certificate is refused"
get live
is "$STATUS" 200 "CRL ingress: a live device gets in"
get gone
is "$STATUS" 200 "CRL ingress: the re-provisioned device gets in"

done_testing
