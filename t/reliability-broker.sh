#!/bin/bash
# Reliability (issue 10): the broker stopped (rabbitmqctl stop_app) and
# frozen (SIGSTOP) in the middle of a provisioning storm, in broker modes
# management and auth-backend (with management_url, so iotad still makes
# vhosts and publishes events), against a private RabbitMQ.  Per mode and
# fault:
#   - while the broker is away, a provisioning answers within
#     broker.timeout (+1 s of margin, never twice it): 503 unavailable
#     with Retry-After in management mode (its credentials are made at the
#     broker), 201 in auth-backend mode (provisioning asks nothing of the
#     broker); the storm's answers are 201 or 503 and its 503s come within
#     the same bound;
#   - no device is half-provisioned, every certificate received is
#     recorded, a retry with the same key returns it;
#   - once the broker is back everything recovers: every device of the
#     storm provisions (polled, 20 s at most), and in management mode the
#     broker's users are exactly the group's devices;
#   - every device.provisioned event reaches a durable queue bound to
#     broker.events_exchange at least once (the durable outbox is being
#     built).
#
# RELIABILITY_BROKER_ROUNDS (default 1) rounds of (stop, freeze) per mode;
# RELIABILITY_BROKER_TIMEOUT broker.timeout in seconds (default 2);
# RELIABILITY_BROKER_MODES (default "management auth-backend").
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
. "$T_SRCDIR/lib/rabbitmq.sh"
. "$T_SRCDIR/lib/reliability.sh"
rabbit_need jq
need_iotad

T=$T_TMP
ROUNDS=${RELIABILITY_BROKER_ROUNDS:-1}
BT=${RELIABILITY_BROKER_TIMEOUT:-2}
N=${RELIABILITY_DEVICES:-12}
W=${RELIABILITY_CLIENTS:-4}
MODES=${RELIABILITY_BROKER_MODES:-management auth-backend}
BOUND_MS=$(((BT + 1) * 1000))
START=$SECONDS
RELIABILITY_TIMEOUT=$((BT * 4 + 10))

ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/broker.key" -out "$T/broker.crt" -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    2>/dev/null || bail_out "openssl req failed"
rabbit_setup "$T/rabbit" "$T/broker.crt" "$T/broker.crt" "$T/broker.key"
s=$SECONDS
rabbit_start || bail_out "cannot start RabbitMQ"
diag "RabbitMQ up in $((SECONDS - s)) s"
cp "$RABBIT_MGMT_CREDS" "$T/mgmt.credentials"
chmod 600 "$T/mgmt.credentials"
BEAM=$(cat "$RABBIT_DIR/rabbit.pid")
at_exit 'kill -CONT "$BEAM"'

mgmt_up() { rabbit_api GET /api/overview; [ "$MGMT_STATUS" = 200 ]; }

