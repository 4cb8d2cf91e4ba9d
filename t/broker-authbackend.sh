#!/bin/bash
# Issue 4 end to end in broker.mode auth-backend, every part real: a
# private RabbitMQ (t/lib/rabbitmq.sh: management, MQTT over mutual TLS
# only) whose rabbitmq_auth_backend_http asks iotad (t/lib/iotad.sh) over
# HTTPS at every login, vhost, resource and topic check; iotactl for the
# operator and the devices, mosquitto_pub/_sub as devices (MQTT 3.1.1,
# QoS 1), a hand-made MQTT session over openssl s_client where one
# connection must publish to two topics, and iota-consumer as the service.
#
# RabbitMQ: auth_backends internal (the management user and the services)
# then http (the devices), POST forms to https://localhost:IOTAD/auth/*
# (the host iotad's certificate names), iotad's root in advanced.config.
# iotad's broker.management_url serves only to make tenants' vhosts and to
# close a revoked device's live connections: provisioning makes no broker
# user.  The test makes the vhosts as well (an operator may).
#
# Tenant acme, group g1, devices d1 d2; tenant beta, group gb, device b1.
# d1 publishes and the consumer prints it.  Refused: a wrong password, no
# client certificate, d1 publishing under d2's topic or subscribing to
# d2's commands, b1 (tenant beta) in vhost acme, d1 outside its vhost, d1
# with d2's client id.  Revoking d2 is immediate for its next login and
# for a live connection's next topic check; what a live connection keeps
# is reported.  iotad stopped: logins fail (fails closed); back: they work.
# /auth/* from an address outside broker.auth_clients: 403; with
# broker.mode none: 404.  device.provisioned and device.revoked reach a
# consumer of iota.events.  At rest: broker.db is not plain SQLite, and no
# broker password is in iotad's state or log or the broker's files.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
. "$T_SRCDIR/lib/broker.sh"
. "$T_SRCDIR/lib/rabbitmq.sh"
rabbit_need mosquitto_pub mosquitto_sub jq sqlite3 mkfifo
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

# --- iotad's CA, the broker's certificate from it, iotad, the broker -------------

# broker_yaml: iotad's broker section for the node's current ports.  The
# credentials file is the management user's: iotad publishes its events
# over AMQP and closes revoked devices' connections as that user.
broker_yaml() {
	rabbit_iotad_yaml auth-backend "$T/mgmt.credentials" \
	    "$D/state/broker.key" "auth_clients: 127.0.0.1"
}

# conf_write: iotad.yaml for the node's ports, on iotad's current port
# once it has one (RabbitMQ's auth URLs name it: it must not move).
conf_write() {
	iotad_write_conf "$(broker_yaml)"
	[ -n "${IOTAD_PORT:-}" ] &&
	    sed -i "s/^  port: 0\$/  port: $IOTAD_PORT/" "$IOTAD_CONF"
	return 0
}

(umask 077 && echo "placeholder:placeholder" >"$T/mgmt.credentials")
iotad_setup "$D" "$(broker_yaml)"
is "$(file_mode "$IOTAD_STATE/broker.key")" 600 "iotad --init made broker.key, 0600"
run "$I" ca issue --dir "$D/ca" --passphrase-file "$D/pass" \
    --server-name localhost --ip 127.0.0.1 --out "$T/broker" ||
    bail_out "ca issue for the broker failed ($RC): $ERR"
rabbit_setup "$T/rabbit" "$D/ca/ca-chain.pem" "$T/broker.crt" "$T/broker.key"

# iotad first (port 0): RabbitMQ's configuration needs its port.
conf_write
iotad_start || bail_out "iotad did not start"
like "$(ossl x509 -in "$D/server.crt" -noout -ext subjectAltName)" 'DNS:localhost' \
    "iotad's certificate names localhost (the host of RabbitMQ's auth URLs)"
