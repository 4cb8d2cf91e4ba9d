#!/bin/bash
# Devices on MQTT over mutual TLS against a real RabbitMQ (started here,
# t/lib/rabbitmq.sh), with no iotad: the broker credentials are made by
# hand through the management API the way iotad makes them (a salted
# SHA-256 hash, never the password; anchored permissions), and checked
# with the real mosquitto clients and an AMQP consumer (amqp-tools).
#
# dev1 publishes its telemetry and a service receives it; a service sends
# dev1 a command and dev1 receives it.  Refused: a wrong password, no
# client certificate, a foreign root's certificate, a server certificate
# of the same CA, dev1 publishing under dev2's or another prefix, dev1
# subscribing to dev2's commands or to other devices' telemetry, and
# plain MQTT, guest and anonymous logins.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/rabbitmq.sh"
rabbit_need mosquitto_pub mosquitto_sub amqp-consume amqp-publish jq
need_iotactl

T=$T_TMP
CA=$T/ca
ca_init "$CA" || bail_out "ca init failed"
iota ca issue --dir "$CA" --passphrase-file "$PASS" --server-name localhost \
    --ip 127.0.0.1 --out "$T/srv" >/dev/null || bail_out "ca issue failed"
iota ca issue --dir "$CA" --passphrase-file "$PASS" --server-name other \
    --out "$T/other" >/dev/null || bail_out "ca issue (other) failed"
for d in dev1 dev2; do
	mkcsr p256 "$T/$d" /CN=x || bail_out "openssl req failed"
	ca_sign "$CA" "$T/$d.csr" "$d" >"$T/$d.crt" || bail_out "ca sign $d failed"
done
# dev1's key and name under another root (whose CA names are the same).
ca_init "$T/foreign" || bail_out "foreign ca init failed"
ca_sign "$T/foreign" "$T/dev1.csr" dev1 >"$T/foreign.crt" ||
    bail_out "foreign ca sign failed"

rabbit_setup "$T/rabbit" "$CA/ca-chain.pem" "$T/srv.crt" "$T/srv.key"
s=$SECONDS
rabbit_start || bail_out "cannot start RabbitMQ"
pass "RabbitMQ up in $((SECONDS - s)) s (MQTT/TLS $RABBIT_MQTTS_PORT, AMQP $RABBIT_AMQP_PORT, management $RABBIT_MGMT_PORT)"
RLOG=$RABBIT_DIR/log/$RABBIT_NODE.log

# --- the node as the harness leaves it ---------------------------------------------

is "$(file_mode "$RABBIT_MGMT_CREDS")" 600 "mgmt.credentials is 0600"
is "$(file_mode "$RABBIT_DIR/.erlang.cookie")" 400 "the Erlang cookie is 0400"
rabbit_api GET /api/whoami
is "$MGMT_STATUS $(jq -r .tags[0] <<<"$MGMT_BODY")" "200 administrator" \
    "the management user is an administrator"
rabbit_api GET /api/users/guest
is "$MGMT_STATUS" 404 "guest is deleted"

# --- broker credentials, as iotad makes them -----------------------------------------

# device_user NAME PASSWORD: the user (a salted hash), its permissions and
# topic permissions on amq.topic in vhost /; two TAP lines.
device_user() {
	local n=$1 q="mqtt-subscription-$1qos[01]"
	rabbit_api PUT "/api/users/$n" "$(jq -cn --arg h "$(rabbit_password_hash "$2")" \
	    '{password_hash: $h, hashing_algorithm: "rabbit_password_hashing_sha256", tags: ""}')"
	is "$MGMT_STATUS" 201 "$n: user created from a password hash" ||
	    diag "$MGMT_BODY"
	rabbit_api PUT "/api/permissions/%2F/$n" "$(jq -cn --arg q "$q" '{
	    configure: "^\($q)$",
	    write: "^(amq\\.topic|\($q))$",
	    read: "^(amq\\.topic|\($q))$"}')"
	local st=$MGMT_STATUS
	rabbit_api PUT "/api/topic-permissions/%2F/$n" "$(jq -cn --arg n "$n" '{
	    exchange: "amq.topic",
	    write: "^devices\\.\($n)(\\..*)?$",
	    read: "^commands\\.\($n)(\\..*)?$"}')"
	is "$st $MGMT_STATUS" "201 201" "$n: permissions and topic permissions set" ||
	    diag "$MGMT_BODY"
}