# settle GROUP DIR: every device of DEVS that has no 200/201 in DIR tries
# again with its key until it has one (20 s at most).
settle() {
	local g=$1 dir=$2 d i left
	for ((i = 0; i < 100; i++)); do
		left=0
		for d in "${DEVS[@]}"; do
			[[ $(cat "$dir/$d.code" 2>/dev/null) == 20[01] ]] && continue
			post "$g" "$d" "$dir"
			[[ $(cat "$dir/$d.code") == 20[01] ]] || left=$((left + 1))
		done
		[ "$left" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}

# fault_round MODE FAULT R: a storm in group FAULT-R: the broker is taken
# away once the first answers of wave 1 (half the devices) have come, a
# probe and wave 2 (the other half) run while it is away, then it is back.
fault_round() {
	local mode=$1 fault=$2 g=${1%%-*}-$2-$3 d got=() s ms code bad slow
	group_add "$OP" "$g" "SECRETS[$g]" || bail_out "group $g"
	storm_prepare "$g" $((N + 1))
	local probe=${DEVS[N]} all=("${DEVS[@]:0:N}") wave1
	# Wave 1, half the devices, is under way when the broker goes away;
	# wave 2, the other half, starts while it is away.
	DEVS=("${all[@]:0:N/2}")
	storm_start "$g" "$T/$g/resp" "$W"
	poll 30 eval '[ "$(answered "$T/$g/resp")" -ge $((N / 8)) ]'
	s=$SECONDS
	case $fault in
	stop)	rabbit_ctl -q stop_app >"$T/$g.stop.out" 2>&1 ||
		    diag "stop_app: $(cat "$T/$g.stop.out")" ;;
	freeze)	kill -STOP "$BEAM" ;;
	esac
	post "$g" "$probe" "$T/$g/probe"
	code=$(cat "$T/$g/probe/$probe.code") ms=$(cat "$T/$g/probe/$probe.ms")
	if [ "$mode" = management ]; then
		is "$code $(jq -r .error "$T/$g/probe/$probe.body" 2>/dev/null)" "503 unavailable" \
		    "$mode $g: provisioning with the broker away ($fault): 503 unavailable"
	else
		is "$code" 201 "$mode $g: provisioning with the broker away ($fault): 201 (auth-backend asks nothing of the broker)"
	fi
	promise_ok "[ $ms -le $BOUND_MS ]" \
	    "$mode $g: answered in $ms ms, within broker.timeout ${BT} s + 1 s" \
	    "503 timing"
	wave1=("${STORM[@]}")
	DEVS=("${all[@]:N/2}")
	storm_start "$g" "$T/$g/resp" "$W"
	STORM+=("${wave1[@]}")
	storm_wait
	DEVS=("${all[@]}")
	case $fault in
	stop)	rabbit_ctl -q start_app >"$T/$g.start.out" 2>&1 ||
		    diag "start_app: $(cat "$T/$g.start.out")" ;;
	freeze)	kill -CONT "$BEAM" ;;
	esac
	poll 60 mgmt_up
	_t_result $? "$mode $g: the broker is back ($((SECONDS - s)) s after the $fault)"

	bad=$(codes "$T/$g/resp" "${DEVS[@]}" | awk '$2 != 201 && $2 != 503')
	is "$bad" "" "$mode $g: the storm's answers are 201 or 503 ($(codes "$T/$g/resp" "${DEVS[@]}" | awk '{ print $2 }' | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }'))"
	slow=$(for d in "${DEVS[@]}"; do
		[ "$(cat "$T/$g/resp/$d.code")" = 503 ] || continue
		ms=$(cat "$T/$g/resp/$d.ms")
		[ "$ms" -le "$BOUND_MS" ] || echo "$d:${ms}ms"
	done)
	promise_is "$slow" "" "$mode $g: every 503 of the storm within broker.timeout + 1 s" "503 timing"
	for d in "${DEVS[@]}"; do
		[ "$(cat "$T/$g/resp/$d.code")" = 201 ] && got+=("$d")
	done
	record "$g"
	is "$(half_provisioned)" "" "$mode $g: no device half-provisioned"
	is "$(comm -23 <(answers "$T/$g/resp" "${got[@]}" | cut -f1-3) <(recorded))" "" \
	    "$mode $g: every certificate a client received is recorded"

	cp -r "$T/$g/resp" "$T/$g/after"
	settle "$g" "$T/$g/after"
	_t_result $? "$mode $g: recovered: every device of the storm provisions once the broker is back" ||
	    diag "$(codes "$T/$g/after" "${DEVS[@]}")"
	for d in "${got[@]}"; do post "$g" "$d" "$T/$g/retry"; done
	is "$(answers "$T/$g/retry" "${got[@]}")" "$(answers "$T/$g/resp" "${got[@]}")" \
	    "$mode $g: a retry with the same key returns the certificate (and broker password) received during the storm"
	record "$g"
	is "$(recorded | cut -f1 | grep -vxF "$probe" | wc -l)" "$N" "$mode $g: all $N provisioned"
	if [ "$mode" = management ]; then
		# The probe's 503 asks for a retry, which its pending
		# credentials are kept for: it may have a user or not.
		is "$(broker_users "acme.$g." | grep -vxF "acme.$g.$probe")" \
		    "$(printf '%s\n' "${DEVS[@]/#/acme.$g.}" | sort)" \
		    "$mode $g: the broker's users of $g: exactly its $N devices (and the probe's, kept for its retry)"
	else
		is "$(broker_users "acme.$g.")" "" "$mode $g: no broker users (auth-backend keeps them in iotad)"
	fi
	local want=("${DEVS[@]}")
	[ "$mode" = management ] || want+=("$probe")
	poll 20 events_have "$g" "${want[@]}"
	local missing
	missing=$(for d in "${want[@]}"; do grep -qxF "acme/$g/$d" "$EVENTS" || echo "$d"; done)
	promise_is "$missing" "" \
	    "$mode $g: a device.provisioned event for each of the ${#want[@]} provisioned devices (20 s after recovery)" \
	    "events durability (the outbox)"
}

for mode in $MODES; do
	s=$SECONDS
	extra=()
	[ "$mode" = auth-backend ] && extra=("auth_clients: 127.0.0.1")
	yaml=$(rabbit_iotad_yaml "$mode" "$T/mgmt.credentials" \
	    "$T/$mode/state/broker.key" "${extra[@]}" |
	    sed "s/^  timeout: 5s\$/  timeout: ${BT}s/")
	iotad_setup "$T/$mode" "$yaml"
	iotad_start || bail_out "iotad ($mode) did not start"
	tenant_add acme OP || bail_out "tenant"
	events_queue || bail_out "the events queue: $MGMT_STATUS $MGMT_BODY"
	for ((r = 1; r <= ROUNDS; r++)); do
		fault_round "$mode" stop "$r"
		fault_round "$mode" freeze "$r"
	done
	iotad_stop
	is "$IOTAD_RC" 0 "$mode: iotad exits 0 on SIGTERM ($ROUNDS rounds in $((SECONDS - s)) s)"
done
rabbit_stop
diag "done in $((SECONDS - START)) s"
done_testing
