#!/bin/bash
# A real mutual-TLS handshake with openssl s_server and s_client on loopback:
# a server certificate from `ca issue`, a device certificate from `ca sign`.
# Devices from a foreign root, revoked devices and devices without a
# certificate are refused.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl

T=$T_TMP
CA=$T/ca
ca_init "$CA" || bail_out "ca init failed"
ok "iota ca issue --dir '$CA' --passphrase-file '$PASS' --server-name localhost \
    --ip 127.0.0.1 --out '$T/srv'" "issue a server certificate for localhost"
n=$(pem_split "$T/srv.crt" "$T/srv-part")
is "$n" 2 "srv.crt: leaf and intermediate"

mkcsr p256 "$T/dev" /CN=x || bail_out "openssl req failed"
ca_sign "$CA" "$T/dev.csr" dev-1 >"$T/dev.crt"
ok "verify_chain sslclient '$T/dev.crt'" "device certificate signed"
ca_sign "$CA" "$T/dev.csr" dev-revoked >"$T/revoked.crt"
ok "iota ca revoke --dir '$CA' '$(serial_of "$T/revoked.crt")'" \
    "a second device certificate revoked"
iota ca crl --dir "$CA" --passphrase-file "$PASS" >"$T/crl.pem"
ok "ossl crl -in '$T/crl.pem' -noout" "CRL written"

# The same device key under a foreign root (another iotactl CA).
ca_init "$T/foreign" || bail_out "foreign ca init failed"
ca_sign "$T/foreign" "$T/dev.csr" dev-1 >"$T/foreign.crt"
ok "ossl verify -CAfile '$T/foreign/root.crt' -untrusted '$T/foreign/intermediate.crt' \
    '$T/foreign.crt'" "foreign device certificate valid under its own root"

# --- the server ---------------------------------------------------------------
SERVER_PID=
at_exit '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null'

# start_server: s_server on a free loopback port found now: try ports from a
# random base until one binds; wait for it by polling its output for ACCEPT.
start_server() {
	local base=$((20000 + RANDOM % 40000)) try i
	for ((try = 0; try < 20; try++)); do
		PORT=$((base + try))
		: >"$T/server.out"
		# not the ossl function: $! must be the process to kill;
		# timeout forwards the TERM and bounds a leaked server.
		timeout 120 "$OPENSSL" s_server -accept "127.0.0.1:$PORT" \
		    -cert "$T/srv-part1.pem" -cert_chain "$T/srv-part2.pem" \
		    -key "$T/srv.key" -CAfile "$CA/ca-chain.pem" \
		    -Verify 2 -verify_return_error -x509_strict \
		    -CRL "$T/crl.pem" -crl_check -www \
		    >"$T/server.out" 2>&1 </dev/null &
		SERVER_PID=$!
		for ((i = 0; i < 200; i++)); do
			grep -q '^ACCEPT' "$T/server.out" && return 0
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.025
		done
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=
	done
	diag "s_server did not start:" "$(cat "$T/server.out")"
	return 1
}

# client NAME [s_client args...]: one HTTP request through s_client, which
# trusts $CLIENT_CA (default root.crt); sets CRC and COUT, and SOUT to what
# s_server said meanwhile.
client() {
	local name=$1 mark
	shift
	mark=$(wc -l <"$T/server.out")
	printf 'GET / HTTP/1.0\r\n\r\n' |
	    timeout 20 "$OPENSSL" s_client -connect "127.0.0.1:$PORT" \
	    -CAfile "${CLIENT_CA:-$CA/root.crt}" -verify_return_error -x509_strict \
	    -verify_hostname localhost -verify_ip 127.0.0.1 -ign_eof "$@" \
	    >"$T/client-$name.out" 2>&1
	CRC=$?
	COUT=$(cat "$T/client-$name.out")
	SOUT=$(tail -n +"$((mark + 1))" "$T/server.out")
}

start_server || bail_out "cannot start openssl s_server on loopback"
pass "s_server listening on 127.0.0.1:$PORT"

# A good device.
client good -cert "$T/dev.crt" -key "$T/dev.key"
is "$CRC" 0 "device: s_client exit 0" || diag "$COUT"
like "$COUT" $'\nVerify return code: 0 \\(ok\\)' "device: client verified the server (0 ok)"
like "$COUT" 'Verified peername: localhost' "device: server name checked"
like "$COUT" 'HTTP/1\.0 200 ok' "device: request served"
page=${COUT#*HTTP/1.0 200 ok}
like "$page" 'Verify return code: 0 \(ok\)' "device: server verified the device (0 ok)"
like "$page" 'Client certificate' "device: server saw a client certificate"
like "$page" 'Subject: CN *= *dev-1' "device: server saw CN=dev-1"
like "$page" 'URI:urn:iota:device:dev-1' "device: server saw the device URI"

# A device from a foreign root.
client foreign -cert "$T/foreign.crt" -key "$T/dev.key"
isnt "$CRC" 0 "foreign device: s_client fails" || diag "$COUT"
unlike "$COUT" 'HTTP/1\.0 200' "foreign device: nothing served"
like "$SOUT" 'certificate verify failed|verify error' \
    "foreign device: server refused its certificate"

# A revoked device.
client revoked -cert "$T/revoked.crt" -key "$T/dev.key"
isnt "$CRC" 0 "revoked device: s_client fails" || diag "$COUT"
unlike "$COUT" 'HTTP/1\.0 200' "revoked device: nothing served"
like "$SOUT" 'certificate revoked|verify error:num=23' \
    "revoked device: server says certificate revoked"

# No client certificate.
client none
isnt "$CRC" 0 "no client certificate: s_client fails"
unlike "$COUT" 'HTTP/1\.0 200' "no client certificate: nothing served"

# The client refuses a server outside the root it trusts.
CLIENT_CA=$T/foreign/root.crt client wrongroot -cert "$T/dev.crt" -key "$T/dev.key"
isnt "$CRC" 0 "client trusting only a foreign root: fails"
like "$COUT" 'Verify return code: (2|20|21) ' \
    "client trusting only a foreign root: cannot verify the server"

kill "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=

done_testing
