#!/bin/bash
# Issue 4 end to end, every part real: a private RabbitMQ (t/lib/rabbitmq.sh:
# management, MQTT over mutual TLS only), its server certificate from the
# iota CA that iotad runs on (t/lib/iotad.sh) in broker.mode management,
# iotactl for the operator and the devices, mosquitto_pub/_sub as devices
# (MQTT 3.1.1, QoS 1: a refused QoS 0 publish is silent) and iota-consumer
# as the service.
#
# Tenant acme, group g1, devices d1 d2 d3; tenant beta, group gb, device b1.
# d1 publishes and the consumer prints it.  Refused: a wrong password, no
# client certificate, a foreign root's certificate, d1 publishing under
# d2's topic or subscribing to d2's commands, b1 (tenant beta) in vhost
# acme, d1 outside its vhost.  Revoking d2 deletes its broker user and
# closes its live connection.  Provisioning d3 with the broker stopped is a
# clean 503 (iotactl exit 7) leaving nothing behind; the retry after the
# broker is back works and d3 publishes.  device.provisioned and
# device.revoked reach a consumer of iota.events.  At rest: broker.db is
# not plain SQLite, and no broker password is in iotad's state or log.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
. "$T_SRCDIR/lib/broker.sh"
. "$T_SRCDIR/lib/nginx.sh"
. "$T_SRCDIR/lib/rabbitmq.sh"
rabbit_need mosquitto_pub mosquitto_sub jq sqlite3
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

# broker_yaml: iotad's broker section for the node's current ports.
broker_yaml() {
	rabbit_iotad_yaml management "$T/mgmt.credentials" "$D/state/broker.key"
}

# --init reads the broker section but contacts nothing: the ports are
# filled in once the node is up (rabbit_start may move them).
(umask 077 && echo "placeholder:placeholder" >"$T/mgmt.credentials")
iotad_setup "$D" "$(broker_yaml)"
is "$(file_mode "$IOTAD_STATE/broker.key")" 600 "iotad --init made broker.key, 0600"
run "$I" ca issue --dir "$D/ca" --passphrase-file "$D/pass" \
    --server-name localhost --ip 127.0.0.1 --out "$T/broker" ||
    bail_out "ca issue for the broker failed ($RC): $ERR"
rabbit_setup "$T/rabbit" "$D/ca/ca-chain.pem" "$T/broker.crt" "$T/broker.key"
s=$SECONDS
rabbit_start || bail_out "cannot start RabbitMQ"
pass "RabbitMQ up in $((SECONDS - s)) s (MQTT/TLS $RABBIT_MQTTS_PORT, AMQP $RABBIT_AMQP_PORT, management $RABBIT_MGMT_PORT)"
RLOG=$RABBIT_DIR/log/$RABBIT_NODE.log
is "$(file_mode "$RABBIT_MGMT_CREDS")" 600 "the harness's management credentials are 0600"
cp "$RABBIT_MGMT_CREDS" "$T/mgmt.credentials"
chmod 600 "$T/mgmt.credentials"
IFS=: read -r ADMIN_USER ADMIN_PASS <"$RABBIT_MGMT_CREDS"
(umask 077 && printf '%s\n' "$ADMIN_PASS" >"$T/admin.pw")

# RabbitMQ 3.10 cannot bind the client id in this mode: not without saying.
iotad_write_conf "$(broker_yaml | grep -v client_id_takeover)"
run "$IOTAD" -c "$IOTAD_CONF" -n
isnt "$RC" 0 "broker.mode management without broker.client_id_takeover accept: iotad -n refuses"
like "$ERR" "client id.*disconnect.*auth-backend.*client_id_takeover: accept" \
    "  in one line saying why and what to do"
iotad_write_conf "$(broker_yaml)"
iotad_start || bail_out "iotad did not start"
export IOTA_SERVER=$IOTAD_URL IOTA_CA_FILE=$CACERT

# --- helpers ------------------------------------------------------------------------

# The devices' broker passwords, for the search at the end.
PASSWORDS=()