AUTH_PORT=$IOTAD_PORT
AUTH=https://localhost:$AUTH_PORT/auth
rabbit_conf_extra \
    "auth_backends.1 = internal" \
    "auth_backends.2 = http" \
    "auth_http.http_method = post" \
    "auth_http.user_path = $AUTH/user" \
    "auth_http.vhost_path = $AUTH/vhost" \
    "auth_http.resource_path = $AUTH/resource" \
    "auth_http.topic_path = $AUTH/topic" \
    "auth_http.connection_timeout = 3000" \
    "auth_http.request_timeout = 3000"
rabbit_advanced_config "[{rabbitmq_auth_backend_http, [{ssl_options, [{cacertfile, \"$CACERT\"}, {verify, verify_peer}, {versions, ['tlsv1.3', 'tlsv1.2']}]}]}]."
s=$SECONDS
rabbit_start || bail_out "cannot start RabbitMQ"
pass "RabbitMQ up in $((SECONDS - s)) s (MQTT/TLS $RABBIT_MQTTS_PORT, AMQP $RABBIT_AMQP_PORT, management $RABBIT_MGMT_PORT; iotad $IOTAD_PORT)"
RLOG=$RABBIT_DIR/log/$RABBIT_NODE.log
grep -q "^auth_http.user_path = $AUTH/user\$" "$RABBIT_DIR/rabbitmq.conf"
_t_result $? "rabbitmq.conf: auth_backends internal, http; POST to $AUTH/*"
cp "$RABBIT_MGMT_CREDS" "$T/mgmt.credentials"
chmod 600 "$T/mgmt.credentials"
IFS=: read -r ADMIN_USER ADMIN_PASS <"$RABBIT_MGMT_CREDS"
(umask 077 && printf '%s\n' "$ADMIN_PASS" >"$T/admin.pw")

# Again with the real AMQP credentials and the ports rabbit_start settled
# on, on the same port.
conf_write
p=$IOTAD_PORT
iotad_restart || bail_out "iotad did not restart"
[ "$IOTAD_PORT" = "$p" ] || bail_out "iotad moved from port $p to $IOTAD_PORT"
export IOTA_SERVER=$IOTAD_URL IOTA_CA_FILE=$CACERT

# --- helpers ------------------------------------------------------------------------

PASSWORDS=()


lines_at_least() { [ "$(wc -l <"$1")" -ge "$2" ]; }









# auth_ask PATH FORM [CURL-ARGS...]: POST FORM to iotad's /auth/PATH as
# RabbitMQ would; AUTH_STATUS, AUTH_BODY.
auth_ask() {
	local path=$1 form=$2
	shift 2
	AUTH_STATUS=$(curl -sS --max-time 20 --cacert "$CACERT" "$@" \
	    -o "$T/.auth.body" -w '%{http_code}' --data-binary "$form" \
	    "$IOTAD_URL/auth/$path" 2>"$T/.auth.err")
	[ -n "$AUTH_STATUS" ] || AUTH_STATUS=000
	AUTH_BODY=$(cat "$T/.auth.body" 2>/dev/null)
}
form_of() {	# form_of KEY=VALUE...: url-encoded
	local kv out=
	for kv in "$@"; do
		out+=${out:+&}${kv%%=*}=$(jq -rn --arg v "${kv#*=}" '$v | @uri')
	done
	printf '%s' "$out"
}

# --- a hand-made MQTT 3.1.1 session over openssl s_client ---------------------------
# mosquitto_pub publishes to one topic per connection; a revoked device's
# live connection must also try a topic it never used.  Remaining lengths
# stay under 128 (one byte).

