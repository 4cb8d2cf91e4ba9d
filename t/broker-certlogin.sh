#!/bin/bash
# broker.login certificate, end to end against a real RabbitMQ (MQTT over
# mutual TLS with mqtt.ssl_cert_login, ssl_cert_login_from = common_name),
# iotad in broker.mode management, mosquitto_pub/_sub as devices and
# iota-consumer as the service.
#
# Tenant acme, group g1, devices d1 d2; tenant beta, group gb, device b1.
# A device's certificate has CN = its broker username (tenant.group.device),
# its broker user has no password, and iotad maps the CN to the tenant's
# vhost in RabbitMQ's mqtt_default_vhosts.  d1 connects with its
# certificate alone (no username, no password) and its message reaches the
# consumer on vhost acme; b1 lands in vhost beta, not acme.  Refused: d1's
# certificate with d2's username (with or without a password), d1's
# certificate with d2's client id (it is still d1: d2's topics refused),
# d1 publishing under d2's topic.  Revoking d2 deletes its user and its
# map entry and closes its live connection.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
. "$T_SRCDIR/lib/broker.sh"
. "$T_SRCDIR/lib/rabbitmq.sh"
rabbit_need mosquitto_pub mosquitto_sub jq
need_iotad
: "${IOTA_CONSUMER:=$TOP_SRCDIR/iota-consumer}"
[ -x "$IOTA_CONSUMER" ] || bail_out "not built: $IOTA_CONSUMER"

unset IOTA_SERVER IOTA_CA_FILE IOTA_TOKEN IOTA_TOKEN_FILE \
    IOTA_PROVISION_SECRET IOTA_PROVISION_SECRET_FILE
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

T=$T_TMP
D=$T/iotad
I=$IOTACTL
START=$SECONDS

# --- iotad's CA, the broker's certificate from it, the broker, iotad -------------

broker_yaml() {
	rabbit_iotad_yaml management "$T/mgmt.credentials" \
	    "$D/state/broker.key" "login: certificate"
}

(umask 077 && echo "placeholder:placeholder" >"$T/mgmt.credentials")
iotad_setup "$D" "$(broker_yaml)"
run "$I" ca issue --dir "$D/ca" --passphrase-file "$D/pass" \
    --server-name localhost --ip 127.0.0.1 --out "$T/broker" ||
    bail_out "ca issue for the broker failed ($RC): $ERR"
rabbit_setup "$T/rabbit" "$D/ca/ca-chain.pem" "$T/broker.crt" "$T/broker.key"
# The MQTT plugin's certificate login: a client that sends no username is
# logged in as its certificate's CN (no SASL EXTERNAL needed: that is
# AMQP's rabbitmq_auth_mechanism_ssl).
rabbit_conf_extra "mqtt.ssl_cert_login = true" \
    "ssl_cert_login_from = common_name"
s=$SECONDS
rabbit_start || bail_out "cannot start RabbitMQ"
pass "RabbitMQ up in $((SECONDS - s)) s with mqtt.ssl_cert_login (MQTT/TLS $RABBIT_MQTTS_PORT)"
RLOG=$RABBIT_DIR/log/$RABBIT_NODE.log
cp "$RABBIT_MGMT_CREDS" "$T/mgmt.credentials"
chmod 600 "$T/mgmt.credentials"
IFS=: read -r ADMIN_USER ADMIN_PASS <"$RABBIT_MGMT_CREDS"
(umask 077 && printf '%s\n' "$ADMIN_PASS" >"$T/admin.pw")

iotad_write_conf "$(broker_yaml)"
iotad_start || bail_out "iotad did not start"
export IOTA_SERVER=$IOTAD_URL IOTA_CA_FILE=$CACERT

# --- helpers ------------------------------------------------------------------------




# conns USER: the broker's connections of USER, "vhost client_id" a line.
conns() {
	rabbit_api GET /api/connections
	jq -r --arg u "$1" '.[] | select(.user == $u) |
	    "\(.vhost) \(.client_properties.client_id // "?")"' <<<"$MGMT_BODY"
}
has_conns() { [ "$(conns "$1" | grep -c .)" = "$2" ]; }


# vhost_map: RabbitMQ's mqtt_default_vhosts, sorted compact JSON ({} for none).
vhost_map() {
	rabbit_api GET /api/global-parameters/mqtt_default_vhosts
	if [ "$MGMT_STATUS" = 404 ]; then
		echo '{}'
	else
		jq -cS '.value' <<<"$MGMT_BODY"
	fi
}