# broker_json_ok DIR NAME TENANT GROUP: broker.json as iotactl(1) and
# provision/broker/credentials.c say; sets PW (its password).  Seven TAP lines.
broker_json_ok() {
	local b=$1/broker.json user=$3.$4.$2
	PW=
	if [ ! -f "$b" ]; then
		fail "$2: broker.json written"
		skip "no broker.json" 6
		return 1
	fi
	pass "$2: broker.json written"
	is "$(file_mode "$b")" 600 "$2: broker.json is 0600"
	is "$(jq -r '[.url, .vhost, .username, .client_id, .login] | @tsv' "$b")" \
	    "mqtts://127.0.0.1:$RABBIT_MQTTS_PORT	$3	$user	$user	password" \
	    "$2: url (broker.mqtt_url), vhost (the tenant), username $user, client_id the username, login password"
	is "$(jq -r '.ca_chain' "$b")" "$(cat "$1/ca-chain.pem")" \
	    "$2: ca_chain is the iota chain (as ca-chain.pem)"
	is "$(jq -r 'keys | sort | join(" ")' "$b")" \
	    "ca_chain client_id login mqtt_username password url username vhost" \
	    "$2: those members and the password, nothing else"
	is "$(jq -r '.mqtt_username' "$b")" "$3:$user" \
	    "$2: mqtt_username is vhost:username, as RabbitMQ's MQTT login wants"
	PW=$(jq -r .password "$b")
	like "$PW" '^[A-Za-z0-9_-]{22,}$' \
	    "$2: the password is base64url, >= 22 characters (>= 128 bits)"
	PASSWORDS+=("$PW")
	rabbit_api GET "/api/users/$user"
	is "$MGMT_STATUS $(jq -r '.hashing_algorithm + " " + (.tags | tostring)' <<<"$MGMT_BODY")" \
	    "200 rabbit_password_hashing_sha256 []" \
	    "$2: the broker has user $user (a salted SHA-256 hash, no tags)"
}

# provision_ok NAME GROUP DIR SECRET-FILE: iotactl provision, exit 0.
provision_ok() {
	run "$I" provision "$1" -g "$2" --out "$3" --provision-secret-file "$4"
	is "$RC:$ERR" "0:" "iotactl provision $1 -g $2: exit 0, nothing on stderr"
	SEEN+="$OUT$ERR_RAW"
}
SEEN=

# --- tenants, groups, devices, with iotactl ----------------------------------------

# tenant NAME: its operator token in $T/NAME.token.
tenant() {
	run "$I" tenant add "$1" --token-file "$IOTAD_STATE/admin.token"
	is "$RC:$ERR" "0:" "iotactl tenant add $1: exit 0" &&
	    (umask 077 && printf '%s\n' "$OUT" >"$T/$1.token")
}

tenant acme
tenant beta
rabbit_api GET /api/vhosts/acme
is "$MGMT_STATUS" 200 "tenant acme has its vhost at the broker"
rabbit_api GET "/api/permissions/acme/$ADMIN_USER"
if is "$MGMT_STATUS" 200 "the management user has permissions on vhost acme (its creator)"; then
	:
else
	rabbit_ctl set_permissions -p acme "$ADMIN_USER" '.*' '.*' '.*' >/dev/null
fi
group acme g1 d1 d2 d3
group beta gb b1
export IOTA_TOKEN_FILE=$T/acme.token

# b1 first: its device.provisioned makes iotad declare iota.events, which
# the events consumer then binds to.
provision_ok b1 gb "$T/b1" "$T/gb.secret"
broker_json_ok "$T/b1" b1 beta gb
rabbit_api GET /api/exchanges/%2F/iota.events
is "$MGMT_STATUS $(jq -r '[.type, .durable, .auto_delete] | @tsv' <<<"$MGMT_BODY")" \
    "200 topic	true	false" "iotad declared iota.events: a durable topic exchange"
