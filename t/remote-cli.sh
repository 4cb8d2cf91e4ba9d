#!/bin/bash
# iotactl's remote verbs, without iotad: --help of every verb, usage errors
# (exit 2, one line), missing server and credentials, an unreachable server
# and a TLS peer that the root does not vouch for (exit 7, one line),
# provision's key and certificate files, and no secret in any output.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
need_iotactl

unset IOTA_SERVER IOTA_CA_FILE IOTA_TOKEN IOTA_TOKEN_FILE \
    IOTA_PROVISION_SECRET IOTA_PROVISION_SECRET_FILE
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

SECRET="PS0123456789abcdef.$(printf 'Zq%.0s' {1..21})x"
TOKEN="iota_op_$(printf 'Tk%.0s' {1..21})y"
printf '%s\n' "$SECRET" >"$T_TMP/secret"
printf '%s\n' "$TOKEN" >"$T_TMP/token"
chmod 600 "$T_TMP/secret" "$T_TMP/token"

# Everything iotactl prints, to look for the secrets at the end.
SEEN=$T_TMP/seen
: >"$SEEN"
seen() { printf '%s\n%s\n' "$OUT" "$ERR_RAW" >>"$SEEN"; }
rfail() { run_fail "$@"; seen; }

mentions() {
	[[ $1 =~ (^|[^[:alnum:]-])$2([^[:alnum:]-]|$) ]]
}

# --- --help ---------------------------------------------------------------------

run "$IOTACTL" --help
for c in 'tenant add' 'add group' 'list groups' 'list devices' show revoke \
    enable 'group rotate-secret' 'group set' 'group delete' provision; do
	ok 'mentions "$OUT" "$c"' "iotactl --help: mentions $c"
done