# cert_only NAME: mosquitto arguments of device NAME with its certificate
# alone (no username, no password) and client id = its broker username.
cert_only() {
	local b=$T/$1/broker.json
	DEV=(--cert "$T/$1/$1.crt" --key "$T/$1/$1.key"
	    -i "$(jq -r .client_id "$b")")
}




# --- tenants, groups, devices ----------------------------------------------------------

tenant() {
	run "$I" tenant add "$1" --token-file "$IOTAD_STATE/admin.token"
	is "$RC:$ERR" "0:" "iotactl tenant add $1: exit 0" &&
	    (umask 077 && printf '%s\n' "$OUT" >"$T/$1.token")
	rabbit_api GET "/api/permissions/$1/$ADMIN_USER"
	[ "$MGMT_STATUS" = 200 ] ||
	    rabbit_ctl set_permissions -p "$1" "$ADMIN_USER" '.*' '.*' '.*' >/dev/null
}

# provisioned NAME GROUP TENANT: iotactl provision, then what certificate
# login promises: CN = the username, broker.json without a password, a
# broker user without one, the CN mapped to the tenant's vhost.
provisioned() {
	local n=$1 g=$2 t=$3 user=$3.$2.$1 b
	run "$I" provision "$n" -g "$g" --out "$T/$n" \
	    --provision-secret-file "$T/$g.secret"
	is "$RC:$ERR" "0:" "iotactl provision $n -g $g: exit 0"
	b=$T/$n/broker.json
	like "$(ossl x509 -in "$T/$n/$n.crt" -noout -subject -nameopt RFC2253)" \
	    "^subject=CN=$user(,|\$)" "$n: its certificate's CN is its broker username $user"
	is "$(jq -r '[.login, .username, .client_id, .vhost, has("password")] | @tsv' "$b")" \
	    "certificate	$user	$user	$t	false" \
	    "$n: broker.json says login certificate, username = client_id = $user, vhost $t, no password"
	rabbit_api GET "/api/users/$user"
	is "$MGMT_STATUS [$(jq -r .password_hash <<<"$MGMT_BODY")]" "200 []" \
	    "$n: the broker has user $user, with no password"
	is "$(vhost_map | jq -r --arg u "$user" '.[$u] // "(none)"')" "$t" \
	    "$n: mqtt_default_vhosts maps $user to vhost $t"
}

tenant acme
tenant beta
is "$(vhost_map)" '{}' "no mqtt_default_vhosts before any device"
group acme g1 d1 d2
group beta gb b1
provisioned d1 g1 acme
provisioned d2 g1 acme
provisioned b1 gb beta
is "$(vhost_map)" '{"acme.g1.d1":"acme","acme.g1.d2":"acme","beta.gb.b1":"beta"}' \
    "mqtt_default_vhosts: the three devices, each to its tenant's vhost, nothing else"

consumer_start c-acme --vhost acme --binding 'devices.#'
_t_result $? "iota-consumer on vhost acme (devices.#): ready"
consumer_start c-beta --vhost beta --binding 'devices.#'
_t_result $? "iota-consumer on vhost beta (devices.#): ready"

# --- d1 with its certificate alone ------------------------------------------------------

cert_only d1
D1=("${DEV[@]}")
payload="t=21.5 n=$RANDOM$RANDOM"
mqtt good1 mosquitto_pub -q 1 -t devices/g1/d1/telemetry -m "$payload" "${D1[@]}"
is "$RC" 0 "d1 publishes devices/g1/d1/telemetry with its certificate alone (no -u, no -P; QoS 1)" ||
    diag "$OUT"
like "$OUT" 'received PUBACK' "d1's publish is acknowledged"
unlike " ${D1[*]} " ' -[uP] ' "  (mosquitto was given no username and no password)"
GOOD1="topic=devices/g1/d1/telemetry group=g1 device=d1 payload=$payload"
wait_for "d1's message" has_line "$T/c-acme.out" "$GOOD1"
_t_result $? "the consumer on vhost acme prints: $GOOD1" ||
    diag "$(cat "$T/c-acme.out" "$T/c-acme.err")"

# Who the broker thinks d1 is, while it is connected.
timeout 60 mosquitto_sub -h 127.0.0.1 -p "$RABBIT_MQTTS_PORT" -V mqttv311 \
    --cafile "$D/ca/ca-chain.pem" -d -q 1 -t 'commands/g1/d1/#' "${D1[@]}" \
    >"$T/d1-live.mqtt" 2>&1 </dev/null &
D1LIVE=$!
at_exit "kill $D1LIVE"
wait_for "d1's connection" has_conns acme.g1.d1 1
is "$(conns acme.g1.d1)" "acme acme.g1.d1" \
    "the broker has d1 logged in as user acme.g1.d1 (its CN) in vhost acme (the map), client id acme.g1.d1"
