#!/bin/bash
# iotactl's remote verbs end to end against a real iotad, with nothing but
# iotactl on the operator's and the device's side: the admin makes a
# tenant, its operator a group (the secret shown once) and devices, one by
# one and in bulk from a file; list and show in table and JSON; a device
# provisions itself into a directory whose key, certificate and chain
# verify with openssl and carry a real mutual-TLS handshake.  Then the
# retries of provision (a lost answer, an existing certificate, a revoked
# device, --force after enable), every exit status class with its one line
# on stderr, rotation, quotas, deletion, a restart that keeps every state,
# the rate limit (exit 6) and a stopped iotad (exit 7).  No token or secret
# is ever printed, except by the commands that exist to show one.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
need_iotad

unset IOTA_SERVER IOTA_CA_FILE IOTA_TOKEN IOTA_TOKEN_FILE \
    IOTA_PROVISION_SECRET IOTA_PROVISION_SECRET_FILE
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

T=$T_TMP
D=$T/iotad
I=$IOTACTL
iotad_setup "$D" "provisioning:
  secret_overlap: 1h"
iotad_start || bail_out "iotad did not start"

# Every remote command finds iotad through the environment (a restart moves
# it to another port); the operator's token is a file, as iotactl(1) advises.
server_env() { export IOTA_SERVER=$IOTAD_URL IOTA_CA_FILE=$CACERT; }
server_env

# Everything iotactl prints goes to SEEN, but the standard output of the
# three commands that exist to show a credential (tenant add, add group,
# group rotate-secret), which goes to SHOWN; both are searched at the end.
SEEN=$T/seen
SHOWN=$T/shown
: >"$SEEN"
: >"$SHOWN"
seen() { printf '%s\n%s\n' "$OUT" "$ERR_RAW" >>"$SEEN"; }
ctl() { run "$I" "$@"; seen; }
ctl_shows() {
	run "$I" "$@"
	printf '%s\n' "$OUT" >>"$SHOWN"
	printf '%s\n' "$ERR_RAW" >>"$SEEN"
}
# succeeds DESC ARGS...: iotactl ARGS exits 0, nothing on stderr.
succeeds() {
	local desc=$1
	shift
	ctl "$@"
	is "$RC:$ERR" "0:" "$desc: exit 0, nothing on stderr"
}
rf() { run_fail "$@"; seen; }
rfn() { run_fail_nochange "$@"; seen; }

# A well-formed tail for a secret or token: 43 base64url characters.
b64tail() { ossl rand -base64 32 | tr '+/' '-_' | cut -c1-43; }
secret_file() { (umask 077 && printf '%s\n' "$2" >"$1"); }
# The group's state as iotad has it, straight from the API (jq -S).
api_json() { api GET "$1" "$OP"; jq -cS . <<<"$BODY"; }
# A JSON value of iotactl's last output.
oj() { jq -r "$1" <<<"$OUT"; }

# --- tenant --------------------------------------------------------------------
ADMIN_FILE=$IOTAD_STATE/admin.token
ctl_shows tenant add acme --token-file "$ADMIN_FILE"
is "$RC:$ERR" "0:" "tenant add acme --token-file ADMIN: exit 0, nothing on stderr"
like "$OUT" '^iota_op_[A-Za-z0-9_-]{43}$' "tenant add: prints the operator token alone on one line"
OP=$OUT
secret_file "$T/op.token" "$OP"
export IOTA_TOKEN_FILE=$T/op.token
api GET /v1/groups "$OP"
is "$STATUS $(jq -c . <<<"$BODY")" '200 {"groups":[]}' \
    "the printed token is acme's operator token (GET /v1/groups: none yet)"
rf 5 '\(exists\)$' "tenant add acme again" -- "$I" tenant add acme --token-file "$ADMIN_FILE"
rf 3 '\(forbidden\)$' "tenant add with an operator token" -- "$I" tenant add other
api GET /v1/groups "$ADMIN"
is "$STATUS" 403 "control: the admin token is still only the admin's"

# --- groups and devices -------------------------------------------------------------
ctl_shows add group sensors
is "$RC:$ERR" "0:" "add group sensors: exit 0, nothing on stderr"
like "$OUT" '^Provisioning Secret: PS[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$' \
    "add group: prints exactly 'Provisioning Secret: PS...'"
