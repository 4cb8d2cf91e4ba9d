# t/lib/broker.sh: what the end-to-end broker tests share: polling, the
# broker log, iota-consumer in the background, mosquitto as a device and
# its refusals, the broker's connections, and making groups with
# iotactl.  Sourced after tap.sh, rabbitmq.sh and iotad.sh; uses $T,
# $RLOG (the broker log), $I (iotactl), $ADMIN_USER and $T/admin.pw.

# wait_for DESC CMD...: CMD succeeds within 15 s (polled); no TAP line.
wait_for() {
	local desc=$1 i
	shift
	for ((i = 0; i < 150; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	diag "waited 15 s for $desc"
	return 1
}

# dead PID: exited (or a zombie).
dead() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -z "$st" ] || [ "$st" = Z ]
}

# has_line FILE LINE: FILE has LINE, exactly.
has_line() { grep -qxF -- "$2" "$1" 2>/dev/null; }

log_mark() { wc -l <"$RLOG"; }

# log_wait MARK REGEX: the broker logs a line matching REGEX after line
# MARK, within 5 s (it may log after the client has seen the refusal).
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

# consumer_start NAME ARGS...: iota-consumer as the management user in the
# background (60 s at most), until it is bound (its --ready-file); its
# output in $T/NAME.out, its pid in CPID[NAME].
declare -A CPID

consumer_start() {
	local name=$1
	shift
	rm -f "$T/$name.ready"
	timeout 120 "$IOTA_CONSUMER" --port "$RABBIT_AMQP_PORT" \
	    --user "$ADMIN_USER" --password-file "$T/admin.pw" \
	    --ready-file "$T/$name.ready" "$@" \
	    >"$T/$name.out" 2>"$T/$name.err" </dev/null &
	CPID[$name]=$!
	at_exit "kill ${CPID[$name]}"
	wait_for "consumer $name" test -e "$T/$name.ready" && return 0
	diag "consumer $name: $(cat "$T/$name.err")"
	return 1
}

consumer_stop() {
	[ -n "${CPID[$1]:-}" ] || return 0
	kill "${CPID[$1]}" 2>/dev/null
	wait "${CPID[$1]}" 2>/dev/null
	CPID[$1]=
}

# bound VHOST KEY: amq.topic in VHOST has a binding with routing key KEY.
bound() {
	rabbit_api GET "/api/exchanges/$1/amq.topic/bindings/source"
	[ "$(jq --arg k "$2" '[.[] | select(.routing_key == $k)] | length' \
	    <<<"$MGMT_BODY" 2>/dev/null)" -gt 0 ] 2>/dev/null
}

# group TENANT NAME DEVICE...: the secret in $T/NAME.secret, the devices added.
group() {
	local t=$1 g=$2 dev
	shift 2
	run "$I" add group "$g" --token-file "$T/$t.token"
	is "$RC:$ERR" "0:" "iotactl add group $g (tenant $t): exit 0"
	(umask 077 && printf '%s\n' "${OUT#Provisioning Secret: }" >"$T/$g.secret")
	for dev in "$@"; do
		run "$I" add "$dev" -g "$g" --token-file "$T/$t.token"
		is "$RC:$ERR" "0:" "iotactl add $dev -g $g: exit 0"
	done
}

# connections_of USER: how many connections the broker has for USER.
connections_of() {
	rabbit_api GET /api/connections
	jq --arg u "$1" '[.[] | select(.user == $u)] | length' <<<"$MGMT_BODY"
}

has_connections() { [ "$(connections_of "$1")" = "$2" ]; }

# device NAME DIR: DEV=(mosquitto arguments of the device): its certificate
# and key, and broker.json's vhost:username (RabbitMQ's MQTT plugin takes
# the vhost from the username), password and client id.
device() {
	local b=$2/broker.json
	DEV=(--cert "$2/$1.crt" --key "$2/$1.key"
	    -u "$(jq -r '.mqtt_username' "$b")"
	    -P "$(jq -r .password "$b")" -i "$(jq -r .client_id "$b")")
}

# mqtt NAME CMD ARGS...: mosquitto_pub or _sub to the TLS listener (MQTT
# 3.1.1, trusting the iota chain, -d's packet trace, 20 s at most); RC, OUT.
mqtt() {
	local name=$1 cmd=$2
	shift 2
	timeout 20 "$cmd" -h 127.0.0.1 -p "$RABBIT_MQTTS_PORT" -V mqttv311 \
	    --cafile "$D/ca/ca-chain.pem" -d "$@" >"$T/$name.mqtt" 2>&1 </dev/null
	RC=$?
	OUT=$(cat "$T/$name.mqtt")
}

# refused_pub NAME REGEX DESC ARGS...: a QoS 1 publish fails, is never
# acknowledged, and the broker logs why (REGEX); three TAP lines.
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

# refused_sub NAME TOPIC REGEX DESC ARGS...: the subscription is refused
# (RabbitMQ 3.10 closes the connection instead of a failure SUBACK); the
# subscriber, which would reconnect and try again, is stopped once the
# broker has logged why (REGEX).  Four TAP lines.
refused_sub() {
	local name=$1 topic=$2 re=$3 desc=$4 m pid
	shift 4
	m=$(log_mark)
	timeout 20 mosquitto_sub -h 127.0.0.1 -p "$RABBIT_MQTTS_PORT" \
	    -V mqttv311 --cafile "$D/ca/ca-chain.pem" -d "$@" -q 1 -t "$topic" \
	    -C 1 >"$T/$name.mqtt" 2>&1 </dev/null &
	pid=$!
	log_wait "$m" "$re"
	_t_result $? "$desc: the broker says why"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	OUT=$(cat "$T/$name.mqtt")
	like "$OUT" 'sending SUBSCRIBE' "$desc: connected and asked"
	unlike "$OUT" 'received SUBACK' "$desc: no SUBACK"
	unlike "$OUT" 'received PUBLISH' "$desc: nothing received"
}