# verb: options its --help must name
VERBS=(
	"tenant add:--server --ca-file --token --token-file"
	"add:--group --from --quota --secret-expires --server --ca-file --token --token-file"
	"list groups:--output --server --ca-file --token --token-file"
	"list devices:--group --output --server --ca-file --token --token-file"
	"list certs:--group --expiring --output --server --ca-file --token --token-file"
	"show:--group --output --server --ca-file --token --token-file"
	"revoke:--group --reason --server --ca-file --token --token-file"
	"renew:--cert --key --out --key-type --same-key --daemon --renew-period --exec --server --ca-file"
	"enable:--group --server --ca-file --token --token-file"
	"group rotate-secret:--server --ca-file --token --token-file"
	"group set:--quota --secret-expires --certificate-days --renew-grace --server --ca-file --token --token-file"
	"group delete:--server --ca-file --token --token-file"
	"provision:--group --out --provision-secret --provision-secret-file --key-type --force --server --ca-file"
)
for entry in "${VERBS[@]}"; do
	verb=${entry%%:*}
	# shellcheck disable=SC2086
	run "$IOTACTL" $verb --help
	is "$RC" 0 "$verb --help: exit 0"
	is "$ERR" "" "$verb --help: nothing on stderr"
	like "$OUT" "^usage: iotactl $verb" "$verb --help: usage on stdout"
	for o in ${entry#*:}; do
		ok 'mentions "$OUT" "'"$o"'"' "$verb --help: mentions $o"
	done
done
for w in tenant list group; do
	run "$IOTACTL" "$w" --help
	is "$RC:$ERR" "0:" "$w --help: exit 0, nothing on stderr"
	like "$OUT" "^usage: iotactl $w verb" "$w --help: lists the verbs"
done
run "$IOTACTL" provision --help
for k in ec-p256 ec-p384 ed25519 rsa-3072; do
	ok 'mentions "$OUT" '"$k" "provision --help: mentions key type $k"
done

# --- iotactl(1) documents them ------------------------------------------------------

if [ -n "$MANDOC" ]; then
	man=$("$MANDOC" -Tascii "$TOP_SRCDIR/man/iotactl.1" 2>/dev/null |
	    sed 's/.\x08//g' | tr -s '[:space:]' ' ')
	for entry in "${VERBS[@]}"; do
		verb=${entry%%:*}
		ok 'mentions "$man" "'"$verb"'"' "iotactl.1 documents $verb"
		for o in ${entry#*:}; do
			ok 'mentions "$man" "'"$o"'"' "iotactl.1 documents $verb $o"
		done
	done
	for w in IOTA_SERVER IOTA_CA_FILE IOTA_TOKEN IOTA_TOKEN_FILE \
	    IOTA_PROVISION_SECRET IOTA_PROVISION_SECRET_FILE; do
		ok 'mentions "$man" '"$w" "iotactl.1 documents $w"
	done
	exits=${man#*EXIT STATUS}
	exits=${exits%%EXAMPLES*}
	for c in 3 4 5 6 7; do
		ok '[[ $exits =~ " '"$c"' " ]]' "iotactl.1 documents exit status $c"
	done
else
	skip "mandoc not found" 1
fi

# --- usage errors: exit 2, one line, before any network ----------------------------

S=(--server https://127.0.0.1:9 --token-file "$T_TMP/token")
P=(--server https://127.0.0.1:9 --provision-secret-file "$T_TMP/secret")
usage() {
	local re=$1 desc=$2
	shift 2
	rfail 2 "$re" "$desc" -- "$IOTACTL" "$@"
}
usage 'no verb' "tenant without a verb" tenant
usage 'unknown verb' "tenant nosuch" tenant nosuch
usage 'NAME is required' "tenant add without NAME" tenant add "${S[@]}"
usage 'bad tenant name' "tenant add with a bad name" tenant add 'a/b' "${S[@]}"
usage 'nosuch' "tenant add --nosuch" tenant add t --nosuch "${S[@]}"
usage 'what to add' "add without arguments" add "${S[@]}"
usage 'what to add' "add -g GROUP alone" add -g g1 "${S[@]}"
usage '-g GROUP is required' "add DEVICE without -g" add d1 "${S[@]}"
usage "ambiguous: use 'add group NAME' for a group, or 'add DEVICE -g GROUP' for a device" \
    "add group -g grp (two forms collide): both forms shown" add group -g grp "${S[@]}"
usage 'group NAME is required' "add group without NAME" add group "${S[@]}"
usage 'no -g or --from' "add group NAME -g" add group g1 -g g2 "${S[@]}"
usage 'not both' "add DEVICE --from" add d1 -g g1 --from /dev/null "${S[@]}"
usage 'too many' "add with three arguments" add a b c -g g1 "${S[@]}"
usage 'are for add group' "add DEVICE --quota" add d1 -g g1 --quota 3 "${S[@]}"
usage 'quota' "add group --quota x" add group g1 --quota x "${S[@]}"
usage 'quota' "add group --quota none" add group g1 --quota none "${S[@]}"
usage 'secret-expires' "add group --secret-expires tomorrow" \
    add group g1 --secret-expires tomorrow "${S[@]}"
usage 'secret-expires' "add group --secret-expires 2027-02-30" \
    add group g1 --secret-expires 2027-02-30 "${S[@]}"
usage 'secret-expires' "add group --secret-expires 5y" \
    add group g1 --secret-expires 5y "${S[@]}"
usage 'bad device name' "add a.b -g g1" add a.b -g g1 "${S[@]}"
usage 'bad group name' "add d1 -g 'g 1'" add d1 -g 'g 1' "${S[@]}"
usage 'bad group name' "add group _x" add group _x "${S[@]}"
usage 'no verb' "list without a verb" list
usage 'unknown verb' "list nosuch" list nosuch
usage '-g GROUP is required' "list devices without -g" list devices "${S[@]}"
usage 'table or json' "list groups -o xml" list groups -o xml "${S[@]}"
usage 'unexpected argument' "list groups extra" list groups extra "${S[@]}"
usage 'option -g' "list groups -g g1" list groups -g g1 "${S[@]}"
for v in show revoke enable; do
	usage 'DEVICE is required' "$v without DEVICE" "$v" -g g1 "${S[@]}"
	usage '-g GROUP is required' "$v without -g" "$v" d1 "${S[@]}"
	usage 'one DEVICE' "$v with two devices" "$v" d1 d2 -g g1 "${S[@]}"
done
usage 'table or json' "show -o yaml" show d1 -g g1 -o yaml "${S[@]}"
usage 'no verb' "group without a verb" group
usage 'unknown verb' "group nosuch" group nosuch
for v in rotate-secret set delete; do
	usage 'GROUP is required' "group $v without GROUP" group "$v" "${S[@]}"
done
usage 'nothing to set' "group set without a change" group set g1 "${S[@]}"
usage 'quota' "group set --quota -1" group set g1 --quota -1 "${S[@]}"
usage 'option --quota' "group delete --quota" group delete g1 --quota 1 "${S[@]}"
usage 'DEVICE is required' "provision without DEVICE" \
    provision -g g1 --out "$T_TMP/d" "${P[@]}"
usage '--out DIR are required' "provision without --out" \
    provision d1 -g g1 "${P[@]}"
usage '-g GROUP and' "provision without -g" provision d1 --out "$T_TMP/d" "${P[@]}"
usage 'key type' "provision --key-type dsa" \
    provision d1 -g g1 --out "$T_TMP/d" --key-type dsa "${P[@]}"
usage 'bad device name' "provision ../x" \
    provision ../x -g g1 --out "$T_TMP/d" "${P[@]}"
usage 'option --token' "provision --token" \
    provision d1 -g g1 --out "$T_TMP/d" --token "$TOKEN" "${P[@]}"
usage 'not both' "provision with the secret twice" \
    provision d1 -g g1 --out "$T_TMP/d" --provision-secret "$SECRET" "${P[@]}"
usage 'no provisioning secret' "provision without a secret" \
    provision d1 -g g1 --out "$T_TMP/d" --server https://127.0.0.1:9
ok "[ ! -e '$T_TMP/d' ]" "usage errors of provision create nothing"

# A secret typed where it does not belong is not repeated.
usage 'one DEVICE' "provision with the secret as an argument" \
    provision d1 "$SECRET" -g g1 --out "$T_TMP/d" "${P[@]}"
usage 'bad device name' "provision with the secret as DEVICE" \
    provision "$SECRET" -g g1 --out "$T_TMP/d" "${P[@]}"
usage 'option --provision-secrets$|option --provision-secrets ' \
    "a misspelt --provision-secret=SECRET" \
    provision d1 -g g1 --out "$T_TMP/d" "--provision-secrets=$SECRET" \
    --server https://127.0.0.1:9
usage 'token in --token is not valid' "a token with a space" \
    list groups --server https://127.0.0.1:9 --token "$TOKEN x"
usage 'not both' "--token and --token-file" \
    list groups "${S[@]}" --token "$TOKEN"

# --- server, root and credentials ------------------------------------------------

for v in "tenant add t1" "add group g1" "add d1 -g g1" "list groups" \
    "list devices -g g1" "show d1 -g g1" "revoke d1 -g g1" "enable d1 -g g1" \
    "group rotate-secret g1" "group set g1 --quota 1" "group delete g1"; do
	# shellcheck disable=SC2086
	usage 'no server: give --server URL or set IOTA_SERVER' \
	    "$v without a server" $v --token-file "$T_TMP/token"
	# shellcheck disable=SC2086
	usage 'no token' "$v without a token" $v --server https://127.0.0.1:9
done
usage 'no server' "provision without a server" \
    provision d1 -g g1 --out "$T_TMP/d" --provision-secret-file "$T_TMP/secret"
usage 'not an https:// URL' "--server http://" \
    list groups --server http://127.0.0.1:9 --token-file "$T_TMP/token"
usage 'not an https:// URL' "--server without a scheme" \
    list groups --server 127.0.0.1:9 --token-file "$T_TMP/token"
rfail 2 'IOTA_SERVER is not an https:// URL' "IOTA_SERVER=ftp://" -- \
    env IOTA_SERVER=ftp://127.0.0.1 "$IOTACTL" list groups --token-file "$T_TMP/token"
usage 'no user name or password' "--server with a password" \
    list groups --server "https://u:$SECRET@127.0.0.1:9" --token-file "$T_TMP/token"
rfail 1 'cannot open .*nosuch' "--ca-file missing" -- \
    "$IOTACTL" list groups "${S[@]}" --ca-file "$T_TMP/nosuch"
rfail 1 'not a PEM certificate' "--ca-file not a certificate" -- \
    "$IOTACTL" list groups "${S[@]}" --ca-file "$T_TMP/token"
rfail 1 'token file: cannot open' "--token-file missing" -- \
    "$IOTACTL" list groups --server https://127.0.0.1:9 --token-file "$T_TMP/nosuch"
: >"$T_TMP/empty"
rfail 1 'no valid token' "--token-file empty" -- \
    "$IOTACTL" list groups --server https://127.0.0.1:9 --token-file "$T_TMP/empty"

# --- an unreachable server: exit 7 -------------------------------------------------

# start_tls_peer CERT KEY: an `openssl s_server -www` on a free loopback port;
# sets PEER_PORT and PEER_PID.  No sleep: its ACCEPT line says it listens.
start_tls_peer() {
	local fifo=$T_TMP/peer.$RANDOM line
	mkfifo "$fifo" || return 1
	"$OPENSSL" s_server -www -accept 127.0.0.1:0 -cert "$1" -key "$2" \
	    -naccept 20 >"$fifo" 2>&1 </dev/null &
	PEER_PID=$!
	at_exit "kill $PEER_PID"
	exec 4<"$fifo"
	while IFS= read -r -t 20 -u 4 line; do
		[[ $line == ACCEPT* ]] && break
	done
	PEER_PORT=${line##*:}
	cat <&4 >/dev/null 2>&1 &
	exec 4<&-
	[[ $PEER_PORT =~ ^[0-9]+$ ]]
}

ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T_TMP/peer.key" -out "$T_TMP/peer.crt" -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -days 1 2>/dev/null
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T_TMP/other.key" -out "$T_TMP/other.crt" -subj /CN=other \
    -days 1 2>/dev/null

# A port that was just free: a peer's, after it is gone.
start_tls_peer "$T_TMP/peer.crt" "$T_TMP/peer.key" ||
    bail_out "openssl s_server did not start"
FREE=$PEER_PORT
kill "$PEER_PID"
wait "$PEER_PID" 2>/dev/null
U=https://127.0.0.1:$FREE
printf '# devices\nd1\n\nd2\n' >"$T_TMP/names"
rfail 7 "^iotactl: cannot reach $U/v1/tenants: " "tenant add, nothing listening" -- \
    "$IOTACTL" tenant add t1 --server "$U" --token-file "$T_TMP/token"
rfail 7 "^iotactl: cannot reach $U/v1/groups: " "add group, nothing listening" -- \
    "$IOTACTL" add group g1 --server "$U/" --token-file "$T_TMP/token"
rfail 7 "cannot reach $U/v1/groups/g1/devices" "add --from, nothing listening" -- \
    env IOTA_SERVER="$U" IOTA_TOKEN="$TOKEN" \
    "$IOTACTL" add -g g1 --from "$T_TMP/names"
rfail 7 "cannot reach $U/v1/groups/g1/devices/d1" "show, nothing listening" -- \
    env IOTA_SERVER="$U" IOTA_TOKEN_FILE="$T_TMP/token" "$IOTACTL" show d1 -g g1
rfail 7 "cannot reach $U/v1/groups/g1/rotate-secret" \
    "group rotate-secret, nothing listening" -- \
    "$IOTACTL" group rotate-secret g1 --server "$U" --token "$TOKEN"

# --- provision: the key first, the certificate last ---------------------------------

D=$T_TMP/dev
rfail 7 "cannot reach $U/v1/provision" "provision, nothing listening" -- \
    "$IOTACTL" provision d1 -g g1 --out "$D" --server "$U" \
    --provision-secret-file "$T_TMP/secret"
ok "[ -f '$D/d1.key' ] && [ ! -e '$D/d1.crt' ]" \
    "provision wrote DEVICE.key before the request, no DEVICE.crt"
is "$(file_mode "$D/d1.key")" 600 "DEVICE.key has mode 0600"
is "$(file_mode "$D")" 700 "--out DIR made with mode 0700"
ok "ossl pkey -in '$D/d1.key' -noout" "DEVICE.key is an unencrypted key"
like "$(head -1 "$D/d1.key")" 'BEGIN PRIVATE KEY' "DEVICE.key is PKCS#8"
like "$(ossl pkey -in "$D/d1.key" -noout -text 2>/dev/null | head -1)" \
    '256 bit' "the default key type is ec-p256"
before=$(dir_manifest "$D")
rfail 7 "cannot reach" "provision again (a retry), nothing listening" -- \
    env IOTA_PROVISION_SECRET="$SECRET" "$IOTACTL" provision d1 -g g1 \
    --out "$D" --server "$U"
unchanged "$D" "$before" "a retry reuses DEVICE.key"
rfail 1 'not of type ed25519.*remove it' \
    "a retry asking for another key type" -- \
    env IOTA_PROVISION_SECRET="$SECRET" "$IOTACTL" provision d1 -g g1 \
    --out "$D" --server "$U" --key-type ed25519
unchanged "$D" "$before" "and changes nothing"

cp "$T_TMP/peer.crt" "$D/d1.crt"
before=$(dir_manifest "$D")
rfail 1 "d1.crt exists: d1 is provisioned already \(--force" \
    "provision over DEVICE.crt without --force" -- \
    "$IOTACTL" provision d1 -g g1 --out "$D" --server "$U" \
    --provision-secret-file "$T_TMP/secret"
unchanged "$D" "$before" "provision without --force changes nothing"
rfail 7 "cannot reach" "provision --force, nothing listening" -- \
    "$IOTACTL" provision d1 -g g1 --out "$D" --server "$U" --force \
    --key-type ed25519 --provision-secret-file "$T_TMP/secret"
ok "cmp -s '$D/d1.crt' '$T_TMP/peer.crt'" "--force keeps DEVICE.crt until iotad answers"
ok "[ -f '$D/d1.key.new' ]" "--force puts the new key in DEVICE.key.new"
is "$(file_mode "$D/d1.key.new")" 600 "DEVICE.key.new has mode 0600"
like "$(ossl pkey -in "$D/d1.key.new" -noout -text 2>/dev/null | head -1)" \
    'ED25519' "DEVICE.key.new is of the type asked for"
before=$(dir_manifest "$D")
rfail 7 "cannot reach" "provision --force again, nothing listening" -- \
    "$IOTACTL" provision d1 -g g1 --out "$D" --server "$U" --force \
    --provision-secret-file "$T_TMP/secret"
unchanged "$D" "$before" "a retry of --force reuses DEVICE.key.new"
ok "[ -z \"\$(find '$D' -name '.*tmp')\" ]" "no temporary file is left"

# --- a TLS peer that the root does not vouch for --------------------------------------

start_tls_peer "$T_TMP/peer.crt" "$T_TMP/peer.key" ||
    bail_out "openssl s_server did not start"
U=https://127.0.0.1:$PEER_PORT
rfail 7 "^iotactl: cannot reach $U/v1/groups: .*(certificate|SSL)" \
    "a peer with another root's certificate" -- \
    "$IOTACTL" list groups --server "$U" --ca-file "$T_TMP/other.crt" \
    --token-file "$T_TMP/token"
rfail 7 "^iotactl: cannot reach $U/v1/groups/g1/devices/d1: .*(certificate|SSL)" \
    "IOTA_CA_FILE of another root" -- \
    env IOTA_CA_FILE="$T_TMP/other.crt" "$IOTACTL" show d1 -g g1 \
    --server "$U" --token "$TOKEN"
rfail 7 "^iotactl: cannot reach .*(certificate|SSL)" \
    "a self-signed peer and the system's store" -- \
    "$IOTACTL" list groups --server "$U" --token-file "$T_TMP/token"
rfail 7 "^iotactl: cannot reach .*localhost.*(certificate|SSL|subject)" \
    "a peer whose certificate names another host" -- \
    "$IOTACTL" list groups --server "https://localhost:$PEER_PORT" \
    --ca-file "$T_TMP/peer.crt" --token-file "$T_TMP/token"
# The right root: TLS passes, and an HTML page is not an answer of iotad.
rfail 7 "^iotactl: $U/v1/groups: the server's answer is not a JSON object" \
    "the peer's own root: TLS passes, the answer is no JSON" -- \
    "$IOTACTL" list groups --server "$U" --ca-file "$T_TMP/peer.crt" \
    --token-file "$T_TMP/token"
rfail 7 "^iotactl: cannot reach .*(SSL|certificate)" \
    "provision to an unvouched peer" -- \
    "$IOTACTL" provision d2 -g g1 --out "$D" --server "$U" \
    --ca-file "$T_TMP/other.crt" --provision-secret-file "$T_TMP/secret"
ok "[ ! -e '$D/d2.crt' ]" "no certificate from an unvouched peer"

# --- no secret anywhere --------------------------------------------------------------

ok "! grep -qF -- '$SECRET' '$SEEN'" "the provisioning secret is in no output"
ok "! grep -qF -- '$TOKEN' '$SEEN'" "the token is in no output"
ok "! grep -rqF -- '$SECRET' '$D'" "the provisioning secret is in no file written"
ok "[ -s '$SEEN' ]" "(and there was output to look at)"

done_testing