SECRET=${OUT#Provisioning Secret: }
secret_file "$T/sensors.secret" "$SECRET"
api GET /v1/groups/sensors "$OP"
is "$STATUS $(jf '[.name, .devices, .provisioned, .quota, .secret_expires] | @json')" \
    '200 ["sensors",0,0,null,null]' "the group is in iotad: no devices, no quota, no expiry"

succeeds "add dev-1 -g sensors" add dev-1 -g sensors
like "$OUT" 'dev-1' "add dev-1: says which device"
is "$(api_json /v1/groups/sensors/devices/dev-1 | jq -r .state)" registered \
    "dev-1 is registered in iotad"

# Bulk: blank lines, comments (also indented), spaces around names, a name
# registered already and a name the file repeats.
cat >"$T/batch.txt" <<-'EOF'
	# batch 7 from the factory

	dev-2
	  dev-3  
	dev-1
	   # an indented comment
	dev-4

	dev-3
	dev-5
EOF
succeeds "add -g sensors --from FILE" add -g sensors --from "$T/batch.txt"
is "$(head -n 2 <<<"$OUT")" $'created: 4\nduplicates: 2' "add --from: created 4, duplicates 2"
is "$(tail -n +3 <<<"$OUT" | sort | tr '\n' ' ')" "  dev-1   dev-3 " \
    "add --from: the duplicates named, indented (registered already, repeated)"
api GET "/v1/groups/sensors/devices" "$OP"
is "$(jf '[.total, ([.devices[].name] | join(" "))] | @tsv')" \
    $'5\tdev-1 dev-2 dev-3 dev-4 dev-5' "iotad has the five devices, none twice"
succeeds "the same add --from again" add -g sensors --from "$T/batch.txt"
is "$(head -n 2 <<<"$OUT")" $'created: 0\nduplicates: 6' "again: nothing created, all 6 names duplicates"
printf 'dev-6\n# ok\ndev.7\ndev-8\n' >"$T/bad-batch.txt"
rf 1 'bad-batch\.txt:3: .*name' "add --from with a bad name on line 3" -- "$I" add -g sensors --from "$T/bad-batch.txt"
api GET "/v1/groups/sensors/devices/dev-6" "$OP"
is "$STATUS" 404 "  nothing of that file is registered (dev-6 before the bad line)"

# --- list and show ------------------------------------------------------------------
succeeds "list groups" list groups
is "$(awk 'NR == 1 { print $1 } $1 == "sensors" { print $2, $3 }' <<<"$OUT")" \
    $'NAME\n5 0' "list groups (table): a header, sensors with 5 devices, 0 provisioned"
succeeds "list groups -o json" list groups -o json
is "$(oj '[.groups[] | [.name, .devices, .provisioned, .quota, .secret_expires]] | @json')" \
    '[["sensors",5,0,null,null]]' "list groups -o json: sensors, 5 devices, 0 provisioned"
is "$(jq -cS '.groups' <<<"$OUT")" "$(api_json /v1/groups | jq -cS .groups)" \
    "list groups -o json: what the API answers"
succeeds "list devices -g sensors" list devices -g sensors
is "$(awk 'NR > 1 { print $1 ":" $2 }' <<<"$OUT" | tr '\n' ' ')" \
    "dev-1:registered dev-2:registered dev-3:registered dev-4:registered dev-5:registered " \
    "list devices (table): the five, registered"
succeeds "list devices -g sensors -o json" list devices -g sensors -o json
is "$(oj '[(.devices | length), ([.devices[].state] | unique | join(","))] | @tsv')" \
    $'5\tregistered' "list devices -o json: 5 devices, all registered"
succeeds "show dev-1 -g sensors" show dev-1 -g sensors
like "$OUT" $'(^|\n)state +registered(\n|$)' "show (table): state registered"
like "$OUT" $'(^|\n)serial +-(\n|$)' "show (table): no serial yet (-)"
succeeds "show dev-1 -g sensors -o json" show dev-1 -g sensors -o json
is "$(jq -cS . <<<"$OUT")" "$(api_json /v1/groups/sensors/devices/dev-1)" \
    "show -o json: the DEVICE as the API has it"

# --- provision ------------------------------------------------------------------------
P=$T/dev1	# the device's directory; iotactl creates it
succeeds "provision dev-1 --provision-secret-file" provision dev-1 -g sensors \
    --provision-secret-file "$T/sensors.secret" --out "$P"
PROV_OUT=$OUT
SERIAL1=$(awk '$1 == "serial" { print $2 }' <<<"$OUT")
like "$SERIAL1" '^[0-9A-Fa-f]{2,40}$' "provision: prints the serial ($SERIAL1)"
like "$OUT" $'(^|\n)certificate +'"$P/dev-1.crt" "provision: prints the paths written"
is "$(file_mode "$P")" 700 "--out: created 0700"
is "$(cd "$P" && ls -A | tr '\n' ' ')" "ca-chain.pem dev-1.crt dev-1.key " \
    "--out: DEVICE.key, DEVICE.crt, ca-chain.pem, nothing else"
is "$(file_mode "$P/dev-1.key")" 600 "dev-1.key: mode 0600"
is "$(head -n 1 "$P/dev-1.key")" "-----BEGIN PRIVATE KEY-----" "dev-1.key: unencrypted PKCS#8"
ok "ossl pkey -in '$P/dev-1.key' -noout -text_pub | grep -q prime256v1" \
    "dev-1.key: EC P-256 (the default)"
ok "ossl verify -x509_strict -purpose sslclient -CAfile '$CACERT' \
    -untrusted '$P/ca-chain.pem' '$P/dev-1.crt'" \
    "openssl verify: the root as anchor, ca-chain.pem untrusted (x509_strict, sslclient)"
ok "ossl verify -x509_strict -purpose sslclient -CAfile '$P/ca-chain.pem' '$P/dev-1.crt'" \
    "openssl verify: ca-chain.pem alone as the trust bundle"
is "$(pem_split "$P/ca-chain.pem" "$T/chain")" 2 "ca-chain.pem: two certificates"
ok "same_cert '$T/chain1.pem' '$D/ca/intermediate.crt' && same_cert '$T/chain2.pem' '$CACERT'" \
    "ca-chain.pem: the intermediate, then the root"
is "$(cert_pubkey "$P/dev-1.crt")" "$(key_pubkey "$P/dev-1.key")" \
    "the certificate's public key is dev-1.key's"
is "$(subject_of "$P/dev-1.crt")" "CN=dev-1,OU=sensors,O=acme" "the subject names the device"
is "$(ext_value "$P/dev-1.crt" subjectAltName)" "URI:urn:iota:device:acme:sensors:dev-1" \
    "the SAN names the device"
is "$(serial_of "$P/dev-1.crt")" "${SERIAL1^^}" "the serial printed is the certificate's"
succeeds "show dev-1 after provisioning" show dev-1 -g sensors -o json
is "$(oj '[.state, (.serial | ascii_upcase)] | @tsv')" $'provisioned\t'"${SERIAL1^^}" \
    "show -o json: provisioned, with that serial"
is "$(oj .not_after)" "$(enddate_of "$P/dev-1.crt")" "show -o json: not_after is the certificate's"
ok "! grep -qF -- '$SECRET' <<<'$PROV_OUT'" "provision prints no secret"
KEYLINE=$(sed -n 2p "$P/dev-1.key")

# --- mutual TLS with the provisioned files -----------------------------------------------
succeeds "ca issue: a server certificate for an mTLS service" ca issue --dir "$D/ca" \
    --passphrase-file "$D/pass" --server-name localhost --ip 127.0.0.1 --out "$T/mqtt"
is "$(pem_split "$T/mqtt.crt" "$T/mqtt-part")" 2 "the server certificate comes with its intermediate"

SERVER_PID=
at_exit '[ -n "$SERVER_PID" ] && kill "$SERVER_PID"'

# start_server CLIENT-CA: s_server requiring a client certificate verified
# against CLIENT-CA, on a free loopback port found now (from a random base
# until one binds), waited for by polling its output for ACCEPT (5 s a try).
start_server() {
	local base=$((20000 + RANDOM % 40000)) try i
	for ((try = 0; try < 20; try++)); do
		PORT=$((base + try))
		: >"$T/server.out"
		timeout 60 "$OPENSSL" s_server -accept "127.0.0.1:$PORT" \
		    -cert "$T/mqtt-part1.pem" -cert_chain "$T/mqtt-part2.pem" \
		    -key "$T/mqtt.key" -CAfile "$1" \
		    -Verify 1 -verify_return_error -x509_strict -www \
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

# client NAME [s_client args...]: one HTTP request; CRC, COUT.
client() {
	local name=$1
	shift
	printf 'GET / HTTP/1.0\r\n\r\n' |
	    timeout 20 "$OPENSSL" s_client -connect "127.0.0.1:$PORT" \
	    -CAfile "$CACERT" -verify_return_error -x509_strict \
	    -verify_hostname localhost -ign_eof "$@" >"$T/client-$name.out" 2>&1
	CRC=$?
	COUT=$(cat "$T/client-$name.out")
}

if start_server "$P/ca-chain.pem"; then
	pass "s_server on 127.0.0.1:$PORT, client certificates verified against ca-chain.pem"
	client dev1 -cert "$P/dev-1.crt" -key "$P/dev-1.key"
	is "$CRC" 0 "mTLS with dev-1.crt and dev-1.key: s_client exit 0" || diag "$COUT"
	like "$COUT" $'\nVerify return code: 0 \\(ok\\)' "mTLS: the device verified the server (0 ok)"
	like "$COUT" 'HTTP/1\.0 200 ok' "mTLS: the request was served"
	# What s_server says of the connection (-www), up to the page's end.
	page=${COUT#*HTTP/1.0 200 ok}
	page=${page%%</pre></BODY></HTML>*}
	like "$page" 'Verify return code: 0 \(ok\)' "mTLS: the server verified the device (0 ok)"
	like "$page" 'Client certificate' "mTLS: the server got a client certificate"
	like "$page" 'Subject: O *= *acme, OU *= *sensors, CN *= *dev-1' \
	    "mTLS: the server saw the device's subject"
	client nocert
	isnt "$CRC" 0 "control: without a client certificate the handshake fails"
	unlike "$COUT" 'HTTP/1\.0 200' "control: nothing served without a client certificate"
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
else
	fail "openssl s_server on loopback"
	skip "no s_server" 8
fi

# --- provision: retries ------------------------------------------------------------------
# The answer was lost: the key is there, the certificate is not.
cp "$P/dev-1.crt" "$T/dev-1.first.crt"
cp "$P/dev-1.key" "$T/dev-1.first.key"
rm "$P/dev-1.crt"
succeeds "provision again after a lost answer (key kept, no certificate)" provision dev-1 \
    -g sensors --provision-secret-file "$T/sensors.secret" --out "$P"
is "$(awk '$1 == "serial" { print $2 }' <<<"$OUT")" "$SERIAL1" "  the same serial"
ok "cmp -s '$P/dev-1.crt' '$T/dev-1.first.crt'" "  the very same certificate"
ok "cmp -s '$P/dev-1.key' '$T/dev-1.first.key'" "  the key was kept"
succeeds "list groups -o json" list groups -o json
is "$(oj '.groups[] | select(.name == "sensors") | .provisioned')" 1 \
    "  iotad still counts one provisioned device"

api GET /v1/groups/sensors/devices/dev-1 "$OP"
before=$BODY
rfn "$P" 1 'dev-1\.crt exists.*provisioned already' \
    "provision with the certificate present, no --force" -- \
    "$I" provision dev-1 -g sensors --provision-secret-file "$T/sensors.secret" --out "$P"
api GET /v1/groups/sensors/devices/dev-1 "$OP"
is "$BODY" "$before" "  dev-1 unchanged in iotad"

succeeds "revoke dev-1 -g sensors" revoke dev-1 -g sensors
like "$OUT" $'(^|\n)state +revoked(\n|$)' "revoke: prints the device, revoked"
succeeds "show -o json" show dev-1 -g sensors -o json
is "$(oj .state)" revoked "dev-1 is revoked in iotad"
rf 3 'revoked.*\(device_revoked\)$' "provision --force of a revoked device" -- \
    "$I" provision dev-1 -g sensors --provision-secret-file "$T/sensors.secret" --out "$P" --force
ok "cmp -s '$P/dev-1.crt' '$T/dev-1.first.crt' && cmp -s '$P/dev-1.key' '$T/dev-1.first.key'" \
    "  the old certificate and key stay"
ok "[ -f '$P/dev-1.key.new' ]" "  the new key waits in dev-1.key.new"
cp "$P/dev-1.key.new" "$T/dev-1.pending.key"
succeeds "show -o json" show dev-1 -g sensors -o json
is "$(oj .state)" revoked "  dev-1 still revoked"

succeeds "enable dev-1 -g sensors" enable dev-1 -g sensors
like "$OUT" $'(^|\n)state +registered(\n|$)' "enable: prints the device, registered"
succeeds "provision --force after enable" provision dev-1 -g sensors \
    --provision-secret-file "$T/sensors.secret" --out "$P" --force
SERIAL1N=$(awk '$1 == "serial" { print $2 }' <<<"$OUT")
isnt "$SERIAL1N" "$SERIAL1" "  a new serial ($SERIAL1N)"
is "$(cd "$P" && ls -A | tr '\n' ' ')" "ca-chain.pem dev-1.crt dev-1.key " \
    "  dev-1.key.new became dev-1.key, nothing left over"
fails "cmp -s '$P/dev-1.key' '$T/dev-1.first.key'" "  a new key"
ok "cmp -s '$P/dev-1.key' '$T/dev-1.pending.key'" "  the key of the refused run, taken up again"
is "$(file_mode "$P/dev-1.key")" 600 "  dev-1.key: mode 0600"
is "$(cert_pubkey "$P/dev-1.crt")" "$(key_pubkey "$P/dev-1.key")" "  the new certificate is for the new key"
is "$(serial_of "$P/dev-1.crt")" "${SERIAL1N^^}" "  the serial printed is the new certificate's"
ok "ossl verify -x509_strict -purpose sslclient -CAfile '$CACERT' \
    -untrusted '$P/ca-chain.pem' '$P/dev-1.crt'" "  the new certificate verifies"
succeeds "show -o json" show dev-1 -g sensors -o json
is "$(oj '[.state, (.serial | ascii_upcase)] | @tsv')" $'provisioned\t'"${SERIAL1N^^}" \
    "  iotad: provisioned with the new serial"
KEYLINE2=$(sed -n 2p "$P/dev-1.key")

# --- exit status classes, one line each -------------------------------------------------
snapshot "$OP" sensors
SNAP0=$SNAP
BADTOK="iota_op_$(b64tail)"
rf 3 'unauthorized' "a wrong token" -- "$I" list groups --token "$BADTOK"
unlike "$ERR" "${BADTOK:8}" "  the token is not in the message"
rf 4 '\(not_found\)$' "list devices of an unknown group" -- "$I" list devices -g nosuch
rf 4 '\(not_found\)$' "show a device of an unknown group" -- "$I" show dev-1 -g nosuch
rf 4 '\(not_found\)$' "show an unknown device" -- "$I" show ghost -g sensors
rf 5 '\(exists\)$' "add group sensors again (a duplicate group)" -- "$I" add group sensors
rf 5 '\(exists\)$' "add dev-1 again (a duplicate device)" -- "$I" add dev-1 -g sensors
rf 2 'name' "usage: a group name with a dot" -- "$I" add group bad.name
rf 2 '.' "usage: list devices without -g" -- "$I" list devices
rf 2 '.' "usage: -o yaml" -- "$I" list groups -o yaml
rf 2 '.' "usage: an unknown option" -- "$I" list groups --frobnicate
rf 2 '.' "usage: provision without --out" -- \
    "$I" provision dev-2 -g sensors --provision-secret-file "$T/sensors.secret"
rf 2 'token' "usage: no token" -- env -u IOTA_TOKEN_FILE "$I" list groups
rf 2 'secret' "usage: provision without a secret" -- "$I" provision dev-2 -g sensors --out "$T/nosecret"
rf 2 'server' "usage: no server" -- env -u IOTA_SERVER "$I" list groups
rf 7 '.' "a --ca-file that does not vouch for iotad" -- \
    "$I" list groups --ca-file "$T/dev-1.first.crt"
ok "[ ! -e '$T/nosecret' ]" "  a usage error writes nothing"
snapshot "$OP" sensors
is "$SNAP" "$SNAP0" "  none of these changed anything in iotad"

# --- rotate-secret, quota, delete ----------------------------------------------------------
ctl_shows group rotate-secret sensors
is "$RC:$ERR" "0:" "group rotate-secret sensors: exit 0, nothing on stderr"
like "$(head -n 1 <<<"$OUT")" '^Provisioning Secret: PS[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$' \
    "rotate-secret: prints the new secret as add group does"
like "$(tail -n +2 <<<"$OUT")" '^The previous secret stays valid until [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z' \
    "rotate-secret: then until when the old one stays valid"
is "$(wc -l <<<"$OUT")" 2 "rotate-secret: two lines"
SECRET2=$(head -n 1 <<<"$OUT")
SECRET2=${SECRET2#Provisioning Secret: }
isnt "$SECRET2" "$SECRET" "rotate-secret: a new secret"
ok "! grep -qF -- '$SECRET' <<<'$OUT'" "rotate-secret: the old secret is not shown"
secret_file "$T/sensors.secret2" "$SECRET2"
succeeds "provision dev-2 with the new secret" provision dev-2 -g sensors \
    --provision-secret-file "$T/sensors.secret2" --out "$T/dev2"
ok "ossl verify -x509_strict -purpose sslclient -CAfile '$CACERT' \
    -untrusted '$T/dev2/ca-chain.pem' '$T/dev2/dev-2.crt'" "  dev-2's certificate verifies"
is "$(subject_of "$T/dev2/dev-2.crt")" "CN=dev-2,OU=sensors,O=acme" "  and names dev-2"
# The secret from the environment this time.
IOTA_PROVISION_SECRET_FILE=$T/sensors.secret succeeds \
    "provision dev-3 with the previous secret (IOTA_PROVISION_SECRET_FILE), in its overlap" \
    provision dev-3 -g sensors --out "$T/dev3"

ctl_shows add group lab
LAB=${OUT#Provisioning Secret: }
secret_file "$T/lab.secret" "$LAB"
succeeds "add lab-1 -g lab" add lab-1 -g lab
succeeds "add lab-2 -g lab" add lab-2 -g lab
succeeds "group set lab --quota 1" group set lab --quota 1
like "$OUT" $'(^|\n)quota +1(\n|$)' "group set: prints the group, quota 1"
succeeds "list groups -o json" list groups -o json
is "$(oj '.groups[] | select(.name == "lab") | .quota')" 1 "  iotad has quota 1"
succeeds "provision lab-1 (quota 1)" provision lab-1 -g lab \
    --provision-secret-file "$T/lab.secret" --out "$T/lab1"
rf 3 '\(quota_exhausted\)$' "provision lab-2 beyond the quota" -- \
    "$I" provision lab-2 -g lab --provision-secret-file "$T/lab.secret" --out "$T/lab2"
ok "[ ! -e '$T/lab2/lab-2.crt' ]" "  no certificate written"
succeeds "show lab-2 -o json" show lab-2 -g lab -o json
is "$(oj .state)" registered "  lab-2 still registered"
rf 5 '\(group_not_empty\)$' "group delete lab with a provisioned device" -- "$I" group delete lab
succeeds "list groups -o json" list groups -o json
is "$(oj '.groups[] | select(.name == "lab") | [.devices, .provisioned] | @tsv')" $'2\t1' \
    "  lab is still there, 2 devices, 1 provisioned"
ctl_shows add group spare
succeeds "group delete spare (empty)" group delete spare
ctl_shows add group idle
succeeds "add idle-1 -g idle" add idle-1 -g idle
succeeds "group delete idle (registered devices only)" group delete idle
succeeds "list groups -o json" list groups -o json
is "$(oj '[.groups[].name] | join(" ")')" "lab sensors" "  spare and idle are gone, lab and sensors stay"
rf 4 '\(not_found\)$' "show a device of the deleted group" -- "$I" show idle-1 -g idle

# --- restart: the same states ----------------------------------------------------------------
succeeds "list devices -g sensors -o json" list devices -g sensors -o json
is "$(oj '[.devices[] | .name + ":" + .state] | join(" ")')" \
    "dev-1:provisioned dev-2:provisioned dev-3:provisioned dev-4:registered dev-5:registered" \
    "before the restart: dev-1..3 provisioned, dev-4 and dev-5 registered"
DEV_BEFORE=$OUT
ctl list devices -g sensors
TABLE_BEFORE=$OUT
ctl list devices -g lab -o json
LAB_BEFORE=$OUT
ctl list groups -o json
GROUPS_BEFORE=$OUT
iotad_restart || bail_out "iotad did not restart"
server_env
succeeds "after a restart: list devices -g sensors -o json" list devices -g sensors -o json
is "$OUT" "$DEV_BEFORE" "  the same devices, states, serials and dates"
ctl list devices -g sensors
is "$OUT" "$TABLE_BEFORE" "  the same table"
ctl list devices -g lab -o json
is "$OUT" "$LAB_BEFORE" "  lab's devices the same"
ctl list groups -o json
is "$OUT" "$GROUPS_BEFORE" "  the same groups, counts and quotas"
rm "$T/dev2/dev-2.crt"
succeeds "after a restart: a lost answer is recovered" provision dev-2 -g sensors \
    --provision-secret-file "$T/sensors.secret2" --out "$T/dev2"
is "$(cert_pubkey "$T/dev2/dev-2.crt")" "$(key_pubkey "$T/dev2/dev-2.key")" "  for dev-2's key"

# --- rate limit: 2 failed secrets a minute ---------------------------------------------------
iotad_stop
iotad_write_conf "provisioning:
  secret_overlap: 1h
ratelimit:
  failures_per_minute: 2
  lockout: 1m"
iotad_start || bail_out "iotad did not start with ratelimit.failures_per_minute 2"
server_env
WRONG="${SECRET2%%.*}.$(b64tail)"	# sensors' public id, a wrong tail
secret_file "$T/wrong.secret" "$WRONG"
codes=
for ((i = 0; i < 6; i++)); do
	ctl provision dev-4 -g sensors --provision-secret-file "$T/wrong.secret" --out "$T/dev4"
	codes+="$RC "
	_t_one_line '\((unauthorized|rate_limited)\)$' || codes+="(stderr: $ERR_RAW) "
	[ "$RC" = 6 ] && break
done
like "$codes" "^3 3 3 (3 )*6 $" "wrong secrets: exit 3 (one line each) until iotad makes the address wait, then 6 ($codes)"
# The first wait is 1 s and doubles with each failure after one: made
# long enough (8 s) for the checks below, whatever the machine's speed.
wait_s=$(sed -n 's/.*retry in \([0-9]*\) seconds.*/\1/p' <<<"$ERR_RAW")
for ((i = 0; i < 8 && ${wait_s:-0} < 8; i++)); do
	sleep "${wait_s:-1}"
	for ((k = 0; k < 3; k++)); do
		ctl provision dev-4 -g sensors --provision-secret-file "$T/wrong.secret" --out "$T/dev4"
		[ "$RC" = 6 ] && break
	done
	wait_s=$(sed -n 's/.*retry in \([0-9]*\) seconds.*/\1/p' <<<"$ERR_RAW")
done
ok "[ '${wait_s:-0}' -ge 8 ]" "each failure after a wait makes the next one longer: now ${wait_s} s"
rf 6 'retry in [0-9]+ seconds \(rate_limited\)$' "the right secret while locked out" -- \
    "$I" provision dev-4 -g sensors --provision-secret-file "$T/sensors.secret2" --out "$T/dev4"
rf 6 '\(rate_limited\)$' "an operator command from the locked-out address" -- "$I" list groups
ok "[ ! -e '$T/dev4/dev-4.crt' ]" "  dev-4 got no certificate"
API_SRC=127.0.0.2 api GET /v1/groups/sensors/devices/dev-4 "$OP"
is "$STATUS $(jf '[.state, .serial] | @json')" '200 ["registered",null]' \
    "  iotad (asked from 127.0.0.2): dev-4 still registered"

# --- iotad stopped ------------------------------------------------------------------------------
iotad_stop
is "$IOTAD_RC" 0 "iotad exits 0 on SIGTERM"
rf 7 'cannot reach' "list groups with iotad stopped" -- "$I" list groups
rfn "$T/dev4" 7 'cannot reach' "provision with iotad stopped (a key of an earlier run)" -- \
    "$I" provision dev-4 -g sensors --provision-secret-file "$T/sensors.secret2" --out "$T/dev4"

# --- no credential on the terminal ----------------------------------------------------------
for v in ADMIN OP SECRET SECRET2 LAB WRONG BADTOK; do
	ok "! grep -qF -- '${!v}' '$SEEN'" "no command printed \$$v, but where it exists to"
done
ok "grep -qF -- '$SECRET' '$SHOWN' && grep -qF -- '$SECRET2' '$SHOWN' && grep -qF -- '$OP' '$SHOWN'" \
    "control: add group, rotate-secret and tenant add did show theirs"
is "$(grep -cF -- "$SECRET" "$SHOWN")" 1 "the first secret was shown once (by add group)"
ok "! grep -qF -- '$KEYLINE' '$SEEN' '$SHOWN' && ! grep -qF -- '$KEYLINE2' '$SEEN' '$SHOWN'" \
    "no private key material printed"

done_testing