PW1=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
PW2=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
SVCPW=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
device_user dev1 "$PW1"
device_user dev2 "$PW2"
rabbit_api GET /api/users/dev1
unlike "$MGMT_BODY" "$PW1" "the broker never saw dev1's password"

# A service: its own server-named queues bound to amq.topic; it may
# publish commands.
rabbit_api PUT /api/users/svc "$(jq -cn --arg h "$(rabbit_password_hash "$SVCPW")" \
    '{password_hash: $h, hashing_algorithm: "rabbit_password_hashing_sha256", tags: ""}')"
st=$MGMT_STATUS
rabbit_api PUT /api/permissions/%2F/svc \
    '{"configure":"^amq\\.gen-.*$","write":"^(amq\\.gen-.*|amq\\.topic)$","read":"^(amq\\.gen-.*|amq\\.topic)$"}'
is "$st $MGMT_STATUS" "201 201" "svc: service user and permissions"
(umask 077 && printf 'username:svc\npassword:%s\n' "$SVCPW" >"$T/svc.auth")
AMQP=(--server 127.0.0.1 --port "$RABBIT_AMQP_PORT" --vhost / --authfile "$T/svc.auth")

# --- helpers ---------------------------------------------------------------------

# mqtt NAME CMD ARGS...: mosquitto_pub or _sub to the TLS listener (MQTT
# 3.1.1, trusting the iota chain, 20 s at most); sets RC and OUT (stdout and
# stderr, with -d's packet trace).
mqtt() {
	local name=$1 cmd=$2
	shift 2
	timeout 20 "$cmd" -h 127.0.0.1 -p "$RABBIT_MQTTS_PORT" -V mqttv311 \
	    --cafile "$CA/ca-chain.pem" -d "$@" >"$T/$name.out" 2>&1 </dev/null
	RC=$?
	OUT=$(cat "$T/$name.out")
}

as_dev1=(--cert "$T/dev1.crt" --key "$T/dev1.key" -u dev1 -P "$PW1" -i dev1)

log_mark() { wc -l <"$RLOG"; }

# log_wait MARK REGEX: the broker logs a line matching REGEX after line
# MARK, within 5 s (it logs after the client has seen the refusal).
log_wait() {
	local i
	for ((i = 0; i < 100; i++)); do
		tail -n +"$(($1 + 1))" "$RLOG" | grep -qE "$2" && return 0
		sleep 0.05
	done
	diag "  no broker log line matching /$2/; the last ones:" \
	    "$(tail -n +"$(($1 + 1))" "$RLOG" | tail -n 5 | cut -c 1-300)"
	return 1
}

