#!/bin/bash
# Reliability (issue 10): crash storms.  In broker mode none, and in
# management mode against a private RabbitMQ when one is installed, each
# round registers a group of RELIABILITY_DEVICES devices, provisions them
# from RELIABILITY_CLIENTS parallel clients, kills iotad with SIGKILL once
# a few have their answer, starts it again and checks the promises:
#   - every client got 201 or no answer at all;
#   - no device is half-provisioned;
#   - every certificate a client received is recorded for its device, and
#     a retry with the same key returns that very certificate (200), the
#     others finish (201); all distinct;
#   - management: the broker's users are only the group's devices, the
#     retry hands out the same password, every device's device.provisioned
#     event reaches a durable queue at least once (the durable
#     outbox), and once the round's devices are revoked none of them
#     keeps a broker user.
# Then, once per mode: 16 identical concurrent requests for one device (one
# certificate, only 200/201), and a quota race (quota 1, 8 devices at once:
# one 201, the others 403 quota_exhausted with no broker user).
#
# RELIABILITY_ROUNDS (default 2) kill rounds per mode; `make reliability`
# runs 70.  RELIABILITY_MODES (default "none management").
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${T_SRCDIR:-$(dirname "$0")}/lib/tap.sh"
. "$T_SRCDIR/lib/iotad.sh"
. "$T_SRCDIR/lib/reliability.sh"
need_iotad

T=$T_TMP
ROUNDS=${RELIABILITY_ROUNDS:-2}
N=${RELIABILITY_DEVICES:-16}
W=${RELIABILITY_CLIENTS:-8}
K=$((N / 4))		# answers before the kill
MODES=${RELIABILITY_MODES:-none management}
START=$SECONDS
HAVE_RABBIT=0
[ -x "${RABBIT_BIN:-/usr/lib/rabbitmq/bin}/rabbitmq-server" ] && HAVE_RABBIT=1

# --- the broker, for management mode -------------------------------------------------

broker_up() {
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/broker.key" -out "$T/broker.crt" -days 1 \
	    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	    2>/dev/null || bail_out "openssl req failed"
	. "$T_SRCDIR/lib/rabbitmq.sh"
	rabbit_setup "$T/rabbit" "$T/broker.crt" "$T/broker.crt" "$T/broker.key"
	local s=$SECONDS
	rabbit_start || bail_out "cannot start RabbitMQ"
	diag "RabbitMQ up in $((SECONDS - s)) s"
	cp "$RABBIT_MGMT_CREDS" "$T/mgmt.credentials"
	chmod 600 "$T/mgmt.credentials"
}

# --- one kill round -------------------------------------------------------------------