wait_for "d1's subscription" bound acme 'commands.g1.d1.#'
_t_result $? "d1 subscribes to its commands (its rights hold with certificate login)"
kill "$D1LIVE" 2>/dev/null
wait "$D1LIVE" 2>/dev/null

# --- refused -----------------------------------------------------------------------------

# d1's certificate claiming d2: a username without a password...
refused_pub d2-user "MQTT login failed for user .*acme\\.g1\\.d2.*: no password provided" \
    "d1's certificate with d2's username and client id, no password" \
    --cert "$T/d1/d1.crt" --key "$T/d1/d1.key" -u acme.g1.d2 -i acme.g1.d2 \
    -t devices/g1/d2/x
like "$OUT" 'Connection Refused: bad user name or password' \
    "  CONNACK: bad user name or password"
# ...or with one: d2 has none, so no password is right.
refused_pub d2-userpw "MQTT login failed for user 'acme\\.g1\\.d2', authentication failed" \
    "d1's certificate with d2's username, client id and a password" \
    --cert "$T/d1/d1.crt" --key "$T/d1/d1.key" -u acme.g1.d2 -P guess \
    -i acme.g1.d2 -t devices/g1/d2/x
like "$OUT" 'Connection Refused: bad user name or password' \
    "  CONNACK: bad user name or password"
refused_pub d2-vhuserpw "MQTT login failed for user 'acme:acme\\.g1\\.d2', authentication failed" \
    "d1's certificate with d2's vhost:username and a password" \
    --cert "$T/d1/d1.crt" --key "$T/d1/d1.key" -u acme:acme.g1.d2 -P "" \
    -i acme.g1.d2 -t devices/g1/d2/x

# d2's client id, no username: RabbitMQ logs it in as d1 (the CN), which
# still may not publish under d2's topic.
m=$(log_mark)
mqtt d2-id mosquitto_pub -q 1 -m "refused-d2-id" --cert "$T/d1/d1.crt" \
    --key "$T/d1/d1.key" -i acme.g1.d2 -t devices/g1/d2/x
like "$OUT" 'received CONNACK \(0\)' \
    "d1's certificate with d2's client id, no username: accepted at CONNECT (as d1, the CN)"
isnt "$RC" 0 "  but its publish under devices/g1/d2/x fails"
unlike "$OUT" 'received PUBACK' "  no PUBACK"
log_wait "$m" "access to topic 'devices\\.g1\\.d2\\.x' in exchange 'amq\\.topic' in vhost 'acme' refused for user 'acme\\.g1\\.d1'"
_t_result $? "  the broker refuses it as user acme.g1.d1"

refused_pub d2topic "access to topic 'devices\\.g1\\.d2\\.x' in exchange 'amq\\.topic' in vhost 'acme' refused for user 'acme\\.g1\\.d1'" \
    "d1 publishing to devices/g1/d2/x" "${D1[@]}" -t devices/g1/d2/x

# --- b1 lands in vhost beta ---------------------------------------------------------------

cert_only b1
B1=("${DEV[@]}")
mqtt b1-home mosquitto_pub -q 1 -t devices/gb/b1/x -m "beta-$RANDOM" "${B1[@]}"
is "$RC" 0 "b1 publishes devices/gb/b1/x with its certificate alone" || diag "$OUT"
like "$OUT" 'received PUBACK' "b1's publish is acknowledged"
wait_for "b1's message" grep -q 'topic=devices/gb/b1/x group=gb device=b1 ' "$T/c-beta.out"
_t_result $? "the consumer on vhost beta gets b1's message: b1 is in vhost beta" ||
    diag "$(cat "$T/c-beta.out" "$T/c-beta.err")"

# A last message of d1: whatever was published in vhost acme before it
# has reached the acme consumer by then.
mqtt good2 mosquitto_pub -q 1 -t devices/g1/d1/status -m last "${D1[@]}"
is "$RC" 0 "d1 publishes devices/g1/d1/status" || diag "$OUT"
GOOD2="topic=devices/g1/d1/status group=g1 device=d1 payload=last"
wait_for "d1's second message" has_line "$T/c-acme.out" "$GOOD2"
is "$(cat "$T/c-acme.out")" "$GOOD1"$'\n'"$GOOD2" \
    "the consumer on vhost acme got d1's two messages only: nothing of b1, nothing refused"
is "$(grep -c . "$T/c-beta.out")" 1 "the consumer on vhost beta got b1's message only"

# --- revoking d2 ---------------------------------------------------------------------------