mqtt_hexstr() {	# a length-prefixed UTF-8 string, in hex
	printf '%04x%s' "${#1}" "$(printf %s "$1" | od -An -tx1 -v | tr -d ' \n')"
}
mqtt_packet() {	# mqtt_packet TYPE-BYTE BODY-HEX
	printf '%s%02x%s' "$1" $((${#2} / 2)) "$2"
}
declare -A RAWFD RAWPID
# raw_open NAME CERT KEY USERNAME PASSWORD CLIENT-ID: connect and CONNECT.
raw_open() {
	local name=$1 fifo=$T/$1.fifo fd
	mkfifo "$fifo" || return 1
	exec {fd}<>"$fifo"
	RAWFD[$name]=$fd
	timeout 60 "$OPENSSL" s_client -quiet -connect "127.0.0.1:$RABBIT_MQTTS_PORT" \
	    -cert "$2" -key "$3" -CAfile "$D/ca/ca-chain.pem" \
	    -verify_return_error <"$fifo" >"$T/$name.raw" 2>"$T/$name.rawerr" &
	RAWPID[$name]=$!
	at_exit "kill ${RAWPID[$name]}"
	raw_send "$name" "$(mqtt_packet 10 "00044d51545404c2003c$(mqtt_hexstr "$6")$(mqtt_hexstr "$4")$(mqtt_hexstr "$5")")"
}
raw_send() { unhex "$2" >&"${RAWFD[$1]}"; }
raw_hex() { od -An -tx1 -v "$T/$1.raw" 2>/dev/null | tr -d ' \n'; }
raw_seen() { [[ $(raw_hex "$1") == *"$2"* ]]; }
# raw_publish NAME ID TOPIC PAYLOAD: a QoS 1 PUBLISH, packet id ID (1-255).
raw_publish() {
	raw_send "$1" "$(mqtt_packet 32 "$(mqtt_hexstr "$3")$(printf '%04x' "$2")$(printf %s "$4" | od -An -tx1 -v | tr -d ' \n')")"
}
raw_close() {
	[ -n "${RAWFD[$1]:-}" ] || return 0
	kill "${RAWPID[$1]}" 2>/dev/null
	wait "${RAWPID[$1]}" 2>/dev/null
	exec {RAWFD[$1]}>&-
	RAWFD[$1]=
}

# broker_json_ok DIR NAME TENANT GROUP: broker.json as iotactl(1) says,
# and no user at the broker; sets PW.  Eight TAP lines.
broker_json_ok() {
	local b=$1/broker.json user=$3.$4.$2
	PW=
	if [ ! -f "$b" ]; then
		fail "$2: broker.json written"
		skip "no broker.json" 7
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
	    "$2: mqtt_username is vhost:username"
	PW=$(jq -r .password "$b")
	like "$PW" '^[A-Za-z0-9_-]{22,}$' \
	    "$2: the password is base64url, >= 22 characters (>= 128 bits)"
	PASSWORDS+=("$PW")
	rabbit_api GET "/api/users/$user"
	is "$MGMT_STATUS" 404 \
	    "$2: no user $user at the broker (GET /api/users/$user: 404): iotad answers for it"
}

provision_ok() {
	run "$I" provision "$1" -g "$2" --out "$3" --provision-secret-file "$4"
	is "$RC:$ERR" "0:" "iotactl provision $1 -g $2: exit 0, nothing on stderr"
	SEEN+="$OUT$ERR_RAW"
}
SEEN=

# --- tenants, their vhosts, groups, devices -----------------------------------------

tenant() {
	run "$I" tenant add "$1" --token-file "$IOTAD_STATE/admin.token"
	is "$RC:$ERR" "0:" "iotactl tenant add $1: exit 0" &&
	    (umask 077 && printf '%s\n' "$OUT" >"$T/$1.token")
	# iotad makes no vhost in this mode (it has no management API): the
	# operator does, and its creator (the management user) may use it.
	rabbit_api GET "/api/vhosts/$1"
	[ "$MGMT_STATUS" = 404 ] || diag "  vhost $1 after tenant add: $MGMT_STATUS"
	rabbit_api PUT "/api/vhosts/$1" '{}'
	like "$MGMT_STATUS" '^20[14]$' "the operator makes vhost $1 at the broker"
}

tenant acme
tenant beta
group acme g1 d1 d2
group beta gb b1
export IOTA_TOKEN_FILE=$T/acme.token

# b1 first: its device.provisioned makes iotad declare iota.events.
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
_t_result $? "iota-consumer as $ADMIN_USER (internal backend), vhost acme, devices.# on amq.topic: ready"

provision_ok d1 g1 "$T/d1" "$T/g1.secret"
broker_json_ok "$T/d1" d1 acme g1
PW1=$PW
provision_ok d2 g1 "$T/d2" "$T/g1.secret"
broker_json_ok "$T/d2" d2 acme g1
PW2=$PW
isnt "$PW1" "$PW2" "d1 and d2 have different passwords"
rabbit_api GET /api/users
is "$(jq -r '[.[].name] | sort | join(" ")' <<<"$MGMT_BODY")" "$ADMIN_USER" \
    "the broker's only user is the management user"

# --- iotad's answers, asked directly ---------------------------------------------------

U1=(username=acme.g1.d1)
auth_ask user "$(form_of "${U1[@]}" "password=$PW1" vhost=acme client_id=acme.g1.d1)"
is "$AUTH_STATUS $AUTH_BODY" "200 allow" "POST /auth/user, d1's password: allow"
auth_ask user "$(form_of "${U1[@]}" "password=x$PW1" vhost=acme client_id=acme.g1.d1)"
is "$AUTH_STATUS $AUTH_BODY" "200 deny" "POST /auth/user, a wrong password: deny"
auth_ask user "$(form_of "${U1[@]}" "password=$PW1" vhost=acme client_id=acme.g1.d2)"
is "$AUTH_STATUS $AUTH_BODY" "200 deny" "POST /auth/user, d1's password with d2's client id: deny"
auth_ask vhost "$(form_of "${U1[@]}" vhost=beta ip=127.0.0.1)"
is "$AUTH_STATUS $AUTH_BODY" "200 deny" "POST /auth/vhost, d1 in vhost beta: deny"
auth_ask topic "$(form_of "${U1[@]}" vhost=acme resource=topic name=amq.topic \
    permission=write routing_key=devices.g1.d1.telemetry)"
is "$AUTH_STATUS $AUTH_BODY" "200 allow" "POST /auth/topic, d1 writing devices.g1.d1.telemetry: allow"
auth_ask topic "$(form_of "${U1[@]}" vhost=acme resource=topic name=amq.topic \
    permission=write routing_key=devices.g1.d10.x)"
is "$AUTH_STATUS $AUTH_BODY" "200 deny" "POST /auth/topic, d1 writing devices.g1.d10.x: deny (a whole name)"
auth_ask resource "$(form_of "${U1[@]}" vhost=acme resource=exchange \
    name=amq.topic permission=configure)"
is "$AUTH_STATUS $AUTH_BODY" "200 deny" "POST /auth/resource, configure amq.topic: deny"
auth_ask user "$(form_of "${U1[@]}" "password=$PW1" vhost=acme client_id=acme.g1.d1)" \
    --interface 127.0.0.2
is "$AUTH_STATUS" 403 "POST /auth/user from 127.0.0.2 (not in broker.auth_clients): 403" ||
    diag "$(cat "$T/.auth.err")"
unlike "$AUTH_BODY" 'allow|deny' "  and no answer in its body"
auth_ask topic "$(form_of "${U1[@]}" vhost=acme resource=topic name=amq.topic \
    permission=write routing_key=devices.g1.d1.x)" --interface 127.0.0.2
is "$AUTH_STATUS" 403 "POST /auth/topic from 127.0.0.2: 403"

# --- end to end: d1 publishes, the consumer prints it --------------------------------

device d1 "$T/d1"
D1=("${DEV[@]}")
payload="t=21.5 n=$RANDOM$RANDOM"
mqtt good1 mosquitto_pub -q 1 -t devices/g1/d1/telemetry -m "$payload" "${D1[@]}"
is "$RC" 0 "d1 publishes devices/g1/d1/telemetry (TLS, its certificate, broker.json, QoS 1)" ||
    diag "$OUT"
like "$OUT" 'received PUBACK' "d1's publish is acknowledged"
GOOD1="topic=devices/g1/d1/telemetry group=g1 device=d1 payload=$payload"
wait_for "d1's message" has_line "$T/c1.out" "$GOOD1"
_t_result $? "the consumer prints: $GOOD1" || diag "$(cat "$T/c1.out" "$T/c1.err")"

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

refused_pub d2topic "access to topic 'devices\\.g1\\.d2\\.x' in exchange 'amq\\.topic' in vhost 'acme' refused for user 'acme\\.g1\\.d1'" \
    "d1 publishing to devices/g1/d2/x" "${D1[@]}" -t devices/g1/d2/x
like "$OUT" 'sending PUBLISH' "d1 to d2's topic: connected, then cut at the PUBLISH"

refused_sub sub-d2 'commands/g1/d2/#' \
    "access to topic 'commands\\.g1\\.d2\\.#' in exchange 'amq\\.topic' in vhost 'acme' refused for user 'acme\\.g1\\.d1'" \
    "d1 subscribing to commands/g1/d2/#" "${D1[@]}"

device b1 "$T/b1"
B1=("${DEV[@]}")
mqtt b1-home mosquitto_pub -q 1 -t devices/gb/b1/x -m home "${B1[@]}"
is "$RC" 0 "control: b1 publishes in its own vhost beta" || diag "$OUT"
refused_pub b1-acme "MQTT login failed for user 'acme:beta\\.gb\\.b1': virtual host access not allowed" \
    "b1 (tenant beta) logging in to vhost acme" "${B1[@]:0:4}" \
    -u "acme:beta.gb.b1" "${B1[@]:6}" -t devices/gb/b1/x
like "$OUT" 'Connection Refused: not authori[sz]ed' "b1 in vhost acme: CONNACK not authorised (iotad: deny at /auth/vhost)"
refused_pub d1-root "MQTT login failed for user 'acme\\.g1\\.d1': virtual host access not allowed" \
    "d1 without its vhost (lands in vhost /)" "${D1[@]:0:4}" -u acme.g1.d1 \
    "${D1[@]:6}" -t devices/g1/d1/telemetry
refused_pub d1-as-d2 "MQTT login failed for user 'acme:acme\\.g1\\.d1', authentication failed" \
    "d1's username and password with d2's client id" "${D1[@]:0:8}" \
    -i acme.g1.d2 -t devices/g1/d1/telemetry
like "$OUT" 'Connection Refused: bad user name or password' \
    "d1 as client id acme.g1.d2: CONNACK bad user name or password (iotad: client id not the username)"

mqtt good2 mosquitto_pub -q 1 -t devices/g1/d1/status -m last "${D1[@]}"
is "$RC" 0 "d1 publishes devices/g1/d1/status" || diag "$OUT"
GOOD2="topic=devices/g1/d1/status group=g1 device=d1 payload=last"
wait_for "d1's second message" has_line "$T/c1.out" "$GOOD2"
is "$(cat "$T/c1.out")" "$GOOD1"$'\n'"$GOOD2" \
    "the consumer got d1's two messages and nothing refused"

# --- revoking d2: refused at its next login and its next topic check --------------------

# d2's live session, by hand (one connection, two topics; its client id is
# its username, so a second connection of d2 would replace this one):
# CONNECT, SUBSCRIBE commands/g1/d2/#, PUBLISH devices/g1/d2/live.
device d2 "$T/d2"
D2=("${DEV[@]}")
raw_open live "$T/d2/d2.crt" "$T/d2/d2.key" "acme:acme.g1.d2" "$PW2" acme.g1.d2
wait_for "d2's CONNACK" raw_seen live 20020000
_t_result $? "d2's live session (openssl s_client): CONNACK accepted" ||
    diag "$(raw_hex live)" "$(cat "$T/live.rawerr")"
raw_send live "$(mqtt_packet 82 "0001$(mqtt_hexstr 'commands/g1/d2/#')01")"
wait_for "d2's SUBACK" raw_seen live 9003000101
_t_result $? "d2 subscribes to commands/g1/d2/# (SUBACK, QoS 1)" || diag "$(raw_hex live)"
raw_publish live 2 devices/g1/d2/live before
wait_for "d2's PUBACK" raw_seen live 40020002
_t_result $? "d2 publishes devices/g1/d2/live (PUBACK)" || diag "$(raw_hex live)"
GOODL="topic=devices/g1/d2/live group=g1 device=d2 payload=before"
wait_for "d2's message" has_line "$T/c1.out" "$GOODL"
_t_result $? "the consumer prints: $GOODL"
wait_for "d2's connection in the management API" has_connections acme.g1.d2 1
_t_result $? "the broker lists one connection of d2"

run "$I" revoke d2 -g g1 -o json
is "$RC:$ERR" "0:" "iotactl revoke d2 -g g1: exit 0"
is "$(jq -r .state <<<"$OUT")" revoked "d2 is revoked"
# Closed before revoke returned: the broker lists no connection of d2.
has_connections acme.g1.d2 0
_t_result $? "d2's live connection is closed by the time revoke returns"
session_closed() { dead "${RAWPID[live]}"; }
wait_for "d2's session to end" session_closed
_t_result $? "  and its session sees the broker close it"
auth_ask user "$(form_of username=acme.g1.d2 "password=$PW2" vhost=acme client_id=acme.g1.d2)"
is "$AUTH_STATUS $AUTH_BODY" "200 deny" "POST /auth/user, d2's password after its revocation: deny"
auth_ask topic "$(form_of username=acme.g1.d2 vhost=acme resource=topic name=amq.topic \
    permission=write routing_key=devices.g1.d2.live)"
is "$AUTH_STATUS $AUTH_BODY" "200 deny" "POST /auth/topic, d2 writing devices.g1.d2.live after its revocation: deny"
rabbit_api POST /api/exchanges/acme/amq.topic/publish \
    '{"properties":{},"routing_key":"commands.g1.d2.after","payload":"after-revoke","payload_encoding":"string"}'
afterhex=$(printf after-revoke | od -An -tx1 -v | tr -d ' \n')
sleep 0.5
fails "raw_seen live $afterhex" "a command published after the revocation never reaches d2"
raw_close live

refused_pub d2-again "MQTT login failed for user 'acme:acme\\.g1\\.d2', authentication failed" \
    "d2 logging in after its revocation (its own client id)" "${D2[@]}" \
    -t devices/g1/d2/x
like "$OUT" 'Connection Refused: bad user name or password' \
    "  CONNACK bad user name or password"
rabbit_api GET /api/users
is "$(jq -r '[.[].name] | sort | join(" ")' <<<"$MGMT_BODY")" "$ADMIN_USER" \
    "still no device user at the broker"

wait_for "three events" lines_at_least "$T/events.out" 3
mapfile -t EV <"$T/events.out"
ev() {	# ev N: the Nth event as "topic event tenant group device serial?"
	local line=${EV[$1]:-}
	printf '%s %s\n' "${line%% *}" "$(jq -r '[.event, .tenant, .group, .device,
	    (.serial | type)] | join(" ")' <<<"${line#*payload=}" 2>/dev/null)"
}
is "$(ev 0)" "topic=device/provisioned device.provisioned acme g1 d1 string" \
    "event: device.provisioned for acme/g1/d1"
is "$(ev 1)" "topic=device/provisioned device.provisioned acme g1 d2 string" \
    "event: device.provisioned for acme/g1/d2"
is "$(ev 2)" "topic=device/revoked device.revoked acme g1 d2 string" \
    "event: device.revoked for acme/g1/d2"
is "${#EV[@]}" 3 "three events, nothing else"

# --- iotad stopped: the broker fails closed; iotad back: logins work -------------------

iotad_stop
is "$IOTAD_RC" 0 "iotad stopped (SIGTERM, exit 0)"
refused_pub d1-nobackend "MQTT login failed for user 'acme:acme\\.g1\\.d1', authentication failed" \
    "d1 logging in while iotad is down" "${D1[@]}" -t devices/g1/d1/telemetry
like "$OUT" 'Connection Refused: bad user name or password' \
    "  CONNACK bad user name or password: the broker fails closed"
rabbit_api GET /api/overview
is "$MGMT_STATUS" 200 "the management user (internal backend) still works while iotad is down"
iotad_start || bail_out "iotad did not start again"
is "$IOTAD_PORT" "$AUTH_PORT" "iotad back on the port RabbitMQ asks"
mqtt good3 mosquitto_pub -q 1 -t devices/g1/d1/back -m back "${D1[@]}"
is "$RC" 0 "iotad back: d1 logs in and publishes devices/g1/d1/back" || diag "$OUT"
GOOD3="topic=devices/g1/d1/back group=g1 device=d1 payload=back"
wait_for "d1's third message" has_line "$T/c1.out" "$GOOD3"
_t_result $? "the consumer prints: $GOOD3"
# d1's last message came after everything refused.
if [ "$key" = devices.g1.d2.fresh ]; then
	GOODL+=$'\n'"topic=devices/g1/d2/live group=g1 device=d2 payload=same-topic"
fi
is "$(cat "$T/c1.out")" "$GOOD1"$'\n'"$GOOD2"$'\n'"$GOODL"$'\n'"$GOOD3" \
    "the consumer got d1's three messages, d2's before its revocation, nothing refused"
consumer_stop c1
consumer_stop events

# --- secrets at rest ------------------------------------------------------------------

ok "test -s '$IOTAD_STATE/broker.db'" "state/broker.db exists"
run sqlite3 "$IOTAD_STATE/broker.db" 'SELECT count(*) FROM sqlite_master;'
isnt "$RC" 0 "sqlite3 cannot read state/broker.db"
like "$ERR" 'file is not a database' "  sqlite3: file is not a database"
is "${#PASSWORDS[@]}" 3 "three broker passwords handed out (b1 d1 d2)"
leaks=
for pw in "${PASSWORDS[@]}"; do
	grep -rqaF -- "$pw" "$IOTAD_STATE" && leaks+=" state"
	grep -qaF -- "$pw" "$IOTAD_LOG" "$D/iotad.out" 2>/dev/null && leaks+=" log"
	grep -rqaF -- "$pw" "$RABBIT_DIR" && leaks+=" broker"
	[[ $SEEN == *"$pw"* ]] && leaks+=" iotactl-output"
done
is "$leaks" "" "no broker password in iotad's state directory, its log, the broker's files or iotactl's output"

# --- /auth/* in another mode: 404 -----------------------------------------------------

iotad_stop
iotad_setup "$T/none"
iotad_start || bail_out "iotad (broker.mode none) did not start"
auth_ask user "$(form_of "${U1[@]}" "password=$PW1" vhost=acme client_id=acme.g1.d1)"
is "$AUTH_STATUS" 404 "broker.mode none: POST /auth/user is 404"
auth_ask topic "$(form_of "${U1[@]}" vhost=acme resource=topic name=amq.topic \
    permission=write routing_key=devices.g1.d1.x)"
is "$AUTH_STATUS" 404 "broker.mode none: POST /auth/topic is 404"

diag "done in $((SECONDS - START)) s"
done_testing