if [ "$MGMT_STATUS" != 200 ]; then
	rabbit_api PUT /api/exchanges/%2F/iota.events \
	    '{"type":"topic","durable":true,"auto_delete":false}'
fi

consumer_start events --exchange iota.events --binding 'device.#'
_t_result $? "a consumer of iota.events (vhost /, device.#) is bound"
consumer_start c1 --vhost acme --binding 'devices.#'
_t_result $? "iota-consumer as $ADMIN_USER, vhost acme, devices.# on amq.topic: ready"

provision_ok d1 g1 "$T/d1" "$T/g1.secret"
broker_json_ok "$T/d1" d1 acme g1
PW1=$PW
provision_ok d2 g1 "$T/d2" "$T/g1.secret"
broker_json_ok "$T/d2" d2 acme g1
PW2=$PW
isnt "$PW1" "$PW2" "d1 and d2 have different passwords"
rabbit_api GET /api/permissions/acme/acme.g1.d1
is "$(jq -c '[.configure, .write, .read]' <<<"$MGMT_BODY")" \
    '["^mqtt-subscription-acme\\.g1\\.d1qos[01]$","^(amq\\.topic|mqtt-subscription-acme\\.g1\\.d1qos[01])$","^(amq\\.topic|mqtt-subscription-acme\\.g1\\.d1qos[01])$"]' \
    "d1's permissions in vhost acme: its own subscription queues and amq.topic, anchored"
rabbit_api GET /api/topic-permissions/acme/acme.g1.d1
is "$(jq -c '[.[] | [.exchange, .write, .read]]' <<<"$MGMT_BODY")" \
    '[["amq.topic","^devices\\.g1\\.d1(\\..*)?$","^commands\\.g1\\.d1(\\..*)?$"]]' \
    "d1's topic permissions: write devices.g1.d1[.*], read commands.g1.d1[.*], anchored"

# --- end to end: d1 publishes, the consumer prints it --------------------------------

device d1 "$T/d1"
D1=("${DEV[@]}")
payload="t=21.5 n=$RANDOM$RANDOM"
mqtt good1 mosquitto_pub -q 1 -t devices/g1/d1/telemetry -m "$payload" "${D1[@]}"
is "$RC" 0 "d1 publishes devices/g1/d1/telemetry with mosquitto_pub (TLS, its certificate, broker.json, QoS 1)" ||
    diag "$OUT"
like "$OUT" 'received PUBACK' "d1's publish is acknowledged"
GOOD1="topic=devices/g1/d1/telemetry group=g1 device=d1 payload=$payload"
wait_for "d1's message" has_line "$T/c1.out" "$GOOD1"
_t_result $? "the consumer prints: $GOOD1" || diag "$(cat "$T/c1.out" "$T/c1.err")"

# d1 may read its own commands (the control of the refusal below).
mqtt sub-own mosquitto_sub -q 1 -t 'commands/g1/d1/#' -E "${D1[@]}"
is "$RC" 0 "control: d1 subscribes to commands/g1/d1/# (SUBACK, exit 0)" || diag "$OUT"

# --- refused --------------------------------------------------------------------------

refused_pub badpw "MQTT login failed for user 'acme:acme\\.g1\\.d1', authentication failed" \
    "d1 with a wrong password" "${D1[@]:0:6}" -P "x$PW1" -i acme.g1.d1 \
    -t devices/g1/d1/telemetry
like "$OUT" 'Connection Refused: bad user name or password' \
    "wrong password: CONNACK bad user name or password"

refused_pub nocert 'Certificate required|certificate_required' \
    "d1 without a client certificate" "${D1[@]:4}" -t devices/g1/d1/telemetry

# d1's own key and name, signed by another root.
run "$I" ca init --dir "$T/foreign" --key-type ec-p256 --passphrase-file "$PASS" ||
    bail_out "foreign ca init failed ($RC): $ERR"
ossl req -new -key "$T/d1/d1.key" -subj /CN=d1 -out "$T/d1-foreign.csr" ||
    bail_out "openssl req failed"