cert_only d2
D2=("${DEV[@]}")
timeout 60 mosquitto_sub -h 127.0.0.1 -p "$RABBIT_MQTTS_PORT" -V mqttv311 \
    --cafile "$D/ca/ca-chain.pem" -d -q 1 -t 'commands/g1/d2/#' "${D2[@]}" \
    >"$T/d2-live.mqtt" 2>&1 </dev/null &
LIVE=$!
at_exit "kill $LIVE"
wait_for "d2's subscription" bound acme 'commands.g1.d2.#'
_t_result $? "d2 is connected with its certificate alone and subscribed (in the background)" ||
    diag "$(cat "$T/d2-live.mqtt")"
wait_for "d2's connection" has_conns acme.g1.d2 1
is "$(conns acme.g1.d2)" "acme acme.g1.d2" "the broker has d2 as acme.g1.d2 in vhost acme"
IOTA_TOKEN_FILE=$T/acme.token run "$I" revoke d2 -g g1 -o json
is "$RC:$ERR" "0:" "iotactl revoke d2 -g g1: exit 0"
is "$(jq -r .state <<<"$OUT")" revoked "d2 is revoked"
rabbit_api GET /api/users/acme.g1.d2
is "$MGMT_STATUS" 404 "d2's broker user is gone"
is "$(vhost_map)" '{"acme.g1.d1":"acme","beta.gb.b1":"beta"}' \
    "mqtt_default_vhosts no longer has acme.g1.d2; d1 and b1 stay"
wait_for "d2's subscriber to exit" dead "$LIVE"
_t_result $? "d2's live connection is closed: its mosquitto_sub exits" ||
    diag "$(tail -n 5 "$T/d2-live.mqtt")"
kill "$LIVE" 2>/dev/null
wait "$LIVE" 2>/dev/null
wait_for "d2's connection to go" has_conns acme.g1.d2 0
_t_result $? "the broker lists no connection of d2 any more"
refused_pub d2-again "MQTT login failed for user 'acme\\.g1\\.d2', authentication failed" \
    "d2 reconnecting with its certificate after its revocation" "${D2[@]}" \
    -t devices/g1/d2/x
like "$OUT" 'Connection Refused: bad user name or password' \
    "  CONNACK: bad user name or password"
mqtt good3 mosquitto_pub -q 1 -t devices/g1/d1/after -m after "${D1[@]}"
is "$RC" 0 "d1 still publishes after d2's revocation" || diag "$OUT"

# --- d2 enabled and provisioned again: its revoked certificate stays dead ---------------
cp -r "$T/d2" "$T/d2-old"
IOTA_TOKEN_FILE=$T/acme.token run "$I" enable d2 -g g1
is "$RC:$ERR" "0:" "iotactl enable d2 -g g1: exit 0"
run "$I" provision d2 -g g1 --out "$T/d2" --force \
    --provision-secret-file "$T/g1.secret"
is "$RC:$ERR" "0:" "d2 provisions again with a new key (--force)"
NEWUSER=$(jq -r .username "$T/d2/broker.json")
is "$NEWUSER" "acme.g1.d2.1" "its new broker username is of a new generation"
like "$(ossl x509 -in "$T/d2/d2.crt" -noout -subject -nameopt RFC2253)" \
    "^subject=CN=acme\\.g1\\.d2\\.1(,|\$)" "... and so is its new certificate's CN"
rabbit_api GET /api/users/acme.g1.d2
is "$MGMT_STATUS" 404 "the revoked certificate's user acme.g1.d2 is not made again"
DEV=(--cert "$T/d2-old/d2.crt" --key "$T/d2-old/d2.key" -i acme.g1.d2)
refused_pub d2-old "MQTT login failed for user 'acme\\.g1\\.d2', authentication failed" \
    "d2's revoked certificate after the device's re-provisioning" "${DEV[@]}" \
    -t devices/g1/d2/x
cert_only d2
mqtt good4 mosquitto_pub -q 1 -t devices/g1/d2/back -m back "${DEV[@]}"
is "$RC" 0 "d2's new certificate publishes under devices/g1/d2" || diag "$OUT"

# The test CA keeps its root key beside the intermediate, and a test run
# as root starts iotad as root: those warnings are expected (iotad(8)).
noise() { grep -E ' iotad (error|warn[a-z]*):' "$IOTAD_LOG" |
    grep -v -e 'root\.key is in the CA directory' -e 'iotad runs as root'; }
unlike "$(noise)" . "iotad logged no error or warning" ||
    diag "$(noise | tail -n 5)"

diag "done in $((SECONDS - START)) s"
done_testing