# wait_binding KEY: amq.topic has a binding with routing key KEY (10 s at most).
wait_binding() {
	local i
	for ((i = 0; i < 100; i++)); do
		rabbit_api GET /api/exchanges/%2F/amq.topic/bindings/source
		[ "$(jq --arg k "$1" '[.[] | select(.routing_key == $k)] | length' \
		    <<<"$MGMT_BODY" 2>/dev/null)" -gt 0 ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_pid PID: it exits within 20 s (then killed); its status in WRC.
wait_pid() {
	local i
	for ((i = 0; i < 400; i++)); do
		kill -0 "$1" 2>/dev/null || break
		[ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.05
	done
	kill "$1" 2>/dev/null
	wait "$1"
	WRC=$?
}

# refused_pub NAME REGEX DESC ARGS...: a QoS 1 publish is not acknowledged
# and the broker logs why (REGEX); three TAP lines.
refused_pub() {
	local name=$1 re=$2 desc=$3 m
	shift 3
	m=$(log_mark)
	mqtt "$name" mosquitto_pub -q 1 -m "refused-$name" "$@"
	isnt "$RC" 0 "$desc: mosquitto_pub fails"
	unlike "$OUT" 'received PUBACK' "$desc: no PUBACK"
	log_wait "$m" "$re"
	_t_result $? "$desc: the broker says why"
}

# --- the service listens to every device --------------------------------------------

timeout 60 amqp-consume "${AMQP[@]}" -e amq.topic -r 'devices.#' -c 1 cat \
    >"$T/consumed" 2>"$T/consumer.err" </dev/null &
CONSUMER=$!
at_exit '[ -n "$CONSUMER" ] && kill "$CONSUMER"'
wait_binding 'devices.#'
_t_result $? "consumer bound to amq.topic with devices.#" ||
    diag "$(cat "$T/consumer.err")"

# --- refused before the good message: none of these may reach the consumer -----------

refused_pub badpw 'MQTT login failed for user .dev1., authentication failed' \
    "wrong password" --cert "$T/dev1.crt" --key "$T/dev1.key" -u dev1 \
    -P "not-$PW1" -i dev1 -t devices/dev1/telemetry
like "$OUT" 'Connection Refused: bad user name or password' \
    "wrong password: CONNACK says bad user name or password"

refused_pub nocert 'Certificate required|certificate_required' \
    "no client certificate" -u dev1 -P "$PW1" -i dev1 -t devices/dev1/telemetry

refused_pub foreign 'Unknown CA' "certificate from a foreign root" \
    --cert "$T/foreign.crt" --key "$T/dev1.key" -u dev1 -P "$PW1" -i dev1 \
    -t devices/dev1/telemetry

refused_pub server 'bad_cert,invalid_ext_key_usage' \
    "a server certificate of the same CA" --cert "$T/other.crt" \
    --key "$T/other.key" -u dev1 -P "$PW1" -i dev1 -t devices/dev1/telemetry

refused_pub dev2topic "access to topic 'devices\\.dev2\\.telemetry' in exchange 'amq\\.topic' in vhost '/' refused for user 'dev1'" \
    "dev1 publishing to devices/dev2/telemetry" "${as_dev1[@]}" \
    -t devices/dev2/telemetry
like "$OUT" 'sending PUBLISH' "dev1 to dev2's topic: connected, then cut at the PUBLISH"

refused_pub prefix "access to topic 'devices\\.dev1x\\.telemetry'.* refused for user 'dev1'" \
    "dev1 publishing to devices/dev1x/... (a longer name, same prefix)" \
    "${as_dev1[@]}" -t devices/dev1x/telemetry

refused_pub cmdtopic "access to topic 'commands\\.dev1'.* refused for user 'dev1'" \
    "dev1 publishing to its own command topic" "${as_dev1[@]}" -t commands/dev1

# --- dev1's telemetry reaches the service ------------------------------------------------

payload="telemetry-$RANDOM$RANDOM"
mqtt good mosquitto_pub -q 1 -m "$payload" "${as_dev1[@]}" -t devices/dev1/telemetry
is "$RC" 0 "dev1 publishes to devices/dev1/telemetry (QoS 1)" || diag "$OUT"
like "$OUT" 'received PUBACK \(Mid: 1, RC:0\)' "dev1's publish acknowledged"
wait_pid "$CONSUMER"
CONSUMER=
is "$WRC" 0 "the consumer got a message and exited" || diag "$(cat "$T/consumer.err")"
is "$(cat "$T/consumed")" "$payload" \
    "the consumer's first and only message is dev1's (nothing refused got through)"

# --- a command reaches dev1 ------------------------------------------------------------

mqtt_sub_bg() {
	timeout 30 mosquitto_sub -h 127.0.0.1 -p "$RABBIT_MQTTS_PORT" -V mqttv311 \
	    --cafile "$CA/ca-chain.pem" "$@" >"$T/sub.out" 2>&1 </dev/null &
	SUB=$!
}
mqtt_sub_bg "${as_dev1[@]}" -q 1 -t 'commands/dev1/#' -C 1 -v -W 20
at_exit '[ -n "$SUB" ] && kill "$SUB"'
wait_binding 'commands.dev1.#'
_t_result $? "dev1 subscribed to commands/dev1/# (QoS 1)" || diag "$(cat "$T/sub.out")"
command=reboot-$RANDOM
timeout 20 amqp-publish "${AMQP[@]}" -e amq.topic -r commands.dev1.reboot \
    -b "$command" </dev/null 2>"$T/publish.err"
is "$?" 0 "the service publishes commands.dev1.reboot" || diag "$(cat "$T/publish.err")"
wait_pid "$SUB"
SUB=
is "$WRC" 0 "dev1's subscriber got a message and exited"
is "$(cat "$T/sub.out")" "commands/dev1/reboot $command" "dev1 received the command"

# --- refused subscriptions: the broker cuts the connection, no SUBACK ------------------------

# refused_sub NAME TOPIC REGEX DESC: dev1's subscription is refused; the
# subscriber (which would reconnect and retry) is stopped once the broker
# has logged why.
refused_sub() {
	local m pid
	m=$(log_mark)
	timeout 20 mosquitto_sub -h 127.0.0.1 -p "$RABBIT_MQTTS_PORT" -V mqttv311 \
	    --cafile "$CA/ca-chain.pem" -d "${as_dev1[@]}" -q 1 -t "$2" -C 1 \
	    >"$T/$1.out" 2>&1 </dev/null &
	pid=$!
	log_wait "$m" "$3"
	_t_result $? "$4: the broker says why"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	OUT=$(cat "$T/$1.out")
	like "$OUT" 'sending SUBSCRIBE' "$4: connected and asked"
	unlike "$OUT" 'received SUBACK' "$4: no SUBACK"
	unlike "$OUT" 'received PUBLISH' "$4: nothing received"
}
refused_sub sub-dev2 'commands/dev2/#' \
    "access to topic 'commands\\.dev2\\.#' in exchange 'amq\\.topic' in vhost '/' refused for user 'dev1'" \
    "dev1 subscribing to commands/dev2/#"
refused_sub sub-all 'commands/#' "access to topic 'commands\\.#'.* refused for user 'dev1'" \
    "dev1 subscribing to commands/#"
refused_sub sub-telemetry 'devices/+/telemetry' \
    "access to topic 'devices\\.\\*\\.telemetry'.* refused for user 'dev1'" \
    "dev1 subscribing to devices/+/telemetry"

# --- doors that stay closed ------------------------------------------------------------

expect=$(printf '127.0.0.1:%s\n' "$RABBIT_AMQP_PORT" "$RABBIT_DIST_PORT" \
    "$RABBIT_MGMT_PORT" "$RABBIT_MQTTS_PORT" | sort)
is "$(rabbit_listening)" "$expect" \
    "the node listens on 127.0.0.1 only: AMQP, Erlang distribution, management, MQTT/TLS (no plain MQTT)"
fails "curl -sf --max-time 10 -u guest:guest '$RABBIT_MGMT_URL/api/whoami'" \
    "guest:guest refused by the management API"
mqtt anon mosquitto_pub -q 1 -m x --cert "$T/dev1.crt" --key "$T/dev1.key" \
    -i dev1 -t devices/dev1/telemetry
isnt "$RC" 0 "a device certificate without a username: refused (no anonymous login)"
like "$OUT" 'Connection Refused: (bad user name or password|not authori[sz]ed)' \
    "no username: the CONNACK refuses"

done_testing