ca_sign "$T/foreign" "$T/d1-foreign.csr" d1 >"$T/d1-foreign.crt" ||
    bail_out "foreign ca sign failed"
refused_pub foreign 'Unknown CA|unknown_ca' "d1 with a foreign root's certificate" \
    --cert "$T/d1-foreign.crt" --key "$T/d1/d1.key" "${D1[@]:4}" \
    -t devices/g1/d1/telemetry

refused_pub d2topic "access to topic 'devices\\.g1\\.d2\\.x' in exchange 'amq\\.topic' in vhost 'acme' refused for user 'acme\\.g1\\.d1'" \
    "d1 publishing to devices/g1/d2/x" "${D1[@]}" -t devices/g1/d2/x
like "$OUT" 'sending PUBLISH' "d1 to d2's topic: connected, then cut at the PUBLISH"

refused_sub sub-d2 'commands/g1/d2/#' \
    "access to topic 'commands\\.g1\\.d2\\.#' in exchange 'amq\\.topic' in vhost 'acme' refused for user 'acme\\.g1\\.d1'" \
    "d1 subscribing to commands/g1/d2/#" "${D1[@]}"

# A device of tenant beta: at home in vhost beta, refused in vhost acme.
device b1 "$T/b1"
B1=("${DEV[@]}")
mqtt b1-home mosquitto_pub -q 1 -t devices/gb/b1/x -m home "${B1[@]}"
is "$RC" 0 "control: b1 publishes in its own vhost beta" || diag "$OUT"
refused_pub b1-acme "MQTT login failed for user 'acme:beta\\.gb\\.b1': virtual host access not allowed" \
    "b1 (tenant beta) logging in to vhost acme" "${B1[@]:0:4}" \
    -u "acme:beta.gb.b1" "${B1[@]:6}" -t devices/gb/b1/x
like "$OUT" 'Connection Refused: not authori[sz]ed' "b1 in vhost acme: CONNACK not authorised"
rabbit_api GET /api/permissions/acme/beta.gb.b1
is "$MGMT_STATUS" 404 "b1's user has no permissions on vhost acme (GET /api/permissions/acme/beta.gb.b1: 404)"
# With its plain username a device lands in vhost / (mqtt.vhost): nothing there.
refused_pub d1-root "MQTT login failed for user 'acme\\.g1\\.d1': virtual host access not allowed" \
    "d1 without its vhost (lands in vhost /)" "${D1[@]:0:4}" -u acme.g1.d1 \
    "${D1[@]:6}" -t devices/g1/d1/telemetry

# A last good message: whatever was refused above would have come before it.
mqtt good2 mosquitto_pub -q 1 -t devices/g1/d1/status -m last "${D1[@]}"
is "$RC" 0 "d1 publishes devices/g1/d1/status" || diag "$OUT"
GOOD2="topic=devices/g1/d1/status group=g1 device=d1 payload=last"
wait_for "d1's second message" has_line "$T/c1.out" "$GOOD2"
is "$(cat "$T/c1.out")" "$GOOD1"$'\n'"$GOOD2" \
    "the consumer got d1's two messages and nothing refused (no devices/g1/d2/x)"

# --- the seed's other path: d1 calls an HTTPS service through an ingress -------------

run "$I" ca issue --dir "$D/ca" --passphrase-file "$D/pass" \
    --server-name localhost --ip 127.0.0.1 --out "$T/ingress"
