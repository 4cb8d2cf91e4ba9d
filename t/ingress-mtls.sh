#!/bin/bash
# The seed's HTTPS path for devices: an nginx ingress (Debian's, started
# here on a free port) that verifies client certificates with the iota
# chain.  A device certificate gets through and its subject reaches the
# upstream; no certificate, a foreign root's certificate, a revoked one
# (CRL), a server certificate and a forged subject header are refused or
# overwritten.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/nginx.sh"
need_iotactl
command -v curl >/dev/null 2>&1 || bail_out "curl is needed (scripts/install-deps --test)"

T=$T_TMP
CA=$T/ca
ca_init "$CA" || bail_out "ca init failed"
iota ca issue --dir "$CA" --passphrase-file "$PASS" --server-name localhost \
    --ip 127.0.0.1 --out "$T/srv" >/dev/null || bail_out "ca issue failed"
mkcsr p256 "$T/dev1" /CN=x || bail_out "openssl req failed"
ca_sign "$CA" "$T/dev1.csr" dev1 >"$T/dev1.crt" || bail_out "ca sign failed"
# A device certificate revoked, and the CRLs of both CA levels.
ca_sign "$CA" "$T/dev1.csr" dev1 >"$T/revoked.crt" || bail_out "ca sign failed"
iota ca revoke --dir "$CA" "$(serial_of "$T/revoked.crt")" >/dev/null ||
    bail_out "ca revoke failed"
{ iota ca crl --dir "$CA" --passphrase-file "$PASS" &&
  iota ca crl --dir "$CA" --passphrase-file "$PASS" --root; } >"$T/crls.pem" ||
    bail_out "ca crl failed"
# A server certificate of the same CA: a valid chain, but not for clients.
iota ca issue --dir "$CA" --passphrase-file "$PASS" --server-name other \
    --out "$T/other" >/dev/null || bail_out "ca issue (other) failed"
# The same key and names under another root (its CA names are the same).
ca_init "$T/foreign" || bail_out "foreign ca init failed"
ca_sign "$T/foreign" "$T/dev1.csr" dev1 >"$T/foreign.crt" ||
    bail_out "foreign ca sign failed"

nginx_setup "$T/nginx" "$CA/ca-chain.pem" "$T/srv.crt" "$T/srv.key" "$T/crls.pem"
nginx_start || bail_out "cannot start nginx"
pass "nginx listening on $NGINX_URL"

# get NAME PATH [curl args...]: sets STATUS and BODY; the client trusts
# the iota root and checks the server's name.
get() {
	local name=$1 path=$2
	shift 2
	STATUS=$(curl -sS --max-time 20 --cacert "$CA/root.crt" \
	    -o "$T/$name.body" -w '%{http_code}' "$@" "$NGINX_URL$path" \
	    2>"$T/$name.err")
	BODY=$(cat "$T/$name.body" 2>/dev/null)
	[ -n "$STATUS" ] || STATUS=000
}

log_mark() { wc -l <"$NGINX_DIR/logs/error.log"; }
log_since() { tail -n +"$(($1 + 1))" "$NGINX_DIR/logs/error.log"; }

# --- a device of this CA --------------------------------------------------------

get dev /whoami --cert "$T/dev1.crt" --key "$T/dev1.key"
is "$STATUS" 200 "device: 200" || diag "$(cat "$T/dev.err")" "$BODY"
like "$BODY" '^subject=<CN=dev1>' "device: the ingress saw CN=dev1"
like "$BODY" $'\nverify=<SUCCESS>' "device: verified"

get up /upstream/hello --cert "$T/dev1.crt" --key "$T/dev1.key" \
    -H 'X-Client-Subject: CN=admin' -H 'X-Client-Verify: SUCCESS'
is "$STATUS" 200 "device through the ingress to the upstream: 200"
like "$BODY" '^upstream saw subject=<CN=dev1>' \
    "upstream got the verified subject, not the one the client sent"
like "$BODY" $'\nupstream saw verify=<SUCCESS>' "upstream got verify=SUCCESS"

# --- refused ---------------------------------------------------------------------

m=$(log_mark)
get none /whoami
is "$STATUS" 400 "no client certificate: 400"
like "$BODY" 'No required SSL certificate was sent' \
    "no client certificate: nginx says none was sent"
like "$(log_since "$m")" 'client sent no required SSL certificate' \
    "no client certificate: the error log says so"
get none-up /upstream/hello -H 'X-Client-Subject: CN=dev1'
is "$STATUS" 400 "no client certificate, upstream: 400"
unlike "$BODY" 'upstream saw' "no client certificate: the upstream was not reached"

m=$(log_mark)
get foreign /whoami --cert "$T/foreign.crt" --key "$T/dev1.key"
is "$STATUS" 400 "foreign root: 400"
like "$BODY" 'The SSL certificate error' "foreign root: nginx says the certificate failed"
like "$(log_since "$m")" 'client SSL certificate verify error: \((7|20|21):' \
    "foreign root: the error log says its chain does not verify"
get foreign-up /upstream/hello --cert "$T/foreign.crt" --key "$T/dev1.key"
is "$STATUS" 400 "foreign root, upstream: 400"
unlike "$BODY" 'upstream saw' "foreign root: the upstream was not reached"

m=$(log_mark)
get revoked /whoami --cert "$T/revoked.crt" --key "$T/dev1.key"
is "$STATUS" 400 "revoked device certificate: 400"
like "$(log_since "$m")" 'client SSL certificate verify error: \(23:certificate revoked\)' \
    "revoked device certificate: refused as revoked (CRL)"

m=$(log_mark)
get server /whoami --cert "$T/other.crt" --key "$T/other.key"
is "$STATUS" 400 "a server certificate of the same CA as client certificate: 400"
like "$(log_since "$m")" 'client SSL certificate verify error: \(26:unsuitable certificate purpose\)' \
    "server certificate: refused for its purpose (serverAuth only)"

# The client side: a device trusting only the iota root refuses a server
# whose certificate chains to another root.
get wrongroot /whoami --cacert "$T/foreign/root.crt" \
    --cert "$T/dev1.crt" --key "$T/dev1.key"
is "$STATUS" 000 "client trusting only a foreign root: no answer"
like "$(cat "$T/wrongroot.err")" 'certificate' \
    "client trusting only a foreign root: it cannot verify the server"

nginx_stop
ok "! curl -s --max-time 5 -k '$NGINX_URL/whoami'" "nginx stopped"

# --- conf/nginx-ingress.conf.example, with this test's files ------------------------

sed -e "s|/etc/nginx/tls/ingress.crt|$T/srv.crt|" \
    -e "s|/etc/nginx/tls/ingress.key|$T/srv.key|" \
    -e "s|/etc/nginx/tls/iota-ca-chain.pem|$CA/ca-chain.pem|" \
    -e "s|# ssl_crl /etc/nginx/tls/iota-crls.pem|ssl_crl $T/crls.pem|" \
    "$TOP_SRCDIR/conf/nginx-ingress.conf.example" >"$T/example.conf"
is "$(grep -v '^ *#' "$T/example.conf" | grep -c "$T/")" 4 \
    "the example's four files replaced by this test's"
nginx_check "$T/example.conf"
is "$RC" 0 "conf/nginx-ingress.conf.example passes nginx -t" || diag "$OUT"

done_testing
