# t/lib/broker.sh: what the end-to-end broker tests share: polling, the
# broker log, iota-consumer in the background, and making groups with
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