is "$RC" 0 "iotactl ca issue: the ingress's server certificate"
nginx_setup "$T/nginx" "$T/d1/ca-chain.pem" "$T/ingress.crt" "$T/ingress.key"
nginx_start || bail_out "cannot start nginx"
# ingress ARGS...: GET /whoami with curl ARGS; STATUS and $T/ingress.body.
ingress() {
	STATUS=$(curl -sS --max-time 20 --cacert "$D/ca/root.crt" \
	    -o "$T/ingress.body" -w '%{http_code}' "$@" "$NGINX_URL/whoami" \
	    2>/dev/null)
}
ingress --cert "$T/d1/d1.crt" --key "$T/d1/d1.key"
is "$STATUS" 200 "d1 with its provisioned certificate gets through the ingress (nginx, ssl_verify_client on, the iota chain)"
like "$(cat "$T/ingress.body")" 'subject=<CN=d1,OU=g1,O=acme>' "  the service sees d1's subject, from the registry"
like "$(cat "$T/ingress.body")" 'verify=<SUCCESS>' "  verified"
ingress
is "$STATUS" 400 "no client certificate: the ingress refuses (400)"
ingress --cert "$T/d1-foreign.crt" --key "$T/d1/d1.key"
is "$STATUS" 400 "a foreign root's certificate: the ingress refuses (400)"
nginx_stop

# --- revoking d2: user gone, live connection closed, no reconnection --------------------

device d2 "$T/d2"
D2=("${DEV[@]}")
timeout 60 mosquitto_sub -h 127.0.0.1 -p "$RABBIT_MQTTS_PORT" -V mqttv311 \
    --cafile "$D/ca/ca-chain.pem" -d -q 1 -t 'commands/g1/d2/#' "${D2[@]}" \
    >"$T/d2-live.mqtt" 2>&1 </dev/null &
LIVE=$!
at_exit "kill $LIVE"
wait_for "d2's subscription" bound acme commands.g1.d2.#
_t_result $? "d2 is connected and subscribed to commands/g1/d2/# (in the background)" ||
    diag "$(cat "$T/d2-live.mqtt")"
wait_for "d2's connection in the management API" has_connections acme.g1.d2 1
_t_result $? "the broker lists one connection of d2"
run "$I" revoke d2 -g g1 -o json
is "$RC:$ERR" "0:" "iotactl revoke d2 -g g1: exit 0"
is "$(jq -r .state <<<"$OUT")" revoked "d2 is revoked"
rabbit_api GET /api/users/acme.g1.d2
is "$MGMT_STATUS" 404 "d2's broker user is gone (GET /api/users/acme.g1.d2: 404)"
wait_for "d2's subscriber to exit" dead "$LIVE"
_t_result $? "d2's live connection is closed: its mosquitto_sub exits" ||
    diag "$(tail -n 5 "$T/d2-live.mqtt")"
kill "$LIVE" 2>/dev/null
wait "$LIVE" 2>/dev/null
like "$(cat "$T/d2-live.mqtt")" 'Connection Refused: bad user name or password' \
    "  its automatic reconnection was refused"
wait_for "d2's connection to go" has_connections acme.g1.d2 0
_t_result $? "the broker lists no connection of d2 any more"
refused_pub d2-again "MQTT login failed for user 'acme:acme\\.g1\\.d2', authentication failed" \
    "d2 reconnecting after its revocation" "${D2[@]}" -t devices/g1/d2/x
rabbit_api GET /api/users/acme.g1.d1
is "$MGMT_STATUS" 200 "d1's user is still there"

lines_at_least() { [ "$(wc -l <"$1")" -ge "$2" ]; }
wait_for "three events" lines_at_least "$T/events.out" 3
mapfile -t EV <"$T/events.out"
ev() {	# ev N: the Nth event as "topic event tenant group device serial?"
	local line=${EV[$1]:-}
	printf '%s %s\n' "${line%% *}" "$(jq -r '[.event, .tenant, .group, .device,
	    (.serial | type)] | join(" ")' <<<"${line#*payload=}" 2>/dev/null)"
}
is "$(ev 0)" "topic=device/provisioned device.provisioned acme g1 d1 string" \
    "event: device.provisioned for acme/g1/d1 (with its serial)"
is "$(ev 1)" "topic=device/provisioned device.provisioned acme g1 d2 string" \
    "event: device.provisioned for acme/g1/d2"
is "$(ev 2)" "topic=device/revoked device.revoked acme g1 d2 string" \
    "event: device.revoked for acme/g1/d2"
is "${#EV[@]}" 3 "three events, nothing else"

# --- the broker stopped during provisioning: 503, nothing half done, retry works ------------