# kill_round MODE R: one storm of group rR, killed in the middle.
kill_round() {
	local mode=$1 g=r$2 got=() lost=() odd=() d bad provisioned
	local pre users want
	group_add "$OP" "$g" "SECRETS[$g]" || bail_out "group $g"
	storm_prepare "$g" "$N"
	storm_start "$g" "$T/$g/resp" "$W"
	for ((i = 0; i < 1500; i++)); do	# 30 s at most
		[ "$(answered "$T/$g/resp")" -ge "$K" ] && break
		sleep 0.02
	done
	local at_kill
	at_kill=$(answered "$T/$g/resp")
	iotad_kill9
	storm_wait
	for d in "${DEVS[@]}"; do
		case $(cat "$T/$g/resp/$d.code" 2>/dev/null) in
		201)	got+=("$d") ;;
		000)	lost+=("$d") ;;
		*)	odd+=("$d:$(cat "$T/$g/resp/$d.code" 2>/dev/null)") ;;
		esac
	done
	iotad_start || bail_out "iotad did not start again after SIGKILL"
	is "${odd[*]}" "" "$mode $g: killed after $at_kill answers; every client got 201 or no answer (${#got[@]} answered, ${#lost[@]} not)"
	record "$g"
	is "$(wc -l <<<"$RECORD")" "$N" "$mode $g: all $N devices listed after the restart"
	is "$(half_provisioned)" "" "$mode $g: no device half-provisioned"
	is "$(comm -23 <(answers "$T/$g/resp" "${got[@]}" | cut -f1-3) <(recorded))" "" \
	    "$mode $g: every certificate a client received is recorded for its device"
	provisioned=$(recorded | cut -f1)
	if [ "$mode" = management ]; then
		users=$(broker_users "acme.$g.")
		is "$(comm -13 <(printf '%s\n' "${DEVS[@]/#/acme.$g.}" | sort) <(printf '%s\n' "$users"))" "" \
		    "$mode $g: the broker's users of $g are devices of $g (provisioned or with a retry pending)"
		pre=$users
	fi

	# Everyone retries with the same key.
	for d in "${DEVS[@]}"; do post "$g" "$d" "$T/$g/retry"; done
	want=$(for d in "${DEVS[@]}"; do
		if grep -qx -- "$d" <<<"$provisioned"; then echo "$d 200"; else echo "$d 201"; fi
	done)
	is "$(codes "$T/$g/retry" "${DEVS[@]}")" "$want" \
	    "$mode $g: retry with the same key: 200 for the recorded ones, 201 for the others"
	is "$(answers "$T/$g/retry" "${got[@]}")" "$(answers "$T/$g/resp" "${got[@]}")" \
	    "$mode $g: the retry returns the very certificate (and broker password) each client had received"
	record "$g"
	is "$(recorded | cut -f1 | wc -l) $(cut -f3 <<<"$RECORD" | sort -u | wc -l)" "$N $N" \
	    "$mode $g: all $N provisioned, $N distinct serials"
	is "$(answers "$T/$g/retry" "${DEVS[@]}" | cut -f1-3)" "$(recorded)" \
	    "$mode $g: each device's record is the certificate its client last received"
	EXPECT_CERTS=$((EXPECT_CERTS + N))
	if [ "$HAVE_SQLCIPHER" = 1 ]; then
		is "$(db_query 'SELECT count(*) FROM certificates;')" "$EXPECT_CERTS" \
		    "$mode $g: $EXPECT_CERTS certificates in the database: none signed and left behind"
	fi
	[ "$mode" = management ] || return 0

	users=$(broker_users "acme.$g.")
	is "$users" "$(printf '%s\n' "${DEVS[@]/#/acme.$g.}" | sort)" \
	    "$mode $g: the broker has exactly one user per device of $g"
	local missing
	poll 20 events_have "$g" "${DEVS[@]}"
	missing=$(for d in "${DEVS[@]}"; do grep -qxF "acme/$g/$d" "$EVENTS" || echo "$d"; done)
	promise_is "$missing" "" \
	    "$mode $g: a device.provisioned event for each of the $N devices, the kill notwithstanding (20 s)" \
	    "events durability (the outbox)"
	# Revoked: no certificate needs the credentials any more.
	for d in "${DEVS[@]}"; do
		api POST "/v1/groups/$g/devices/$d/revoke" "$OP"
		[ "$STATUS" = 200 ] || diag "revoke $d: $STATUS $BODY"
	done
	promise_is "$(broker_users "acme.$g.")" "" \
	    "$mode $g: once the devices are revoked, none keeps a broker user" \
	    "leftover broker credentials"
}

# --- identical requests, quota race --------------------------------------------------

same_device() {
	local mode=$1 g=c i codes certs
	group_add "$OP" "$g" "SECRETS[$g]" || bail_out "group $g"
	storm_prepare "$g" 1
	mkdir -p "$T/$g/same"
	local pids=()
	for ((i = 0; i < 16; i++)); do
		(post "$g" "${DEVS[0]}" "$T/$g/same/$i" </dev/null >/dev/null 2>&1) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	codes=$(cat "$T/$g/same/"*/"${DEVS[0]}.code" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
	promise_ok "! cat '$T/$g/same/'*/'${DEVS[0]}.code' | grep -vq '^20[01]\$'" \
	    "$mode: 16 identical concurrent requests for one device: only 200/201 ($codes)" \
	    "concurrent identical requests"
	certs=$(for ((i = 0; i < 16; i++)); do
		[[ $(cat "$T/$g/same/$i/${DEVS[0]}.code") == 20[01] ]] &&
		    jq -r .serial "$T/$g/same/$i/${DEVS[0]}.body"
	done | sort -u)
	promise_is "$(wc -l <<<"$certs")" 1 \
	    "$mode: and one certificate among the answers (serials: ${certs//$'\n'/ })" \
	    "concurrent identical requests"
	record "$g"
	is "$(recorded | cut -f2)" "$(head -1 <<<"$certs")" "$mode: the device's record is that certificate"
	if [ "$mode" = management ]; then
		promise_is "$(broker_users "acme.$g.")" "acme.$g.${DEVS[0]}" \
		    "$mode: one broker user for it" "concurrent identical requests"
	fi
	EXPECT_CERTS=$((EXPECT_CERTS + $(wc -l <<<"$certs")))
}

quota_race() {
	local mode=$1 g=q winners losers bad=
	group_add "$OP" "$g" "SECRETS[$g]" '{"quota": 1}' || bail_out "group $g"
	storm_prepare "$g" 8
	storm_start "$g" "$T/$g/resp" 8
	storm_wait
	winners=$(codes "$T/$g/resp" "${DEVS[@]}" | awk '$2 == 201 { print $1 }')
	losers=$(codes "$T/$g/resp" "${DEVS[@]}" | awk '$2 != 201 { print $1 }')
	is "$(wc -l <<<"$winners")" 1 "$mode: quota 1, 8 devices at once: one 201" ||
	    diag "$(codes "$T/$g/resp" "${DEVS[@]}")"
	for d in $losers; do
		[ "$(cat "$T/$g/resp/$d.code")" = 403 ] &&
		    [ "$(jq -r .error "$T/$g/resp/$d.body")" = quota_exhausted ] ||
		    bad+=" $d:$(cat "$T/$g/resp/$d.code"):$(jq -r .error "$T/$g/resp/$d.body" 2>/dev/null)"
	done
	promise_is "$bad" "" "$mode: the 7 others get 403 quota_exhausted" "quota race"
	record "$g"
	is "$(recorded | cut -f1)" "$winners" "$mode: only the winner is provisioned"
	api GET "/v1/groups/$g" "$OP"
	is "$(jf .provisioned)" 1 "$mode: the group counts 1 provisioned"
	if [ "$mode" = management ]; then
		promise_is "$(broker_users "acme.$g.")" "${winners:+acme.$g.$winners}" \
		    "$mode: the losers keep no broker user" "quota race: leftover broker credentials"
	fi
	EXPECT_CERTS=$((EXPECT_CERTS + $(wc -l <<<"$winners")))
}

# --- the modes ----------------------------------------------------------------------

for mode in $MODES; do
	if [ "$mode" = management ] && [ "$HAVE_RABBIT" = 0 ]; then
		skip "management: rabbitmq-server not installed"
		continue
	fi
	s=$SECONDS
	yaml=
	if [ "$mode" = management ]; then
		[ -n "${RABBIT_PID:-}" ] || broker_up
		yaml=$(rabbit_iotad_yaml management "$T/mgmt.credentials" \
		    "$T/$mode/state/broker.key")
	fi
	iotad_setup "$T/$mode" "$yaml"
	iotad_start || bail_out "iotad ($mode) did not start"
	tenant_add acme OP || bail_out "tenant"
	if [ "$mode" = management ]; then
		events_queue || bail_out "the events queue: $MGMT_STATUS $MGMT_BODY"
	fi
	EXPECT_CERTS=0
	for ((r = 1; r <= ROUNDS; r++)); do kill_round "$mode" "$r"; done
	same_device "$mode"
	quota_race "$mode"
	if [ "$HAVE_SQLCIPHER" = 1 ]; then
		is "$(db_query 'PRAGMA integrity_check;')" ok "$mode: the database passes integrity_check"
	fi
	iotad_stop
	is "$IOTAD_RC" 0 "$mode: iotad exits 0 on SIGTERM ($ROUNDS kill rounds in $((SECONDS - s)) s)"
done
[ -n "${RABBIT_PID:-}" ] && rabbit_stop
diag "done in $((SECONDS - START)) s"
done_testing