consumer_stop c1
consumer_stop events
s=$SECONDS
rabbit_ctl -q stop_app >"$T/stop_app.out" 2>&1
is "$?" 0 "rabbitmqctl stop_app ($((SECONDS - s)) s)" || diag "$(cat "$T/stop_app.out")"

device_key "$T/d3-api"
provision "$(cat "$T/g1.secret")" g1 d3 "$T/d3-api.csr"
is_error 503 unavailable "POST /v1/provision with the broker down"
is "$(header Retry-After)" 7 "  Retry-After: broker.retry_after (7 s)"
run_fail 7 '.' "iotactl provision d3 with the broker down" -- \
    "$I" provision d3 -g g1 --out "$T/d3" --provision-secret-file "$T/g1.secret"
diag "  $ERR"
SEEN+="$OUT$ERR_RAW"
run "$I" show d3 -g g1 -o json
is "$(jq -c '[.state, .serial, .not_after, .provisioned_at]' <<<"$OUT")" \
    '["registered",null,null,null]' "iotad still has d3 registered, no serial: nothing recorded"
is "$(cd "$T/d3" 2>/dev/null && ls -A | tr '\n' ' ')" "d3.key " \
    "d3's directory: its key (kept for the retry), no certificate, no broker.json"

s=$SECONDS
rabbit_ctl -q start_app >"$T/start_app.out" 2>&1
is "$?" 0 "rabbitmqctl start_app" || diag "$(cat "$T/start_app.out")"
mgmt_up() { rabbit_api GET /api/overview; [ "$MGMT_STATUS" = 200 ]; }
mqtt_up() { rabbit_listening | grep -qx "127.0.0.1:$RABBIT_MQTTS_PORT"; }
wait_for "the management API" mgmt_up && wait_for "the MQTT listener" mqtt_up
_t_result $? "the broker is back: management API and MQTT listener ($((SECONDS - s)) s)"
rabbit_api GET /api/users/acme.g1.d3
is "$MGMT_STATUS" 404 "no broker user for d3 from the refused attempts"

consumer_start events2 --exchange iota.events --binding 'device.#' --count 1
_t_result $? "a new consumer of iota.events"
consumer_start c3 --vhost acme --binding 'devices.#'
_t_result $? "a new iota-consumer on vhost acme"
provision_ok d3 g1 "$T/d3" "$T/g1.secret"
broker_json_ok "$T/d3" d3 acme g1
run "$I" show d3 -g g1 -o json
is "$(jq -r .state <<<"$OUT")" provisioned "d3 is provisioned"
device d3 "$T/d3"
mqtt good3 mosquitto_pub -q 1 -t devices/g1/d3/telemetry -m back "${DEV[@]}"
is "$RC" 0 "d3 publishes devices/g1/d3/telemetry" || diag "$OUT"
GOOD3="topic=devices/g1/d3/telemetry group=g1 device=d3 payload=back"
wait_for "d3's message" has_line "$T/c3.out" "$GOOD3"
_t_result $? "the consumer prints: $GOOD3" || diag "$(cat "$T/c3.out" "$T/c3.err")"
wait_for "d3's event" test -s "$T/events2.out"
is "$(EV=("$(cat "$T/events2.out")"); ev 0)" \
    "topic=device/provisioned device.provisioned acme g1 d3 string" \
    "event: device.provisioned for acme/g1/d3 (iotad reconnected for events)"
consumer_stop c3
consumer_stop events2

# --- many devices at once: the broker work goes in batches, none is lost -----------

names=()
for ((i = 1; i <= 24; i++)); do names+=("m$i"); done
run "$I" add -g g1 --from <(printf '%s\n' "${names[@]}")
is "$RC" 0 "24 more devices registered in g1"
mkdir -p "$T/many"
pids=()
for n in "${names[@]}"; do
	"$I" provision "$n" -g g1 --out "$T/many/$n" \
	    --provision-secret-file "$T/g1.secret" >"$T/many.$n.out" 2>&1 &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
is "$failed" 0 "24 devices provisioned at once: every iotactl exits 0"
missing=
for n in "${names[@]}"; do
	[ -s "$T/many/$n/broker.json" ] || { missing+=" $n(json)"; continue; }
	rabbit_api GET "/api/topic-permissions/acme/acme.g1.$n"
	[ "$MGMT_STATUS" = 200 ] && [[ $MGMT_BODY == *"devices\\\\.g1\\\\.$n("* ]] ||
	    missing+=" $n"
done
is "$missing" "" "each of them has broker.json and its own user and topic permissions at the broker"

# --- events are durable: recorded with the change, sent after a crash --------------
# iotad's AMQP port pointed at a closed one: devices provision (the
# management API is up) but no event can leave.  kill -9, start again with
# the right port: every event arrives, each with its own id, in order.

enames=()
for ((i = 1; i <= 10; i++)); do enames+=("e$i"); done
run "$I" add -g g1 --from <(printf '%s\n' "${enames[@]}")
is "$RC" 0 "10 devices registered for the events test"
DEAD=$(port_block 1)
iotad_stop
iotad_write_conf "$(broker_yaml | sed "s/^\(  amqp_port:\).*/\1 $DEAD/")"
grep -q "amqp_port: $DEAD" "$IOTAD_CONF" || bail_out "amqp_port not rewritten"
iotad_start || bail_out "iotad did not start"
export IOTA_SERVER=$IOTAD_URL
failed=0
for n in "${enames[@]}"; do
	"$I" provision "$n" -g g1 --out "$T/ev-$n" \
	    --provision-secret-file "$T/g1.secret" >"$T/ev.$n.out" 2>&1 ||
	    failed=$((failed + 1))
done
is "$failed" 0 "10 devices provisioned while no event can reach the broker"
iotad_kill9
consumer_start events3 --exchange iota.events --binding 'device.provisioned' \
    --count 10
_t_result $? "a consumer of iota.events"
iotad_write_conf "$(broker_yaml)"
iotad_start || bail_out "iotad did not start again"
export IOTA_SERVER=$IOTAD_URL
wait_for "ten events" lines_at_least "$T/events3.out" 10
_t_result $? "after kill -9 and a restart, the 10 events recorded with the provisionings arrive"
got=$(sed 's/.*payload=//' "$T/events3.out" | jq -r .device | tr '\n' ' ')
is "$got" "${enames[*]} " "one event per device, in the order they were provisioned"
ids=$(sed 's/.*payload=//' "$T/events3.out" | jq -r .id)
is "$(sort -un <<<"$ids" | wc -l)" 10 "each with an id of its own"
is "$ids" "$(sort -n <<<"$ids")" "ids rising in commit order"
consumer_stop events3

# --- secrets at rest ------------------------------------------------------------------

ok "test -s '$IOTAD_STATE/broker.db'" "state/broker.db exists"
run sqlite3 "$IOTAD_STATE/broker.db" 'SELECT count(*) FROM sqlite_master;'
isnt "$RC" 0 "sqlite3 cannot read state/broker.db"
like "$ERR" 'file is not a database' "  sqlite3: file is not a database"
is "${#PASSWORDS[@]}" 4 "four broker passwords handed out (b1 d1 d2 d3)"
leaks=
for pw in "${PASSWORDS[@]}"; do
	grep -rqaF -- "$pw" "$IOTAD_STATE" && leaks+=" state"
	grep -qaF -- "$pw" "$IOTAD_LOG" "$D/iotad.out" 2>/dev/null && leaks+=" log"
	grep -rqaF -- "$pw" "$RABBIT_DIR" && leaks+=" broker"
	[[ $SEEN == *"$pw"* ]] && leaks+=" iotactl-output"
done
is "$leaks" "" "no broker password in iotad's state directory, its log, the broker's files or iotactl's output"
ok "test -s '$IOTAD_LOG'" "(iotad's log is not empty)"

diag "done in $((SECONDS - START)) s"
done_testing
